"""Checks behind the assignment's tests.

The test cells in the notebooks call these functions, and students can call
them too. Each check raises ``AssertionError`` with a message that says what
was expected and what was found; it returns ``None`` when all is well.

The checks are strict on purpose, so that a test cannot pass by accident:
arrays must be real ``numpy.ndarray`` objects, a model checked layer by layer
(LeNet5) must be a plain Keras ``Sequential`` or functional model, and every
number is recomputed from the object itself (weights, outputs) rather than
taken from what it reports. Nothing here compares a student's object with
``==``.

They check behaviour, not spelling: a model is any Keras model that maps
images to probabilities (Sequential, functional, subclassed, with nested
blocks), activations may be arguments or layers of their own, and the loss,
the accuracy metric and the F1 function are run on known inputs, the F1 also
the way ``model.fit`` runs it (in Keras's compiled graph, batch by batch).
When a result is wrong, the message names the likely cause.
"""

from __future__ import annotations

import functools
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
# Layers that an elementwise activation passes through unchanged: f(pool(x)) ==
# pool(f(x)) for an increasing f, and flattening or dropout (at inference) move
# values without changing them. Conv2D -> MaxPooling2D -> ReLU is Conv2D(relu) -> pool.
_POOLING_LAYERS = ("MaxPooling2D", "MaxPooling1D", "MaxPooling3D")
_REARRANGING_LAYERS = ("Flatten", "Reshape", "Dropout", "SpatialDropout2D")
_INCREASING = ("relu", "leaky_relu", "elu", "selu", "sigmoid", "tanh", "relu6", "softplus")
_CONVOLUTIONS = ("Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Conv1D", "Conv3D")

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

    An activation given as ``activation=`` and one in a separate layer after
    it (``ReLU()``, ``Activation("relu")``) read the same, also when a layer
    that the activation commutes with sits between them (Conv2D, MaxPooling2D,
    ReLU computes the same function as Conv2D(relu), MaxPooling2D). Blocks
    nested in the model (a Sequential inside a Sequential) are read layer by
    layer.
    """
    check_model(model)
    found = []
    layers = _flat_layers(model)
    for index, layer in enumerate(layers):
        kind = type(layer).__name__
        if kind not in ("Conv2D", "Dense"):
            continue
        name = getattr(layer.activation, "__name__", "linear")
        if name == "linear":
            name = _activation_after(layers[index + 1 :]) or name
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

    The input layer and parameter-free activation layers are left out, and
    blocks nested in the model are read layer by layer. Parameters are counted
    from the weight arrays themselves.
    """
    check_model(model)
    rows = []
    for layer in _flat_layers(model):
        kind = type(layer).__name__
        if kind in _ACTIVATION_LAYERS and not layer.weights:
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


def check_parameter_budget(model, budget: int, input_shape: tuple = (28, 28, 1)) -> None:
    """The model has at most ``budget`` parameters, trainable or not.

    Any Keras model counts, subclassed ones included: a model that has not
    made its weights yet is first called on a batch of ``input_shape`` images.
    """
    _built(model, input_shape)
    found = _parameters(keras.layers.Layer.weights.fget(model))
    if found > budget:
        fail(f"the model has {found:,} parameters, more than the budget of {budget:,}")


def check_classifier(model, input_shape: tuple = (28, 28, 1), classes: int = NUM_CLASSES) -> None:
    """The model maps a batch of images to one softmax row of ``classes`` per image.

    Any Keras model counts (Sequential, functional or subclassed). A model
    that declares its input (``keras.Input``) must declare ``input_shape``.
    """
    _built(model, input_shape)
    declared = _declared_input(model)
    if declared is not None and declared[1:] != input_shape:
        fail(f"the model's input shape is {declared}, expected {(None, *input_shape)}")
    batch = np.random.default_rng(0).random((5, *input_shape), dtype=np.float32)
    probabilities = _numpy(_call(model, batch), "the model's output")
    if probabilities.shape != (5, classes):
        fail(f"for 5 images the model returned {probabilities.shape}, expected (5, {classes})")
    if not np.isfinite(probabilities).all() or probabilities.min() < 0:
        fail(
            "the model's outputs should be probabilities (finite and not negative); "
            "does the last layer lack activation='softmax' (logits instead of softmax)?"
        )
    worst = float(np.abs(probabilities.sum(axis=1) - 1).max())
    if worst > 1e-4:
        fail(
            f"each output row should sum to 1 (softmax), but one is off by {worst:.3g}: "
            "does the last layer lack activation='softmax' (logits instead of softmax)?"
        )


def convolution_layers(model, input_shape: tuple = (28, 28, 1)) -> list[str]:
    """The types of the convolution layers that the model uses, however they are nested.

    The model is called on a batch of ``input_shape`` images first; a layer
    that the model holds but never calls does not count.
    """
    _built(model, input_shape)
    _call(model, np.zeros((1, *input_shape), dtype=np.float32))
    layers = keras.layers.Layer._flatten_layers(model, include_self=False, recursive=True)
    return [
        type(layer).__name__
        for layer in layers
        if type(layer).__name__ in _CONVOLUTIONS and layer.built
    ]


def check_compiled(model, f1_function: Callable) -> None:
    """Compiled with categorical cross-entropy, Adam, accuracy and ``f1_function``.

    The loss and the accuracy are recognised by what they compute, run as
    ``model.fit`` runs them, so every spelling Keras accepts passes
    (``"categorical_crossentropy"``, ``"CategoricalCrossentropy"``, the class,
    the function; ``"accuracy"``, ``"acc"``, ``CategoricalAccuracy()``).
    """
    _check_keras_model(model)
    config = getattr(getattr(model, "_compile_config", None), "config", None)
    if type(config) is not dict:
        fail("the model is not compiled: call model.compile(...) first")
    metrics = config["metrics"]
    if type(metrics) not in (list, tuple):
        fail(f"metrics should be a list, found {_describe(metrics)}")
    others = [metric for metric in metrics if metric is not f1_function]
    logged = _run_loss_and_metrics(config["loss"], others)
    optimizer = model.optimizer
    if type(optimizer) not in (keras.optimizers.Adam, _backend_adam()):
        fail(f"the optimizer should be Adam, found {_describe(optimizer)}")
    names = [_describe(metric) for metric in metrics]
    if not any(metric is f1_function for metric in metrics):
        fail(f"the metrics should include your F1 function, found {names}")
    if not others or not _computes_accuracy(others, logged):
        fail(f"the metrics should include accuracy, found {names}")


def check_training_history(history, model, f1_function: Callable, name: str = "history") -> None:
    """``history`` is what ``model.fit`` returned, with finite losses and metrics.

    It must log the loss, the F1 function (under its name) and at least one
    other metric (the accuracy, under whatever name Keras gave it), each for
    the training and the validation images.
    """
    if type(history) is not keras.callbacks.History or history.model is not model:
        fail(f"{name} should be what model.fit(...) returned for this model")
    logged = history.history
    if type(logged) is not dict:
        fail(f"{name}.history should be the dict that fit wrote")
    f1_name = getattr(f1_function, "__name__", "")
    others = [key for key in logged if key not in ("loss", f1_name) and not key.startswith("val_")]
    if not others:
        fail(f"{name} logs no accuracy: compile with accuracy and {f1_name or 'your F1'}")
    for key in ("loss", f1_name, others[0]):
        for logged_key in (key, f"val_{key}"):
            if logged_key not in logged:
                fail(
                    f"the history has no {logged_key!r}: compile with accuracy and "
                    f"{f1_name or 'your F1'}, and validate on the validation images"
                )
            values = np.asarray(logged[logged_key], dtype=float)
            if values.size < 1 or not np.isfinite(values).all():
                fail(
                    f"the training history's {logged_key!r} should be finite numbers, "
                    f"found {logged[logged_key]}"
                )


def check_f1_function(function: Callable, cases: Sequence[tuple], tolerance: float = 1e-5) -> None:
    """``function(y_true, y_pred)`` gives sklearn's macro F1 on every case, also inside fit.

    Each case is ``(y_true, y_pred)`` with ``y_pred`` a (N, C) array of
    probabilities and ``y_true`` one-hot (N, C) or class indices (N,) or
    (N, 1). The expected value is ``sklearn.metrics.f1_score(average="macro")``
    on the class indices, which averages over the classes that occur in
    ``y_true`` or in the predictions.

    Every case is first run on tensors directly. Then the largest one-hot
    case and the largest class-index case run the way ``model.fit`` runs a
    metric: compiled into Keras's graph, on batches whose size is unknown
    while the graph is built, and averaged over the batches.
    """
    prepared = []
    for number, (y_true, y_pred) in enumerate(cases, start=1):
        y_true = np.asarray(y_true)
        y_pred = np.asarray(y_pred, dtype=np.float32)
        if y_true.ndim == 2 and y_true.shape[1] == y_pred.shape[1]:
            actual = y_true.argmax(axis=1)
            y_true = y_true.astype(np.float32)
            kind = "one-hot"
        else:
            actual = y_true.reshape(-1)
            kind = "class-index (N, 1)" if y_true.ndim == 2 else "class-index (N,)"
        expected = f1_score(actual, y_pred.argmax(axis=1), average="macro")
        where = f"case {number} ({len(actual)} samples, {kind} y_true)"
        tensors = (keras.ops.convert_to_tensor(y_true), keras.ops.convert_to_tensor(y_pred))
        try:
            result = function(*tensors)
        except NotImplementedError:
            raise  # the released stub: the error a student expects, as it is
        except Exception as error:
            hint = ""
            if kind != "one-hot":
                hint = " (y_true holds class indices here, not one-hot rows: handle both)"
            fail(f"{where}: your F1 function raised {type(error).__name__}: {error}{hint}")
        value = _numpy(result, "your F1 function's result")
        if value.size != 1:
            fail(f"{where}: the F1 should be one number, got shape {value.shape}")
        value = float(value.reshape(()))
        if not math.isclose(value, expected, abs_tol=tolerance):
            cause = _f1_mistake(actual, y_pred, value, tolerance)
            fail(
                f"{where}: your F1 is {value:.6f}, sklearn's macro F1 is {expected:.6f}"
                + (f"; the likely cause: {cause}" if cause else "")
            )
        prepared.append((kind, y_true, y_pred, actual))
    largest: dict[bool, tuple] = {}
    for case in prepared:
        one_hot = case[0] == "one-hot"
        if one_hot not in largest or len(case[3]) > len(largest[one_hot][3]):
            largest[one_hot] = case
    for kind, y_true, y_pred, actual in largest.values():
        _check_f1_in_fit(function, kind, y_true, y_pred, actual, tolerance)


def check_submission(path: str | Path, rows: int, classes: int = NUM_CLASSES) -> None:
    """``path`` is a valid leaderboard submission with ``rows`` predictions."""
    validate_submission(path, n_rows=rows, num_classes=classes)


#: How many standard errors above chance a submission must agree with the model's own
#: predictions. Rows in another order, or predictions for other images, agree about as often
#: as chance (within a standard error or two); test-time augmentation or an ensemble built on
#: the model agrees far more, even when a model trained in fast mode answers mostly one class.
ALIGNMENT_STANDARD_ERRORS = 4.0
#: How many rows, evenly spread over the file, are compared.
AGREEMENT_SAMPLE_ROWS = 2_000


def check_predictions_line_up(path: str | Path, model, images, classes: int = NUM_CLASSES) -> None:
    """The rows of submission ``path`` are predictions for ``images``, in their order.

    Compares the file with ``model``'s own predictions for ``images`` on
    :data:`AGREEMENT_SAMPLE_ROWS` rows spread over the file. Rows that have
    nothing to do with the images agree as often as chance does (the sum over
    the classes of how often each side answers it); the file must agree more
    often by at least :data:`ALIGNMENT_STANDARD_ERRORS` standard errors. So
    test-time augmentation or an ensemble built on the model passes, while
    shuffled rows or predictions for other images do not.
    """
    submitted = validate_submission(path, n_rows=len(images), num_classes=classes)
    rows = np.unique(np.linspace(0, len(images) - 1, AGREEMENT_SAMPLE_ROWS).astype(int))
    predicted = np.asarray(model.predict(images[rows], batch_size=1024, verbose=0)).argmax(axis=1)
    submitted = submitted[rows]
    if len(np.unique(predicted)) == 1:
        return  # the model answers one class for everything: agreement cannot tell anything
    agreement = float(np.mean(submitted == predicted))
    counts = np.bincount(predicted, minlength=classes), np.bincount(submitted, minlength=classes)
    chance = float(np.sum(counts[0] * counts[1])) / len(rows) ** 2
    standard_error = math.sqrt(chance * (1 - chance) / len(rows))
    if agreement < chance + ALIGNMENT_STANDARD_ERRORS * standard_error:
        fail(
            f"the rows of {Path(path).name} do not line up with the model's predictions for "
            f"the test images: {agreement:.1%} agree, about what chance gives ({chance:.1%} "
            "for rows that have nothing to do with the images). Predict the test images in "
            "their original order, not shuffled and not the validation images"
        )


def _check_ndarray(value, name: str) -> None:
    if type(value) is not np.ndarray:
        hint = ""
        if keras.ops.is_tensor(value):
            hint = " (a tensor, as keras.ops returns: convert it with ops.convert_to_numpy)"
        fail(f"{name} should be a numpy array, found {type(value).__name__}{hint}")


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


# What a subclass of keras.Model may define; redefining any other method of Keras's
# (count_params, __eq__, weights, ...) would let a model report what it is not.
_SUBCLASS_MAY_DEFINE = {
    "__init__",
    "build",
    "build_from_config",
    "call",
    "compute_loss",
    "compute_output_shape",
    "compute_output_spec",
    "from_config",
    "get_build_config",
    "get_config",
    "predict_step",
    "test_step",
    "train_step",
}
# Special methods that a model has no business redefining (the rest, __init__ included, are free).
_CHECKED_DUNDERS = ("__eq__", "__call__", "__getattribute__", "__getattr__", "__len__")


def _check_keras_model(model, name: str = "the model") -> None:
    if not isinstance(model, keras.Model):
        fail(f"{name} should be a Keras model, found {type(model).__name__}")
    redefined = set()
    for cls in type(model).__mro__:
        if not issubclass(cls, keras.Model) or cls.__module__.split(".")[0] == "keras":
            continue  # Keras's own classes, and what keras.Model itself is built on
        for attribute in vars(cls):
            dunder = attribute.startswith("__") and attribute not in _CHECKED_DUNDERS
            if (
                not dunder
                and attribute not in _SUBCLASS_MAY_DEFINE
                and hasattr(keras.Model, attribute)
            ):
                redefined.add(attribute)
    if redefined:
        fail(
            f"{name}'s class {type(model).__name__} redefines Keras's own "
            f"{', '.join(sorted(redefined))}: the tests only trust what Keras computes"
        )


def _built(model, input_shape: tuple) -> None:
    """A Keras model with its weights made: built from its shape or by one call on a batch."""
    _check_keras_model(model)
    if model.built and keras.layers.Layer.weights.fget(model):
        return
    try:
        if type(model) is keras.Sequential:
            model.build((None, *input_shape))
        else:
            _call(model, np.zeros((1, *input_shape), dtype=np.float32))
    except AssertionError:
        raise
    except Exception as error:
        fail(
            f"the model could not be built for {input_shape} images: "
            f"{type(error).__name__}: {error}"
        )


def _declared_input(model) -> tuple | None:
    """The input shape a Sequential or functional model declares; None for a subclassed one."""
    if not isinstance(model, keras.Sequential | Functional):
        return None
    inputs = model.inputs
    if not inputs:
        return None
    return tuple(None if size is None else int(size) for size in inputs[0].shape)


def _call(model, batch: np.ndarray):
    try:
        return model(batch, training=False)
    except Exception as error:
        shape = (None, *batch.shape[1:])
        raise AssertionError(
            f"calling the model on images of shape {shape} raised {type(error).__name__}: {error}"
        ) from None


def _flat_layers(model) -> list:
    """The model's layers in order, with Sequential and functional blocks opened up."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Sequential | Functional):
            found += _flat_layers(layer)
        elif type(layer).__name__ != "InputLayer":
            found.append(layer)
    return found


def _activation_after(layers: Sequence) -> str | None:
    """The activation applied by the first activation layer in ``layers``, looking past
    the layers that it commutes with; None when another layer comes first."""
    pooled = False
    for layer in layers:
        kind = type(layer).__name__
        name = _activation_layer_name(layer)
        if name is not None:
            if pooled and name not in _INCREASING:
                return None
            return name
        if kind in _POOLING_LAYERS:
            pooled = True
        elif kind not in _REARRANGING_LAYERS:
            return None
    return None


def _activation_layer_name(layer) -> str | None:
    kind = type(layer).__name__
    if kind == "ReLU":
        plain = layer.max_value is None and not layer.negative_slope and not layer.threshold
        return "relu" if plain else "a clipped or leaky ReLU"
    if kind == "LeakyReLU":
        return "leaky_relu"
    if kind == "ELU":
        return "elu"
    if kind == "Softmax":
        return "softmax"
    if kind == "Activation":
        return getattr(layer.activation, "__name__", None)
    return None


# --- running a loss or a metric as model.fit does --------------------------------------------


@functools.cache
def _backend_adam() -> type:
    """The class ``keras.optimizers.Adam()`` makes on this backend (PyTorch has its own)."""
    return type(keras.optimizers.Adam())


def _identity_model(width: int):
    return keras.Sequential([keras.Input((width,)), keras.layers.Identity()])


def _compiled_evaluate(y_true, y_pred, loss, metrics, batch_size: int) -> dict:
    """Loss and metrics computed by ``evaluate`` in Keras's compiled graph, over batches."""
    model = _identity_model(y_pred.shape[1])
    model.compile(loss=loss, metrics=list(metrics))
    return model.evaluate(y_pred, y_true, batch_size=batch_size, verbose=0, return_dict=True)


def _fresh(metric):
    """A new metric object of the same kind, so that the student's stays untouched."""
    if isinstance(metric, keras.metrics.Metric):
        try:
            return type(metric).from_config(metric.get_config())
        except Exception:
            return metric
    return metric


def _test_batch() -> tuple[np.ndarray, np.ndarray]:
    """One-hot labels and softmax rows; 5 of the 8 rows predict the right class."""
    rng = np.random.default_rng(7)
    labels = np.arange(8) % 4
    predicted = labels.copy()
    predicted[[1, 4, 6]] = (labels[[1, 4, 6]] + 1) % 4
    scores = rng.random((8, 4)) + 3.0 * np.eye(4)[predicted]
    scores[np.arange(8), labels] -= 1.0 * (predicted != labels)  # the true class ranks last
    probabilities = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    return np.eye(4, dtype=np.float32)[labels], probabilities.astype(np.float32)


def _run_loss_and_metrics(loss, metrics: Sequence) -> dict:
    """Check that ``loss`` is categorical cross-entropy; what it and ``metrics`` logged.

    Both run once on a test batch as fit runs them; the result is ``{}`` when
    the metrics (not the loss) could not run together.
    """
    y_true, y_pred = _test_batch()
    expected = float(np.mean(-np.sum(y_true * np.log(y_pred), axis=1)))
    fresh = [_fresh(metric) for metric in metrics]
    try:
        logged = _compiled_evaluate(y_true, y_pred, loss, fresh, batch_size=8)
    except Exception:
        logged = {}
    if "loss" not in logged:
        try:
            logged = {"loss": _compiled_evaluate(y_true, y_pred, loss, [], batch_size=8)["loss"]}
        except Exception as error:
            fail(
                f"the loss should be CategoricalCrossentropy, found {_describe(loss)}, which "
                f"fails on one-hot labels and softmax rows: {type(error).__name__}: {error}"
            )
    got = float(logged["loss"])
    if math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-6):
        return logged
    cause = ""
    logits = np.exp(y_pred) / np.exp(y_pred).sum(axis=1, keepdims=True)
    if math.isclose(got, float(np.mean(-np.sum(y_true * np.log(logits), axis=1))), rel_tol=1e-4):
        cause = (
            ": it treats the model's outputs as logits (from_logits=True), but the model "
            "ends in softmax and outputs probabilities"
        )
    fail(
        f"the loss should be CategoricalCrossentropy, found {_describe(loss)}: on a test "
        f"batch it gives {got:.4f} where categorical cross-entropy gives {expected:.4f}{cause}"
    )


def _computes_accuracy(metrics: Sequence, logged: dict) -> bool:
    """Whether one of ``metrics`` computes the categorical accuracy, as fit would run it."""
    y_true, y_pred = _test_batch()
    expected = float(np.mean(y_true.argmax(axis=1) == y_pred.argmax(axis=1)))
    if len(logged) <= 1:  # the metrics did not run together: try each alone
        for metric in metrics:
            try:
                logged.update(
                    _compiled_evaluate(
                        y_true, y_pred, "categorical_crossentropy", [_fresh(metric)], 8
                    )
                )
            except Exception:
                continue
            if any(
                key != "loss" and math.isclose(float(value), expected, abs_tol=1e-6)
                for key, value in logged.items()
            ):
                return True
        return False
    return any(
        key != "loss" and math.isclose(float(value), expected, abs_tol=1e-6)
        for key, value in logged.items()
    )


def _check_f1_in_fit(function, kind: str, y_true, y_pred, actual, tolerance: float) -> None:
    """Run the F1 as ``model.fit`` runs a metric: compiled, batch by batch, then averaged."""
    size = len(actual)
    batch_size = size // 2 + 1 if size >= 3 else size  # a smaller last batch, as in fit
    starts = range(0, size, batch_size)
    predicted = y_pred.argmax(axis=1)
    expected = float(
        np.mean(
            [
                f1_score(actual[i : i + batch_size], predicted[i : i + batch_size], average="macro")
                for i in starts
            ]
        )
    )
    name = getattr(function, "__name__", "f1")

    def zero_loss(y_true, y_pred):
        return keras.ops.zeros(keras.ops.shape(y_pred)[:1])

    where = (
        f"inside model.fit ({size} samples, {kind} y_true, batches of {batch_size}), "
        "where Keras runs your F1 function compiled into a graph on batches of unknown size"
    )
    try:
        logged = _compiled_evaluate(y_true, y_pred, zero_loss, [function], batch_size)
    except Exception as error:
        text = f"{type(error).__name__}: {str(error).strip().splitlines()[0][:300]}"
        fail(f"{where}, it raised {text}; the likely cause: {_graph_mistake(text)}")
    value = [v for key, v in logged.items() if key != "loss"]
    value = float(value[0]) if len(value) == 1 else float("nan")
    if not math.isclose(value, expected, abs_tol=tolerance):
        fail(
            f"{where}, it gives {value:.6f}; the mean of sklearn's macro F1 over those "
            f"batches is {expected:.6f} ({name} must compute the same in the graph as on arrays)"
        )


def _graph_mistake(text: str) -> str:
    numpy_words = ("numpy", "NumPy", "symbolic", "Symbolic", "__array__", "OperatorNotAllowed")
    if any(word in text for word in numpy_words):
        return (
            "numpy inside a Keras metric (numpy, scikit-learn, .numpy() or float() on a "
            "tensor): while fit builds its graph the tensors have no values yet; use keras.ops "
            "only"
        )
    if "None" in text:
        return (
            "the batch size is None while the graph is built: use ops.shape(y_true)[0] or "
            "ops.sum over the batch, not y_true.shape[0] in Python arithmetic"
        )
    return "a Python or numpy operation that needs the tensors' values; use keras.ops only"


def _f1_mistake(actual, y_pred, value: float, tolerance: float) -> str:
    """The likely cause of an F1 value that is not sklearn's macro F1, or ``""``."""
    classes = y_pred.shape[1]
    predicted = y_pred.argmax(axis=1)
    truth = np.eye(classes)[actual]
    guess = np.eye(classes)[predicted]
    present = (truth + guess).sum(axis=0) > 0

    def per_class(true_one_hot, predicted_rows):
        tp = (true_one_hot * predicted_rows).sum(axis=0)
        fp = ((1 - true_one_hot) * predicted_rows).sum(axis=0)
        fn = (true_one_hot * (1 - predicted_rows)).sum(axis=0)
        return tp, fp, fn, 2 * tp / np.maximum(2 * tp + fp + fn, 1e-12)

    rounded = np.round(y_pred)
    soft = per_class(truth, y_pred)[3]
    tp, fp, fn, hard = per_class(truth, guess)
    precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1e-12), 0)[present].mean()
    recall = np.where(tp + fn > 0, tp / np.maximum(tp + fn, 1e-12), 0)[present].mean()
    r_tp, r_fp, r_fn, r_f1 = per_class(truth, rounded)
    pooled = 2 * r_tp.sum() / max(2 * r_tp.sum() + r_fp.sum() + r_fn.sum(), 1e-12)
    candidates = [
        (
            "an absent class counted as F1 = 0: average only over the classes that occur in "
            "y_true or in the predictions",
            [hard.mean()],
        ),
        (
            "rounded probabilities: a row whose largest probability is below 0.5 then counts "
            "for no class; take the predicted class with ops.argmax",
            [r_f1.mean(), r_f1[present].mean(), pooled] if (rounded != guess).any() else [],
        ),
        (
            "probabilities used as counts (a 'soft' F1): count the predicted class, "
            "ops.argmax, not the probabilities",
            [soft.mean(), soft[present].mean()] if (y_pred != guess).any() else [],
        ),
        (
            "micro-averaged F1, which equals the accuracy: compute F1 per class, then take "
            "their plain mean",
            [float(np.mean(actual == predicted))],
        ),
        (
            "class-weighted F1: the macro F1 gives every class the same weight",
            [f1_score(actual, predicted, average="weighted")],
        ),
        (
            "the F1 of the mean precision and the mean recall: the macro F1 is the mean of "
            "the per-class F1 scores",
            [2 * precision * recall / max(precision + recall, 1e-12)],
        ),
    ]
    for cause, values in candidates:
        if any(math.isclose(value, float(v), abs_tol=max(tolerance, 1e-4)) for v in values):
            return cause
    return ""


def _describe(value) -> str:
    if type(value) is str:
        return repr(value)
    return getattr(value, "__name__", None) or type(value).__name__
