"""After the deadline, the Kaggle way: each team's two final selections decide its private
score, the instructor records choices in selections.csv, and final.csv says who beat BEAT ME;
the grades give each member of such a team the leaderboard points, joined on the notebook's
TEAM_NAME, never guessed."""

from __future__ import annotations

import nbformat
import numpy as np
import pytest
from test_leaderboard import DAY_1, DAY_2, _board, _upload, key_file  # noqa: F401

from autograder.grading.pipeline.grade import student_grades
from autograder.grading.pipeline.records import StudentRecord
from autograder.leaderboard.board import FINAL_CSV, SELECTIONS_CSV, read_history
from autograder.leaderboard.points import (
    LEADERBOARD_POINTS,
    leaderboard_grade,
    read_final,
    team_named_in,
)


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


def _notebook(path, *sources):
    path.parent.mkdir(parents=True, exist_ok=True)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nbformat.write(notebook, path)
    return path


@pytest.mark.parametrize(
    ("source", "team", "problem"),
    [
        ('TEAM_NAME = "Alpha"', "Alpha", ""),
        ("import os\nTEAM_NAME = '  The   Alphas '  # as uploaded", "The Alphas", ""),
        ('TEAM_NAME = ""', "", "TEAM_NAME is empty"),
        ("TEAM_NAME = input()", "", "TEAM_NAME must be a plain string in quotes"),
        ('TEAM = "Alpha"', "", 'no line TEAM_NAME = "..." names the team'),
        ("TEAM_NAME = 'unclosed", "", 'no line TEAM_NAME = "..." names the team'),
    ],
)
def test_the_team_is_read_from_the_notebook_without_running_it(tmp_path, source, team, problem):
    path = _notebook(tmp_path / "2_fashion_cnn.ipynb", "x = 1", source)
    found, why = team_named_in(path)
    assert found == team
    assert why == (f"2_fashion_cnn.ipynb: {problem}" if problem else "")


def test_a_team_is_matched_as_the_leaderboard_matches_names_and_never_guessed(tmp_path):
    (tmp_path / FINAL_CSV).write_text(
        "team,team_key,private_accuracy,private_f1,beats_beat_me\n"
        "Alpha Team,alphateam,0.93,0.92,yes\nBeta,beta,0.6,0.5,no\n"
    )
    final = read_final(tmp_path)
    notebook = tmp_path / "nb.ipynb"
    for written, points, note in (
        ("ALPHA-team", LEADERBOARD_POINTS, ""),
        ("Beta", 0.0, "team 'Beta' did not beat BEAT ME (private part)"),
        ("Alpha", 0.0, "team 'Alpha' is not on the final leaderboard (no scored upload)"),
    ):
        _notebook(notebook, f"TEAM_NAME = {written!r}")
        grade = leaderboard_grade(notebook, final)
        assert (grade.team, grade.points, grade.note) == (written, points, note)


def test_lms_totals_add_the_leaderboard_points_once_the_leaderboard_is_final(tmp_path):
    course = tmp_path / "course"
    records = [StudentRecord(student=s, status="graded", score=20.0, max_score=40.0) for s in "ab"]
    _notebook(course / "autograded/a/cnn/2_fashion_cnn.ipynb", 'TEAM_NAME = "Alpha"')
    _notebook(course / "autograded/b/cnn/2_fashion_cnn.ipynb", 'TEAM_NAME = "Nobody"')
    before = student_grades(course, "cnn", records)
    assert [(g.points, g.max_points) for g in before] == [(20.0, 40.0), (20.0, 40.0)]
    board = course / "leaderboard" / "cnn"
    board.mkdir(parents=True)
    (board / FINAL_CSV).write_text(
        "team,team_key,private_accuracy,private_f1,beats_beat_me\nAlpha,alpha,0.93,0.92,yes\n"
    )
    after = student_grades(course, "cnn", records)
    maximum = 40.0 + LEADERBOARD_POINTS
    assert [(g.points, g.max_points) for g in after] == [(22.0, maximum), (20.0, maximum)]
