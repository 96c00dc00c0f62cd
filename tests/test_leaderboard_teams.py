"""Registered teams: the course staff say who is in which team; uploads and bonus points follow."""

from __future__ import annotations

import pytest
from test_leaderboard import _board, _upload, key_file  # noqa: F401

from autograder.leaderboard.history import LeaderboardError, UploadStatus
from autograder.leaderboard.teams import TEAMS_CSV, read_teams, register_team


def test_without_teams_csv_every_safe_team_name_may_upload(tmp_path, key_file):  # noqa: F811
    uploads = tmp_path / "uploads"
    _upload(uploads, "r", "anyone", key_file[1])
    (upload,) = _board(tmp_path, key_file, uploads).new
    assert upload.status is UploadStatus.SCORED


def test_once_teams_are_registered_other_teams_uploads_are_refused(tmp_path, key_file):  # noqa: F811
    register_team(tmp_path / "board", "Quota", ["s1", "s2"])
    uploads = tmp_path / "uploads"
    _upload(uploads, "r", "ＱＵＯＴＡ", key_file[1])  # full-width: the same team
    _upload(uploads, "r", "Intruders", key_file[1])
    by_team = {u.team: u for u in _board(tmp_path, key_file, uploads).new}
    assert by_team["QUOTA"].status is UploadStatus.SCORED
    assert by_team["Intruders"].status is UploadStatus.REFUSED
    assert by_team["Intruders"].reason == "'Intruders' is not a registered team (teams.csv)"


@pytest.mark.parametrize("look_alike", ["Ԛuota", "quota.", "QUOTA", "Quöta"])
def test_a_team_name_that_looks_like_a_registered_one_cannot_be_registered(tmp_path, look_alike):
    register_team(tmp_path, "Quota", ["s1"])
    before = (tmp_path / TEAMS_CSV).read_bytes()
    with pytest.raises(LeaderboardError, match="looks like the registered team 'Quota'"):
        register_team(tmp_path, look_alike, ["s2"])
    assert (tmp_path / TEAMS_CSV).read_bytes() == before  # nothing half-written


def test_a_student_is_in_at_most_one_team(tmp_path):
    register_team(tmp_path, "Quota", ["s1"])
    with pytest.raises(LeaderboardError, match="student s1 is already in the team 'Quota'"):
        register_team(tmp_path, "Other", ["s2", "s1"])
    assert read_teams(tmp_path).team_of("s2") is None


def test_registering_again_adds_members_to_the_same_team(tmp_path):
    register_team(tmp_path, "Quota", ["s1"])
    teams = register_team(tmp_path, "Quota", ["s2", "s1"])
    assert teams.members == {"quota": ["s1", "s2"]}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("name,member\nQuota,s1\n", "line 1: expected the header team,student"),
        ("team,student\nQuota,s1,extra\n", "line 2: expected 2 columns (team,student)"),
        ("team,student\nQuota,s1\nBEAT ME,s2\n", "line 3: the team name 'BEAT ME' reads like"),
        ("team,student\nQuota,s1\nOther,s1\n", "line 3: student s1 is already in the team"),
        ("team,student\nQuota,a/b\n", "line 2: 'a/b' is not a student id"),
    ],
)
def test_a_bad_teams_file_is_an_error_naming_the_line(tmp_path, text, problem):
    (tmp_path / TEAMS_CSV).write_text(text)
    with pytest.raises(LeaderboardError) as error:
        read_teams(tmp_path)
    assert f"{tmp_path / TEAMS_CSV}: {problem}" in str(error.value)


def test_the_command_registers_a_team_and_refuses_members_alone(tmp_path, capsys):
    from autograder.cli.main import main

    out = tmp_path / "board"
    args = ["leaderboard", "cnn", "--out", str(out), "--course-root", str(tmp_path)]
    assert main([*args, "--register", "Quota", "--members", "s1, s2"]) == 0
    assert "Registered 'Quota' (s1, s2)" in capsys.readouterr().out
    assert read_teams(out).members == {"quota": ["s1", "s2"]}
    assert main([*args, "--members", "s3"]) == 1
    assert "--members goes with --register TEAM" in capsys.readouterr().err
    assert main([*args, "--register", "Ԛuota", "--members", "s3"]) == 1
    assert "looks like the registered team 'Quota'" in capsys.readouterr().err
