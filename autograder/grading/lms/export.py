"""Grade files in the LMS's own import format, built on the roster it exported.

- Canvas (Grades > Import): the roster's ``Student, ID, SIS User ID,
  SIS Login ID, Section`` columns as exported, its "Points Possible" row, and
  one column for the assignment: the roster's own (``cnn (123)``) when it has
  one, so Canvas updates that assignment, else the name given, so Canvas
  makes a new one. Canvas matches rows on ``ID``.
- Moodle grading worksheet (the assignment's "Upload grading worksheet"):
  the worksheet as downloaded, with the ``Grade`` column filled in. Moodle
  matches rows on ``Identifier``.
- Moodle grades or participants export (Grades > Import > CSV file): the
  roster's ``First name, Last name, ID number, Email address`` columns and
  one for the assignment; map ``Email address`` or ``ID number`` when
  importing.

A row is written only for a student whose grade is final (``graded`` or
``graded with problems``): an LMS leaves a student who is not in the file
as they were. Students held for review or not graded, graded students on no
roster row and roster rows with no grade are all reported, never guessed.
Every cell goes through :func:`autograder.spreadsheet.csv_text`, so no name
runs as a formula when the file is opened in a spreadsheet.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from autograder.grading.lms.identity import StudentIdentity
from autograder.grading.lms.roster import (
    CANVAS_ID_COLUMNS,
    MOODLE_USER_COLUMNS,
    Roster,
    RosterEntry,
    RosterFormat,
    RosterMatch,
    match_roster,
)
from autograder.grading.pipeline.ingest import printable
from autograder.spreadsheet import csv_text
from utilities.files import write_text_atomically

WRITTEN_STATUSES = frozenset({"graded", "graded with problems"})
"""The statuses of :class:`autograder.grading.pipeline.grade.Status` whose points are final."""
MOODLE_GRADE_COLUMN = "Grade"
_COLUMN_ID = re.compile(r"\s*\([^()]*\)\s*$")  # Canvas's "(123)", Moodle's "(Real)"
_COLUMN_KIND = re.compile(r"^[^:]{1,40}:\s*")  # Moodle's "Assignment: "
SHOWN = 10  # students named per line of the summary
POINTS_POSSIBLE_LABEL = "    Points Possible"  # as Canvas writes it, spaces included


class GradingRecord(Protocol):
    """What :class:`StudentGrade` needs of a grading record (``grading.model.StudentRecord``)."""

    student: str
    score: float
    max_score: float

    @property
    def status(self) -> str: ...

    @property
    def needs_review(self) -> bool: ...


@dataclass(frozen=True)
class StudentGrade:
    """One student's total for the assignment, as grading left it."""

    identity_id: str
    points: float
    max_points: float
    status: str  # a value of autograder.grading.pipeline.grade.Status
    needs_review: bool = False

    @classmethod
    def from_record(cls, record: GradingRecord) -> StudentGrade:
        return cls(
            record.student,
            float(record.score),
            float(record.max_score),
            str(record.status),
            bool(record.needs_review),
        )

    @property
    def not_final_because(self) -> str:
        """Why these points may not go to the LMS; ``""`` when they may."""
        if self.status not in WRITTEN_STATUSES:
            return self.status
        if not (math.isfinite(self.points) and math.isfinite(self.max_points)):
            return f"the score is {self.points:g} of {self.max_points:g}"
        return ""


@dataclass(frozen=True)
class GradeFile:
    """A grade file's text and what went into it.

    ``written``: student id -> the roster row written for it. ``withheld``:
    student id -> why its row was left out although it matched.
    ``needs_review``: written students a TA should still look at. ``labels``:
    student id -> how to name the student to a person.
    """

    format: RosterFormat
    column: str
    text: str
    written: dict[str, RosterEntry]
    withheld: dict[str, str]
    match: RosterMatch
    notes: tuple[str, ...]
    needs_review: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)

    def summary(self) -> list[str]:
        """Lines for a person: counts, then who was left out and why."""
        match = self.match
        graded = len(match.matched) + len(match.unknown) + len(match.ambiguous)
        lines = [
            f"{len(self.written)} grades written ({self.format}, column {self.column!r}); "
            f"{len(match.matched)} of {graded} graded students matched the roster"
        ]
        if match.unknown:
            unknown = [self.labels.get(student, student) for student in match.unknown]
            lines.append(f"{len(unknown)} graded but on no roster row: {_some(unknown)}")
        if match.ambiguous:
            could = [
                f"{self.labels.get(student, student)} (rows "
                f"{', '.join(str(entry.row) for entry in entries)})"
                for student, entries in match.ambiguous.items()
            ]
            lines.append(
                f"{len(could)} could be more than one roster row, left out: {_some(could)}"
            )
        if self.withheld:
            why = [
                f"{self.labels.get(student, student)}: {reason}"
                for student, reason in self.withheld.items()
            ]
            lines.append(f"{len(why)} matched but not final, left out: {_some(why)}")
        if self.needs_review:
            marked = [self.labels.get(student, student) for student in self.needs_review]
            lines.append(f"{len(marked)} written but marked for a TA's review: {_some(marked)}")
        if match.missing:
            rows = [entry.label for entry in match.missing]
            lines.append(f"{len(rows)} on the roster with no graded submission: {_some(rows)}")
        return lines + list(self.notes)


def grade_file(
    grades: Iterable[StudentGrade],
    roster: Roster,
    column: str,
    identities: Mapping[str, StudentIdentity] | None = None,
) -> GradeFile:
    """The grade file for ``grades`` in the format of ``roster``; see the module docstring.

    ``column`` is the assignment's name: the roster's column of that name
    (``cnn (123)`` for ``cnn``) is used when there is one. Raises
    :class:`ValueError` when a student has two grades.
    """
    by_id: dict[str, StudentGrade] = {}
    for grade in grades:
        if grade.identity_id in by_id:
            raise ValueError(f"two grades for {grade.identity_id!r}")
        by_id[grade.identity_id] = grade
    match = match_roster(roster, by_id, identities)
    written = {s: e for s, e in match.matched.items() if not by_id[s].not_final_because}
    withheld = {s: by_id[s].not_final_because for s in match.matched if s not in written}
    rows_of = {entry.row: by_id[student] for student, entry in written.items()}
    layout = _layout(roster, column)
    notes = _max_points_notes(roster, layout, list(rows_of.values()))
    rows: list[Sequence[str]] = []
    if roster.format is RosterFormat.CANVAS_GRADEBOOK:
        rows.append(_points_possible_row(roster, layout, list(rows_of.values())))
    for entry in roster.entries:
        if entry.row in rows_of:
            rows.append(layout.row(entry.values, _points(rows_of[entry.row].points)))
    text = csv_text(layout.header, rows)
    labels = {student: identity.label for student, identity in (identities or {}).items()}
    labels.update(
        (student, f"{entry.display_name} ({student})") for student, entry in match.matched.items()
    )
    review = tuple(student for student in written if by_id[student].needs_review)
    return GradeFile(
        roster.format, layout.name, text, written, withheld, match, tuple(notes), review, labels
    )


def write_grade_file(
    out: Path,
    grades: Iterable[StudentGrade],
    roster: Roster,
    column: str,
    identities: Mapping[str, StudentIdentity] | None = None,
) -> GradeFile:
    """:func:`grade_file`, written to ``out`` so that no reader ever sees half of it."""
    made = grade_file(grades, roster, column, identities)
    write_text_atomically(Path(out), made.text)
    return made


# ---- layouts ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """The grade file's columns: roster columns copied, and where the grade goes."""

    header: tuple[str, ...]
    kept: tuple[int, ...]  # roster columns copied, in order
    grade_at: int | None  # the roster column the grade replaces (all are kept); None: added
    source: int | None  # the roster's own column for the assignment, if it has one

    @property
    def name(self) -> str:
        return self.header[-1] if self.grade_at is None else self.header[self.grade_at]

    def row(self, values: Sequence[str], grade: str) -> list[str]:
        cells = [grade if i == self.grade_at else values[i] for i in self.kept]
        return cells if self.grade_at is not None else [*cells, grade]


def _layout(roster: Roster, column: str) -> _Layout:
    if roster.format is RosterFormat.MOODLE_WORKSHEET:
        grade = roster.index(MOODLE_GRADE_COLUMN)  # read_roster refuses a worksheet without
        return _Layout(roster.header, tuple(range(len(roster.header))), grade, grade)
    identity_columns = (
        CANVAS_ID_COLUMNS if roster.format is RosterFormat.CANVAS_GRADEBOOK else MOODLE_USER_COLUMNS
    )
    wanted = {name.casefold() for name in identity_columns}
    kept = tuple(i for i, name in enumerate(roster.header) if name.casefold() in wanted)
    source = _assignment_column(roster, column, kept)
    name = roster.header[source] if source is not None else column
    return _Layout((*(roster.header[i] for i in kept), name), kept, None, source)


def _assignment_column(roster: Roster, column: str, kept: tuple[int, ...]) -> int | None:
    """The roster's column for the assignment ``column``: ``cnn (123)``, ``Assignment: cnn``."""
    wanted = column.strip().casefold()
    for position, name in enumerate(roster.header):
        bare = _COLUMN_ID.sub("", name).strip()
        names = {name.strip(), bare, _COLUMN_KIND.sub("", bare)}
        if position not in kept and wanted in {text.casefold() for text in names}:
            return position
    return None


def _points_possible_row(roster: Roster, layout: _Layout, grades: list[StudentGrade]) -> list[str]:
    """Canvas's second row: "Points Possible" under Student, the points under the grade."""
    exported = roster.points_possible
    if exported:
        cells = [exported[i] for i in layout.kept]
    else:
        cells = [POINTS_POSSIBLE_LABEL] + [""] * (len(layout.kept) - 1)
    if exported and layout.source is not None and _number(exported[layout.source]) is not None:
        points = exported[layout.source].strip()
    else:
        points = _points(max((grade.max_points for grade in grades), default=0.0))
    return [*cells, points]


def _max_points_notes(roster: Roster, layout: _Layout, grades: list[StudentGrade]) -> list[str]:
    """A warning when the LMS's maximum for the assignment is not the grader's."""
    ours = sorted({grade.max_points for grade in grades})
    notes = []
    if len(ours) > 1:
        shown = ", ".join(_points(value) for value in ours)
        notes.append(f"note: students' maximum points differ ({shown}); points written as they are")
    theirs: set[float] = set()
    if roster.format is RosterFormat.CANVAS_GRADEBOOK and roster.points_possible:
        if layout.source is not None:
            value = _number(roster.points_possible[layout.source])
            theirs = {value} if value is not None else set()
    elif roster.format is RosterFormat.MOODLE_WORKSHEET:
        maximum = roster.index("Maximum Grade")
        if maximum is not None:
            values = (_number(entry.values[maximum]) for entry in roster.entries)
            theirs = {value for value in values if value is not None}
    if ours and theirs and theirs != set(ours):
        notes.append(
            f"note: the LMS's maximum for {layout.name!r} is "
            f"{', '.join(_points(value) for value in sorted(theirs))}, the grader's is "
            f"{', '.join(_points(value) for value in ours)}; points written unscaled"
        )
    return notes


def _number(text: str) -> float | None:
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _points(value: float) -> str:
    """Points as an LMS reads them: at most two decimals, no trailing zeros."""
    text = f"{round(value, 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _some(items: Sequence[str]) -> str:
    shown = ", ".join(printable(item) for item in items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")
