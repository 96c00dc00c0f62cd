"""Due dates, extensions and late penalties: the arithmetic, the hand-in time, every output.

The policy is pure arithmetic and is tested as such: days started, the grace period,
the cap, the cutoff, extensions and time zones. The hand-in time comes from
timestamp.txt, else the LMS's export, else the file's time, and the record says which.
On a class built in place (tests/graded_class.py), a late hand-in loses the stated
share in grades.csv, grades_lms.csv, the Canvas and Moodle files and the feedback;
the student with an extension loses nothing; a missing time is a note, never a zero.
"""

from __future__ import annotations

import csv
import os
import shutil
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from graded_class import ASSIGNMENT, PART1, PART2, Student, build_class

from autograder.cli.main import main
from autograder.demo import term
from autograder.grading.lms.export import grade_file
from autograder.grading.lms.handin import describe, hand_in_time, lms_times
from autograder.grading.lms.late import (
    Deadline,
    Extension,
    HandIn,
    HandInSource,
    LateError,
    lateness,
    parse_time,
    read_extensions,
    write_deadline,
    write_hand_in,
)
from autograder.grading.lms.roster import read_roster
from autograder.grading.pipeline.exports import student_grades
from autograder.grading.pipeline.finish import refresh, shares
from autograder.grading.pipeline.ingest import StudentFiles, collect
from autograder.grading.pipeline.records import load_records
from autograder.settings import LatePolicy
from conftest import released_course

DUE = datetime(2026, 11, 20, 23, 59, tzinfo=UTC)
POLICY = LatePolicy(grace_minutes=15, percent_per_day=10, cap_percent=50)


def handed(after: timedelta, source=HandInSource.TIMESTAMP) -> HandIn:
    return HandIn((DUE + after).isoformat(), source)


def late(after: timedelta, policy=POLICY, cutoff=None, extension=None, source=None):
    hand_in = handed(after, source or HandInSource.TIMESTAMP)
    return lateness(Deadline(DUE, policy, cutoff), hand_in, extension)


# ---- the arithmetic ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "days", "percent"),
    [
        (timedelta(hours=-1), 0, 0),  # early
        (timedelta(minutes=15), 0, 0),  # the last minute of the grace period
        (timedelta(minutes=15, seconds=1), 1, 10),  # a day started
        (timedelta(hours=24), 1, 10),  # exactly one day
        (timedelta(hours=24, seconds=1), 2, 20),  # the second day started
        (timedelta(days=4, hours=1), 5, 50),
        (timedelta(days=9), 9, 50),  # the cap
    ],
)
def test_a_late_hand_in_loses_a_share_for_each_day_started_up_to_the_cap(after, days, percent):
    result = late(after)
    assert (result.days, result.percent) == (days, percent)


def test_the_penalty_is_a_share_of_the_students_own_points_and_never_negative():
    two_days = late(timedelta(days=1, hours=3))
    assert two_days.penalty(31.5) == 6.3 and two_days.penalty(0) == 0 and two_days.penalty(-2) == 0
    assert two_days.note == "2 days late: \u221220 %"
    assert two_days.notice(6.3) == "Handed in 2 days late: \u221220 % (\u22126.3 points)."
    assert late(timedelta(hours=-1)).notice(0) == ""


def test_after_the_cutoff_a_hand_in_loses_everything_and_before_it_the_daily_share():
    cutoff = DUE + timedelta(days=3)
    assert late(timedelta(days=2), cutoff=cutoff).percent == 20
    after = late(timedelta(days=3, minutes=1), cutoff=cutoff)
    assert (after.percent, after.penalty(30)) == (100, 30)
    assert after.notice(30) == "Handed in after the cutoff: \u2212100 % (\u221230 points)."
    cutoff_only = replace_policy(percent_per_day=0)
    assert late(timedelta(days=2), policy=cutoff_only, cutoff=cutoff).percent == 0


def replace_policy(**changes) -> LatePolicy:
    from dataclasses import replace

    return replace(POLICY, **changes)


def test_an_extension_moves_the_due_date_and_the_cutoff():
    extension = Extension("ada", DUE + timedelta(days=3), "illness")
    cutoff = DUE + timedelta(days=2)
    on_time = late(timedelta(days=2, hours=12), cutoff=cutoff, extension=extension)
    assert on_time.percent == 0 and on_time.note.startswith("extension to 2026-11-23 23:59 UTC")
    late_still = late(timedelta(days=3, hours=2), cutoff=cutoff, extension=extension)
    assert (late_still.days, late_still.percent) == (1, 10)  # before the moved cutoff (day 5)


def test_times_without_an_offset_are_read_in_the_policys_time_zone():
    berlin = replace_policy(timezone="Europe/Berlin")
    due = parse_time("2026-11-20T23:59", berlin.timezone)
    assert due == datetime(2026, 11, 20, 22, 59, tzinfo=UTC)  # CET is UTC+1
    handed_in = parse_time("2026-11-20 23:30:00.000000 UTC", berlin.timezone)  # 00:30 in Berlin
    result = lateness(Deadline(due, berlin), HandIn(handed_in.isoformat(), HandInSource.TIMESTAMP))
    assert (result.days, result.percent) == (1, 10)


def test_a_day_is_twenty_four_hours_even_across_a_change_to_winter_time():
    berlin = replace_policy(timezone="Europe/Berlin", grace_minutes=0)
    due = parse_time("2026-10-24T12:00", berlin.timezone)  # CEST, the day before the change
    handed_in = parse_time("2026-10-25T12:30", berlin.timezone)  # CET: 25.5 hours later
    result = lateness(Deadline(due, berlin), HandIn(handed_in.isoformat(), HandInSource.TIMESTAMP))
    assert result.days == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-21 10:00:00.123456 UTC", datetime(2026, 11, 21, 10, 0, 0, 123456, tzinfo=UTC)),
        ("2026-11-21T10:00:00Z", datetime(2026, 11, 21, 10, tzinfo=UTC)),
        ("2026-11-21T11:00+01:00", datetime(2026, 11, 21, 10, tzinfo=UTC)),
        ("2026-11-21 11:00:00 Europe/Berlin", datetime(2026, 11, 21, 10, tzinfo=UTC)),
        ("Saturday, 21 November 2026, 11:00 AM", datetime(2026, 11, 21, 10, tzinfo=UTC)),
        ("  2026-11-21T11:00\n", datetime(2026, 11, 21, 10, tzinfo=UTC)),
    ],
)
def test_times_are_read_as_nbgrader_people_and_moodle_write_them(text, expected):
    assert parse_time(text, "Europe/Berlin") == expected


@pytest.mark.parametrize("text", ["", "5", "yesterday", "2026-13-45", "21/11/2026", "1e9"])
def test_a_time_that_cannot_be_read_is_refused_not_guessed(text):
    with pytest.raises(ValueError):
        parse_time(text)


def test_no_hand_in_time_means_no_penalty_and_a_note_never_a_zero():
    result = lateness(Deadline(DUE, POLICY), HandIn("", HandInSource.NONE, "no timestamp.txt"))
    assert (result.percent, result.penalty(30)) == (0, 0)
    assert result.review == "no hand-in time (no timestamp.txt): no late penalty; check it by hand"


def test_a_files_own_time_alone_is_not_trusted_unless_the_policy_says_so():
    file_time = dict(source=HandInSource.FILE_TIME)
    distrusted = late(timedelta(days=2), **file_time)
    assert distrusted.percent == 0 and "check it by hand" in distrusted.review
    assert "2 day(s) after" in distrusted.review
    assert late(timedelta(hours=-3), **file_time).review == ""  # on time by it: nothing to check
    trusted = late(timedelta(days=2), policy=replace_policy(trust_file_times=True), **file_time)
    assert (trusted.percent, trusted.review) == (20, "")


def test_a_penalty_split_over_the_notebooks_adds_up_to_the_cent():
    assert shares(3.35, [14.5, 9.0, 10.0]) == [1.45, 0.9, 1.0]
    parts = shares(1.0, [1.0, 1.0, 1.0])
    assert sum(parts) == pytest.approx(1.0) and parts == [0.33, 0.33, 0.34]
    assert shares(0.0, [3, 4]) == [0.0, 0.0] and shares(2.0, [0, 0]) == [0.0, 0.0]


# ---- extensions ------------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_extensions_are_read_with_their_reasons(tmp_path):
    path = write(tmp_path / "x.csv", "student,due,reason\nada,2026-11-23T23:59,illness\n\n")
    (extension,) = read_extensions(path, Deadline(DUE, POLICY)).values()
    assert (extension.student, extension.due, extension.reason, extension.row) == (
        "ada", DUE + timedelta(days=3), "illness", 2
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,date\nada,2026-11-23\n", "line 1: expected the columns student, due, reason"),
        ("student,due,reason\nada,soon,ill\n", "line 2: ada's due date: 'soon' is not a time"),
        ("student,due,reason\nada,2026-11-19T10:00,ill\n", "line 2: ada's new due date"),
        ("student,due,reason\n,2026-11-23T10:00,ill\n", "line 2: no student id"),
        ("student,due,reason\nada,2026-11-23T10:00,\n", "line 2: no reason for ada's extension"),
        (
            "student,due,reason\nada,2026-11-23T10:00,ill\nben,2026-11-24,x\nada,2026-11-25,y\n",
            "line 4: a second extension for ada (line 2)",
        ),
    ],
)
def test_a_bad_extension_row_is_refused_with_its_file_and_line(tmp_path, text, message):
    path = write(tmp_path / "extensions.csv", text)
    with pytest.raises(LateError) as refused:
        read_extensions(path, Deadline(DUE, POLICY))
    assert str(refused.value).startswith(f"{path}: ") and message in str(refused.value)


# ---- where the hand-in time comes from --------------------------------------------------------


def submission(tmp_path: Path, stamp: str | None = None, mtime: datetime | None = None):
    folder = tmp_path / "submitted" / "ada" / ASSIGNMENT
    folder.mkdir(parents=True)
    notebook = write(folder / f"{PART1}.ipynb", '{"cells": [], "nbformat": 4}')
    if mtime is not None:
        os.utime(notebook, (mtime.timestamp(), mtime.timestamp()))
    files = StudentFiles("ada", {PART1: notebook}, root=tmp_path / "submitted")
    if stamp is not None:
        files.timestamp = write(folder / "timestamp.txt", stamp)
    return files


def test_timestamp_txt_comes_first_then_the_lms_then_the_files_time(tmp_path):
    file_time = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    lms = {"ada": datetime(2026, 11, 22, 9, 0, tzinfo=UTC)}
    files = submission(tmp_path, "2026-11-21 10:00:00.000000 UTC", mtime=file_time)
    first = hand_in_time(files, "UTC", lms)
    assert (first.source, first.when) == (
        HandInSource.TIMESTAMP,
        datetime(2026, 11, 21, 10, tzinfo=UTC),
    )
    assert first.file_time == file_time.isoformat()  # kept, for a person to compare
    files.timestamp = None
    assert hand_in_time(files, "UTC", lms).source is HandInSource.LMS
    last = hand_in_time(files, "UTC", {})
    assert (last.source, last.when, last.detail) == (
        HandInSource.FILE_TIME,
        file_time,
        "no timestamp.txt",
    )
    assert describe(last) == (
        "handed in 2026-11-25 08:00 UTC (from the file's time; no timestamp.txt)"
    )


def test_an_unreadable_timestamp_is_noted_and_the_next_source_used(tmp_path):
    files = submission(tmp_path, "the day before yesterday")
    hand_in = hand_in_time(files, "UTC", {"ada": datetime(2026, 11, 22, 9, tzinfo=UTC)})
    assert hand_in.source is HandInSource.LMS
    assert hand_in.detail.startswith("timestamp.txt unreadable: ")


def test_moodles_grading_worksheet_gives_each_participants_hand_in_time(tmp_path):
    path = write(
        tmp_path / "worksheet.csv",
        "Identifier,Full name,Email address,Status,Grade,Last modified (submission)\n"
        'Participant 11,Ada L,ada@u.example,Submitted,,"Saturday, 21 November 2026, 10:05 AM"\n'
        "Participant 12,Ben K,ben@u.example,No submission,,-\n",
    )
    assert lms_times(path, "Europe/Berlin") == {
        "moodle-11": datetime(2026, 11, 21, 9, 5, tzinfo=UTC)
    }
    canvas = write(
        tmp_path / "canvas.csv", "Student,ID,SIS User ID,SIS Login ID,Section\nA,1,,a,S\n"
    )
    assert lms_times(canvas) == {}


def test_collecting_keeps_nbgraders_timestamp_and_a_zips_stored_times(tmp_path):
    files = submission(tmp_path, "2026-11-21 10:00:00.000000 UTC")
    cells = {PART1: {"preprocess"}}
    collected = collect(tmp_path / "submitted", ASSIGNMENT, cells, tmp_path / "work")
    assert collected.unmapped == []
    assert collected.students["ada"].timestamp == files.timestamp.resolve()
    bundle = tmp_path / "download.zip"
    with zipfile.ZipFile(bundle, "w") as archive:
        entry = zipfile.ZipInfo(f"ben/{ASSIGNMENT}/{PART1}.ipynb", (2026, 11, 21, 10, 30, 0))
        archive.writestr(entry, '{"cells": [], "nbformat": 4}')
    unzipped = collect(bundle, ASSIGNMENT, cells, tmp_path / "work")
    stored = unzipped.students["ben"].notebooks[PART1].stat().st_mtime
    assert stored == time.mktime((2026, 11, 21, 10, 30, 0, 0, 0, -1))  # as unzip keeps it


# ---- every output: grades.csv, grades_lms.csv, Canvas, Moodle, feedback -----------------------


CLASS = {"ada": Student(), "ben": Student(), "cy": Student(), "dee": Student()}
HAND_INS = {
    "ada": handed(timedelta(days=1, hours=2)),  # 2 days started: -20 %
    "ben": handed(timedelta(days=1, hours=2)),  # as late, with an extension: on time
    "cy": HandIn("", HandInSource.NONE, "no timestamp.txt"),
    "dee": handed(timedelta(hours=-2)),
}
AUTOGRADED = 40 - 17


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    return released_course(tmp_path_factory.mktemp("late-course"))


@pytest.fixture(scope="module")
def late_class(released, tmp_path_factory):
    course = tmp_path_factory.mktemp("late") / "course"
    shutil.copytree(released, course)
    run = build_class(course, CLASS)
    extensions = write(course.parent / "x.csv", "student,due,reason\nben,2026-11-23T23:59,ill\n")
    write_deadline(run.folder, Deadline(DUE, POLICY), extensions)
    for student, hand_in in HAND_INS.items():
        write_hand_in(run.folder, student, hand_in)
    assert refresh(run, list(CLASS)) == []
    return run


@pytest.mark.integration
def test_grades_lms_csv_shows_the_hand_in_the_days_the_penalty_and_the_total(late_class):
    rows = {row["student_id"]: row for row in csv.DictReader(late_class.folder.lms_csv.open())}
    ada = rows["ada"]
    assert (ada["handed_in"], ada["hand_in_source"]) == ("2026-11-22 01:59 UTC", "timestamp.txt")
    assert (ada["late_days"], ada["late_penalty_percent"], ada["late_penalty_points"]) == (
        "2", "20", "4.6"
    )  # fmt: skip
    assert float(ada["total"]) == 18.4 == AUTOGRADED - 4.6 and ada["needs_review"] == "no"
    assert rows["ben"]["late_penalty_points"] == "0" and float(rows["ben"]["total"]) == AUTOGRADED
    assert rows["ben"]["late_note"] == "extension to 2026-11-23 23:59 UTC (ill); on time"
    cy = rows["cy"]
    assert float(cy["total"]) == AUTOGRADED and cy["needs_review"] == "yes"
    assert "no hand-in time (no timestamp.txt): no late penalty" in cy["late_note"]
    assert rows["dee"]["late_note"] == "on time"


@pytest.mark.integration
def test_nbgraders_grades_csv_carries_the_due_date_and_the_penalty(late_class):
    rows = {row["student_id"]: row for row in csv.DictReader(late_class.folder.nbgrader_csv.open())}
    ada = rows["ada"]
    assert (ada["duedate"], ada["timestamp"]) == ("2026-11-20 23:59:00", "2026-11-22 01:59:00")
    assert (float(ada["raw_score"]), float(ada["late_submission_penalty"])) == (AUTOGRADED, 4.6)
    assert float(ada["score"]) == AUTOGRADED - 4.6
    assert (
        float(rows["ben"]["late_submission_penalty"])
        == 0
        == float(rows["cy"]["late_submission_penalty"])
    )


@pytest.mark.integration
def test_the_lms_files_get_the_total_after_the_penalty_and_flag_the_missing_time(
    late_class, tmp_path
):
    records = load_records(late_class.folder)
    grades = student_grades(late_class.layout, ASSIGNMENT, records.values())
    canvas = read_roster(
        write(
            tmp_path / "canvas.csv",
            "Student,ID,SIS User ID,SIS Login ID,Section,cnn (7)\n    Points Possible,,,,,40\n"
            + "".join(f"{s.title()},{10 + i},S{i},{s},A,\n" for i, s in enumerate(CLASS)),
        )
    )
    made = grade_file(grades, canvas, ASSIGNMENT)
    totals = {row[0]: row[-1] for row in csv.reader(made.text.splitlines()[2:])}
    assert totals == {"Ada": "18.4", "Ben": "23", "Cy": "23", "Dee": "23"}
    assert "1 written but marked for a TA's review: Cy (cy)" in made.summary()
    moodle = read_roster(
        write(
            tmp_path / "worksheet.csv",
            "Identifier,Full name,Email address,Status,Grade,Maximum Grade\n"
            + "".join(
                f"Participant {50 + i},{s.title()},{s}@u.example,Submitted,,40\n"
                for i, s in enumerate(CLASS)
            ),
        )
    )
    rows = csv.DictReader(grade_file(grades, moodle, ASSIGNMENT).text.splitlines())
    assert {row["Full name"]: row["Grade"] for row in rows}["Ada"] == "18.4"


@pytest.mark.integration
def test_the_feedback_says_how_late_and_what_it_cost(late_class):
    pages = {
        nb: (late_class.layout.feedback("ada", ASSIGNMENT) / f"{nb}.html").read_text()
        for nb in (PART1, PART2)
    }
    assert "Handed in 2 days late: \u221220 % (\u22122.8 points)." in pages[PART1]
    assert "Handed in 2 days late: \u221220 % (\u22121.8 points)." in pages[PART2]
    assert "Late submission penalty (Score: -2.8)" in pages[PART1]  # nbgrader's own line
    for student in ("ben", "cy", "dee"):
        page = (late_class.layout.feedback(student, ASSIGNMENT) / f"{PART1}.html").read_text()
        assert "Handed in" not in page and "Late submission penalty" not in page


@pytest.mark.integration
def test_coursekit_grades_late_refuses_a_bad_extensions_file_and_keeps_the_policy(
    late_class, tmp_path, capsys
):
    bad = write(tmp_path / "bad.csv", "student,due,reason\ncy,2026-11-19T10:00,too early\n")
    root = str(late_class.layout.root)
    code = main(
        [
            "grades",
            "late",
            "cnn",
            "--course-root",
            root,
            "--due",
            "2026-11-20T23:59",
            "--extensions",
            str(bad),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and f"{bad}: line 2: cy's new due date" in err and err.count("\n") == 1
    assert main(["grades", "late", "cnn", "--course-root", root]) == 0
    out = capsys.readouterr().out
    assert "cnn is due 2026-11-20 23:59 UTC (grace 15 min; 10 % a day started, at most 50 %)" in out
    assert "ada: 2 days late: \u221220 %" in out and "ben: extension to 2026-11-23 23:59 UTC" in out
    assert "cy: no hand-in time" in out and "dee" not in out


def test_the_demo_terms_data_says_what_the_default_policy_makes_of_it(tmp_path):
    for student in ("ada", *term.HAND_INS):
        (tmp_path / student / ASSIGNMENT).mkdir(parents=True)
    written = term.write_timestamps(tmp_path)
    assert "gus" not in written and "ada" in written
    path = term.write_extensions(tmp_path / "extensions.csv")
    deadline = Deadline(term.DUE, LatePolicy())
    extensions = read_extensions(path, deadline)
    for student in ("ada", *term.HAND_INS):
        stamp = tmp_path / student / ASSIGNMENT / "timestamp.txt"
        when = parse_time(stamp.read_text()) if stamp.exists() else None
        hand_in = HandIn(
            when.isoformat() if when else "", HandInSource.TIMESTAMP if when else HandInSource.NONE
        )
        result = lateness(deadline, hand_in, extensions.get(student))
        expected = term.expected_lateness(student)
        assert (result.days, result.percent, bool(result.review)) == (
            expected.days, expected.percent, expected.review
        ), student  # fmt: skip
