"""What people add survives a forced regrade: the TAs' scores and comments, and late penalties.

Three students hand in a correct Part 1 and an unstarted Part 2's code, with their own
written answers and the training curve they made. Lea hands in 30 hours late, Max as
late with a three-day extension, Ned's folder has no timestamp.txt. The instructor sets
the due date first (``coursekit grades late``); the class is graded; a TA grades every
written answer through the review page's CSV (``coursekit review --import``); then the
class is graded again with ``--force``. Every score and comment is still in the
gradebook, and it and the penalty reach grades.csv, grades_lms.csv, the Canvas and
Moodle files and each student's feedback page.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from graded_class import ASSIGNMENT, PART1, PART2, TASKS, picture

from autograder.cli.main import main
from autograder.grading.pipeline.grade import GradeRun, grade_class
from autograder.grading.pipeline.records import load_records
from conftest import released_course, sandboxed_grade_run

pytestmark = pytest.mark.slow

DUE = datetime(2026, 11, 20, 23, 59, tzinfo=UTC)
HAND_INS = {"lea": 30.0, "max": 30.0, "ned": None}  # hours after the due date; None: no stamp
PERCENT = {"lea": 20, "max": 0, "ned": 0}  # 2 days started at 10 %; an extension; no time
SHARE = {"lea": 1.0, "max": 0.5, "ned": 0.0}  # of each task's points, as the TA grades
SOLUTION = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", re.MULTILINE)


def comment(student: str, task: str) -> str:
    return f"{student} on {task}: see the rubric's second point."


def answer(student: str, task: str) -> str:
    return f"{student}: my curves show {task} clearly (epoch 6)."


def handed_in(course: Path, notebook: str, student: str) -> dict:
    """The release with the student's answers and their own curve, and Part 1's solutions.

    Part 2's code is left as released: its tests fail at once instead of training a
    model twice per student, which is all this file needs of them.
    """
    release = json.loads((course / "release" / ASSIGNMENT / f"{notebook}.ipynb").read_text())
    source = json.loads((course / "source" / ASSIGNMENT / f"{notebook}.ipynb").read_text())
    solutions = {
        c["metadata"]["nbgrader"]["grade_id"]: SOLUTION.sub("", "".join(c["source"]))
        for c in source["cells"]
        if c["metadata"].get("nbgrader", {}).get("solution")
    }
    for cell in release["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        text = "".join(cell["source"])
        if grade_id in TASKS:
            cell["source"] = answer(student, grade_id)
        elif grade_id in solutions and notebook == PART1:
            cell["source"] = solutions[grade_id]
        if text.startswith("plot_training_history(history"):
            cell["outputs"] = [
                {"output_type": "display_data", "metadata": {}, "data": {"image/png": picture(7)}}
            ]
    return release


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return released_course(tmp_path_factory.mktemp("regrade-course"))


@pytest.fixture(scope="module")
def submitted(course, tmp_path_factory):
    out = tmp_path_factory.mktemp("submitted")
    for student, hours in HAND_INS.items():
        folder = out / student / ASSIGNMENT
        folder.mkdir(parents=True)
        for notebook in (PART1, PART2):
            (folder / f"{notebook}.ipynb").write_text(
                json.dumps(handed_in(course, notebook, student))
            )
        if hours is not None:
            when = DUE + timedelta(hours=hours)
            (folder / "timestamp.txt").write_text(when.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
    return out


@pytest.fixture(scope="module")
def run(course, submitted, course_build):
    return sandboxed_grade_run(course, submitted, course_build)


def coursekit(run: GradeRun, *arguments: str) -> int:
    return main([*arguments, "--course-root", str(run.layout.root)])


@pytest.fixture(scope="module")
def graded(run, tmp_path_factory):
    """Due date, grading, the TA's scores through the page's CSV, then a forced regrade."""
    work = tmp_path_factory.mktemp("term")
    extensions = work / "extensions.csv"
    extensions.write_text("student,due,reason\nmax,2026-11-23T23:59,illness\n")
    due = DUE.isoformat()
    assert (
        coursekit(run, "grades", "late", "cnn", "--due", due, "--extensions", str(extensions)) == 0
    )
    first = grade_class(run)
    assert coursekit(run, "review", "cnn", "--pages", str(work / "pages"), "--ta", "ana") == 0
    scores = _scores_from_pages(work / "pages", work / "scores.csv")
    assert coursekit(run, "review", "cnn", "--import", str(scores)) == 0
    after_import = _snapshot(run)
    again = grade_class(replace(run, options=replace(run.options, force=True)))
    return first, again, after_import, work


def _scores_from_pages(pages: Path, out: Path) -> Path:
    """What the TA downloads: a score and a comment for every answer, with its based_on."""
    rows = []
    for page in sorted(pages.glob("*.html")):
        text = page.read_text()
        task = re.search(r'data-task="([^"]+)"', text)[1]
        notebook = re.search(r'data-notebook="([^"]+)"', text)[1]
        for student, based_on in re.findall(
            r'data-student="([^"]+)"\s+data-based-on="([^"]+)"', text
        ):
            score = TASKS[task][1] * SHARE[student]
            rows.append(
                [
                    ASSIGNMENT,
                    notebook,
                    task,
                    student,
                    f"{score:g}",
                    comment(student, task),
                    "ana",
                    based_on,
                ]
            )
    with out.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(
            ["assignment", "notebook", "task", "student", "score", "comment", "ta", "based_on"]
        )
        writer.writerows(rows)
    assert len(rows) == len(HAND_INS) * len(TASKS)
    return out


def _snapshot(run: GradeRun) -> dict:
    from nbgrader.api import Gradebook

    found = {}
    with Gradebook(run.gradebook_url) as gradebook:
        for student in HAND_INS:
            for task, (notebook, _) in TASKS.items():
                grade = gradebook.find_grade(task, notebook, ASSIGNMENT, student)
                said = gradebook.find_comment(task, notebook, ASSIGNMENT, student)
                found[student, task] = (
                    grade.manual_score,
                    grade.needs_manual_grade,
                    said.manual_comment,
                )
    return found


def expected_total(run: GradeRun, student: str) -> float:
    record = load_records(run.folder)[student]
    raw = record.autograded_score + 17 * SHARE[student]
    return round(raw - round(raw * PERCENT[student] / 100, 2), 2)


# ---- the scores survive ----------------------------------------------------------------------


def test_a_forced_regrade_grades_everyone_again_and_keeps_every_score_and_comment(run, graded):
    first, again, after_import, _ = graded
    assert (
        sorted(r.student for r in first.records)
        == sorted(r.student for r in again.records)
        == sorted(HAND_INS)
    )
    assert again.skipped == []
    expected = {
        (s, t): (TASKS[t][1] * SHARE[s], False, comment(s, t)) for s in HAND_INS for t in TASKS
    }
    assert after_import == expected
    assert _snapshot(run) == expected


def test_the_records_total_includes_the_tas_points_and_says_where_the_hand_in_time_came_from(
    run, graded
):
    records = load_records(run.folder)
    for student in HAND_INS:
        record = records[student]
        assert record.score == pytest.approx(record.autograded_score + 17 * SHARE[student])
    assert any(
        "handed in 2026-11-22 05:59 UTC (from timestamp.txt)" in n for n in records["lea"].notes
    )
    assert any("(from the file's time; no timestamp.txt)" in n for n in records["ned"].notes)


def test_grades_csv_and_grades_lms_csv_carry_the_tas_points_and_the_penalty(run, graded):
    lms = {row["student_id"]: row for row in csv.DictReader(run.folder.lms_csv.open())}
    nbgrader = {row["student_id"]: row for row in csv.DictReader(run.folder.nbgrader_csv.open())}
    for student in HAND_INS:
        assert float(lms[student]["total"]) == pytest.approx(expected_total(run, student)), student
        assert float(nbgrader[student]["score"]) == pytest.approx(expected_total(run, student))
        assert float(lms[student]["points_by_tas"]) == 17 * SHARE[student]
        assert lms[student]["answers_to_grade"] == "0"
        assert float(lms[student]["late_penalty_percent"]) == PERCENT[student]
    assert lms["lea"]["late_days"] == "2" and lms["max"]["late_note"].startswith("extension to")
    assert lms["ned"]["needs_review"] == "yes" and "no late penalty" in lms["ned"]["late_note"]


@pytest.mark.parametrize("lms", ["canvas", "moodle"])
def test_the_lms_files_get_the_totals_after_the_penalty(run, graded, lms, capsys):
    _, _, _, work = graded
    roster = work / f"{lms}.csv"
    if lms == "canvas":
        roster.write_text(
            "Student,ID,SIS User ID,SIS Login ID,Section,cnn (3)\n    Points Possible,,,,,40\n"
            + "".join(f"{s.title()},{20 + i},S{i},{s},A,\n" for i, s in enumerate(HAND_INS))
        )
    else:
        roster.write_text(
            "Identifier,Full name,Email address,Status,Grade,Maximum Grade\n"
            + "".join(
                f"Participant {70 + i},{s.title()},{s}@u.example,Submitted,,40\n"
                for i, s in enumerate(HAND_INS)
            )
        )
    assert coursekit(run, "grades", "export", "cnn", "--lms", lms, "--roster", str(roster)) == 0
    assert "1 written but marked for a TA's review: Ned" in capsys.readouterr().out
    rows = list(csv.reader(run.folder.lms_file(lms).read_text().splitlines()))
    grade_at = -1 if lms == "canvas" else rows[0].index("Grade")
    body = rows[2:] if lms == "canvas" else rows[1:]
    totals = {row[0] if lms == "canvas" else row[1]: float(row[grade_at]) for row in body}
    assert totals == {s.title(): pytest.approx(expected_total(run, s)) for s in HAND_INS}


def test_each_feedback_page_shows_every_answers_score_and_comment_and_the_late_notice(run, graded):
    for student in HAND_INS:
        for notebook in (PART1, PART2):
            page = (run.layout.feedback(student, ASSIGNMENT) / f"{notebook}.html").read_text()
            for task, (where, points) in TASKS.items():
                if where != notebook:
                    continue
                shown = page[page.index(f'name="{task}"') :][:4000]
                assert f"Score: {points * SHARE[student]:.1f} / {points:.1f}" in shown, (
                    student,
                    task,
                )
                assert comment(student, task) in shown, (student, task)
            assert ("Handed in 2 days late: \u221220 %" in page) is (student == "lea")


def test_the_ta_page_shows_the_curve_the_student_handed_in(graded):
    _, _, _, work = graded
    page = (work / "pages" / f"cnn-{PART1}-answer_overfitting.html").read_text()
    assert f"data:image/png;base64,{picture(7)}" in page  # the grader's fast run has another
    assert answer("lea", "answer_overfitting") in page
