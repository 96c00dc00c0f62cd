"""What a TA grades: the tasks, each student's answer, and the outputs the answer refers to.

A *task* is a grade cell that nbgrader leaves to a person: a grade cell that is
also a solution cell (a written answer, ``answer_...``, or free-response code)
or a task cell. :func:`manual_tasks` reads them from the gradebook and takes
the prompt, the model answer and the rubric from the source notebook.

Answers and outputs come from the notebook **as the student handed it in**
(``grading/ASSIGNMENT/manual/handed_in``, kept by :func:`keep_handed_in` when
the student is graded): the training curves and confusion matrices the answer
discusses are the student's own, never the grader's fast-mode re-run. A course
graded before the copies were kept falls back to the autograded notebook for
the answer's text and shows no outputs. Everything read here is the student's
text: pages escape or sanitise it (:mod:`autograder.grading.manual.pages`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from autograder.grading.pipeline.ingest import (
    MAX_FILE_BYTES,
    StudentFiles,
    UnreadableSubmission,
    read_submission_bytes,
)
from autograder.layout import CourseLayout, GradingFolder

HANDED_IN = "handed_in"  # under GradingFolder.manual_scores: STUDENT/NOTEBOOK.ipynb
NO_ANSWER = "none"  # the digest of an answer that is not there
# The code cells whose outputs each task's prompt points to ("your training history above"),
# by how the released cell's source starts. A task not listed here shows the code cells
# between its heading and its answer. tests/test_manual_grading.py holds each to a cell.
REFERS_TO: dict[str, tuple[str, ...]] = {
    "answer_overfitting": ("plot_training_history(history",),
    "answer_relu": ("import matplotlib.figure",),
    "answer_confusions": ("plot_confusion_matrix(",),
    "answer_by_hand": ("fashion_model = build_fashion_cnn()",),
    "answer_beat_me": ("plot_training_history(fashion_history", "# All validation images"),
    "answer_experiments": ("def build_mlp():",),
}


@dataclass(frozen=True)
class Task:
    """One answer a TA grades, with what the source notebook says about it."""

    notebook: str
    name: str  # the grade id
    max_score: float
    prompt: str = ""  # markdown: the task as students read it
    rubric: str = ""  # markdown: the source cell, with its model answer and rubric
    refers_to: tuple[str, ...] = ()  # how the referred code cells start

    @property
    def key(self) -> str:
        return f"{self.notebook}/{self.name}"

    @property
    def title(self) -> str:
        """The prompt's last heading ("Task 1.5 · Overfitting (2 points)"), else the key."""
        lines = self.prompt.splitlines()
        headings = [line.lstrip("#").strip() for line in lines if line.startswith("#")]
        return headings[-1] if headings else self.key


@dataclass(frozen=True)
class Answer:
    """One student's answer to one task, and the outputs of the cells it refers to."""

    student: str
    task: Task
    text: str | None  # None: the notebook or the cell was not handed in
    outputs: list[dict] = field(default_factory=list)  # nbformat outputs, as handed in
    kept: bool = True  # False: the handed-in notebook was not kept, the text is the autograded

    @property
    def digest(self) -> str:
        """What the ``based_on`` column of a TA's scores names: this answer's text."""
        return answer_digest(self.text)


def answer_digest(text: str | None) -> str:
    """A short digest of an answer's text; :data:`NO_ANSWER` when there is none."""
    if text is None:
        return NO_ANSWER
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def manual_tasks(layout: CourseLayout, assignment: str, gradebook_url: str) -> list[Task]:
    """Every task of ``assignment`` a person grades, in the notebooks' order."""
    from nbgrader.api import Gradebook, MissingEntry

    from autograder.course.folder import CourseError

    tasks = []
    with Gradebook(gradebook_url) as gradebook:
        try:
            notebooks = gradebook.find_assignment(assignment).notebooks
        except MissingEntry:
            raise CourseError(
                f"{gradebook_url}: no assignment {assignment!r} in the gradebook; "
                f"run `coursekit grade {assignment}` first"
            ) from None
        for notebook in sorted(notebooks, key=lambda item: item.name):
            solutions = {cell.name for cell in notebook.solution_cells}
            cells = [cell for cell in notebook.grade_cells if cell.name in solutions]
            cells += list(notebook.task_cells)
            source = _cells(layout.source(assignment) / f"{notebook.name}.ipynb")
            order = {_grade_id(cell): index for index, cell in enumerate(source)}
            for cell in sorted(cells, key=lambda item: order.get(item.name, 1e9)):
                tasks.append(_task(notebook.name, cell.name, float(cell.max_score), source))
    return tasks


def _task(notebook: str, name: str, max_score: float, source: list[dict]) -> Task:
    """The task ``name`` with its prompt and rubric from the source notebook's cells."""
    at = next((i for i, cell in enumerate(source) if _grade_id(cell) == name), None)
    if at is None:
        return Task(notebook, name, max_score, refers_to=REFERS_TO.get(name, ()))
    before: list[dict] = []
    for cell in reversed(source[:at]):
        if _grade_id(cell):
            break
        before.insert(0, cell)
        if cell.get("cell_type") == "markdown" and _source(cell).lstrip().startswith("#"):
            break
    prompt = "\n\n".join(_source(c) for c in before if c.get("cell_type") == "markdown")
    between = tuple(
        _source(c).strip().splitlines()[0]
        for c in before
        if c.get("cell_type") == "code" and _source(c).strip()
    )
    return Task(
        notebook, name, max_score, prompt, _source(source[at]), REFERS_TO.get(name, between)
    )


def keep_handed_in(folder: GradingFolder, files: StudentFiles) -> None:
    """Keep a copy of each notebook ``files`` holds, as handed in, for the TAs' pages."""
    target = folder.manual_scores / HANDED_IN / files.student
    staged = target.with_name(f".{files.student}.new")
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    for name, path in sorted(files.notebooks.items()):
        try:
            data = read_submission_bytes(path, MAX_FILE_BYTES, root=files.root)
        except UnreadableSubmission:
            continue  # the record says why; there is nothing to show
        (staged / f"{name}.ipynb").write_bytes(data)
    old = target.with_name(f".{files.student}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    staged.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def read_answers(
    layout: CourseLayout, assignment: str, student: str, tasks: list[Task]
) -> dict[str, Answer]:
    """``student``'s answer to each of ``tasks`` (by task key), as handed in."""
    folder = layout.grading(assignment).manual_scores / HANDED_IN / student
    answers = {}
    read: dict[str, tuple[list[dict], bool]] = {}
    for task in tasks:
        if task.notebook not in read:
            kept = folder / f"{task.notebook}.ipynb"
            if folder.is_dir():
                read[task.notebook] = (_cells(kept), True)
            else:
                autograded = layout.autograded(student, assignment) / f"{task.notebook}.ipynb"
                read[task.notebook] = (_cells(autograded), False)
        cells, kept = read[task.notebook]
        answers[task.key] = _answer(student, task, cells, kept)
    return answers


def _answer(student: str, task: Task, cells: list[dict], kept: bool) -> Answer:
    cell = next((cell for cell in cells if _grade_id(cell) == task.name), None)
    if cell is None:
        return Answer(student, task, None, kept=kept)
    outputs = []
    if kept:
        for code in cells:
            text = _source(code).lstrip()
            if code.get("cell_type") == "code" and any(text.startswith(p) for p in task.refers_to):
                outputs += [o for o in code.get("outputs", []) if isinstance(o, dict)]
    return Answer(student, task, _source(cell), outputs, kept)


def _cells(path: Path) -> list[dict]:
    """A notebook's cells as nbformat 4 dicts; [] when it is missing or cannot be read."""
    import nbformat

    try:
        text = Path(path).read_text(encoding="utf-8-sig", errors="replace")
        notebook = nbformat.reads(text, as_version=4)
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return []
    cells = json.loads(json.dumps(notebook.get("cells", [])))  # plain dicts, not NotebookNodes
    return [cell for cell in cells if isinstance(cell, dict)]


def _grade_id(cell: dict) -> str:
    nbgrader = cell.get("metadata", {}).get("nbgrader", {})
    grade_id = nbgrader.get("grade_id") if isinstance(nbgrader, dict) else None
    return grade_id if isinstance(grade_id, str) else ""


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)
