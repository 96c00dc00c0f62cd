"""Rebuilding a student's model from data, outside the student's process.

A model arrives as its Keras config and its weights (:mod:`utilities.evidence`).
Before Keras sees the config, :func:`config_problem` walks it and allows only
what a CNN course needs: Keras's own layers from an allow-list, Keras's own
initializers, regularizers, constraints and dtype policies, and nothing named
by another module or registered by the notebook. Keras then builds it with
``safe_mode=True`` (no Python code in configs), the weights are set, and the
copy is run on the same probe images the notebook's own model was run on: a
copy that computes something else is not the student's model.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from utilities import keras_compat
from utilities.evidence import array_from_text, probe_batch

#: Layers a rebuilt model may contain. Anything else (Lambda, TFSMLayer, lookup layers that
#: read files, layers of the notebook's own) is not rebuilt; see :func:`config_problem`.
ALLOWED_LAYERS = frozenset(
    {
        "Activation",
        "ActivityRegularization",
        "Add",
        "AlphaDropout",
        "Average",
        "AveragePooling1D",
        "AveragePooling2D",
        "AveragePooling3D",
        "BatchNormalization",
        "CenterCrop",
        "Concatenate",
        "Conv1D",
        "Conv2D",
        "Conv2DTranspose",
        "Conv3D",
        "Cropping2D",
        "Dense",
        "DepthwiseConv2D",
        "Dropout",
        "ELU",
        "Flatten",
        "Functional",
        "GaussianDropout",
        "GaussianNoise",
        "GlobalAveragePooling1D",
        "GlobalAveragePooling2D",
        "GlobalMaxPooling1D",
        "GlobalMaxPooling2D",
        "GroupNormalization",
        "Identity",
        "InputLayer",
        "LayerNormalization",
        "LeakyReLU",
        "MaxPooling1D",
        "MaxPooling2D",
        "MaxPooling3D",
        "Maximum",
        "Minimum",
        "Multiply",
        "PReLU",
        "Permute",
        "RandomBrightness",
        "RandomContrast",
        "RandomCrop",
        "RandomFlip",
        "RandomRotation",
        "RandomTranslation",
        "RandomZoom",
        "ReLU",
        "Rescaling",
        "Reshape",
        "Resizing",
        "SeparableConv2D",
        "Sequential",
        "Softmax",
        "SpatialDropout1D",
        "SpatialDropout2D",
        "Subtract",
        "UnitNormalization",
        "UpSampling2D",
        "ZeroPadding2D",
    }
)
#: Modules whose classes a model's config may name besides the layers.
MODEL_MODULES = frozenset(
    {
        "keras",
        keras_compat.functional_config_module(),  # where a functional config says it lives
        "keras.layers",
        "keras.models",
        "keras.initializers",
        "keras.regularizers",
        "keras.constraints",
    }
)
#: Modules whose classes a loss, metric or optimizer config may name.
TRAINING_MODULES = frozenset(
    {"keras", "keras.losses", "keras.metrics", "keras.optimizers", "keras.optimizers.schedules"}
)
#: How big a config may be: nested levels and layers.
MAX_CONFIG_DEPTH = 40
MAX_LAYERS = 500
#: How far a rebuilt copy's outputs may be from the notebook's own on the probe images.
PROBE_TOLERANCE = 1e-4


@dataclass
class Rebuilt:
    """A model rebuilt from data, or why there is none."""

    model: keras.Model | None
    reason: str = ""  # why the model was not rebuilt
    inconsistent: bool = False  # the data contradicts itself: a sign of forged evidence


def config_problem(config, modules: frozenset[str] = MODEL_MODULES) -> str:
    """Why ``config`` may not be rebuilt, or ``""`` when everything in it names ``modules``."""
    layers = 0

    def walk(node, depth: int) -> str:
        nonlocal layers
        if depth > MAX_CONFIG_DEPTH:
            return "the model's config is nested too deeply"
        if isinstance(node, list):
            for item in node:
                found = walk(item, depth + 1)
                if found:
                    return found
            return ""
        if not isinstance(node, dict):
            return ""
        if "class_name" in node:
            found = _object_problem(node, modules)
            if found:
                return found
            if node.get("module") in ("keras.layers", "keras", "keras.models"):
                layers += 1
                if layers > MAX_LAYERS:
                    return f"the model has more than {MAX_LAYERS} layers"
        for key, value in node.items():
            if key == "registered_name":
                continue
            found = walk(value, depth + 1)
            if found:
                return found
        return ""

    return walk(config, 0)


def _object_problem(node: dict, modules: frozenset[str]) -> str:
    module, name = node.get("module"), str(node.get("class_name"))
    if name == "__keras_tensor__" and module is None:
        return ""  # a functional model's reference from one layer's input to another's output
    registered = node.get("registered_name")
    if registered not in (None, name):
        return f"its {name} is registered by the notebook ({registered})"
    if module not in modules:
        return f"it uses {name} from {module or 'the notebook'}, which is not part of Keras"
    if module == "keras.layers" and name not in ALLOWED_LAYERS:
        return f"it uses the layer {name}, which the grader does not rebuild"
    if module == keras_compat.functional_config_module() and name != "Functional":
        return f"it uses {name}, which the grader does not rebuild"
    if module in ("keras", "keras.models") and name not in (
        "Sequential",
        "Functional",
        "Model",
        "DTypePolicy",
        "FloatDTypePolicy",
    ):
        return f"it uses {name}, which the grader does not rebuild"
    return ""


def rebuild(facts: dict, seed: int) -> Rebuilt:
    """The student's model rebuilt from ``facts`` (see :mod:`utilities.evidence`), if it can be."""
    kind = str(facts.get("name", "model"))
    config = facts.get("config")
    if config is None:
        why = facts.get("config_error") or "no config"
        return Rebuilt(None, f"its class {kind} cannot be rebuilt from data ({why})")
    if not facts.get("weights") or any("npy" not in w for w in facts["weights"]):
        return Rebuilt(None, "its weights are too large to send, or it has none")
    problem = config_problem(config)
    if problem:
        return Rebuilt(None, problem)
    try:
        with keras.saving.CustomObjectScope({}):
            model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    except Exception as error:
        return Rebuilt(
            None, f"Keras could not rebuild it ({type(error).__name__}: {str(error)[:200]})"
        )
    if not keras_compat.is_plain_model(model):
        return Rebuilt(None, f"it rebuilds as a {type(model).__name__}, not a plain Keras model")
    weights = [array_from_text(w["npy"]) for w in facts["weights"]]
    try:
        current = keras.layers.Layer.weights.fget(model)
        if [tuple(w.shape) for w in current] != [tuple(w.shape) for w in weights]:
            raise ValueError("the weights do not fit the layers")
        for variable, value in zip(current, weights, strict=True):
            variable.assign(value)
    except Exception as error:
        return Rebuilt(None, f"its weights do not fit its layers ({str(error)[:200]})", True)
    return _probed(model, facts.get("probe"), seed)


def _probed(model: keras.Model, probe: dict | None, seed: int) -> Rebuilt:
    """The rebuilt copy, if it computes on the probe images what the notebook's model did."""
    if not probe or "outputs" not in probe:
        return Rebuilt(model)  # the notebook's model could not be run: the copy is all there is
    expected = array_from_text(probe["outputs"])
    try:
        batch = probe_batch(seed, [int(size) for size in probe["shape"]])
        got = np.asarray(keras.ops.convert_to_numpy(model(batch, training=False)))
    except Exception as error:
        return Rebuilt(None, f"the rebuilt copy cannot run ({type(error).__name__})", True)
    if got.shape != expected.shape or not np.allclose(got, expected, atol=PROBE_TOLERANCE):
        return Rebuilt(
            None,
            "the model rebuilt from its config and weights does not compute what the "
            "notebook's model computed on the same images",
            True,
        )
    return Rebuilt(model)
