"""Running a loss or a metric the way ``model.fit`` runs it: compiled, batch by batch.

:func:`compiled_evaluate` is the one place this happens. When any of the
functions belongs to the notebook under grading (a
:class:`~utilities.evidence.RemoteFunction`), the whole run happens in the
notebook's kernel, where that function lives, and only the logged numbers
come back.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import keras
import numpy as np

from utilities.checks.base import describe, fail
from utilities.evidence import encode_argument, run_in_kernel_of


def zero_loss(y_true, y_pred):
    """A loss of 0 for every sample: what a metric is run beside when only the metric counts."""
    return keras.ops.zeros(keras.ops.shape(y_pred)[:1])


@functools.cache
def backend_adam() -> type:
    """The class ``keras.optimizers.Adam()`` makes on this backend (PyTorch has its own)."""
    return type(keras.optimizers.Adam())


def _identity_model(width: int):
    return keras.Sequential([keras.Input((width,)), keras.layers.Identity()])


def compiled_evaluate(y_true, y_pred, loss, metrics: Sequence, batch_size: int) -> dict:
    """Loss and metrics computed by ``evaluate`` in Keras's compiled graph, over batches."""
    channel = run_in_kernel_of([loss, *metrics])
    if channel is not None:
        return channel.request(
            {
                "op": "evaluate",
                "loss": _spec(loss),
                "metrics": [_spec(metric) for metric in metrics],
                "y_true": encode_argument(np.asarray(y_true)),
                "y_pred": encode_argument(np.asarray(y_pred)),
                "batch_size": int(batch_size),
            }
        )
    model = _identity_model(np.shape(y_pred)[1])
    model.compile(loss=loss, metrics=list(metrics))
    return model.evaluate(y_pred, y_true, batch_size=batch_size, verbose=0, return_dict=True)


def _spec(value) -> dict:
    if value is zero_loss:
        return {"zero": True}
    return {"value": encode_argument(value)}


def fresh(metric):
    """A new metric object of the same kind, so that the student's stays untouched."""
    if isinstance(metric, keras.metrics.Metric):
        try:
            return type(metric).from_config(metric.get_config())
        except Exception:
            return metric
    return metric


def test_batch() -> tuple[np.ndarray, np.ndarray]:
    """One-hot labels and softmax rows; 5 of the 8 rows predict the right class."""
    rng = np.random.default_rng(7)
    labels = np.arange(8) % 4
    predicted = labels.copy()
    predicted[[1, 4, 6]] = (labels[[1, 4, 6]] + 1) % 4
    scores = rng.random((8, 4)) + 3.0 * np.eye(4)[predicted]
    scores[np.arange(8), labels] -= 1.0 * (predicted != labels)  # the true class ranks last
    probabilities = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    return np.eye(4, dtype=np.float32)[labels], probabilities.astype(np.float32)


def run_loss_and_metrics(loss, metrics: Sequence) -> dict:
    """Check that ``loss`` is categorical cross-entropy; what it and ``metrics`` logged.

    Both run once on a test batch as fit runs them; the result is ``{}`` when
    the metrics (not the loss) could not run together.
    """
    y_true, y_pred = test_batch()
    expected = float(np.mean(-np.sum(y_true * np.log(y_pred), axis=1)))
    renewed = [fresh(metric) for metric in metrics]
    try:
        logged = compiled_evaluate(y_true, y_pred, loss, renewed, batch_size=8)
    except Exception:
        logged = {}
    if "loss" not in logged:
        try:
            logged = {"loss": compiled_evaluate(y_true, y_pred, loss, [], batch_size=8)["loss"]}
        except Exception as error:
            fail(
                f"the loss should be CategoricalCrossentropy, found {describe(loss)}, which "
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
        f"the loss should be CategoricalCrossentropy, found {describe(loss)}: on a test "
        f"batch it gives {got:.4f} where categorical cross-entropy gives {expected:.4f}{cause}"
    )


def computes_accuracy(metrics: Sequence, logged: dict) -> bool:
    """Whether one of ``metrics`` computes the categorical accuracy, as fit would run it."""
    y_true, y_pred = test_batch()
    expected = float(np.mean(y_true.argmax(axis=1) == y_pred.argmax(axis=1)))
    if len(logged) <= 1:  # the metrics did not run together: try each alone
        for metric in metrics:
            try:
                logged.update(
                    compiled_evaluate(
                        y_true, y_pred, "categorical_crossentropy", [fresh(metric)], 8
                    )
                )
            except Exception:
                continue
            if _any_equals(logged, expected):
                return True
        return False
    return _any_equals(logged, expected)


def _any_equals(logged: dict, expected: float) -> bool:
    return any(
        key != "loss" and math.isclose(float(value), expected, abs_tol=1e-6)
        for key, value in logged.items()
    )
