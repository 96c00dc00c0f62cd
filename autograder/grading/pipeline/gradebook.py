"""The course's nbgrader gradebook: the assignment's cells, each student's scores, held points.

:func:`sync_assignment` gives the course gradebook the assignment's notebooks and
cells as the template has them; :func:`save_grades` copies one student's scores
from the worker's scratch gradebook in one transaction (held at 0 when the
record holds them); :func:`release_held` puts held points in once a TA has
looked.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from autograder.course.folder import CourseError
from autograder.grading.pipeline.ingest import printable
from autograder.grading.pipeline.records import Status, StudentRecord, load_records, write_record


def sync_assignment(template: Path, run) -> None:
    """Give the course gradebook the assignment's notebooks and cells, as the template has them."""
    from nbgrader.api import Gradebook

    assignment = run.assignment
    with (
        Gradebook(f"sqlite:///{template / 'gradebook.db'}") as source,
        Gradebook(run.gradebook_url) as target,
    ):
        target.update_or_create_assignment(assignment)
        for notebook in source.find_assignment(assignment).notebooks:
            target.update_or_create_notebook(notebook.name, assignment)
            for cell in notebook.grade_cells:
                target.update_or_create_grade_cell(
                    cell.name,
                    notebook.name,
                    assignment,
                    max_score=cell.max_score,
                    cell_type=cell.cell_type,
                )
            for cell in notebook.solution_cells:
                target.update_or_create_solution_cell(cell.name, notebook.name, assignment)
            for cell in notebook.task_cells:
                target.update_or_create_task_cell(
                    cell.name,
                    notebook.name,
                    assignment,
                    max_score=cell.max_score,
                    cell_type=cell.cell_type,
                )
            for cell in notebook.source_cells:
                target.update_or_create_source_cell(
                    cell.name,
                    notebook.name,
                    assignment,
                    cell_type=cell.cell_type,
                    locked=cell.locked,
                    source=cell.source,
                    checksum=cell.checksum,
                )


def save_grades(run, scratch: Path, record: StudentRecord, autograded: bool) -> None:
    """Copy the scratch gradebook's grades for ``student`` into the course gradebook.

    When the record holds the points for review, the autograded cells are
    stored as 0 and their scores are kept in ``record.held_scores`` until
    :func:`release_held` puts them in.
    """
    from nbgrader.api import Gradebook, MissingEntry
    from sqlalchemy.exc import SAWarning

    assignment, student = run.assignment, record.student
    scratch_url = f"sqlite:///{scratch / 'gradebook.db'}"
    with (
        warnings.catch_warnings(),  # nbgrader's own autoflush noise when it creates rows
        Gradebook(run.gradebook_url) as main,
        Gradebook(scratch_url) as local,
    ):
        warnings.simplefilter("ignore", SAWarning)
        main.update_or_create_student(student)
        submission = main.update_or_create_submission(assignment, student)
        try:
            graded = local.find_submission(assignment, student) if autograded else None
        except MissingEntry:
            graded = None
        scores = {}
        if graded is not None:
            for notebook in graded.notebooks:
                for grade in notebook.grades:
                    scores[(notebook.name, grade.name)] = (
                        grade.auto_score,
                        grade.needs_manual_grade,
                    )
                for comment in notebook.comments:
                    target = main.find_comment(comment.name, notebook.name, assignment, student)
                    target.auto_comment = comment.auto_comment
        record.held_scores = {}
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                auto, manual = scores.get((notebook.name, grade.name), (0.0, False))
                if record.held and grade.cell_type == "code":
                    record.held_scores.setdefault(notebook.name, {})[grade.name] = auto or 0.0
                    auto = 0.0
                grade.auto_score = auto
                grade.needs_manual_grade = manual
        main.db.commit()
        for notebook in sorted(submission.notebooks, key=lambda item: item.name):
            auto = [g for g in notebook.grades if g.cell_type == "code"]
            held = record.held_scores.get(notebook.name, {})
            earned = {g.name: held.get(g.name, g.auto_score or 0) for g in auto}
            record.notebooks[notebook.name] = {
                "score": float(notebook.score),
                "max_score": float(notebook.max_score),
                "autograded_score": float(sum(g.auto_score or 0 for g in auto)),
                "autograded_max": float(sum(g.max_score for g in auto)),
                "held_score": float(sum(held.values())),
                "tests_failed": sorted(g.name for g in auto if earned[g.name] < g.max_score),
            }
        record.score = float(submission.score)
        record.max_score = float(submission.max_score)
        record.autograded_score = sum(n["autograded_score"] for n in record.notebooks.values())
        record.autograded_max = sum(n["autograded_max"] for n in record.notebooks.values())


def release_held(run, student: str, by: str) -> StudentRecord:
    """A TA has reviewed ``student``: put the held autograded points into the gradebook."""
    from nbgrader.api import Gradebook

    from autograder.grading.pipeline.exports import export_grades

    record = load_records(run.folder).get(student)
    if record is None:
        raise CourseError(f"no grading record for {printable(student)!s} in {run.folder.root}")
    if not record.is_held:
        raise CourseError(f"{student}: nothing is held (status: {record.status})")
    with Gradebook(run.gradebook_url) as gradebook:
        submission = gradebook.find_submission(run.assignment, student)
        for notebook in submission.notebooks:
            held = record.held_scores.get(notebook.name, {})
            for grade in notebook.grades:
                if grade.name in held:
                    grade.auto_score = held[grade.name]
            entry = record.notebooks.get(notebook.name)
            if entry is not None:
                entry["autograded_score"] = entry.pop("held_score", 0.0)
                entry["held_score"] = 0.0
        gradebook.db.commit()
        record.score = float(submission.score)
    record.autograded_score = sum(n["autograded_score"] for n in record.notebooks.values())
    record.held_scores = {}
    record.released_by = by
    record.status = Status.GRADED_WITH_PROBLEMS if record.problems else Status.GRADED
    write_record(run.folder, record)
    export_grades(run)
    return record
