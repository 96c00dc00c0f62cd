"""``history.csv``: every upload the leaderboard received, with what became of it.

Each row is an :class:`Upload`. The file goes through :mod:`autograder.spreadsheet`
(safe to open in a spreadsheet) and is read back with the marks stripped; a
file that cannot be read stops the run with one line and is never overwritten.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from autograder.spreadsheet import csv_text, plain_cell
from utilities.errors import CourseKitError
from utilities.files import write_text_atomically

HISTORY_CSV = "history.csv"


class LeaderboardError(CourseKitError):
    """The leaderboard's inputs or history cannot be used."""


class UploadStatus(StrEnum):
    """What became of an upload; the value is the word in ``history.csv``."""

    SCORED = "scored"
    INVALID = "invalid"  # the checker rejected the file
    OVER_DAILY_LIMIT = "over the daily limit"
    LATE = "late"
    REFUSED = "refused"  # unsafe name, BEAT ME impostor, too big, not a readable file


@dataclass
class Upload:
    """One row of ``history.csv``."""

    team: str  # the team's spelling on this upload (printable), or the refused name
    team_key: str  # empty when the name was refused
    received_at: datetime  # UTC, when a run first took the file in
    sha256: str  # empty when the file was refused before reading
    status: UploadStatus
    reason: str = ""
    public_accuracy: float | None = None
    public_f1: float | None = None
    private_accuracy: float | None = None
    private_f1: float | None = None
    file: str = ""  # the stored copy, relative to the leaderboard folder
    source: str = ""  # where it was found, relative to the uploads folder

    @property
    def identity(self) -> tuple[str, str]:
        """What makes an upload "already taken in": its team and content, or its place."""
        return (self.team_key or self.team, self.sha256 or f"@{self.source}")


HISTORY_COLUMNS = tuple(f.name for f in fields(Upload))


def read_history(path: Path) -> list[Upload]:
    """The uploads in ``history.csv``; :class:`LeaderboardError` (never a guess) if unusable."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        with open(path, newline="", encoding="utf-8") as stream:
            lines = list(csv.reader(stream))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise LeaderboardError(f"{path}: cannot be read ({error}); not overwriting it") from None
    header = [plain_cell(cell) for cell in lines[0]] if lines else []
    if tuple(header) != HISTORY_COLUMNS:
        raise LeaderboardError(
            f"{path}: expected the columns {','.join(HISTORY_COLUMNS)}, found "
            f"{','.join(header)}; not overwriting it"
        )
    history = []
    for number, cells in enumerate(lines[1:], start=2):
        try:
            history.append(_upload_from_row([plain_cell(cell) for cell in cells]))
        except ValueError as error:
            raise LeaderboardError(f"{path}: row {number}: {error}; not overwriting it") from None
    return history


def _upload_from_row(cells: list[str]) -> Upload:
    if len(cells) != len(HISTORY_COLUMNS):
        raise ValueError(f"{len(cells)} cells, expected {len(HISTORY_COLUMNS)}")
    row = dict(zip(HISTORY_COLUMNS, cells, strict=True))
    received_at = datetime.fromisoformat(row.pop("received_at"))
    if received_at.tzinfo is None:
        raise ValueError(f"received_at {received_at.isoformat()!r} has no time zone")
    texts = {name: row.pop(name) for name in _SCORE_COLUMNS}
    scores_ = {name: float(text) if text else None for name, text in texts.items()}
    status = UploadStatus(row.pop("status"))
    return Upload(**row, received_at=received_at, status=status, **scores_)


_SCORE_COLUMNS = ("public_accuracy", "public_f1", "private_accuracy", "private_f1")


def _history_row(upload: Upload) -> list[str]:
    values = {
        "received_at": upload.received_at.isoformat(timespec="seconds"),
        "status": upload.status.value,
        **{name: _score_text(getattr(upload, name)) for name in _SCORE_COLUMNS},
    }
    return [values.get(name, getattr(upload, name)) for name in HISTORY_COLUMNS]


def _score_text(value: float | None) -> str:
    return "" if value is None else f"{value:.5f}"


def write_history(path: Path, history: list[Upload]) -> None:
    write_text_atomically(path, csv_text(HISTORY_COLUMNS, [_history_row(u) for u in history]))
