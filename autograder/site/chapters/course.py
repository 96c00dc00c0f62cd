"""The course's own pages: the data, the grading rules, the leaderboard, benchmarks and the API.

Each function returns one Markdown fragment, computed from the real files: the
datasets, the student release, the limits the last grading run used, the
leaderboard ``coursekit leaderboard`` wrote and the stored benchmarks.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import numpy as np

from autograder.leaderboard.board import BEAT_ME
from autograder.resources import benchmark_results
from autograder.settings import DEFAULTS

from .common import FIGURE_DPI, SEED, SiteContentError, load_raw, shape

if TYPE_CHECKING:  # imported where it is used: the site needs no sandbox to build
    from autograder.grading.sandbox.limits import SandboxLimits

LEADERBOARD_PLACEHOLDER = """\
```{admonition} No scores yet
:class: note
The leaderboard appears here after the first uploads are scored. Until then,
check your `submission.csv` with `validate_submission` (or
`coursekit submission check`) so that your first upload counts.
```
"""
BENCHMARK_RESULTS = benchmark_results()
BENCHMARKS_PLACEHOLDER = """\
```{admonition} Not measured yet
:class: note
Run `make bench` in the kit's repository: it writes `bench/results.md`, which
this page shows on the next build.
```
"""


# -- Data ------------------------------------------------------------------------------------


def datasets(figures: Path, student_dataset: Path | None) -> str:
    """Facts, sample grids and class distributions of both datasets, from the real files."""
    from utilities.loaders import FASHION_MNIST_CLASSES, MNIST_CLASSES, load_fashion_mnist
    from utilities.plots import plot_class_distribution, plot_sample_images

    raw = {"mnist": load_raw("mnist"), "fashion-mnist": load_raw("fashion-mnist")}
    classes = {"mnist": MNIST_CLASSES, "fashion-mnist": FASHION_MNIST_CLASSES}
    titles = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
    facts = []
    for name, data in raw.items():
        images = np.concatenate([data["X_train"], data["X_test"]])
        counts = np.bincount(data["y_train"], minlength=len(classes[name]))
        facts.append(
            f"| {titles[name]} | {len(data['X_train']):,} | {len(data['X_test']):,} | "
            f"{shape(images.shape[1:])}, {images.dtype} | {images.mean():.1f} | "
            f"{images.std():.1f} | {np.mean(images == 0):.0%} | "
            f"{classes[name][counts.argmax()]} ({counts.max():,}) / "
            f"{classes[name][counts.argmin()]} ({counts.min():,}) |"
        )
        grid = plot_sample_images(
            data["X_train"], data["y_train"], classes[name], n=30, seed=SEED,
            title=f"{titles[name]}: 30 random training images",
        )  # fmt: skip
        grid.savefig(figures / f"{name}_samples.png", dpi=FIGURE_DPI)
        bars = plot_class_distribution(
            {"official train": data["y_train"], "official test": data["y_test"]},
            classes[name],
            title=f"{titles[name]}: images per class",
        )
        bars.savefig(figures / f"{name}_classes.svg")

    lines = [
        "| Dataset | Training images | Test images | Image | Mean pixel | Pixel std | "
        "Zero pixels | Training images per class: most / fewest |",
        "|:---|---:|---:|:---|---:|---:|---:|:---|",
        *facts,
    ]
    if student_dataset and Path(student_dataset).is_file():
        course = load_fashion_mnist(student_dataset)
        test_size = len(course["X_test"])
        public = _public_test_images(Path(student_dataset), test_size)
        lines += [
            "",
            f"The course file `{Path(student_dataset).name}` re-splits all "
            f"{len(course['X_train']) + test_size:,} Fashion-MNIST images: "
            f"{len(course['X_train']):,} labelled training images and {test_size:,} test "
            f"images without labels. The leaderboard scores {public:,} of the test images "
            f"({public / test_size:.0%}, the public part) while the assignment runs, and the "
            f"other {test_size - public:,} (the private part) after the deadline.",
        ]
    return "\n".join(lines)


# -- Grading rules ---------------------------------------------------------------------------


def _public_test_images(student_dataset: Path, test_size: int) -> int:
    """How many test images the leaderboard scores before the deadline, as the build made it.

    Read from the build's manifest (``private/manifest.json`` beside ``public/``);
    the default share only when there is no manifest to read.
    """
    manifest = student_dataset.parents[1] / "private" / "manifest.json"
    try:
        return int(json.loads(manifest.read_text())["public_test_images"])
    except (OSError, ValueError, KeyError, TypeError):
        return round(test_size * DEFAULTS.public_fraction)


def grading_limits_in_force(limits_file: Path | None) -> tuple[SandboxLimits, bool]:
    """The limits the last `coursekit grade` used (True), or the defaults (False)."""
    from autograder.grading.sandbox.limits import SandboxLimits

    if limits_file is not None:
        try:
            return SandboxLimits(**json.loads(Path(limits_file).read_text())), True
        except (OSError, ValueError, TypeError):
            pass
    return SandboxLimits(), False


def grading_rules(release_dir: Path, limits_file: Path | None = None) -> str:
    """Points per notebook, tests versus TA, and the grader's limits, from the student release."""
    notebooks = sorted(Path(release_dir).glob("*.ipynb"))
    if not notebooks:
        raise SiteContentError(f"{release_dir}: no released notebooks to describe")
    rows, totals = [], {"tests": 0.0, "TA": 0.0}
    for path in notebooks:
        graded = {"tests": [0, 0.0], "TA": [0, 0.0]}
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade"):
                kind = "tests" if cell.cell_type == "code" else "TA"
                graded[kind][0] += 1
                graded[kind][1] += float(meta.get("points", 0))
        for kind, (_, points) in graded.items():
            totals[kind] += points
        rows.append(
            f"| `{path.name}` | {graded['tests'][0]} cells, {graded['tests'][1]:g} points | "
            f"{graded['TA'][0]} answers, {graded['TA'][1]:g} points | "
            f"{graded['tests'][1] + graded['TA'][1]:g} |"
        )
    limits, in_force = grading_limits_in_force(limits_file)
    source = "as the last grading run used them" if in_force else "the defaults"
    return "\n".join(
        [
            "| Notebook | Test cells (autograded) | Written answers (read by a TA) | Points |",
            "|:---|:---|:---|---:|",
            *rows,
            f"| **Total** | {totals['tests']:g} points | {totals['TA']:g} points | "
            f"**{totals['tests'] + totals['TA']:g}** |",
            "",
            f"Limits while grading ({source}): {limits.cell_timeout} s per cell, "
            f"{limits.notebook_timeout / 60:g} minutes per notebook, "
            f"{limits.memory_bytes / 2**30:g} GiB of memory, no network.",
        ]
    )


def leaderboard(leaderboard_dir: Path) -> str:
    """The table ``coursekit leaderboard`` wrote, or a placeholder before the first scores."""
    from autograder.leaderboard.board import LEADERBOARD_MD

    table = Path(leaderboard_dir) / LEADERBOARD_MD
    return table.read_text(encoding="utf-8") if table.is_file() else LEADERBOARD_PLACEHOLDER


def benchmarks(results_md: Path) -> str:
    """The tables ``make bench`` wrote (``bench/results.md``), or a placeholder."""
    results_md = Path(results_md)
    return (
        results_md.read_text(encoding="utf-8") if results_md.is_file() else BENCHMARKS_PLACEHOLDER
    )


def beat_me(leaderboard_dir: Path) -> str:
    """The BEAT ME baseline's public score when a leaderboard exists; its recipe always."""
    from autograder.leaderboard.baseline import DESCRIPTION
    from autograder.leaderboard.board import LEADERBOARD_CSV

    text = f"**BEAT ME** is a deliberately simple model: {DESCRIPTION}."
    table = Path(leaderboard_dir) / LEADERBOARD_CSV
    if table.is_file():
        with table.open(newline="", encoding="utf-8") as stream:
            for row in csv.DictReader(stream):
                if row.get("rank") == BEAT_ME and row.get("public_accuracy"):
                    score = float(row["public_accuracy"])
                    text += f" It scores **{score:.2%}** on the public part of the test set."
    return text + (
        " Each team may upload a limited number of times per day (UTC), "
        f"{DEFAULTS.leaderboard.daily_limit} "
        "unless the course sets another limit; the leaderboard page states the limit in force. "
        "Uploads over the limit are recorded but not scored."
    )


# -- API reference ---------------------------------------------------------------------------

_MODULE_TITLES = {
    "loaders": "Loading the data",
    "metrics": "Metrics",
    "plots": "Plots",
    "submission": "The leaderboard submission",
    "experiments": "Comparing models",
    "handin": "Handing in",
    "runmode": "Fast mode",
    "errors": "Errors",
}


def api_reference() -> str:
    """Autodoc directives for every public name of ``utilities``, grouped by module."""
    import utilities

    by_module: dict[str, list[str]] = {}
    for name, module in utilities.EXPORTS.items():
        by_module.setdefault(module, []).append(name)
    unknown = set(by_module) - set(_MODULE_TITLES)
    if unknown:
        raise SiteContentError(f"API reference: no section title for utilities.{sorted(unknown)}")
    lines = []
    for module, title in _MODULE_TITLES.items():
        lines += ["", f"## {title}", "", f"`utilities.{module}`", ""]
        for name in sorted(by_module.get(module, []), key=lambda n: (n.isupper(), n)):
            value = getattr(utilities, name)
            directive = (
                "autoclass" if isinstance(value, type) else
                "autofunction" if callable(value) else "autodata"
            )  # fmt: skip
            options = {"autoclass": ["   :members:"], "autodata": ["   :no-value:"]}
            lines += [
                "```{eval-rst}",  # autodoc writes reStructuredText, not Markdown
                f".. {directive}:: utilities.{module}.{name}",
                *options.get(directive, []),
                "```",
                "",
            ]
    return "\n".join(lines)
