"""After the autograded scores: the TAs' scores, the hand-in time, the late penalty, the feedback.

:func:`finish_student` is the merge's last step before a student's record is written
(``merge_student`` calls it right after ``save_grades``), so a regrade, forced or not,
never loses what people added:

- the notebooks as handed in are kept for the TAs' pages, and the TAs' scores and
  comments go back into the gradebook from their history (:mod:`autograder.grading.manual`);
- the hand-in time is read and kept (:mod:`autograder.grading.lms.handin`), and the
  late penalty goes into the gradebook in nbgrader's own terms
  (:func:`apply_late_penalties`);
- the feedback pages are written again from the course gradebook, so they show each
  answer's score and comment and the late penalty (the worker's pages come from its
  scratch gradebook, which has neither).

:func:`refresh` does the same for students whose scores or deadline changed without
a regrade (``coursekit review --import``, ``coursekit grades late``), then exports the
grades.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable
from datetime import UTC
from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Dict

from autograder.grading.lms.handin import stamp_hand_in
from autograder.grading.lms.late import class_lateness, kept_extensions, read_deadline
from autograder.grading.manual.answers import keep_handed_in
from autograder.grading.manual.store import (
    HISTORY,
    current_scores,
    read_history,
    reapply,
    sync_records,
)
from autograder.grading.pipeline.ingest import StudentFiles, printable
from autograder.grading.pipeline.records import StudentRecord

STAGING = ".feedback-staging"  # in the course folder, for pages not yet swapped in


class FeedbackNotice(NbGraderPreprocessor):
    """nbgrader feedback step: a note at the top of a student's page ("Handed in 2 days late")."""

    notices = Dict(
        {}, help="'STUDENT/NOTEBOOK' -> the note, in Markdown, shown first on that page"
    ).tag(config=True)

    def preprocess(self, nb, resources):
        from nbformat.v4 import new_markdown_cell

        info = resources.get("nbgrader", {})
        text = self.notices.get(f"{info.get('student')}/{info.get('notebook')}")
        if text:
            nb.cells.insert(0, new_markdown_cell(f"**{text}**"))
        return nb, resources


def finish_student(run, files: StudentFiles, record: StudentRecord) -> None:
    """The merge's last step for one student; see the module docstring."""
    keep_handed_in(run.folder, files)
    reapply(run, record)
    stamp_hand_in(run, files, record)
    apply_late_penalties(run, [record.student])
    graded = run.layout.autograded(record.student, run.assignment).is_dir()
    if graded and _has_additions(run, record.student):
        record.problems += write_feedback(run, [record.student])


def refresh(run, students: Iterable[str]) -> list[str]:
    """Records, late penalties, feedback and grade files after scores or the deadline changed.

    Returns the problems met (a feedback page that could not be written).
    """
    from autograder.grading.pipeline.exports import export_grades

    students = sorted(set(students))
    sync_records(run, students)
    apply_late_penalties(run)
    graded = [s for s in students if run.layout.autograded(s, run.assignment).is_dir()]
    problems = write_feedback(run, graded)
    export_grades(run)
    return problems


def _has_additions(run, student: str) -> bool:
    """Whether the course gradebook has more for ``student``'s pages than the worker's had."""
    if read_deadline(run.folder) is not None:
        return True
    if not (run.folder.manual_scores / HISTORY).is_dir():
        return False
    return any(who == student for who, _ in current_scores(read_history(run.folder)))


def apply_late_penalties(run, students: Iterable[str] | None = None) -> None:
    """The deadline, hand-in times, extensions and penalties in nbgrader's gradebook.

    Sets the assignment's ``duedate``, each submission's ``timestamp`` and
    ``extension``, and each notebook's ``late_submission_penalty`` (its share of the
    penalty), which nbgrader's ``grades.csv`` and feedback show; without a deadline,
    the penalties are 0.
    """
    from nbgrader.api import Gradebook, MissingEntry

    deadline = read_deadline(run.folder)
    extensions = kept_extensions(run.folder, deadline) if deadline else {}
    wanted = set(students) if students is not None else None
    with Gradebook(run.gradebook_url) as gradebook:
        try:
            assignment = gradebook.find_assignment(run.assignment)
        except MissingEntry:
            return  # nothing graded yet: the merge applies them student by student
        assignment.duedate = _naive_utc(deadline.due) if deadline else None
        submissions = [
            s for s in assignment.submissions if wanted is None or s.student_id in wanted
        ]
        late = class_lateness(run.folder, [s.student_id for s in submissions])
        for submission in submissions:
            lateness = late.get(submission.student_id)
            extension = extensions.get(submission.student_id)
            when = lateness.hand_in.when if lateness else None
            submission.timestamp = _naive_utc(when) if when else None
            submission.extension = extension.due - deadline.due if extension else None
            notebooks = sorted(submission.notebooks, key=lambda item: item.name)
            scores = [float(notebook.score) for notebook in notebooks]
            total = lateness.penalty(sum(scores)) if lateness else 0.0
            for notebook, share in zip(notebooks, shares(total, scores), strict=True):
                notebook.late_submission_penalty = share
        gradebook.db.commit()


def shares(total: float, scores: list[float]) -> list[float]:
    """``total`` split in proportion to ``scores``, to the cent, adding up to ``total`` exactly."""
    whole = sum(max(score, 0.0) for score in scores)
    if not total or not whole:
        return [0.0] * len(scores)
    parts = [round(total * max(score, 0.0) / whole, 2) for score in scores]
    parts[-1] = round(total - sum(parts[:-1]), 2)
    return parts


def _naive_utc(value):
    """nbgrader keeps times as naive UTC."""
    return value.astimezone(UTC).replace(tzinfo=None)


def write_feedback(run, students: list[str]) -> list[str]:
    """Write ``students``' feedback pages again from the course gradebook; the problems met.

    Pages are made in a staging folder and swapped in whole, one student at a
    time, as the merge does.
    """
    if not students:
        return []
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    from autograder.grading.pipeline.merge import swap_in
    from autograder.grading.pipeline.worker import configure_feedback

    course = run.layout.root
    staging = Path(course) / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    configure_feedback(config)
    config.GenerateFeedback.preprocessors = [
        FeedbackNotice,
        *config.GenerateFeedback.preprocessors,
    ]
    config.FeedbackNotice.notices = _notices(run, students)
    config.CourseDirectory.db_url = run.gradebook_url
    config.CourseDirectory.feedback_directory = STAGING
    log = logging.getLogger("traitlets")  # nbgrader's; its api keeps what it says
    log.propagate = False
    problems = []
    try:
        coursedir = CourseDirectory(config=config, root=str(course))
        api = NbGraderAPI(coursedir=coursedir, config=config)
        for student in students:
            made = api.generate_feedback(run.assignment, student, force=True)
            pages = staging / student / run.assignment
            if made.get("success") and pages.is_dir():
                swap_in(pages, run.layout.feedback(student, run.assignment))
            else:
                reason = printable((made.get("error") or made.get("log") or "").strip()[-300:])
                problems.append(f"the feedback page could not be written again: {reason}")
    finally:
        log.propagate = True
        shutil.rmtree(staging, ignore_errors=True)
    return problems


def _notices(run, students: list[str]) -> dict[str, str]:
    """'STUDENT/NOTEBOOK' -> the late notice on that page, with the points it loses there."""
    from nbgrader.api import Gradebook, MissingEntry

    late = class_lateness(run.folder, students)
    notices = {}
    with Gradebook(run.gradebook_url) as gradebook:
        for student, lateness in late.items():
            try:
                submission = gradebook.find_submission(run.assignment, student)
            except MissingEntry:
                continue
            for notebook in submission.notebooks:
                text = lateness.notice(notebook.late_submission_penalty or 0.0)
                if text:
                    notices[f"{student}/{notebook.name}"] = text
    return notices
