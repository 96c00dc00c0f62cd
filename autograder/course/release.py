"""Release an assignment to students, and prove that the release is safe and gradable.

``release_assignment`` runs three steps, each of which can fail loudly:

1. nbgrader's ``generate_assignment`` writes ``release/<assignment>/``, and the
   course's student dataset is copied next to the notebooks;
2. ``find_leaks`` checks that no solution code, hidden test, rubric, answer
   key or gradebook reached the release;
3. ``verify_solutions`` autogrades the source notebooks themselves, in fast
   mode, in a scratch copy of the course, and requires full marks on every
   autograded cell (as ``otter assign`` does).
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.course.folder import (
    CellGrade,
    CourseError,
    cell_grades,
    run_nbgrader,
    scratch_course,
    source_notebooks,
)
from autograder.course.markers import DEFAULT_MARKERS, Markers, course_markers
from utilities.data import sha256_of
from utilities.runmode import FAST_MODE_ENV

SOLUTION_STUDENT = "solution-check"
MARKERS = DEFAULT_MARKERS.all()  # nbgrader's defaults; a course's own: course_markers()
# A line must be this long to count as evidence of a leak; shorter lines
# (``return model``, ``)``) appear in solutions and stubs alike.
_MIN_SECRET_LINE = 16
_PRIVATE_NAMES = re.compile(r"answer_key|manifest\.json|gradebook|\.db$", re.IGNORECASE)


class ReleaseError(CourseError):
    """The release leaked something, or the solutions do not earn full marks."""


@dataclass(frozen=True)
class ReleaseResult:
    release_dir: Path
    notebooks: list[Path]
    solution_grades: list[CellGrade]


def release_assignment(
    assignment: str,
    course_root: Path,
    dataset_file: Path,
    private_dir: Path | None = None,
    report: Callable[[str], None] = print,
) -> ReleaseResult:
    """Generate the student release, check it for leaks and check the solutions."""
    sources = source_notebooks(course_root, assignment)
    dataset_file = Path(dataset_file)
    if not dataset_file.is_file():
        raise CourseError(
            f"{dataset_file}: the student dataset is missing; run `coursekit data build` first"
        )
    report(f"Generating the release of {assignment!r} with nbgrader ...")
    run_nbgrader(course_root, "generate_assignment", assignment, "--force")
    release_dir = Path(course_root) / "release" / assignment
    shutil.copy2(dataset_file, release_dir / dataset_file.name)
    notebooks = sorted(release_dir.glob("*.ipynb"))
    if [path.name for path in notebooks] != [path.name for path in sources]:
        raise ReleaseError(f"{release_dir}: expected notebooks {[p.name for p in sources]}")

    report("Checking the release for leaked solutions, hidden tests and private files ...")
    leaks = find_leaks(
        Path(course_root) / "source" / assignment,
        release_dir,
        private_dir,
        markers=course_markers(Path(course_root)),
    )
    if leaks:
        raise ReleaseError(
            f"{release_dir} must not be handed out; it leaks:\n  " + "\n  ".join(leaks)
        )

    report("Autograding the solutions in fast mode (they must earn full marks) ...")
    grades = verify_solutions(assignment, course_root, dataset_file)
    return ReleaseResult(release_dir=release_dir, notebooks=notebooks, solution_grades=grades)


def find_leaks(
    source_dir: Path,
    release_dir: Path,
    private_dir: Path | None = None,
    markers: Markers = DEFAULT_MARKERS,
) -> list[str]:
    """Everything in ``release_dir`` that students must not see, one line per finding."""
    leaks = []
    private_files = _file_digests(private_dir) if private_dir and private_dir.is_dir() else {}
    for path in sorted(p for p in release_dir.rglob("*") if p.is_file()):
        name = path.relative_to(release_dir)
        copy_of = private_files.get(sha256_of(path)) if private_files else None
        if _PRIVATE_NAMES.search(path.name):
            leaks.append(f"{name}: a private file (answer key, manifest or gradebook)")
        elif copy_of:
            leaks.append(f"{name}: a copy of {copy_of}")
        if path.suffix != ".ipynb":
            continue
        source = source_dir / path.name
        released = _notebook_text(path)
        leaks += [f"{name}: contains the marker {m!r}" for m in markers.all() if m in released]
        if source.is_file():
            released_lines = _lines(released)
            for line in sorted(secret_lines(nbformat.read(source, as_version=4), markers)):
                if line in released_lines:
                    leaks.append(f"{name}: contains solution or hidden-test text {line!r}")
    return leaks


def secret_lines(notebook, markers: Markers = DEFAULT_MARKERS) -> set[str]:
    """Lines of a source notebook that only its solutions, hidden tests and rubrics contain."""
    secret, public = set(), set()
    regions = markers.secret_regions()
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        text = cell.source
        if meta.get("solution") and cell.cell_type == "markdown":
            hidden, shown = text, ""
        else:
            hidden = "\n".join(markers.secret_bodies(text))
            shown = regions.sub("", text)
        secret |= _lines(hidden)
        public |= _lines(shown)
    return {line for line in secret - public if len(line) >= _MIN_SECRET_LINE}


def verify_solutions(assignment: str, course_root: Path, dataset_file: Path) -> list[CellGrade]:
    """Autograde the source notebooks in fast mode; raise unless every test earns full marks."""
    with tempfile.TemporaryDirectory(prefix="coursekit-solutions-") as scratch:
        course = scratch_course(course_root, assignment, Path(scratch))
        submitted = course / "submitted" / SOLUTION_STUDENT / assignment
        shutil.copytree(course / "source" / assignment, submitted)
        shutil.copy2(dataset_file, submitted / Path(dataset_file).name)
        run_nbgrader(course, "generate_assignment", assignment, "--force")
        run_nbgrader(
            course,
            "autograde",
            assignment,
            "--student",
            SOLUTION_STUDENT,
            "--force",
            env={FAST_MODE_ENV: "1"},
        )
        grades = cell_grades(course, assignment, SOLUTION_STUDENT)
        failed = [grade for grade in grades if grade.cell_type == "code" and not grade.passed]
        if failed:
            errors = _first_errors(course / "autograded" / SOLUTION_STUDENT / assignment)
            raise ReleaseError(
                "the solutions do not pass their own tests:\n  "
                + "\n  ".join(
                    f"{grade.notebook}/{grade.cell}: {grade.score:g} of {grade.max_score:g} points"
                    for grade in failed
                )
                + "\nfirst errors:\n  "
                + "\n  ".join(errors)
            )
    return grades


def _first_errors(folder: Path) -> list[str]:
    """The first error output of each executed notebook: usually the root cause."""
    found = []
    for path in sorted(folder.glob("*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        for number, cell in enumerate(cells, start=1):
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if errors:
                found.append(f"{path.name}, cell {number}: {errors[0].ename}: {errors[0].evalue}")
                break
    return found or ["no error output recorded"]


def _notebook_text(path: Path) -> str:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    parts = []
    for cell in notebook.get("cells", []):
        source = cell.get("source", "")
        parts.append(source if isinstance(source, str) else "".join(source))
        for output in cell.get("outputs", []):
            parts += [_text(value) for value in output.get("data", {}).values()]
            parts += [_text(output.get(key, "")) for key in ("text", "evalue", "traceback")]
    return "\n".join(parts)


def _text(value) -> str:
    return value if isinstance(value, str) else "\n".join(map(str, value))


def _lines(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if line.strip()}


def _file_digests(folder: Path) -> dict[str, str]:
    return {sha256_of(path): str(path) for path in folder.rglob("*") if path.is_file()}
