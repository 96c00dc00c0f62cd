"""F1 metrics for Keras 3 and a per-class report.

:class:`MacroF1Score` is the metric to use: it counts true positives, false
positives and false negatives per class over the whole epoch and equals
``sklearn.metrics.f1_score(y_true, y_pred, average="macro")``.

:func:`batch_f1` is the snippet many students copy from the internet, ported
to Keras 3 and kept as a teaching example of what goes wrong: it rounds the
softmax output (a prediction whose top probability is below 0.5 counts for no
class at all), pools all classes of a batch into one F1, and Keras then
averages those batch values. That is neither the macro F1 nor stable: on
LeNet5 at batch size 64 (``bench/batch_f1_gap.py``) it read 1.2 points
(MNIST) and 1.4 points (Fashion-MNIST) below the true macro F1 in the first
epoch's training log, while on held-out images of a confident model it was
within ±0.4 points, in either direction, and drifted further as the batch
size grew (0.6 points low at batch 256 on Fashion-MNIST after one epoch).
"""

from __future__ import annotations

import keras
import pandas as pd
from keras import ops
from sklearn.metrics import classification_report

from .labels import NUM_CLASSES, as_class_indices, check_same_length, class_names_for


@keras.saving.register_keras_serializable(package="coursekit")
class MacroF1Score(keras.metrics.Metric):
    """Streaming macro-averaged F1 over all batches of an epoch.

    Per class ``F1 = 2·TP / (2·TP + FP + FN)``; the macro F1 is the plain mean
    over the classes that occur in the targets or the predictions, exactly as
    scikit-learn averages them.

    Parameters
    ----------
    num_classes : int
        Number of classes (10 for MNIST and Fashion-MNIST).
    name : str
        Name shown in training logs and histories.

    Notes
    -----
    Targets may be one-hot rows or class indices (sparse, shape ``(N,)`` or
    ``(N, 1)``); predictions may be probability rows or class indices.
    Classes absent from a batch are fine, because counts are accumulated
    before anything is divided. Labels outside ``0..num_classes-1`` are not
    dropped: they are pooled into one extra class that can only be wrong, so
    they lower the score as they do in scikit-learn.

    Examples
    --------
    >>> model.compile(optimizer="adam", loss="categorical_crossentropy",
    ...               metrics=["accuracy", MacroF1Score(num_classes=10)])
    """

    def __init__(self, num_classes: int = NUM_CLASSES, name: str = "macro_f1", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if int(num_classes) < 2:
            raise ValueError(f"num_classes must be at least 2, got {num_classes}")
        self.num_classes = int(num_classes)
        self.true_positives = self._counter("true_positives")
        self.false_positives = self._counter("false_positives")
        self.false_negatives = self._counter("false_negatives")
        self.occurrences = self._counter("occurrences")  # unweighted, as sklearn's label set

    def _counter(self, name: str):
        # One slot per class, plus one for labels outside 0..num_classes-1.
        return self.add_variable(
            shape=(self.num_classes + 1,), initializer="zeros", dtype=self.dtype, name=name
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        truth = self._one_hot(y_true, "y_true")
        guess = self._one_hot(y_pred, "y_pred")
        self.occurrences.assign_add(ops.sum(truth + guess, axis=0))
        if sample_weight is not None:
            weight = ops.reshape(ops.cast(sample_weight, self.dtype), (-1, 1))
            truth, guess = truth * weight, guess * weight
        hits = ops.sum(ops.minimum(truth, guess), axis=0)  # weight once, not squared
        self.true_positives.assign_add(hits)
        self.false_positives.assign_add(ops.sum(guess, axis=0) - hits)
        self.false_negatives.assign_add(ops.sum(truth, axis=0) - hits)

    def _one_hot(self, y, name: str):
        indices = _class_indices(y, self.num_classes, name)
        known = ops.logical_and(ops.greater_equal(indices, 0), ops.less(indices, self.num_classes))
        slots = ops.where(known, indices, self.num_classes)
        return ops.cast(ops.one_hot(slots, self.num_classes + 1), self.dtype)

    def result(self):
        doubled_hits = 2.0 * self.true_positives
        denominator = doubled_hits + self.false_positives + self.false_negatives
        per_class = ops.where(
            ops.greater(denominator, 0.0), doubled_hits / ops.maximum(denominator, 1e-12), 0.0
        )
        occurs = ops.greater(self.occurrences, 0.0)
        n_occurring = ops.sum(ops.cast(occurs, self.dtype))
        total = ops.sum(ops.where(occurs, per_class, 0.0))
        return total / ops.maximum(n_occurring, 1.0)

    def reset_state(self):
        for variable in self.variables:
            variable.assign(ops.zeros(variable.shape, dtype=variable.dtype))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


def _class_indices(y, num_classes: int, name: str):
    """int32 class indices from one-hot/probability rows (argmax) or from sparse labels."""
    y = ops.convert_to_tensor(y)
    if len(y.shape) == 1:
        return _sparse(y)
    width = y.shape[-1] if len(y.shape) == 2 else -1
    if width == num_classes:
        return ops.cast(ops.argmax(y, axis=-1), "int32")
    if width == 1:
        return _sparse(ops.reshape(y, (-1,)))
    if width is None:  # traced with an unknown width: decide when the data arrives
        return ops.cond(
            ops.equal(ops.shape(y)[-1], 1),
            lambda: _sparse(ops.reshape(y, (-1,))),
            lambda: ops.cast(ops.argmax(y, axis=-1), "int32"),
        )
    raise ValueError(
        f"MacroF1Score(num_classes={num_classes}): {name} has shape {tuple(y.shape)}; "
        f"expected (batch,), (batch, 1) or (batch, {num_classes})"
    )


def _sparse(y):
    """Class indices from sparse labels; float labels (or a binary sigmoid) are rounded."""
    if "float" in str(y.dtype):
        y = ops.round(y)
    return ops.cast(y, "int32")


def batch_f1(y_true, y_pred):
    """Batch-wise F1: the widely copied snippet, for teaching only.

    Rounds the predicted probabilities, pools true positives over all classes
    of the batch, and returns one F1 per batch; Keras averages these over the
    batches of an epoch. Needs one-hot ``y_true``. Use :class:`MacroF1Score`
    for real measurements: this one is not the macro F1 and drifts with the
    model's confidence and the batch size (see the module docstring).
    """
    y_true = ops.cast(y_true, "float32")
    y_pred = ops.cast(y_pred, "float32")
    epsilon = keras.backend.epsilon()
    true_positives = ops.sum(ops.round(ops.clip(y_true * y_pred, 0.0, 1.0)))
    possible_positives = ops.sum(ops.round(ops.clip(y_true, 0.0, 1.0)))
    predicted_positives = ops.sum(ops.round(ops.clip(y_pred, 0.0, 1.0)))
    recall = true_positives / (possible_positives + epsilon)
    precision = true_positives / (predicted_positives + epsilon)
    return 2.0 * precision * recall / (precision + recall + epsilon)


def classification_report_table(y_true, y_pred, class_names=None) -> pd.DataFrame:
    """Precision, recall, F1 and support per class, plus macro and weighted averages.

    Parameters
    ----------
    y_true, y_pred : array-like
        Class indices, or one-hot / probability rows (reduced with argmax).
    class_names : sequence of str, optional
        Row labels; defaults to the class indices.

    Returns
    -------
    pandas.DataFrame
        One row per class (in class order) then ``macro avg`` and
        ``weighted avg``; columns ``precision``, ``recall``, ``f1-score``,
        ``support``. The overall accuracy is in ``table.attrs["accuracy"]``.
    """
    truth = as_class_indices(y_true, name="y_true")
    guess = as_class_indices(y_pred, name="y_pred")
    check_same_length(truth, guess, "y_true", "y_pred")
    if len(truth) == 0:
        raise ValueError("y_true and y_pred are empty; expected at least one prediction")
    names = class_names_for({"y_true": truth, "y_pred": guess}, class_names)
    report = classification_report(
        truth,
        guess,
        labels=list(range(len(names))),
        target_names=names,
        output_dict=True,
        zero_division=0,
    )
    accuracy = float((truth == guess).mean())
    report.pop("accuracy", None)
    report.pop("micro avg", None)
    table = pd.DataFrame(report).T[["precision", "recall", "f1-score", "support"]]
    table["support"] = table["support"].astype(int)
    table.attrs["accuracy"] = accuracy
    return table
