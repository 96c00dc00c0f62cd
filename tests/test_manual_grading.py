"""Grading the written answers: the TA's page, the scores file, the history, every output.

The class is built in place (tests/graded_class.py): a released course whose gradebook,
records and notebooks say what grading would. A TA's page is opened and filled in a
real browser, its download imported; bad files are refused whole; every change is kept
with who, when, old and new; two TAs importing at once keep both; and the scores reach
grades.csv, grades_lms.csv, the Canvas and Moodle files and the feedback pages.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from graded_class import (
    ASSIGNMENT,
    PART1,
    TASKS,
    Student,
    build_class,
    default_answer,
    picture,
    scores_csv,
)

from autograder.grading.lms.export import grade_file
from autograder.grading.lms.roster import read_roster
from autograder.grading.manual.answers import (
    HANDED_IN,
    REFERS_TO,
    answer_digest,
    manual_tasks,
)
from autograder.grading.manual.pages import write_pages
from autograder.grading.manual.progress import grading_progress
from autograder.grading.manual.scorefile import ScoreFileError, import_scores
from autograder.grading.manual.store import read_history, sync_gradebook
from autograder.grading.pipeline.exports import student_grades
from autograder.grading.pipeline.finish import refresh
from autograder.grading.pipeline.records import load_records
from conftest import REPO, released_course

# A graded class made with nbgrader (gradebook, autograded and feedback folders) per module.
pytestmark = pytest.mark.integration

ARTIFACTS = Path(os.environ.get("COURSEKIT_TEST_ARTIFACTS", REPO / "test-artifacts"))
AUTOGRADED = 40 - 17  # the tests' points; the TAs have the other 17
HOSTILE = 'It overfits <script>alert("x")</script><img src=x onerror=alert(1)> after epoch 6.'
CLASS = {
    "ada": Student(),
    "ben": Student(failed=("test_f1", "test_f1_hidden")),
    "cy": Student(answers={"answer_relu": None}),  # left the placeholder
    "eve": Student(answers={"answer_overfitting": HOSTILE}),
}


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    return released_course(tmp_path_factory.mktemp("manual-course"))


@pytest.fixture
def run(released, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(released, course)
    return build_class(course, CLASS)


def digest(student: str, task: str) -> str:
    return answer_digest(CLASS[student].answers.get(task, default_answer(student, task)))


def grade_of(run, student: str, task: str):
    from nbgrader.api import Gradebook

    with Gradebook(run.gradebook_url) as gradebook:
        grade = gradebook.find_grade(task, TASKS[task][0], ASSIGNMENT, student)
        comment = gradebook.find_comment(task, TASKS[task][0], ASSIGNMENT, student)
        return grade.manual_score, grade.needs_manual_grade, comment.manual_comment


def good_row(student="ada", task="answer_overfitting", score="2", comment="Good."):
    return {"student": student, "task": task, "score": score, "comment": comment,
            "based_on": digest(student, task)}  # fmt: skip


# ---- what a TA grades ------------------------------------------------------------------


def test_the_tasks_graded_by_hand_are_the_six_written_answers_with_their_rubrics(run):
    tasks = manual_tasks(run.layout, ASSIGNMENT, run.gradebook_url)
    assert {task.name: (task.notebook, task.max_score) for task in tasks} == TASKS
    assert sum(task.max_score for task in tasks) == 17
    assert tasks[0].title == "Task 1.5 · Overfitting (2 points)"
    assert "Rubric (2 points)" in tasks[0].rubric and "training history" in tasks[0].prompt


def test_each_task_refers_to_code_cells_its_notebook_has(released):
    for task, starts in REFERS_TO.items():
        notebook = json.loads(
            (released / "source" / ASSIGNMENT / f"{TASKS[task][0]}.ipynb").read_text()
        )
        code = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
        for start in starts:
            assert any(source.startswith(start) for source in code), (task, start)


def test_a_page_shows_the_rubric_and_each_answer_beside_the_students_own_outputs(run, tmp_path):
    (page,) = write_pages(run, tmp_path / "pages", "ana", ["answer_overfitting"])
    text = page.read_text()
    assert page.name == "cnn-1_lenet5_mnist-answer_overfitting.html"
    assert "Rubric (2 points)" in text and "Task 1.5 · Overfitting" in text
    for student in CLASS:
        assert f'data-student="{student}"' in text
        # the curve in the notebook as handed in, not the grader's re-run (which has none)
        assert f"data:image/png;base64,{picture(len(student))}" in text
    assert "failed: test_f1, test_f1_hidden" in text  # ben's autograded results, for context
    assert f'data-based-on="{digest("ada", "answer_overfitting")}"' in text


def test_a_students_answer_cannot_run_anything_on_the_page(run, tmp_path):
    (page,) = write_pages(run, tmp_path / "pages", "", ["answer_overfitting"])
    text = page.read_text()
    assert text.count("<script") == 1 and 'alert("x")' not in text and "onerror" not in text
    policy = re.search(r'Content-Security-Policy" content="([^"]+)"', text)[1]
    assert "default-src 'none'" in policy and "script-src 'sha256-" in policy


def test_a_student_who_left_the_placeholder_is_listed_and_not_asked_for(run, tmp_path):
    (page,) = write_pages(run, tmp_path / "pages", "", ["answer_relu"])
    text = page.read_text()
    assert 'data-student="cy"' not in text
    assert re.search(r"No answer to grade.*cy", text, re.S)


def test_an_unknown_task_for_the_pages_is_named(run, tmp_path):
    with pytest.raises(ValueError, match="no task 'answer_nope' in cnn"):
        write_pages(run, tmp_path / "pages", "", ["answer_nope"])


# ---- the browser: score, download, import --------------------------------------------------


@pytest.mark.integration
def test_a_ta_scores_in_the_browser_and_the_download_imports(run, tmp_path):
    from playwright.sync_api import sync_playwright

    from utilities.handin import find_chromium

    (page,) = write_pages(run, tmp_path / "pages", "ana", ["answer_overfitting"])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    requests, errors = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        context = browser.new_context(
            viewport={"width": 1280, "height": 1100}, accept_downloads=True
        )
        context.route("**/*", lambda r: (requests.append(r.request.url), r.continue_()))
        view = context.new_page()
        view.on("pageerror", lambda error: errors.append(str(error)))
        view.goto(page.as_uri())
        answers = view.locator("article.answer")
        answers.nth(0).locator("input.score").fill("2")
        answers.nth(0).locator("textarea.comment").fill("Good: you point at epoch 6.")
        answers.nth(1).locator("input.score").fill("3")  # over the maximum: refused
        view.click("#download")
        refused = view.inner_text("#message")
        answers.nth(1).locator("input.score").fill("1.5")
        answers.nth(1).locator("textarea.comment").fill("=1+1 and no remedy")
        with view.expect_download() as download:
            view.click("#download")
        scores = tmp_path / download.value.suggested_filename
        download.value.save_as(scores)
        counted = view.inner_text("#count")
        view.evaluate("window.scrollTo(0, 0)")
        view.screenshot(path=ARTIFACTS / "ta-review-page.png")
        view.reload()
        kept = answers.nth(1).locator("input.score").input_value()  # a draft survives a reload
        browser.close()
    assert set(requests) == {page.as_uri()} and errors == []  # nothing leaves the page
    assert "ben: a score from 0 to 2" in refused
    assert counted == "2 of 4 scored" and kept == "1.5"
    assert scores.name == "scores-cnn-answer_overfitting-ana.csv"
    imported = import_scores(run, scores)
    assert [(c.student, c.new, c.comment) for c in imported.changes] == [
        ("ada", 2.0, "Good: you point at epoch 6."),
        ("ben", 1.5, "=1+1 and no remedy"),  # a formula guard on the way, gone on the way in
    ]
    assert grade_of(run, "ada", "answer_overfitting") == (2.0, False, "Good: you point at epoch 6.")


# ---- a file is checked whole ---------------------------------------------------------------


RELU = f"{PART1}/answer_relu"
BAD = {
    "over the maximum": ({"task": "answer_relu", "score": "3"}, f"3 is over {RELU}'s maximum of 2"),
    "negative": ({"score": "-0.5"}, "the score -0.5 is below 0"),
    "not a number": ({"score": "two"}, "the score 'two' is not a number"),
    "a comment alone": ({"score": "", "comment": "see me"}, "a comment without a score"),
    "unknown student": ({"student": "zed"}, "unknown student 'zed': no submission for cnn"),
    "unknown task": ({"notebook": "part9"}, "unknown task 'part9/answer_overfitting'"),
    "stale": ({"based_on": "0" * 16}, "ben's answer to 1_lenet5_mnist/answer_overfitting is not"),
    "another assignment": ({"assignment": "rnn"}, "scores for assignment 'rnn', expected 'cnn'"),
    "a second TA": ({"ta": "bob"}, "graded by 'bob', row 2 by 'ana': one TA a file"),
    "a second row for one answer": ({"student": "ada"}, "a second score for ada's"),
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_row_refuses_the_whole_file_and_names_it(run, tmp_path, case):
    change, message = BAD[case]
    bad = {**good_row("ben"), **change}
    if "student" in change and "based_on" not in change and change["student"] in CLASS:
        bad["based_on"] = digest(change["student"], bad["task"])
    path = scores_csv(tmp_path / "scores.csv", [good_row(), bad])
    before = _state(run)
    with pytest.raises(ScoreFileError) as refused:
        import_scores(run, path)
    assert str(refused.value).startswith(f"{path}, row 3: ") and message in str(refused.value)
    assert str(refused.value).endswith("; nothing was imported") and "\n" not in str(refused.value)
    assert _state(run) == before  # nothing half-written: no history, the gradebook as it was


def test_a_file_that_is_no_scores_file_or_graded_by_someone_else_is_refused(run, tmp_path):
    wrong = tmp_path / "roster.csv"
    wrong.write_text("student,points\nada,2\n")
    with pytest.raises(ScoreFileError, match=r"row 1: expected the columns assignment, notebook"):
        import_scores(run, wrong)
    path = scores_csv(tmp_path / "scores.csv", [good_row()])
    with pytest.raises(ScoreFileError, match=r"row 2: graded by 'ana', but --ta says 'ben'"):
        import_scores(run, path, ta="ben")
    assert not (run.folder.manual_scores / "history").exists()


def _state(run) -> tuple:
    history = run.folder.manual_scores / "history"
    files = sorted((p.name, p.read_bytes()) for p in history.glob("*")) if history.exists() else []
    grades = tuple(
        grade_of(run, s, t) for s in CLASS for t in ("answer_overfitting", "answer_relu")
    )
    return files, grades


# ---- the history: who, when, old and new ---------------------------------------------------


def test_every_change_is_kept_with_who_when_old_and_new(run, tmp_path):
    import_scores(run, scores_csv(tmp_path / "a.csv", [good_row(score="2")], ta="ana"))
    import_scores(
        run, scores_csv(tmp_path / "b.csv", [good_row(score="1.5", comment="Less.")], ta="bo")
    )
    first, second = read_history(run.folder)
    assert (first.ta, first.old, first.new) == ("ana", None, 2.0)
    assert (second.ta, second.old, second.new, second.comment) == ("bo", 2.0, 1.5, "Less.")
    assert first.at < second.at and second.source == "b.csv:2" and second.by
    assert sorted(p.name for p in (run.folder.manual_scores / "history").iterdir()) == [
        "ana.jsonl",
        "bo.jsonl",
    ]
    assert grade_of(run, "ada", "answer_overfitting") == (1.5, False, "Less.")
    again = scores_csv(tmp_path / "b.csv", [good_row(score="1.5", comment="Less.")], ta="bo")
    assert import_scores(run, again).unchanged == 1  # a file imported twice changes nothing
    line = (run.folder.manual_scores / "history" / "ana.jsonl").read_text().splitlines()[0]
    assert {"at", "ta", "student", "task", "old", "new", "comment", "based_on"} <= set(
        json.loads(line)
    )


@pytest.mark.integration
def test_two_tas_importing_at_once_keep_each_others_scores(run, tmp_path):
    files = []
    for ta, task in (("ana", "answer_overfitting"), ("bo", "answer_by_hand")):
        rows = [good_row(s, task, "1") for s in CLASS if not (s == "cy" and task == "answer_relu")]
        files.append(scores_csv(tmp_path / f"{ta}.csv", rows, ta=ta))
    script = (
        "import sys; sys.path[:0] = ['tests', '.']\n"
        "from graded_class import run_for\n"
        "from autograder.grading.manual.scorefile import import_scores\n"
        "import_scores(run_for(sys.argv[1]), sys.argv[2])\n"
    )
    workers = [
        subprocess.Popen([sys.executable, "-c", script, str(run.layout.root), str(f)], cwd=REPO)
        for f in files
    ]
    assert [worker.wait(timeout=120) for worker in workers] == [0, 0]
    history = read_history(run.folder)
    assert sorted((c.ta, c.task) for c in history) == sorted(
        [("ana", "answer_overfitting")] * 4 + [("bo", "answer_by_hand")] * 4
    )
    assert all(
        grade_of(run, s, t)[0] == 1.0
        for s in CLASS
        for t in ("answer_overfitting", "answer_by_hand")
    )


# ---- progress and changed answers --------------------------------------------------------


def test_progress_counts_per_task_and_per_ta(run, tmp_path):
    import_scores(run, scores_csv(tmp_path / "a.csv", [good_row("ada"), good_row("ben")], ta="ana"))
    import_scores(
        run, scores_csv(tmp_path / "b.csv", [good_row("ada", "answer_relu", "1")], ta="bo")
    )
    progress = grading_progress(run)
    rows = {row.task.name: row for row in progress.tasks}
    assert (rows["answer_overfitting"].graded, rows["answer_overfitting"].to_grade) == (2, 2)
    assert (
        rows["answer_relu"].graded,
        rows["answer_relu"].to_grade,
        rows["answer_relu"].no_answer,
    ) == (1, 2, 1)
    assert progress.by_ta == {"ana": 2, "bo": 1}
    assert progress.waiting == 4 * 6 - 1 - 3  # cy left one placeholder; three are graded
    assert progress.lines()[0] == "Written answers: 20 of 23 still to grade (6 tasks, 4 students)"


def test_an_answer_changed_since_it_was_graded_keeps_its_score_and_waits_for_a_ta(run, tmp_path):
    import_scores(run, scores_csv(tmp_path / "a.csv", [good_row("ada")]))
    kept = run.folder.manual_scores / HANDED_IN / "ada" / f"{PART1}.ipynb"
    kept.write_text(kept.read_text().replace(default_answer("ada", "answer_overfitting"), "New!"))
    sync_gradebook(run, ["ada"])  # what a regrade does (store.reapply)
    assert grade_of(run, "ada", "answer_overfitting") == (2.0, True, "Good.")
    assert {r.task.name: r.changed for r in grading_progress(run).tasks}["answer_overfitting"] == 1
    (page,) = write_pages(run, tmp_path / "pages", "", ["answer_overfitting"])
    assert "changed since ana gave 2" in page.read_text()
    with pytest.raises(ScoreFileError, match="is not the one this file was graded on"):
        import_scores(run, scores_csv(tmp_path / "a.csv", [good_row("ada", score="1")]))


# ---- every output ------------------------------------------------------------------------------


def test_the_scores_reach_the_grade_files_the_lms_files_and_the_feedback(run, tmp_path):
    import_scores(
        run,
        scores_csv(
            tmp_path / "a.csv",
            [
                good_row("ada", comment="Good: epoch 6."),
                good_row("ben", score="0.5", comment="Thin."),
            ],
        ),
    )
    problems = refresh(run, ["ada", "ben"])
    assert problems == []
    records = load_records(run.folder)
    lms = {row["student_id"]: row for row in csv.DictReader(run.folder.lms_csv.open())}
    assert float(lms["ada"]["total"]) == AUTOGRADED + 2 == records["ada"].score
    assert float(lms["ben"]["total"]) == AUTOGRADED - 4 + 0.5 == records["ben"].score
    assert (lms["ada"]["points_by_tas"], lms["ada"]["answers_to_grade"]) == ("2", "5")
    nbgrader = {row["student_id"]: row for row in csv.DictReader(run.folder.nbgrader_csv.open())}
    assert float(nbgrader["ada"]["score"]) == 25
    canvas, moodle = _rosters(tmp_path)
    grades = student_grades(run.layout, ASSIGNMENT, records.values())
    canvas_rows = list(csv.reader(grade_file(grades, canvas, ASSIGNMENT).text.splitlines()))
    assert {row[0]: row[-1] for row in canvas_rows[2:]} == {
        "Ada": "25",
        "Ben": "19.5",
        "Cy": "23",
        "Eve": "23",
    }
    moodle_rows = list(csv.DictReader(grade_file(grades, moodle, ASSIGNMENT).text.splitlines()))
    assert {row["Full name"]: row["Grade"] for row in moodle_rows}["Ben"] == "19.5"
    page = (run.layout.feedback("ben", ASSIGNMENT) / f"{PART1}.html").read_text()
    answer = page[page.index('name="answer_overfitting"') :][:3000]
    assert "Score: 0.5 / 2.0" in answer and "Thin." in answer


def _rosters(tmp_path: Path):
    canvas = tmp_path / "canvas.csv"
    canvas.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section,cnn (7)\n    Points Possible,,,,,40\n"
        + "".join(f"{s.title()},{100 + i},S{i},{s},A,\n" for i, s in enumerate(CLASS))
    )
    moodle = tmp_path / "worksheet.csv"
    moodle.write_text(
        "Identifier,Full name,Email address,Status,Grade,Maximum Grade\n"
        + "".join(
            f"Participant {500 + i},{s.title()},{s}@uni.example,Submitted,,40\n"
            for i, s in enumerate(CLASS)
        )
    )
    return read_roster(canvas), read_roster(moodle)


def test_the_class_report_counts_the_tas_scores(run, tmp_path):
    from autograder.cli.main import main

    rows = [good_row("ada", score="2"), good_row("ben", score="1.5")]
    import_scores(run, scores_csv(tmp_path / "a.csv", rows))
    out = tmp_path / "report"
    assert main(["report", "cnn", "--course-root", str(run.layout.root), "--out", str(out)]) == 0
    with open(out / "class_report.csv", newline="") as stream:
        found = {
            r["statistic"]: r["value"]
            for r in csv.DictReader(stream)
            if r["name"] == f"{PART1}/answer_overfitting"
        }
    assert (found["kind"], found["mean"], found["students"]) == ("manual", "1.75", "2")
    assert found["waiting for a grader"] == "2"
