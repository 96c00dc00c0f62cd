"""Finding each student's files in what an instructor downloaded.

:func:`collect` accepts:

- an nbgrader ``submitted/`` tree: ``PATH/<student>/<assignment>/*.ipynb``;
- a folder with one subfolder per student (Moodle and most LMS exports);
- a flat folder or a zip of files named ``<student>_<file>`` or
  ``<student>-<file>``, including Canvas's ``<login>_<userid>_<subid>_<file>``
  and its ``late`` marker and ``-1`` duplicate suffixes.

A notebook whose name matches no assignment notebook is identified by its
graded cells. Everything that cannot be mapped is listed with the reason.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from utilities.errors import CourseKitError

SUBMISSION_CSV = "submission.csv"
MAX_ZIP_BYTES = 2 * 1024**3
_CANVAS = re.compile(r"^(?P<student>[^_]+)(?:_late)?_\d+_\d+_(?P<file>.+)$", re.IGNORECASE)
_DUPLICATE_SUFFIX = re.compile(r"-\d+$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class SubmissionsError(CourseKitError):
    """The submissions path cannot be read at all."""


@dataclass
class StudentFiles:
    """One student's files: notebook name (without .ipynb) -> path, and the optional CSV."""

    student: str
    notebooks: dict[str, Path] = field(default_factory=dict)
    csv: Path | None = None
    notes: list[str] = field(default_factory=list)

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for name, path in sorted(self.notebooks.items()):
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
        if self.csv is not None:
            digest.update(b"csv\0" + self.csv.read_bytes())
        return digest.hexdigest()


@dataclass
class Collected:
    students: dict[str, StudentFiles]
    unmapped: list[str]  # "path: reason"


def student_id(text: str) -> str:
    """A safe nbgrader student id from a folder or file-name prefix."""
    cleaned = _UNSAFE.sub("_", text.strip()).strip("._-")
    return cleaned[:64] or "unknown"


def collect(path: Path, assignment: str, notebook_cells: dict[str, set[str]], workdir: Path):
    """Map the files under ``path`` (folder or zip) to students.

    ``notebook_cells`` maps each assignment notebook name to its grade ids.
    Zips are extracted into ``workdir``.
    """
    path = Path(path)
    if not path.exists():
        raise SubmissionsError(f"{path}: no such file or folder")
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise SubmissionsError(f"{path}: expected a folder or a .zip of submissions")
        path = _extract(path, workdir)
    collected = Collected(students={}, unmapped=[])
    files = sorted(
        item
        for item in path.rglob("*")
        if item.is_file()
        and not any(
            part.startswith(".") or part == "__MACOSX" for part in item.relative_to(path).parts
        )
    )
    for item in files:
        relative = item.relative_to(path)
        mapped = _map(relative, item, assignment, notebook_cells)
        if isinstance(mapped, str):
            collected.unmapped.append(f"{relative}: {mapped}")
            continue
        student, kind, note = mapped
        files_of = collected.students.setdefault(student, StudentFiles(student))
        if kind == SUBMISSION_CSV:
            if files_of.csv is not None:
                collected.unmapped.append(f"{relative}: a second {SUBMISSION_CSV} for {student}")
            else:
                files_of.csv = item
        elif kind in files_of.notebooks:
            collected.unmapped.append(f"{relative}: a second {kind}.ipynb for {student}")
        else:
            files_of.notebooks[kind] = item
            if note:
                files_of.notes.append(note)
    return collected


def _map(relative: Path, item: Path, assignment: str, notebook_cells: dict[str, set[str]]):
    """(student, notebook name or submission.csv, note) or the reason it cannot be mapped."""
    parts = relative.parts
    if len(parts) >= 3 and parts[-2] == assignment:
        student, filename = parts[0], parts[-1]  # nbgrader: student/assignment/file
    elif len(parts) >= 2:
        student, filename = parts[0], parts[-1]  # one folder per student
        student = re.split(r"_\d+_assignsubmission", student)[0]  # Moodle's folder names
    else:
        student, filename = _split_flat_name(parts[0], notebook_cells)
        if student is None:
            return "cannot tell whose file this is (expected STUDENT_FILE or a folder per student)"
    student = student_id(student)
    stem, suffix = Path(filename).stem, Path(filename).suffix.lower()
    stem = _DUPLICATE_SUFFIX.sub("", stem)
    if suffix == ".csv":
        if stem.lower() == "submission":
            return student, SUBMISSION_CSV, None
        return f"not {SUBMISSION_CSV}"
    if suffix != ".ipynb":
        return "not a notebook or submission.csv"
    if stem in notebook_cells:
        return student, stem, None
    guessed = _identify(item, notebook_cells)
    if guessed is None:
        return (
            f"cannot tell which notebook this is: the name is not one of "
            f"{', '.join(n + '.ipynb' for n in sorted(notebook_cells))} and its graded cells "
            "match none of them"
        )
    return student, guessed, f"{relative} was graded as {guessed}.ipynb (its graded cells match)"


def _split_flat_name(name: str, notebook_cells: dict[str, set[str]]):
    canvas = _CANVAS.match(name)
    if canvas:
        return canvas["student"], canvas["file"]
    for known in [*notebook_cells, "submission"]:
        match = re.match(rf"^(?P<student>.+?)[_-]{re.escape(known)}(-\d+)?\.\w+$", name)
        if match:
            return match["student"], name[len(match["student"]) + 1 :]
    match = re.match(r"^(?P<student>[^_-]+)[_-](?P<file>.+\.\w+)$", name)
    if match:
        return match["student"], match["file"]
    return None, name


def _identify(path: Path, notebook_cells: dict[str, set[str]]) -> str | None:
    """The assignment notebook whose grade ids this file shares most, if it shares any."""
    try:
        data = json.loads(path.read_text(encoding="utf-8", errors="replace"))
        ids = {
            cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            for cell in data.get("cells", [])
            if isinstance(cell, dict)
        }
    except (ValueError, AttributeError, OSError):
        return None
    scores = {name: len(ids & cells) for name, cells in notebook_cells.items()}
    best = max(scores, key=scores.get, default=None)
    if best is None or scores[best] == 0:
        return None
    if list(scores.values()).count(scores[best]) > 1:
        return None
    return best


def _extract(archive: Path, workdir: Path) -> Path:
    """Extract a zip safely: no absolute paths, no ``..``, and a cap on the unpacked size."""
    target = Path(tempfile.mkdtemp(prefix="submissions-", dir=workdir))
    with zipfile.ZipFile(archive) as bundle:
        total = sum(info.file_size for info in bundle.infolist())
        if total > MAX_ZIP_BYTES:
            raise SubmissionsError(
                f"{archive}: unpacks to {total / 1024**3:.1f} GB, over the "
                f"{MAX_ZIP_BYTES / 1024**3:.0f} GB limit"
            )
        for info in bundle.infolist():
            name = Path(info.filename)
            if name.is_absolute() or ".." in name.parts:
                raise SubmissionsError(f"{archive}: unsafe path {info.filename!r} in the zip")
            if info.is_dir():
                continue
            destination = target / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            with bundle.open(info) as source, open(destination, "wb") as sink:
                shutil.copyfileobj(source, sink)
    return target
