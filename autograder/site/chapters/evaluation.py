"""Evaluation: macro F1 against the per-batch snippets, confusion matrices, and validation sets."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .common import (
    SEED,
    Exercise,
    SiteContentError,
    check,
    exercises,
    figure_block,
    load_raw,
    markdown_table,
    new_figure,
    save,
    tex,
)
from .learned import mnist_test_predictions

#: The per-batch F1 snippet that circulates online, as Task 1.3 describes it (old Keras backend).
CLASSIC_F1 = """\
import tensorflow as tf

K = tf.keras.backend


def f1(y_true, y_pred):
    y_pred = K.round(K.clip(y_pred, 0, 1))
    true_positives = K.sum(y_true * y_pred, axis=0)
    precision = true_positives / (K.sum(y_pred, axis=0) + K.epsilon())
    recall = true_positives / (K.sum(y_true, axis=0) + K.epsilon())
    f1 = 2 * precision * recall / (precision + recall + K.epsilon())
    return K.mean(f1)
"""
BATCH_SIZES = (32, 256, 10_000)
TEMPERATURES = {0.5: "confident", 1.0: "moderate", 2.0: "unsure"}


def classic_f1():
    """The snippet above, run as it is written."""
    namespace: dict = {}
    exec(
        compile(CLASSIC_F1, "classic_f1", "exec"), namespace
    )  # our own constant, shown on the page
    return namespace["f1"]


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def over_batches(metric, one_hot: np.ndarray, probabilities: np.ndarray, size: int) -> float:
    """What ``fit`` and ``evaluate`` report for a metric function: its mean over the batches.

    The same number as ``keras.metrics.MeanMetricWrapper(metric)`` fed batch by batch
    (``tests/test_site_content.py`` checks this), without its per-batch overhead.
    """
    values = [
        float(metric(one_hot[start : start + size], probabilities[start : start + size]))
        for start in range(0, len(one_hot), size)
    ]
    return float(np.mean(values))


def batch_f1_numbers() -> str:
    """The snippet and the pooled batch F1 against the true macro F1, at three confidences."""
    from sklearn.metrics import f1_score

    from utilities.metrics import MacroF1Score, batch_f1

    labels = load_raw("fashion-mnist")["y_test"].astype(int)
    rng = np.random.default_rng(SEED)
    # A simulated classifier: it favours the right class 90 % of the time (a logit boost),
    # and noise decides the rest.
    correct = rng.random(len(labels)) < 0.9
    favoured = np.where(correct, labels, (labels + rng.integers(1, 10, len(labels))) % 10)
    logits = rng.normal(0.0, 1.0, (len(labels), 10)) + 3.0 * np.eye(10)[favoured]
    predicted = logits.argmax(axis=1)
    one_hot = np.eye(10, dtype="float32")[labels]
    true_f1 = f1_score(labels, predicted, average="macro")
    import tensorflow as tf

    # Traced once per batch shape, as fit() traces a metric; eager calls would take seconds.
    snippets = (classic_f1(), batch_f1)  # no Python control flow: nothing for AutoGraph to do
    metrics = [tf.function(metric, reduce_retracing=True, autograph=False) for metric in snippets]
    columns = []
    for temperature in TEMPERATURES:
        probabilities = _softmax(logits / temperature).astype("float32")
        if not np.array_equal(probabilities.argmax(axis=1), predicted):
            raise SiteContentError("batch F1 demo: the temperature changed the predictions")
        streaming = MacroF1Score(10)
        streaming.update_state(one_hot, probabilities)
        check(
            abs(float(streaming.result()) - true_f1) < 1e-5,
            f"MacroF1Score gives {float(streaming.result()):.6f}, scikit-learn {true_f1:.6f}",
        )
        column = [
            f"{np.mean(probabilities.max(axis=1) < 0.5):.1%}",
            f"{np.mean(predicted == labels):.4f}",
            f"{true_f1:.4f}",
            f"{float(streaming.result()):.4f}",
        ]
        for metric in metrics:
            column += [
                f"{over_batches(metric, one_hot, probabilities, s):.4f}" for s in BATCH_SIZES
            ]
        columns.append(column)
    names = [
        "top probability below 0.5",
        "accuracy",
        "**macro F1** (scikit-learn)",
        "`MacroF1Score`",
        *(f"the snippet above, batches of {s:,}" for s in BATCH_SIZES),
        *(f"`batch_f1` (pooled), batches of {s:,}" for s in BATCH_SIZES),
    ]
    header = ["", *(f"{name} (T = {t:g})" for t, name in TEMPERATURES.items())]
    rows = [[name, *values] for name, *values in zip(names, *columns, strict=True)]
    return "\n\n".join(
        [
            "```python\n" + CLASSIC_F1.rstrip() + "\n```",
            markdown_table(header, "lrrr", rows),
        ]
    )


def confusion_figure(figures: Path, cache_dir: Path) -> str:
    """The trained LeNet5's confusion matrix on the MNIST test set, and its worst pairs."""
    from sklearn.metrics import confusion_matrix, f1_score

    from utilities.loaders import MNIST_CLASSES
    from utilities.plots import plot_confusion_matrix

    labels = load_raw("mnist")["y_test"]
    predicted = mnist_test_predictions(cache_dir).argmax(axis=1)
    fig = plot_confusion_matrix(
        labels, predicted, MNIST_CLASSES, title="LeNet5 on the MNIST test set"
    )
    save(fig, figures, "confusion.png")
    counts = confusion_matrix(labels, predicted)
    errors = counts - np.diag(np.diag(counts))
    worst = np.dstack(np.unravel_index(np.argsort(-errors, axis=None)[:3], errors.shape))[0]
    pairs = ", ".join(
        f"{true} taken for {guess} ({errors[true, guess]} times)" for true, guess in worst
    )
    per_class = f1_score(labels, predicted, average=None)
    return "\n\n".join(
        [
            figure_block(
                "confusion.png",
                "Two 10 × 10 heatmaps: counts of true against predicted digits, and row shares",
                "`plot_confusion_matrix` for the LeNet5 of *What did a CNN learn?* on the "
                "10,000 MNIST test digits: counts (left) and each row divided by its total, the "
                "recall of each class, on the diagonal (right).",
            ),
            f"Its most frequent mistakes: {pairs}. Its accuracy is "
            f"{np.mean(predicted == labels):.2%} and its macro F1 "
            f"{per_class.mean():.4f}; the F1 per digit ranges from {per_class.min():.3f} "
            f"(digit {int(per_class.argmin())}) to {per_class.max():.3f} "
            f"(digit {int(per_class.argmax())}).",
        ]
    )


def validation_figure(figures: Path, cache_dir: Path, draws: int = 400) -> str:
    """How much an accuracy measured on n images varies, measured against √(p(1−p)/n)."""
    labels = load_raw("mnist")["y_test"]
    right = mnist_test_predictions(cache_dir).argmax(axis=1) == labels
    p = float(right.mean())
    sizes = np.array([100, 300, 1000, 3000, 7500])
    rng = np.random.default_rng(SEED)
    samples = {n: right[rng.integers(0, len(right), (draws, n))].mean(axis=1) for n in sizes}
    measured = np.array([samples[n].std() for n in sizes])
    formula = np.sqrt(p * (1 - p) / sizes)
    check(np.all(np.abs(measured / formula - 1) < 0.2), f"spread {measured} vs formula {formula}")

    fig = new_figure(9, 3.2)
    spread, histogram = fig.subplots(1, 2)
    spread.loglog(sizes, measured * 100, "o", label=f"measured ({draws} draws each)")
    spread.loglog(sizes, formula * 100, "-", label="√(p(1 − p)/n)")
    spread.set_xlabel("validation images n")
    spread.set_ylabel("standard deviation (points)")
    spread.legend(fontsize=8)
    spread.grid(alpha=0.3, which="both")
    for n in (sizes[1], sizes[-1]):
        histogram.hist(samples[n] * 100, bins=30, alpha=0.6, label=f"n = {n:,}")
    histogram.axvline(p * 100, color="black", linestyle=":")
    histogram.set_xlabel("accuracy measured on n images (%)")
    histogram.legend(fontsize=8)
    save(fig, figures, "validation.svg")
    low, high = np.percentile(samples[sizes[-1]], [2.5, 97.5]) * 100
    return "\n\n".join(
        [
            figure_block(
                "validation.svg",
                "Spread of measured accuracy against the number of images, and two histograms",
                f"The same LeNet5 (accuracy $p = {p:.4f}$ on all 10,000 test digits) measured on "
                f"{draws} random sets of n test digits each (drawn with replacement). Left: the "
                "spread of the measured accuracy and the formula. Right: the measured "
                "accuracies for two sizes.",
            ),
            f"With {sizes[-1]:,} images, the size of Part 1's validation set, 95 % of the "
            f"measurements fall between {low:.2f} % and {high:.2f} %: two models whose "
            "validation accuracies differ by less than that may be equally good.",
        ]
    )


def evaluation_exercises() -> str:
    """F1 from counts, the snippet on a batch with absent classes, and a standard error."""
    from sklearn.metrics import f1_score

    tp, fp, fn = 45, 5, 15
    truth = [1] * (tp + fn) + [0] * fp
    guess = [1] * tp + [0] * fn + [1] * fp
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    by_hand = 2 * precision * recall / (precision + recall)
    check(abs(by_hand - f1_score(truth, guess)) < 1e-12, "F1 from counts")

    labels, guesses = np.array([0, 1, 1, 2, 3, 3]), np.array([0, 1, 2, 2, 3, 1])
    one_hot, predicted = (np.eye(10, dtype="float32")[v] for v in (labels, guesses))
    snippet = float(classic_f1()(one_hot, predicted))
    sklearn = f1_score(labels, guesses, average="macro")
    every = f1_score(labels, guesses, average="macro", labels=range(10), zero_division=0)
    check(abs(snippet - every) < 1e-5, f"the snippet gives {snippet}, all ten classes {every}")

    p, n = 0.99, 7500
    error = math.sqrt(p * (1 - p) / n)
    return exercises(
        Exercise(
            "F1 from counts",
            f"For one class a model has {tp} true positives, {fp} false positives and {fn} "
            "false negatives. What are its precision, recall and F1?",
            f"Precision ${tp}/({tp} + {fp}) = {precision:.2f}$, recall ${tp}/({tp} + {fn}) = "
            f"{recall:.2f}$, $F_1 = 2 \\cdot {precision:.2f} \\cdot {recall:.2f} / ({precision:.2f}"
            f" + {recall:.2f}) = {by_hand:.3f}$, the same as $2\\,TP / (2\\,TP + FP + FN) = "
            f"{2 * tp}/{2 * tp + fp + fn}$.",
        ),
        Exercise(
            "A batch with absent classes",
            "A batch of six images has labels 0, 1, 1, 2, 3, 3 and confident predictions 0, 1, "
            "2, 2, 3, 1. What does the snippet return, and what is the macro F1?",
            f"The snippet returns {snippet:.4f}: it averages over all ten classes, and the six "
            "classes that occur neither in the labels nor in the predictions score 0. "
            f"Scikit-learn's macro F1 averages over the four classes that occur: {sklearn:.4f}. "
            "A metric you write for Task 1.3 must give the second.",
        ),
        Exercise(
            "Is 0.1 points a difference?",
            f"Two LeNet5 runs score 99.0 % and 99.1 % on Part 1's {n:,} validation images. "
            "Is the second one better?",
            f"The standard error of an accuracy of {p:.0%} on {n:,} images is "
            f"$\\sqrt{{{p} \\cdot {1 - p:.2f} / {tex(n)}}} \\approx {error * 100:.2f}\\,\\%$, "
            "so the two "
            f"scores are {0.001 / error:.1f} standard errors apart: the difference could "
            "well be noise. Compare the mean over a few seeds, as Task 2.6 does, before calling a "
            "change an improvement.",
        ),
        Exercise(
            "Why not choose on the test set?",
            "Why do the notebooks hold out a validation set, instead of comparing designs on "
            "the test images?",
            "Every choice made by looking at a set of images (a design, an epoch, a learning "
            "rate) fits the model a little to those images, so their score becomes optimistic. "
            "The validation set absorbs that: you choose on it, and the test set, looked at "
            "once at the end, still measures images the model has never influenced. The "
            "leaderboard's private part plays that role in Part 2.",
        ),
    )
