"""Grades out of the gradebook: nbgrader's grades.csv and the kit's grades_lms.csv.

The LMS-friendly file has each student's total, points per notebook, the
leaderboard points once the leaderboard is final, the TAs' points and the answers
still to grade by hand, the hand-in time and late penalty once the assignment has
a deadline, the status and whether a TA should review. The total is what the LMS
gets: every notebook's points (the TAs' included), less the late penalty, plus the
leaderboard points. The LMS's own import formats are written from the same totals
(:func:`student_grades`, :mod:`autograder.grading.lms.export`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace

from autograder.grading.lms.export import StudentGrade
from autograder.grading.lms.late import Lateness, class_lateness, read_deadline, show_time
from autograder.grading.pipeline.records import load_records
from autograder.layout import CourseLayout
from autograder.leaderboard.points import FinalBoard, final_board
from autograder.spreadsheet import csv_text, plain_cell
from utilities.files import staged_file, write_text_atomically


def export_grades(run) -> None:
    """nbgrader's grades.csv and an LMS-friendly grades_lms.csv, both from the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.plugins.export import CsvExportPlugin

    from autograder.grading.pipeline.finish import apply_late_penalties

    apply_late_penalties(run)  # nbgrader's grades.csv carries them
    nbgrader_csv = run.folder.nbgrader_csv
    with staged_file(nbgrader_csv) as staged, Gradebook(run.gradebook_url) as gradebook:
        # What `nbgrader export` writes, in this process (a subprocess cost 5 s).
        plugin = CsvExportPlugin(to=str(staged), assignment=[run.assignment])
        plugin.log.setLevel(logging.WARNING)
        plugin.export(gradebook)
        os.replace(staged, nbgrader_csv)
    records = load_records(run.folder)
    assignment, layout = run.assignment, run.layout
    final = leaderboard_bonus(layout, assignment)
    deadline = read_deadline(run.folder)
    timezone = deadline.policy.timezone if deadline else "UTC"
    with Gradebook(run.gradebook_url) as gradebook:
        notebooks = sorted(n.name for n in gradebook.find_assignment(assignment).notebooks)
        students = [s.id for s in gradebook.students]
        late = class_lateness(run.folder, students)
        rows = []
        for student in sorted(students):
            try:
                submission = gradebook.find_submission(assignment, student)
            except MissingEntry:  # a student of another assignment
                continue
            by_name = {n.name: n for n in submission.notebooks}
            record = records.get(student)
            lateness = late.get(student)
            penalty = lateness.penalty(submission.score) if lateness else 0.0
            total, max_total = submission.score - penalty, submission.max_score
            board: list = []
            board_review = False
            if final is not None:  # a bonus: it adds to the total, not to the maximum
                earned = final.grade_of(student)
                total += earned.points
                board = [plain_cell(earned.team), f"{earned.points:g}", earned.note]
                board_review = earned.review  # an upload no member's model reproduces
            grades = [g for n in submission.notebooks for g in n.grades]
            review = bool(record and record.needs_review) or bool(lateness and lateness.review)
            review = review or board_review
            rows.append(
                [student, f"{round(total, 2):g}", f"{max_total:g}"]
                + [f"{by_name[name].score:g}" for name in notebooks]
                + board
                + [
                    f"{sum(g.manual_score or 0 for g in grades if g.manual_score is not None):g}",
                    sum(1 for g in grades if g.needs_manual_grade),
                ]
                + (_late_cells(lateness, penalty, timezone) if deadline else [])
                + [str(record.status) if record else "", "yes" if review else "no"]
            )
    header = (
        ["student_id", "total", "max_total"]
        + [f"points_{name}" for name in notebooks]
        + (["team", "leaderboard_points", "leaderboard_note"] if final is not None else [])
        + ["points_by_tas", "answers_to_grade"]
        + (list(LATE_COLUMNS) if deadline else [])
        + ["status", "needs_review"]
    )
    write_text_atomically(run.folder.lms_csv, csv_text(header, rows))


LATE_COLUMNS = (
    "handed_in",
    "hand_in_source",
    "late_days",
    "late_penalty_percent",
    "late_penalty_points",
    "late_note",
)


def _late_cells(lateness: Lateness | None, penalty: float, timezone: str) -> list[str]:
    if lateness is None:
        return ["", "", "", "", "", ""]
    when = lateness.hand_in.when
    return [
        show_time(when, timezone) if when else "",
        str(lateness.hand_in.source),
        str(lateness.days),
        f"{lateness.percent:g}",
        f"{penalty:g}",
        lateness.note,
    ]


def leaderboard_bonus(layout: CourseLayout, assignment: str) -> FinalBoard | None:
    """The final leaderboard with its registered teams and model checks; None before it."""
    return final_board(layout.leaderboard(assignment), layout.grading(assignment).model_checks)


def student_grades(layout: CourseLayout, assignment: str, records) -> list[StudentGrade]:
    """Each record's total for an LMS: the late penalty taken off, and the leaderboard bonus
    added once the leaderboard is final; a hand-in time to check marks it for review."""
    records = list(records)
    final = leaderboard_bonus(layout, assignment)
    late = class_lateness(layout.grading(assignment), [record.student for record in records])
    grades = []
    for record in records:
        grade = StudentGrade.from_record(record)
        lateness = late.get(record.student)
        if lateness is not None:
            grade = replace(
                grade,
                points=round(grade.points - lateness.penalty(grade.points), 2),
                needs_review=grade.needs_review or bool(lateness.review),
            )
        if final is not None:
            grade = replace(grade, points=grade.points + final.grade_of(record.student).points)
        grades.append(grade)
    return grades
