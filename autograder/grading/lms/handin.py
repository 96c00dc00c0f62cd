"""When a student handed in, and how that is known.

:func:`hand_in_time` takes the first of:

1. nbgrader's ``timestamp.txt`` in the student's submission folder (``nbgrader
   collect`` and the exchange write it: ``2026-11-20 23:59:00.000000 UTC``);
2. the LMS's export: the ``Last modified (submission)`` column of Moodle's grading
   worksheet, when ``coursekit grade --roster`` is given one (Canvas's downloads and
   gradebook carry no hand-in time);
3. the files' own time (their latest modification; for a zip, the time stored with
   the entry): copies and checkouts reset it, so a hand-in known only this way gets no
   penalty unless the late policy trusts file times (:mod:`autograder.grading.lms.late`).

An unreadable ``timestamp.txt`` is noted and the next source is used.
:func:`stamp_hand_in` keeps the result in ``late/handins/STUDENT.json`` and states
the source in the student's record.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from autograder.grading.lms.late import (
    HandIn,
    HandInSource,
    LateError,
    parse_time,
    read_deadline,
    show_time,
    write_hand_in,
)
from autograder.grading.pipeline.ingest import (
    StudentFiles,
    UnreadableSubmission,
    printable,
    read_submission_bytes,
)
from autograder.settings import LatePolicy

MOODLE_SUBMITTED = "Last modified (submission)"
MAX_TIMESTAMP_BYTES = 1024
NO_SUBMISSION = ("", "-")  # what Moodle's worksheet shows for no submission


def hand_in_time(
    files: StudentFiles, timezone: str = "UTC", lms: Mapping[str, datetime] | None = None
) -> HandIn:
    """``files``' hand-in time from the best source there is; see the module docstring."""
    file_time = _file_time(files)
    detail = ""
    if files.timestamp is not None:
        try:
            data = read_submission_bytes(files.timestamp, MAX_TIMESTAMP_BYTES, root=files.root)
            when = parse_time(data.decode("utf-8", errors="replace"), timezone)
            return HandIn(when.isoformat(), HandInSource.TIMESTAMP, "", file_time)
        except (UnreadableSubmission, ValueError, LateError, OverflowError) as error:
            detail = f"timestamp.txt unreadable: {printable(str(error))[:120]}"
    elif files.notebooks:
        detail = "no timestamp.txt"
    if lms and files.student in lms:
        return HandIn(lms[files.student].isoformat(), HandInSource.LMS, detail, file_time)
    if file_time:
        return HandIn(file_time, HandInSource.FILE_TIME, detail, file_time)
    return HandIn("", HandInSource.NONE, detail or "no file to date", "")


def _file_time(files: StudentFiles) -> str:
    """The latest modification time of the student's notebooks, ISO in UTC; "" if none."""
    times = []
    for path in files.notebooks.values():
        try:
            times.append(os.stat(path, follow_symlinks=False).st_mtime)
        except OSError:
            continue
    if not times:
        return ""
    return datetime.fromtimestamp(max(times), UTC).isoformat(timespec="seconds")


def lms_times(roster: Path | None, timezone: str = "UTC") -> dict[str, datetime]:
    """Student id -> hand-in time from a Moodle grading worksheet; {} for other rosters."""
    if roster is None:
        return {}
    stat = os.stat(roster)
    return dict(_lms_times(str(roster), stat.st_mtime_ns, timezone))


@functools.lru_cache(maxsize=4)
def _lms_times(roster: str, _changed: int, timezone: str) -> tuple[tuple[str, datetime], ...]:
    from autograder.grading.lms.roster import RosterFormat, read_roster

    read = read_roster(Path(roster))
    column = read.index(MOODLE_SUBMITTED)
    if read.format is not RosterFormat.MOODLE_WORKSHEET or column is None:
        return ()
    times = []
    for entry in read.entries:
        text = entry.values[column].strip() if column < len(entry.values) else ""
        if text in NO_SUBMISSION or not entry.student_id:
            continue
        try:
            times.append((entry.student_id, parse_time(text, timezone)))
        except (ValueError, LateError, OverflowError):
            continue  # the file time is the next best; the record says which was used
    return tuple(times)


def stamp_hand_in(run, files: StudentFiles, record) -> HandIn:
    """Keep ``files``' hand-in time for the late policy and say in ``record`` where it came from."""
    deadline = read_deadline(run.folder)
    policy = deadline.policy if deadline else LatePolicy()
    lms = lms_times(getattr(run, "roster", None), policy.timezone)
    hand_in = hand_in_time(files, policy.timezone, lms)
    write_hand_in(run.folder, files.student, hand_in)
    record.notes.append(describe(hand_in, policy.timezone))
    return hand_in


def describe(hand_in: HandIn, timezone: str = "UTC") -> str:
    """``hand_in`` in words: "handed in 2026-11-21 10:00 UTC (timestamp.txt)"."""
    detail = f"; {hand_in.detail}" if hand_in.detail else ""
    if hand_in.when is None:
        return f"hand-in time unknown{detail}"
    return f"handed in {show_time(hand_in.when, timezone)} (from {hand_in.source}{detail})"
