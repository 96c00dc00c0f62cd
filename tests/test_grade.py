"""`coursekit grade` end to end: the whole demo class, real nbgrader, real sandboxes.

The demo class (autograder/demo/democlass.py) says for each student which tests
must fail, the status, and whether a TA must review it. Everything here is
asserted against that, against the gradebook, and against the host: no attack
may read, write or connect anywhere, and no feedback may show a hidden test.
"""

from __future__ import annotations

import csv
import hashlib
import html
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from autograder.course.folder import cell_grades
from autograder.demo.democlass import (
    PART1,
    PART1_TESTS,
    PART2_TESTS,
    default_targets,
    make_demo_class,
)
from autograder.demo.democlass import students as demo_students
from autograder.grading.pipeline.feedback import hidden_lines
from autograder.grading.pipeline.grade import (
    LMS_CSV,
    NBGRADER_CSV,
    GradeSettings,
    grade_class,
    load_records,
)
from autograder.grading.sandbox import SandboxLimits
from conftest import released_course
from utilities.data import default_cache_dir, fetch_dataset

pytestmark = pytest.mark.slow

ATTACKERS = ("xnet", "xread", "xwrite", "xfork")
# `make test` grades one student of each kind (correct, wrong, broken file, missing notebook),
# the attacks on the host and on the feedback (network, files, processes, leaking hidden
# tests) and one attack on the interpreter that a TA must review (a trace hook). The other
# attacks on the interpreter (IPython hooks, a patched run_cell or assert, a model whose
# __eq__ lies, sys.exit) have their own hostile notebooks in tests/test_integrity.py,
# test_sandbox.py and test_checks.py, run in the same sandbox and guard.
# COURSEKIT_TEST_FULL_CLASS=1 grades all 33 against their stated expectations (about 25 min).
COHORT = ("ada", "eve", "finn", "olga", "uma", *ATTACKERS, "xtrace", "xleak")
FULL_CLASS = os.environ.get("COURSEKIT_TEST_FULL_CLASS") == "1"
STUDENTS = sorted(s.id for s in demo_students({}) if FULL_CLASS or s.id in COHORT)
# Writing to /tmp works, but into the kernel's private /tmp, which is gone afterwards.
PRIVATE_WRITES = {("xwrite", "write /tmp")}
LIMITS = SandboxLimits(cell_timeout=60, notebook_timeout=600)


class Listener:
    """A TCP server on the host's loopback that records every connection."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.5)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                connection, _ = self.server.accept()
                self.connections += 1
                connection.close()
            except OSError:
                continue

    def stop(self):
        self.running = False
        self.thread.join()
        self.server.close()


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return released_course(tmp_path_factory.mktemp("graded-course"))


@pytest.fixture(scope="module")
def listener():
    server = Listener()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def demo(course, course_build, tmp_path_factory, listener):
    out = tmp_path_factory.mktemp("demo")
    targets = default_targets(course, course_build.answer_key, out / "submitted")
    targets["write:/tmp"] = f"/tmp/coursekit-test-pwned-{os.getpid()}"
    targets["port"] = str(listener.port)
    make_demo_class(course, course_build.answer_key, out, targets)
    for folder in (out / "submitted").iterdir():
        if folder.name not in STUDENTS:
            shutil.rmtree(folder)
    expected = json.loads((out / "expected.json").read_text())
    return out, expected, targets


@pytest.fixture(scope="module")
def protected(course):
    """Files the attacks try to change, with their digests before grading."""
    import utilities

    paths = [course / "nbgrader_config.py", Path(utilities.__file__).resolve()]
    return {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in paths}


@pytest.fixture(scope="module")
def settings(course, demo, course_build):
    fetch_dataset("mnist", cache_dir=default_cache_dir())
    return GradeSettings(
        assignment="cnn",
        submissions=demo[0] / "submitted",
        course_root=course,
        dataset_file=course_build.student_file,
        cache_dir=default_cache_dir(),
        workers=2,
        limits=LIMITS,
        progress=False,
    )


@pytest.fixture(scope="module")
def report(settings, protected):
    return grade_class(settings)


@pytest.fixture(scope="module")
def records(report):
    return {record.student: record for record in report.records}


def test_every_student_of_the_demo_class_has_a_record(report, records):
    assert sorted(records) == sorted(STUDENTS)
    assert report.unmapped == []
    assert report.skipped == []
    saved = load_records(report.grading_dir)
    assert sorted(saved) == sorted(STUDENTS)
    for student in STUDENTS:
        assert Path(saved[student].log).is_file()


@pytest.mark.parametrize("student", STUDENTS)
def test_exactly_the_expected_tests_fail(records, demo, student):
    expected = demo[1][student]
    record = records[student]
    failed = sorted(t for n in record.notebooks.values() for t in n["tests_failed"])
    assert failed == sorted(expected["failed"]), record.problems
    points = {**dict.fromkeys(PART1_TESTS, 0), **dict.fromkeys(PART2_TESTS, 0)}
    assert set(failed) <= set(points)
    assert record.autograded_max == 26


@pytest.mark.parametrize("student", STUDENTS)
def test_status_review_and_problems_are_as_expected(records, demo, student):
    expected = demo[1][student]
    record = records[student]
    assert record.status == expected["status"], record.problems
    assert record.needs_review == expected["review"], record.review
    for words in expected["problems"]:
        assert any(words in problem for problem in record.problems), (words, record.problems)
    if expected["status"] == "graded":
        assert record.problems == [] or all("was graded as" in p for p in record.problems)


def test_scores_in_the_gradebook_match_the_records(course, records):
    for student, record in records.items():
        grades = cell_grades(course, "cnn", student)
        autograded = sum(g.score for g in grades if g.cell_type == "code")
        assert autograded == pytest.approx(record.autograded_score), student
        failed = sorted(g.cell for g in grades if g.cell_type == "code" and not g.passed)
        recorded = sorted(t for n in record.notebooks.values() for t in n["tests_failed"])
        if record.is_held:  # every autograded cell stands at 0 until a TA releases it
            assert autograded == 0 and record.held_scores, student
            assert set(recorded) <= set(failed), student
        else:
            assert failed == recorded, student


def test_points_held_for_review_count_only_once_a_ta_releases_them(course, records, settings):
    held = sorted(student for student, record in records.items() if record.is_held)
    assert held == [s for s in ("xassert", "xhook", "xleak", "xrun", "xtrace") if s in STUDENTS]
    rows = {row["student_id"]: row for row in _lms_rows(settings)}
    assert rows["xtrace"]["status"] == "held for review"
    assert float(rows["xtrace"]["total"]) == 0
    listing = _coursekit("review", "cnn", "--course-root", str(course))
    assert "xtrace (held)" in listing.stdout, listing.stdout
    released = _coursekit(
        "review", "cnn", "--release", "xtrace", "--by", "ta", "--course-root", str(course)
    )
    assert released.returncode == 0, released.stderr
    record = load_records(settings.course_root / "grading" / "cnn")["xtrace"]
    assert record.status == "graded with problems" and record.released_by == "ta"
    assert record.autograded_score == 16 - 2 - 3  # Part 1 but the wrong LeNet5's two tests
    grades = cell_grades(course, "cnn", "xtrace")
    assert sum(g.score for g in grades if g.cell_type == "code") == record.autograded_score
    rows = {row["student_id"]: row for row in _lms_rows(settings)}
    assert float(rows["xtrace"]["total"]) == pytest.approx(record.score)
    again = _coursekit("review", "cnn", "--release", "xtrace", "--course-root", str(course))
    assert again.returncode == 1 and "nothing is held" in again.stderr


def test_no_student_can_flood_the_grading_log(records):
    log = Path(records["xwrite"].log).read_text()
    assert len(log) < 2 * 1024**2
    assert log.count("LOGFLOOD") * len("LOGFLOOD ") <= 2 * 64 * 1024  # the kernel output cap


def _lms_rows(settings):
    path = settings.course_root / "grading" / "cnn" / LMS_CSV
    return list(csv.DictReader(path.read_text().splitlines()))


def _coursekit(*arguments):
    return subprocess.run(
        [str(Path(sys.executable).parent / "coursekit"), *arguments],
        capture_output=True,
        text=True,
    )


def test_a_correct_student_earns_every_autograded_point_and_a_wrong_one_the_rest(records):
    assert records["ada"].autograded_score == 26
    assert records["finn"].autograded_score == 26 - 2 - 3  # parameters and layers tests


def test_a_wrong_lenet5_is_told_its_parameter_count_and_its_first_wrong_layer(course, records):
    notebook = nbformat.read(course / "autograded" / "finn" / "cnn" / f"{PART1}.ipynb", 4)
    errors = {
        cell.metadata["nbgrader"]["grade_id"]: f"{output['ename']}: {output['evalue']}"
        for cell in notebook.cells
        if "nbgrader" in cell.metadata
        for output in cell.get("outputs", [])
        if output["output_type"] == "error"
    }
    assert sorted(errors) == ["test_lenet5_layers", "test_lenet5_parameters"]
    assert errors["test_lenet5_parameters"] == (
        "AssertionError: the model has 44,426 trainable parameters, expected 61,706"
    )
    assert errors["test_lenet5_layers"].startswith(
        "AssertionError: the layers do not match the specification:\n"
        "  layer 1 (Conv2D): output shape (None, 24, 24, 6), expected (None, 28, 28, 6)"
    )


def test_no_attack_got_through(course, demo, listener, protected):
    _, _, targets = demo
    attempts = {}
    for student in ATTACKERS:
        notebook = nbformat.read(course / "autograded" / student / "cnn" / f"{PART1}.ipynb", 4)
        for cell in notebook.cells:
            for output in cell.get("outputs", []):
                for line in output.get("text", "").splitlines():
                    match = re.match(r"ATTACK (.+): (blocked|SUCCEEDED)", line)
                    if match:
                        attempts[(student, match[1])] = match[2]
    assert attempts, "the attack notebooks printed no verdicts"
    got_through = {key for key, verdict in attempts.items() if verdict != "blocked"}
    assert got_through == PRIVATE_WRITES, attempts
    labels = [label.split(":", 1)[1] for label in targets if ":" in label]
    for label in labels:
        assert any(name.endswith(label) for _, name in attempts), f"no attempt on {label}"
    assert listener.connections == 0
    assert not Path(targets["write:/tmp"]).exists()
    for path, digest in protected.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, path


def test_feedback_never_shows_a_hidden_test(course, records):
    secret = set()
    for source in (course / "source" / "cnn").glob("*.ipynb"):
        secret |= hidden_lines(nbformat.read(source, 4).cells)
    assert len(secret) > 10
    pages = sorted((course / "feedback").glob("*/cnn/*.html"))
    assert len(pages) >= len(records)  # one page per notebook graded
    for page in pages:
        text = html.unescape(page.read_text())
        leaked = [line for line in secret if line in text]
        assert leaked == [], (page, leaked[:3])
    xleak = html.unescape((course / "feedback" / "xleak" / "cnn" / f"{PART1}.html").read_text())
    assert "CELL SOURCE:" in xleak  # the attack ran; tests never pass through run_cell


def test_grades_are_exported_for_the_lms_and_in_nbgrader_format(report):
    records = load_records(report.grading_dir)  # as stored now: a TA may have released points
    rows = list(csv.DictReader(report.lms_csv.read_text().splitlines()))
    assert [row["student_id"] for row in rows] == sorted(STUDENTS)
    assert list(rows[0]) == [
        "student_id",
        "total",
        "max_total",
        "points_1_lenet5_mnist",
        "points_2_fashion_cnn",
        "cells_to_grade_by_hand",
        "status",
        "needs_review",
    ]
    for row in rows:
        record = records[row["student_id"]]
        assert float(row["total"]) == pytest.approx(record.score)
        assert float(row["max_total"]) == 40
        parts = float(row["points_1_lenet5_mnist"]) + float(row["points_2_fashion_cnn"])
        assert parts == pytest.approx(record.score)
        assert row["status"] == record.status
    nbgrader_rows = list(csv.DictReader(report.nbgrader_csv.read_text().splitlines()))
    assert {row["student_id"] for row in nbgrader_rows} == set(STUDENTS)
    assert report.nbgrader_csv.name == NBGRADER_CSV and report.lms_csv.name == LMS_CSV


def test_a_rerun_grades_only_new_or_changed_submissions(settings, report, demo):
    again = grade_class(settings)
    assert again.records == [] and sorted(again.skipped) == sorted(STUDENTS)
    path = demo[0] / "submitted" / "uma" / "cnn" / f"{PART1}.ipynb"
    notebook = nbformat.read(path, 4)
    notebook.cells.append(nbformat.v4.new_markdown_cell("One more thought."))
    nbformat.write(notebook, path)
    changed = grade_class(settings)
    assert [record.student for record in changed.records] == ["uma"]
    assert changed.records[0].autograded_score == 16  # Part 1 only, all of it right


def test_a_kill_in_the_middle_loses_nothing(settings, course, report, demo, tmp_path):
    """Kill a forced regrade mid-way; gradebook, records and folders must still agree.

    The regrade is of two students who hand in one notebook each (uma Part 1, olga a
    readable Part 2), so that the first record is rewritten, and the kill lands while
    the other is still being graded, in seconds rather than minutes.
    """
    submissions = tmp_path / "submitted"
    for student in ("uma", "olga"):
        shutil.copytree(settings.submissions / student, submissions / student)
    command = [
        sys.executable,
        "-m",
        "autograder.cli",
        "grade",
        "cnn",
        "--submissions",
        str(submissions),
        "--course-root",
        str(course),
        "--course-data",
        str(Path(settings.dataset_file).parents[1]),
        "--force",
        "--no-progress",
        "--workers",
        "2",
        "--cell-timeout",
        "60",
    ]
    records_dir = report.grading_dir / "records"
    before = {p.name: p.stat().st_mtime for p in records_dir.glob("*.json")}
    process = subprocess.Popen(
        command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        rewritten = [p for p in records_dir.glob("*.json") if p.stat().st_mtime > before[p.name]]
        if rewritten:
            break
        time.sleep(1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert rewritten, "the regrade wrote no record within 5 minutes"
    leftovers = [p for p in (course / "autograded").rglob(".*")] + [
        p for p in (course / "feedback").rglob(".*")
    ]
    assert leftovers == []
    for student, record in load_records(report.grading_dir).items():
        grades = cell_grades(course, "cnn", student)
        autograded = sum(g.score for g in grades if g.cell_type == "code")
        assert autograded == pytest.approx(record.autograded_score), student


def test_after_the_deadline_teams_that_beat_beat_me_earn_leaderboard_points_in_the_grades(
    demo, course_build, course, settings, report
):
    """The demo's rounds, then a run after the deadline; grades_lms.csv joins on TEAM_NAME."""
    from autograder.grading.pipeline.grade import export_grades
    from autograder.leaderboard.points import LEADERBOARD_POINTS

    common = ["--course-data", str(course_build.student_file.parents[1])]
    common += ["--course-root", str(course), "--deadline", "2026-11-13T00:00"]
    rounds = _coursekit(
        "leaderboard", "cnn", "--submissions", str(demo[0] / "leaderboard"), "--replay", *common
    )
    assert rounds.returncode == 0, rounds.stderr
    assert not (course / "leaderboard" / "cnn" / "final.csv").exists()  # not closed yet
    closing = _coursekit("leaderboard", "cnn", *common)
    assert closing.returncode == 0 and "private (final) view" in closing.stdout, closing.stderr
    export_grades(settings, report.grading_dir)
    rows = {row["student_id"]: row for row in _lms_rows(settings)}
    records = load_records(report.grading_dir)
    assert float(rows["ada"]["leaderboard_points"]) == LEADERBOARD_POINTS  # 93 % beats BEAT ME
    assert rows["ada"]["team"] == "ada"
    assert float(rows["ada"]["total"]) == pytest.approx(records["ada"].score + LEADERBOARD_POINTS)
    assert float(rows["ada"]["max_total"]) == 40 + LEADERBOARD_POINTS
    assert float(rows["uma"]["leaderboard_points"]) == 0  # uploaded nothing, no Part 2 either
    assert rows["uma"]["leaderboard_note"]
