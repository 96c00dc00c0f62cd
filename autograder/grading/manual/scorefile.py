"""A TA's scores file: the CSV the review page downloads, checked whole before anything is kept.

Columns (the page writes them; a spreadsheet may save them with ``;`` or tabs)::

    assignment, notebook, task, student, score, comment, ta, based_on

``based_on`` is the digest of the answer the TA read
(:func:`autograder.grading.manual.answers.answer_digest`). :func:`import_scores`
checks every row first: the assignment, a known task and student, a score that is a
number from 0 to the task's maximum, one TA, one row per answer, and an answer that
has not changed since the page was made. One bad row refuses the whole file with a
line that names the file, the row and what was expected, and nothing is written.
A row with neither score nor comment is left out (the TA has not graded it).
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from autograder.grading.manual.answers import Task, manual_tasks, read_answers
from autograder.grading.manual.store import (
    ScoreChange,
    account,
    append_history,
    current_scores,
    locked,
    now,
    read_history,
    sync_gradebook,
)
from autograder.grading.pipeline.ingest import printable
from autograder.spreadsheet import plain_cell
from utilities.errors import CourseKitError

COLUMNS = ("assignment", "notebook", "task", "student", "score", "comment", "ta", "based_on")
MAX_SCORE_FILE_BYTES = 5 * 1024**2
TA_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
DELIMITERS = (",", ";", "\t")
SHOWN_PROBLEMS = 1  # the first bad row is named; the rest are counted


class ScoreFileError(CourseKitError):
    """A scores file was refused; the message names the file, the row and what was expected."""

    def __init__(self, path: Path, problems: list[str]):
        self.problems = problems
        more = len(problems) - SHOWN_PROBLEMS
        tail = f" ({more} more bad row{'s' if more > 1 else ''})" if more > 0 else ""
        shown = "; ".join(problems[:SHOWN_PROBLEMS])
        super().__init__(f"{printable(path)}, {shown}{tail}; nothing was imported")


@dataclass(frozen=True)
class ScoreRow:
    """One checked row: a score (or a comment) for one student's answer to one task."""

    row: int  # the spreadsheet's row number; the header is row 1
    task: Task
    student: str
    score: float
    comment: str
    ta: str
    based_on: str


@dataclass
class Imported:
    """What an import changed."""

    ta: str
    changes: list[ScoreChange] = field(default_factory=list)
    unchanged: int = 0  # rows that repeat the score and comment in force
    blank: int = 0  # rows with neither score nor comment
    students: list[str] = field(default_factory=list)  # every student the file scores


def is_ta_name(name: str) -> bool:
    return bool(TA_NAME.fullmatch(name))


def read_score_file(path: Path) -> list[tuple[int, dict[str, str]]]:
    """The rows (row number, column -> text); :class:`ScoreFileError` if not a scores file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ScoreFileError(path, [f"cannot be read ({error.strerror or error})"]) from None
    if len(data) > MAX_SCORE_FILE_BYTES:
        raise ScoreFileError(path, [f"{len(data):,} bytes, over the 5 MB a scores file may have"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ScoreFileError(path, ["not UTF-8 text; save it as CSV UTF-8"]) from None
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = max(DELIMITERS, key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [name.strip().lower() for name in next(reader, [])]
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise ScoreFileError(
            path,
            [
                f"row 1: expected the columns {', '.join(COLUMNS)} (as the review page writes "
                f"them); {', '.join(missing)} missing"
            ],
        )
    rows = []
    for number, cells in enumerate(reader, 2):
        if any(cell.strip() for cell in cells):
            values = {
                name: plain_cell(cells[i]) if i < len(cells) else ""
                for i, name in enumerate(header)
            }
            rows.append((number, values))
    return rows


def check_rows(
    run, path: Path, rows: list[tuple[int, dict[str, str]]], tasks: list[Task], ta: str | None
) -> tuple[list[ScoreRow], int]:
    """Every row checked; the good rows and the number of blank ones, or :class:`ScoreFileError`."""
    from nbgrader.api import Gradebook

    by_key = {task.key: task for task in tasks}
    with Gradebook(run.gradebook_url) as gradebook:
        students = {s.student_id for s in gradebook.find_assignment(run.assignment).submissions}
    problems: list[str] = []
    checked: list[ScoreRow] = []
    seen: dict[tuple[str, str], int] = {}
    digests: dict[str, dict[str, str]] = {}
    first_ta: tuple[int, str] | None = None
    blank = 0
    for number, values in rows:
        score_text, comment = values["score"].strip(), values["comment"].strip()
        if not score_text and not comment:
            blank += 1
            continue
        problem, row = _check_row(run, number, values, by_key, students, ta)
        if row is not None:
            first = seen.setdefault((row.student, row.task.key), number)
            if first != number:
                problem = (
                    f"a second score for {row.student}'s {row.task.key} (first on row {first})"
                )
            else:
                if row.student not in digests:
                    answers = read_answers(run.layout, run.assignment, row.student, tasks)
                    digests[row.student] = {key: answer.digest for key, answer in answers.items()}
                now_digest = digests[row.student][row.task.key]
                if now_digest != row.based_on:
                    problem = (
                        f"{row.student}'s answer to {row.task.key} is not the one this file "
                        f"was graded on (based_on {row.based_on or 'missing'}, the answer now "
                        f"is {now_digest}): make the page again and grade the new answer"
                    )
        if row is not None and not problem:
            first_ta = first_ta or (number, row.ta)
            if row.ta != first_ta[1]:
                problem = (
                    f"graded by {row.ta!r}, row {first_ta[0]} by {first_ta[1]!r}: one TA a file"
                )
        if problem:
            problems.append(f"row {number}: {printable(problem)}")
        elif row is not None:
            checked.append(row)
    if problems:
        raise ScoreFileError(path, problems)
    return checked, blank


def _check_row(run, number: int, values: dict[str, str], tasks, students, ta):
    """(the problem, None) or ("", the row)."""
    assignment = values["assignment"].strip()
    if assignment and assignment != run.assignment:
        return f"scores for assignment {assignment!r}, expected {run.assignment!r}", None
    key = f"{values['notebook'].strip()}/{values['task'].strip()}"
    task = tasks.get(key)
    if task is None:
        known = ", ".join(sorted(tasks)) or "none"
        return f"unknown task {key!r}; the tasks graded by hand are {known}", None
    student = values["student"].strip()
    if student not in students:
        return (
            f"unknown student {student!r}: no submission for {run.assignment} in the gradebook",
            None,
        )
    named = values["ta"].strip()
    if not is_ta_name(named):
        return f"the TA's name {named!r} must be letters, digits, '.', '_', '-' or '@'", None
    if ta and named != ta:
        return f"graded by {named!r}, but --ta says {ta!r}", None
    score_text = values["score"].strip().replace(",", ".")
    if not score_text:
        return "a comment without a score; give the score too", None
    try:
        score = float(score_text)
    except ValueError:
        score = math.nan
    if not math.isfinite(score):
        return f"the score {values['score'].strip()!r} is not a number", None
    if score < 0:
        return f"the score {score:g} is below 0", None
    if score > task.max_score:
        return f"the score {score:g} is over {task.key}'s maximum of {task.max_score:g}", None
    row = ScoreRow(
        number, task, student, score, values["comment"].strip(), named, values["based_on"].strip()
    )
    return "", row


def import_scores(run, path: Path, ta: str | None = None) -> Imported:
    """Check ``path`` whole, then keep its changes in the history and the gradebook.

    ``run`` names the course, the assignment and the gradebook (a
    :class:`~autograder.grading.pipeline.grade.GradeRun`). The records, the
    feedback pages and the grade files are brought up to date by the caller
    (:func:`autograder.grading.pipeline.finish.refresh`).
    """
    path = Path(path)
    if ta is not None and not is_ta_name(ta):
        raise ScoreFileError(path, [f"--ta {ta!r}: letters, digits, '.', '_', '-' or '@' only"])
    rows = read_score_file(path)
    tasks = manual_tasks(run.layout, run.assignment, run.gradebook_url)
    with locked(run.folder):
        checked, blank = check_rows(run, path, rows, tasks, ta)
        ta_name = checked[0].ta if checked else (ta or "")
        students = sorted({row.student for row in checked})
        imported = Imported(ta_name, blank=blank, students=students)
        scores = current_scores(read_history(run.folder))
        at, by = now(), account()
        for row in checked:
            before = scores.get((row.student, row.task.key))
            old = before.new if before else None
            if before and (before.new, before.comment, before.based_on) == (
                row.score,
                row.comment,
                row.based_on,
            ):
                imported.unchanged += 1
                continue
            imported.changes.append(
                ScoreChange(
                    at,
                    row.ta,
                    row.student,
                    row.task.notebook,
                    row.task.name,
                    old,
                    row.score,
                    row.comment,
                    row.based_on,
                    f"{path.name}:{row.row}",
                    by,
                )
            )
        append_history(run.folder, ta_name, imported.changes)
        sync_gradebook(run, students, tasks)
    return imported
