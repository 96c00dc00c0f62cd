"""The class report and the similarity page as self-contained HTML, and their CSV files.

Pages are rendered with Jinja2 with autoescaping on, since student ids, team names,
failure messages and code are all text the students control. Each page is one file
with its styles inline and its pictures as data URIs, and a Content-Security-Policy
that allows nothing else: no script, no font, no request to any address.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import DictLoader, Environment
from markupsafe import Markup, escape

from autograder.report import figures
from autograder.report.classreport import CSV_HEADER, ClassReport, csv_rows
from autograder.report.similarity import (
    CSV_HEADER as PAIRS_HEADER,
)
from autograder.report.similarity import (
    SHOWN,
    Pair,
    SimilarityResult,
    Solution,
)
from autograder.report.similarity import (
    csv_rows as pair_rows,
)
from autograder.spreadsheet import csv_text
from utilities.files import write_text_atomically

CLASS_PAGE = "class_report.html"
CLASS_CSV = "class_report.csv"
SIMILARITY_PAGE = "similarity.html"
SIMILARITY_CSV = "similarity.csv"
LOW_DISCRIMINATION = 0.2  # below this, an item hardly tells stronger students from weaker ones

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; color: #222; margin: 0 auto; max-width: 1180px;
       padding: 0 24px 48px; }
h1 { margin-bottom: 0; } h2 { border-bottom: 1px solid #ddd; margin-top: 2em; }
.note { color: #666; } .warn { background: #fff4e0; border-left: 4px solid #d9822b;
        padding: 8px 12px; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #eee; text-align: left;
         vertical-align: top; }
th { background: #f6f6f6; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.low { color: #b03a2e; font-weight: 600; } .up { color: #2e7d32; } .down { color: #b03a2e; }
.bar { display: flex; width: 120px; height: 10px; margin-top: 5px; background: #eee; }
.bar span { display: block; height: 100%; } .full { background: #3b6ea5; }
.partial { background: #9dbbdc; } .zero { background: #e3a6a0; }
ol.messages { margin: 0; padding-left: 18px; font-size: 13px; } ol.messages li { margin: 0; }
img { max-width: 100%; } .figures { display: flex; flex-wrap: wrap; gap: 16px;
                                    align-items: flex-start; }
.pair { margin-top: 28px; } .code { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; }
.code h4 { margin: 10px 0 2px; grid-column: 1 / span 2; font-size: 14px; }
pre { margin: 0; padding: 8px; background: #fafafa; border: 1px solid #eee;
      font: 12.5px/1.4 ui-monospace, monospace; white-space: pre-wrap; overflow-wrap: anywhere; }
mark { background: #ffd8a8; color: inherit; }
"""

BASE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="robots" content="noindex">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title><style>{{ style }}</style></head>
<body><h1>{{ title }}</h1>
<p class="note">{{ subtitle }} For the teaching team only: never publish this page.</p>
{% block body %}{% endblock %}</body></html>
"""

CLASS_BODY = """{% extends "base" %}{% block body %}
<h2>The class at a glance</h2>
<table><tr>{% for status, n in r.counts.items() %}<th>{{ status }}</th>{% endfor %}
<th>all</th></tr><tr>{% for status, n in r.counts.items() %}<td class="n">{{ n }}</td>
{% endfor %}<td class="n">{{ r.counts.values() | sum }}</td></tr></table>
<p>The statistics below count the {{ r.counted }} students whose grade is final (graded,
with or without problems); held points stand at 0 until a TA releases them.
{% if r.total %}Total: median {{ num(r.total.median) }} of {{ num(r.max_total) }} points,
middle half {{ num(r.total.q1) }}–{{ num(r.total.q3) }},
range {{ num(r.total.low) }}–{{ num(r.total.high) }}, mean {{ num(r.total.mean) }}.{% endif %}</p>
<div class="figures">{% if pic.histogram %}<img alt="Histogram of total points"
src="{{ pic.histogram }}">{% endif %}</div>
<table><tr><th>part</th><th>of</th><th>median</th><th>middle half</th><th>range</th>
<th>mean</th></tr>{% for name, (most, s) in r.parts.items() %}<tr><td>{{ name }}</td>
<td class="n">{{ num(most) }}</td>{% if s %}<td class="n">{{ num(s.median) }}</td>
<td class="n">{{ num(s.q1) }}–{{ num(s.q3) }}</td>
<td class="n">{{ num(s.low) }}–{{ num(s.high) }}</td><td class="n">{{ num(s.mean) }}</td>
{% else %}<td colspan="4">no final grades</td>{% endif %}</tr>{% endfor %}</table>
{% if pic.parts %}<img alt="Points per part" src="{{ pic.parts }}">{% endif %}

<h2>Tests and tasks</h2>
<p>Discrimination is the point-biserial correlation of an item's points with the rest of
the total (the total without this item): near 0, or <span class="low">below
{{ low }}</span>, the item hardly tells stronger students from weaker ones; negative, the
stronger ones did worse on it. Messages are the first line of a failing test's error, or
the grader's comment on a task.</p>
<table><tr><th>item</th><th>kind</th><th>of</th><th>mean</th><th>full / partial / zero</th>
<th>discrimination</th><th>commonest reasons for lost points (students)</th></tr>
{% for s in r.items %}<tr><td>{{ s.item.notebook }}<br><b>{{ s.item.cell }}</b></td>
<td>{{ s.item.kind }}{% if s.waiting %}<br><span class="note">{{ s.waiting }} to grade
</span>{% endif %}</td><td class="n">{{ num(s.item.max_points) }}</td>
<td class="n">{{ num(s.mean) }}</td><td class="n">{% if s.students %}{{ pct(s.full) }} /
{{ pct(s.partial) }} / {{ pct(s.zero) }}<div class="bar"><span class="full"
style="width:{{ pct(s.full) }}"></span><span class="partial" style="width:{{ pct(s.partial) }}">
</span><span class="zero" style="width:{{ pct(s.zero) }}"></span></div>{% else %}–{% endif %}
</td>
<td class="n{% if s.discrimination is not none and s.discrimination < low %} low{% endif %}">
{{ num(s.discrimination, 2) }}</td><td><ol class="messages">{% for m, n in s.messages %}
<li>{{ m }} <b>({{ n }})</b></li>{% endfor %}</ol></td></tr>{% endfor %}</table>
{% if pic.item_map %}<img alt="Items by difficulty and discrimination"
src="{{ pic.item_map }}">
{% endif %}

<h2>Leaderboard</h2>
{% if not r.teams %}<p>No scored uploads.</p>{% else %}
{% if not r.leaderboard_final %}<p class="warn">The leaderboard is still open: the private
ranking and the shake-up appear once it is closed (<code>coursekit leaderboard
--deadline</code>).</p>{% endif %}
{% if pic.shake_up %}<img alt="Public against private accuracy" src="{{ pic.shake_up }}">
{% endif %}
<table><tr><th>private rank</th><th>team</th><th>public accuracy</th><th>public rank</th>
<th>private accuracy</th><th>shake-up</th></tr>{% for t in r.teams %}<tr>
<td class="n">{{ t.private_rank or "" }}</td><td>{{ t.team }}</td>
<td class="n">{{ acc(t.public_accuracy) }}</td><td class="n">{{ t.public_rank }}</td>
<td class="n">{{ acc(t.private_accuracy) }}</td>
<td class="n">{% if t.shake_up %}<span class="{{ 'up' if t.shake_up > 0 else 'down' }}">
{{ '▲' if t.shake_up > 0 else '▼' }} {{ t.shake_up | abs }}</span>{% elif t.shake_up == 0 %}
={% endif %}</td></tr>{% endfor %}</table>{% endif %}

<h2>Grading time</h2>
{% if r.time %}<p>{{ r.time.count }} students: median {{ num(r.time.median, 1) }} s, middle
half {{ num(r.time.q1, 1) }}–{{ num(r.time.q3, 1) }} s, longest {{ num(r.time.high, 1) }} s;
{{ num(r.seconds.values() | sum / 60, 1) }} minutes of worker time in all.</p>
{% if pic.time %}<img alt="Histogram of grading seconds" src="{{ pic.time }}">{% endif %}
<table><tr><th>slowest</th><th>status</th><th>seconds</th><th>longest phases</th></tr>
{% for row in r.slowest %}<tr><td>{{ row.student }}</td><td>{{ row.status }}</td>
<td class="n">{{ num(row.seconds, 1) }}</td><td>{% for name, sec in row.phases %}{{ name }}
{{ num(sec, 1) }} s{% if not loop.last %}; {% endif %}{% endfor %}</td></tr>{% endfor %}
</table>{% else %}<p>No grading times recorded.</p>{% endif %}
{% endblock %}"""

SIMILARITY_BODY = """{% extends "base" %}{% block body %}
<p class="warn">Evidence for a person to read, never part of any grade. A high score says
that two students' solution cells share code once names, comments, strings and layout are
set aside, not who copied from whom, nor that anyone did: read the code, and talk to them.</p>
<p>{{ res.solutions | length }} students compared, {{ res.scores | length }} pairs. A pair
is flagged when one student's share of code found in the other's reaches
{{ pct(res.threshold) }} and they share at least {{ res.min_shared }} characters of
normalized code. The release's solution stubs are set aside as boilerplate.</p>
{% if pic %}<img alt="Histogram of pair scores" src="{{ pic }}">{% endif %}
{% if res.skipped %}<p>Not compared:</p><ul>{% for line in res.skipped %}<li>{{ line }}</li>
{% endfor %}</ul>{% endif %}
{% if res.unread %}<p>Not read:</p><ul>{% for line in res.unread %}<li>{{ line }}</li>
{% endfor %}</ul>{% endif %}
<h2>Groups</h2>{% set groups = res.groups() %}
{% if groups %}<ul>{% for g in groups %}<li>{{ g | length }} students: {{ g | join(", ") }}
</li>{% endfor %}</ul>{% else %}<p>No pair is flagged.</p>{% endif %}
<h2>Most alike pairs</h2>
<table><tr><th>rank</th><th>student A</th><th>student B</th><th>score</th><th>A's share</th>
<th>B's share</th><th>shared</th><th></th></tr>{% for p in listed %}<tr>
<td class="n">{{ loop.index }}</td><td>{{ p.a }}</td><td>{{ p.b }}</td>
<td class="n">{{ pct(p.score) }}</td><td class="n">{{ pct(p.share_a) }}</td>
<td class="n">{{ pct(p.share_b) }}</td><td class="n">{{ p.shared }}</td><td>
{% if p.flagged %}{% if loop.index <= shown %}<a href="#pair-{{ loop.index }}">flagged:
side by side</a>{% else %}flagged{% endif %}{% endif %}</td></tr>{% endfor %}</table>
{% if res.pairs | length > listed | length %}<p class="note">{{ res.pairs | length -
listed | length }} more pairs share less; the CSV lists them all.</p>{% endif %}
{% for p, cells in sides %}<section class="pair" id="pair-{{ loop.index }}">
<h3>{{ loop.index }}. {{ p.a }} and {{ p.b }}: {{ pct(p.score) }}</h3>
<p class="note">Highlighted: the code each shares with the other ({{ pct(p.share_a) }} of
{{ p.a }}'s, {{ pct(p.share_b) }} of {{ p.b }}'s).</p>
<div class="code">{% for label, left, right, shares in cells %}<h4>{{ label }}
<span class="note">({{ pct(shares[0]) }} and {{ pct(shares[1]) }} of this cell shared)</span></h4>
<pre>{{ left }}</pre><pre>{{ right }}</pre>{% endfor %}</div></section>{% endfor %}
{% endblock %}"""


@dataclass(frozen=True)
class Written:
    """The files a command wrote."""

    page: Path
    csv: Path


def _environment() -> Environment:
    templates = DictLoader({"base": BASE, "class": CLASS_BODY, "pairs": SIMILARITY_BODY})
    environment = Environment(
        loader=templates, autoescape=True, trim_blocks=True, lstrip_blocks=True
    )
    environment.globals.update(num=_num, pct=_pct, acc=_acc, low=LOW_DISCRIMINATION)
    return environment


def class_page(report: ClassReport) -> str:
    """The class report as one self-contained HTML page."""
    pictures = {
        "histogram": figures.score_histogram(report),
        "parts": figures.parts_boxplot(report.parts),
        "item_map": figures.item_map(report.items),
        "shake_up": figures.shake_up(report.teams, report.beat_me),
        "time": figures.time_histogram(list(report.seconds.values())),
    }
    when = f"{report.generated_at:%Y-%m-%d %H:%M} UTC"
    return (
        _environment()
        .get_template("class")
        .render(
            title=f"Class report: {report.assignment}",
            subtitle=f"Generated {when} from the grading records, the gradebook, the autograded "
            "notebooks and the leaderboard.",
            style=STYLE,
            r=report,
            pic=pictures,
        )
    )


def write_class_report(report: ClassReport, folder: Path) -> Written:
    """Write the page and its CSV into ``folder``."""
    written = Written(Path(folder) / CLASS_PAGE, Path(folder) / CLASS_CSV)
    write_text_atomically(written.page, class_page(report))
    write_text_atomically(written.csv, csv_text(CSV_HEADER, csv_rows(report)))
    return written


def similarity_page(result: SimilarityResult, assignment: str, shown: int = SHOWN) -> str:
    """The ranked pairs, and the flagged ones side by side with what they share highlighted."""
    listed = result.pairs[: max(shown, 20, len(result.flagged[:shown]))]
    flagged = [pair for pair in listed[:shown] if pair.flagged]
    return (
        _environment()
        .get_template("pairs")
        .render(
            title=f"Similar solutions: {assignment}",
            subtitle="Solution cells compared with copydetect (Winnowing, as MOSS).",
            style=STYLE,
            res=result,
            listed=listed,
            shown=shown,
            sides=[(pair, _side_by_side(pair, result.solutions)) for pair in flagged],
            pic=figures.pair_scores(result.scores, result.threshold),
        )
    )


def write_similarity(result: SimilarityResult, assignment: str, folder: Path) -> Written:
    """Write the page and the CSV of every pair into ``folder``."""
    written = Written(Path(folder) / SIMILARITY_PAGE, Path(folder) / SIMILARITY_CSV)
    write_text_atomically(written.page, similarity_page(result, assignment))
    write_text_atomically(written.csv, csv_text(PAIRS_HEADER, pair_rows(result)))
    return written


def _side_by_side(pair: Pair, solutions: dict[str, Solution]) -> list[tuple]:
    """Each solution cell of the pair: both students' code with the shared parts marked, and
    the share of each cell's (non-blank) characters that is marked."""
    left, right = solutions[pair.a], solutions[pair.b]
    right_cells = {label: (start, end) for label, start, end in right.cells}
    rows = []
    for label, start, end in left.cells:
        other = right_cells.get(label, (0, 0))
        rows.append(
            (
                label,
                _marked(left.text, start, end, pair.slices_a),
                _marked(right.text, *other, pair.slices_b),
                (
                    _covered(left.text, start, end, pair.slices_a),
                    _covered(right.text, *other, pair.slices_b),
                ),
            )
        )
    return rows


def _marked(text: str, start: int, end: int, slices: list[tuple[int, int]]) -> Markup:
    """``text[start:end]``, escaped, with the parts in ``slices`` inside ``<mark>``."""
    out, at = Markup(""), start
    for low, high in _within(start, end, slices):
        low = max(low, at)
        out += escape(text[at:low]) + Markup("<mark>") + escape(text[low:high]) + Markup("</mark>")
        at = high
    return out + escape(text[at:end])


def _covered(text: str, start: int, end: int, slices: list[tuple[int, int]]) -> float:
    """The share of ``text[start:end]``'s non-blank characters inside ``slices``."""
    inside = sum(len("".join(text[low:high].split())) for low, high in _within(start, end, slices))
    return inside / max(1, len("".join(text[start:end].split())))


def _within(start: int, end: int, slices: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``slices`` cut to ``start``..``end``, in order, without overlaps."""
    kept, at = [], start
    for low, high in sorted(slices):
        low, high = max(low, at), min(high, end)
        if low < high:
            kept.append((low, high))
            at = high
    return kept


def _num(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def _acc(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}%"
