"""Due dates, extensions and late penalties.

An assignment's :class:`Deadline` (``coursekit grades late``) is kept in
``grading/ASSIGNMENT/late/policy.json``, its extensions (student id, new due date,
reason) in ``late/extensions.csv``, and each student's hand-in time, with the source
it came from (:mod:`autograder.grading.lms.handin`), in ``late/handins/STUDENT.json``.
:func:`lateness` is the arithmetic:

- a hand-in up to the grace period after the due date in force (the student's
  extension, if any) is on time;
- a later one loses ``percent_per_day`` of the student's own points for each day
  started since that due date (a day is 24 hours), at most ``cap_percent``;
- after the cutoff (moved by the extension, if later) it loses everything;
- without a hand-in time that can be trusted there is no penalty, and a note asks
  a TA to check: never a silent zero.

Times written without an offset are read in the deadline's time zone. The
penalty reaches nbgrader's gradebook as each notebook's ``late_submission_penalty``
(:mod:`autograder.grading.pipeline.finish`), so nbgrader's own ``grades.csv`` and
feedback carry it, and the LMS files subtract it from the total.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from autograder.grading.pipeline.ingest import printable
from autograder.layout import GradingFolder
from autograder.settings import LatePolicy
from utilities.errors import CourseKitError
from utilities.files import write_text_atomically

DAY = timedelta(days=1)
MINUS = "\u2212"
POLICY_FILE = "policy.json"
EXTENSIONS_FILE = "extensions.csv"
HANDINS = "handins"
MAX_EXTENSIONS_BYTES = 2 * 1024**2
_ZONE_WORD = re.compile(r"[A-Za-z][A-Za-z_+\-/0-9]{1,40}")
_MONTH = re.compile(r"[A-Za-z]{3,}.*\b\d{4}\b")  # a written-out date: "14 November 2026"


class LateError(CourseKitError):
    """A deadline, an extension or a time cannot be read; the message names where."""


class HandInSource(StrEnum):
    """Where a hand-in time came from, best first."""

    TIMESTAMP = "timestamp.txt"  # nbgrader's, in the student's submission folder
    LMS = "the LMS's export"  # Moodle's grading worksheet: Last modified (submission)
    FILE_TIME = "the file's time"  # when the file was last changed (a copy resets it)
    NONE = "none"


@dataclass(frozen=True)
class HandIn:
    """When a student handed in, and how that is known."""

    time: str = ""  # ISO, with its offset; "" when unknown
    source: HandInSource = HandInSource.NONE
    detail: str = ""  # what else was found: an unreadable timestamp.txt, say
    file_time: str = ""  # the files' latest modification time, for a person to compare

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", HandInSource(self.source))

    @property
    def when(self) -> datetime | None:
        return datetime.fromisoformat(self.time) if self.time else None


@dataclass(frozen=True)
class Deadline:
    """One assignment's due date and late policy."""

    due: datetime
    policy: LatePolicy = field(default_factory=LatePolicy)
    cutoff: datetime | None = None  # after it, a hand-in loses everything

    def to_json(self) -> str:
        return json.dumps(
            {
                "due": self.due.isoformat(),
                "cutoff": self.cutoff.isoformat() if self.cutoff else None,
                "policy": asdict(self.policy),
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> Deadline:
        data = json.loads(text)
        cutoff = data.get("cutoff")
        return cls(
            datetime.fromisoformat(data["due"]),
            LatePolicy(**data.get("policy", {})),
            datetime.fromisoformat(cutoff) if cutoff else None,
        )


@dataclass(frozen=True)
class Extension:
    """A student's own due date."""

    student: str
    due: datetime
    reason: str
    row: int = 0


@dataclass(frozen=True)
class Lateness:
    """What the deadline makes of one hand-in."""

    days: int = 0  # days started after the due date in force; 0: on time
    percent: float = 0.0  # of the student's own points
    note: str = ""  # for the teaching team: "2 days late: −10 %", "extension to ..."
    review: str = ""  # why a TA should check the hand-in time ("" when nothing to check)
    hand_in: HandIn = field(default_factory=HandIn)

    def penalty(self, points: float) -> float:
        """The points lost out of ``points``."""
        return round(max(points, 0.0) * self.percent / 100, 2)

    def notice(self, lost: float) -> str:
        """The line a student reads on a feedback page that loses ``lost`` points; "" if none."""
        if not self.percent:
            return ""
        if self.percent >= 100 and self.days == 0:
            return f"Handed in after the cutoff: {MINUS}100 % ({MINUS}{lost:g} points)."
        day = "day" if self.days == 1 else "days"
        return (
            f"Handed in {self.days} {day} late: {MINUS}{self.percent:g} % ({MINUS}{lost:g} points)."
        )


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise LateError(
            f"unknown time zone {name!r} (expected a name like Europe/Berlin)"
        ) from None


def parse_time(text: str, timezone: str = "UTC") -> datetime:
    """A time as people and LMSs write it, with its offset; naive ones are in ``timezone``.

    Takes ISO 8601 (``2026-11-20T23:59``, ``…+01:00``, ``…Z``), nbgrader's
    ``2026-11-20 23:59:00.000000 UTC`` and Moodle's ``Friday, 20 November 2026, 11:59 PM``.
    Raises :class:`ValueError` for anything else.
    """
    text = " ".join(str(text).split())
    if not text:
        raise ValueError("no time given")
    place = zone(timezone)
    head, _, word = text.rpartition(" ")
    if head and _ZONE_WORD.fullmatch(word) and not word.upper().endswith(("AM", "PM")):
        place = UTC if word.upper() in ("UTC", "GMT", "Z") else zone(word)
        text = head
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        if not _MONTH.search(text):
            raise ValueError(f"{text!r} is not a time like 2026-11-20T23:59") from None
        from dateutil import parser

        value = parser.parse(text, dayfirst=True)
    return value if value.tzinfo else value.replace(tzinfo=place)


def show_time(value: datetime, timezone: str = "UTC") -> str:
    """``value`` in ``timezone``, to the minute: ``2026-11-20 23:59 CET``."""
    local = value.astimezone(zone(timezone))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def lateness(deadline: Deadline, hand_in: HandIn, extension: Extension | None = None) -> Lateness:
    """The penalty for ``hand_in``; see the module docstring."""
    policy = deadline.policy
    due = extension.due if extension else deadline.due
    shown = show_time(due, policy.timezone)
    granted = f"extension to {shown} ({extension.reason}); " if extension else ""
    when = hand_in.when
    if hand_in.source is HandInSource.FILE_TIME and not policy.trust_file_times:
        if when is not None and when > due + timedelta(minutes=policy.grace_minutes):
            review = (
                f"{granted}no hand-in time but the file's ({show_time(when, policy.timezone)}), "
                f"{_days(when - due)} day(s) after {shown}: no late penalty; check it by hand"
            )
            return Lateness(note=review, review=review, hand_in=hand_in)
        return Lateness(note=f"{granted}on time by the file's time", hand_in=hand_in)
    if when is None:
        detail = f" ({hand_in.detail})" if hand_in.detail else ""
        review = f"{granted}no hand-in time{detail}: no late penalty; check it by hand"
        return Lateness(note=review, review=review, hand_in=hand_in)
    late_by = when - due
    if late_by <= timedelta(minutes=policy.grace_minutes):
        return Lateness(note=f"{granted}on time", hand_in=hand_in)
    cutoff = deadline.cutoff
    if cutoff is not None and extension is not None and extension.due > deadline.due:
        cutoff += extension.due - deadline.due
    if cutoff is not None and when > cutoff:
        note = f"{granted}after the cutoff {show_time(cutoff, policy.timezone)}: {MINUS}100 %"
        return Lateness(0, 100.0, note, hand_in=hand_in)
    days = _days(late_by)
    percent = min(days * policy.percent_per_day, policy.cap_percent)
    note = f"{granted}{days} day{'s' if days > 1 else ''} late: {MINUS}{percent:g} %"
    return Lateness(days, float(percent), note, hand_in=hand_in)


def _days(late_by: timedelta) -> int:
    """Days started: 1 second late is 1 day, 24 hours and 1 second is 2."""
    return max(1, math.ceil(late_by / DAY))


# ---- extensions ------------------------------------------------------------------


def read_extensions(path: Path, deadline: Deadline) -> dict[str, Extension]:
    """The extensions in ``path`` (student, due, reason); :class:`LateError` names a bad row.

    Each row needs a student id (as ``grades_lms.csv`` shows it), a new due date
    later than the assignment's, and a reason; a student may appear once.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise LateError(f"{printable(path)}: cannot be read ({error.strerror or error})") from None
    if len(data) > MAX_EXTENSIONS_BYTES:
        raise LateError(f"{printable(path)}: over 2 MB; is it the extensions file?")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LateError(f"{printable(path)}: not UTF-8 text; save it as CSV UTF-8") from None
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = max((",", ";", "\t"), key=first.count)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    if header[:3] != ["student", "due", "reason"]:
        raise LateError(
            f"{printable(path)}: line 1: expected the columns student, due, reason; "
            f"found {printable(', '.join(header)) or 'nothing'}"
        )
    extensions: dict[str, Extension] = {}
    for line, cells in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in cells):
            continue
        student, due_text, reason = (cell.strip() for cell in [*cells, "", ""][:3])
        extensions[student] = _extension(
            path, line, student, due_text, reason, deadline, extensions
        )
    return extensions


def _extension(path, line, student, due_text, reason, deadline: Deadline, seen) -> Extension:
    where = f"{printable(path)}: line {line}"
    if not student:
        raise LateError(f"{where}: no student id")
    if student in seen:
        raise LateError(
            f"{where}: a second extension for {printable(student)} (line {seen[student].row})"
        )
    try:
        due = parse_time(due_text, deadline.policy.timezone)
    except (ValueError, LateError) as error:
        raise LateError(
            f"{where}: {printable(student)}'s due date: {printable(str(error))}"
        ) from None
    if due <= deadline.due:
        timezone = deadline.policy.timezone
        raise LateError(
            f"{where}: {printable(student)}'s new due date {show_time(due, timezone)} "
            f"is not after the assignment's, {show_time(deadline.due, timezone)}"
        )
    if not reason:
        raise LateError(f"{where}: no reason for {printable(student)}'s extension")
    return Extension(student, due, reason, line)


# ---- what is kept for an assignment -----------------------------------------------


def read_deadline(folder: GradingFolder) -> Deadline | None:
    """The assignment's deadline, or None when it has none."""
    path = folder.late / POLICY_FILE
    if not path.is_file():
        return None
    try:
        return Deadline.from_json(path.read_text(encoding="utf-8"))
    except (ValueError, TypeError, KeyError) as error:
        raise LateError(
            f"{path}: unreadable ({error}); set it again with coursekit grades late"
        ) from None


def write_deadline(
    folder: GradingFolder, deadline: Deadline | None, extensions: Path | None
) -> None:
    """Keep ``deadline`` (None removes it) and, if given, a copy of the extensions file."""
    folder.late.mkdir(parents=True, exist_ok=True)
    if deadline is None:
        (folder.late / POLICY_FILE).unlink(missing_ok=True)
        return
    if extensions is not None:
        write_text_atomically(
            folder.late / EXTENSIONS_FILE, Path(extensions).read_text("utf-8-sig")
        )
    write_text_atomically(folder.late / POLICY_FILE, deadline.to_json())


def kept_extensions(folder: GradingFolder, deadline: Deadline) -> dict[str, Extension]:
    path = folder.late / EXTENSIONS_FILE
    return read_extensions(path, deadline) if path.is_file() else {}


def write_hand_in(folder: GradingFolder, student: str, hand_in: HandIn) -> None:
    path = folder.late / HANDINS / f"{student}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(path, json.dumps(asdict(hand_in), indent=1))


def read_hand_in(folder: GradingFolder, student: str) -> HandIn:
    path = folder.late / HANDINS / f"{student}.json"
    try:
        return HandIn(**json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return HandIn(detail="not recorded: graded before coursekit kept hand-in times")
    except (OSError, ValueError, TypeError) as error:
        return HandIn(detail=f"its record cannot be read ({error})")


def class_lateness(folder: GradingFolder, students: Iterable[str]) -> dict[str, Lateness]:
    """Each student's lateness under the kept deadline; {} when there is no deadline."""
    deadline = read_deadline(folder)
    if deadline is None:
        return {}
    extensions = kept_extensions(folder, deadline)
    return {
        student: lateness(deadline, read_hand_in(folder, student), extensions.get(student))
        for student in students
    }
