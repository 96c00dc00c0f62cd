"""Checks of how a model was compiled and whether ``fit`` trained it."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

from utilities import keras_compat
from utilities.checks.base import ask_review, describe, fail, type_name
from utilities.checks.models import as_numbers, check_keras_model
from utilities.checks.running import backend_adam, computes_accuracy, run_loss_and_metrics


def compiled_with(model) -> dict:
    """What ``model.compile`` was given, and the optimizer in use with its step count.

    Keys: ``loss``, ``metrics``, ``optimizer`` (the object training uses),
    ``steps`` (how many training steps it has taken) and ``moved`` (whether
    any of its slot variables, Adam's moments say, has left zero).
    """
    arguments = keras_compat.compile_arguments(model)
    if type(arguments) is not dict:
        fail("the model is not compiled: call model.compile(...) first")
    if "steps" not in arguments:  # a model in this process: read its optimizer
        optimizer = getattr(model, "optimizer", None)
        arguments["optimizer"] = optimizer
        steps, moved = 0, False
        if isinstance(optimizer, keras.optimizers.Optimizer):
            steps = int(keras.ops.convert_to_numpy(optimizer.iterations))
            slots = [v for v in optimizer.variables if "iteration" not in v.path]
            moved = any(np.any(np.asarray(keras.ops.convert_to_numpy(v)) != 0) for v in slots)
        arguments["steps"], arguments["moved"] = steps, moved
    return arguments


def check_compiled(model, f1_function: Callable) -> None:
    """Compiled with categorical cross-entropy, Adam, accuracy and ``f1_function``.

    The loss and the accuracy are recognised by what they compute, run as
    ``model.fit`` runs them, so every spelling Keras accepts passes
    (``"categorical_crossentropy"``, ``"CategoricalCrossentropy"``, the class,
    the function; ``"accuracy"``, ``"acc"``, ``CategoricalAccuracy()``).
    """
    check_keras_model(model)
    arguments = compiled_with(model)
    metrics = arguments.get("metrics")
    if type(metrics) not in (list, tuple):
        fail(f"metrics should be a list, found {describe(metrics)}")
    others = [metric for metric in metrics if metric is not f1_function]
    logged = run_loss_and_metrics(arguments.get("loss"), others)
    optimizer = arguments["optimizer"]
    if type(optimizer) not in (keras.optimizers.Adam, backend_adam()):
        fail(f"the optimizer should be Adam, found {describe(optimizer)}")
    names = [describe(metric) for metric in metrics]
    if not any(metric is f1_function for metric in metrics):
        fail(f"the metrics should include your F1 function, found {names}")
    if not others or not computes_accuracy(others, logged):
        fail(f"the metrics should include accuracy, found {names}")


#: After training, a model classifies new images at least this often right. Guessing gets
#: 10 %; an untrained network's random features can reach 20-25 % on digits (measured on
#: the JAX backend), one epoch on 1,024 images gets 60-85 %.
TRAINED_ACCURACY = 0.3
#: ...or its cross-entropy on them is at least this much below both an untrained copy's
#: and guessing's (ln 10 = 2.303). Untrained networks measured 2.28-2.44 from one random
#: start to the next (with batch normalisation in training mode, about 3.0), so a smaller
#: margin, or the copy alone, would be noise.
TRAINED_LOSS_DROP = 0.1
#: ...or the weights every training step moves are no longer where Keras starts them:
#: biases and batch normalisation's offset at 0, its scale at 1, and its statistics.
STARTING_VALUES = {"bias": 0.0, "beta": 0.0, "gamma": 1.0, "moving_mean": 0.0}


def _cross_entropy(model, scaled, labels, training: bool) -> float:
    keras.utils.set_random_seed(0)  # the same dropout for a model and its untrained copy
    probabilities = as_numbers(model(scaled, training=training), "its outputs")
    picked = np.clip(probabilities[np.arange(len(labels)), labels], 1e-7, 1.0)
    return float(-np.mean(np.log(picked)))


def learned(model, images, labels) -> str:
    """What shows that ``model`` was trained, judged on ``images`` (raw), or "" for nothing.

    It classifies them clearly better than guessing; or its cross-entropy on them (in
    training mode: batch normalisation's moving averages lag behind after a few steps)
    is clearly below an untrained copy's and guessing's; or, where one short run taught
    it too little to tell, the weights that every training step moves have left their
    starting values.
    The loss needs the model as data (a Sequential or functional model); a model
    the grader could not rebuild is judged on the weights its kernel reported.
    """
    labels = np.asarray(labels)
    scaled = np.asarray(images)[..., np.newaxis].astype("float32") / np.float32(255)
    predicted = as_numbers(model.predict(scaled, batch_size=512, verbose=0), "its predictions")
    accuracy = float(np.mean(predicted.argmax(axis=1) == labels))
    if accuracy >= TRAINED_ACCURACY:
        return f"{accuracy:.0%} of new images right"
    if keras_compat.is_plain_model(model):
        untrained = keras.models.clone_model(model)
        drop = min(float(np.log(10)), _cross_entropy(untrained, scaled, labels, True))
        drop -= _cross_entropy(model, scaled, labels, True)
        if drop >= TRAINED_LOSS_DROP:
            return f"its loss {drop:.2f} below an untrained copy's"
    moved = moved_from_start(model)
    return f"its {moved} weights moved from where Keras starts them" if moved else ""


def _starting_weights(model) -> list[tuple[str, np.ndarray]]:
    """``(kind, values)`` of each weight of ``model`` whose starting value Keras fixes."""
    if hasattr(model, "weight_values"):  # a model the grader could not rebuild: as reported
        weights = model.weight_values()
    else:
        weights = [(str(w.path), keras.ops.convert_to_numpy(w)) for w in model.weights]
    kinds = [(path.rsplit("/", 1)[-1].split(":")[0], values) for path, values in weights]
    return [
        (kind, np.asarray(values, dtype="float64"))
        for kind, values in kinds
        if kind in STARTING_VALUES and np.size(values)
    ]


def weight_kinds(model) -> set[str]:
    """The kinds of weights (bias, beta, ...) of ``model`` that a training step moves."""
    return {kind for kind, _ in _starting_weights(model)}


def moved_from_start(model) -> str:
    """Which kinds of ``model``'s weights (bias, ...) have left their starting values, or ""."""
    moved = {
        kind
        for kind, values in _starting_weights(model)
        if np.any(np.abs(values - STARTING_VALUES[kind]) > 1e-7)
    }
    return ", ".join(sorted(moved))


def check_trained(
    history,
    model,
    name: str = "history",
    keys: tuple = ("loss", "val_loss"),
    images=None,
    labels=None,
) -> None:
    """``history`` is what ``model.fit`` returned, and fit really trained ``model``.

    The history logs a finite value of each of ``keys`` for every epoch, the
    model's optimizer has taken at least one training step per logged epoch,
    and, given ``images`` and ``labels`` (raw validation images the grader
    picks), the model's own behaviour shows that it learned (:func:`learned`).
    The step count is the kernel's word, the model's weights and behaviour are
    the checker's: a model with none of it fails. Where the model has no weights
    that tell (no bias, no batch normalisation), the test passes and a TA is
    asked to look (:func:`~utilities.checks.base.ask_review`).
    """
    if type(history) is not keras.callbacks.History or history.model is not model:
        fail(f"{name} should be what model.fit(...) returned for this model")
    logged = history.history
    if type(logged) is not dict:
        fail(f"{name}.history should be the dict that fit wrote")
    for key in keys:
        values = np.asarray(logged.get(key, []), dtype=float)
        if values.size < 1 or not np.isfinite(values).all():
            fail(f"the training history should log a finite {key!r} for every epoch")
    epochs = len(logged.get(keys[0], []))
    steps = compiled_with(model)["steps"]
    if steps < epochs:
        fail(
            f"{name} logs {epochs} epoch(s), but the model's optimizer has taken {steps} "
            "training step(s): train the model with model.fit(...) and keep what it returns"
        )
    if images is None or learned(model, images, labels):
        return
    kinds = weight_kinds(model)
    if kinds:
        fail(
            f"{name} claims {steps} training step(s), but the model was not trained: it does "
            "no better than guessing on new images, and its "
            f"{', '.join(sorted(kinds))} weights are still exactly where Keras "
            "starts them. Train this model with model.fit(...) and keep what it returns"
        )
    ask_review(
        f"{name}: the model's own behaviour does not show the training its history and "
        "step count claim (no better than guessing on new validation images, and no "
        "lower loss than an untrained copy), and it has no bias or normalisation weights "
        "to tell: a TA should check that the notebook really trains it"
    )


def check_training_history(
    history, model, f1_function: Callable, name: str = "history", images=None, labels=None
) -> None:
    """``history`` is what ``model.fit`` returned, with finite losses and metrics.

    It must log the loss, the F1 function (under its name) and at least one
    other metric (the accuracy, under whatever name Keras gave it), each for
    the training and the validation images; and fit must really have trained
    the model (:func:`check_trained`).
    """
    if type(history) is not keras.callbacks.History or history.model is not model:
        fail(f"{name} should be what model.fit(...) returned for this model")
    logged = history.history
    if type(logged) is not dict:
        fail(f"{name}.history should be the dict that fit wrote, found {type_name(logged)}")
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
    check_trained(history, model, name, images=images, labels=labels)
