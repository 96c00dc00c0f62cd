"""Activations: ReLU and Leaky ReLU with their derivatives, and a dead ReLU that comes back."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from autograder.settings import DEFAULTS

from .common import (
    SEED,
    Exercise,
    check,
    exercises,
    figure_block,
    markdown_table,
    new_figure,
    save,
    scientific,
)


def activations(figures: Path) -> str:
    """ReLU and Leaky ReLU and their derivatives, computed by TensorFlow's autodiff."""
    import keras
    import tensorflow as tf

    slope = DEFAULTS.leaky_relu_slope
    x = tf.constant(np.linspace(-4.0, 4.0, 801), dtype="float32")
    points = tf.constant([-2.0, 0.0, 2.0])
    curves, at_points = {}, {}
    for name, function in {
        "ReLU": keras.activations.relu,
        f"Leaky ReLU (slope {slope:g})": lambda v: keras.activations.leaky_relu(v, slope),
    }.items():
        curves[name] = value_and_gradient(function, x)
        at_points[name] = value_and_gradient(function, points)

    fig = new_figure(9, 3.4)
    left, right = fig.subplots(1, 2)
    for (name, (value, gradient)), style in zip(curves.items(), ("-", "--"), strict=True):
        left.plot(x.numpy(), value, style, label=name)
        right.plot(x.numpy(), gradient, style, label=name)
    for ax, title in ((left, "f(x)"), (right, "f′(x), by automatic differentiation")):
        ax.axhline(0, color="grey", linewidth=0.6)
        ax.axvline(0, color="grey", linewidth=0.6)
        ax.set_title(title)
        ax.set_xlabel("x")
        ax.legend()
    save(fig, figures, "activations.svg")

    default = float(keras.layers.LeakyReLU().negative_slope)
    check(default != slope, "the page warns that Keras's default slope differs from the course's")
    rows = [
        [name, _numbers(value), _numbers(gradient)] for name, (value, gradient) in at_points.items()
    ]
    return "\n\n".join(
        [
            figure_block(
                "activations.svg",
                "ReLU and Leaky ReLU (left) and their derivatives (right)",
                "ReLU and Leaky ReLU (left) and their derivatives (right), computed with Keras "
                "and TensorFlow's automatic differentiation.",
            ),
            markdown_table(
                [
                    "Function",
                    "f(−2), f(0), f(2)",
                    "f′(−2), f′(0), f′(2) as TensorFlow computes them",
                ],
                "lll",
                rows,
            ),
            ":::{admonition} Keras's default slope is not the course's\n:class: warning\n"
            f"`keras.layers.LeakyReLU()` uses a slope of **{default:g}** unless you pass one: "
            f"write `layers.LeakyReLU(negative_slope={slope:g})` for the course's {slope:g} "
            f"(`keras.activations.leaky_relu` defaults to {_function_default():g}).\n:::",
        ]
    )


def _function_default() -> float:
    import inspect

    import keras

    return float(
        inspect.signature(keras.activations.leaky_relu).parameters["negative_slope"].default
    )


def value_and_gradient(function, x) -> tuple[np.ndarray, np.ndarray]:
    """``function(x)`` and its derivative at ``x``, by TensorFlow's autodiff."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(x)
        y = function(x)
    return y.numpy(), tape.gradient(y, x).numpy()


def _numbers(values: np.ndarray) -> str:
    return ", ".join(f"{value:g}" for value in np.round(values, 4))


# -- A dead ReLU, and how it can come back ---------------------------------------------------


def dead_relu(figures: Path, steps: int = 120) -> dict:
    """Train a tiny network in which one ReLU unit starts dead; record when it comes back.

    Layer 1 is one ReLU unit h = relu(w·x). Two heads read it: a linear head that
    is trained towards 2x (so w grows), and a ReLU unit z = relu(c·h + d) that
    starts with c·h + d < 0 for every example, so it gets no gradient at all.
    """
    import keras
    import tensorflow as tf

    rng = np.random.default_rng(SEED)
    x = tf.constant(rng.uniform(0.5, 1.5, size=(64, 1)), dtype="float32")
    w, c, d = (tf.Variable(value) for value in (0.1, 1.0, -1.0))
    optimizer = keras.optimizers.SGD(learning_rate=0.005)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            h = tf.nn.relu(w * x)
            pre = c * h + d
            loss = tf.reduce_mean((h - 2 * x) ** 2) + tf.reduce_mean((tf.nn.relu(pre) - x) ** 2)
        gw, gc, gd = tape.gradient(loss, [w, c, d])
        optimizer.apply([gw, gc, gd], [w, c, d])
        return tf.reduce_mean(tf.cast(pre > 0, "float32")), tf.sqrt(gc**2 + gd**2)

    records = np.array([[float(value) for value in step()] for _ in range(steps)])
    active, gradient_norm = records[:, 0], records[:, 1]
    revived = int(np.argmax(active > 0))
    check(active[0] == 0 and gradient_norm[0] == 0, "the unit starts dead, with no gradient")
    check(np.all(gradient_norm[:revived] == 0), "a dead unit's own weights get no gradient")
    check(revived > 0 and active[-1] > 0.5, "the unit comes back once w has grown")

    fig = new_figure(9, 3.0)
    left, right = fig.subplots(1, 2)
    left.plot(active * 100)
    left.set_ylabel("examples where it is active (%)")
    right.plot(gradient_norm)
    right.set_ylabel("gradient of its own weights")
    for ax in (left, right):
        ax.axvline(revived, color="grey", linestyle=":")
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3)
    save(fig, figures, "dead_relu.svg")
    return {"revived": revived, "steps": steps, "final_active": float(active[-1])}


def dead_relu_fragment(figures: Path) -> str:
    facts = dead_relu(figures)
    return "\n\n".join(
        [
            figure_block(
                "dead_relu.svg",
                "Two curves over training steps: a unit inactive and without gradient, then active",
                "A ReLU unit that starts dead, in a tiny network trained with SGD. For "
                f"{facts['revived']} steps its input is negative for every example and its "
                "own weights get no gradient at all; meanwhile the layer below, trained by "
                "another output, grows until the unit's input turns positive again. At step "
                f"{facts['steps']} it is active on {facts['final_active']:.0%} of the examples.",
            ),
        ]
    )


def activation_exercises() -> str:
    """Derivatives, the Keras default and the sigmoid's small slope, all from real code."""
    import keras
    import tensorflow as tf

    slope = DEFAULTS.leaky_relu_slope
    points = tf.constant([-3.0, 2.0])
    _, leaky = value_and_gradient(lambda v: keras.activations.leaky_relu(v, slope), points)
    default = float(keras.layers.LeakyReLU().negative_slope)
    defaulted = float(keras.layers.LeakyReLU()(np.array([-2.0], dtype="float32")).numpy()[0])
    grid = tf.constant(np.linspace(-6, 6, 1201), dtype="float32")
    _, sigmoid_slope = value_and_gradient(keras.activations.sigmoid, grid)
    peak = float(sigmoid_slope.max())
    check(abs(peak - 0.25) < 1e-6, "the sigmoid's derivative peaks at 0.25")
    depth = 10
    return exercises(
        Exercise(
            "Derivatives by hand",
            f"What are the derivatives of Leaky ReLU with slope {slope:g} at −3 and at 2?",
            f"{leaky[0]:g} and {leaky[1]:g}: the slope for negative inputs, 1 for positive "
            "ones, whatever the size of the input.",
        ),
        Exercise(
            "The default slope",
            "A student writes `layers.LeakyReLU()` in Task 1.6's experiment. What does the "
            "layer return for an input of −2, and what should the student write instead?",
            f"{defaulted:g}, because Keras's default slope is {default:g}. For the course's "
            f"slope write `layers.LeakyReLU(negative_slope={slope:g})`, which gives "
            f"{-2 * slope:g}.",
        ),
        Exercise(
            "Why sigmoids stall deep networks",
            f"The sigmoid's derivative is at most {peak:g}. Ignoring the weights, by how much "
            f"can a gradient shrink through {depth} sigmoid layers at best? And through "
            f"{depth} ReLU layers on active paths?",
            f"At best by ${peak:g}^{{{depth}}} \\approx {scientific(peak**depth)}$, so the first "
            f"layers learn {1 / peak**depth:,.0f} times more slowly than the last. Through active "
            "ReLU units the factor is $1^{"
            f"{depth}"
            "} = 1$; what is left of vanishing or exploding gradients then comes from the "
            "weights.",
        ),
    )
