"""Optimisers and learning-rate schedules, run with Keras's own optimizers and schedules."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .common import (
    Exercise,
    check,
    exercises,
    figure_block,
    markdown_table,
    new_figure,
    save,
    scientific,
)

STEPS_PER_EPOCH = 50  # the shape of a schedule in epochs does not depend on it
CURVATURE = 100.0  # the bowl f(x, y) = (x² + CURVATURE · y²) / 2
START = (-4.0, 0.5)


def course_schedules() -> dict[str, tuple[object, int]]:
    """The three schedules of the course, as Keras objects, with their number of epochs."""
    from autograder.course.models import FASHION_RECIPE, LENET5_RECIPE, Recipe

    constant = Recipe(epochs=LENET5_RECIPE.epochs, batch_size=LENET5_RECIPE.batch_size)
    return {
        f"constant {constant.initial_learning_rate:g}": (
            constant.learning_rate(STEPS_PER_EPOCH),
            constant.epochs,
        ),
        "cosine decay": (
            LENET5_RECIPE.learning_rate(STEPS_PER_EPOCH),
            LENET5_RECIPE.epochs,
        ),
        "one-cycle": (
            FASHION_RECIPE.learning_rate(STEPS_PER_EPOCH),
            FASHION_RECIPE.epochs,
        ),
    }


def rates(schedule, epochs: int) -> np.ndarray:
    """The learning rate at every step of ``epochs`` epochs."""
    import tensorflow as tf

    steps = epochs * STEPS_PER_EPOCH
    if isinstance(schedule, float | int):
        return np.full(steps, float(schedule))
    every_step = tf.function(
        lambda n: tf.map_fn(schedule, tf.range(n), fn_output_signature="float32")
    )
    return every_step(tf.constant(steps)).numpy().astype("float64")


def schedules_figure(figures: Path) -> str:
    """Constant, cosine and one-cycle learning rates, from keras.optimizers.schedules."""
    fig = new_figure(9, 3.2)
    ax = fig.subplots()
    rows = []
    for name, (schedule, epochs) in course_schedules().items():
        values = rates(schedule, epochs)
        epoch = np.arange(len(values)) / STEPS_PER_EPOCH
        ax.plot(epoch, values, label=name)
        kind = "a number" if isinstance(schedule, float) else f"`{type(schedule).__name__}`"
        peak = int(values.argmax())
        rows.append(
            [
                name,
                kind,
                f"{values[0]:.2g}",
                f"{values.max():.2g} at epoch {peak / STEPS_PER_EPOCH:g}",
                f"{values[-1]:.2g}",
            ]
        )
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    save(fig, figures, "schedules.svg")
    return "\n\n".join(
        [
            figure_block(
                "schedules.svg",
                "Three learning-rate curves over the epochs on a log scale",
                "The learning rate at every training step, read from the Keras schedule objects "
                "that the course's recipes build (logarithmic scale).",
            ),
            markdown_table(["Schedule", "Keras object", "Start", "Peak", "End"], "lllll", rows),
        ]
    )


def descend(optimizer, steps: int = 60, start: tuple[float, float] = START) -> np.ndarray:
    """The path of a Keras optimizer on the bowl (x² + CURVATURE · y²) / 2."""
    import keras
    import tensorflow as tf

    point = keras.Variable(np.array(start, dtype="float32"))
    scale = tf.constant([1.0, CURVATURE])
    path = [np.array(start)]
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = 0.5 * tf.reduce_sum(scale * point**2)
        optimizer.apply([tape.gradient(loss, point)], [point])
        path.append(np.asarray(point.numpy()))
    return np.array(path)


def _bowl(path: np.ndarray) -> np.ndarray:
    return 0.5 * (path[:, 0] ** 2 + CURVATURE * path[:, 1] ** 2)


def optimiser_figure(figures: Path) -> str:
    """SGD, SGD with momentum and Adam on a long, narrow bowl."""
    import keras

    learning_rate = 0.95 * 2 / CURVATURE  # just below plain SGD's limit (an exercise below)
    optimizers = {
        f"SGD, learning rate {learning_rate:.3g}": keras.optimizers.SGD(learning_rate),
        f"SGD with momentum 0.9, learning rate {learning_rate:.3g}": keras.optimizers.SGD(
            learning_rate, momentum=0.9
        ),
        "Adam, learning rate 0.3": keras.optimizers.Adam(0.3),
    }
    paths = {name: descend(optimizer) for name, optimizer in optimizers.items()}
    fig = new_figure(9, 3.6)
    ax, losses = fig.subplots(1, 2)
    x, y = np.meshgrid(np.linspace(-4.5, 1.5, 200), np.linspace(-0.8, 0.8, 200))
    ax.contour(x, y, 0.5 * (x**2 + CURVATURE * y**2), levels=12, colors="#bbb", linewidths=0.6)
    for name, path in paths.items():
        ax.plot(path[:, 0], path[:, 1], ".-", markersize=3, linewidth=1, label=name)
        losses.plot(_bowl(path), label=name)
    ax.plot([0], [0], "k*")
    ax.set_title("paths from the same start", fontsize=10)
    losses.set_yscale("log")
    losses.set_xlabel("step")
    losses.set_ylabel("f(x, y)")
    losses.legend(fontsize=7)
    losses.grid(alpha=0.3)
    save(fig, figures, "optimisers.svg")
    steps = len(next(iter(paths.values()))) - 1
    rows = [
        [name, f"{_bowl(path)[0]:.2f}", f"{_bowl(path)[10]:.3g}", f"{_bowl(path)[-1]:.2g}"]
        for name, path in paths.items()
    ]
    return "\n\n".join(
        [
            figure_block(
                "optimisers.svg",
                "Three optimisation paths on the contour lines of a narrow valley, and losses",
                "Three real Keras optimizers minimising $f(x, y) = (x^2 + "
                f"{CURVATURE:g}\\,y^2)/2$, a valley {CURVATURE:g} times steeper across than "
                "along, from the same start.",
            ),
            markdown_table(
                ["Optimizer", "f at the start", "after 10 steps", f"after {steps} steps"],
                "lrrr",
                rows,
            ),
        ]
    )


def optimiser_exercises() -> str:
    """The cosine's midpoint, SGD's stability limit and momentum's effective step, all run."""
    import keras

    from autograder.course.models import FASHION_RECIPE, LENET5_RECIPE

    schedule = LENET5_RECIPE.learning_rate(STEPS_PER_EPOCH)
    total = LENET5_RECIPE.epochs * STEPS_PER_EPOCH
    alpha, start = LENET5_RECIPE.alpha, LENET5_RECIPE.peak_learning_rate
    halfway = float(schedule(total // 2))
    formula = start * (alpha + (1 - alpha) * (1 + math.cos(math.pi / 2)) / 2)
    check(abs(halfway - formula) < 1e-9, f"cosine at halfway: Keras {halfway}, formula {formula}")

    limit = 2 / CURVATURE
    below, above = (descend(keras.optimizers.SGD(limit * f), steps=40) for f in (0.95, 1.05))
    check(abs(below[-1, 1]) < 0.1 < abs(above[-1, 1]), "SGD converges below 2/κ and not above")

    momentum = keras.optimizers.SGD(0.01, momentum=0.9)
    path = descend_line(momentum, steps=100)
    step = float(path[-1] - path[-2])
    check(abs(step / 0.01 - 10) < 0.01, f"momentum 0.9 takes steps of 10 × lr, got {step / 0.01}")
    warm = FASHION_RECIPE
    return exercises(
        Exercise(
            "Halfway down the cosine",
            f"Part 1's cosine schedule starts at {start:g} and ends at $\\alpha = {alpha:g}$ "
            "times that. What is the learning rate halfway through training?",
            "$\\eta = \\eta_0 \\left(\\alpha + (1 - \\alpha)\\,"
            "\\frac{1 + \\cos(\\pi t / T)}{2}\\right)$; "
            f"at $t = T/2$ the cosine is 0, so $\\eta = {start:g} \\cdot ({alpha:g} + "
            f"{(1 - alpha) / 2:g}) = {formula:.3g}$, which is what Keras's `CosineDecay` returns.",
        ),
        Exercise(
            "Too large a step",
            f"On the valley above, plain SGD multiplies the across-valley coordinate by "
            f"$1 - \\eta \\cdot {CURVATURE:g}$ at every step. Above which learning rate does it "
            "diverge?",
            f"When $|1 - {CURVATURE:g}\\,\\eta| > 1$, i.e. $\\eta > 2/{CURVATURE:g} = "
            f"{limit:g}$. Run with Keras for 40 steps, SGD at {limit * 0.95:.3g} ends at "
            f"$|y| = {scientific(abs(below[-1, 1]))}$, at {limit * 1.05:.3g} at "
            f"$|y| = {abs(above[-1, 1]):.1f}$. The steepest direction of the loss sets the "
            "largest usable learning rate, which is why a rate that is a little too high makes "
            "the loss jump instead of falling a little faster.",
        ),
        Exercise(
            "What momentum adds up to",
            "SGD with learning rate 0.01 and momentum 0.9 follows a slope whose gradient is "
            "always 1. How long are its steps after a while?",
            f"Each step adds 0.9 times the previous one: $0.01 \\cdot (1 + 0.9 + 0.9^2 + \\dots)"
            f" = 0.01 / (1 - 0.9) = 0.1$. Keras's optimizer, run for 100 steps, takes steps of "
            f"{abs(step):.4f}: momentum multiplies the learning rate by 10 along a steady "
            "direction, and cancels out across a zig-zag.",
        ),
        Exercise(
            "Why warm up",
            f"A one-cycle schedule (as in the figure) starts at {warm.initial_learning_rate:g}, "
            f"climbs to {warm.peak_learning_rate:g} over the first {warm.warmup_fraction:.0%} "
            "of the steps, then decays. Why not start at the peak?",
            "At the start the weights are random, the gradients are large and point in "
            "unreliable directions, Adam's estimate of each gradient's size rests on a few "
            "steps, "
            "and batch normalisation's statistics change quickly. A small rate first lets all "
            "of these settle; the high rate in the middle then covers ground fast, and the "
            "decay at the end settles into a minimum.",
        ),
    )


def descend_line(optimizer, steps: int) -> np.ndarray:
    """Positions of a Keras optimizer on f(x) = −x, whose gradient is always −1."""
    import keras
    import tensorflow as tf

    point = keras.Variable(np.zeros(1, dtype="float32"))
    path = []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = -tf.reduce_sum(point)
        optimizer.apply([tape.gradient(loss, point)], [point])
        path.append(float(point.numpy()[0]))
    return np.array(path)
