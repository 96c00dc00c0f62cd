"""Softmax and cross-entropy: from a trained LeNet5's logits to the loss and its gradient."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .common import (
    Exercise,
    check,
    exercises,
    figure_block,
    load_raw,
    markdown_table,
    new_figure,
    save,
    scaled,
)
from .learned import mnist_test_predictions, trained_lenet5

TEMPERATURES = (0.5, 1.0, 2.0)


def softmax(logits: np.ndarray) -> np.ndarray:
    """exp(z_k) / Σ exp(z_j), shifted by the largest logit so that nothing overflows."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def logits_of(model, images: np.ndarray) -> np.ndarray:
    """The last Dense layer's input times its weights: the scores before the softmax."""
    import keras

    (inputs,) = model.inputs
    features = np.asarray(keras.Model(inputs, model.layers[-2].output)(images))
    kernel, bias = (np.asarray(w) for w in model.layers[-1].get_weights())
    return features @ kernel + bias


def softmax_figure(figures: Path, cache_dir: Path) -> str:
    """An unsure digit's logits through softmax at three temperatures, and its loss gradient."""
    import keras
    import tensorflow as tf

    model = trained_lenet5(Path(cache_dir)).model
    data = load_raw("mnist")
    probabilities = mnist_test_predictions(cache_dir)
    unsure = int(np.argmin(probabilities.max(axis=1)))  # the test digit it is least sure of
    image, label = scaled(data["X_test"][unsure : unsure + 1]), int(data["y_test"][unsure])
    logits = logits_of(model, image)[0]
    check(np.allclose(softmax(logits), probabilities[unsure], atol=1e-5), "softmax of the logits")

    target = np.eye(10, dtype="float32")[label]
    z = tf.constant(logits[np.newaxis], dtype="float32")
    with tf.GradientTape() as tape:
        tape.watch(z)
        loss = keras.losses.CategoricalCrossentropy(from_logits=True)(target[np.newaxis], z)
    gradient = tape.gradient(loss, z).numpy()[0]
    p = softmax(logits)
    check(np.allclose(gradient, p - target, atol=1e-6), "∂L/∂z = p − y by autodiff")
    check(abs(float(loss) + math.log(p[label])) < 1e-5, "cross-entropy is −log p of the truth")

    fig = new_figure(10, 3.2)
    picture, bars, curve = fig.subplots(1, 3, width_ratios=[0.8, 2, 1.6])
    picture.imshow(image[0, ..., 0], cmap="gray_r")
    picture.set_title(f"test image {unsure}, label {label}", fontsize=9)
    picture.set_axis_off()
    width = 0.8 / len(TEMPERATURES)
    for index, temperature in enumerate(TEMPERATURES):
        offset = (index - (len(TEMPERATURES) - 1) / 2) * width
        bars.bar(
            np.arange(10) + offset,
            softmax(logits / temperature),
            width,
            label=f"T = {temperature:g}",
        )
    bars.set_xticks(range(10))
    bars.set_xlabel("class")
    bars.set_ylabel("probability")
    bars.set_title("softmax(z / T)", fontsize=10)
    bars.legend(fontsize=8)
    grid = np.linspace(0.005, 1, 400)
    curve.plot(grid, -np.log(grid))
    curve.plot([p[label]], [-math.log(p[label])], "o", label=f"this image: p = {p[label]:.2f}")
    curve.plot([0.1], [math.log(10)], "s", label="chance: p = 0.1")
    curve.set_xlabel("probability given to the true class")
    curve.set_ylabel("cross-entropy −log p")
    curve.legend(fontsize=8)
    curve.grid(alpha=0.3)
    save(fig, figures, "softmax.svg")

    rows = [
        [k, f"{logits[k]:.2f}", f"{p[k]:.3f}", int(target[k]), f"{gradient[k]:+.3f}"]
        for k in np.argsort(-p)[:4]
    ]
    return "\n\n".join(
        [
            figure_block(
                "softmax.svg",
                "A hard-to-read digit, its class probabilities at three temperatures, and −log p",
                "The test digit a trained LeNet5 is least sure about, its softmax at three "
                "temperatures (same order, different confidence), and the cross-entropy as a "
                "function of the probability given to the true class.",
            ),
            f"The four most likely classes for this digit (label {label}): the logits $z_k$, "
            "the probabilities $p_k$, the target $y_k$, and the gradient of the loss with "
            "respect to each logit as TensorFlow's autodiff computes it, which is exactly "
            "$p_k - y_k$:",
            markdown_table(["Class k", "z_k", "p_k", "y_k", "∂L/∂z_k"], "rrrrr", rows),
        ]
    )


def loss_at_start(cache_dir: Path) -> str:
    """An untrained LeNet5's loss is close to ln 10; a trained one's is far below; overflow."""
    import keras

    from autograder.course.models import lenet5

    data = load_raw("mnist")
    images, labels = scaled(data["X_test"][:1000]), data["y_test"][:1000]
    one_hot = np.eye(10, dtype="float32")[labels]
    keras.utils.set_random_seed(0)
    fresh = np.asarray(lenet5()(images))
    trained = mnist_test_predictions(cache_dir)[:1000]
    loss = keras.losses.CategoricalCrossentropy()
    by_hand = [float(np.mean(-np.log(p[np.arange(1000), labels]))) for p in (fresh, trained)]
    by_keras = [float(loss(one_hot, p)) for p in (fresh, trained)]
    check(np.allclose(by_hand, by_keras, rtol=1e-4), f"−log p by hand {by_hand}, Keras {by_keras}")
    sparse = float(keras.losses.SparseCategoricalCrossentropy()(labels, trained))
    check(abs(sparse - by_keras[1]) < 1e-5, "one-hot and sparse cross-entropy agree")

    big = np.array([1000.0, 999.0, 990.0])
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(big) / np.exp(big).sum()
    stable = np.asarray(keras.activations.softmax(big[np.newaxis]))[0]
    check(np.isnan(naive).all() and np.allclose(stable, softmax(big)), "overflow demo")
    rows = [
        ["untrained LeNet5 (random weights)", f"{by_keras[0]:.4f}", f"{math.log(10):.4f} = ln 10"],
        ["trained LeNet5 (as in *What did a CNN learn?*)", f"{by_keras[1]:.4f}", ""],
    ]
    return "\n\n".join(
        [
            markdown_table(
                ["Model, 1,000 test digits", "Cross-entropy (Keras)", "For comparison"], "lrl", rows
            ),
            "Keras and $-\\frac{1}{N}\\sum_i \\log p_{i, y_i}$ computed by hand agree to four "
            "decimals, and so do `CategoricalCrossentropy` with one-hot labels and "
            "`SparseCategoricalCrossentropy` with class numbers.",
            f"**Why subtract the largest logit.** For logits {', '.join(f'{v:g}' for v in big)}, "
            f"`np.exp` overflows and the textbook formula gives {', '.join(map(str, naive))}; "
            "Keras's softmax, which subtracts the largest logit first, gives "
            f"{', '.join(f'{v:.5f}' for v in stable)}.",
        ]
    )


def softmax_exercises(cache_dir: Path) -> str:
    """Losses to work out by hand, and what a temperature does to accuracy and loss."""
    import keras

    data = load_raw("mnist")
    labels = data["y_test"]
    probabilities = mnist_test_predictions(cache_dir)
    logits = np.log(np.clip(probabilities, 1e-12, 1))  # softmax(log p) = p
    accuracy = [float(np.mean(softmax(logits / t).argmax(1) == labels)) for t in (1, 2)]
    check(accuracy[0] == accuracy[1], "a temperature changes no prediction")
    loss = keras.losses.SparseCategoricalCrossentropy()
    losses = [float(loss(labels, softmax(logits / t))) for t in (1, 2)]
    sure, wrong = -math.log(0.9), -math.log(0.01)
    return exercises(
        Exercise(
            "The loss of a guess",
            "A network that has learned nothing gives every one of the 10 classes probability "
            "0.1. What is its cross-entropy? Compare it with the untrained LeNet5 above.",
            f"$-\\log 0.1 = \\ln 10 \\approx {math.log(10):.3f}$. An untrained network's loss "
            "starts close to this; a first loss far above it is a sign of a bug, e.g. inputs "
            "that were not scaled to [0, 1].",
        ),
        Exercise(
            "Confidently wrong",
            "What loss does one image cost if the network gives its true class probability 0.9? "
            "And 0.01?",
            f"$-\\log 0.9 \\approx {sure:.3f}$ and $-\\log 0.01 \\approx {wrong:.2f}$: "
            f"{wrong / sure:.0f} times as much. Cross-entropy punishes confident mistakes "
            "hardest; and unlike the number of errors, it changes smoothly with every logit, so "
            "gradient descent can follow it.",
        ),
        Exercise(
            "Temperature",
            "Dividing every logit by $T = 2$ before the softmax: what happens to the accuracy "
            "and the cross-entropy of the trained LeNet5 on the test digits?",
            f"The accuracy stays at {accuracy[0]:.2%}: dividing by a positive number keeps the "
            f"order of the logits, so every prediction stays the same. The loss moves from "
            f"{losses[0]:.3f} to {losses[1]:.3f}, because the probabilities get less confident. "
            "Loss and accuracy measure different things.",
        ),
    )
