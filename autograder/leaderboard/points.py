"""The leaderboard bonus in the grades: registered members of a team that beat BEAT ME.

The rule (documented in the README and on the rules page): after the
deadline, a team whose final private accuracy (its best among its final
selections, :mod:`autograder.leaderboard.board`) is above BEAT ME's private
accuracy earns ``LEADERBOARD_POINTS`` for each of its members, on two
conditions that the kit checks rather than believes:

- members come from the registry (:mod:`autograder.leaderboard.teams`),
  never from what a notebook claims;
- the upload the team picked must come from its own model: a member's
  handed-in ``fashion_model.keras`` is rebuilt and run by the grader's
  checker on a sample of the private test images (grading stores its
  predictions, :class:`~autograder.layout.GradingFolder`), and the upload must
  agree with it on at least :data:`AGREEMENT_NEEDED` of them. An upload that
  no member's model reproduces (labels looked up in the public Fashion-MNIST
  files, a classmate's predictions) earns nothing and is sent to a TA with
  the numbers.

Anything missing (no team, no model, a team with no scored upload) earns 0
with a note that says why: a name is never guessed.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autograder.leaderboard.board import FINAL_CSV
from autograder.leaderboard.teams import Teams, read_teams
from utilities.errors import SubmissionError
from utilities.submission import validate_submission

LEADERBOARD_POINTS = 2.0
#: The share of the sampled private test images on which the picked upload must agree with a
#: member's own model. A model agrees with itself on every image, with test-time augmentation
#: built on it on about 97-99 %; labels looked up elsewhere agree only as often as the model
#: is right (under 95 % for any model in this course).
AGREEMENT_NEEDED = 0.95


@dataclass(frozen=True)
class TeamResult:
    """One team's line of the final leaderboard."""

    team: str
    private_accuracy: float
    beats_beat_me: bool
    file: str = ""  # the picked upload's stored copy, relative to the leaderboard folder


@dataclass(frozen=True)
class LeaderboardGrade:
    """What one student earns from the leaderboard, and why."""

    team: str  # the registered team's name; "" when the student is in none
    points: float
    note: str = ""  # why no points, in plain words; "" when they were earned
    review: bool = False  # a TA should look (the upload is not the team's own model's)


@dataclass
class FinalBoard:
    """The final leaderboard, the registered teams, and what grading found of each model."""

    folder: Path
    results: dict[str, TeamResult]  # by team key
    teams: Teams
    model_checks: dict[str, dict] = field(default_factory=dict)  # student -> rows, predictions

    def grade_of(self, student: str) -> LeaderboardGrade:
        key = self.teams.team_of(student)
        if key is None:
            unregistered = "not in a registered team (the leaderboard's teams.csv)"
            return LeaderboardGrade("", 0.0, unregistered)
        team = self.teams.names[key]
        result = self.results.get(key)
        if result is None:
            return LeaderboardGrade(team, 0.0, f"team {team!r} has no scored upload")
        if not result.beats_beat_me:
            return LeaderboardGrade(team, 0.0, f"team {team!r} did not beat BEAT ME (private part)")
        agreements = self._agreements(result, self.teams.members[key])
        best = max((value for value in agreements.values() if value is not None), default=None)
        if best is not None and best >= AGREEMENT_NEEDED:
            return LeaderboardGrade(team, LEADERBOARD_POINTS)
        found = "; ".join(
            f"{member}: {'no model handed in' if value is None else f'{value:.1%}'}"
            for member, value in agreements.items()
        )
        return LeaderboardGrade(
            team,
            0.0,
            f"team {team!r}: the picked upload is not reproduced by a member's handed-in model "
            f"(agreement on the sampled private test images, {AGREEMENT_NEEDED:.0%} needed: "
            f"{found}); a TA should review it",
            review=True,
        )

    def _agreements(self, result: TeamResult, members: list[str]) -> dict[str, float | None]:
        """Each member's model's agreement with the team's picked upload (None: none)."""
        try:
            picked = validate_submission(
                self.folder / result.file, _rows(self.folder / result.file)
            )
        except (SubmissionError, OSError, ValueError):
            return dict.fromkeys(members)
        found: dict[str, float | None] = {}
        for member in members:
            check = self.model_checks.get(member) or {}
            rows = np.asarray(check.get("rows", []), dtype=int)
            predictions = np.asarray(check.get("predictions", []), dtype=int)
            usable = rows.size and rows.size == predictions.size and rows.max() < len(picked)
            found[member] = float(np.mean(picked[rows] == predictions)) if usable else None
        return found


def _rows(path: Path) -> int:
    """The rows of an upload the leaderboard scored: it had one per test image, so count them."""
    with open(path, encoding="utf-8-sig") as stream:
        return max(0, sum(1 for line in stream if line.strip()) - 1)


def read_final(leaderboard_dir: Path) -> dict[str, TeamResult] | None:
    """The final leaderboard by team key, or None while there is none (before the deadline)."""
    path = Path(leaderboard_dir) / FINAL_CSV
    if not path.is_file():
        return None
    with open(path, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    return {
        row["team_key"]: TeamResult(
            row["team"].lstrip("'"),
            float(row["private_accuracy"]),
            row["beats_beat_me"] == "yes",
            row.get("file", "").lstrip("'"),
        )
        for row in rows
    }


def final_board(leaderboard_dir: Path, model_checks_dir: Path) -> FinalBoard | None:
    """Everything the bonus needs, or None before the deadline."""
    results = read_final(leaderboard_dir)
    if results is None:
        return None
    checks = {}
    for path in sorted(Path(model_checks_dir).glob("*.json")):
        try:
            checks[path.stem] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # an unreadable check counts as no model
    return FinalBoard(Path(leaderboard_dir), results, read_teams(leaderboard_dir), checks)
