"""Checks on a submitted notebook before nbgrader sees it.

:func:`preflight` reads one submitted file and compares its graded cells with
the released notebook. It never raises for bad input: it returns a
:class:`Preflight` with the notebook upgraded to nbformat 4 (or ``None`` when
the file cannot be used) and a plain-words list of what it found. nbgrader
then restores locked and test cells from the source (it also puts deleted
ones back and fixes changed cell types); these findings say what it fixed.

The code scan lists student code that reaches into the grading machinery
(builtins, IPython hooks, the check functions, process exits, the network).
Such code does not change the score by itself; it marks the submission for a
TA's review.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

MAX_NOTEBOOK_BYTES = 50 * 1024**2
OLDEST_NBFORMAT = 3

SUSPICIOUS_CODE = {
    r"\bbuiltins\b|__builtins__": "changes Python's builtins",
    r"get_ipython\(\)\s*\.\s*(showtraceback|run_cell|events|set_custom_exc|ast_transformers|"
    r"input_transformers|register_magic_function|showsyntaxerror|_showtraceback)": (
        "changes how IPython runs cells or reports errors"
    ),
    r"\bsys\s*\.\s*(modules|excepthook|settrace|setprofile)\b": "changes the interpreter's hooks",
    r"\b(checks|utilities)\s*\.\s*\w+\s*=[^=]|setattr\s*\(\s*(checks|utilities)\b": (
        "replaces a function of the grading checks"
    ),
    r"\bAssertionError\s*=[^=]": "rebinds AssertionError",
    r"\bos\s*\.\s*(_exit|kill|fork|system|exec\w*)\b|\bsys\s*\.\s*exit\b": (
        "exits or starts processes"
    ),
    r"\b(socket|subprocess|ctypes|urllib|requests|http\.client)\b": (
        "uses the network, subprocesses or ctypes"
    ),
    r"def\s+__eq__": "defines __eq__",
}


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


def preflight(path: Path, release_notebook: nbformat.NotebookNode, name: str) -> Preflight:
    """Read ``path`` as the submission of notebook ``name`` and compare it with the release."""
    result = Preflight(name)
    notebook = _read(Path(path), result)
    if notebook is None:
        return result
    result.notebook = notebook
    _compare_graded_cells(notebook, release_notebook, result)
    _scan_code(notebook, result)
    return result


def _read(path: Path, result: Preflight) -> nbformat.NotebookNode | None:
    size = path.stat().st_size
    where = path.name
    if size == 0:
        result.problems.append(f"{where}: the file is empty; this notebook scores 0")
        return None
    if size > MAX_NOTEBOOK_BYTES:
        result.problems.append(
            f"{where}: the file is {size / 1024**2:.0f} MB, over the "
            f"{MAX_NOTEBOOK_BYTES // 1024**2} MB limit; this notebook scores 0"
        )
        return None
    text = path.read_bytes().decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        result.problems.append(
            f"{where}: not valid JSON (line {error.lineno}, column {error.colno}: "
            f"{error.msg}); was it edited outside Jupyter? This notebook scores 0"
        )
        return None
    version = data.get("nbformat") if isinstance(data, dict) else None
    if not isinstance(version, int) or version < OLDEST_NBFORMAT:
        result.problems.append(
            f"{where}: not a Jupyter notebook of nbformat {OLDEST_NBFORMAT} or later "
            f"(found nbformat {version!r}); this notebook scores 0"
        )
        return None
    try:
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except Exception as error:  # nbformat raises several types for broken structure
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        result.problems.append(
            f"{where}: not a valid notebook ({message[:200]}); this notebook scores 0"
        )
        return None
    if version < 4:
        result.problems.append(f"{where}: upgraded from nbformat {version} to 4")
    return notebook


def _grade_ids(notebook) -> list[tuple[str, nbformat.NotebookNode]]:
    return [
        (cell.metadata["nbgrader"]["grade_id"], cell)
        for cell in notebook.cells
        if isinstance(cell.metadata.get("nbgrader"), dict)
        and cell.metadata["nbgrader"].get("grade_id")
    ]


def _compare_graded_cells(notebook, release, result: Preflight) -> None:
    where = result.name
    released = dict(_grade_ids(release))
    submitted = _grade_ids(notebook)
    counts = Counter(grade_id for grade_id, _ in submitted)
    missing = [grade_id for grade_id in released if grade_id not in counts]
    if missing:
        result.problems.append(
            f"{where}: deleted graded cells put back from the source: {', '.join(missing)}"
        )
    duplicated = sorted(grade_id for grade_id, count in counts.items() if count > 1)
    if duplicated:
        result.problems.append(
            f"{where}: duplicated graded cells, only the first copy counts: {', '.join(duplicated)}"
        )
    unknown = sorted(grade_id for grade_id in counts if grade_id not in released)
    if unknown:
        result.problems.append(f"{where}: unknown graded cells ignored: {', '.join(unknown)}")
    seen = set()
    for grade_id, cell in submitted:
        original = released.get(grade_id)
        if original is None or grade_id in seen:
            # nbgrader 0.9.6 fails on cells whose nbgrader metadata it has emptied
            # (duplicates, unknown ids) when it puts deleted cells back: drop it here.
            del cell.metadata["nbgrader"]
            continue
        seen.add(grade_id)
        if cell.cell_type != original.cell_type:
            result.problems.append(
                f"{where}: cell {grade_id} was changed from {original.cell_type} to "
                f"{cell.cell_type}; changed back"
            )
        locked = original.metadata["nbgrader"].get("locked", False)
        if locked and cell.source.strip() != original.source.strip():
            result.problems.append(
                f"{where}: read-only cell {grade_id} was edited; restored from the source"
            )


def _scan_code(notebook, result: Preflight) -> None:
    for index, cell in enumerate(notebook.cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or (isinstance(meta, dict) and meta.get("locked")):
            continue  # locked cells are replaced by the source anyway
        for pattern, meaning in SUSPICIOUS_CODE.items():
            match = re.search(pattern, cell.source)
            if match:
                result.review.append(
                    f"{result.name}, cell {index + 1}: {meaning} ({match.group(0).strip()!r})"
                )
