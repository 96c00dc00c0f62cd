"""`coursekit grade` on the demo class: every student graded as the demo class says.

The demo class (autograder/demo/democlass.py) is made of zoo variants,
attacks and broken files; ``expected.json`` says for each student which tests
fail (with words their messages contain), its status, and whether a TA must
review it. `make test` grades a cohort: five students made of 10 zoo
variants (the correct subclassed Fashion CNN with dropout and a ``call`` with
``training`` among them), so the zoo's fast harness and the grader must
agree; the attacks on the host, on the feedback and on the verdicts; a broken
file and a missing notebook. COURSEKIT_TEST_FULL_CLASS=1 grades all of them.
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
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from autograder.course.folder import cell_grades
from autograder.demo.democlass import PART1, STUDENTS, default_targets, make_demo_class
from autograder.grading.pipeline.feedback import hidden_lines
from autograder.grading.pipeline.grade import grade_class
from autograder.grading.pipeline.records import load_records
from conftest import released_course, sandboxed_grade_run
from utilities.data import default_cache_dir

pytestmark = pytest.mark.slow

# Five zoo students, ten variants, through the whole pipeline (tests/demo/test_zoo_*.py check
# every variant with the grader's own checker); COURSEKIT_TEST_FULL_CLASS=1 grades all 35.
ZOO_COHORT = ("ada", "ben", "cleo", "finn", "gus")
ATTACKERS = ("xnet", "xread", "xwrite", "xfork")
COHORT = (*ZOO_COHORT, "olga", "uma", *ATTACKERS, "xleak", "xforge")
FULL_CLASS = os.environ.get("COURSEKIT_TEST_FULL_CLASS") == "1"
GRADED = sorted(s.id for s in STUDENTS if FULL_CLASS or s.id in COHORT)
# Writing to /tmp works, but into the kernel's private /tmp, which is gone afterwards.
PRIVATE_WRITES = {("xwrite", "write /tmp")}
AUTOGRADED_MAX = 23  # Part 1's nine tests (14) and Part 2's five (9)


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
    from autograder.demo.uploads import demo_model

    out = tmp_path_factory.mktemp("demo")
    targets = default_targets(course, course_build.answer_key, out / "submitted")
    targets["write:/tmp"] = f"/tmp/coursekit-test-pwned-{os.getpid()}"
    targets["port"] = str(listener.port)
    model = demo_model(course_build.student_file, default_cache_dir())
    make_demo_class(course, course_build.answer_key, out, targets, model=model)
    for folder in (out / "submitted").iterdir():
        if folder.name not in GRADED:
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
def run(course, demo, course_build):
    return sandboxed_grade_run(course, demo[0] / "submitted", course_build)


@pytest.fixture(scope="module")
def report(run, protected):
    return grade_class(run)


@pytest.fixture(scope="module")
def records(report):
    return {record.student: record for record in report.records}


def errors_in(course: Path, student: str, notebook: str) -> dict[str, str]:
    """Each graded cell's error in the autograded notebook, as ``Name: message``."""
    path = course / "autograded" / student / "cnn" / f"{notebook}.ipynb"
    if not path.is_file():
        return {}
    return {
        cell.metadata["nbgrader"]["grade_id"]: f"{output['ename']}: {output['evalue']}"
        for cell in nbformat.read(path, 4).cells
        if "nbgrader" in cell.metadata
        for output in cell.get("outputs", [])
        if output["output_type"] == "error"
    }


def test_every_student_of_the_cohort_has_a_record(report, records, run):
    assert sorted(records) == GRADED
    assert report.unmapped == [] and report.skipped == []
    saved = load_records(run.folder)
    assert sorted(saved) == GRADED
    for student in GRADED:
        assert Path(saved[student].log).is_file()


@pytest.mark.parametrize("student", GRADED)
def test_exactly_the_expected_tests_fail_and_say_why(records, demo, course, student):
    """The grader agrees with the zoo: the same tests fail, for the reasons the zoo states."""
    expected = demo[1][student]
    record = records[student]
    failed = sorted(t for n in record.notebooks.values() for t in n["tests_failed"])
    assert failed == sorted(expected["failed"]), (record.problems, record.review)
    assert record.autograded_max == AUTOGRADED_MAX
    errors = {**errors_in(course, student, PART1), **errors_in(course, student, "2_fashion_cnn")}
    for test, words in expected["failed"].items():
        if words and test in errors:
            assert words.lower() in errors[test].lower(), (test, words, errors[test])


def test_the_cohort_samples_ten_zoo_variants_with_the_subclassed_cnn(demo):
    variants = {name for s in ZOO_COHORT for name in demo[1][s]["variants"]}
    assert len(variants) >= 10 and "subclassed-cnn-with-dropout" in variants


@pytest.mark.parametrize("student", GRADED)
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


def test_forged_outputs_hold_the_points_until_a_ta_releases_them(course, records, run):
    assert sorted(s for s, r in records.items() if r.is_held) == ["xforge"]
    rows = {row["student_id"]: row for row in _lms_rows(run)}
    assert rows["xforge"]["status"] == "held for review"
    assert float(rows["xforge"]["total"]) == 0
    listing = _coursekit("review", "cnn", "--course-root", str(course))
    assert "xforge (held)" in listing.stdout, listing.stdout + listing.stderr
    released = _coursekit(
        "review", "cnn", "--release", "xforge", "--by", "ta", "--course-root", str(course)
    )
    assert released.returncode == 0, released.stderr
    record = load_records(run.folder)["xforge"]
    assert record.status == "graded with problems" and record.released_by == "ta"
    # Part 1's 14 points but the F1 tests' 4 (the forgery broke Keras in its own kernel) and
    # the training test's 1 (outputs that ignore the weights leave fit nothing to train)
    assert record.autograded_score == 9
    rows = {row["student_id"]: row for row in _lms_rows(run)}
    assert float(rows["xforge"]["total"]) == pytest.approx(record.score)
    again = _coursekit("review", "cnn", "--release", "xforge", "--course-root", str(course))
    assert again.returncode == 1 and "nothing is held" in again.stderr


def test_no_student_can_flood_the_grading_log(records):
    log = Path(records["xwrite"].log).read_text()
    assert len(log) < 2 * 1024**2
    assert log.count("LOGFLOOD") * len("LOGFLOOD ") <= 2 * 64 * 1024  # the kernel output cap


def _lms_rows(run):
    return list(csv.DictReader(run.folder.lms_csv.read_text().splitlines()))


def _coursekit(*arguments):
    return subprocess.run(
        [str(Path(sys.executable).parent / "coursekit"), *arguments],
        capture_output=True,
        text=True,
    )


def test_a_wrong_lenet5_is_told_its_parameter_count_and_its_first_wrong_layer(course, records):
    errors = errors_in(course, "finn", PART1)
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
    assert "CELL SOURCE:" in xleak  # the attack ran; it saw no test: those run in the checker


class OutputText(HTMLParser):
    """The text of a feedback page's cell outputs (not the code the student wrote)."""

    def __init__(self):
        super().__init__()
        self.depth = 0  # inside an output area, how deep
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.depth += tag not in ("br", "img", "hr")
        elif "output_subarea" in (dict(attrs).get("class") or ""):
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)


def test_feedback_outputs_show_no_host_path_or_library_noise(course, records):
    """What a student reads about their own notebook: nothing of the machine that graded it."""
    for page in sorted((course / "feedback").glob("*/cnn/*.html")):
        reader = OutputText()
        reader.feed(page.read_text())
        text = "".join(reader.parts)
        noises = ["site-packages", "/tmp/coursekit", "WARNING:tensorflow"]
        if not page.parts[-3].startswith("x"):  # an attack prints the paths it tried itself
            noises.append(str(course))
        for noise in noises:
            assert noise not in text, (page, noise, text[text.find(noise) - 200 :][:400])


def test_grades_are_exported_for_the_lms_and_in_nbgrader_format(report, run):
    records = load_records(run.folder)  # as stored now: a TA may have released points
    rows = list(csv.DictReader(run.folder.lms_csv.read_text().splitlines()))
    assert [row["student_id"] for row in rows] == GRADED
    assert {"student_id", "total", "max_total", "status", "needs_review"} <= set(rows[0])
    for row in rows:
        record = records[row["student_id"]]
        assert float(row["max_total"]) == 40
        parts = float(row["points_1_lenet5_mnist"]) + float(row["points_2_fashion_cnn"])
        assert parts == pytest.approx(record.score)
        assert row["status"] == record.status
    nbgrader_rows = list(csv.DictReader(run.folder.nbgrader_csv.read_text().splitlines()))
    assert {row["student_id"] for row in nbgrader_rows} == set(GRADED)


def test_the_handed_in_model_is_checked_where_the_notebook_cannot_replace_it(run, records):
    check = json.loads(run.folder.model_check("ada").read_text())
    assert "error" not in check, check
    assert len(check["rows"]) == len(check["predictions"]) > 1000
    assert not run.folder.model_check("ben").exists()  # ben handed in no model


def test_a_rerun_grades_only_new_or_changed_submissions(run, report, demo):
    again = grade_class(run)
    assert again.records == [] and sorted(again.skipped) == GRADED
    path = demo[0] / "submitted" / "uma" / "cnn" / f"{PART1}.ipynb"
    notebook = nbformat.read(path, 4)
    notebook.cells.append(nbformat.v4.new_markdown_cell("One more thought."))
    nbformat.write(notebook, path)
    changed = grade_class(run)
    assert [record.student for record in changed.records] == ["uma"]
    assert changed.records[0].autograded_score == 14  # Part 1 only, all of it right


def test_a_kill_in_the_middle_loses_nothing(run, course, report, tmp_path):
    """Kill a forced regrade mid-way; gradebook, records and folders must still agree.

    The regrade is of two students who hand in one notebook each (uma Part 1, olga a
    readable Part 2), so that the first record is rewritten, and the kill lands while
    the other is still being graded, in seconds rather than minutes.
    """
    submissions = tmp_path / "submitted"
    for student in ("uma", "olga"):
        shutil.copytree(run.submissions / student, submissions / student)
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
        str(Path(run.dataset_file).parents[1]),
        "--force",
        "--no-progress",
        "--workers",
        "2",
        "--cell-timeout",
        "60",
    ]
    before = {p.name: p.stat().st_mtime for p in run.folder.records.glob("*.json")}
    process = subprocess.Popen(
        command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    rewritten = []
    while time.monotonic() < deadline and not rewritten:
        records = run.folder.records.glob("*.json")
        rewritten = [p for p in records if p.stat().st_mtime > before[p.name]]
        time.sleep(1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert rewritten, "the regrade wrote no record within 5 minutes"
    leftovers = [*(course / "autograded").rglob(".*"), *(course / "feedback").rglob(".*")]
    assert leftovers == []
    for student, record in load_records(run.folder).items():
        grades = cell_grades(course, "cnn", student)
        autograded = sum(g.score for g in grades if g.cell_type == "code")
        assert autograded == pytest.approx(record.autograded_score), student


def test_after_the_deadline_registered_teams_whose_own_model_reproduces_earn_the_bonus(
    demo, course_build, course, run, report
):
    """The demo's rounds with its teams, then a run after the deadline, then the grades."""
    from autograder.grading.pipeline.exports import export_grades
    from autograder.leaderboard.points import LEADERBOARD_POINTS

    common = ["--course-data", str(course_build.student_file.parents[1])]
    common += ["--course-root", str(course), "--deadline", "2026-11-13T00:00"]
    rounds = _coursekit(
        "leaderboard",
        "cnn",
        "--teams",
        str(demo[0] / "teams.csv"),
        "--submissions",
        str(demo[0] / "leaderboard"),
        "--replay",
        *common,
    )
    assert rounds.returncode == 0, rounds.stderr
    assert "'Intruders' is not a registered team" in rounds.stdout
    closing = _coursekit("leaderboard", "cnn", *common)
    assert closing.returncode == 0 and "private (final) view" in closing.stdout, closing.stderr
    export_grades(run)
    rows = {row["student_id"]: row for row in _lms_rows(run)}
    records = load_records(run.folder)
    for member in ("ada", "cleo"):  # team Quota: ada's handed-in model reproduces its upload
        assert rows[member]["team"] == "Quota"
        assert float(rows[member]["leaderboard_points"]) == LEADERBOARD_POINTS, rows[member]
    assert float(rows["ada"]["total"]) == pytest.approx(records["ada"].score + LEADERBOARD_POINTS)
    assert float(rows["ada"]["max_total"]) == 40  # a bonus: on top of the maximum
    assert float(rows["ben"]["leaderboard_points"]) == 0  # no model handed in to reproduce it
    assert "no model handed in" in rows["ben"]["leaderboard_note"]
    assert rows["ben"]["needs_review"] == "yes"  # the note asks a TA to look: so does the row
