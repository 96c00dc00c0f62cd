"""The macro F1 check: your function against scikit-learn, on tensors and inside ``fit``."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import keras
import numpy as np
from sklearn.metrics import f1_score

from utilities.checks.base import fail
from utilities.checks.models import as_numbers
from utilities.checks.running import compiled_evaluate, zero_loss


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
        value = as_numbers(result, "your F1 function's result")
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

    where = (
        f"inside model.fit ({size} samples, {kind} y_true, batches of {batch_size}), "
        "where Keras runs your F1 function compiled into a graph on batches of unknown size"
    )
    try:
        logged = compiled_evaluate(y_true, y_pred, zero_loss, [function], batch_size)
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
