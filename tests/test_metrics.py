"""F1 metrics: the streaming macro F1 equals scikit-learn; the batch-wise one is biased."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score, precision_recall_fscore_support

from conftest import examples
from utilities import MacroF1Score, batch_f1, classification_report_table


def _streamed(y_true, y_pred, batch_size: int, num_classes: int, sample_weight=None) -> float:
    metric = MacroF1Score(num_classes=num_classes)
    for start in range(0, len(y_true), batch_size):
        part = slice(start, start + batch_size)
        weight = None if sample_weight is None else sample_weight[part]
        metric.update_state(y_true[part], y_pred[part], sample_weight=weight)
    return float(metric.result())


@st.composite
def labelled_predictions(draw):
    num_classes = draw(st.integers(2, 10))
    n = draw(st.integers(1, 300))
    # Often use only some classes, so classes go missing from batches and from the data.
    used = draw(st.integers(1, num_classes))
    labels = st.integers(0, used - 1)
    y_true = np.array(draw(st.lists(labels, min_size=n, max_size=n)))
    y_pred = np.array(draw(st.lists(st.integers(0, num_classes - 1), min_size=n, max_size=n)))
    batch_size = draw(st.integers(1, 128))
    return num_classes, y_true, y_pred, batch_size


@settings(max_examples=examples(60), deadline=None)
@given(labelled_predictions(), st.booleans(), st.booleans())
def test_streaming_macro_f1_equals_sklearn(case, one_hot_targets, probability_predictions):
    num_classes, y_true, y_pred, batch_size = case
    expected = f1_score(y_true, y_pred, average="macro")
    targets = np.eye(num_classes)[y_true] if one_hot_targets else y_true
    if probability_predictions:
        rng = np.random.default_rng(len(y_pred))
        scores = rng.random((len(y_pred), num_classes)) * 0.5
        scores[np.arange(len(y_pred)), y_pred] += 1.0  # the predicted class wins
        predictions = scores / scores.sum(axis=1, keepdims=True)
    else:
        predictions = y_pred
    assert _streamed(targets, predictions, batch_size, num_classes) == pytest.approx(
        expected, abs=1e-6
    )


@pytest.mark.filterwarnings("ignore:F-score is ill-defined")
@settings(max_examples=examples(25), deadline=None)
@given(labelled_predictions())
def test_streaming_macro_f1_with_sample_weights_equals_sklearn(case):
    num_classes, y_true, y_pred, batch_size = case
    # Zero weights included: sklearn still counts a class whose samples all weigh 0.
    weights = np.random.default_rng(len(y_true)).integers(0, 4, size=len(y_true)).astype(float)
    expected = f1_score(y_true, y_pred, average="macro", sample_weight=weights)
    actual = _streamed(y_true, y_pred, batch_size, num_classes, sample_weight=weights)
    assert actual == pytest.approx(expected, abs=1e-6)


def test_a_class_missing_from_a_batch_still_counts_over_the_epoch():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 0, 1, 2, 2, 2])
    # First batch has only class 0; the metric must not average per batch.
    assert _streamed(y_true, y_pred, 2, 3) == pytest.approx(
        f1_score(y_true, y_pred, average="macro")
    )


def test_a_class_absent_from_targets_and_predictions_is_left_out_like_sklearn():
    y_true = np.array([0, 1, 1, 0])
    y_pred = np.array([0, 1, 0, 0])
    # 10 classes declared, only 2 occur: sklearn averages over those 2.
    assert _streamed(y_true, y_pred, 4, 10) == pytest.approx(0.7333333, abs=1e-6)


def test_sparse_column_targets_and_one_hot_targets_agree():
    y = np.array([0, 1, 2, 2, 1])
    p = np.array([0, 2, 2, 2, 1])
    column = _streamed(y.reshape(-1, 1), p, 2, 3)
    one_hot = _streamed(np.eye(3)[y], p, 2, 3)
    assert column == pytest.approx(one_hot) == pytest.approx(f1_score(y, p, average="macro"))


def test_reset_state_starts_a_new_epoch():
    metric = MacroF1Score(num_classes=3)
    metric.update_state(np.array([0, 1]), np.array([1, 0]))
    assert float(metric.result()) == 0.0
    metric.reset_state()
    metric.update_state(np.array([0, 1]), np.array([0, 1]))
    assert float(metric.result()) == pytest.approx(1.0)


def test_an_empty_metric_reports_zero():
    assert float(MacroF1Score(num_classes=10).result()) == 0.0


def test_labels_outside_the_classes_lower_the_score_like_sklearn():
    y_true = np.array([0, 1, 2, 1])
    y_pred = np.array([0, 1, 10, 1])  # 10 is not one of the 3 classes
    expected = f1_score(y_true, y_pred, average="macro")
    assert _streamed(y_true, y_pred, 2, 3) == pytest.approx(expected, abs=1e-6)
    assert _streamed(np.array([0, -1, 2]), np.array([0, 1, 2]), 3, 3) == pytest.approx(
        f1_score([0, -1, 2], [0, 1, 2], average="macro"), abs=1e-6
    )


@pytest.mark.filterwarnings("ignore:F-score is ill-defined")
def test_a_zero_weight_class_still_counts_like_sklearn():
    y_true, y_pred, weights = np.array([0, 1, 2]), np.array([0, 1, 1]), np.array([1.0, 1.0, 0.0])
    expected = f1_score(y_true, y_pred, average="macro", sample_weight=weights)
    assert _streamed(y_true, y_pred, 3, 3, sample_weight=weights) == pytest.approx(expected)


def test_rows_of_the_wrong_width_are_a_clear_error():
    metric = MacroF1Score(num_classes=10)
    with pytest.raises(ValueError, match=r"y_pred has shape \(2, 5\); expected .*\(batch, 10\)"):
        metric.update_state(np.array([0, 1]), np.ones((2, 5)))


def test_a_binary_sigmoid_output_is_rounded_to_a_class():
    y_true = np.array([0, 1, 1, 0])
    sigmoid = np.array([[0.2], [0.7], [0.4], [0.1]])
    expected = f1_score(y_true, [0, 1, 0, 0], average="macro")
    assert _streamed(y_true, sigmoid, 4, 2) == pytest.approx(expected, abs=1e-6)


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="unknown shapes are tf.function's; on JAX and PyTorch the other tests cover it",
)
@pytest.mark.parametrize("one_hot", [True, False], ids=["one-hot", "sparse-column"])
def test_inside_a_traced_function_with_unknown_shapes_it_still_equals_sklearn(one_hot):
    import tensorflow as tf

    y = np.array([0, 1, 2, 2, 1, 0, 2])
    p = np.array([0, 2, 2, 1, 1, 0, 2])
    targets = np.eye(3, dtype="float32")[y] if one_hot else y.reshape(-1, 1).astype("float32")
    metric = MacroF1Score(num_classes=3)

    @tf.function(input_signature=[tf.TensorSpec([None, None]), tf.TensorSpec([None, None])])
    def update(y_true, y_pred):
        metric.update_state(y_true, y_pred)

    update(targets, np.eye(3, dtype="float32")[p])
    assert float(metric.result()) == pytest.approx(f1_score(y, p, average="macro"), abs=1e-6)


def test_num_classes_must_be_at_least_two():
    with pytest.raises(ValueError, match="at least 2"):
        MacroF1Score(num_classes=1)


def _tiny_model() -> keras.Model:
    keras.utils.set_random_seed(1)
    return keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(4, activation="softmax"),
        ]
    )


def _tiny_data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(500, 8)).astype("float32")
    y = (X[:, 0] > 0).astype(int) + 2 * (X[:, 1] > 0.5).astype(int)
    return X, y


@pytest.mark.parametrize("sparse", [False, True], ids=["one-hot", "sparse"])
def test_in_compile_fit_and_evaluate_it_equals_sklearn_on_the_model_predictions(sparse):
    X, y = _tiny_data()
    targets = y if sparse else np.eye(4)[y]
    model = _tiny_model()
    loss = "sparse_categorical_crossentropy" if sparse else "categorical_crossentropy"
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy", MacroF1Score(num_classes=4)])
    history = model.fit(X, targets, batch_size=64, epochs=2, validation_split=0.2, verbose=0)
    assert len(history.history["macro_f1"]) == 2
    assert len(history.history["val_macro_f1"]) == 2
    scores = model.evaluate(X, targets, batch_size=37, verbose=0, return_dict=True)
    predicted = model.predict(X, verbose=0).argmax(axis=1)
    assert scores["macro_f1"] == pytest.approx(f1_score(y, predicted, average="macro"), abs=1e-6)


def test_a_model_with_the_metric_saves_and_loads(tmp_path):
    X, y = _tiny_data()
    model = _tiny_model()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=[MacroF1Score(4)])
    model.fit(X, np.eye(4)[y], epochs=1, verbose=0)
    model.save(tmp_path / "model.keras")
    restored = keras.models.load_model(tmp_path / "model.keras")
    original = model.evaluate(X, np.eye(4)[y], verbose=0, return_dict=True)
    reloaded = restored.evaluate(X, np.eye(4)[y], verbose=0, return_dict=True)
    assert reloaded["macro_f1"] == pytest.approx(original["macro_f1"], abs=1e-6)


# --- the batch-wise teaching example ---------------------------------------------------


def test_batch_f1_is_one_for_confident_correct_predictions():
    y_true = np.eye(3)[[0, 1, 2, 1]]
    assert float(batch_f1(y_true, 0.9 * y_true + 0.05)) == pytest.approx(1.0, abs=1e-5)


def test_batch_f1_drops_correct_but_unconfident_predictions():
    # Every prediction is right (argmax), but no probability reaches 0.5, so rounding
    # turns them all into "no class": batch F1 says 0 while the true macro F1 is 1.
    y_true = np.eye(3)[[0, 1, 2]]
    y_pred = np.full((3, 3), 0.3) + 0.1 * y_true
    assert float(batch_f1(y_true, y_pred)) == pytest.approx(0.0, abs=1e-6)
    assert _streamed(y_true, y_pred, 3, 3) == pytest.approx(1.0)


def test_batch_f1_averaged_over_batches_is_not_the_macro_f1_of_the_epoch():
    # Two batches: one all-correct, one where class 1 is always mistaken for class 0.
    y = np.array([0, 1, 0, 1, 1, 1, 1, 0])
    p = np.array([0, 1, 0, 1, 0, 0, 0, 0])
    onehot, confident = np.eye(2)[y], np.eye(2)[p] * 0.98 + 0.01
    batches = [float(batch_f1(onehot[i : i + 4], confident[i : i + 4])) for i in (0, 4)]
    averaged = np.mean(batches)
    true_macro = f1_score(y, p, average="macro")
    assert averaged == pytest.approx(0.625, abs=1e-5)
    assert true_macro == pytest.approx((6 / 9 + 4 / 7) / 2, abs=1e-6)  # 0.619
    assert _streamed(onehot, confident, 4, 2) == pytest.approx(true_macro, abs=1e-6)


# --- classification report --------------------------------------------------------------


def test_classification_report_table_matches_sklearn_with_class_names():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 3, 200)
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 3, 200))
    probabilities = np.eye(3)[y_pred]
    table = classification_report_table(y_true, probabilities, ["cat", "dog", "owl"])
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred)
    assert list(table.index) == ["cat", "dog", "owl", "macro avg", "weighted avg"]
    np.testing.assert_allclose(table.loc[["cat", "dog", "owl"], "precision"], precision)
    np.testing.assert_allclose(table.loc[["cat", "dog", "owl"], "recall"], recall)
    np.testing.assert_allclose(table.loc[["cat", "dog", "owl"], "f1-score"], f1)
    assert table.loc[["cat", "dog", "owl"], "support"].tolist() == support.tolist()
    assert table.loc["macro avg", "f1-score"] == pytest.approx(
        f1_score(y_true, y_pred, average="macro")
    )
    assert table.attrs["accuracy"] == pytest.approx(np.mean(y_true == y_pred))


def test_classification_report_lists_a_class_that_never_occurs():
    table = classification_report_table([0, 1, 1], [0, 1, 0], class_names=["a", "b", "c"])
    assert table.loc["c"].tolist() == [0.0, 0.0, 0.0, 0]


def test_classification_report_rejects_empty_input_and_unnamed_labels():
    with pytest.raises(ValueError, match="empty"):
        classification_report_table([], [])
    with pytest.raises(ValueError, match="y_pred: label 3 has no class name"):
        classification_report_table([0, 1], [0, 3], class_names=["a", "b"])


def test_classification_report_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="y_true has 3 entries but y_pred has 2"):
        classification_report_table([0, 1, 1], [0, 1])
