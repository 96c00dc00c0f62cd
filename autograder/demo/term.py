"""The demo class's term: hand-in times, a few late hand-ins, one extension, one missing time.

Data, then two writers the demo class calls:

- :data:`HAND_INS`: when each student handed in, in hours after :data:`DUE` (students not
  listed handed in two hours early; ``None``: no ``timestamp.txt`` at all);
- :data:`EXTENSIONS`: the students with their own due date, and why;
- :func:`write_timestamps` writes nbgrader's ``timestamp.txt`` into each student's
  ``submitted/STUDENT/cnn/`` folder, as ``nbgrader collect`` leaves it;
- :func:`write_extensions` writes the extensions CSV that ``coursekit grades late
  --extensions`` reads;
- :func:`expected_lateness` says what the default policy (``Settings().late``) must make
  of each of them, for the tests.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from autograder.settings import DEFAULTS

ASSIGNMENT = "cnn"
DUE = datetime(2026, 11, 13, 0, 0, tzinfo=UTC)  # the demo leaderboard closes then too
ON_TIME = -2.0  # hours: students not in HAND_INS
HAND_INS: dict[str, float | None] = {
    "ben": 0.1,  # six minutes late: within the grace period
    "cleo": 3.0,  # 1 day started: -10 %
    "dara": 49.0,  # 3 days started: -30 %
    "dev": 30.0,  # 2 days late, but has an extension: on time
    "gus": None,  # no timestamp.txt: no penalty, a note for a TA
}
EXTENSIONS = {"dev": (72.0, "illness, with a doctor's note")}  # hours after DUE, reason
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"  # nbgrader's Exchange.timestamp_format


@dataclass(frozen=True)
class Expected:
    """What the late policy must make of one demo student."""

    days: int = 0
    percent: float = 0.0
    review: bool = False  # a TA must check the hand-in time


def hand_in_time(student: str, due: datetime = DUE) -> datetime | None:
    hours = HAND_INS.get(student, ON_TIME)
    return None if hours is None else due + timedelta(hours=hours)


def write_timestamps(submitted: Path, due: datetime = DUE) -> list[str]:
    """``timestamp.txt`` in each ``submitted/STUDENT/cnn/`` (none for a ``None`` hand-in).

    Returns the students given one.
    """
    written = []
    for folder in sorted(Path(submitted).glob(f"*/{ASSIGNMENT}")):
        student = folder.parent.name
        when = hand_in_time(student, due)
        stamp = folder / "timestamp.txt"
        if when is None:
            stamp.unlink(missing_ok=True)
            continue
        stamp.write_text(when.astimezone(UTC).strftime(TIMESTAMP_FORMAT))
        written.append(student)
    return written


def write_extensions(path: Path, due: datetime = DUE) -> Path:
    """The extensions CSV (student, due, reason) for :data:`EXTENSIONS`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["student", "due", "reason"])
        for student, (hours, reason) in sorted(EXTENSIONS.items()):
            writer.writerow([student, (due + timedelta(hours=hours)).isoformat(), reason])
    return path


def expected_lateness(student: str) -> Expected:
    """What the default late policy makes of ``student``'s hand-in."""
    hours = HAND_INS.get(student, ON_TIME)
    if hours is None:
        return Expected(review=True)
    if student in EXTENSIONS:
        hours -= EXTENSIONS[student][0]
    policy = DEFAULTS.late
    if hours * 60 <= policy.grace_minutes:
        return Expected()
    days = -(-int(hours * 3600) // 86400)
    return Expected(days, min(policy.percent_per_day * days, policy.cap_percent))
