"""Feedback that never shows hidden tests and is safe to open.

nbgrader 0.9 renders feedback from the autograded notebook, which holds the
hidden tests restored from the source, and their tracebacks quote the hidden
lines. :class:`RedactHiddenTests` runs inside ``nbgrader generate_feedback``
(``coursekit grade`` configures it) and, on the copy being rendered only:

- removes every ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` region;
- shrinks the errors of hidden-test cells to their one-line message;
- removes any output line that repeats a hidden-test line, wherever the
  notebook printed it (a student can print the cells the kernel runs);
- writes the grading machine's paths in outputs as short labels
  (:mod:`autograder.grading.pipeline.hostpaths`).

The autograded notebook that instructors see keeps everything.

:class:`SafeFeedbackExporter` renders the page: nbgrader's own feedback
template, with everything a student controls sanitised (see
:mod:`autograder.grading.pipeline.sanitize`), so teaching assistants can open it on the
course's origin. :func:`sanitize_feedback_file` does the same to a page
already written.
"""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path

from jinja2 import pass_context
from nbconvert.exporters import HTMLExporter
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import default

from autograder.course.markers import DEFAULT_MARKERS, Markers, markers_from_config
from autograder.grading.pipeline.hostpaths import hide_host_paths
from autograder.grading.pipeline.sanitize import (
    Script,
    clean_fragment,
    sanitize_file,
    sanitize_page,
    scripts_in,
)

HIDDEN_REGION = DEFAULT_MARKERS.hidden_region()  # nbgrader's default delimiters
HIDDEN_NOTE = "# (hidden tests ran here; they are not shown)\n"
REDACTED = "[a line of a hidden test was removed]"
# Lines shorter than this (``)``, ``else:``) are too common to count as hidden.
MIN_HIDDEN_LINE = 12


def hidden_lines(cells, markers: Markers = DEFAULT_MARKERS) -> set[str]:
    """Stripped lines inside the hidden-test regions of ``cells``, long enough to be telling."""
    lines = set()
    region_pattern = markers.hidden_region()
    for cell in cells:
        for region in region_pattern.findall(cell.get("source", "")):
            inside = region.splitlines()[1:]
            if inside and markers.end_hidden_tests in inside[-1]:
                inside = inside[:-1]
            lines |= {line.strip() for line in inside}
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


def redact_notebook(nb, markers: Markers = DEFAULT_MARKERS) -> None:
    """Remove hidden tests from ``nb`` in place: sources, tracebacks and printed copies."""
    secret = hidden_lines(nb.cells, markers)
    region = markers.hidden_region()
    for cell in nb.cells:
        has_hidden = bool(region.search(cell.get("source", "")))
        if has_hidden:
            cell.source = region.sub(HIDDEN_NOTE, cell.source)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and has_hidden:
                output["traceback"] = [
                    f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
                ]
            _redact_output(output, secret)


def _redact_output(output, secret: set[str]) -> None:
    for key in ("text", "evalue"):
        if isinstance(output.get(key), str):
            output[key] = hide_host_paths(redact_text(output[key], secret))
    if "traceback" in output:
        output["traceback"] = [
            hide_host_paths(redact_text(line, secret)) for line in output["traceback"]
        ]
    for mime, value in output.get("data", {}).items():
        if isinstance(value, str) and not mime.startswith("image/"):
            output["data"][mime] = hide_host_paths(redact_text(value, secret))


class RedactHiddenTests(NbGraderPreprocessor):
    """nbgrader feedback step: see :func:`redact_notebook`."""

    def preprocess(self, nb, resources):
        redact_notebook(nb, markers_from_config(self.config))
        return nb, resources


class SafeFeedbackExporter(HTMLExporter):
    """nbgrader's feedback exporter, with every piece a student controls sanitised.

    - ``sanitize_html`` is on by default, so the template leaves JavaScript
      and widget outputs out instead of writing them as scripts;
    - the template's ``clean_html`` and ``markdown2html`` filters clean with
      :func:`~autograder.grading.pipeline.sanitize.clean_fragment`: HTML and Markdown outputs,
      and markdown cells too (nbgrader's template ignores the switch for
      them), each cell's markup kept inside its own cell;
    - the finished page goes through :func:`~autograder.grading.pipeline.sanitize.sanitize_page`,
      which keeps only :attr:`template_scripts`. This last step alone makes
      the page safe (it also catches what the template writes unescaped, such
      as an output's ``width``); the first two keep the page tidy.
    """

    @default("sanitize_html")
    def _sanitize_html_default(self) -> bool:
        return True

    def default_filters(self):
        yield from super().default_filters()
        yield ("clean_html", clean_fragment)

    @pass_context
    def markdown2html(self, context, source):
        return clean_fragment(super().markdown2html(context, source))

    @property
    def template_scripts(self) -> frozenset[Script]:
        """The scripts a page may keep: those nbconvert's MathJax macro writes."""
        mathjax = self.environment.get_template("mathjax.html.j2").module.mathjax
        return scripts_in(mathjax() + mathjax(self.mathjax_url))

    def from_notebook_node(self, nb, resources=None, **kw):
        page, resources = super().from_notebook_node(nb, resources, **kw)
        return sanitize_page(_titled_tests(page, nb), self.template_scripts), resources


def test_title(cell) -> str:
    """A test cell's title: its first comment line ("Test 1.2a (2 points): ..."), or ""."""
    for line in cell.get("source", "").splitlines():
        text = line.strip()
        if text:
            return text.lstrip("#").strip() if text.startswith("#") else ""
    return ""


def _titled_tests(page: str, nb) -> str:
    """nbgrader's table of contents names every test "Test cell"; name each by its title.

    Test cells are the source's own (nbgrader restores them by checksum), so
    a title is the instructor's words; it is escaped all the same.
    """
    for cell in nb.cells:
        nbgrader = cell.get("metadata", {}).get("nbgrader", {})
        if not (nbgrader.get("grade") and not nbgrader.get("solution")):
            continue
        title = test_title(cell)
        anchor = f'<a href="#{html.escape(str(nbgrader.get("grade_id", "")))}">'
        if title:
            page = page.replace(f"{anchor}Test cell</a>", f"{anchor}{html.escape(title)}</a>", 1)
    return page


def sanitize_feedback_file(path: Path) -> bool:
    """Sanitise a feedback page already on disk; return whether it changed."""
    return sanitize_file(Path(path), _default_template_scripts())


@cache
def _default_template_scripts() -> frozenset[Script]:
    return SafeFeedbackExporter().template_scripts
