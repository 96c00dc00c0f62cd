"""The parts of the course site that are computed, not written: tables, numbers and figures.

Every function returns one Markdown fragment; :func:`write_fragments` writes
them to ``book/_generated/`` where the pages include them. Nothing here is
pasted in: the LeNet5 table comes from a real Keras model (and is checked
against the formulas), the F1 numbers from the kit's metrics and
scikit-learn, the figures from the real datasets, the grading table from the
student release, and the leaderboard from ``coursekit leaderboard``'s output.
"""

from __future__ import annotations

import csv
import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np

from autograder.grading.sandbox.bwrap import SandboxLimits
from autograder.leaderboard.board import BEAT_ME, DEFAULT_DAILY_LIMIT
from autograder.resources import benchmark_results
from autograder.settings import DEFAULTS
from utilities.errors import CourseKitError

SEED = 0
FIGURE_DPI = 110
THEORY_FIGURES = "../_generated/figures"  # as seen from the theory pages that include fragments
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


class SiteContentError(CourseKitError):
    """A computed page fragment disagrees with the theory it illustrates, or an input is missing."""


@dataclass(frozen=True)
class SiteInputs:
    """Where the site's computed content comes from."""

    release_dir: Callable[[], Path]  # called when needed: the release may still be in the making
    student_dataset: Path | None
    leaderboard_dir: Path
    figures_dir: Path
    benchmark_results: Path = BENCHMARK_RESULTS
    grading_limits: Path | None = None  # the limits.json `coursekit grade` wrote, if any


def write_fragments(inputs: SiteInputs, out_dir: Path, report: Callable[[str], None]) -> list[Path]:
    """Compute every fragment and write ``out_dir/NAME.md``; return the files written."""
    inputs.figures_dir.mkdir(parents=True, exist_ok=True)
    fragments = {
        "lenet5_table": lenet5_table,
        "activations": lambda: activations(inputs.figures_dir),
        "overfitting": lambda: overfitting(inputs.figures_dir),
        "regularisers": regularisers,
        "batch_f1": batch_f1_numbers,
        "data": lambda: datasets(inputs.figures_dir, inputs.student_dataset),
        "grading": lambda: grading_rules(inputs.release_dir(), inputs.grading_limits),
        "leaderboard": lambda: leaderboard(inputs.leaderboard_dir),
        "beat_me": lambda: beat_me(inputs.leaderboard_dir),
        "api": api_reference,
        "benchmarks": lambda: benchmarks(inputs.benchmark_results),
    }
    written = []
    for name, make in fragments.items():
        started = time.perf_counter()
        path = out_dir / f"{name}.md"
        path.write_text(make().rstrip() + "\n", encoding="utf-8")
        report(f"  {name}: {time.perf_counter() - started:.1f} s")
        written.append(path)
    return written


@functools.cache
def load_raw(name: str) -> dict[str, np.ndarray]:
    """A raw dataset from the verified cache, parsed once per build."""
    from utilities.data import load_raw as parse

    return parse(name)


# -- Theory: convolutions ------------------------------------------------------------------


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output size along one axis: ⌊(W − K + 2P) / S⌋ + 1."""
    return (size - kernel + 2 * padding) // stride + 1


def conv_parameters(kernel: tuple[int, int], channels_in: int, filters: int) -> int:
    """Trainable parameters of a convolution: (k_h · k_w · C_in + 1) · C_out."""
    return (kernel[0] * kernel[1] * channels_in + 1) * filters


def dense_parameters(units_in: int, units_out: int) -> int:
    """Trainable parameters of a dense layer: in · out + out."""
    return units_in * units_out + units_out


def lenet5_table() -> str:
    """LeNet5 layer by layer: shapes and parameters by formula, checked against Keras."""
    from keras import layers

    from autograder.course.models import lenet5

    model = lenet5()
    shape = tuple(model.input_shape[1:])
    rows = [f"| | input | | {_shape(shape)} | | |"]
    total = 0
    for number, layer in enumerate(model.layers, start=1):
        shape, working, count = _worked_layer(layer, shape, layers)
        keras_shape = tuple(layer.output.shape[1:])
        if shape != keras_shape or count != layer.count_params():
            raise SiteContentError(
                f"LeNet5 layer {layer.name}: the formulas give {shape} and {count} parameters, "
                f"Keras {keras_shape} and {layer.count_params()}"
            )
        total += count
        rows.append(
            f"| {number} | `{type(layer).__name__}` | {_settings(layer, layers)} | "
            f"{_shape(shape)} | {working} | {count:,} |"
        )
    if total != model.count_params():
        raise SiteContentError(
            f"LeNet5: layers sum to {total:,}, Keras counts {model.count_params()}"
        )
    convolutions = sum(layer.count_params() for layer in model.layers if "conv" in layer.name)
    largest = max(model.layers, key=lambda layer: layer.count_params())
    return "\n".join(
        [
            "| # | Layer | Settings | Output shape | Parameters: working | Parameters |",
            "|---:|:---|:---|:---|:---|---:|",
            *rows,
            f"| | **Total** | | | | **{total:,}** |",
            "",
            f"The two convolutions have {convolutions:,} parameters together, "
            f"{convolutions / total:.1%} of the model. The largest layer is "
            f"`{type(largest).__name__}({largest.units})` with {largest.count_params():,}: "
            "it connects every flattened feature to every unit.",
        ]
    )


def _worked_layer(layer, shape: tuple, layers) -> tuple[tuple, str, int]:
    """The layer's output shape and parameter count, worked from the formulas."""
    if isinstance(layer, layers.Conv2D | layers.MaxPooling2D):
        kernel = layer.kernel_size if isinstance(layer, layers.Conv2D) else layer.pool_size
        stride = layer.strides
        height, width = (
            _axis(shape[axis], kernel[axis], stride[axis], layer.padding) for axis in (0, 1)
        )
        if isinstance(layer, layers.MaxPooling2D):
            return (height, width, shape[2]), "no weights", 0
        count = conv_parameters(kernel, shape[2], layer.filters)
        working = f"({kernel[0]}·{kernel[1]}·{shape[2]} + 1)·{layer.filters}"
        return (height, width, layer.filters), working, count
    if isinstance(layer, layers.Flatten):
        return (int(np.prod(shape)),), f"{' · '.join(map(str, shape))}: no weights", 0
    if isinstance(layer, layers.Dense):
        count = dense_parameters(shape[0], layer.units)
        return (layer.units,), f"{shape[0]}·{layer.units} + {layer.units}", count
    raise SiteContentError(f"LeNet5 table: no formula for layer type {type(layer).__name__}")


def _axis(size: int, kernel: int, stride: int, padding: str) -> int:
    if padding == "same":  # P chosen so that the output is ⌈W / S⌉
        return -(-size // stride)
    return conv_output_size(size, kernel, stride, 0)


def _settings(layer, layers) -> str:
    if isinstance(layer, layers.Conv2D):
        k = layer.kernel_size
        activation = layer.activation.__name__
        return (
            f'{layer.filters} filters, {k[0]} × {k[1]}, `padding="{layer.padding}"`, {activation}'
        )
    if isinstance(layer, layers.MaxPooling2D):
        return f"{layer.pool_size[0]} × {layer.pool_size[1]}, stride {layer.strides[0]}"
    if isinstance(layer, layers.Dense):
        return f"{layer.units} units, {layer.activation.__name__}"
    return ""


def _shape(shape: tuple) -> str:
    return " × ".join(str(size) for size in shape)


# -- Theory: activations ---------------------------------------------------------------------


def activations(figures: Path) -> str:
    """ReLU and Leaky ReLU and their derivatives, computed by TensorFlow's autodiff."""
    import keras
    import matplotlib.pyplot as plt
    import tensorflow as tf

    slope = DEFAULTS.leaky_relu_slope
    x = tf.constant(np.linspace(-4.0, 4.0, 801), dtype="float32")
    points = tf.constant([-2.0, 0.0, 2.0])
    curves, at_points = {}, {}
    for name, function in {
        "ReLU": keras.activations.relu,
        f"Leaky ReLU (slope {slope:g})": lambda v: keras.activations.leaky_relu(v, slope),
    }.items():
        curves[name] = _value_and_gradient(function, x, tf)
        at_points[name] = _value_and_gradient(function, points, tf)

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained")
    for (name, (value, gradient)), style in zip(curves.items(), ("-", "--"), strict=True):
        left.plot(x.numpy(), value, style, label=name)
        right.plot(x.numpy(), gradient, style, label=name)
    for ax, title in ((left, "f(x)"), (right, "f′(x), by automatic differentiation")):
        ax.axhline(0, color="grey", linewidth=0.6)
        ax.axvline(0, color="grey", linewidth=0.6)
        ax.set_title(title)
        ax.set_xlabel("x")
        ax.legend()
    fig.savefig(figures / "activations.svg")
    plt.close(fig)

    rows = [
        f"| {name} | {_numbers(value)} | {_numbers(gradient)} |"
        for name, (value, gradient) in at_points.items()
    ]
    return "\n".join(
        [
            f"```{{figure}} {THEORY_FIGURES}/activations.svg",
            ":alt: ReLU and Leaky ReLU (left) and their derivatives (right)",
            "",
            "ReLU and Leaky ReLU (left) and their derivatives (right), computed with Keras "
            "and TensorFlow's automatic differentiation when this site was built.",
            "```",
            "",
            "| Function | f(−2), f(0), f(2) | f′(−2), f′(0), f′(2) as TensorFlow computes them |",
            "|:---|:---|:---|",
            *rows,
        ]
    )


def _value_and_gradient(function, x, tf) -> tuple[np.ndarray, np.ndarray]:
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = function(x)
    return y.numpy(), tape.gradient(y, x).numpy()


def _numbers(values: np.ndarray) -> str:
    return ", ".join(f"{value:g}" for value in np.round(values, 4))


# -- Theory: overfitting and regularisation -----------------------------------------------------


def overfitting(figures: Path) -> str:
    """A small dense network on 1,000 MNIST images, with and without dropout: real curves."""
    import keras
    import matplotlib.pyplot as plt

    mnist = load_raw("mnist")
    x = mnist["X_train"][:3000].reshape(-1, 784).astype("float32") / 255.0
    y = mnist["y_train"][:3000]
    train, held, epochs = slice(0, 1000), slice(1000, 3000), 40
    # Two independent networks in one model: they share only the input, so each learns as if
    # trained alone (Adam works per weight), and one training loop yields both curves.
    keras.utils.set_random_seed(SEED)
    inputs = keras.Input((784,))
    outputs = {}
    for name, rate in (("without_dropout", 0.0), ("with_dropout", 0.5)):
        hidden = keras.layers.Dense(256, activation="relu")(inputs)
        hidden = keras.layers.Dropout(rate)(hidden)
        outputs[name] = keras.layers.Dense(10, activation="softmax", name=name)(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer="adam", loss={name: "sparse_categorical_crossentropy" for name in outputs}
    )
    # train_on_batch/test_on_batch: the same updates as fit(), without its per-epoch overhead.
    rng = np.random.default_rng(SEED)
    x_train, y_train = x[train], y[train]
    histories = {name: {"loss": [], "val_loss": []} for name in outputs}
    for _ in range(epochs):
        order = rng.permutation(len(x_train))
        for start in range(0, len(order), 100):
            batch = order[start : start + 100]
            model.train_on_batch(x_train[batch], {name: y_train[batch] for name in outputs})
        evaluated = {"loss": (x_train, y_train), "val_loss": (x[held], y[held])}
        for key, (images, labels) in evaluated.items():
            result = model.test_on_batch(
                images, {name: labels for name in outputs}, return_dict=True
            )
            for name in outputs:
                histories[name][key].append(float(result[f"{name}_loss"]))
    histories = {0.0: histories["without_dropout"], 0.5: histories["with_dropout"]}

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True, layout="constrained")
    for ax, (rate, history) in zip(axes, histories.items(), strict=True):
        numbers = np.arange(1, len(history["loss"]) + 1)
        ax.plot(numbers, history["loss"], label="training loss")
        ax.plot(numbers, history["val_loss"], label="validation loss")
        best = int(np.argmin(history["val_loss"]))
        ax.axvline(best + 1, color="grey", linestyle=":", label=f"best epoch ({best + 1})")
        ax.set_title("no dropout" if rate == 0 else f"Dropout({rate:g})")
        ax.set_xlabel("epoch")
        ax.legend()
    axes[0].set_ylabel("cross-entropy")
    fig.savefig(figures / "overfitting.svg")
    plt.close(fig)

    rows = []
    for rate, history in histories.items():
        best = int(np.argmin(history["val_loss"]))
        rows.append(
            f"| {'none' if rate == 0 else f'Dropout({rate:g})'} | {best + 1} | "
            f"{history['val_loss'][best]:.3f} | {history['loss'][-1]:.3f} | "
            f"{history['val_loss'][-1]:.3f} |"
        )
    return "\n".join(
        [
            f"```{{figure}} {THEORY_FIGURES}/overfitting.svg",
            ":alt: Training and validation loss of a dense network, without and with dropout",
            "",
            f"A dense network (784 → 256 → 10) trained for {epochs} epochs on only "
            f"{len(y[train]):,} MNIST images and validated on {len(y[held]):,} others, "
            "without and with dropout; trained when this site was built.",
            "```",
            "",
            "| Regulariser | Best epoch | Best validation loss | Final training loss "
            "| Final validation loss |",
            "|:---|---:|---:|---:|---:|",
            *rows,
        ]
    )


def regularisers() -> str:
    """What Dropout, BatchNormalization and EarlyStopping actually do, run on real Keras layers."""
    import keras

    rng = np.random.default_rng(SEED)
    ones = np.ones((1, 10_000), dtype="float32")
    dropped = keras.layers.Dropout(0.5, seed=SEED)(ones, training=True).numpy()
    inference = keras.layers.Dropout(0.5)(ones, training=False).numpy()
    kept = dropped[dropped != 0]

    batch = rng.normal(5.0, 3.0, size=(256, 4)).astype("float32")
    norm = keras.layers.BatchNormalization()
    trained = norm(batch, training=True).numpy()
    served = norm(batch, training=False).numpy()

    losses = [0.62, 0.44, 0.37, 0.34, 0.35, 0.33, 0.36, 0.38, 0.41, 0.45, 0.49, 0.52]
    stopped, best = _early_stopping(losses, patience=3)
    return "\n".join(
        [
            "| Layer | Experiment (run when this site was built) | Result |",
            "|:---|:---|:---|",
            f"| `Dropout(0.5)`, training | 10,000 inputs equal to 1 | {np.mean(dropped == 0):.1%} "
            f"set to 0, the rest scaled to {kept.min():g}; mean {dropped.mean():.3f} |",
            f"| `Dropout(0.5)`, inference | the same inputs | unchanged: mean "
            f"{inference.mean():g}, {np.mean(inference == 0):.0%} zeros |",
            f"| `BatchNormalization`, training | a batch of 256 with mean {batch.mean():.2f}, "
            f"standard deviation {batch.std():.2f} | mean {trained.mean():.3f}, "
            f"standard deviation {trained.std():.3f} |",
            f"| `BatchNormalization`, inference after one step | the same batch | mean "
            f"{served.mean():.2f}, standard deviation {served.std():.2f}: the moving averages "
            "(momentum 0.99) have barely moved yet |",
            f"| `EarlyStopping(patience=3, restore_best_weights=True)` | validation losses "
            f"{', '.join(f'{v:.2f}' for v in losses)} | stops after epoch {stopped}, "
            f"restores the weights of epoch {best} |",
        ]
    )


def _early_stopping(losses: list[float], patience: int) -> tuple[int, int]:
    """Feed ``losses`` to Keras's real EarlyStopping; return (last epoch run, restored epoch)."""
    import keras

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    callback = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=patience, restore_best_weights=True
    )
    callback.set_model(model)
    model.stop_training = False  # what fit() sets before the first epoch
    callback.on_train_begin()
    for epoch, loss in enumerate(losses):
        model.layers[0].kernel.assign([[float(epoch)]])  # the weights remember their epoch
        callback.on_epoch_end(epoch, {"val_loss": loss})
        if model.stop_training:
            break
    callback.on_train_end()
    return epoch + 1, int(model.layers[0].kernel.numpy()[0, 0]) + 1


# -- Theory: F1 ------------------------------------------------------------------------------


def batch_f1_numbers() -> str:
    """Batch-wise F1 against the true macro F1 on the same predictions, at three confidences."""
    import keras
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
    accuracy = float(np.mean(predicted == labels))
    true_f1 = f1_score(labels, predicted, average="macro")

    rows = []
    for temperature, confidence in ((0.5, "confident"), (1.0, "moderate"), (2.0, "unsure")):
        probabilities = _softmax(logits / temperature).astype("float32")
        if not np.array_equal(probabilities.argmax(axis=1), predicted):
            raise SiteContentError("batch F1 demo: the temperature changed the predictions")
        streaming = MacroF1Score(10)
        streaming.update_state(one_hot, probabilities)
        if abs(float(streaming.result()) - true_f1) > 1e-5:
            raise SiteContentError(
                f"MacroF1Score gives {float(streaming.result()):.6f}, scikit-learn {true_f1:.6f}"
            )
        below_half = np.mean(probabilities.max(axis=1) < 0.5)
        cells = []
        for batch_size in (32, 256, len(labels)):
            mean = keras.metrics.MeanMetricWrapper(batch_f1)  # what fit() and evaluate() report
            for start in range(0, len(labels), batch_size):
                end = start + batch_size
                mean.update_state(one_hot[start:end], probabilities[start:end])
            cells.append(f"{float(mean.result()):.4f}")
        rows.append(
            f"| {confidence} (T = {temperature:g}) | {below_half:.1%} | {accuracy:.4f} | "
            f"{true_f1:.4f} | {float(streaming.result()):.4f} | {' | '.join(cells)} |"
        )
    return "\n".join(
        [
            "| Softmax | Top probability below 0.5 | Accuracy | Macro F1 (scikit-learn) "
            "| `MacroF1Score` | `batch_f1`, batch 32 | batch 256 | one batch of 10,000 |",
            "|:---|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
        ]
    )


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


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
            f"{_shape(images.shape[1:])}, {images.dtype} | {images.mean():.1f} | "
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
        f" Each team may upload a limited number of times per day (UTC), {DEFAULT_DAILY_LIMIT} "
        "unless the course sets another limit; the leaderboard page states the limit in force. "
        "Uploads over the limit are recorded but not scored."
    )


# -- API reference ---------------------------------------------------------------------------

_MODULE_TITLES = {
    "loaders": "Loading the data",
    "metrics": "Metrics",
    "plots": "Plots",
    "submission": "The leaderboard submission",
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
