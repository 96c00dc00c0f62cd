"""The class list an LMS exports, and which graded student is which row of it.

:func:`read_roster` tells the format by its header:

- Canvas's gradebook export (Grades > Export): ``Student, ID, SIS User ID,
  SIS Login ID, Section, <assignment (id)>, ...``, with a "Points Possible"
  row under the header and sometimes Canvas's own "Student, Test";
- Moodle's grading worksheet (the assignment's "Download grading
  worksheet"): ``Identifier, Full name, Email address, Status, Grade, ...``,
  where Identifier is ``Participant 1234567``;
- Moodle's grades or participants export: ``First name, Last name,
  ID number, Email address, ...``.

:func:`match_roster` pairs each graded student id with one row: by the
LMS's own id where both have one (``canvas-12345`` is the row whose ID is
12345), else by a login (an nbgrader folder named after a SIS login, an
email or an ID number), else by name. It never guesses: a student who could
be several rows is reported as ambiguous, as are two students who claim one
row.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from autograder.grading.lms.identity import (
    Lms,
    StudentIdentity,
    lms_of_student_id,
    lms_student_id,
    name_student_id,
    normalise_name,
)
from autograder.grading.pipeline.ingest import printable
from utilities.errors import CourseKitError

MAX_ROSTER_BYTES = 20 * 1024**2
DELIMITERS = (",", ";", "\t")  # a roster saved again by a spreadsheet may use any of these
CANVAS_ID_COLUMNS = (
    "Student",
    "ID",
    "SIS User ID",
    "SIS Login ID",
    "Integration ID",
    "Root Account",
    "Section",
)
"""The columns of a Canvas gradebook export that say who a row is (all before the grades)."""
CANVAS_LOGIN_COLUMNS = ("SIS Login ID", "SIS User ID", "Integration ID")
MOODLE_USER_COLUMNS = (
    "First name",
    "Last name",
    "ID number",
    "Username",
    "Institution",
    "Department",
    "Email address",
)
"""The columns of a Moodle grades or participants export that say who a row is."""
POINTS_POSSIBLE = "Points Possible"
CANVAS_TEST_STUDENTS = ("Student, Test", "Test Student")
EXPECTED = (
    "a Canvas gradebook export (Student, ID, SIS User ID, SIS Login ID, Section, ...), "
    "a Moodle grading worksheet (Identifier, Full name, Email address, Status, Grade, ...) "
    "or a Moodle grades or participants export (First name, Last name, ID number, "
    "Email address, ...)"
)
_PARTICIPANT = re.compile(r"[^0-9]*(?P<id>[0-9]+)")
_LMS_NUMBER = re.compile(r"[0-9]{1,20}")


class RosterError(CourseKitError):
    """A roster file cannot be read; the message names the file, the row and what was expected."""


class RosterFormat(StrEnum):
    """Which export a roster file is."""

    CANVAS_GRADEBOOK = "Canvas gradebook export"
    MOODLE_WORKSHEET = "Moodle grading worksheet"
    MOODLE_USERS = "Moodle grades or participants export"

    @property
    def lms(self) -> Lms:
        return Lms.CANVAS if self is RosterFormat.CANVAS_GRADEBOOK else Lms.MOODLE

    @property
    def has_lms_ids(self) -> bool:
        """Whether each row carries the id the submissions carry (user or participant id)."""
        return self is not RosterFormat.MOODLE_USERS


@dataclass(frozen=True)
class RosterEntry:
    """One student of a roster.

    ``values`` are the row's cells as exported, one per header column;
    ``names`` the student's name as the submissions may show it, the usual
    order first; ``logins`` the other ids they may be known by (SIS login,
    email and its local part, ID number).
    """

    row: int  # the spreadsheet's row number; the header is row 1
    values: tuple[str, ...]
    display_name: str
    lms: Lms
    lms_id: str = ""  # Canvas's user ID or Moodle's participant id; "" when the export has none
    names: tuple[str, ...] = ()
    logins: tuple[str, ...] = ()

    @property
    def student_id(self) -> str:
        """The student id the LMS's submissions give this student, or ``""``."""
        return lms_student_id(self.lms, self.lms_id) if self.lms_id else ""

    @property
    def label(self) -> str:
        return f"{printable(self.display_name) or '(no name)'} (row {self.row})"


@dataclass(frozen=True)
class Roster:
    """A roster file: its format, header, students and Canvas's "Points Possible" row."""

    path: Path
    format: RosterFormat
    header: tuple[str, ...]
    entries: tuple[RosterEntry, ...]
    points_possible: tuple[str, ...] | None = None

    @property
    def lms(self) -> Lms:
        return self.format.lms

    def index(self, column: str) -> int | None:
        """The position of ``column`` in the header (case and outer spaces aside), if there."""
        wanted = column.strip().casefold()
        for position, name in enumerate(self.header):
            if name.strip().casefold() == wanted:
                return position
        return None


@dataclass(frozen=True)
class RosterMatch:
    """Which roster row each graded student is.

    ``matched``: student id -> its row. ``unknown``: graded students on no
    row. ``ambiguous``: graded students who could be several rows, or who
    share one row with another graded student (neither is matched).
    ``missing``: rows no graded student is, or could be.
    """

    matched: dict[str, RosterEntry]
    unknown: tuple[str, ...]
    ambiguous: dict[str, tuple[RosterEntry, ...]]
    missing: tuple[RosterEntry, ...]


def read_roster(path: Path) -> Roster:
    """The roster in ``path``, a CSV file exported by Canvas or Moodle.

    Raises :class:`RosterError` naming the file, the row and what was
    expected when the file cannot be read, is not one of the formats, or a
    row lacks the id its format promises.
    """
    path = Path(path)
    rows = _rows(path, _text(path))
    if not rows:
        raise RosterError(f"{path}: the file is empty; expected {EXPECTED}")
    header_row, header = rows[0]
    header = tuple(cell.strip() for cell in header)
    kind = _format_of(header)
    if kind is None:
        shown = printable(", ".join(header))[:200]
        raise RosterError(f"{path}: row {header_row}: the header ({shown}) is not {EXPECTED}")
    body = [(row, _fit(path, row, cells, len(header))) for row, cells in rows[1:]]
    reader = {
        RosterFormat.CANVAS_GRADEBOOK: _canvas,
        RosterFormat.MOODLE_WORKSHEET: _moodle_worksheet,
        RosterFormat.MOODLE_USERS: _moodle_users,
    }[kind]
    return reader(path, header, body)


def match_roster(
    roster: Roster,
    student_ids: Iterable[str],
    identities: Mapping[str, StudentIdentity] | None = None,
) -> RosterMatch:
    """Pair each graded student id with one row of ``roster``; see the module docstring.

    ``identities`` (from :func:`autograder.grading.lms.identity.read_identities`) give
    the names and logins behind ids that are not made of a roster's id.
    """
    identities = identities or {}
    finder = _Finder(roster)
    found = {
        student: finder.candidates(student, identities.get(student))
        for student in sorted(set(student_ids))
    }
    claims: dict[int, int] = defaultdict(int)
    for candidates in found.values():
        if len(candidates) == 1:
            claims[candidates[0].row] += 1
    matched, ambiguous, unknown = {}, {}, []
    for student, candidates in found.items():
        if not candidates:
            unknown.append(student)
        elif len(candidates) > 1 or claims[candidates[0].row] > 1:
            ambiguous[student] = candidates
        else:
            matched[student] = candidates[0]
    seen = {entry.row for candidates in found.values() for entry in candidates}
    missing = tuple(entry for entry in roster.entries if entry.row not in seen)
    return RosterMatch(matched, tuple(unknown), ambiguous, missing)


# ---- reading ---------------------------------------------------------------------


def _text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_ROSTER_BYTES:
            limit = MAX_ROSTER_BYTES // 1024**2
            raise RosterError(f"{path}: {size:,} bytes, over the {limit} MB limit for a roster")
        data = path.read_bytes()
    except OSError as error:
        raise RosterError(f"{path}: cannot read the roster ({error.strerror or error})") from None
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16")  # Excel's "Unicode text"
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RosterError(
            f"{path}: not UTF-8 text (byte {error.start:,}); export it again from the LMS, "
            "or save it as 'CSV UTF-8'"
        ) from None


def _rows(path: Path, text: str) -> list[tuple[int, list[str]]]:
    """(row number, cells) of each row that is not blank, read with the header's delimiter."""
    delimiter = next(
        (d for d in DELIMITERS if _format_of(_first_row(text, d)) is not None), DELIMITERS[0]
    )
    rows = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for number, cells in enumerate(reader, start=1):
            if any(cell.strip() for cell in cells):
                rows.append((number, cells))
    except csv.Error as error:
        raise RosterError(f"{path}: row {reader.line_num}: not valid CSV ({error})") from None
    return rows


def _first_row(text: str, delimiter: str) -> tuple[str, ...]:
    try:
        first = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    except csv.Error:
        return ()
    return tuple(cell.strip() for cell in first)


def _format_of(header: tuple[str, ...]) -> RosterFormat | None:
    names = {cell.strip().casefold() for cell in header}
    if {"student", "id"} <= names and names & {"section", "sis login id", "sis user id"}:
        return RosterFormat.CANVAS_GRADEBOOK
    if {"identifier", "full name"} <= names:
        return RosterFormat.MOODLE_WORKSHEET
    if {"first name", "last name"} <= names and names & {"email address", "id number", "username"}:
        return RosterFormat.MOODLE_USERS
    return None


def _fit(path: Path, row: int, cells: list[str], width: int) -> tuple[str, ...]:
    """``cells`` as many as the header has: empty ones added, empty extra ones dropped."""
    if len(cells) > width and any(cell.strip() for cell in cells[width:]):
        raise RosterError(
            f"{path}: row {row}: {len(cells)} cells, but the header has {width}; "
            "expected one cell per column"
        )
    return tuple(cells[:width]) + ("",) * (width - len(cells))


def _columns(header: tuple[str, ...]) -> dict[str, int]:
    """Lower-case column name -> its first position."""
    columns: dict[str, int] = {}
    for position, name in enumerate(header):
        columns.setdefault(name.strip().casefold(), position)
    return columns


def _cell(cells: tuple[str, ...], columns: dict[str, int], name: str) -> str:
    position = columns.get(name.casefold())
    return cells[position].strip() if position is not None else ""


def _canvas(path: Path, header: tuple[str, ...], body) -> Roster:
    columns = _columns(header)
    entries, points, seen = [], None, {}
    for row, cells in body:
        name, user = _cell(cells, columns, "Student"), _cell(cells, columns, "ID")
        if name == POINTS_POSSIBLE:
            points = points or cells
            continue
        if (not name and not user) or name in CANVAS_TEST_STUDENTS:
            continue  # Canvas's "Muted" or "Manual Posting" row, and its test student
        lms_id = _lms_id(path, row, user, "ID", "Canvas's numeric user ID")
        _check_once(path, row, f"ID {user}", seen)
        logins = [_cell(cells, columns, column) for column in CANVAS_LOGIN_COLUMNS]
        entries.append(
            RosterEntry(
                row,
                cells,
                normalise_name(name),
                Lms.CANVAS,
                lms_id,
                names=_name_orders(name),
                logins=_logins([*logins, lms_id]),
            )
        )
    return Roster(path, RosterFormat.CANVAS_GRADEBOOK, header, tuple(entries), points)


def _moodle_worksheet(path: Path, header: tuple[str, ...], body) -> Roster:
    columns = _columns(header)
    if "grade" not in columns:
        raise RosterError(
            f"{path}: row 1: no Grade column; expected Moodle's grading worksheet as "
            "downloaded (Identifier, Full name, Email address, Status, Grade, ...)"
        )
    entries, seen = [], {}
    for row, cells in body:
        identifier = _cell(cells, columns, "Identifier")
        participant = _PARTICIPANT.fullmatch(identifier)
        if participant is None or not _LMS_NUMBER.fullmatch(participant["id"]):
            raise RosterError(
                f"{path}: row {row}: Identifier is {printable(identifier)[:80]!r}; expected "
                "'Participant' and a number, as in Moodle's grading worksheet"
            )
        lms_id = participant["id"]
        _check_once(path, row, f"Identifier {identifier}", seen)
        name = _cell(cells, columns, "Full name")
        entries.append(
            RosterEntry(
                row,
                cells,
                normalise_name(name),
                Lms.MOODLE,
                lms_id,
                names=(normalise_name(name),),
                logins=_moodle_logins(cells, columns),
            )
        )
    return Roster(path, RosterFormat.MOODLE_WORKSHEET, header, tuple(entries))


def _moodle_users(path: Path, header: tuple[str, ...], body) -> Roster:
    columns = _columns(header)
    entries = []
    for row, cells in body:
        first, last = _cell(cells, columns, "First name"), _cell(cells, columns, "Last name")
        entries.append(
            RosterEntry(
                row,
                cells,
                normalise_name(f"{first} {last}"),
                Lms.MOODLE,
                names=_unique([f"{first} {last}", f"{last} {first}", f"{last}, {first}"]),
                logins=_moodle_logins(cells, columns),
            )
        )
    return Roster(path, RosterFormat.MOODLE_USERS, header, tuple(entries))


def _lms_id(path: Path, row: int, text: str, column: str, expected: str) -> str:
    if _LMS_NUMBER.fullmatch(text) is None:
        shown = printable(text)[:80]
        raise RosterError(f"{path}: row {row}: {column} is {shown!r}; expected {expected}")
    return text


def _check_once(path: Path, row: int, what: str, seen: dict[str, int]) -> None:
    if what in seen:
        raise RosterError(
            f"{path}: row {row}: {printable(what)} is also on row {seen[what]}; "
            "each student must appear once"
        )
    seen[what] = row


def _name_orders(name: str) -> tuple[str, ...]:
    """Canvas's "Doe, Jane" as "Jane Doe" first, then as written."""
    last, comma, first = name.partition(",")
    return _unique([f"{first} {last}", name] if comma else [name])


def _moodle_logins(cells: tuple[str, ...], columns: dict[str, int]) -> tuple[str, ...]:
    email = _cell(cells, columns, "Email address")
    local = email.rpartition("@")[0] if "@" in email else ""
    others = [_cell(cells, columns, name) for name in ("Username", "ID number")]
    return _logins([email, local, *others])


def _logins(values: Iterable[str]) -> tuple[str, ...]:
    return _unique(value.strip() for value in values)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    kept = [normalise_name(value) for value in values]
    return tuple(dict.fromkeys(value for value in kept if value))


# ---- matching --------------------------------------------------------------------


class _Finder:
    """The roster's rows by each key a graded student may be found under."""

    def __init__(self, roster: Roster) -> None:
        self.roster = roster
        self.by_student_id = {e.student_id: e for e in roster.entries if e.student_id}
        self.by_login: dict[str, list[RosterEntry]] = defaultdict(list)
        self.by_name: list[dict[str, list[RosterEntry]]] = [defaultdict(list), defaultdict(list)]
        for entry in roster.entries:
            for login in entry.logins:
                self.by_login[login.casefold()].append(entry)
            for order, name in enumerate(entry.names):
                keys = {name.casefold(), name_student_id(name)}
                for key in keys:
                    self.by_name[min(order, 1)][key].append(entry)

    def candidates(self, student: str, identity: StudentIdentity | None) -> tuple[RosterEntry, ...]:
        """The rows ``student`` may be: the first of its keys that finds any, in order."""
        lms = identity.lms if identity else lms_of_student_id(student)
        exact = self.by_student_id.get(student)
        if lms is self.roster.lms and self.roster.format.has_lms_ids:
            return (exact,) if exact else ()  # the LMS's own ids decide, never names
        if exact:
            return (exact,)
        handles = [student]
        if identity is not None:
            handles += [identity.login, identity.display_name]
        names = [student] + ([identity.display_name] if identity else [])
        lookups = [
            (self.by_login, handles),
            (self.by_name[0], names),
            (self.by_name[1], names),
        ]
        for table, keys in lookups:
            found = _unique_rows(
                entry
                for key in keys
                if key
                for entry in table.get(normalise_name(key).casefold(), []) + table.get(key, [])
            )
            if found:
                return found
        return ()


def _unique_rows(entries: Iterable[RosterEntry]) -> tuple[RosterEntry, ...]:
    return tuple({entry.row: entry for entry in entries}.values())
