"""The student's own outputs of cells grading does not re-run, kept as data and capped.

Grading runs only the cells some test depends on
(:func:`autograder.grading.checker.plan.cells_to_run`); every other code cell
keeps what the student's own run showed (their 20-epoch training curves, not
a one-epoch re-run), for their feedback and the TA who reads their answers.
Those outputs come from the handed-in file, so preflight rebuilds each one
from plain parts: known output types, text or base64 image data of known
MIME types, nothing executable (HTML is sanitised with the feedback page).
Each cell keeps at most :data:`MAX_CELL_BYTES` and a notebook
:data:`MAX_NOTEBOOK_BYTES`; what is over is left out, with a line that says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from nbformat.v4 import new_output

MAX_CELL_BYTES = 2 * 1024**2
MAX_NOTEBOOK_BYTES = 8 * 1024**2
#: MIME types kept; scripts, widgets and anything else are dropped.
KEPT_MIME_TYPES = (
    "text/plain",
    "text/html",
    "text/markdown",
    "text/latex",
    "image/png",
    "image/jpeg",
    "image/svg+xml",
)
NOT_RERUN = "your own output, not re-run in grading"
NOT_RUN = "not run by you, and not re-run in grading"


@dataclass
class Budget:
    """What is left of the notebook's allowance for kept outputs."""

    left: int = MAX_NOTEBOOK_BYTES
    dropped: int = 0  # outputs left out for size


def keep_outputs(raw: object, budget: Budget) -> list:
    """The outputs of one handed-in code cell that can be kept, within ``budget``."""
    if not isinstance(raw, list):
        return []
    kept, size = [], 0
    for item in raw:
        output = _output(item)
        if output is None:
            continue
        weight = _size(output)
        if size + weight > MAX_CELL_BYTES or weight > budget.left:
            budget.dropped += 1
            continue
        size += weight
        budget.left -= weight
        kept.append(output)
    return kept


def multiline_text(value: object) -> str | None:
    """nbformat's multiline string (a string or a list of strings) as one string, or None."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return "".join(value)
    return None


def _output(item: object):
    """One output rebuilt from plain parts, or None when it is not one the kit keeps."""
    if not isinstance(item, dict):
        return None
    kind = item.get("output_type")
    if kind == "stream":
        text = multiline_text(item.get("text"))
        name = item.get("name")
        if text is None or name not in ("stdout", "stderr"):
            return None
        return new_output("stream", name=name, text=text)
    if kind == "error":
        ename, evalue = multiline_text(item.get("ename")), multiline_text(item.get("evalue"))
        if ename is None or evalue is None:
            return None
        return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])
    if kind in ("display_data", "execute_result"):
        data = item.get("data")
        if not isinstance(data, dict):
            return None
        kept = {}
        for mime in KEPT_MIME_TYPES:
            text = multiline_text(data.get(mime))
            if text is not None:
                kept[mime] = text
        if not kept:
            return None
        if kind == "execute_result":
            return new_output(kind, data=kept, execution_count=None)
        return new_output(kind, data=kept)
    return None


def _size(output) -> int:
    if output.output_type == "stream":
        return len(output.text)
    if output.output_type == "error":
        return len(output.ename) + len(output.evalue)
    return sum(len(value) for value in output.data.values())


def marked(outputs: list) -> list:
    """``outputs`` under a line saying they are the student's own, not grading's."""
    note = NOT_RERUN if outputs else NOT_RUN
    return [new_output("stream", name="stdout", text=f"[{note}]\n"), *outputs]
