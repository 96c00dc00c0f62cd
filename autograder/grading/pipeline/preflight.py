"""Checks on a submitted notebook before nbgrader sees it.

:func:`preflight` reads one submitted file and compares its graded cells with
the released notebook. It never raises, whatever the bytes: it returns a
:class:`Preflight` with a notebook that nbgrader 0.9.6 can process (or
``None`` when the file cannot be used) and a plain-words list of what it
found and fixed.

The notebook passed on is rebuilt from what grading reads, nothing else:
each cell's type, source text, valid attachments and id, and the outputs of
ungraded code cells rebuilt from plain parts
(:mod:`autograder.grading.pipeline.own_outputs`: grading keeps them for the
cells it does not re-run). Execution counts and the student's metadata are
dropped; the notebook's metadata, and the cell metadata of every graded
cell, come from the release, so no edited flag, tag or kernel reaches the
grader. Broken cells are dropped, cells whose type was changed are changed
back, and deleted graded cells are put back from the release (nbgrader then
restores locked and test cells from the source).

The code scan lists student code that reaches into the grading machinery
(builtins, IPython hooks, the check functions, process exits, the network).
Such code does not change the score by itself; it marks the submission for a
TA's review.
"""

from __future__ import annotations

import codecs
import copy
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import nbformat.v3
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

from autograder.grading.pipeline.ingest import (
    MAX_FILE_BYTES,
    UnreadableSubmission,
    printable,
    read_submission_bytes,
)
from autograder.grading.pipeline.own_outputs import MAX_NOTEBOOK_BYTES as MAX_KEPT_BYTES
from autograder.grading.pipeline.own_outputs import Budget, keep_outputs, multiline_text

MAX_NOTEBOOK_BYTES = MAX_FILE_BYTES
MAX_NESTING = 100  # JSON levels; Jupyter's own notebooks stay under 20
MAX_CELLS = 5_000
OLDEST_NBFORMAT = 3
NEWEST_NBFORMAT = 4
SCORES_ZERO = "this notebook scores 0"
_NEW_CELL = {"code": new_code_cell, "markdown": new_markdown_cell, "raw": new_raw_cell}
_CELL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_NOT_TEXT = re.compile(r"[\x00\ud800-\udfff]")  # NUL and lone surrogates cannot be saved
_LISTED = 10  # a finding names at most this many cells or grade ids

# Code that reaches into the interpreter's machinery (what runs, how errors are reported).
# It cannot change a verdict (tests run in the grader's checker, never in the student's
# kernel), but a TA should know: each finding is a review note.
HOOK_CODE = {
    r"\bbuiltins\b|__builtins__": "changes Python's builtins",
    r"get_ipython\(\)\s*\.\s*(showtraceback|run_cell|events|set_custom_exc|ast_transformers|"
    r"input_transformer|register_magic_function|showsyntaxerror|_showtraceback|transform_cell|"
    r"kernel|compile|displayhook|user_expressions)|\b(input|ast)_transformers?"
    # the shell kept under another name, or reached with getattr/setattr, then changed
    r"|=\s*get_ipython\(\)|(getattr|setattr)\s*\(\s*get_ipython\(\)"
    r"|\.\s*(run_cell|showtraceback|set_custom_exc)\s*=[^=]": (
        "changes how IPython runs cells or reports errors"
    ),
    r"\bsys\s*\.\s*(modules|excepthook|settrace|setprofile|meta_path|path_hooks|_getframe)\b"
    r"|\bthreading\s*\.\s*(settrace|setprofile)\b|\bf_lineno\b|\b__code__\b": (
        "changes the interpreter's hooks"
    ),
    r"\b(checks|utilities)\s*\.\s*\w+\s*=[^=]|setattr\s*\(\s*(checks|utilities)\b": (
        "replaces a function of the grading checks"
    ),
    r"\bAssertionError\s*=[^=]": "rebinds AssertionError",
    r"__coursekit": "reaches for the grader's own names",
}
SUSPICIOUS_CODE = {
    r"\bsched_setaffinity\b": "changes which CPUs it runs on",
    r"\bos\s*\.\s*(_exit|kill|fork|system|exec\w*)\b|\bsys\s*\.\s*exit\b": (
        "exits or starts processes"
    ),
    r"\b(socket|subprocess|ctypes|urllib|requests|http\.client)\b": (
        "uses the network, subprocesses or ctypes"
    ),
    r"def\s+__eq__": "defines __eq__",
}

# What was repaired in a cell, as a finding names it; the cell numbers follow.
DROPPED = "not notebook cells (no known cell type), dropped"
NOT_TEXT_SOURCE = "a source that is not text, emptied"
NOT_TEXT_CHARACTERS = "NUL characters or invalid text, replaced by U+FFFD"
BAD_ATTACHMENTS = "attachments that cannot be read, dropped"
BROKEN_METADATA = "broken grading metadata, graded as ordinary cells"


class UnusableNotebook(Exception):
    """The submitted file cannot be graded; the message says why, in plain words."""


@dataclass
class Preflight:
    """What was found in one submitted notebook."""

    name: str
    notebook: nbformat.NotebookNode | None = None
    problems: list[str] = field(default_factory=list)  # fixed or scored 0; shown to students
    review: list[str] = field(default_factory=list)  # suspicious code for a TA to look at

    @property
    def usable(self) -> bool:
        return self.notebook is not None


def preflight(
    path: Path, release_notebook: nbformat.NotebookNode, name: str, *, root: Path | None = None
) -> Preflight:
    """Read ``path`` as the submission of notebook ``name`` and compare it with the release.

    ``root``, when given, is the submissions folder: no link between it and
    ``path`` is followed (see :func:`~autograder.grading.pipeline.ingest.read_submission_bytes`).
    """
    result = Preflight(name)
    try:
        data = read_submission_bytes(Path(path), MAX_NOTEBOOK_BYTES, root=root)
        submitted = _parse(data, result)
        result.notebook = _rebuild(submitted, release_notebook, result)
        _scan_code(result.notebook, result)
    except (UnusableNotebook, UnreadableSubmission) as error:
        result.notebook = None
        result.problems = [f"{name}: {error}; {SCORES_ZERO}"]
        result.review = []
    except Exception as error:  # a bug here must cost one notebook, never the class
        result.notebook = None
        result.problems = [f"{name}: the grader could not check this notebook; {SCORES_ZERO}"]
        result.review = [
            f"{name}: preflight failed ({type(error).__name__}: {printable(str(error))[:200]})"
        ]
    return result


# ---- reading -------------------------------------------------------------------


def _parse(data: bytes, result: Preflight) -> dict:
    """The submitted bytes as an nbformat 4 notebook dict, of any inner shape."""
    if not data:
        raise UnusableNotebook("the file is empty")
    text = _decode(data, result)
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as error:
        raise UnusableNotebook(
            f"not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}), "
            "perhaps edited outside Jupyter"
        ) from None
    except RecursionError:
        raise UnusableNotebook(
            f"nested over {MAX_NESTING} levels deep, as no notebook is"
        ) from None
    except ValueError:  # Python refuses integers of over 4,300 digits
        raise UnusableNotebook("it holds a number too long to read, as no notebook does") from None
    if _nested_deeper_than(parsed, MAX_NESTING):
        raise UnusableNotebook(f"nested over {MAX_NESTING} levels deep, as no notebook is")
    if not isinstance(parsed, dict):
        raise UnusableNotebook(f"not a Jupyter notebook (the file holds a JSON {_kind(parsed)})")
    version = parsed.get("nbformat")
    if type(version) is not int or not OLDEST_NBFORMAT <= version <= NEWEST_NBFORMAT:
        raise UnusableNotebook(
            f"not a Jupyter notebook of nbformat {OLDEST_NBFORMAT} or {NEWEST_NBFORMAT} "
            f"({_found_version(version)})"
        )
    if version < NEWEST_NBFORMAT:
        try:
            parsed = nbformat.convert(nbformat.v3.to_notebook_json(parsed), NEWEST_NBFORMAT)
        except Exception as error:  # nbformat raises several types for broken structure
            raise UnusableNotebook(
                f"not a valid nbformat {version} notebook ({_first_line(error)})"
            ) from None
        result.problems.append(f"{result.name}: upgraded from nbformat {version} to 4")
    return parsed


def _decode(data: bytes, result: Preflight) -> str:
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        result.problems.append(
            f"{result.name}: not valid UTF-8 from byte {error.start + 1:,}; "
            "what could not be read was replaced by U+FFFD"
        )
        return data.decode("utf-8", errors="replace")


def _nested_deeper_than(value: object, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _found_version(version: object) -> str:
    if version is None:
        return "it has no nbformat version"
    if type(version) is int:
        return f"found nbformat {version}" if abs(version) < 10**6 else "found a huge nbformat"
    return f"found a {_kind(version)} as its nbformat version"


def _kind(value: object) -> str:
    kinds = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return kinds.get(type(value), "number")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return printable(text.splitlines()[0][:200] if text else type(error).__name__)


# ---- rebuilding ----------------------------------------------------------------


def _rebuild(submitted: dict, release, result: Preflight) -> nbformat.NotebookNode:
    """A fresh notebook with the submitted cells, repaired, and the release's metadata."""
    cells = submitted.get("cells")
    if not isinstance(cells, list):
        raise UnusableNotebook("not a valid notebook (its cells are not a list)")
    if len(cells) > MAX_CELLS:
        raise UnusableNotebook(f"it has {len(cells):,} cells, over the {MAX_CELLS:,} limit")
    released = dict(_grade_ids(release))
    repairs: dict[str, list[int]] = defaultdict(list)
    per_cell: list[str] = []
    grade_ids: list[str] = []  # every string grade id, as submitted
    rebuilt, taken = [], set()
    budget = Budget()
    for number, raw in enumerate(cells, start=1):
        cell = _rebuild_cell(number, raw, repairs)
        if cell is None:
            continue
        grade_id = _grade_id(raw, number, repairs)
        if grade_id is not None:
            grade_ids.append(grade_id)
        original = released.get(grade_id)
        if original is not None and grade_id not in taken:
            cell = _as_released(cell, original, result.name, per_cell)
            taken.add(grade_id)
        elif cell.cell_type == "code" and cell.source.strip():  # may be kept, not re-run
            cell.outputs = keep_outputs(raw.get("outputs"), budget)
        rebuilt.append(cell)
    if budget.dropped:
        result.problems.append(
            f"{result.name}: {budget.dropped} of your own outputs were left out: over the "
            f"{MAX_KEPT_BYTES // 1024**2} MiB kept of a notebook's outputs"
        )
    _report_grade_ids(grade_ids, released, result)
    _put_back_deleted(rebuilt, release)
    _report_repairs(repairs, result)
    result.problems += per_cell
    _report_language(submitted.get("metadata"), result)
    notebook = new_notebook(cells=_unique_ids(rebuilt), metadata=copy.deepcopy(release.metadata))
    try:
        nbformat.validate(notebook)
    except Exception as error:  # should not happen: every part was checked above
        raise UnusableNotebook(
            f"it could not be repaired into a valid notebook ({_first_line(error)})"
        ) from None
    return notebook


def _rebuild_cell(number: int, raw: object, repairs) -> nbformat.NotebookNode | None:
    """A fresh cell of ``raw``'s type with its source, attachments and id; None to drop it."""
    cell_type = raw.get("cell_type") if isinstance(raw, dict) else None
    if not isinstance(cell_type, str) or cell_type not in _NEW_CELL:
        repairs[DROPPED].append(number)
        return None
    source = multiline_text(raw.get("source", ""))
    if source is None:
        repairs[NOT_TEXT_SOURCE].append(number)
        source = ""
    source, replaced = _NOT_TEXT.subn("\ufffd", source)
    if replaced:
        repairs[NOT_TEXT_CHARACTERS].append(number)
    cell = _NEW_CELL[cell_type](source)
    if isinstance(raw.get("id"), str) and _CELL_ID.fullmatch(raw["id"]):
        cell.id = raw["id"]
    if cell_type != "code" and "attachments" in raw:
        attachments = _attachments(raw["attachments"])
        if attachments is None:
            repairs[BAD_ATTACHMENTS].append(number)
        else:
            cell.attachments = attachments
    return cell


def _attachments(value: object) -> dict | None:
    """Attachments as nbformat allows them (name -> mime type -> text), or None."""
    if not isinstance(value, dict):
        return None
    clean = {}
    for name, bundle in value.items():
        if not isinstance(bundle, dict):
            return None
        clean_bundle = {}
        for mime, data in bundle.items():
            text = multiline_text(data)
            if text is None:
                return None
            clean_bundle[_NOT_TEXT.sub("\ufffd", mime)] = _NOT_TEXT.sub("\ufffd", text)
        clean[_NOT_TEXT.sub("\ufffd", name)] = clean_bundle
    return clean


def _grade_id(raw: dict, number: int, repairs) -> str | None:
    """The cell's nbgrader grade id, if it has a usable one; broken metadata is noted."""
    metadata = raw.get("metadata")
    if not isinstance(metadata, dict) or "nbgrader" not in metadata:
        return None
    nbgrader = metadata["nbgrader"]
    grade_id = nbgrader.get("grade_id") if isinstance(nbgrader, dict) else None
    if isinstance(grade_id, str) and grade_id:
        return grade_id
    if not isinstance(nbgrader, dict) or "grade_id" in nbgrader:
        repairs[BROKEN_METADATA].append(number)
    return None


def _graded_in(cells) -> set[str]:
    return {cell.metadata["nbgrader"]["grade_id"] for cell in cells if "nbgrader" in cell.metadata}


def _as_released(cell, original, name: str, per_cell: list[str]) -> nbformat.NotebookNode:
    """``cell`` as the released graded cell: its type and metadata, the student's source."""
    grade_id = original.metadata["nbgrader"]["grade_id"]
    if cell.cell_type != original.cell_type:
        per_cell.append(
            f"{name}: cell {grade_id} was changed from {original.cell_type} to "
            f"{cell.cell_type}; changed back"
        )
        retyped = _NEW_CELL[original.cell_type](cell.source)
        retyped.id = cell.id
        if original.cell_type != "code" and "attachments" in cell:
            retyped.attachments = cell.attachments
        cell = retyped
    cell.metadata = copy.deepcopy(original.metadata)
    locked = original.metadata["nbgrader"].get("locked", False)
    if locked and cell.source.strip() != original.source.strip():
        per_cell.append(f"{name}: read-only cell {grade_id} was edited; restored from the source")
    return cell


def _put_back_deleted(cells: list, release) -> None:
    """Insert each missing released graded cell after the released graded cell before it.

    nbgrader 0.9.6 puts back only deleted grade cells, and fails when the
    cell before one was deleted too; putting every one back here avoids both.
    """
    present = _graded_in(cells)
    previous = None
    for grade_id, original in _grade_ids(release):
        if grade_id not in present:
            at = 0  # the first graded cell goes first
            if previous is not None:
                at = next(i + 1 for i, cell in enumerate(cells) if _graded_id(cell) == previous)
            restored = _NEW_CELL[original.cell_type](original.source)
            restored.metadata = copy.deepcopy(original.metadata)
            if "attachments" in original:
                restored.attachments = copy.deepcopy(original.attachments)
            cells.insert(at, restored)
        previous = grade_id


def _graded_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _unique_ids(cells: list) -> list:
    seen = set()
    for cell in cells:
        if cell.id in seen:
            cell.id = _NEW_CELL[cell.cell_type]().id
        seen.add(cell.id)
    return cells


# ---- reporting -----------------------------------------------------------------


def _grade_ids(notebook) -> list[tuple[str, nbformat.NotebookNode]]:
    return [
        (cell.metadata["nbgrader"]["grade_id"], cell)
        for cell in notebook.cells
        if isinstance(cell.metadata.get("nbgrader"), dict)
        and cell.metadata["nbgrader"].get("grade_id")
    ]


def _report_grade_ids(submitted: list[str], released: dict, result: Preflight) -> None:
    where = result.name
    counts = Counter(submitted)
    missing = [grade_id for grade_id in released if grade_id not in counts]
    if missing:
        result.problems.append(
            f"{where}: deleted graded cells put back from the source: {_listing(missing)}"
        )
    duplicated = sorted(g for g, count in counts.items() if count > 1 and g in released)
    if duplicated:
        result.problems.append(
            f"{where}: duplicated graded cells, only the first copy counts: {_listing(duplicated)}"
        )
    unknown = sorted(grade_id for grade_id in counts if grade_id not in released)
    if unknown:
        result.problems.append(f"{where}: unknown graded cells ignored: {_listing(unknown)}")


def _report_repairs(repairs: dict[str, list[int]], result: Preflight) -> None:
    for what, numbers in repairs.items():
        cells = "cell" if len(numbers) == 1 else "cells"
        result.problems.append(f"{result.name}: {what}: {cells} {_listing(numbers)}")


def _report_language(metadata: object, result: Preflight) -> None:
    if not isinstance(metadata, dict):
        return
    for key, field_name in (("kernelspec", "language"), ("language_info", "name")):
        section = metadata.get(key)
        language = section.get(field_name) if isinstance(section, dict) else None
        if isinstance(language, str) and language.strip().lower() not in ("", "python"):
            result.problems.append(
                f"{result.name}: saved with a {printable(language)[:40]} kernel; "
                "run with Python, as released"
            )
            return


def _listing(items: list) -> str:
    shown = ", ".join(printable(str(item))[:80] for item in items[:_LISTED])
    more = len(items) - _LISTED
    return f"{shown} and {more:,} more" if more > 0 else shown


def _scan_code(notebook, result: Preflight) -> None:
    for index, cell in enumerate(notebook.cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("locked"):
            continue  # locked cells are replaced by the source anyway
        for pattern, meaning in (HOOK_CODE | SUSPICIOUS_CODE).items():
            match = re.search(pattern, cell.source)
            if match:
                found = repr(match.group(0).strip())[:120]  # repr escapes control characters
                result.review.append(f"{result.name}, cell {index + 1}: {meaning} ({found})")
