"""Grades out of the gradebook: nbgrader's grades.csv and the kit's grades_lms.csv.

The LMS-friendly file has each student's total, points per notebook, the
leaderboard points once the leaderboard is final, the cells still to grade by
hand, the status and whether a TA should review; the LMS's own import formats
are written from the same totals (:func:`student_grades`,
:mod:`autograder.grading.lms.export`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace

from autograder.grading.lms.export import StudentGrade
from autograder.grading.pipeline.records import load_records
from autograder.layout import CourseLayout
from autograder.leaderboard.points import FinalBoard, final_board
from autograder.spreadsheet import csv_text, plain_cell
from utilities.files import staged_file, write_text_atomically


def export_grades(run) -> None:
    """nbgrader's grades.csv and an LMS-friendly grades_lms.csv, both from the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.plugins.export import CsvExportPlugin

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
    with Gradebook(run.gradebook_url) as gradebook:
        notebooks = sorted(n.name for n in gradebook.find_assignment(assignment).notebooks)
        rows = []
        for student in sorted(s.id for s in gradebook.students):
            try:
                submission = gradebook.find_submission(assignment, student)
            except MissingEntry:  # a student of another assignment
                continue
            by_name = {n.name: n for n in submission.notebooks}
            record = records.get(student)
            total, max_total = submission.score, submission.max_score
            board: list = []
            if final is not None:  # a bonus: it adds to the total, not to the maximum
                earned = final.grade_of(student)
                total += earned.points
                board = [plain_cell(earned.team), f"{earned.points:g}", earned.note]
            rows.append(
                [student, f"{total:g}", f"{max_total:g}"]
                + [f"{by_name[name].score:g}" for name in notebooks]
                + board
                + [
                    sum(1 for n in submission.notebooks for g in n.grades if g.needs_manual_grade),
                    str(record.status) if record else "",
                    "yes" if record and record.needs_review else "no",
                ]
            )
    header = (
        ["student_id", "total", "max_total"]
        + [f"points_{name}" for name in notebooks]
        + (["team", "leaderboard_points", "leaderboard_note"] if final is not None else [])
        + ["cells_to_grade_by_hand", "status", "needs_review"]
    )
    write_text_atomically(run.folder.lms_csv, csv_text(header, rows))


def leaderboard_bonus(layout: CourseLayout, assignment: str) -> FinalBoard | None:
    """The final leaderboard with its registered teams and model checks; None before it."""
    return final_board(layout.leaderboard(assignment), layout.grading(assignment).model_checks)


def student_grades(layout: CourseLayout, assignment: str, records) -> list[StudentGrade]:
    """Each record's total for an LMS, with the leaderboard bonus once the leaderboard is final."""
    final = leaderboard_bonus(layout, assignment)
    grades = []
    for record in records:
        grade = StudentGrade.from_record(record)
        if final is not None:
            grade = replace(grade, points=grade.points + final.grade_of(record.student).points)
        grades.append(grade)
    return grades
