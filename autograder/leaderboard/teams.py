"""Registered teams: who is in which team comes from the course staff, never from a notebook.

``teams.csv`` in the leaderboard folder has one row per member, ``team,student``,
with the student id grading uses (``coursekit grade``'s records). Each student is
in at most one team, and two teams never have names that look alike (their
confusable skeletons, :func:`~autograder.leaderboard.names.team_key`, differ).
``coursekit leaderboard ASSIGNMENT --register TEAM --members ID,ID`` adds a team;
an instructor may also write the file. When the file exists, uploads from a
team that is not in it are refused; the bonus points in the grades go to
registered members only.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from autograder.leaderboard.history import LeaderboardError
from autograder.leaderboard.names import UploadRefused, printable, team_name
from autograder.spreadsheet import csv_text, plain_cell
from utilities.files import write_text_atomically

TEAMS_CSV = "teams.csv"
COLUMNS = ("team", "student")


@dataclass
class Teams:
    """The registered teams: each team's name and members, by team key."""

    names: dict[str, str] = field(default_factory=dict)  # team key -> name as registered
    members: dict[str, list[str]] = field(default_factory=dict)  # team key -> student ids
    registry: bool = False  # whether teams.csv exists: then only these teams may upload

    def team_of(self, student: str) -> str | None:
        """The key of ``student``'s team, or None when the student is in none."""
        for key, members in self.members.items():
            if student in members:
                return key
        return None

    def add(self, name: str, students: list[str], where: str = "") -> None:
        """Register a team; :class:`LeaderboardError` naming ``where`` if the rules forbid it."""
        prefix = f"{where}: " if where else ""
        try:
            team = team_name(name)
        except UploadRefused as error:
            raise LeaderboardError(f"{prefix}{error}") from None
        known = self.names.get(team.key)
        if known is not None and known != team.display:
            raise LeaderboardError(
                f"{prefix}the team name {printable(name)!r} looks like the registered team "
                f"{printable(known)!r}; choose a name that looks different"
            )
        for student in students:
            other = self.team_of(student)
            if not student or any(c in student for c in ",/\\") or not student.isprintable():
                raise LeaderboardError(f"{prefix}{printable(student)!r} is not a student id")
            if other is not None and other != team.key:
                raise LeaderboardError(
                    f"{prefix}student {student} is already in the team {self.names[other]!r}; "
                    "each student is in at most one team"
                )
        self.names[team.key] = team.display
        current = self.members.setdefault(team.key, [])
        current += [student for student in students if student not in current]


def read_teams(folder: Path) -> Teams:
    """The teams registered in ``folder/teams.csv`` (none, and no registry, without the file)."""
    path = Path(folder) / TEAMS_CSV
    return read_teams_file(path) if path.is_file() else Teams()


def read_teams_file(path: Path) -> Teams:
    """The teams of a ``team,student`` file; :class:`LeaderboardError` naming a bad line."""
    teams = Teams(registry=True)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise LeaderboardError(f"{path}: cannot be read ({error})") from None
    rows = list(csv.reader(io.StringIO(text)))
    header = tuple(plain_cell(cell).strip().lower() for cell in rows[0]) if rows else ()
    if header != COLUMNS:
        raise LeaderboardError(f"{path}: line 1: expected the header team,student")
    for line, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != 2:
            raise LeaderboardError(f"{path}: line {line}: expected 2 columns (team,student)")
        name, student = (plain_cell(cell).strip() for cell in cells)
        teams.add(name, [student], where=f"{path}: line {line}")
    return teams


def write_teams(folder: Path, teams: Teams) -> Path:
    path = Path(folder) / TEAMS_CSV
    rows = [
        [teams.names[key], student]
        for key in sorted(teams.names, key=lambda k: teams.names[k].casefold())
        for student in teams.members[key]
    ]
    write_text_atomically(path, csv_text(COLUMNS, rows))
    return path


def register_team(folder: Path, name: str, students: list[str]) -> Teams:
    """Add a team to ``folder/teams.csv`` (made when missing); the teams afterwards."""
    teams = read_teams(folder)
    teams.add(name, [student.strip() for student in students])
    teams.registry = True
    Path(folder).mkdir(parents=True, exist_ok=True)
    write_teams(folder, teams)
    return teams


def import_teams(folder: Path, path: Path) -> Teams:
    """Register every team of the ``team,student`` file ``path`` in ``folder/teams.csv``.

    The whole file is checked first (:class:`LeaderboardError` naming its
    line); nothing is written unless every row can be registered.
    """
    path = Path(path)
    if not path.is_file():
        raise LeaderboardError(f"{path}: no such file")
    incoming = read_teams_file(path)
    teams = read_teams(folder)
    for key, name in incoming.names.items():
        teams.add(name, incoming.members[key], where=str(path))
    teams.registry = True
    Path(folder).mkdir(parents=True, exist_ok=True)
    write_teams(folder, teams)
    return teams
