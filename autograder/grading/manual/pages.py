"""The TA's page for one task: every student's answer beside the rubric, and a form for scores.

One self-contained HTML file per task that works offline from the disk: the task's
prompt, model answer and rubric from the source notebook; for each student the
answer (Markdown rendered, then sanitised by
:func:`~autograder.grading.pipeline.sanitize.clean_fragment`), the outputs of the
cells it refers to as the student handed them in (pictures as data URIs), the
autograded results for context, and a score and a comment. The page's one script
downloads the scores as a CSV that ``coursekit review --import`` reads
(:mod:`autograder.grading.manual.scorefile`), and keeps a draft in the browser's
storage. A Content-Security-Policy allows that script (by its hash), inline styles
and data-URI images, and nothing else: no request leaves the page.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import DictLoader, Environment
from markupsafe import Markup

from autograder.grading.manual.answers import Answer, Task
from autograder.grading.manual.assets import SCRIPT, STYLE
from autograder.grading.manual.store import ScoreChange
from autograder.grading.pipeline.records import StudentRecord
from autograder.grading.pipeline.sanitize import clean_fragment
from utilities.files import write_text_atomically

MAX_OUTPUT_BYTES = 3 * 1024**2  # of one student's outputs on a page; the rest is left out
MAX_TEXT = 20_000  # characters of one text output
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ANCHOR = re.compile(r'<a class="anchor-link"[^>]*>[^<]*</a>')  # nbconvert's heading links


@dataclass(frozen=True)
class Entry:
    """One student's row on a task page."""

    answer: Answer
    record: StudentRecord | None
    given: ScoreChange | None  # the score in force, if any
    changed: bool  # graded, and the answer changed since

    @property
    def student(self) -> str:
        return self.answer.student


def markdown(text: str) -> Markup:
    """Markdown as safe HTML: rendered, then cleaned of everything outside the allow-list."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return Markup(clean_fragment(_ANCHOR.sub("", markdown2html_mistune(text))))


def render_outputs(outputs: list[dict]) -> Markup:
    """A notebook's outputs as safe HTML: pictures, tables, text and errors, within a budget."""
    parts: list[str] = []
    budget = MAX_OUTPUT_BYTES
    left_out = 0
    for output in outputs:
        part = _output(output)
        if len(part) > budget:
            left_out += 1
            continue
        budget -= len(part)
        parts.append(part)
    if left_out:
        parts.append(
            f'<p class="note">{left_out} more output(s) left out: over the page budget</p>'
        )
    return Markup("".join(parts))


def _output(output: dict) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        return _pre(_text(output.get("text", "")))
    if kind == "error":
        line = f"{output.get('ename', 'Error')}: {_text(output.get('evalue', ''))}"
        return f'<pre class="error">{html.escape(_ANSI.sub("", line)[:MAX_TEXT])}</pre>'
    data = output.get("data", {}) if isinstance(output.get("data"), dict) else {}
    for mime in IMAGE_TYPES:
        if mime in data:
            payload = _text(data[mime]).replace("\n", "")
            if mime == "image/svg+xml":
                payload = base64.b64encode(payload.encode()).decode()
            return clean_fragment(
                f'<img alt="a figure they handed in" src="data:{mime};base64,{payload}">'
            )
    if "text/html" in data:
        table = clean_fragment(_text(data["text/html"])[: MAX_TEXT * 10])
        return f'<div class="html-output">{table}</div>'
    if "text/plain" in data:
        return _pre(_text(data["text/plain"]))
    return ""


def _text(value: object) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _pre(text: str) -> str:
    text = _ANSI.sub("", text)
    cut = f"\n… ({len(text) - MAX_TEXT:,} more characters)" if len(text) > MAX_TEXT else ""
    return f"<pre>{html.escape(text[:MAX_TEXT] + cut)}</pre>"


def script_hash() -> str:
    """The page script's CSP hash source."""
    return "sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; \
style-src 'unsafe-inline'; script-src '{{ script_hash }}'">
<meta name="robots" content="noindex">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ task.title }} · {{ assignment }} · TA review</title><style>{{ style }}</style></head>
<body data-assignment="{{ assignment }}" data-notebook="{{ task.notebook }}"
      data-task="{{ task.name }}" data-max="{{ '%g' % task.max_score }}" data-made="{{ made }}">
<header class="bar">
  <strong>{{ task.title }}</strong> <span class="note">{{ task.key }}</span>
  <label>TA <input id="ta" value="{{ ta }}" placeholder="your name" size="12"></label>
  <span id="count" class="note"></span>
  <label><input type="checkbox" id="only-open"> only answers without a score</label>
  <button id="download">Download scores (CSV)</button>
  <span id="message" role="status"></span>
</header>
<h1>{{ task.title }}</h1>
<p class="note">{{ task.key }}, {{ '%g' % task.max_score }} points, assignment {{ assignment }}.
Made {{ made }} from the answers as handed in.
For the teaching team only. Import the CSV with
<code>coursekit review {{ assignment }} --import FILE.csv</code>.</p>
<section class="task"><h2>The task</h2>{{ prompt }}
<details open><summary>Model answer and rubric</summary>{{ rubric }}</details></section>
{% for e in entries %}
<article class="answer{% if e.changed %} changed{% endif %}" id="s-{{ e.student }}"
  data-student="{{ e.student }}" data-based-on="{{ e.answer.digest }}"
  data-score="{{ '%g' % e.given.new if e.given else '' }}"
  data-comment="{{ e.given.comment if e.given else '' }}"
  data-stale="{{ 1 if e.changed else 0 }}">
<h3>{{ e.student }}
 <span class="state">{% if e.changed %}changed since {{ e.given.ta }} gave {{ '%g' % e.given.new }}
 {% elif e.given %}{{ '%g' % e.given.new }} by {{ e.given.ta }}{% else %}to grade{% endif %}</span>
</h3>
<p class="context">{{ context(e) }}</p>
<div class="columns"><div class="text"><h4>Answer</h4>{{ md(e.answer.text) }}</div>
<div class="outputs"><h4>Their outputs</h4>{% if not e.answer.kept %}
<p class="note">The notebook as handed in was not kept (graded before coursekit kept it):
grade again to see their outputs.</p>{% elif e.answer.outputs %}{{ outputs(e.answer.outputs) }}
{% else %}<p class="note">No outputs in the cells this task refers to.</p>{% endif %}</div></div>
<div class="form"><label>Score <input class="score" type="number" min="0"
 max="{{ '%g' % task.max_score }}" step="0.5" value="{{ '%g' % e.given.new if e.given else '' }}">
 / {{ '%g' % task.max_score }}</label>
<label class="comment">Comment for the student <textarea class="comment" rows="2">
{{- e.given.comment if e.given else '' }}</textarea></label></div>
</article>
{% endfor %}
{% if missing %}<section class="missing"><h2>No answer to grade</h2>
<p class="note">These students left the placeholder or did not hand the notebook in; nbgrader
gave 0 points. A score imported for them still counts.</p>
<p>{{ missing | join(", ") }}</p></section>{% endif %}
<script>{{ script }}</script>
</body></html>
"""


def task_page(
    assignment: str, task: Task, entries: list[Entry], missing: list[str], ta: str = ""
) -> str:
    """The HTML page for ``task``: one form per entry, the students in ``missing`` listed."""
    environment = Environment(loader=DictLoader({"page": PAGE}), autoescape=True)
    return environment.get_template("page").render(
        assignment=assignment,
        task=task,
        entries=entries,
        missing=missing,
        ta=ta,
        made=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        prompt=markdown(task.prompt),
        rubric=markdown(task.rubric),
        md=lambda text: markdown(text or ""),
        outputs=render_outputs,
        context=context_line,
        style=Markup(STYLE),
        script=Markup(SCRIPT),
        script_hash=script_hash(),
    )


def context_line(entry: Entry) -> str:
    """The autograded results, for context: status, points per part, the tests that failed."""
    record = entry.record
    if record is None:
        return "no grading record"
    notebook = record.notebooks.get(entry.answer.task.notebook, {})
    parts = [str(record.status)]
    if notebook:
        parts.append(
            f"autograded {notebook.get('autograded_score', 0):g} of "
            f"{notebook.get('autograded_max', 0):g} in {entry.answer.task.notebook}"
        )
        failed = notebook.get("tests_failed", [])
        parts.append(f"failed: {', '.join(failed)}" if failed else "every test passed")
    if record.problems:
        parts.append(f"{len(record.problems)} problem(s): {record.problems[0][:120]}")
    return " · ".join(parts)


def write_page(out: Path, assignment: str, task: Task, entries, missing, ta: str = "") -> Path:
    """Write ``task``'s page into ``out``; return its path."""
    path = Path(out) / f"{assignment}-{task.notebook}-{task.name}.html"
    write_text_atomically(path, task_page(assignment, task, entries, missing, ta))
    return path


def write_pages(run, out: Path, ta: str = "", only: list[str] | None = None) -> list[Path]:
    """One page per task of ``run.assignment`` (or of the tasks named in ``only``) in ``out``.

    ``only`` holds grade ids or ``NOTEBOOK/GRADE_ID`` keys; :class:`ValueError` names an
    unknown one.
    """
    from nbgrader.api import Gradebook

    from autograder.grading.manual.answers import manual_tasks, read_answers
    from autograder.grading.manual.store import current_scores, read_history
    from autograder.grading.pipeline.records import load_records

    tasks = manual_tasks(run.layout, run.assignment, run.gradebook_url)
    if only:
        unknown = [name for name in only if not any(name in (t.name, t.key) for t in tasks)]
        if unknown:
            known = ", ".join(task.name for task in tasks)
            raise ValueError(f"no task {unknown[0]!r} in {run.assignment} (tasks: {known})")
        tasks = [task for task in tasks if task.name in only or task.key in only]
    states: dict[tuple[str, str], tuple[bool, float | None]] = {}
    with Gradebook(run.gradebook_url) as gradebook:
        for submission in gradebook.find_assignment(run.assignment).submissions:
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    key = (submission.student_id, f"{notebook.name}/{grade.name}")
                    states[key] = (bool(grade.needs_manual_grade), grade.manual_score)
    students = sorted({student for student, _ in states})
    records = load_records(run.folder)
    scores = current_scores(read_history(run.folder))
    answers = {s: read_answers(run.layout, run.assignment, s, tasks) for s in students}
    written = []
    for task in tasks:
        entries, missing = [], []
        for student in students:
            needs, manual = states.get((student, task.key), (False, None))
            answer = answers[student][task.key]
            if answer.text is None or (not needs and manual is None):
                missing.append(student)
                continue
            given = scores.get((student, task.key))
            changed = given is not None and given.based_on != answer.digest
            entries.append(Entry(answer, records.get(student), given, changed))
        written.append(write_page(out, run.assignment, task, entries, missing, ta))
    return written
