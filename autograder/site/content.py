"""The parts of the course site that are computed, not written: tables, numbers, figures, exercises.

:func:`write_fragments` calls one function per fragment and writes its Markdown
to ``book/_generated/NAME.md``, where the pages include it. The functions live
in :mod:`autograder.site.chapters`, one module per topic. Nothing is pasted in:
shapes and counts are checked against real Keras layers, the figures come from
real layers, optimizers, schedules and datasets and from a briefly trained
LeNet5, and the course pages from the student release and the leaderboard.
Each chapter also gets a box linking the assignment tasks it prepares for
(``CHAPTERS``), read from the release's headings, so a renamed task stops the
build instead of leaving a dead link.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from autograder.site.chapters import (
    activations,
    arithmetic,
    augmentation,
    cost,
    course,
    evaluation,
    learned,
    optimisers,
    regularisation,
    softmax,
    spatial,
)
from autograder.site.chapters.common import SiteContentError, markdown_table, tasks_box
from autograder.site.chapters.course import BENCHMARK_RESULTS

__all__ = ["BENCHMARK_RESULTS", "CHAPTERS", "SiteContentError", "SiteInputs", "write_fragments"]

#: The theory chapters (book/theory/NAME.md) and the tasks (or sections) each prepares for.
CHAPTERS: dict[str, tuple[str, ...]] = {
    "convolutions": ("1.2", "2.3"),
    "pooling": ("1.2", "2.2", "2.3"),
    "receptive_fields": ("2.2", "2.3"),
    "cost": ("1.2", "2.2", "2.3"),
    "activations": ("1.6",),
    "softmax": ("1.1", "1.4"),
    "optimisers": ("1.4", "2.2", "2.6"),
    "regularisation": ("1.5", "2.2", "2.6"),
    "augmentation": ("2.2", "2.4"),
    "f1": ("1.3", "1.7", "2.1", "2.5", "2.6"),
    "learned": ("1.2", "What did your CNN learn?"),
}


def _default_cache() -> Path:
    from utilities.data import default_cache_dir

    return default_cache_dir()


@dataclass(frozen=True)
class SiteInputs:
    """Where the site's computed content comes from."""

    release_dir: Callable[[], Path]  # called when needed: the release may still be in the making
    student_dataset: Path | None
    leaderboard_dir: Path
    figures_dir: Path
    benchmark_results: Path = BENCHMARK_RESULTS
    grading_limits: Path | None = None  # the limits.json `coursekit grade` wrote, if any
    cache_dir: Path = field(default_factory=_default_cache)  # where the trained LeNet5 is kept


def fragments(inputs: SiteInputs) -> dict[str, Callable[[], str]]:
    """Every fragment's name and the function that computes it."""
    figures, cache = inputs.figures_dir, Path(inputs.cache_dir)
    return {
        # Theory, in the order of the table of contents
        "lenet5_table": arithmetic.lenet5_table,
        "convolutions": lambda: arithmetic.convolution_figures(figures),
        "convolutions_exercises": arithmetic.convolution_exercises,
        "pooling": lambda: spatial.pooling_figure(figures),
        "pooling_exercises": spatial.pooling_exercises,
        "receptive_fields": lambda: spatial.receptive_field_figure(figures),
        "receptive_fields_exercises": spatial.receptive_field_exercises,
        "cost": lambda: cost.cost_figure(figures),
        "cost_exercises": cost.cost_exercises,
        "activations": lambda: activations.activations(figures),
        "dead_relu": lambda: activations.dead_relu_fragment(figures),
        "activations_exercises": activations.activation_exercises,
        "learned": lambda: learned.learned(figures, cache),
        "learned_exercises": lambda: learned.learned_exercises(cache),
        "softmax": lambda: softmax.softmax_figure(figures, cache),
        "softmax_loss": lambda: softmax.loss_at_start(cache),
        "softmax_exercises": lambda: softmax.softmax_exercises(cache),
        "schedules": lambda: optimisers.schedules_figure(figures),
        "optimisers": lambda: optimisers.optimiser_figure(figures),
        "optimisers_exercises": optimisers.optimiser_exercises,
        "overfitting": lambda: regularisation.overfitting(figures),
        "regularisers": regularisation.regularisers,
        "regularisation_exercises": regularisation.regularisation_exercises,
        "augmentation": lambda: augmentation.augmentation_figure(figures),
        "robustness": lambda: augmentation.robustness(figures, cache),
        "augmentation_exercises": augmentation.augmentation_exercises,
        "batch_f1": evaluation.batch_f1_numbers,
        "confusion": lambda: evaluation.confusion_figure(figures, cache),
        "validation": lambda: evaluation.validation_figure(figures, cache),
        "f1_exercises": evaluation.evaluation_exercises,
        # Each chapter's links to the assignment
        **{
            f"{chapter}_tasks": (lambda wanted=wanted: tasks_box(inputs.release_dir(), wanted))
            for chapter, wanted in CHAPTERS.items()
        },
        # The course's own pages
        "data": lambda: course.datasets(figures, inputs.student_dataset),
        "grading": lambda: course.grading_rules(inputs.release_dir(), inputs.grading_limits),
        "leaderboard": lambda: course.leaderboard(inputs.leaderboard_dir),
        "beat_me": lambda: course.beat_me(inputs.leaderboard_dir),
        "api": course.api_reference,
        "benchmarks": lambda: course.benchmarks(inputs.benchmark_results),
    }


def write_fragments(inputs: SiteInputs, out_dir: Path, report: Callable[[str], None]) -> list[Path]:
    """Compute every fragment and write ``out_dir/NAME.md``; return the files written.

    Last, ``build_report.md`` records how long each fragment took and where the
    trained LeNet5 came from, for the instructors' page.
    """
    inputs.figures_dir.mkdir(parents=True, exist_ok=True)
    written, timings = [], []
    for name, make in fragments(inputs).items():
        started = time.perf_counter()
        path = out_dir / f"{name}.md"
        path.write_text(make().rstrip() + "\n", encoding="utf-8")
        seconds = time.perf_counter() - started
        report(f"  {name}: {seconds:.1f} s")
        timings.append((name, seconds))
        written.append(path)
    path = out_dir / "build_report.md"
    path.write_text(build_report(inputs, timings), encoding="utf-8")
    return [*written, path]


def build_report(inputs: SiteInputs, timings: list[tuple[str, float]]) -> str:
    """Where the build's time went, and whether it trained LeNet5 or loaded cached weights."""
    trained = learned.trained_lenet5(Path(inputs.cache_dir))
    origin = (
        f"trained by this build in {trained.seconds:.1f} s"
        if trained.trained_now
        else f"loaded from the cache in {trained.seconds:.1f} s"
    )
    slowest = sorted(timings, key=lambda item: -item[1])[:8]
    rows = [[f"`{name}`", f"{seconds:.1f}"] for name, seconds in slowest]
    total = sum(seconds for _, seconds in timings)
    return (
        "\n\n".join(
            [
                f"The last build computed {len(timings)} fragments in {total:.1f} s (the first one "
                "also imports TensorFlow). The slowest:",
                markdown_table(["Fragment", "Seconds"], "lr", rows),
                f"The LeNet5 of *What did a CNN learn?* ({learned.EPOCHS} epochs on "
                f"{learned.TRAIN_IMAGES:,} MNIST images) was {origin}: "
                f"`{trained.weights.name}` in the `site/` folder of the kit's cache.",
            ]
        )
        + "\n"
    )
