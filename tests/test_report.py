"""``coursekit report``: the class report's numbers, its page and its CSV.

The class is built in place rather than graded: the release's gradebook gets each
student's points and comments through nbgrader's own API, the records and the
autograded notebooks (release notebooks with the error output of each failing test) are
written as grading writes them, and the leaderboard is the kit's own, run on a small
answer key. Three numbers of the CSV are then recomputed from those files by other means
(scipy for the discrimination), and a synthetic class of 500 is opened in Chromium.
"""

from __future__ import annotations

import csv
import json
import os
import re
import time
import warnings
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import pointbiserialr

from autograder.cli.main import main
from autograder.leaderboard.board import update_leaderboard
from autograder.report.classreport import (
    ClassData,
    StudentResult,
    discrimination,
    gather,
    histogram,
    summarize,
)
from autograder.report.html import class_page
from autograder.report.sources import (
    CourseFiles,
    ItemKind,
    LeaderboardData,
    Status,
    StudentRecord,
    TeamUploads,
    read_gradebook,
)
from conftest import REPO, released_course

# Each module builds a graded course with nbgrader.
pytestmark = pytest.mark.integration

ARTIFACTS = Path(os.environ.get("COURSEKIT_TEST_ARTIFACTS", REPO / "test-artifacts"))
PART1, PART2 = "1_lenet5_mnist", "2_fashion_cnn"
PARAMETERS = ("AssertionError", "the model has 44,426 trainable parameters, expected 61,706")
LAYERS = ("AssertionError", "the layers do not match the specification:\n  layer 1 (Conv2D): …")
STUB = ("NotImplementedError", " (in macro_f1: `raise NotImplementedError()`)")
HOSTILE = ("AssertionError", '<script>alert("owned")</script> the loss must be cross-entropy')


@dataclass(frozen=True)
class Student:
    """One student as the class below has them."""

    status: Status
    fails: dict[str, tuple[str, str]] = field(default_factory=dict)  # test -> (ename, evalue)
    manual: dict[str, tuple[float, str] | None] = field(default_factory=dict)  # None: ungraded
    seconds: float = 30.0
    missing: tuple[str, ...] = ()  # notebooks with no autograded copy


PART2_TESTS = ("test_fashion_data", "test_fashion_model", "test_fashion_model_hidden")
CLASS = {
    "amy": Student(Status.GRADED, seconds=31.0),
    "bo": Student(
        Status.GRADED,
        {"test_lenet5_parameters": PARAMETERS, "test_lenet5_layers": LAYERS},
        {"answer_relu": (1.0, "Leaky ReLU is missing.\nSee the lecture.")},
        seconds=44.0,
    ),
    "cy": Student(
        Status.GRADED,
        {
            "test_lenet5_parameters": PARAMETERS,
            "test_lenet5_layers": LAYERS,
            "test_f1": STUB,
            "test_f1_hidden": STUB,
            "test_training_hidden": ("NameError", "name 'history' is not defined"),
        },
        {"answer_overfitting": (0.0, "No response.")},
        seconds=52.0,
    ),
    "di": Student(
        Status.GRADED_WITH_PROBLEMS,
        {"test_lenet5_parameters": ("AssertionError", "the model has 3,434 trainable parameters")},
        {"answer_experiments": None},
        seconds=38.0,
    ),
    "ed": Student(
        Status.GRADED,
        {test: ("NotImplementedError", "") for test in PART2_TESTS},
        {"answer_by_hand": (0.0, "No response."), "answer_beat_me": (0.0, "No response.")},
        seconds=61.0,
    ),
    "fay": Student(Status.HELD_FOR_REVIEW, seconds=75.0),
    "gil": Student(Status.NOT_GRADED, seconds=600.0),
    "hal": Student(
        Status.GRADED_WITH_PROBLEMS,
        {test: ("", "") for test in PART2_TESTS},
        seconds=29.0,
        missing=(PART2,),
    ),
    "ivy": Student(Status.GRADED, {"test_compile": HOSTILE}, seconds=35.0),
    "jo": Student(
        Status.GRADED,
        {"test_training_hidden": ("NameError", "name 'history' is not defined")},
        {cell: None for cell in ("answer_overfitting", "answer_relu", "answer_confusions")},
        seconds=33.0,
    ),
}
FINAL = [
    name for name, s in CLASS.items() if s.status in (Status.GRADED, Status.GRADED_WITH_PROBLEMS)
]
# Leaderboard: public right out of 30, private right out of 70.
TEAMS = {"Alpha": (30, 35), "Beta": (24, 63), "Gamma": (18, 49)}
BEAT_ME = (15, 35)


# ---- the class, built in place ---------------------------------------------------------------


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = released_course(tmp_path_factory.mktemp("report-course"))
    files = CourseFiles(course, "cnn")
    _gradebook(files)
    for student, plan in CLASS.items():
        _record(files, student, plan)
        _autograded(files, student, plan)
    _leaderboard(files, tmp_path_factory.mktemp("uploads"))
    return course


def _gradebook(files: CourseFiles) -> None:
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings(), Gradebook(files.gradebook_url) as gradebook:
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's autoflush noise on new rows
        for student, plan in CLASS.items():
            gradebook.update_or_create_student(student)
            if plan.status is Status.NOT_GRADED:
                continue
            submission = gradebook.update_or_create_submission("cnn", student)
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.cell_type == "code":
                        passed = grade.name not in plan.fails
                        held = plan.status is Status.HELD_FOR_REVIEW
                        grade.auto_score = grade.max_score if passed and not held else 0.0
                        grade.needs_manual_grade = False
                    elif plan.manual.get(grade.name, ()) is None:
                        grade.needs_manual_grade = True  # waiting for a TA
                    else:
                        points, _ = plan.manual.get(grade.name, (grade.max_score, ""))
                        grade.manual_score, grade.needs_manual_grade = points, False
                for comment in notebook.comments:
                    entry = plan.manual.get(comment.name)
                    if entry:
                        comment.manual_comment = entry[1]
        gradebook.db.commit()


def _record(files: CourseFiles, student: str, plan: Student) -> None:
    record = StudentRecord(
        student,
        plan.status,
        seconds=plan.seconds,
        profile={"autograde": plan.seconds - 2, f"{PART2}: cells": plan.seconds / 2, "feedback": 1},
        problems=[f"{name}.ipynb is missing" for name in plan.missing],
    )
    path = files.grading_dir / "records" / f"{student}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(record)))


def _autograded(files: CourseFiles, student: str, plan: Student) -> None:
    if plan.status is Status.NOT_GRADED:
        return
    for notebook in (PART1, PART2):
        if notebook in plan.missing:
            continue
        data = json.loads((files.release_dir / f"{notebook}.ipynb").read_text())
        for cell in data["cells"]:
            failed = plan.fails.get(cell["metadata"].get("nbgrader", {}).get("grade_id"))
            if failed:
                cell["outputs"] = [
                    {"output_type": "error", "ename": failed[0], "evalue": failed[1],
                     "traceback": [f"\x1b[31m{failed[0]}\x1b[0m"]}
                ]  # fmt: skip
        path = files.autograded(student, notebook)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data))


def _leaderboard(files: CourseFiles, uploads: Path) -> None:
    """The kit's leaderboard on a 100-image key: one round, then closed after its deadline."""
    key = uploads / "answer_key.csv"
    key.write_text(
        "ID,Label,Usage,SourceIndex\n"
        + "".join(f"{i},{i % 10},{'Public' if i < 30 else 'Private'},{i}\n" for i in range(100))
    )
    round_ = uploads / "round"
    round_.mkdir()
    for team, (public, private) in TEAMS.items():
        _predictions(round_ / f"{team}.csv", public, private)
    baseline = _predictions(uploads / "baseline.csv", *BEAT_ME)
    deadline = datetime(2026, 11, 13, tzinfo=UTC)
    for when, found in ((datetime(2026, 11, 10, tzinfo=UTC), round_), (deadline, None)):
        update_leaderboard(
            found,
            files.leaderboard_dir,
            key,
            baseline,
            "a baseline",
            deadline=deadline,
            now=when,
            daily_limit=5,
            max_upload_bytes=1 << 20,
        )


def _predictions(path: Path, public: int, private: int) -> Path:
    """Right on the first ``public`` public and the first ``private`` private images."""
    right = [i < public if i < 30 else i - 30 < private for i in range(100)]
    path.write_text(
        "ID,Prediction\n" + "".join(f"{i},{(i + (not ok)) % 10}\n" for i, ok in enumerate(right))
    )
    return path


@pytest.fixture(scope="module")
def written(course, tmp_path_factory):
    """``coursekit report cnn``'s output and its CSV rows by (section, name, statistic)."""
    out = tmp_path_factory.mktemp("report")
    assert main(["report", "cnn", "--course-root", str(course), "--out", str(out)]) == 0
    with open(out / "class_report.csv", newline="") as stream:
        rows = {
            (r["section"], r["name"], r["statistic"]): r["value"] for r in csv.DictReader(stream)
        }
    return out, rows


@pytest.fixture(scope="module")
def report(course):
    return summarize(gather(CourseFiles(course, "cnn")))


# ---- three numbers, recomputed from the files --------------------------------------------------


def _final_scores(course: Path) -> dict[str, dict[str, float]]:
    """Each final student's points per grade cell, and their total, read with nbgrader."""
    from nbgrader.api import Gradebook

    statuses = {
        path.stem: json.loads(path.read_text())["status"]
        for path in (course / "grading" / "cnn" / "records").glob("*.json")
    }
    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student, status in statuses.items():
            if status not in ("graded", "graded with problems"):
                continue
            submission = gradebook.find_submission("cnn", student)
            points = {g.name: g.score for n in submission.notebooks for g in n.grades}
            scores[student] = {**points, "total": submission.score}
    return scores


def test_a_mean_matches_the_gradebook(course, written):
    _, rows = written
    scores = _final_scores(course)
    expected = np.mean([points["test_lenet5_parameters"] for points in scores.values()])
    assert float(rows["item", f"{PART1}/test_lenet5_parameters", "mean"]) == pytest.approx(
        expected, abs=1e-4
    )
    assert expected == pytest.approx(5 / 8)  # three of the eight final students failed it


def test_a_discrimination_matches_scipys_point_biserial_correlation(course, written):
    _, rows = written
    scores = _final_scores(course)
    passed = [points["test_f1"] > 0 for points in scores.values()]
    rest = [points["total"] - points["test_f1"] for points in scores.values()]
    expected = pointbiserialr(passed, rest).statistic
    shown = float(rows["item", f"{PART1}/test_f1", "discrimination"])
    assert shown == pytest.approx(expected, abs=1e-4)


def test_a_failure_message_count_matches_the_autograded_notebooks(course, written):
    _, rows = written
    counted = 0
    for path in (course / "autograded").glob(f"*/cnn/{PART1}.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["metadata"].get("nbgrader", {}).get("grade_id") == "test_lenet5_parameters":
                errors = [o for o in cell.get("outputs", []) if o["output_type"] == "error"]
                counted += any(o["evalue"] == PARAMETERS[1] for o in errors)
    key = f"{PART1}/test_lenet5_parameters"
    assert rows["item", key, "message 1"] == ": ".join(PARAMETERS)
    assert int(rows["item", key, "message 1 students"]) == counted == 2
    assert (
        rows["item", key, "message 2"] == "AssertionError: the model has 3,434 trainable parameters"
    )


# ---- what the report says --------------------------------------------------------------------


def test_the_class_at_a_glance_counts_every_status_and_only_final_grades(report):
    assert {str(s): n for s, n in report.counts.items()} == {
        "graded": 6, "graded with problems": 2, "held for review": 1, "not graded": 1,
    }  # fmt: skip
    assert report.counted == len(FINAL) == 8
    assert report.max_total == 40
    assert sum(n for _, _, n in report.histogram) == 8
    assert report.histogram[0][:2] == (0, 2) and report.histogram[-1][1] == 40
    most, part2 = report.parts[PART2]
    assert most == 20 and part2.low == 8  # ed: 6 points of tests and 6 of answers lost


def test_each_item_has_its_shares_and_its_commonest_messages(report):
    items = {s.item.key: s for s in report.items}
    layers = items[f"{PART1}/test_lenet5_layers"]
    assert (layers.full, layers.partial, layers.zero) == (0.75, 0.0, 0.25)
    assert layers.messages == [("AssertionError: the layers do not match the specification:", 2)]
    stub = items[f"{PART1}/test_f1"].messages
    assert stub == [("NotImplementedError: (in macro_f1: `raise NotImplementedError()`)", 1)]
    assert items[f"{PART2}/test_fashion_data"].messages == [
        ("NotImplementedError", 1), ("(no autograded notebook)", 1),
    ]  # fmt: skip
    assert items[f"{PART1}/test_preprocessing"].discrimination is None  # everyone passed


def test_manual_tasks_count_only_what_a_ta_graded_and_show_their_comments(report):
    items = {s.item.key: s for s in report.items}
    relu = items[f"{PART1}/answer_relu"]
    assert relu.item.kind is ItemKind.MANUAL
    assert (relu.students, relu.waiting) == (7, 1)  # jo's answers wait for a TA
    assert relu.partial == pytest.approx(1 / 7)
    assert relu.messages == [("Leaky ReLU is missing.", 1)]
    assert items[f"{PART2}/answer_by_hand"].messages == [("No response.", 1)]


def test_the_leaderboard_shows_each_teams_shake_up(report):
    rows = [(t.team, t.public_rank, t.private_rank, t.shake_up) for t in report.teams]
    assert rows == [("Beta", 2, 1, 1), ("Gamma", 3, 2, 1), ("Alpha", 1, 3, -2)]
    assert report.leaderboard_final
    assert report.teams[0].private_accuracy == pytest.approx(0.9)
    assert report.beat_me == (pytest.approx(0.5), pytest.approx(0.5))


def test_grading_time_lists_the_slowest_five_with_their_longest_phases(report):
    assert [row.student for row in report.slowest] == ["gil", "fay", "ed", "cy", "bo"]
    assert report.slowest[0].phases[0] == ("autograde", 598.0)
    assert report.time.median == pytest.approx(41.0)


@pytest.mark.integration
def test_the_page_is_self_contained_and_shows_student_text_as_text(written):
    out, _ = written
    page = (out / "class_report.html").read_text()
    assert "default-src 'none'" in page
    assert not re.search(r"(src|href)=\"(?!data:)", page)
    assert not re.search(r"https?://", page)
    assert page.count('src="data:image/svg+xml;base64,') == 5
    assert "<script>" not in page and "&lt;script&gt;alert" in page
    _open(out / "class_report.html", "class-report.png")


@pytest.mark.parametrize(
    ("command", "words"),
    [
        ("report", ["--course-root", "--db", "--out", "discrimination", "never publish"]),
        ("similarity", ["--submissions", "--threshold", "--min-shared", "copydetect"]),
    ],
)
def test_each_command_has_help(command, words, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert all(word in shown for word in words), shown


def test_the_command_explains_what_is_missing_in_one_line(tmp_path, capsys):
    assert main(["report", "cnn", "--course-root", str(tmp_path)]) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "coursekit grade cnn" in error


# ---- the statistics themselves ----------------------------------------------------------------


def test_discrimination_is_the_item_rest_correlation():
    assert discrimination([1, 1, 0, 0], [10, 9, 3, 2]) == pytest.approx(
        np.corrcoef([1, 1, 0, 0], [9, 8, 3, 2])[0, 1]
    )
    assert discrimination([1, 1, 1], [5, 4, 3]) is None  # the item does not vary
    assert discrimination([1, 0], [5, 1]) is None  # too few students


def test_histogram_bins_have_round_widths_and_cover_the_maximum():
    bins = histogram([0, 7.5, 40], 40)
    assert [(a, b) for a, b, _ in bins][:2] == [(0, 2), (2, 4)] and bins[-1][1] == 40
    assert [n for _, _, n in bins if n] == [1, 1, 1]
    assert histogram([3], 7)[1][:2] == (0.5, 1.0)


# ---- a class of 500 ---------------------------------------------------------------------------


def synthetic_class(items, students: int = 500, seed: int = 0) -> ClassData:
    """``students`` of mixed ability, with messages, grading times and 150 teams."""
    rng = np.random.default_rng(seed)
    pool = [f"AssertionError: expected shape (None, {n}), found (None, {n + 1})" for n in range(6)]
    statuses = [Status.GRADED] * 90 + [Status.GRADED_WITH_PROBLEMS] * 6 + [Status.HELD_FOR_REVIEW]
    result = []
    for index in range(students):
        ability = rng.uniform()
        points, messages = {}, {}
        for item in items:
            earned = item.max_points * (rng.uniform() < 0.3 + 0.7 * ability)
            ungraded = item.kind is ItemKind.MANUAL and rng.uniform() < 0.05
            points[item.key] = None if ungraded else float(earned)
            if earned < item.max_points:
                messages[item.key] = pool[rng.integers(len(pool))]
        seconds = float(rng.lognormal(3.5, 0.3))
        result.append(
            StudentResult(
                f"s{index:04d}", statuses[rng.integers(len(statuses))], seconds,
                {"autograde": seconds * 0.9, "feedback": 0.8}, points, messages,
            )
        )  # fmt: skip
    public = rng.uniform(0.85, 0.95, 150)
    private = public + rng.normal(0, 0.01, 150)  # the shake-up
    when = datetime(2026, 11, 10, tzinfo=UTC)
    teams = {
        f"team{t}": TeamUploads(f"Team {t}", float(public[t]), when, float(private[t]))
        for t in range(150)
    }
    final = sorted(teams, key=lambda key: -teams[key].private_accuracy)
    return ClassData("cnn", items, result, LeaderboardData(teams, final, (0.88, 0.87)))


@pytest.mark.integration
def test_the_page_for_500_students_opens_in_under_a_second(course, tmp_path):
    items = read_gradebook(CourseFiles(course, "cnn")).items
    started = time.perf_counter()
    page = class_page(summarize(synthetic_class(items)))
    rendered = time.perf_counter() - started
    path = tmp_path / "class_report.html"
    path.write_text(page)
    opened = _open(path, "class-report-500.png")
    assert opened < 1000, f"{opened:.0f} ms to open"
    assert rendered < 10, f"{rendered:.1f} s to compute and draw"
    assert len(page) < 1_000_000


def _open(page: Path, name: str) -> float:
    """Milliseconds from navigation to the load event in headless Chromium; keeps a picture.

    Fails if the page asks for anything but itself, or an image does not draw.
    """
    from playwright.sync_api import sync_playwright

    from utilities.handin import find_chromium

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    requests = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.route("**/*", lambda route: (requests.append(route.request.url), route.continue_()))
        view = context.new_page()
        view.goto(page.as_uri())
        timing = view.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
        broken = view.evaluate("[...document.images].filter(i => !i.naturalWidth).length")
        view.screenshot(path=ARTIFACTS / name, full_page=True)
        browser.close()
    assert requests == [page.as_uri()]
    assert broken == 0
    return float(timing)
