"""The nbgrader course folder: running nbgrader in it and reading its gradebook.

The course root (``assignments/`` in this repository) holds
``nbgrader_config.py`` and ``source/<assignment>/*.ipynb``. nbgrader reads
its configuration from the working directory, so every command runs there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from autograder.resources import default_course_root
from utilities.errors import CourseKitError

# The checkout's assignments/, or ./assignments with an installed wheel (`coursekit init`).
DEFAULT_COURSE_ROOT = default_course_root()
CONFIG_FILE = "nbgrader_config.py"


class CourseError(CourseKitError):
    """The course folder is incomplete, or an nbgrader step failed."""


@dataclass(frozen=True)
class CellGrade:
    """The autograded result of one grade cell."""

    notebook: str
    cell: str
    cell_type: str
    score: float
    max_score: float

    @property
    def passed(self) -> bool:
        return self.score >= self.max_score


def source_notebooks(course_root: Path, assignment: str) -> list[Path]:
    """The assignment's source notebooks, sorted by name; a clear error when there are none."""
    folder = Path(course_root) / "source" / assignment
    if not (Path(course_root) / CONFIG_FILE).is_file():
        raise CourseError(
            f"{course_root}: not an nbgrader course folder (no {CONFIG_FILE}); "
            f"`coursekit init {Path(course_root).parent}` copies the kit's course there"
        )
    notebooks = sorted(folder.glob("*.ipynb"))
    if not notebooks:
        known = sorted(path.name for path in (Path(course_root) / "source").glob("*/"))
        raise CourseError(
            f"{folder}: no source notebooks for assignment {assignment!r} "
            f"(assignments in this course: {', '.join(known) or 'none'})"
        )
    return notebooks


def run_nbgrader(
    course_root: Path, *arguments: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGUMENTS`` in the course root; raise with its log if it fails."""
    bin_dir = str(Path(sys.executable).parent)  # nbgrader calls alembic from here
    environment = {**os.environ, **(env or {})}
    environment["PATH"] = os.pathsep.join([bin_dir, environment.get("PATH", "")])
    result = subprocess.run(
        [sys.executable, "-m", "autograder.course.nbgrader_command", *arguments],
        cwd=course_root,
        env=environment,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        log = (result.stdout + result.stderr).strip().splitlines()
        raise CourseError(
            f"nbgrader {' '.join(arguments)} failed in {course_root} "
            f"(exit {result.returncode}):\n" + "\n".join(log[-25:])
        )
    return result


def scratch_course(course_root: Path, assignment: str, folder: Path) -> Path:
    """Copy the course's configuration and one assignment's sources into ``folder``."""
    source_notebooks(course_root, assignment)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(Path(course_root) / CONFIG_FILE, folder / CONFIG_FILE)
    shutil.copytree(
        Path(course_root) / "source" / assignment,
        folder / "source" / assignment,
        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "*.h5", "submission.csv"),
        dirs_exist_ok=True,
    )
    return folder


def cell_grades(course_root: Path, assignment: str, student: str) -> list[CellGrade]:
    """Every grade cell's autograded score for one student, in notebook order."""
    from nbgrader.api import Gradebook

    url = f"sqlite:///{Path(course_root).resolve() / 'gradebook.db'}"
    with Gradebook(url) as gradebook:
        submission = gradebook.find_submission(assignment, student)
        grades = []
        for notebook in sorted(submission.notebooks, key=lambda item: item.name):
            cells = {cell.name: index for index, cell in enumerate(notebook.notebook.grade_cells)}
            for grade in sorted(notebook.grades, key=lambda item: cells.get(item.name, 0)):
                grades.append(
                    CellGrade(
                        notebook=notebook.name,
                        cell=grade.name,
                        cell_type=grade.cell_type,
                        score=float(grade.auto_score or 0.0),
                        max_score=float(grade.max_score),
                    )
                )
    return grades
