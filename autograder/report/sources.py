"""What grading and the leaderboard left in the course folder, read for the teaching team's pages.

The only module of :mod:`autograder.report` that knows where ``coursekit grade`` and
``coursekit leaderboard`` keep their results, and the only one that imports from them:

- records: ``COURSE_ROOT/grading/ASSIGNMENT/records/STUDENT.json`` (status, time);
- the gradebook (nbgrader's): the points of every grade cell, and the graders' comments;
- the autograded notebooks: ``COURSE_ROOT/autograded/STUDENT/ASSIGNMENT/*.ipynb``, whose
  failing test cells hold the failure message as an error output;
- the leaderboard folder ``COURSE_ROOT/leaderboard/ASSIGNMENT``: ``history.csv`` (every
  upload), ``final.csv`` (the private ranking, once closed) and ``leaderboard.csv``;
- the release, whose solution cells are the stubs students start from.
"""

from __future__ import annotations

import csv
import json
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from autograder.grading.pipeline.ingest import collect
from autograder.grading.pipeline.preflight import SCORES_ZERO, preflight
from autograder.grading.pipeline.records import Status as Status  # re-exported for the report
from autograder.grading.pipeline.records import StudentRecord
from autograder.leaderboard.board import (
    BEAT_ME,
    HISTORY_CSV,
    LEADERBOARD_CSV,
    UploadStatus,
    read_history,
)
from autograder.leaderboard.points import read_final
from autograder.spreadsheet import plain_cell
from utilities.errors import CourseKitError

# The grading package is being reorganised (autograder.layout will name every folder of a
# course): this block is the one place that knows where grading keeps an assignment's folder
# and how its records are read, before the move and after it.
try:
    from autograder.grading.pipeline.records import load_records as _load_records
    from autograder.layout import CourseLayout, GradingFolder

    def _grading_dir(root: Path, assignment: str) -> Path:
        return CourseLayout.at(root).grading(assignment).root

    def _leaderboard_dir(root: Path, assignment: str) -> Path:
        return CourseLayout.at(root).leaderboard(assignment)

    def _records(grading_dir: Path) -> dict[str, StudentRecord]:
        return _load_records(GradingFolder(grading_dir))

except ImportError:
    from autograder.grading.pipeline.grade import GRADING_DIR, LEADERBOARD_DIR
    from autograder.grading.pipeline.grade import load_records as _records

    def _grading_dir(root: Path, assignment: str) -> Path:
        return Path(root).resolve() / GRADING_DIR / assignment

    def _leaderboard_dir(root: Path, assignment: str) -> Path:
        return Path(root).resolve() / LEADERBOARD_DIR / assignment


REPORT_DIR = "report"  # COURSE_ROOT/grading/ASSIGNMENT/report: the pages and their CSV files
MESSAGE_LIMIT = 160  # characters of a failure message kept
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class ReportError(CourseKitError):
    """What a report needs is missing or unreadable; the message says which file and why."""


class ItemKind(StrEnum):
    """How a grade cell is graded."""

    TEST = "test"  # a code cell, autograded
    MANUAL = "manual"  # a markdown answer (``answer_...``), graded by a TA


@dataclass(frozen=True)
class Item:
    """One grade cell of the assignment."""

    notebook: str
    cell: str  # the grade id
    kind: ItemKind
    max_points: float

    @property
    def key(self) -> str:
        return f"{self.notebook}/{self.cell}"


@dataclass
class GradebookScores:
    """Every grade cell, and each student's points and comments from the gradebook."""

    items: list[Item]
    points: dict[str, dict[str, float | None]]  # student -> item key -> points; None: ungraded
    comments: dict[str, dict[str, str]] = field(default_factory=dict)  # student -> key -> text


@dataclass(frozen=True)
class CourseFiles:
    """Where one assignment's results are in a course folder."""

    course_root: Path
    assignment: str
    db_url: str | None = None  # default: the course's SQLite gradebook

    @property
    def grading_dir(self) -> Path:
        return _grading_dir(self.course_root, self.assignment)

    @property
    def report_dir(self) -> Path:
        return self.grading_dir / REPORT_DIR

    @property
    def release_dir(self) -> Path:
        return Path(self.course_root).resolve() / "release" / self.assignment

    @property
    def autograded_dir(self) -> Path:
        return Path(self.course_root).resolve() / "autograded"

    @property
    def leaderboard_dir(self) -> Path:
        return _leaderboard_dir(self.course_root, self.assignment)

    @property
    def gradebook_url(self) -> str:
        return self.db_url or f"sqlite:///{Path(self.course_root).resolve() / 'gradebook.db'}"

    def autograded(self, student: str, notebook: str) -> Path:
        return self.autograded_dir / student / self.assignment / f"{notebook}.ipynb"


def read_records(files: CourseFiles) -> dict[str, StudentRecord]:
    """Every student's grading record; :class:`ReportError` when there is none."""
    records = _records(files.grading_dir)
    if not records:
        raise ReportError(
            f"{files.grading_dir}: no grading records; run `coursekit grade {files.assignment}` "
            "first"
        )
    return records


def read_gradebook(files: CourseFiles) -> GradebookScores:
    """Each grade cell and each student's points; a manual answer not yet graded is None."""
    from nbgrader.api import Gradebook, MissingEntry

    url = files.gradebook_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise ReportError(f"{url.removeprefix('sqlite:///')}: no gradebook; run `coursekit grade`")
    order = _release_order(files.release_dir)
    with Gradebook(url) as gradebook:
        try:
            assignment = gradebook.find_assignment(files.assignment)
        except MissingEntry:
            raise ReportError(
                f"{url}: the gradebook has no assignment {files.assignment!r}"
            ) from None
        items = [
            Item(
                notebook.name,
                cell.name,
                ItemKind.TEST if cell.cell_type == "code" else ItemKind.MANUAL,
                float(cell.max_score),
            )
            for notebook in assignment.notebooks
            for cell in notebook.grade_cells
        ]
        scores = GradebookScores(
            sorted(items, key=lambda item: (item.notebook, order.get(item.key, 1e9), item.cell)),
            {},
        )
        for submission in assignment.submissions:
            points = scores.points.setdefault(submission.student_id, {})
            said = scores.comments.setdefault(submission.student_id, {})
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    waiting = grade.needs_manual_grade and grade.manual_score is None
                    points[f"{notebook.name}/{grade.name}"] = None if waiting else grade.score
                for comment in notebook.comments:
                    if comment.comment:
                        said[f"{notebook.name}/{comment.name}"] = first_line(comment.comment)
    return scores


def _release_order(release: Path) -> dict[str, int]:
    """Each grade cell's position in the released notebooks (item key -> index)."""
    order: dict[str, int] = {}
    for path in sorted(release.glob("*.ipynb")):
        for cell in _cells(path):
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if grade_id:
                order.setdefault(f"{path.stem}/{grade_id}", len(order))
    return order


def failure_messages(notebook: Path, cells: Iterable[str]) -> dict[str, str]:
    """The first line of each of ``cells``' error output (``ename: evalue``) in ``notebook``."""
    wanted = set(cells)
    found: dict[str, str] = {}
    for cell in _cells(notebook):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id not in wanted or grade_id in found:
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                name, value = str(output.get("ename", "")), first_line(output.get("evalue", ""))
                found[grade_id] = f"{name}: {value}" if value else name
                break
    return found


def first_line(text: object) -> str:
    """The first line of ``text`` with text, without colour codes, cut to MESSAGE_LIMIT."""
    lines = [" ".join(_ANSI.sub("", line).split()) for line in str(text).splitlines()]
    line = next((line for line in lines if line), "")
    return line if len(line) <= MESSAGE_LIMIT else line[: MESSAGE_LIMIT - 1] + "…"


def _cells(path: Path) -> list[dict]:
    """The cells of a notebook file, read as plain JSON (fast; no schema check); [] if unusable."""
    try:
        cells = json.loads(Path(path).read_bytes()).get("cells", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [cell for cell in cells if isinstance(cell, dict)] if isinstance(cells, list) else []


# ---- the leaderboard -------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamUploads:
    """A team's best public upload, and its final private result once the leaderboard closed."""

    team: str
    public_accuracy: float
    public_received_at: datetime
    private_accuracy: float | None = None


@dataclass(frozen=True)
class LeaderboardData:
    """What the report shows of the leaderboard; ``final`` lists team keys in private rank."""

    teams: dict[str, TeamUploads]  # team key -> uploads
    final: list[str] | None  # None while the leaderboard is open
    beat_me: tuple[float | None, float | None] = (None, None)  # public, private accuracy


def read_leaderboard(files: CourseFiles) -> LeaderboardData | None:
    """The leaderboard's teams, or None when the assignment has no leaderboard yet."""
    folder = files.leaderboard_dir
    if not (folder / HISTORY_CSV).is_file():
        return None
    teams: dict[str, TeamUploads] = {}
    for upload in read_history(folder / HISTORY_CSV):
        if upload.status is not UploadStatus.SCORED or upload.public_accuracy is None:
            continue
        best = teams.get(upload.team_key)
        if best is None or upload.public_accuracy > best.public_accuracy:  # the earliest of equals
            name = best.team if best else upload.team
            teams[upload.team_key] = TeamUploads(name, upload.public_accuracy, upload.received_at)
    final = read_final(folder)
    if final is not None:
        for key, result in final.items():
            if key in teams:
                teams[key] = TeamUploads(
                    teams[key].team,
                    teams[key].public_accuracy,
                    teams[key].public_received_at,
                    result.private_accuracy,
                )
    return LeaderboardData(
        teams, None if final is None else [k for k in final if k in teams], _beat_me(folder)
    )


def _beat_me(folder: Path) -> tuple[float | None, float | None]:
    try:
        with open(folder / LEADERBOARD_CSV, newline="", encoding="utf-8") as stream:
            rows = list(csv.DictReader(stream))
    except OSError:
        return None, None
    for row in rows:
        if plain_cell(row.get("rank") or "") == BEAT_ME:
            return _number(row.get("public_accuracy")), _number(row.get("private_accuracy"))
    return None, None


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


# ---- solution cells, for the similarity page ------------------------------------------------


def release_solution_cells(files: CourseFiles) -> dict[str, dict[str, str]]:
    """The release's solution code cells (the stubs): notebook -> grade id -> source."""
    notebooks = sorted(files.release_dir.glob("*.ipynb"))
    if not notebooks:
        raise ReportError(
            f"{files.release_dir}: no released notebooks; run `coursekit release "
            f"{files.assignment}` first"
        )
    return {path.stem: solution_cells(_cells(path)) for path in notebooks}


def solution_cells(cells: list[dict]) -> dict[str, str]:
    """Grade id -> source of each code cell nbgrader marks ``solution: true`` (repeats joined)."""
    found: dict[str, list[str]] = {}
    for cell in cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "code" and meta.get("solution") and meta.get("grade_id"):
            source = cell.get("source", "")
            found.setdefault(str(meta["grade_id"]), []).append(
                "".join(source) if isinstance(source, list) else str(source)
            )
    return {grade_id: "\n\n".join(parts) for grade_id, parts in found.items()}


def student_solutions(
    files: CourseFiles, notebooks: dict[str, dict[str, str]], submissions: Path | None
) -> tuple[dict[str, dict[str, dict[str, str]]], list[str]]:
    """Each student's solution cells (student -> notebook -> grade id -> source), and notes.

    From ``submissions`` when given, found and read as ``coursekit grade`` finds and reads
    them (any layout it takes; links refused, nbformat 3 upgraded, graded cells matched with
    the release), else from the autograded notebooks. Notes say what could not be read.
    """
    if submissions is None:
        return _autograded_solutions(files, notebooks), []
    import nbformat

    release = {
        name: nbformat.read(files.release_dir / f"{name}.ipynb", as_version=4) for name in notebooks
    }
    grade_ids = {name: set(cells) for name, cells in notebooks.items()}
    students: dict[str, dict[str, dict[str, str]]] = {}
    with tempfile.TemporaryDirectory(prefix="coursekit-similarity-") as workdir:
        found = collect(submissions, files.assignment, grade_ids, Path(workdir))
        notes = [str(item) for item in found.unmapped]
        for student, held in sorted(found.students.items()):
            for name, path in sorted(held.notebooks.items()):
                checked = preflight(path, release[name], f"{name}.ipynb", root=held.root)
                if checked.notebook is None:
                    notes += [
                        f"{student}: {p.removesuffix(f'; {SCORES_ZERO}')}" for p in checked.problems
                    ]
                    continue
                cells = [dict(cell) for cell in checked.notebook.cells]
                students.setdefault(student, {})[name] = solution_cells(cells)
    return students, notes


def _autograded_solutions(files: CourseFiles, notebooks) -> dict[str, dict[str, dict[str, str]]]:
    if not files.autograded_dir.is_dir():
        raise ReportError(
            f"{files.autograded_dir}: no autograded notebooks; run `coursekit grade "
            f"{files.assignment}` first, or give --submissions"
        )
    students: dict[str, dict[str, dict[str, str]]] = {}
    for folder in sorted(files.autograded_dir.iterdir()):
        for name in notebooks:
            path = files.autograded(folder.name, name)
            if path.is_file():
                students.setdefault(folder.name, {})[name] = solution_cells(_cells(path))
    return students
