"""Grade files Canvas and Moodle import as they are, built on the roster they exported.

Each round trip starts from a realistic download of submissions and the
LMS's roster export, grades every collected student, writes the grade file,
and reads it back: every graded student on the roster is in it under the
roster's own id, students on no row and rows with no grade are reported,
and no cell can run as a formula in a spreadsheet.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
from dataclasses import asdict

import pytest

from autograder.cli.grades import add_grades_commands
from autograder.grading.lms.export import (
    WRITTEN_STATUSES,
    StudentGrade,
    grade_file,
    write_grade_file,
)
from autograder.grading.lms.identity import read_identities, write_identities
from autograder.grading.lms.roster import RosterError, RosterFormat, match_roster, read_roster
from autograder.grading.pipeline.ingest import collect
from autograder.settings import Settings
from autograder.spreadsheet import FORMULA_STARTS, plain_cell
from utilities.errors import CourseKitError

IDENTITIES_FILE = "identities.json"

CELLS = {"1_lenet5_mnist": {"lenet5"}, "2_fashion_cnn": {"fashion_model"}}
HYPERLINK = '=HYPERLINK("http://evil.example","click")'
NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def write_csv(path, header, rows, encoding="utf-8"):
    with path.open("w", newline="", encoding=encoding) as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def notebook(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cells": [], "nbformat": 4}))


def read_back(text):
    """The written file's rows, each cell as the spreadsheet shows it."""
    return [[plain_cell(cell) for cell in row] for row in csv.reader(io.StringIO(text))]


def assert_no_formula_runs(text):
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            if cell.lstrip().startswith(FORMULA_STARTS):
                assert NUMBER.fullmatch(cell), f"a formula would run: {cell!r}"


def graded(ids, points=40.0, status="graded"):
    return [StudentGrade(student, points, 45.0, status, needs_review=False) for student in ids]


# ---- Canvas ----------------------------------------------------------------------

CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "cnn (123)", "Quiz"]
CANVAS_ROWS = [
    ["    Points Possible", "", "", "", "", "45.00", "10"],
    ["Doe, Jane", "30001", "S001", "jdoe", "CNN 2025", "", "8"],
    ["Lee, Ann", "30002", "S002", "alee1", "CNN 2025", "", ""],
    ["Lee, Ann", "30003", "S003", "alee2", "CNN 2025", "", ""],
    ["Li, Zoë", "30004", "S004", "zli1", "CNN 2025", "", ""],
    ["Li, Zoé", "30005", "S005", "zli2", "CNN 2025", "", ""],
    [HYPERLINK, "30006", "=S006", "@evil", "+A", "", ""],
    ["@SUM(1)", "30007", "S007", "sum", "CNN 2025", "", ""],
    ["-2+3", "30008", "S008", "minus", "CNN 2025", "", ""],
    ["张伟", "30009", "S009", "zwei", "CNN 2025", "", ""],
    ["Student, Test", "39999", "", "", "CNN 2025", "", ""],
]
CANVAS_DOWNLOAD = [
    "doejane_30001_900001_1_lenet5_mnist.ipynb",
    "leeann_30002_900002_1_lenet5_mnist.ipynb",
    "leeann_late_30003_900003_1_lenet5_mnist-1.ipynb",
    "lizoe_30004_900004_1_lenet5_mnist.ipynb",
    "lizoe_30005_900005_2_fashion_cnn-2.ipynb",
    "hyperlinkhttpevilexampleclick_30006_900006_1_lenet5_mnist.ipynb",
    "sum1_30007_900007_1_lenet5_mnist.ipynb",
    "23_late_30008_900008_1_lenet5_mnist.ipynb",
    "dropped_38888_900010_1_lenet5_mnist.ipynb",  # dropped the course: on no roster row
]


@pytest.fixture
def canvas_class(tmp_path):
    download = tmp_path / "submissions"
    download.mkdir()
    for name in CANVAS_DOWNLOAD:
        notebook(download / name)
    roster_path = tmp_path / "Grades-CNN.csv"
    write_csv(roster_path, CANVAS_HEADER, CANVAS_ROWS, encoding="utf-8-sig")
    collected = collect(download, "cnn", CELLS, tmp_path / "work")
    return collected, read_roster(roster_path)


def test_canvas_round_trip(canvas_class, tmp_path):
    collected, roster = canvas_class
    assert len(collected.students) == len(CANVAS_DOWNLOAD)
    grades = [
        StudentGrade(student, 30.0 + number, 45.0, "graded", number % 2 == 0)
        for number, student in enumerate(sorted(collected.students))
    ]
    made = write_grade_file(tmp_path / "import.csv", grades, roster, column="cnn")
    text = (tmp_path / "import.csv").read_bytes().decode("utf-8")
    assert text == made.text
    rows = read_back(text)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "cnn (123)"]
    assert rows[1] == ["    Points Possible", "", "", "", "", "45.00"]
    expected = {g.identity_id.removeprefix("canvas-"): g.points for g in grades}
    del expected["38888"]
    assert {row[1]: float(row[5]) for row in rows[2:]} == expected
    assert rows[2:][5][:5] == [HYPERLINK, "30006", "=S006", "@evil", "+A"]
    assert made.match.unknown == ("canvas-38888",)
    assert [entry.display_name for entry in made.match.missing] == ["张伟"]
    assert_no_formula_runs(text)
    again = read_roster(tmp_path / "import.csv")  # Canvas reads its own format back
    assert again.format is RosterFormat.CANVAS_GRADEBOOK
    assert set(match_roster(again, made.written).matched) == set(made.written)


def test_canvas_column_is_named_when_the_roster_has_none_and_points_come_from_grades(tmp_path):
    header = CANVAS_HEADER[:5]
    roster = read_roster(write_csv(tmp_path / "r.csv", header, [row[:5] for row in CANVAS_ROWS]))
    made = grade_file(graded(["canvas-30001"], 12.5), roster, column="CNN lab")
    rows = read_back(made.text)
    assert rows[0][-1] == "CNN lab" and made.column == "CNN lab"
    assert rows[1] == ["    Points Possible", "", "", "", "", "45"]
    assert rows[2] == ["Doe, Jane", "30001", "S001", "jdoe", "CNN 2025", "12.5"]


def test_a_roster_without_the_points_possible_row_gets_one(tmp_path):
    roster = read_roster(write_csv(tmp_path / "r.csv", CANVAS_HEADER, CANVAS_ROWS[1:3]))
    rows = read_back(grade_file(graded(["canvas-30001"]), roster, "cnn").text)
    assert rows[1] == ["    Points Possible", "", "", "", "", "45"]


def test_a_different_maximum_in_the_lms_is_noted(canvas_class):
    _, roster = canvas_class
    made = grade_file([StudentGrade("canvas-30001", 40, 50, "graded")], roster, "cnn")
    assert any("maximum for 'cnn (123)' is 45, the grader's is 50" in note for note in made.notes)


# ---- Moodle ----------------------------------------------------------------------

WORKSHEET_HEADER = [
    "Identifier",
    "Full name",
    "Email address",
    "Status",
    "Grade",
    "Maximum Grade",
    "Grade can be changed",
    "Last modified (submission)",
    "Last modified (grade)",
    "Feedback comments",
]
MOODLE_STUDENTS = {
    1001: "Ann Lee",
    1002: "Ann Lee",
    1003: "Zoë Li",
    1004: "Zoé Li",
    1005: "张伟",
    1006: "Ольга Петрова",
    1007: "Ada L.",
    1008: "=1+1",
    1009: "@SUM(1)",
    1010: "-2+3",
}


def worksheet_row(participant, name):
    when = "Monday, 3 March 2025, 10:00 AM"
    email = f"s{participant}@uni.example"
    return [
        f"Participant {participant}",
        name,
        email,
        "Submitted",
        "",
        "45.00",
        "Yes",
        when,
        "-",
        "",
    ]


@pytest.fixture
def moodle_download(tmp_path):
    download = tmp_path / "submissions"
    for participant, name in MOODLE_STUDENTS.items():
        if participant != 1006:  # Ольга handed in nothing
            folder = download / f"{name}_{participant}_assignsubmission_file_"
            notebook(folder / "1_lenet5_mnist.ipynb")
    notebook(download / "Late Larry_1999_assignsubmission_file_" / "1_lenet5_mnist.ipynb")
    return collect(download, "cnn", CELLS, tmp_path / "work")


def test_moodle_worksheet_round_trip(moodle_download, tmp_path):
    rows = [worksheet_row(participant, name) for participant, name in MOODLE_STUDENTS.items()]
    roster = read_roster(write_csv(tmp_path / "worksheet.csv", WORKSHEET_HEADER, rows))
    ids = sorted(moodle_download.students)
    assert len(ids) == len(MOODLE_STUDENTS)  # homonyms stay two; Larry is extra, Ольга absent
    grades = graded(ids, 41.25)
    made = write_grade_file(tmp_path / "upload.csv", grades, roster, column="cnn")
    text = (tmp_path / "upload.csv").read_bytes().decode("utf-8")
    back = read_back(text)
    assert back[0] == WORKSHEET_HEADER
    by_identifier = {row[0]: row for row in back[1:]}
    assert set(by_identifier) == {f"Participant {p}" for p in MOODLE_STUDENTS if p != 1006}
    for participant, name in MOODLE_STUDENTS.items():
        if participant != 1006:
            row = by_identifier[f"Participant {participant}"]
            assert row[1] == name and row[4] == "41.25" and row[8] == "-"
    assert made.column == "Grade"
    assert made.match.unknown == ("moodle-1999",)
    assert [entry.display_name for entry in made.match.missing] == ["Ольга Петрова"]
    assert_no_formula_runs(text)
    again = read_roster(tmp_path / "upload.csv")
    assert set(match_roster(again, made.written).matched) == set(made.written)


def test_moodle_grades_export_matches_by_name_and_leaves_homonyms_out(moodle_download, tmp_path):
    identities_file = tmp_path / IDENTITIES_FILE
    write_identities(identities_file, (f.identity for f in moodle_download.students.values()))
    header = ["First name", "Last name", "ID number", "Email address", "Assignment: cnn (Real)"]
    rows = [
        ["Ann", "Lee", "S1", "ann1@uni.example", "-"],
        ["Ann", "Lee", "S2", "ann2@uni.example", "-"],
        ["Zoë", "Li", "S3", "zoe@uni.example", "-"],
        ["Zoé", "Li", "S4", "zoe2@uni.example", "-"],
        ["=1+1", "", "S5", "formula@uni.example", "-"],
        ["Ольга", "Петрова", "S6", "olga@uni.example", "-"],
    ]
    roster = read_roster(write_csv(tmp_path / "grades.csv", header, rows))
    ids = sorted(moodle_download.students)
    made = grade_file(graded(ids), roster, "cnn", read_identities(identities_file))
    back = read_back(made.text)
    assert back[0] == [
        "First name",
        "Last name",
        "ID number",
        "Email address",
        "Assignment: cnn (Real)",
    ]
    assert {row[2]: row[4] for row in back[1:]} == {"S3": "40", "S4": "40", "S5": "40"}
    assert sorted(made.match.ambiguous) == ["moodle-1001", "moodle-1002"]
    assert "moodle-1005" in made.match.unknown  # 张伟 is on no row of this export
    assert [entry.display_name for entry in made.match.missing] == ["Ольга Петрова"]
    assert_no_formula_runs(made.text)
    summary = "\n".join(made.summary())
    assert "3 grades written (Moodle grades or participants export" in summary
    assert (
        "2 could be more than one roster row, left out: Ann Lee (moodle-1001) (rows 2, 3)"
        in summary
    )


# ---- what is written ---------------------------------------------------------------


def test_only_final_grades_are_written_and_the_rest_are_reported(canvas_class):
    _, roster = canvas_class
    grades = [
        StudentGrade("canvas-30001", 40, 45, "graded"),
        StudentGrade("canvas-30002", 30, 45, "graded with problems", needs_review=True),
        StudentGrade("canvas-30003", 0, 45, "held for review", needs_review=True),
        StudentGrade("canvas-30004", 0, 45, "not graded"),
        StudentGrade("canvas-30005", float("nan"), 45, "graded"),
    ]
    made = grade_file(grades, roster, "cnn")
    assert [row[1] for row in read_back(made.text)[2:]] == ["30001", "30002"]
    assert made.withheld == {
        "canvas-30003": "held for review",
        "canvas-30004": "not graded",
        "canvas-30005": "the score is nan of 45",
    }
    summary = "\n".join(made.summary())
    assert "3 matched but not final, left out: Lee, Ann (canvas-30003): held for review" in summary
    assert made.needs_review == ("canvas-30002",)
    assert "1 written but marked for a TA's review: Lee, Ann (canvas-30002)" in summary


def test_points_are_written_as_an_lms_reads_them(canvas_class):
    _, roster = canvas_class
    values = {"canvas-30001": 40.0, "canvas-30002": 12.345, "canvas-30003": -0.001}
    grades = [StudentGrade(student, points, 45, "graded") for student, points in values.items()]
    written = [row[5] for row in read_back(grade_file(grades, roster, "cnn").text)[2:]]
    assert written == ["40", "12.35", "0"]


def test_two_grades_for_one_student_are_a_bug():
    with pytest.raises(ValueError, match="two grades for 'a'"):
        grade_file(graded(["a", "a"]), None, "cnn")


def test_the_statuses_written_are_the_graders_final_ones():
    from autograder.grading.pipeline.records import Status

    assert {Status.GRADED, Status.GRADED_WITH_PROBLEMS} == WRITTEN_STATUSES
    assert Status.HELD_FOR_REVIEW not in WRITTEN_STATUSES


# ---- the command ----------------------------------------------------------------------


def run_grades(*argv):
    parser = argparse.ArgumentParser(prog="coursekit")
    add_grades_commands(parser.add_subparsers(), Settings.from_environment())
    args = parser.parse_args(["grades", *argv])
    return args.run(args)


@pytest.fixture
def course(tmp_path):
    from autograder.grading.pipeline.records import StudentRecord

    records = tmp_path / "course" / "grading" / "cnn" / "records"
    records.mkdir(parents=True)
    for student, score in [("canvas-30001", 44.0), ("canvas-30002", 20.0), ("canvas-38888", 5.0)]:
        record = StudentRecord(student, "graded", score=score, max_score=45.0)
        (records / f"{student}.json").write_text(json.dumps(asdict(record)))
    roster = write_csv(tmp_path / "Grades-CNN.csv", CANVAS_HEADER, CANVAS_ROWS)
    return tmp_path / "course", roster


def test_grades_export_writes_the_file_and_prints_what_matched(course, capsys):
    root, roster = course
    code = run_grades(
        "export", "cnn", "--lms", "canvas", "--roster", str(roster), "--course-root", str(root)
    )
    assert code == 0
    out = capsys.readouterr().out
    written = root / "grading" / "cnn" / "grades_canvas.csv"
    assert f"Wrote {written}" in out
    assert "2 grades written (Canvas gradebook export, column 'cnn (123)')" in out
    assert "2 of 3 graded students matched the roster" in out
    assert "1 graded but on no roster row: canvas-38888" in out
    assert "7 on the roster with no graded submission" in out
    assert [row[1] for row in read_back(written.read_text())[2:]] == ["30001", "30002"]


def test_grades_export_refuses_the_wrong_lms_a_foreign_roster_or_no_records(course, tmp_path):
    root, roster = course
    common = ["--roster", str(roster), "--course-root", str(root)]
    with pytest.raises(RosterError, match="a Canvas gradebook export, not moodle's; check --lms"):
        run_grades("export", "cnn", "--lms", "moodle", *common)
    foreign = write_csv(tmp_path / "other.csv", CANVAS_HEADER, [["Roe, Jo", "1", "", "", "A"]])
    out = tmp_path / "never.csv"
    with pytest.raises(RosterError, match="none of the 3 graded students is on this roster"):
        run_grades(
            "export",
            "cnn",
            "--lms",
            "canvas",
            "--roster",
            str(foreign),
            "--out",
            str(out),
            "--course-root",
            str(root),
        )
    assert not out.exists()
    with pytest.raises(CourseKitError, match="no grading records; run `coursekit grade lab2`"):
        run_grades("export", "lab2", "--lms", "canvas", *common)


def test_grades_export_describes_itself_and_refuses_bad_usage(capsys):
    with pytest.raises(SystemExit) as done:
        run_grades("export", "--help")
    assert done.value.code == 0
    help_text = capsys.readouterr().out
    for flag in ["--lms", "--roster", "--out", "--column", "--course-root", "{canvas,moodle}"]:
        assert flag in help_text
    for argv in (["export", "cnn", "--roster", "r.csv"], ["export", "cnn", "--lms", "blackboard"]):
        with pytest.raises(SystemExit) as done:
            run_grades(*argv)
        assert done.value.code == 2
