"""Where everything of a course lives, named once.

:class:`CourseLayout` is the nbgrader course folder (``assignments/`` in a
checkout): the sources, the release, the gradebook, nbgrader's autograded and
feedback folders, and the kit's own folders per assignment, grading
(:class:`GradingFolder`) and the leaderboard. Every product asks it for a
path instead of spelling folder names itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GradingFolder:
    """``COURSE/grading/ASSIGNMENT``: what ``coursekit grade`` keeps for one assignment."""

    root: Path

    @property
    def records(self) -> Path:
        return self.root / "records"

    def record(self, student: str) -> Path:
        return self.records / f"{student}.json"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def log(self, student: str) -> Path:
        return self.logs / f"{student}.log"

    @property
    def nbgrader_csv(self) -> Path:
        """nbgrader's own grades export."""
        return self.root / "grades.csv"

    @property
    def lms_csv(self) -> Path:
        """The LMS-friendly grades: totals, parts, leaderboard points, status."""
        return self.root / "grades_lms.csv"

    def lms_file(self, lms: str) -> Path:
        """The grades in an LMS's own import format (Canvas, Moodle)."""
        return self.root / f"grades_{lms}.csv"

    @property
    def limits(self) -> Path:
        """The sandbox limits in force, for the course site's rules page."""
        return self.root / "limits.json"

    @property
    def unmapped(self) -> Path:
        return self.root / "unmapped.txt"

    @property
    def identities(self) -> Path:
        """Who is behind each student id (autograder.grading.lms.identity)."""
        return self.root / "identities.json"

    @property
    def template(self) -> Path:
        """The course as graded, hidden tests included, kept between runs."""
        return self.root / ".template"

    @property
    def model_checks(self) -> Path:
        """What the grader's checker made of each student's handed-in model (the bonus check)."""
        return self.root / "models"

    def model_check(self, student: str) -> Path:
        return self.model_checks / f"{student}.json"

    @property
    def manual_scores(self) -> Path:
        """The TAs' scores and comments with their history (autograder.grading.manual)."""
        return self.root / "manual"

    @property
    def late(self) -> Path:
        """Due dates, extensions and the late policy in force (autograder.grading.lms.late)."""
        return self.root / "late"


@dataclass(frozen=True)
class CourseLayout:
    """The nbgrader course folder and the kit's folders in it."""

    root: Path

    @classmethod
    def at(cls, root: Path) -> CourseLayout:
        return cls(Path(root).resolve())

    @property
    def config(self) -> Path:
        return self.root / "nbgrader_config.py"

    def source(self, assignment: str) -> Path:
        return self.root / "source" / assignment

    def release(self, assignment: str) -> Path:
        return self.root / "release" / assignment

    @property
    def gradebook(self) -> Path:
        return self.root / "gradebook.db"

    def gradebook_url(self, url: str | None = None) -> str:
        """``url``, or nbgrader's SQLite gradebook in the course folder."""
        return url or f"sqlite:///{self.gradebook}"

    def autograded(self, student: str, assignment: str) -> Path:
        return self.root / "autograded" / student / assignment

    @property
    def feedback_root(self) -> Path:
        return self.root / "feedback"

    def feedback(self, student: str, assignment: str) -> Path:
        return self.feedback_root / student / assignment

    def grading(self, assignment: str) -> GradingFolder:
        return GradingFolder(self.root / "grading" / assignment)

    def leaderboard(self, assignment: str) -> Path:
        return self.root / "leaderboard" / assignment
