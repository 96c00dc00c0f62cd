"""Leaderboard points in the grades: a team that beats BEAT ME earns Task 2.4's leaderboard points.

The rule (documented in the README and on the rules page): after the
deadline, a team whose final private accuracy (its best among its final
selections, :mod:`autograder.leaderboard.board`) is above BEAT ME's private
accuracy earns ``LEADERBOARD_POINTS`` for each of its members; otherwise 0.

Members are found from their own Part 2 notebook: the line
``TEAM_NAME = "..."`` names the team exactly as it uploads. Names are
compared the way the leaderboard compares them (case, accents, spaces and
punctuation ignored). A student whose notebook names no team, or a team that
is not on the final leaderboard, gets 0 and a note that says so: a name is
never guessed.
"""

from __future__ import annotations

import ast
import csv
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.leaderboard.board import FINAL_CSV, team_key

LEADERBOARD_POINTS = 2.0
TEAM_VARIABLE = "TEAM_NAME"
TEAM_NOTEBOOK = "2_fashion_cnn.ipynb"


@dataclass(frozen=True)
class TeamResult:
    """One team's line of the final leaderboard."""

    team: str
    private_accuracy: float
    beats_beat_me: bool


@dataclass(frozen=True)
class LeaderboardGrade:
    """What one student earns from the leaderboard, and why."""

    team: str  # as the notebook names it; "" when it names none
    points: float
    note: str = ""  # why no points, in plain words; "" when the team was found


def read_final(leaderboard_dir: Path) -> dict[str, TeamResult] | None:
    """The final leaderboard by team key, or None while there is none (before the deadline)."""
    path = Path(leaderboard_dir) / FINAL_CSV
    if not path.is_file():
        return None
    with open(path, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    return {
        row["team_key"]: TeamResult(
            row["team"].lstrip("'"), float(row["private_accuracy"]), row["beats_beat_me"] == "yes"
        )
        for row in rows
    }


def team_named_in(notebook: Path) -> tuple[str, str]:
    """The team a notebook names with ``TEAM_NAME = "..."``, and a problem ("" when none)."""
    try:
        cells = nbformat.read(notebook, as_version=4).cells
    except Exception as error:  # any unreadable file: reported, never raised
        return "", f"{notebook.name}: cannot be read for the team name ({type(error).__name__})"
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        try:
            tree = ast.parse(cell.get("source", ""))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == TEAM_VARIABLE for t in node.targets
            ):
                value = node.value
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    name = " ".join(value.value.split())
                    if name:
                        return name, ""
                    return "", f"{notebook.name}: {TEAM_VARIABLE} is empty"
                return "", f"{notebook.name}: {TEAM_VARIABLE} must be a plain string in quotes"
    return "", f'{notebook.name}: no line {TEAM_VARIABLE} = "..." names the team'


def leaderboard_grade(notebook: Path | None, final: dict[str, TeamResult]) -> LeaderboardGrade:
    """A student's leaderboard points from their Part 2 notebook and the final leaderboard."""
    if notebook is None or not notebook.is_file():
        return LeaderboardGrade("", 0.0, f"no {TEAM_NOTEBOOK} to read the team name from")
    team, problem = team_named_in(notebook)
    if problem:
        return LeaderboardGrade("", 0.0, problem)
    result = final.get(team_key(team))
    if result is None:
        return LeaderboardGrade(
            team, 0.0, f"team {team!r} is not on the final leaderboard (no scored upload)"
        )
    if not result.beats_beat_me:
        return LeaderboardGrade(team, 0.0, f"team {team!r} did not beat BEAT ME (private part)")
    return LeaderboardGrade(team, LEADERBOARD_POINTS)
