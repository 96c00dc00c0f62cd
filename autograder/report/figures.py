"""The class report's pictures, drawn with matplotlib and embedded as SVG data URIs.

Each function returns a ``data:image/svg+xml;base64,...`` URI (or "" when there is
nothing to draw), so the page needs no file and no network. Text stays text in the SVG
(``svg.fonttype: none``): smaller files that the browser draws in its own fonts.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from autograder.report.classreport import ClassReport, ItemStats, Spread, TeamRow

WIDE = (7.0, 3.0)
SQUARE = (4.6, 4.2)
_DOCTYPE = re.compile(rb"<!DOCTYPE[^>]*>\s*")
BLUE, ORANGE, GREY = "#3b6ea5", "#d9822b", "#888888"


def data_uri(figure: Figure) -> str:
    """``figure`` as an SVG data URI."""
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "coursekit"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = _DOCTYPE.sub(b"", buffer.getvalue())  # names a DTD; nothing needs it
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def score_histogram(report: ClassReport) -> str:
    """Students per bin of total points, with the median."""
    if not report.histogram:
        return ""
    figure = Figure(figsize=WIDE, layout="constrained")
    ax = figure.add_subplot()
    lows = [low for low, _, _ in report.histogram]
    widths = [high - low for low, high, _ in report.histogram]
    ax.bar(
        lows,
        [n for _, _, n in report.histogram],
        width=widths,
        align="edge",
        color=BLUE,
        edgecolor="white",
    )
    if report.total is not None:
        ax.axvline(
            report.total.median, color=ORANGE, linewidth=2, label=f"median {report.total.median:g}"
        )
        ax.legend(frameon=False)
    ax.set(
        xlabel=f"points (of {report.max_total:g})",
        ylabel="students",
        xlim=(0, report.histogram[-1][1]),
    )
    _tidy(ax)
    return data_uri(figure)


def parts_boxplot(parts: dict[str, tuple[float, Spread | None]]) -> str:
    """One box per part (notebook): quartiles, median and range of its points."""
    shown = [(name, most, spread) for name, (most, spread) in parts.items() if spread]
    if not shown:
        return ""
    figure = Figure(figsize=(WIDE[0], 0.8 + 0.6 * len(shown)), layout="constrained")
    ax = figure.add_subplot()
    for row, (_, _, s) in enumerate(shown):
        ax.hlines(row, s.low, s.high, color=GREY, linewidth=1.5)  # the range
        ax.barh(row, s.q3 - s.q1, left=s.q1, height=0.5, color="#c9d9ec", edgecolor=BLUE)
        ax.vlines(s.median, row - 0.25, row + 0.25, color=ORANGE, linewidth=2.5)
        ax.plot([s.mean], [row], marker="D", color=BLUE)
    ax.set_yticks(range(len(shown)), [f"{name} (of {most:g})" for name, most, _ in shown])
    ax.invert_yaxis()
    ax.set(xlabel="points", xlim=(0, max(most for _, most, _ in shown)))
    _tidy(ax)
    return data_uri(figure)


def item_map(items: Sequence[ItemStats]) -> str:
    """Each test and task by difficulty (mean share of its points) and discrimination."""
    placed = [s for s in items if s.mean is not None and s.discrimination is not None]
    if not placed:
        return ""
    figure = Figure(figsize=SQUARE, layout="constrained")
    ax = figure.add_subplot()
    for kind, colour in (("test", BLUE), ("manual", ORANGE)):
        mine = [s for s in placed if s.item.kind == kind]
        ax.scatter(
            [s.mean / s.item.max_points for s in mine],
            [s.discrimination for s in mine],
            color=colour,
            label=kind,
            zorder=3,
        )
        for s in mine:
            ax.annotate(
                s.item.cell,
                (s.mean / s.item.max_points, s.discrimination),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
                color="#333333",
            )
    ax.axhline(0.2, color=GREY, linestyle=":", linewidth=1)
    ax.set(
        xlabel="mean share of the points (easier →)",
        ylabel="discrimination",
        xlim=(-0.05, 1.05),
        ylim=(min(-0.2, *(s.discrimination for s in placed)) - 0.05, 1.05),
    )
    ax.legend(frameon=False, loc="lower left")
    _tidy(ax)
    return data_uri(figure)


def shake_up(teams: Sequence[TeamRow], beat_me: tuple[float | None, float | None]) -> str:
    """Public against private accuracy per team, with the diagonal and BEAT ME."""
    placed = [t for t in teams if t.private_accuracy is not None]
    if not placed:
        return ""
    figure = Figure(figsize=SQUARE, layout="constrained")
    ax = figure.add_subplot()
    public = np.array([t.public_accuracy for t in placed])
    private = np.array([t.private_accuracy for t in placed], dtype=float)
    values = np.concatenate([public, private, [v for v in beat_me if v is not None]])
    low, high = float(values.min()), float(values.max())
    pad = max(0.002, (high - low) * 0.05)
    ax.plot([low - pad, high + pad], [low - pad, high + pad], color=GREY, linewidth=1)
    ax.scatter(public, private, color=BLUE, s=18, zorder=3)
    if beat_me[0] is not None and beat_me[1] is not None:
        ax.scatter(
            [beat_me[0]], [beat_me[1]], color=ORANGE, marker="*", s=120, zorder=4, label="BEAT ME"
        )
        ax.legend(frameon=False, loc="upper left")
    ax.set(
        xlabel="public accuracy (best upload)",
        ylabel="private accuracy (final)",
        xlim=(low - pad, high + pad),
        ylim=(low - pad, high + pad),
        aspect="equal",
    )
    _tidy(ax)
    return data_uri(figure)


def time_histogram(seconds: Sequence[float]) -> str:
    """Students per bin of grading seconds."""
    if not seconds:
        return ""
    figure = Figure(figsize=WIDE, layout="constrained")
    ax = figure.add_subplot()
    ax.hist(seconds, bins=min(30, max(5, len(seconds) // 5)), color=BLUE, edgecolor="white")
    ax.axvline(
        float(np.median(seconds)),
        color=ORANGE,
        linewidth=2,
        label=f"median {np.median(seconds):.1f} s",
    )
    ax.legend(frameon=False)
    ax.set(xlabel="seconds of grading per student", ylabel="students")
    _tidy(ax)
    return data_uri(figure)


def pair_scores(scores: Sequence[float], threshold: float) -> str:
    """Pairs of students per bin of score, with the threshold from which a pair is flagged."""
    if len(scores) == 0:
        return ""
    figure = Figure(figsize=WIDE, layout="constrained")
    ax = figure.add_subplot()
    counts, _, _ = ax.hist(scores, bins=np.linspace(0, 1, 41), color=BLUE, edgecolor="white")
    ax.axvline(threshold, color=ORANGE, linewidth=2, label=f"flagged from {threshold:.0%}")
    if counts.max() > 100:  # a large class: a few flagged pairs next to thousands of others
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.legend(frameon=False)
    ax.set(xlabel="score: the larger share of code found in the other's", ylabel="pairs")
    _tidy(ax)
    return data_uri(figure)


def _tidy(ax) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)
