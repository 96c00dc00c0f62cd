"""Checks of Keras models: LeNet5 layer by layer, and any classifier within a budget.

A model checked layer by layer (LeNet5) must be a plain ``keras.Sequential``
or functional ``keras.Model``; the classifier checks take any Keras model,
subclassed ones included. Every number is recomputed from the model itself
(its weights, its outputs), never taken from what it reports.

When a notebook is graded, a plain model arrives rebuilt from its config and
weights, so these checks run on a real Keras model outside the notebook. A
subclassed model cannot be rebuilt from data; it arrives as a
:class:`~utilities.evidence.RemoteModel`, whose weights' shapes, layers and
outputs come from the notebook's kernel.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from utilities import keras_compat
from utilities.checks.base import fail, type_name
from utilities.evidence import RemoteModel, layer_facts
from utilities.labels import NUM_CLASSES

# Parameter-free layers that only apply an activation: the layer tables skip
# them, so Conv2D(activation="relu") and Conv2D + ReLU() read the same.
ACTIVATION_LAYERS = ("Activation", "ReLU", "LeakyReLU", "Softmax", "ELU", "PReLU")
# Layers that an elementwise activation passes through unchanged: f(pool(x)) ==
# pool(f(x)) for an increasing f, and flattening or dropout (at inference) move
# values without changing them. Conv2D -> MaxPooling2D -> ReLU is Conv2D(relu) -> pool.
_POOLING_LAYERS = ("MaxPooling2D", "MaxPooling1D", "MaxPooling3D")
_REARRANGING_LAYERS = ("Flatten", "Reshape", "Dropout", "SpatialDropout2D")
_INCREASING = ("relu", "leaky_relu", "elu", "selu", "sigmoid", "tanh", "relu6", "softplus")
CONVOLUTIONS = ("Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Conv1D", "Conv3D")

LayerRow = tuple[str, tuple, int]
_FIELDS = ("type", "output shape", "parameters")

# What a subclass of keras.Model may define; redefining any other method of Keras's
# (count_params, __eq__, weights, ...) would let a model report what it is not.
SUBCLASS_MAY_DEFINE = frozenset(
    {
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
)
# Special methods that a model has no business redefining (the rest, __init__ included, are free).
_CHECKED_DUNDERS = ("__eq__", "__call__", "__getattribute__", "__getattr__", "__len__")


def check_model(model, name: str = "the model", input_shape: tuple = (28, 28, 1)) -> None:
    """``model`` is a ``keras.Sequential`` or functional ``keras.Model``, with its weights made.

    A model without ``keras.Input`` is built for ``input_shape`` images first,
    as its first batch would build it: it computes the same function.
    """
    if isinstance(model, RemoteModel):
        plain = str(model.facts.get("type")) in keras_compat.plain_model_names()
    else:
        plain = keras_compat.is_plain_model(model)
    if not plain:
        fail(
            f"{name} should be a keras.Sequential or keras.Model(inputs, outputs), "
            f"found {type_name(model)}"
        )
    built(model, input_shape)


def _layers(model) -> list[dict]:
    """Facts of each layer (:func:`~utilities.evidence.layer_facts`), nested blocks opened up."""
    check_model(model)
    if isinstance(model, RemoteModel):
        return list(model.facts.get("table", []))
    return [layer_facts(layer) for layer in keras_compat.plain_layers(model)]


def activations(model) -> list[tuple[str, str]]:
    """(layer type, activation applied to its output) for every Conv2D and Dense layer.

    An activation given as ``activation=`` and one in a separate layer after
    it (``ReLU()``, ``Activation("relu")``) read the same, also when a layer
    that the activation commutes with sits between them (Conv2D, MaxPooling2D,
    ReLU computes the same function as Conv2D(relu), MaxPooling2D). Blocks
    nested in the model (a Sequential inside a Sequential) are read layer by
    layer.
    """
    found = []
    layers = _layers(model)
    for index, layer in enumerate(layers):
        kind = layer["type"]
        if kind not in ("Conv2D", "Dense"):
            continue
        name = layer.get("activation") or "linear"
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
    rows = []
    for layer in _layers(model):
        if layer["type"] in ACTIVATION_LAYERS and not layer["weights"]:
            continue
        shape = tuple(layer["output_shape"] or ())
        rows.append((str(layer["type"]), shape, int(layer["trainable_parameters"])))
    return rows


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
    if isinstance(model, RemoteModel):
        found = sum(int(np.prod(shape)) for shape in model.weight_shapes(trainable_only=True))
    else:
        found = _parameters(model.trainable_weights)
    if found != expected:
        fail(f"the model has {found:,} trainable parameters, expected {expected:,}")


def parameter_count(model, input_shape: tuple = (28, 28, 1)) -> int:
    """Every parameter of ``model``, trainable or not (a subclassed model is built first)."""
    built(model, input_shape)
    if isinstance(model, RemoteModel):
        return sum(int(np.prod(shape)) for shape in model.weight_shapes())
    return _parameters(keras.layers.Layer.weights.fget(model))


def check_parameter_budget(model, budget: int, input_shape: tuple = (28, 28, 1)) -> None:
    """The model has at most ``budget`` parameters, trainable or not.

    Any Keras model counts, subclassed ones included: a model that has not
    made its weights yet is first called on a batch of ``input_shape`` images.
    """
    found = parameter_count(model, input_shape)
    if found > budget:
        fail(f"the model has {found:,} parameters, more than the budget of {budget:,}")


def check_classifier(model, input_shape: tuple = (28, 28, 1), classes: int = NUM_CLASSES) -> None:
    """The model maps a batch of images to one softmax row of ``classes`` per image.

    Any Keras model counts (Sequential, functional or subclassed). A model
    that declares its input (``keras.Input``) must declare ``input_shape``.
    """
    built(model, input_shape)
    declared = keras_compat.declared_input(model) if not isinstance(model, RemoteModel) else None
    if isinstance(model, RemoteModel):
        declared = model.facts.get("declared_input")
    if declared is not None and tuple(declared[1:]) != tuple(input_shape):
        fail(f"the model's input shape is {tuple(declared)}, expected {(None, *input_shape)}")
    batch = np.random.default_rng(0).random((5, *input_shape), dtype=np.float32)
    probabilities = as_numbers(call(model, batch), "the model's output")
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
    built(model, input_shape)
    call(model, np.zeros((1, *input_shape), dtype=np.float32))
    if isinstance(model, RemoteModel):
        layers = model.facts.get("layers", [])
        return [
            str(layer["type"])
            for layer in layers
            if layer["type"] in CONVOLUTIONS and layer["built"]
        ]
    return [
        type(layer).__name__
        for layer in keras_compat.flat_layers(model)
        if type(layer).__name__ in CONVOLUTIONS and layer.built
    ]


def check_convolutions(model, at_least: int = 2, input_shape: tuple = (28, 28, 1)) -> None:
    """The model uses at least ``at_least`` convolution layers (nested ones count)."""
    found = convolution_layers(model, input_shape)
    if len(found) < at_least:
        fail(f"a CNN here should have at least {at_least} convolution layers, found {len(found)}")


def check_new_model_each_call(first, second, function: str) -> None:
    """``first`` and ``second``, from two calls of ``function``, are two different models."""
    if first is second:
        fail(f"{function}() should return a new model on every call")


def check_keras_model(model, name: str = "the model") -> None:
    """``model`` is a Keras model whose class leaves Keras's own reporting alone."""
    if isinstance(model, RemoteModel):
        classes = [
            (str(cls["name"]), list(cls.get("defines", []))) for cls in model.facts["classes"]
        ]
    elif isinstance(model, keras.Model):
        classes = [
            (cls.__qualname__, list(vars(cls)))
            for cls in type(model).__mro__
            if issubclass(cls, keras.Model) and cls.__module__.split(".")[0] != "keras"
        ]
    else:
        fail(f"{name} should be a Keras model, found {type_name(model)}")
    redefined = set()
    for _, defined in classes:
        for attribute in defined:
            dunder = attribute.startswith("__") and attribute not in _CHECKED_DUNDERS
            if (
                not dunder
                and attribute not in SUBCLASS_MAY_DEFINE
                and hasattr(keras.Model, attribute)
            ):
                redefined.add(attribute)
    if redefined:
        fail(
            f"{name}'s class {type_name(model)} redefines Keras's own "
            f"{', '.join(sorted(redefined))}: the tests only trust what Keras computes"
        )


def built(model, input_shape: tuple) -> None:
    """A Keras model with its weights made: built from its shape or by one call on a batch."""
    check_keras_model(model)
    if isinstance(model, RemoteModel):
        if not model.facts.get("built") or not model.weight_shapes():
            probe = model.facts.get("probe") or {}
            why = probe.get("error", "it has no weights")
            fail(f"the model could not be built for {input_shape} images: {why}")
        return
    if model.built and keras.layers.Layer.weights.fget(model):
        return
    try:
        if type(model) is keras.Sequential:
            model.build((None, *input_shape))
        else:
            call(model, np.zeros((1, *input_shape), dtype=np.float32))
    except AssertionError:
        raise
    except Exception as error:
        fail(
            f"the model could not be built for {input_shape} images: "
            f"{type(error).__name__}: {error}"
        )


def call(model, batch: np.ndarray):
    """``model(batch, training=False)``, with a failure said in plain words."""
    try:
        return model(batch, training=False)
    except AssertionError:
        raise
    except Exception as error:
        shape = (None, *batch.shape[1:])
        raise AssertionError(
            f"calling the model on images of shape {shape} raised {type(error).__name__}: {error}"
        ) from None


def as_numbers(value, name: str) -> np.ndarray:
    """``value`` (a tensor or an array) as a float64 array; anything else fails."""
    try:
        array = np.asarray(keras.ops.convert_to_numpy(value))
    except Exception as error:
        raise AssertionError(f"{name} is not a tensor or array: {error}") from None
    if type(array) is not np.ndarray or array.dtype.kind not in "fiu":
        fail(f"{name} should be numbers, found {type_name(value)}")
    return array.astype(np.float64)


def _parameters(weights) -> int:
    return sum(int(np.asarray(keras.ops.convert_to_numpy(weight)).size) for weight in weights)


def _activation_after(layers: Sequence[dict]) -> str | None:
    """The activation applied by the first activation layer in ``layers``, looking past
    the layers that it commutes with; None when another layer comes first."""
    pooled = False
    for layer in layers:
        kind = layer["type"]
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


def _activation_layer_name(layer: dict) -> str | None:
    kind = layer["type"]
    if kind == "ReLU":
        relu = layer.get("relu") or {}
        plain = (
            relu.get("max_value") is None
            and not relu.get("negative_slope")
            and not relu.get("threshold")
        )
        return "relu" if plain else "a clipped or leaky ReLU"
    if kind == "LeakyReLU":
        return "leaky_relu"
    if kind == "ELU":
        return "elu"
    if kind == "Softmax":
        return "softmax"
    if kind == "Activation":
        return layer.get("activation")
    return None
