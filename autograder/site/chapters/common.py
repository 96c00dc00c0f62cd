"""What the chapter modules share: seeds, figure files, exercises and links to the tasks.

A chapter's fragment is Markdown that a page in ``book/`` includes. Figures are
saved into the build's figures folder and referenced as the theory pages see
them; exercises are MyST admonitions whose answer is a dropdown the reader
opens; task links point at the headings of the released notebooks.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
from matplotlib.figure import Figure

from utilities.errors import CourseKitError

SEED = 0
FIGURE_DPI = 110
THEORY_FIGURES = "../_generated/figures"  # as seen from the theory pages that include fragments
ASSIGNMENT_DIR = "cnn"  # where book.py stages the student release


class SiteContentError(CourseKitError):
    """A computed page fragment disagrees with the theory it illustrates, or an input is missing."""


@functools.cache
def load_raw(name: str) -> dict[str, np.ndarray]:
    """A raw dataset from the verified cache, parsed once per build."""
    from utilities.data import load_raw as parse

    return parse(name)


def scaled(images: np.ndarray) -> np.ndarray:
    """uint8 images (N, 28, 28) as the notebooks feed them: float32 in [0, 1], one channel."""
    return (np.asarray(images, dtype="float32") / 255.0)[..., np.newaxis]


def new_figure(width: float, height: float) -> Figure:
    """A figure outside pyplot, so that nothing piles up in its global state."""
    return Figure(figsize=(width, height), layout="constrained")


def save(fig: Figure, figures: Path, name: str) -> None:
    fig.savefig(Path(figures) / name, dpi=FIGURE_DPI)


def figure_block(name: str, alt: str, caption: str, *, width: str | None = None) -> str:
    """A MyST figure for ``name`` in the figures folder, as a theory page includes it."""
    lines = [f"```{{figure}} {THEORY_FIGURES}/{name}", f":alt: {alt}"]
    if width:
        lines.append(f":width: {width}")
    return "\n".join([*lines, "", caption, "```"])


def markdown_table(header: Sequence[str], align: str, rows: Iterable[Sequence]) -> str:
    """A pipe table; ``align`` has one letter per column: l(eft) or r(ight)."""
    marks = {"l": ":---", "r": "---:"}
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(marks[a] for a in align) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


@dataclass(frozen=True)
class Exercise:
    """A question the reader answers before opening the answer."""

    title: str
    question: str
    answer: str


def exercises(*items: Exercise) -> str:
    """Numbered exercises, each an admonition with its answer in a closed dropdown."""
    blocks = []
    for number, item in enumerate(items, start=1):
        blocks.append(
            "\n".join(
                [
                    f"::::{{admonition}} Exercise {number} · {item.title}",
                    ":class: exercise",
                    "",
                    item.question.strip(),
                    "",
                    ":::{admonition} Answer",
                    ":class: dropdown",
                    "",
                    item.answer.strip(),
                    ":::",
                    "::::",
                ]
            )
        )
    return "\n\n".join(blocks)


def check(condition: bool, message: str) -> None:
    """Stop the build when a page would teach something the code disagrees with."""
    if not condition:
        raise SiteContentError(message)


def number(value: float, digits: int = 4) -> str:
    """A number as a page shows it: thousands separated, up to ``digits`` significant digits."""
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.{digits}g}"


def tex(value: int) -> str:
    """A whole number inside $...$: thousands separated by a thin, unspaced comma."""
    return f"{int(value):,}".replace(",", "{,}")


def scientific(value: float, digits: int = 2) -> str:
    """A number for $...$ in scientific notation: 7.4 \\times 10^{-3}."""
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    return f"{mantissa} \\times 10^{{{int(exponent)}}}"


def shape(dimensions: Iterable[int]) -> str:
    return " × ".join(str(size) for size in dimensions)


# -- Links to the assignment's tasks -------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    """A heading of a released notebook, and the anchor MyST links to."""

    text: str  # "Task 1.2 · Build LeNet5 exactly as specified (4 points)"
    notebook: str  # "1_lenet5_mnist.ipynb"
    anchor: str  # the heading's slug

    @property
    def task(self) -> str | None:
        """ "1.2" for a task's heading, None for any other."""
        match = _TASK.match(self.text)
        return match[1] if match else None

    @property
    def title(self) -> str:
        """The heading without its points: "Task 1.2 · Build LeNet5 exactly as specified"."""
        return _POINTS.sub("", self.text)


_TASK = re.compile(r"Task (\d+\.\d+) · ")
_POINTS = re.compile(r"\s+\(\d+ points?\)$")
_HEADING = re.compile(r"^#{1,4}\s+(.+?)\s*$", re.MULTILINE)


def release_headings(release_dir: Path) -> list[Heading]:
    """Every heading of the released notebooks, in order."""
    from myst_parser.mdit_to_docutils.base import default_slugify

    headings = []
    for path in sorted(Path(release_dir).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                for match in _HEADING.finditer(cell.source):
                    headings.append(Heading(match[1], path.name, default_slugify(match[1])))
    if not any(heading.task for heading in headings):
        raise SiteContentError(f"{release_dir}: no 'Task N.M · ...' headings in the release")
    return headings


def tasks_box(release_dir: Path, wanted: Sequence[str]) -> str:
    """The box at the top of a chapter: the tasks ("1.2") and sections it prepares for."""
    headings = release_headings(release_dir)
    by_key = {heading.task or heading.text: heading for heading in headings}
    missing = [key for key in wanted if key not in by_key]
    if missing:
        tasks = ", ".join(heading.task for heading in headings if heading.task)
        raise SiteContentError(f"no {missing} in the released notebooks (tasks: {tasks})")
    parts = {h.notebook: h.text.split(" · ")[0] for h in headings if h.text.startswith("Part ")}
    links = []
    for key in wanted:
        heading = by_key[key]
        prefix = "" if heading.task else f"{parts.get(heading.notebook, heading.notebook)}: "
        target = f"../{ASSIGNMENT_DIR}/{heading.notebook}#{heading.anchor}"
        links.append(f"- [{prefix}{heading.title}]({target})")
    return "\n".join([":::{admonition} In the assignment", ":class: seealso", "", *links, ":::"])
