"""Feedback that never shows hidden tests.

nbgrader 0.9 renders feedback from the autograded notebook, which holds the
hidden tests restored from the source, and their tracebacks quote the hidden
lines. :class:`RedactHiddenTests` runs inside ``nbgrader generate_feedback``
(``coursekit grade`` configures it) and, on the copy being rendered only:

- removes every ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` region;
- shrinks the errors of hidden-test cells to their one-line message;
- removes any output line that repeats a hidden-test line, wherever the
  notebook printed it (a student can print the cells the kernel runs).

The autograded notebook that instructors see keeps everything.
"""

from __future__ import annotations

import re

from nbgrader.preprocessors import NbGraderPreprocessor

HIDDEN_REGION = re.compile(
    r"^[ \t]*#+\s*BEGIN HIDDEN TESTS\b.*?^[ \t]*#+\s*END HIDDEN TESTS\b[^\n]*\n?",
    re.DOTALL | re.MULTILINE,
)
HIDDEN_NOTE = "# (hidden tests ran here; they are not shown)\n"
REDACTED = "[a line of a hidden test was removed]"
# Lines shorter than this (``)``, ``else:``) are too common to count as hidden.
MIN_HIDDEN_LINE = 12


def hidden_lines(cells) -> set[str]:
    """Stripped lines inside the hidden-test regions of ``cells``, long enough to be telling."""
    lines = set()
    for cell in cells:
        for region in HIDDEN_REGION.findall(cell.get("source", "")):
            lines |= {line.strip() for line in region.splitlines()[1:-1]}
    return {line for line in lines if len(line) >= MIN_HIDDEN_LINE}


def redact_text(text: str, secret: set[str]) -> str:
    """``text`` with every line that contains a secret line replaced."""
    if not secret:
        return text
    out = []
    for line in text.splitlines(keepends=True):
        out.append(
            REDACTED + ("\n" if line.endswith("\n") else "")
            if any(hidden in line for hidden in secret)
            else line
        )
    return "".join(out)


def redact_notebook(nb) -> None:
    """Remove hidden tests from ``nb`` in place: sources, tracebacks and printed copies."""
    secret = hidden_lines(nb.cells)
    for cell in nb.cells:
        has_hidden = bool(HIDDEN_REGION.search(cell.get("source", "")))
        if has_hidden:
            cell.source = HIDDEN_REGION.sub(HIDDEN_NOTE, cell.source)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and has_hidden:
                output["traceback"] = [
                    f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
                ]
            _redact_output(output, secret)


def _redact_output(output, secret: set[str]) -> None:
    for key in ("text", "evalue"):
        if isinstance(output.get(key), str):
            output[key] = redact_text(output[key], secret)
    if "traceback" in output:
        output["traceback"] = [redact_text(line, secret) for line in output["traceback"]]
    for mime, value in output.get("data", {}).items():
        if isinstance(value, str) and not mime.startswith("image/"):
            output["data"][mime] = redact_text(value, secret)


class RedactHiddenTests(NbGraderPreprocessor):
    """nbgrader feedback step: see :func:`redact_notebook`."""

    def preprocess(self, nb, resources):
        redact_notebook(nb)
        return nb, resources
