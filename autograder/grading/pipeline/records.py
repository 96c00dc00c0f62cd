"""The contracts between the pieces of grading: what goes to a worker and what comes back.

- :class:`Job`: one student to grade, written as JSON for the worker process;
- :class:`WorkerResult`: what the worker found, read back by the instructor's process;
- :class:`Status` and :class:`StudentRecord`: the merged outcome, kept as
  ``grading/ASSIGNMENT/records/STUDENT.json``.

Each JSON form carries a version: a result or record of another version is not trusted
(a worker's result becomes a crash record; a stored record is graded again).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from autograder.layout import GradingFolder
from utilities.files import write_text_atomically

RESULT_VERSION = 2  # of a worker's result file
RECORD_VERSION = 3  # of records/STUDENT.json; a record of another version is graded again


@dataclass
class Job:
    student: str
    assignment: str
    template: str  # a course folder: config, source, release and a gradebook with the assignment
    scratch: str  # an empty folder for this student's scratch course
    notebooks: dict[str, str]  # notebook name -> submitted file
    sandbox_spec: str  # the SandboxSpec JSON for this student's kernels
    result_file: str
    root: str = ""  # the submissions folder the notebooks were found in (no link is followed)
    grading_plan: str = ""  # the GradingPlan JSON (autograder.grading.checker.plan)
    model: str = ""  # the handed-in Keras model, if any


@dataclass
class WorkerResult:
    """What one worker found; the merge (:mod:`autograder.grading.pipeline.merge`) records it."""

    student: str
    usable: list[str] = field(default_factory=list)  # notebooks handed to nbgrader
    problems: list[str] = field(default_factory=list)
    review: list[str] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)  # per notebook, from the executor
    autograded: bool = False
    log: str = ""
    error: str = ""  # nbgrader could not grade or render the usable notebooks
    crashed: str = ""  # the worker itself failed or was stopped: nothing here counts
    seconds: float = 0.0
    profile: dict[str, float] = field(default_factory=dict)  # seconds per phase
    version: int = RESULT_VERSION

    @classmethod
    def from_json(cls, text: str, student: str) -> WorkerResult:
        """The result a worker wrote for ``student``; a crash record if it cannot be read."""
        try:
            data = json.loads(text)
            if data.get("version") != RESULT_VERSION or data.get("student") != student:
                raise ValueError("a result of another format or student")
            return cls(**data)
        except (ValueError, TypeError, AttributeError) as error:
            return cls(student=student, crashed=f"the worker's result cannot be read ({error})")


class Status(StrEnum):
    """Where a student's grading stands."""

    GRADED = "graded"
    GRADED_WITH_PROBLEMS = "graded with problems"
    HELD_FOR_REVIEW = "held for review"  # points withheld until a TA releases them
    NOT_GRADED = "not graded"  # the grading itself failed; the next run retries


@dataclass
class StudentRecord:
    """The outcome for one student, kept as ``records/STUDENT.json``."""

    student: str
    status: Status
    score: float = 0.0
    max_score: float = 0.0
    autograded_score: float = 0.0
    autograded_max: float = 0.0
    notebooks: dict[str, dict] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    review: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # for the TA, not problems (e.g. a verdict
    # that rests on the student's process: a subclassed model)
    reason: str = ""
    log: str = ""
    fingerprint: str = ""
    graded_at: str = ""
    seconds: float = 0.0
    held: list[str] = field(default_factory=list)  # why the autograded points are held
    held_scores: dict[str, dict[str, float]] = field(default_factory=dict)  # notebook -> cell
    released_by: str = ""  # who released held points (coursekit review)
    profile: dict[str, float] = field(default_factory=dict)  # seconds per grading phase
    version: int = RECORD_VERSION

    def __post_init__(self):
        self.status = Status(self.status)
        if self.version != RECORD_VERSION:
            raise ValueError(f"record format {self.version}, expected {RECORD_VERSION}")

    @property
    def needs_review(self) -> bool:
        return bool(self.review)

    @property
    def is_held(self) -> bool:
        return self.status is Status.HELD_FOR_REVIEW


def load_records(folder: GradingFolder) -> dict[str, StudentRecord]:
    """Every student's record in a grading folder; an unreadable one counts as none."""
    records = {}
    for path in sorted(folder.records.glob("*.json")):
        try:
            records[path.stem] = StudentRecord(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError) as error:
            message = f"{path}: unreadable record, the student is graded again ({error})"
            warnings.warn(message, stacklevel=2)
    return records


def write_record(folder: GradingFolder, record: StudentRecord) -> None:
    """Write ``record`` in one rename: readers see the old one or the new one."""
    write_text_atomically(folder.record(record.student), json.dumps(asdict(record), indent=1))
