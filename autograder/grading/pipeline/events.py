"""What happened while a notebook was graded: typed events, and the file that carries them.

The executor (:mod:`autograder.grading.pipeline.execute`) writes one
:class:`NotebookEvents` line per notebook to the events file; the worker reads
them back into its :class:`~autograder.grading.pipeline.records.WorkerResult`,
and the merge turns them into the student's problems and review notes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path


class EventKind(StrEnum):
    """Kinds of things that happen to a notebook while it is graded."""

    KERNEL_FAILED = "kernel_failed"  # the grader's fault: the student is graded again later
    KERNEL_DIED = "kernel_died"
    KERNEL_STOPPED = "kernel_stopped"  # it ignored two interrupts in a row
    CELL_TIMEOUT = "cell_timeout"
    NOTEBOOK_TIMEOUT = "notebook_timeout"
    OUT_OF_MEMORY = "out_of_memory"
    OUTPUT_TRUNCATED = "output_truncated"
    DEPENDENCY_NOT_MET = "dependency_not_met"
    # The evidence the kernel sent contradicts itself (a model that does not compute what its
    # config and weights compute): held for a TA.
    EVIDENCE_INCONSISTENT = "evidence_inconsistent"
    # A verdict that rests on the student's process (a subclassed model): noted, not held.
    STUDENT_PROCESS_ONLY = "student_process_only"
    # Something a check could not confirm from data alone: the points count, a TA looks.
    UNCONFIRMED = "unconfirmed"
    CHECKER_FAILED = "checker_failed"  # the grader's own checker failed on a test
    NOT_RERUN = "not_rerun"  # cells kept with the student's own outputs (not run in grading)

    @property
    def holds_points(self) -> bool:
        """Whether this event holds the notebook's autograded points for a TA."""
        return self is EventKind.EVIDENCE_INCONSISTENT

    @property
    def asks_review(self) -> bool:
        """Whether a TA should look at the notebook (its points still count)."""
        return self is EventKind.UNCONFIRMED

    @property
    def is_problem(self) -> bool:
        """Whether the student's record lists it as a problem (the rest are notes)."""
        return self not in (
            EventKind.STUDENT_PROCESS_ONLY,
            EventKind.NOT_RERUN,
            EventKind.UNCONFIRMED,
        )

    @property
    def is_graders_fault(self) -> bool:
        """Whether it means the grading itself failed, so the student is graded again later."""
        return self in (EventKind.KERNEL_FAILED, EventKind.CHECKER_FAILED)


@dataclass(frozen=True)
class Event:
    kind: EventKind
    detail: str
    cell: int | None = None  # index of the cell in the notebook
    grade_id: str = ""

    def __post_init__(self):
        object.__setattr__(self, "kind", EventKind(self.kind))

    def where(self, notebook: str) -> str:
        """``NOTEBOOK.ipynb, cell ID`` (or the cell's number), for messages."""
        where = f"{notebook}.ipynb"
        if self.grade_id:
            return f"{where}, cell {self.grade_id}"
        if self.cell is not None:
            return f"{where}, cell {self.cell + 1}"
        return where


@dataclass
class NotebookEvents:
    """Everything the executor reports about one notebook."""

    notebook: str
    events: list[Event] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase
    # The checker's predictions with the handed-in model (the leaderboard bonus), or its error.
    model_check: dict | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_dict(cls, data: dict) -> NotebookEvents:
        return cls(
            str(data["notebook"]),
            [Event(**event) for event in data.get("events", [])],
            {str(k): float(v) for k, v in data.get("timings", {}).items()},
            data.get("model_check"),
        )


def append_events(path: Path, entry: NotebookEvents) -> None:
    with open(path, "a", encoding="utf-8") as stream:
        stream.write(entry.to_json() + "\n")


def read_events(path: Path) -> list[NotebookEvents]:
    if not Path(path).exists():
        return []
    return [
        NotebookEvents.from_dict(json.loads(line))
        for line in Path(path).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
