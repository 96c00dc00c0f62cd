"""The one place the kit reaches past Keras's public API, and why.

Keras 3 has no public way to ask three things the checks need:

- which arguments a model was compiled with (``model.get_compile_config()``
  serializes them, which turns your own metric function into its name);
- every layer of a model, with the layers of nested blocks and of custom
  layers opened up (``model.layers`` stops at the first level);
- the class that ``keras.Model(inputs, outputs)`` makes (it lives in
  ``keras.src``), and the module its saved config names.

Each is answered here and nowhere else. ``tests/test_keras_compat.py``
holds them to the installed Keras (checked against :data:`CHECKED_WITH`) and
fails when an upgrade changes what they rely on.
"""

from __future__ import annotations

import functools
import weakref

import keras

#: The Keras version these workarounds were last checked against.
CHECKED_WITH = "3.15.1"


@functools.cache
def functional_class() -> type:
    """The class of a model made as ``keras.Model(inputs, outputs)``, found by making one."""
    inputs = keras.Input((1,))
    return type(keras.Model(inputs, keras.layers.Identity()(inputs)))


@functools.cache
def functional_config_module() -> str:
    """The module a functional model's config names as its class's home (a ``keras.src`` one)."""
    inputs = keras.Input((1,))
    model = keras.Model(inputs, keras.layers.Identity()(inputs))
    return str(keras.saving.serialize_keras_object(model)["module"])


def is_plain_model(model) -> bool:
    """Whether ``model`` is exactly a ``keras.Sequential`` or a functional ``keras.Model``."""
    return type(model) in (keras.Sequential, functional_class())


def compile_arguments(model) -> dict | None:
    """The arguments ``model.compile`` was given (loss, optimizer, metrics, ...), or None."""
    recorded = _RECORDED.get(model)
    if recorded is not None:
        return dict(recorded)
    config = getattr(getattr(model, "_compile_config", None), "config", None)
    return dict(config) if type(config) is dict else None


# What a model rebuilt from evidence was compiled with in the kernel (the checker records it
# here instead of compiling the copy).
_RECORDED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def record_compile_arguments(model, arguments: dict) -> None:
    """Say that ``model`` (a copy rebuilt by the grader) was compiled with ``arguments``."""
    _RECORDED[model] = dict(arguments)


def flat_layers(model) -> list:
    """Every layer inside ``model`` (not the model itself and no input layer), in order."""
    layers = model._flatten_layers(include_self=False, recursive=True)
    return [layer for layer in layers if type(layer).__name__ != "InputLayer"]


def plain_layers(model) -> list:
    """The model's layers in order, with Sequential and functional blocks opened up.

    Unlike :func:`flat_layers`, a custom layer stays one layer. Public API only.
    """
    found = []
    for layer in model.layers:
        if is_plain_model(layer):
            found += plain_layers(layer)
        elif type(layer).__name__ != "InputLayer":
            found.append(layer)
    return found


def qualified_name(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


def plain_model_names() -> tuple[str, str]:
    """The qualified class names of a Sequential and of a functional model."""
    return qualified_name(keras.Sequential), qualified_name(functional_class())


def declared_input(model) -> list | None:
    """The input shape a Sequential or functional model declares, e.g. ``[None, 28, 28, 1]``."""
    if not is_plain_model(model):
        return None
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return None
    if not inputs:
        return None
    return [None if size is None else int(size) for size in inputs[0].shape]
