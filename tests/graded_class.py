"""A class as `coursekit grade` leaves it, built in place in seconds (no kernel, no sandbox).

For each student: nbgrader's gradebook through its own API (tests passed or failed,
written answers waiting for a TA), the record, the autograded notebooks, and the
notebooks as handed in, whose training-history cell holds a picture the student made.
The tests of the TA path and of the late policy start from here; the slow end-to-end
test (tests/test_regrade_keeps_people.py) grades real submissions instead.
"""

from __future__ import annotations

import base64
import io
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from autograder.grading.manual.answers import HANDED_IN
from autograder.grading.pipeline.grade import GradeRun
from autograder.grading.pipeline.records import Status, StudentRecord, write_record
from autograder.layout import CourseLayout

ASSIGNMENT = "cnn"
PART1, PART2 = "1_lenet5_mnist", "2_fashion_cnn"
TASKS = {  # task -> (notebook, points)
    "answer_overfitting": (PART1, 2.0),
    "answer_relu": (PART1, 2.0),
    "answer_confusions": (PART1, 2.0),
    "answer_by_hand": (PART2, 4.0),
    "answer_beat_me": (PART2, 2.0),
    "answer_experiments": (PART2, 5.0),
}
HISTORY_CELL = "plot_training_history(history"


@dataclass(frozen=True)
class Student:
    """What one student handed in: answers (None: the placeholder left) and failed tests."""

    answers: dict[str, str | None] = field(default_factory=dict)  # task -> text
    failed: tuple[str, ...] = ()


def default_answer(student: str, task: str) -> str:
    return f"{student} on {task}: the validation loss turns up after epoch 6."


def run_for(course: Path) -> GradeRun:
    """The GradeRun that names ``course``'s cnn and its gradebook (nothing to grade)."""
    return GradeRun(ASSIGNMENT, Path(), CourseLayout.at(course), Path(), Path())


def picture(seed: int = 0) -> str:
    """A small PNG training curve, base64, as a notebook keeps it."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4.5, 2.6))
    axes = figure.add_subplot()
    epochs = [1, 2, 3, 4, 5, 6]
    axes.plot(epochs, [0.5, 0.3, 0.2, 0.15, 0.12, 0.1], label="training loss")
    axes.plot(epochs, [0.45, 0.3 - 0.01 * seed, 0.25, 0.27, 0.3, 0.34], label="validation")
    axes.legend()
    stream = io.BytesIO()
    figure.savefig(stream, format="png", dpi=60)
    return base64.b64encode(stream.getvalue()).decode()


def build_class(course: Path, students: dict[str, Student]) -> GradeRun:
    """Write ``students`` into ``course`` (a released course) as grading would."""
    run = run_for(course)
    for name, plan in students.items():
        texts = {task: plan.answers.get(task, default_answer(name, task)) for task in TASKS}
        for notebook in (PART1, PART2):
            data = _notebook(course, notebook, texts)
            autograded = run.layout.autograded(name, ASSIGNMENT) / f"{notebook}.ipynb"
            autograded.parent.mkdir(parents=True, exist_ok=True)
            autograded.write_text(json.dumps(data))
            _add_picture(data, seed=len(name))
            kept = run.folder.manual_scores / HANDED_IN / name / f"{notebook}.ipynb"
            kept.parent.mkdir(parents=True, exist_ok=True)
            kept.write_text(json.dumps(data))
        _gradebook(run, name, plan, texts)
    return run


def _notebook(course: Path, notebook: str, texts: dict[str, str | None]) -> dict:
    data = json.loads((course / "release" / ASSIGNMENT / f"{notebook}.ipynb").read_text())
    for cell in data["cells"]:
        task = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if task in texts and texts[task] is not None:
            cell["source"] = texts[task]
    return data


def _add_picture(data: dict, seed: int) -> None:
    for cell in data["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "code" and source.startswith(HISTORY_CELL):
            cell["outputs"] = [
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {"image/png": picture(seed), "text/plain": "<Figure>"},
                }
            ]


def _gradebook(run: GradeRun, name: str, plan: Student, texts) -> None:
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    record = StudentRecord(name, Status.GRADED, graded_at="2026-11-21T10:00:00+00:00")
    with warnings.catch_warnings(), Gradebook(run.gradebook_url) as gradebook:
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's autoflush noise on new rows
        gradebook.update_or_create_student(name)
        submission = gradebook.update_or_create_submission(ASSIGNMENT, name)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if grade.cell_type == "code":
                    grade.auto_score = 0.0 if grade.name in plan.failed else grade.max_score
                    grade.needs_manual_grade = False
                else:
                    answered = texts.get(grade.name) is not None
                    grade.auto_score = None if answered else 0.0
                    grade.needs_manual_grade = answered
        gradebook.db.commit()
        for notebook in submission.notebooks:
            code = [g for g in notebook.grades if g.cell_type == "code"]
            record.notebooks[notebook.name] = {
                "score": float(notebook.score),
                "max_score": float(notebook.max_score),
                "autograded_score": float(sum(g.auto_score or 0 for g in code)),
                "autograded_max": float(sum(g.max_score for g in code)),
                "held_score": 0.0,
                "tests_failed": sorted(g.name for g in code if g.name in plan.failed),
            }
        record.score, record.max_score = float(submission.score), float(submission.max_score)
    record.autograded_score = sum(n["autograded_score"] for n in record.notebooks.values())
    record.autograded_max = sum(n["autograded_max"] for n in record.notebooks.values())
    run.folder.records.mkdir(parents=True, exist_ok=True)
    write_record(run.folder, record)


def scores_csv(path: Path, rows: list[dict], ta: str = "ana") -> Path:
    """A scores file as the review page writes it; each row's missing columns filled in."""
    import csv

    columns = ["assignment", "notebook", "task", "student", "score", "comment", "ta", "based_on"]
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, columns)
        writer.writeheader()
        for row in rows:
            task = row["task"]
            full = {"assignment": ASSIGNMENT, "notebook": TASKS[task][0], "ta": ta, "comment": ""}
            writer.writerow({**full, **row})
    return path


def record_of(run: GradeRun, student: str) -> dict:
    return json.loads(run.folder.record(student).read_text())
