"""The demo class's leaderboard uploads, replayed round by round with `coursekit leaderboard`.

Apart from tests/test_grade.py (which grades the same demo class) so that the two run on
different test processes.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.demo.democlass import STUDENTS, make_demo_class
from autograder.demo.uploads import team_of
from conftest import released_course

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(course_build, tmp_path_factory):
    course = released_course(tmp_path_factory.mktemp("course"))
    out = tmp_path_factory.mktemp("demo")
    make_demo_class(course, course_build.answer_key, out)
    return (out,)


def test_the_demo_leaderboard_ranks_teams_and_enforces_the_daily_limit(
    demo, course_build, tmp_path
):
    from autograder.course.dataset import load_answer_key
    from autograder.leaderboard.baseline import BASELINE_CSV
    from autograder.leaderboard.history import read_history
    from autograder.leaderboard.intake import scores
    from utilities.submission import validate_submission

    out = tmp_path / "board"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "coursekit"),
            "leaderboard",
            "cnn",
            "--teams",
            str(demo[0] / "teams.csv"),
            "--submissions",
            str(demo[0] / "leaderboard"),
            "--replay",  # each dated folder is one past run, received at that time
            "--course-data",
            str(course_build.student_file.parents[1]),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    history = read_history(out / "history.csv")
    over = [u for u in history if u.status == "over the daily limit"]
    assert {u.team for u in over} == {"ben"} and len(over) == 3
    assert {u.team for u in history if u.status == "invalid"} == {"hana", "olga"}
    refused = {u.team: u.reason for u in history if u.status == "refused"}
    assert refused["Intruders"] == "'Intruders' is not a registered team (teams.csv)"
    assert "reads like the BEAT ME baseline row" in refused["ᏴᎬᎪᎢ ᎷᎬ"]
    table = list(csv.DictReader((out / "leaderboard.csv").read_text().splitlines()))
    teams = [row["team"] for row in table]
    uploading = {team_of(s) for s in STUDENTS if s.accuracy is not None or s.bad_csv}
    assert len(uploading) >= 30  # every team with a valid upload on some day is ranked
    assert sorted(teams) == sorted([*uploading, next(t for t in teams if t.startswith("BEAT ME"))])
    key = load_answer_key(course_build.answer_key)
    baseline = scores(
        validate_submission(course_build.answer_key.parent / BASELINE_CSV, 10_500), key
    )
    beat_me = next(row for row in table if row["team"].startswith("BEAT ME"))
    assert float(beat_me["public_accuracy"]) == pytest.approx(baseline["public_accuracy"], abs=1e-5)
    assert 0.8 < baseline["public_accuracy"] < 0.92  # a bar a CNN clears, an MLP barely
    assert "| **BEAT ME" in (out / "leaderboard.md").read_text()
