"""The TAs' scores and comments: an append-only history, and the gradebook kept in step with it.

Every change is one line of JSON in ``grading/ASSIGNMENT/manual/history/TA.jsonl``
(:class:`ScoreChange`: who, when, which answer, old and new score, the comment,
the answer it was based on, and the file and row it came from). Each TA appends to
their own file under an exclusive lock (``manual/.lock``), so several TAs importing
at once never overwrite each other, and the latest change of an answer is its
score. The history is the truth: :func:`sync_gradebook` makes nbgrader's gradebook
agree with it (``grade.manual_score``, ``comment.manual_comment``), after an
import and after every regrade (:func:`reapply`), so no regrade can drop a score.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from autograder.grading.manual.answers import Task, manual_tasks, read_answers
from autograder.grading.pipeline.records import StudentRecord, load_records, write_record
from autograder.layout import GradingFolder

HISTORY = "history"  # under GradingFolder.manual_scores: one TA.jsonl per TA
LOCK = ".lock"


@dataclass(frozen=True)
class ScoreChange:
    """One score a TA gave (or changed), as the history keeps it."""

    at: str  # ISO time, UTC
    ta: str
    student: str
    notebook: str
    task: str  # the grade id
    old: float | None  # the score before; None: ungraded
    new: float
    comment: str
    based_on: str  # the digest of the answer the TA read
    source: str = ""  # the file and row it was imported from
    by: str = ""  # the account that ran the import

    @property
    def key(self) -> tuple[str, str]:
        return self.student, f"{self.notebook}/{self.task}"


@contextmanager
def locked(folder: GradingFolder, exclusive: bool = True) -> Iterator[None]:
    """Hold the manual scores' lock: exclusive to change them, shared to read them."""
    folder.manual_scores.mkdir(parents=True, exist_ok=True)
    with open(folder.manual_scores / LOCK, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_history(folder: GradingFolder) -> list[ScoreChange]:
    """Every change every TA made, oldest first; a damaged line is skipped with a warning."""
    changes: list[tuple[str, str, int, ScoreChange]] = []
    for path in sorted((folder.manual_scores / HISTORY).glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                change = ScoreChange(**json.loads(line))
            except (ValueError, TypeError) as error:
                warnings.warn(f"{path}:{number}: skipped, unreadable ({error})", stacklevel=2)
                continue
            changes.append((change.at, change.ta, number, change))
    return [change for *_, change in sorted(changes, key=lambda item: item[:3])]


def current_scores(history: Iterable[ScoreChange]) -> dict[tuple[str, str], ScoreChange]:
    """(student, task key) -> the latest change of that answer."""
    return {change.key: change for change in history}


def append_history(folder: GradingFolder, ta: str, changes: list[ScoreChange]) -> None:
    """Add ``changes`` to ``ta``'s history file in one write (hold :func:`locked`)."""
    if not changes:
        return
    path = folder.manual_scores / HISTORY / f"{ta}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(asdict(change), ensure_ascii=False) + "\n" for change in changes)
    with open(path, "a", encoding="utf-8") as stream:
        stream.write(text)
        stream.flush()
        os.fsync(stream.fileno())


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def account() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def sync_gradebook(run, students: Iterable[str], tasks: list[Task] | None = None) -> dict:
    """Make the gradebook's manual scores and comments of ``students`` agree with the history.

    An answer whose text changed since its score was given keeps the score and is
    marked for grading again (``needs_manual_grade``). Returns student -> the
    task keys whose answer changed since they were graded.
    """
    from nbgrader.api import Gradebook, MissingEntry

    students = sorted(set(students))
    tasks = (
        tasks if tasks is not None else manual_tasks(run.layout, run.assignment, run.gradebook_url)
    )
    scores = current_scores(read_history(run.folder))
    changed: dict[str, list[str]] = {}
    with Gradebook(run.gradebook_url) as gradebook:
        for student in students:
            answers = read_answers(run.layout, run.assignment, student, tasks)
            for task in tasks:
                given = scores.get((student, task.key))
                if given is None:
                    continue
                try:
                    grade = gradebook.find_grade(task.name, task.notebook, run.assignment, student)
                except MissingEntry:
                    continue  # no submission (yet): applied when there is one
                stale = answers[task.key].digest != given.based_on
                grade.manual_score = given.new
                grade.needs_manual_grade = stale
                if stale:
                    changed.setdefault(student, []).append(task.key)
                try:
                    comment = gradebook.find_comment(
                        task.name, task.notebook, run.assignment, student
                    )
                except MissingEntry:
                    continue
                comment.manual_comment = given.comment or None
        gradebook.db.commit()
    return changed


def sync_records(run, students: Iterable[str]) -> list[StudentRecord]:
    """Update the records of ``students`` to the gradebook's scores (manual points included)."""
    records = load_records(run.folder)
    updated = []
    for student in sorted(set(students)):
        record = records.get(student)
        if record is None:
            continue
        score_record(run, record)
        write_record(run.folder, record)
        updated.append(record)
    return updated


def score_record(run, record: StudentRecord) -> None:
    """``record``'s total and notebook scores as the gradebook has them now."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(run.gradebook_url) as gradebook:
        try:
            submission = gradebook.find_submission(run.assignment, record.student)
        except MissingEntry:
            return
        for notebook in submission.notebooks:
            entry = record.notebooks.get(notebook.name)
            if entry is not None:
                entry["score"] = float(notebook.score)
        record.score = float(submission.score)


def reapply(run, record: StudentRecord) -> None:
    """After a regrade: the TAs' scores and comments back in the gradebook and the record.

    Called by the merge right after ``save_grades``; an answer the student changed
    since it was graded keeps its score and is marked for grading again.
    """
    if not (run.folder.manual_scores / HISTORY).is_dir():
        return
    with locked(run.folder, exclusive=False):
        sync_gradebook(run, [record.student])
    score_record(run, record)
