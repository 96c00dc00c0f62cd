"""How far the TAs are: per task, answers graded, still to grade and changed since graded.

Read from the gradebook (what nbgrader marks ``needs_manual_grade``) and the history
(who gave each score in force). An answer left as the release's placeholder is scored
0 by nbgrader and needs nobody; it counts as *no answer*.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from autograder.grading.manual.answers import Task, manual_tasks
from autograder.grading.manual.store import current_scores, read_history


@dataclass
class TaskProgress:
    """One task across the class."""

    task: Task
    graded: int = 0
    to_grade: int = 0
    changed: int = 0  # graded, then the student handed in a different answer
    no_answer: int = 0
    by_ta: Counter = field(default_factory=Counter)  # TA -> scores in force

    @property
    def waiting(self) -> int:
        return self.to_grade + self.changed


@dataclass
class Progress:
    """Every task, and every TA's scores in force."""

    tasks: list[TaskProgress]
    students: int

    @property
    def waiting(self) -> int:
        return sum(task.waiting for task in self.tasks)

    @property
    def answers(self) -> int:
        return sum(task.graded + task.waiting for task in self.tasks)

    @property
    def by_ta(self) -> Counter:
        total: Counter = Counter()
        for task in self.tasks:
            total.update(task.by_ta)
        return total

    def lines(self) -> list[str]:
        """The progress as a person reads it in a terminal."""
        lines = [
            f"Written answers: {self.waiting} of {self.answers} still to grade "
            f"({len(self.tasks)} tasks, {self.students} students)"
        ]
        width = max((len(t.task.key) for t in self.tasks), default=4)
        lines.append(
            f"  {'task':<{width}}  points  graded  to grade  changed  no answer  graded by"
        )
        for t in self.tasks:
            tas = ", ".join(f"{ta} {n}" for ta, n in sorted(t.by_ta.items())) or "-"
            lines.append(
                f"  {t.task.key:<{width}}  {t.task.max_score:>6g}  {t.graded:>6}  "
                f"{t.to_grade:>8}  {t.changed:>7}  {t.no_answer:>9}  {tas}"
            )
        if self.by_ta:
            tas = ", ".join(f"{ta} {n}" for ta, n in sorted(self.by_ta.items()))
            lines.append(f"  scores in force by TA: {tas}")
        return lines


def grading_progress(run, tasks: list[Task] | None = None) -> Progress:
    """Where the TAs stand on ``run.assignment``."""
    from nbgrader.api import Gradebook

    tasks = (
        tasks if tasks is not None else manual_tasks(run.layout, run.assignment, run.gradebook_url)
    )
    rows = {task.key: TaskProgress(task) for task in tasks}
    scores = current_scores(read_history(run.folder))
    students = 0
    with Gradebook(run.gradebook_url) as gradebook:
        for submission in gradebook.find_assignment(run.assignment).submissions:
            students += 1
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    row = rows.get(f"{notebook.name}/{grade.name}")
                    if row is None:
                        continue
                    if grade.manual_score is None:
                        if grade.needs_manual_grade:
                            row.to_grade += 1
                        else:
                            row.no_answer += 1
                        continue
                    if grade.needs_manual_grade:
                        row.changed += 1
                    else:
                        row.graded += 1
                    given = scores.get((submission.student_id, row.task.key))
                    row.by_ta[given.ta if given else "(gradebook)"] += 1
    return Progress(list(rows.values()), students)
