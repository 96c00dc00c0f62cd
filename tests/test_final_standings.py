"""After the deadline, the Kaggle way: each team's two final selections decide its private
score, the instructor records choices in selections.csv, and final.csv says who beat BEAT ME;
the grades give the leaderboard points to the registered members of such a team (teams.csv,
never a notebook's claim), and only when a member's handed-in model reproduces the picked
upload."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_leaderboard import DAY_1, DAY_2, _board, _upload, key_file  # noqa: F401

from autograder.grading.pipeline.exports import student_grades
from autograder.grading.pipeline.records import StudentRecord
from autograder.layout import CourseLayout
from autograder.leaderboard.board import FINAL_CSV, SELECTIONS_CSV
from autograder.leaderboard.history import read_history
from autograder.leaderboard.points import (
    AGREEMENT_NEEDED,
    LEADERBOARD_POINTS,
    final_board,
    read_final,
)
from autograder.leaderboard.teams import register_team


def _split(labels, public_accuracy, private_accuracy, seed):
    """Predictions right on the given share of the public (ID % 3 == 0) and private rows."""
    rng = np.random.default_rng(seed)
    public = np.arange(len(labels)) % 3 == 0
    accuracy = np.where(public, public_accuracy, private_accuracy)
    wrong = rng.random(len(labels)) >= accuracy
    out = labels.copy()
    out[wrong] = (labels[wrong] + 1) % 10
    return out


@pytest.fixture
def uploads(tmp_path, key_file):  # noqa: F811
    """Team Alpha: A is best on public, C best on private; Team Beta is below BEAT ME."""
    _, labels = key_file
    folder = tmp_path / "uploads"
    for group, public, private in (("a", 0.95, 0.60), ("b", 0.90, 0.80), ("c", 0.70, 0.99)):
        _upload(folder, group, "Alpha", _split(labels, public, private, seed=ord(group)))
    _upload(folder, "a", "Beta", _split(labels, 0.5, 0.5, seed=7))
    return folder


def _standing(result, team):
    return next(s for s in result.standings if s.team == team)


def _digest(board_folder, group):
    history = read_history(board_folder / "history.csv")
    return next(u.sha256 for u in history if u.source.startswith(f"{group}/Alpha"))


def test_a_teams_private_score_is_the_best_of_its_two_best_public_uploads(
    tmp_path,
    key_file,  # noqa: F811
    uploads,
):
    before = _board(tmp_path, key_file, uploads, deadline=DAY_2)
    assert not before.final and not (before.folder / FINAL_CSV).exists()
    after = _board(tmp_path, key_file, None, deadline=DAY_2, now=DAY_2)
    alpha = _standing(after, "Alpha")
    assert alpha.private_accuracy == pytest.approx(0.80, abs=0.08)  # B, not C's 0.99
    assert alpha.public_accuracy == pytest.approx(0.90, abs=0.08)


def test_a_team_that_chose_its_final_uploads_is_ranked_by_them(
    tmp_path,
    key_file,  # noqa: F811
    uploads,
):
    _board(tmp_path, key_file, uploads, deadline=DAY_2)
    board = tmp_path / "board"
    (board / SELECTIONS_CSV).write_text(f"team,sha256\nalpha,{_digest(board, 'c')[:12]}\n")
    after = _board(tmp_path, key_file, None, deadline=DAY_2, now=DAY_2)
    assert after.selection_problems == []
    assert _standing(after, "Alpha").private_accuracy > 0.9


def test_a_third_choice_and_an_unknown_upload_are_reported_by_line_and_ignored(
    tmp_path,
    key_file,  # noqa: F811
    uploads,
):
    _board(tmp_path, key_file, uploads, deadline=DAY_2)
    board = tmp_path / "board"
    lines = ["team,sha256"] + [f"Alpha,{_digest(board, g)}" for g in "abc"] + ["Beta,0123456789ab"]
    (board / SELECTIONS_CSV).write_text("\n".join(lines) + "\n")
    after = _board(tmp_path, key_file, None, deadline=DAY_2, now=DAY_2)
    assert [p.split(": ", 1)[1] for p in after.selection_problems] == [
        "line 4: team 'Alpha' already chose 2 uploads; this one is ignored",
        "line 5: no scored upload of team 'Beta' has SHA-256 '0123456789ab'",
    ]
    assert _standing(after, "Alpha").private_accuracy == pytest.approx(0.80, abs=0.08)


def test_final_csv_says_which_teams_beat_beat_me_on_the_private_part(
    tmp_path,
    key_file,  # noqa: F811
    uploads,
):
    _board(tmp_path, key_file, uploads, deadline=DAY_2)
    after = _board(tmp_path, key_file, None, deadline=DAY_2, now=DAY_2)
    final = read_final(after.folder)
    assert after.baseline.private_accuracy == pytest.approx(0.7, abs=0.1)
    assert final["alpha"].beats_beat_me and not final["beta"].beats_beat_me


ROWS = 50


def _final_board(tmp_path, predictions_by_member, picked=None, teams=(("Alpha", "ab"),)):
    """A final leaderboard where team Alpha beat BEAT ME with ``picked``, and model checks."""
    board = tmp_path / "leaderboard"
    picked = np.arange(ROWS) % 10 if picked is None else picked
    upload = board / "uploads" / "team-alpha" / "pick.csv"
    upload.parent.mkdir(parents=True)
    upload.write_text("ID,Prediction\n" + "".join(f"{i},{p}\n" for i, p in enumerate(picked)))
    (board / FINAL_CSV).write_text(
        "team,team_key,private_accuracy,private_f1,beats_beat_me,file\n"
        "Alpha,alpha,0.93,0.92,yes,uploads/team-alpha/pick.csv\nBeta,beta,0.6,0.5,no,\n"
    )
    for name, members in teams:
        register_team(board, name, list(members))
    checks = tmp_path / "models"
    checks.mkdir()
    rows = list(range(0, ROWS, 2))
    for member, predictions in predictions_by_member.items():
        chosen = [int(predictions[row]) for row in rows]
        (checks / f"{member}.json").write_text(json.dumps({"rows": rows, "predictions": chosen}))
    return final_board(board, checks)


def test_registered_members_earn_the_points_when_a_members_model_reproduces_the_upload(tmp_path):
    own = np.arange(ROWS) % 10
    final = _final_board(tmp_path, {"a": own})  # b handed in no model: a's is enough
    for student in "ab":
        grade = final.grade_of(student)
        assert (grade.team, grade.points, grade.note, grade.review) == (
            "Alpha",
            LEADERBOARD_POINTS,
            "",
            False,
        )


def test_an_upload_no_members_model_reproduces_earns_nothing_and_goes_to_a_ta(tmp_path):
    own = np.arange(ROWS) % 10
    looked_up = own.copy()
    looked_up[::4] = (looked_up[::4] + 1) % 10  # 13 of the 25 sampled rows differ
    final = _final_board(tmp_path, {"a": looked_up})
    grade = final.grade_of("a")
    assert grade.points == 0.0 and grade.review
    assert "not reproduced by a member's handed-in model" in grade.note
    assert "a: 48.0%" in grade.note and "b: no model handed in" in grade.note
    assert f"{AGREEMENT_NEEDED:.0%} needed" in grade.note


def test_agreement_just_above_the_threshold_is_enough(tmp_path):
    own = np.arange(ROWS) % 10
    close = own.copy()
    close[0] = (close[0] + 1) % 10  # one of 25 sampled rows differs: 96 %
    assert _final_board(tmp_path, {"b": close}).grade_of("a").points == LEADERBOARD_POINTS


def test_students_outside_the_registry_or_below_beat_me_earn_nothing_and_are_told_why(tmp_path):
    own = np.arange(ROWS) % 10
    final = _final_board(tmp_path, {"a": own, "c": own}, teams=(("Alpha", "ab"), ("Beta", "c")))
    assert final.grade_of("z").note == "not in a registered team (the leaderboard's teams.csv)"
    assert final.grade_of("c").note == "team 'Beta' did not beat BEAT ME (private part)"
    assert final.grade_of("c").points == 0.0


def test_a_team_on_no_row_of_the_final_board_has_no_scored_upload(tmp_path):
    final = _final_board(tmp_path, {}, teams=(("Alpha", "ab"), ("Gamma", "g")))
    assert final.grade_of("g").note == "team 'Gamma' has no scored upload"


def test_before_the_deadline_there_is_no_bonus(tmp_path):
    assert final_board(tmp_path / "leaderboard", tmp_path / "models") is None


def test_lms_totals_add_the_leaderboard_points_once_the_leaderboard_is_final(tmp_path):
    course = tmp_path / "course"
    layout = CourseLayout.at(course)
    records = [StudentRecord(student=s, status="graded", score=20.0, max_score=40.0) for s in "ab"]
    before = student_grades(layout, "cnn", records)
    assert [(g.points, g.max_points) for g in before] == [(20.0, 40.0), (20.0, 40.0)]
    board = layout.leaderboard("cnn")
    board.mkdir(parents=True)
    picked = np.arange(ROWS) % 10
    (board / "pick.csv").write_text(
        "ID,Prediction\n" + "".join(f"{i},{p}\n" for i, p in enumerate(picked))
    )
    (board / FINAL_CSV).write_text(
        "team,team_key,private_accuracy,private_f1,beats_beat_me,file\n"
        "Alpha,alpha,0.93,0.92,yes,pick.csv\n"
    )
    register_team(board, "Alpha", ["a"])
    checks = layout.grading("cnn").model_checks
    checks.mkdir(parents=True)
    layout.grading("cnn").model_check("a").write_text(
        json.dumps({"rows": [1, 2, 3], "predictions": [1, 2, 3]})
    )
    after = student_grades(layout, "cnn", records)
    # a bonus: it adds to the total and not to the maximum
    assert [(g.points, g.max_points) for g in after] == [(22.0, 40.0), (20.0, 40.0)]
