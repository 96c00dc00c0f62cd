"""Merging one graded student into the course: folders, gradebook, then the record.

The merge runs in the instructor's process, one student at a time. The
autograded and feedback folders are swapped in whole, the gradebook is
updated in one transaction (:mod:`autograder.grading.pipeline.gradebook`),
and only then is the student's record written: a record is the proof that
the rest is complete, so a kill at any moment leaves the course consistent.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from autograder.grading.pipeline.events import NotebookEvents
from autograder.grading.pipeline.finish import finish_student
from autograder.grading.pipeline.gradebook import save_grades
from autograder.grading.pipeline.ingest import StudentFiles, printable
from autograder.grading.pipeline.records import Status, StudentRecord, WorkerResult, write_record
from utilities.files import write_text_atomically

MAX_LOG_BYTES = 1024**2  # of one student's grading log


def merge_student(run, files: StudentFiles, result: WorkerResult, work: Path, fingerprint: str):
    """Move one student's results into the course; the record is written last."""
    student = files.student
    log_path = run.folder.log(student)
    record = StudentRecord(
        student=student,
        status=Status.GRADED,
        problems=list(files.notes) + result.problems,
        review=list(result.review),
        log=str(log_path),
        fingerprint=fingerprint,
        graded_at=datetime.now(UTC).isoformat(timespec="seconds"),
        seconds=result.seconds,
        profile=dict(result.profile),
    )
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(result.log)
    notebooks = [NotebookEvents.from_dict(entry) for entry in result.events]
    faults = [
        f"{entry.notebook}: {event.detail}"
        for entry in notebooks
        for event in entry.events
        if event.kind.is_graders_fault
    ]
    if faults and not result.crashed:  # the grader's fault, never the student's
        result.crashed = "the grading could not finish: " + "; ".join(faults)
    if result.crashed:
        record.status = Status.NOT_GRADED
        record.reason = printable(result.crashed)
        record.fingerprint = ""  # always retried
        write_record(run.folder, record)
        return record
    _add_events(record, notebooks)
    _keep_model_checks(run, student, notebooks)
    if result.error:
        # nbgrader could not process a notebook that passed preflight: it scores 0 (kept,
        # not retried on every run), and a TA should look at it.
        note = f"nbgrader could not grade this submission; it scores 0 ({result.error})"
        record.problems.append(note)
        record.review.append(note)
    scratch = work / "students" / student / "course"
    if result.autograded:
        layout = run.layout
        swap_in(
            scratch / "autograded" / student / run.assignment,
            layout.autograded(student, run.assignment),
        )
        swap_in(
            scratch / "feedback" / student / run.assignment,
            layout.feedback(student, run.assignment),
        )
    save_grades(run, scratch, record, result.autograded)
    # Hook: the TAs' scores and comments back from their history, the hand-in time and late
    # penalty, and feedback pages that show them (autograder.grading.pipeline.finish).
    finish_student(run, files, record)
    if record.held:
        record.status = Status.HELD_FOR_REVIEW
    elif record.problems:
        record.status = Status.GRADED_WITH_PROBLEMS
    write_record(run.folder, record)
    return record


def _add_events(record: StudentRecord, notebooks: list[NotebookEvents]) -> None:
    """Each event as a problem or a note, in plain printable words; some hold the points."""
    for entry in notebooks:
        for event in entry.events:
            text = f"{printable(event.where(entry.notebook))}: {printable(event.detail)}"
            (record.problems if event.kind.is_problem else record.notes).append(text)
            if event.kind.holds_points:
                record.review.append(text)
                record.held.append(text)
            elif event.kind.asks_review:
                record.review.append(text)


def _keep_model_checks(run, student: str, notebooks: list[NotebookEvents]) -> None:
    """What the checker made of the handed-in model, for the leaderboard bonus; none, no file."""
    checks = [entry.model_check for entry in notebooks if entry.model_check is not None]
    path = run.folder.model_check(student)
    if not checks:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(path, json.dumps(checks[0]))


def swap_in(source: Path, destination: Path) -> None:
    """Replace ``destination`` by a copy of ``source`` (notebooks and HTML only) in one rename."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    for path in sorted(source.glob("*")):
        if path.suffix in (".ipynb", ".html") and path.is_file():
            shutil.copy2(path, staged / path.name)
    old = None
    if destination.exists():
        old = destination.parent / f".{destination.name}.old-{os.getpid()}"
        os.replace(destination, old)
    os.replace(staged, destination)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_log(path: Path, output: bytes) -> None:
    """The worker's output (kernel output is capped inside it), at most MAX_LOG_BYTES of it."""
    text = output[:MAX_LOG_BYTES].decode("utf-8", errors="replace")
    if len(output) > MAX_LOG_BYTES:
        text += f"\n[coursekit] {len(output) - MAX_LOG_BYTES:,} more bytes were dropped\n"
    write_text_atomically(path, text)
