"""Finding each student's files in what an instructor downloaded.

:func:`collect` accepts:

- an nbgrader ``submitted/`` tree: ``PATH/<student>/<assignment>/*.ipynb``;
- Moodle's "Download all submissions": a folder per student named
  ``<Full Name>_<participant id>_assignsubmission_file_`` (or flat files
  with that prefix);
- Canvas's "Download Submissions": files named
  ``<login>_<userid>_<subid>_<file>``, with its ``late`` marker;
- any other folder with one subfolder per student, or a flat folder of
  files named ``<student>_<file>`` or ``<student>-<file>``.

Duplicate uploads' ``-1`` suffixes are dropped. nbgrader's ``timestamp.txt`` is kept as
the student's hand-in time, and a zip's files keep the times stored in it. Each
student's id comes from :mod:`autograder.grading.lms.identity`: the LMS's own id where
there is one (so two students with one name stay two), never a display name squeezed
to ASCII.
Two different people whose ids are the same are never merged: the second
one's files are listed. A notebook whose name matches no assignment notebook
is identified by its graded cells. Everything that cannot be mapped is
listed with the reason.

Submissions are files, never links: a symbolic link anywhere below the
submissions folder, or in a zip, is refused and listed, never followed, and
:func:`read_submission_bytes` opens each file without following links. No
single file can stop a run: whatever cannot be read is listed in
``Collected.unmapped``. Messages show file names through :func:`printable`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder.grading.lms.identity import Lms, StudentIdentity
from autograder.grading.pipeline.safe_read import (
    LINK_REFUSED,
    NOT_A_FILE,
    UnreadableSubmission,
    describe_error,
    printable,
    read_submission_bytes,
    why_unreadable,
)
from utilities.errors import CourseKitError

SUBMISSION_CSV = "submission.csv"
TIMESTAMP_FILE = "timestamp.txt"  # nbgrader's hand-in time (autograder.grading.lms.handin)
MODEL_SUFFIX = ".keras"  # the model a student hands in with Part 2 (checked for the bonus)
MODEL_FILE = "model"  # the kind of file, in StudentFiles
MAX_FILE_BYTES = 50 * 1024**2  # a submitted notebook or CSV larger than this is not read
MAX_ZIP_BYTES = 2 * 1024**3
MAX_ZIP_ENTRIES = 20_000
_MOODLE = re.compile(
    r"(?P<name>.*?)_(?P<participant>[0-9]{1,20})_assignsubmission_[a-z]+_(?P<file>.*)", re.DOTALL
)
_CANVAS = re.compile(
    r"(?P<login>[^_]*?)(?:_late)?_(?P<user>[0-9]{1,20})_[0-9]{1,20}_(?P<file>.+)",
    re.IGNORECASE | re.DOTALL,
)
_DUPLICATE_SUFFIX = re.compile(r"-\d+$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class SubmissionsError(CourseKitError):
    """The submissions path cannot be read at all."""


@dataclass
class StudentFiles:
    """One student's files: notebook name (without .ipynb) -> path, and the optional CSV.

    ``student`` is ``identity.id``; without an ``identity``, ``student`` is
    taken as an nbgrader folder name. Every path lies below ``root`` with no
    link on the way; read them with :func:`read_submission_bytes` and
    ``root=root``.
    """

    student: str
    notebooks: dict[str, Path] = field(default_factory=dict)
    csv: Path | None = None
    model: Path | None = None  # the handed-in Keras model (``*.keras``)
    timestamp: Path | None = None  # nbgrader's timestamp.txt: when it was handed in
    notes: list[str] = field(default_factory=list)
    root: Path | None = None
    identity: StudentIdentity | None = None  # always set once constructed

    def __post_init__(self) -> None:
        if self.identity is None:
            self.identity = StudentIdentity.from_nbgrader(self.student)
        if self.identity.id != self.student:
            raise ValueError(f"student {self.student!r} is not the id of {self.identity}")

    def fingerprint(self) -> str:
        """A digest of each file's name and content (or of why it cannot be read)."""
        digest = hashlib.sha256()
        files = sorted(self.notebooks.items())
        if self.csv is not None:
            files.append((SUBMISSION_CSV, self.csv))
        if self.model is not None:
            files.append((MODEL_FILE, self.model))
        for name, path in files:
            try:
                content = hashlib.sha256(
                    read_submission_bytes(path, MAX_FILE_BYTES, root=self.root)
                )
                seen = content.hexdigest()
            except UnreadableSubmission as error:
                seen = f"unreadable: {error}"
            digest.update(f"{name}\0{seen}\0".encode())
        return digest.hexdigest()


@dataclass(frozen=True, order=True)
class Unmapped:
    """A file or folder that was not mapped to a student, and why."""

    path: str  # relative to the submissions folder or zip, as found
    reason: str

    def __str__(self) -> str:
        return f"{printable(self.path)}: {self.reason}"


@dataclass
class Collected:
    """Every student's files, and every file or folder that was not mapped."""

    students: dict[str, StudentFiles]
    unmapped: list[Unmapped]
    root: Path  # the folder the students' paths lie below (a zip's extraction folder)


def student_id(text: str) -> str:
    """A safe nbgrader student id from a folder or file-name prefix.

    Only ASCII letters, digits, ``_``, ``.`` and ``-``, never starting or
    ending with ``.``, ``_`` or ``-`` (so never ``.`` or ``..``), at most 64
    characters; ``unknown`` when nothing is left.
    """
    cleaned = _UNSAFE.sub("_", text.strip()).strip("._-")
    return cleaned[:64].rstrip("._-") or "unknown"


def collect(
    path: Path, assignment: str, notebook_cells: dict[str, set[str]], workdir: Path
) -> Collected:
    """Map the files under ``path`` (folder or zip) to students.

    ``notebook_cells`` maps each assignment notebook name to its grade ids.
    Zips are extracted into ``workdir``. Raises :class:`SubmissionsError` only
    when ``path`` itself cannot be read; a file that cannot be read or mapped
    is listed in ``unmapped`` with the reason.
    """
    path = Path(path)
    unmapped: list[Unmapped] = []
    if not path.exists():
        raise SubmissionsError(f"{printable(path)}: no such file or folder")
    root = path.resolve()
    if root.is_file() and zipfile.is_zipfile(root):
        root = _extract(root, Path(workdir), unmapped)
    elif not root.is_dir():
        raise SubmissionsError(f"{printable(path)}: expected a folder or a .zip of submissions")
    collected = Collected(students={}, unmapped=unmapped, root=root)
    for relative in _walk(root, unmapped):
        try:
            _add(collected, relative, assignment, notebook_cells)
        except Exception as error:  # one file must never stop the others
            unmapped.append(Unmapped(str(relative), why_unreadable(error)))
    return collected


def _add(collected: Collected, relative: Path, assignment: str, notebook_cells) -> None:
    item = collected.root / relative
    mapped = _map(relative, item, assignment, notebook_cells, collected.root)
    if isinstance(mapped, str):
        collected.unmapped.append(Unmapped(str(relative), mapped))
        return
    identity, kind, note = mapped
    student = identity.id
    files_of = collected.students.get(student)
    if files_of is None:
        files_of = StudentFiles(student, root=collected.root, identity=identity)
        collected.students[student] = files_of
    elif files_of.identity != identity:
        collected.unmapped.append(Unmapped(str(relative), _taken(identity, files_of.identity)))
        return
    if kind in (SUBMISSION_CSV, MODEL_FILE, TIMESTAMP_FILE):
        attribute = {SUBMISSION_CSV: "csv", MODEL_FILE: "model", TIMESTAMP_FILE: "timestamp"}[kind]
        if getattr(files_of, attribute) is not None:
            what = f"{MODEL_SUFFIX} model" if kind == MODEL_FILE else kind
            collected.unmapped.append(Unmapped(str(relative), f"a second {what} for {student}"))
        else:
            setattr(files_of, attribute, item)
    elif kind in files_of.notebooks:
        collected.unmapped.append(Unmapped(str(relative), f"a second {kind}.ipynb for {student}"))
    else:
        files_of.notebooks[kind] = item
        if note:
            files_of.notes.append(note)


def _walk(root: Path, unmapped: list[Unmapped]) -> list[Path]:
    """Every regular file below ``root`` (relative to it), found without following links.

    Hidden entries and ``__MACOSX`` are skipped; links, devices, pipes and
    unreadable folders are listed in ``unmapped``.
    """
    files: list[Path] = []
    folders = [Path()]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(root / folder) as scan:
                entries = list(scan)
        except OSError as error:
            if folder == Path():
                raise SubmissionsError(f"{printable(root)}: {why_unreadable(error)}") from None
            unmapped.append(Unmapped(str(folder), f"this folder {why_unreadable(error)}"))
            continue
        for entry in entries:
            if entry.name.startswith(".") or entry.name == "__MACOSX":
                continue
            relative = folder / entry.name
            try:
                if entry.is_symlink():
                    unmapped.append(Unmapped(str(relative), LINK_REFUSED))
                elif entry.is_dir(follow_symlinks=False):
                    folders.append(relative)
                elif entry.is_file(follow_symlinks=False):
                    files.append(relative)
                else:
                    unmapped.append(Unmapped(str(relative), NOT_A_FILE))
            except OSError as error:
                unmapped.append(Unmapped(str(relative), why_unreadable(error)))
    return sorted(files)


def _taken(identity: StudentIdentity, holder: StudentIdentity) -> str:
    return (
        f"cannot tell whose file this is: {printable(identity.label)} has the student id of "
        f"{printable(holder.label)}, a different student"
    )


def _map(relative: Path, item: Path, assignment: str, notebook_cells, root: Path):
    """(identity, notebook name or submission.csv, note) or the reason it cannot be mapped."""
    whose = _whose(relative.parts, assignment, notebook_cells)
    if whose is None:
        return "cannot tell whose file this is (expected STUDENT_FILE or a folder per student)"
    identity, filename = whose
    stem, suffix = Path(filename).stem, Path(filename).suffix.lower()
    stem = _DUPLICATE_SUFFIX.sub("", stem)
    if filename == TIMESTAMP_FILE:
        return identity, TIMESTAMP_FILE, None
    if suffix == ".csv":
        if stem.lower() == "submission":
            return identity, SUBMISSION_CSV, None
        return f"not {SUBMISSION_CSV}"
    if suffix == MODEL_SUFFIX:
        return identity, MODEL_FILE, None
    if suffix != ".ipynb":
        return f"not a notebook, submission.csv or a {MODEL_SUFFIX} model"
    if stem in notebook_cells:
        return identity, stem, None
    expected = ", ".join(name + ".ipynb" for name in sorted(notebook_cells))
    try:
        guessed = _identify(item, notebook_cells, root)
    except UnreadableSubmission as error:
        return f"cannot tell which notebook this is: the name is not one of {expected}, and {error}"
    if guessed is None:
        return (
            f"cannot tell which notebook this is: the name is not one of {expected} and its "
            "graded cells match none of them"
        )
    note = f"{printable(relative)} was graded as {guessed}.ipynb (its graded cells match)"
    return identity, guessed, note


def _whose(
    parts: tuple[str, ...], assignment: str, notebook_cells
) -> tuple[StudentIdentity, str] | None:
    """The student a file at ``parts`` belongs to, and its file name; ``None`` if unknown."""
    moodle = _MOODLE.fullmatch(parts[0])
    if moodle and (len(parts) >= 2) == (moodle["file"] == ""):
        filename = parts[-1] if len(parts) >= 2 else moodle["file"]
        return StudentIdentity.from_moodle(moodle["participant"], moodle["name"]), filename
    if len(parts) >= 3 and assignment in parts[1:-1]:  # nbgrader: student/assignment/file
        return StudentIdentity.from_nbgrader(parts[0]), parts[-1]
    if len(parts) >= 2:
        return StudentIdentity.from_name(parts[0], Lms.FOLDER), parts[-1]
    canvas = _CANVAS.fullmatch(parts[0])
    if canvas:
        return StudentIdentity.from_canvas(canvas["user"], canvas["login"]), canvas["file"]
    name, filename = _split_flat_name(parts[0], notebook_cells)
    if name is None:
        return None
    return StudentIdentity.from_name(name, Lms.FLAT), filename


def _split_flat_name(name: str, notebook_cells: dict[str, set[str]]):
    for known in [*notebook_cells, "submission"]:
        match = re.fullmatch(rf"(?P<student>.+?)[_-]{re.escape(known)}(-\d+)?\.\w+", name)
        if match:
            return match["student"], name[len(match["student"]) + 1 :]
    match = re.fullmatch(r"(?P<student>[^_-]+)[_-](?P<file>.+\.\w+)", name)
    if match:
        return match["student"], match["file"]
    return None, name


def _identify(path: Path, notebook_cells: dict[str, set[str]], root: Path) -> str | None:
    """The assignment notebook whose grade ids this file shares most, if it shares any.

    Raises :class:`UnreadableSubmission` when the file cannot be read as JSON.
    """
    data = read_submission_bytes(path, MAX_FILE_BYTES, root=root)
    try:
        notebook = json.loads(data.decode("utf-8-sig", errors="replace"))
    except RecursionError:
        raise UnreadableSubmission("it is nested too deeply to read") from None
    except ValueError:  # invalid JSON, or a number too long to convert
        raise UnreadableSubmission("it is not a notebook (not valid JSON)") from None
    ids = _grade_ids_in(notebook)
    scores = {name: len(ids & cells) for name, cells in notebook_cells.items()}
    best = max(scores, key=scores.__getitem__, default=None)
    if best is None or scores[best] == 0:
        return None
    if list(scores.values()).count(scores[best]) > 1:
        return None
    return best


def _grade_ids_in(notebook: object) -> set[str]:
    """The string grade ids of a parsed notebook of any shape (nbformat 3's worksheets too)."""
    if not isinstance(notebook, dict):
        return set()
    cells = notebook.get("cells")
    cells = list(cells) if isinstance(cells, list) else []
    worksheets = notebook.get("worksheets")
    for sheet in worksheets if isinstance(worksheets, list) else []:
        if isinstance(sheet, dict) and isinstance(sheet.get("cells"), list):
            cells += sheet["cells"]
    ids = set()
    for cell in cells:
        metadata = cell.get("metadata") if isinstance(cell, dict) else None
        nbgrader = metadata.get("nbgrader") if isinstance(metadata, dict) else None
        grade_id = nbgrader.get("grade_id") if isinstance(nbgrader, dict) else None
        if isinstance(grade_id, str):
            ids.add(grade_id)
    return ids


def _extract(archive: Path, workdir: Path, unmapped: list[Unmapped]) -> Path:
    """Extract a zip's regular files into a new folder; refused entries go to ``unmapped``.

    Links, devices, absolute paths and ``..`` are never extracted. The whole
    zip is refused when it has over :data:`MAX_ZIP_ENTRIES` entries or would
    unpack to over :data:`MAX_ZIP_BYTES`.
    """
    try:
        bundle = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as error:
        reason = printable(str(error))[:200]
        raise SubmissionsError(f"{printable(archive)}: cannot read the zip ({reason})") from None
    with bundle:
        entries = bundle.infolist()
        if len(entries) > MAX_ZIP_ENTRIES:
            raise SubmissionsError(
                f"{printable(archive)}: {len(entries):,} entries, over the "
                f"{MAX_ZIP_ENTRIES:,} limit"
            )
        total = sum(info.file_size for info in entries)
        if total > MAX_ZIP_BYTES:
            raise SubmissionsError(
                f"{printable(archive)}: unpacks to {total / 1024**3:.1f} GB, over the "
                f"{MAX_ZIP_BYTES / 1024**3:.0f} GB limit"
            )
        workdir.mkdir(parents=True, exist_ok=True)
        target = Path(tempfile.mkdtemp(prefix="submissions-", dir=workdir))
        for info in entries:
            refused = _extract_entry(bundle, info, target)
            if refused:
                unmapped.append(Unmapped(info.filename, refused))
    return target


def _extract_entry(bundle: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> str | None:
    """Extract one entry below ``target``; the reason it was not extracted, if it was not."""
    parts = PurePosixPath(info.filename).parts
    if not parts or info.filename.startswith("/") or ".." in parts:
        return "an unsafe path in the zip (absolute, empty or with ..); not extracted"
    if any(part.startswith(".") or part == "__MACOSX" for part in parts):
        return None  # hidden files and macOS resource forks, skipped as in folders
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind == stat.S_IFLNK:
        return "a symbolic link in the zip; submissions must be files, not links (not extracted)"
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        return "not a regular file in the zip (a device, pipe or socket; not extracted)"
    if info.is_dir() or kind == stat.S_IFDIR:
        return None
    destination = target.joinpath(*parts)
    created = False
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        # "x": never replaces an earlier entry, and never writes through a link
        with destination.open("xb") as sink:
            created = True
            with bundle.open(info) as source:
                shutil.copyfileobj(source, sink)
        with contextlib.suppress(OverflowError, ValueError, OSError):
            stored = time.mktime((*info.date_time, 0, 0, -1))  # as unzip: this machine's zone
            os.utime(destination, (stored, stored))  # the hand-in's file time (lms.handin)
    except FileExistsError:
        if destination.parent.is_dir():
            return "a second entry with this name in the zip; the first is used"
        return "could not be extracted (a file of the zip has the name of its folder)"
    except Exception as error:  # a corrupt, encrypted or oddly compressed entry
        if created:
            destination.unlink(missing_ok=True)
        return f"could not be extracted ({describe_error(error)})"
    return None
