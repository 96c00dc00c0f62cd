"""Checks behind the assignment's tests.

The test cells in the notebooks call these functions, and students can call
them too. Each check raises ``AssertionError`` with a message that says what
was expected and what was found; it returns ``None`` when all is well.

The checks are strict on purpose, so that a test cannot pass by accident:
arrays must be real ``numpy.ndarray`` objects, models must be plain Keras
``Sequential`` or functional models, and every number is recomputed from the
object itself (weights, outputs) rather than taken from what it reports.
Nothing here compares a student's object with ``==``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import keras
import numpy as np
from keras.src.models.functional import Functional  # what keras.Model(inputs, outputs) returns
from sklearn.metrics import f1_score

from utilities._labels import NUM_CLASSES
from utilities.submission import validate_submission

# Parameter-free layers that only apply an activation: the layer tables skip
# them, so Conv2D(activation="relu") and Conv2D + ReLU() read the same.
_ACTIVATION_LAYERS = ("Activation", "ReLU", "LeakyReLU", "Softmax", "ELU", "PReLU")
_ACCURACY_NAMES = ("accuracy", "acc", "categorical_accuracy")

LayerRow = tuple[str, tuple, int]
_FIELDS = ("type", "output shape", "parameters")


def fail(message: str) -> None:
    """Raise the ``AssertionError`` every check uses."""
    raise AssertionError(message)


def check_images(images, name: str, count: int, shape: tuple = (28, 28, 1), raw=None) -> None:
    """``images`` is a float32 array of ``count`` images of ``shape`` scaled to [0, 1].

    With ``raw`` (the uint8 images it was made from), also check that every
    pixel is exactly ``raw / 255``.
    """
    _check_ndarray(images, name)
    if images.dtype != np.float32:
        fail(f"{name} should have dtype float32, found {images.dtype}")
    expected = (count, *shape)
    if images.shape != expected:
        fail(f"{name} should have shape {expected}, found {images.shape}")
    if not np.isfinite(images).all():
        fail(f"{name} contains NaN or infinite values")
    low, high = float(images.min()), float(images.max())
    if low < 0.0 or high > 1.0:
        fail(f"{name} should be scaled to [0, 1], found values from {low:g} to {high:g}")
    if raw is not None:
        wanted = np.asarray(raw, dtype=np.float32).reshape(expected) / np.float32(255)
        worst = float(np.abs(images - wanted).max())
        if worst > 1e-6:
            fail(f"{name} should be the raw pixels divided by 255; off by up to {worst:g}")


def check_one_hot(encoded, name: str, labels=None, num_classes: int = NUM_CLASSES) -> None:
    """``encoded`` holds one-hot float rows; with ``labels``, exactly their encoding."""
    _check_ndarray(encoded, name)
    if encoded.dtype.kind != "f":
        fail(f"{name} should hold floats (one-hot rows), found dtype {encoded.dtype}")
    if encoded.ndim != 2 or encoded.shape[1] != num_classes:
        fail(f"{name} should have shape (N, {num_classes}), found {encoded.shape}")
    values = encoded.astype(np.float64)
    if not (np.isin(values, (0.0, 1.0)).all() and (values.sum(axis=1) == 1).all()):
        fail(f"{name} should have exactly one 1 in each row and 0 elsewhere")
    if labels is None:
        return
    labels = np.asarray(labels).reshape(-1)
    if len(encoded) != len(labels):
        fail(f"{name} has {len(encoded)} rows for {len(labels)} labels")
    wrong = np.flatnonzero(values.argmax(axis=1) != labels)
    if wrong.size:
        row = int(wrong[0])
        fail(
            f"{name} is not the one-hot encoding of the labels: {wrong.size} rows differ, "
            f"first row {row} encodes {int(values[row].argmax())} for label {int(labels[row])}"
        )


def activations(model) -> list[tuple[str, str]]:
    """(layer type, activation applied to its output) for every Conv2D and Dense layer.

    An activation given as ``activation=`` and one in a separate layer right
    after it (``ReLU()``, ``Activation("relu")``) read the same.
    """
    check_model(model)
    found = []
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    for index, layer in enumerate(layers):
        kind = type(layer).__name__
        if kind not in ("Conv2D", "Dense"):
            continue
        name = getattr(layer.activation, "__name__", "linear")
        following = layers[index + 1] if index + 1 < len(layers) else None
        if name == "linear" and following is not None:
            name = _activation_layer_name(following) or name
        found.append((kind, name))
    return found


def check_activations(model, expected: Sequence[tuple[str, str]]) -> None:
    """Conv2D and Dense layers use the expected activations, in order."""
    found = activations(model)
    if len(found) != len(expected) or any(
        type(got) is not tuple or got != want for got, want in zip(found, expected, strict=False)
    ):
        fail(f"the activations should be {list(expected)}, found {found}")


def layer_table(model) -> list[LayerRow]:
    """(layer type, output shape, trainable parameters) for each layer that does work.

    The input layer and parameter-free activation layers are left out.
    Parameters are counted from the weight arrays themselves.
    """
    check_model(model)
    rows = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "InputLayer" or (kind in _ACTIVATION_LAYERS and not layer.weights):
            continue
        shape = tuple(None if size is None else int(size) for size in layer.output.shape)
        rows.append((kind, shape, _parameters(layer.trainable_weights)))
    return rows


def check_model(model, name: str = "the model") -> None:
    """``model`` is a built ``keras.Sequential`` or functional ``keras.Model``."""
    if type(model) not in (keras.Sequential, Functional):
        fail(
            f"{name} should be a keras.Sequential or keras.Model(inputs, outputs), "
            f"found {type(model).__name__}"
        )
    if not model.built or not model.inputs:
        fail(f"{name} has no input: start it with keras.Input(shape=(28, 28, 1))")


def check_layers(model, expected: Sequence[LayerRow]) -> None:
    """Every layer has the expected type, output shape and parameter count, in order."""
    found = layer_table(model)
    problems = []
    for index, (want, got) in enumerate(zip(expected, found, strict=False), start=1):
        for field, wanted, actual in zip(_FIELDS, want, got, strict=True):
            if type(actual) is not type(wanted) or actual != wanted:
                problems.append(f"layer {index} ({got[0]}): {field} {actual}, expected {wanted}")
    if len(found) != len(expected):
        problems.append(
            f"{len(found)} layers (not counting the input and activation layers), "
            f"expected {len(expected)}: found {[row[0] for row in found]}"
        )
    if problems:
        fail("the layers do not match the specification:\n  " + "\n  ".join(problems))


def check_parameter_count(model, expected: int) -> None:
    """The model has exactly ``expected`` trainable parameters."""
    check_model(model)
    found = _parameters(model.trainable_weights)
    if found != expected:
        fail(f"the model has {found:,} trainable parameters, expected {expected:,}")


def check_parameter_budget(model, budget: int) -> None:
    """The model has at most ``budget`` parameters, trainable or not."""
    check_model(model)
    found = _parameters(model.weights)
    if found > budget:
        fail(f"the model has {found:,} parameters, more than the budget of {budget:,}")


def check_classifier(model, input_shape: tuple = (28, 28, 1), classes: int = NUM_CLASSES) -> None:
    """The model maps a batch of images to one softmax row of ``classes`` per image."""
    check_model(model)
    declared = tuple(None if size is None else int(size) for size in model.inputs[0].shape)
    if declared != (None, *input_shape):
        fail(f"the model's input shape is {declared}, expected {(None, *input_shape)}")
    batch = np.random.default_rng(0).random((5, *input_shape), dtype=np.float32)
    probabilities = _numpy(model(batch, training=False), "the model's output")
    if probabilities.shape != (5, classes):
        fail(f"for 5 images the model returned {probabilities.shape}, expected (5, {classes})")
    if not np.isfinite(probabilities).all() or probabilities.min() < 0:
        fail("the model's outputs should be probabilities (finite and not negative)")
    worst = float(np.abs(probabilities.sum(axis=1) - 1).max())
    if worst > 1e-4:
        fail(f"each output row should sum to 1 (softmax), but one is off by {worst:.3g}")


def check_compiled(model, f1_function: Callable) -> None:
    """Compiled with categorical cross-entropy, Adam, accuracy and ``f1_function``."""
    check_model(model)
    config = getattr(getattr(model, "_compile_config", None), "config", None)
    if type(config) is not dict:
        fail("the model is not compiled: call model.compile(...) first")
    loss = config["loss"]
    if not (
        (type(loss) is str and loss == "categorical_crossentropy")
        or type(loss) is keras.losses.CategoricalCrossentropy
        or loss is keras.losses.categorical_crossentropy
    ):
        fail(f"the loss should be CategoricalCrossentropy, found {_describe(loss)}")
    optimizer = model.optimizer
    if type(optimizer) is not keras.optimizers.Adam:
        fail(f"the optimizer should be Adam, found {_describe(optimizer)}")
    metrics = config["metrics"]
    if type(metrics) not in (list, tuple):
        fail(f"metrics should be a list, found {_describe(metrics)}")
    names = [_describe(metric) for metric in metrics]
    if not any(_is_accuracy(metric) for metric in metrics):
        fail(f"the metrics should include accuracy, found {names}")
    if not any(metric is f1_function for metric in metrics):
        fail(f"the metrics should include your F1 function, found {names}")


def check_f1_function(function: Callable, cases: Sequence[tuple], tolerance: float = 1e-5) -> None:
    """``function(y_true, y_pred)`` gives sklearn's macro F1 on every case.

    Each case is ``(y_true, y_pred)`` with ``y_pred`` a (N, C) array of
    probabilities and ``y_true`` one-hot (N, C) or class indices (N,) or
    (N, 1). The expected value is ``sklearn.metrics.f1_score(average="macro")``
    on the class indices, which averages over the classes that occur in
    ``y_true`` or in the predictions.
    """
    for number, (y_true, y_pred) in enumerate(cases, start=1):
        y_true = np.asarray(y_true)
        y_pred = np.asarray(y_pred, dtype=np.float32)
        if y_true.ndim == 2 and y_true.shape[1] == y_pred.shape[1]:
            actual = y_true.argmax(axis=1)
            y_true = y_true.astype(np.float32)
        else:
            actual = y_true.reshape(-1)
        expected = f1_score(actual, y_pred.argmax(axis=1), average="macro")
        tensors = (keras.ops.convert_to_tensor(y_true), keras.ops.convert_to_tensor(y_pred))
        value = _numpy(function(*tensors), "your F1 function's result")
        if value.size != 1:
            fail(f"case {number}: the F1 should be one number, got shape {value.shape}")
        value = float(value.reshape(()))
        if not math.isclose(value, expected, abs_tol=tolerance):
            kind = "one-hot" if y_true.ndim == 2 and y_true.shape[1] > 1 else "class-index"
            fail(
                f"case {number} ({len(actual)} samples, {kind} y_true): your F1 is {value:.6f}, "
                f"sklearn's macro F1 is {expected:.6f}"
            )


def check_submission(path: str | Path, rows: int, classes: int = NUM_CLASSES) -> None:
    """``path`` is a valid leaderboard submission with ``rows`` predictions."""
    validate_submission(path, n_rows=rows, num_classes=classes)


def _check_ndarray(value, name: str) -> None:
    if type(value) is not np.ndarray:
        fail(f"{name} should be a numpy array, found {type(value).__name__}")


def _numpy(value, name: str) -> np.ndarray:
    try:
        array = np.asarray(keras.ops.convert_to_numpy(value))
    except Exception as error:
        raise AssertionError(f"{name} is not a tensor or array: {error}") from None
    if type(array) is not np.ndarray or array.dtype.kind not in "fiu":
        fail(f"{name} should be numbers, found {type(value).__name__}")
    return array.astype(np.float64)


def _parameters(weights) -> int:
    return sum(int(np.asarray(keras.ops.convert_to_numpy(weight)).size) for weight in weights)


def _is_accuracy(metric) -> bool:
    if type(metric) is str:
        return metric in _ACCURACY_NAMES
    accuracy_types = (keras.metrics.Accuracy, keras.metrics.CategoricalAccuracy)
    return type(metric) in accuracy_types or metric is keras.metrics.categorical_accuracy


def _activation_layer_name(layer) -> str | None:
    kind = type(layer).__name__
    if kind == "ReLU":
        return "relu"
    if kind == "Softmax":
        return "softmax"
    if kind == "Activation":
        return getattr(layer.activation, "__name__", None)
    return None


def _describe(value) -> str:
    if type(value) is str:
        return repr(value)
    return getattr(value, "__name__", None) or type(value).__name__
