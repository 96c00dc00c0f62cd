"""What the notebooks and the book teach is checked by code: the output-size formula, what the
course's F1 snippet computes, what Keras still has, what a parameter budget bounds, LeNet5's
lineage, and one Leaky ReLU slope everywhere."""

from __future__ import annotations

import math
import re

import keras
import nbformat
import numpy as np
import pytest
from keras import ops
from sklearn.metrics import f1_score

from autograder.settings import DEFAULTS
from conftest import REPO

SOURCE = REPO / "assignments" / "source" / "cnn"
BOOK = REPO / "book" / "theory"


def _sources(notebook: str) -> list[str]:
    return [cell.source for cell in nbformat.read(SOURCE / f"{notebook}.ipynb", as_version=4).cells]


def _text(notebook: str) -> str:
    return "\n".join(_sources(notebook))


def test_the_output_size_formula_has_the_floor_that_a_7_to_3_pooling_needs():
    pooled = keras.layers.MaxPooling2D(2)(keras.Input((7, 7, 8)))
    assert pooled.shape[1] == 3
    width, kernel, padding, stride = 7, 2, 0, 2
    assert (width - kernel + 2 * padding) / stride + 1 == 3.5  # without the floor: wrong
    assert math.floor((width - kernel + 2 * padding) / stride) + 1 == 3
    assert r"\left\lfloor" in _text("2_fashion_cnn")  # Task 2.3's costs by hand


def _course_snippet_f1(y_true, y_pred):
    """The original assignment's snippet: per-class sums over the batch, then the mean."""
    y_pred = ops.round(ops.clip(y_pred, 0, 1))
    true_positives = ops.sum(y_true * y_pred, axis=0)
    precision = true_positives / (ops.sum(y_pred, axis=0) + keras.backend.epsilon())
    recall = true_positives / (ops.sum(y_true, axis=0) + keras.backend.epsilon())
    f1 = 2 * precision * recall / (precision + recall + keras.backend.epsilon())
    return ops.mean(f1)


def test_the_courses_snippet_is_a_per_batch_macro_f1_with_absent_classes_as_zero():
    labels = np.array([0, 1, 1, 2, 3, 3])  # classes 4..9 are absent from this batch
    predictions = np.array([0, 1, 2, 2, 3, 1])
    y_true = keras.utils.to_categorical(labels, 10)
    y_pred = keras.utils.to_categorical(predictions, 10)  # confident, so rounding is harmless
    snippet = float(_course_snippet_f1(y_true, y_pred))
    all_classes = f1_score(labels, predictions, average="macro", labels=range(10), zero_division=0)
    present_only = f1_score(labels, predictions, average="macro")
    assert snippet == pytest.approx(all_classes, abs=1e-5)
    assert snippet < present_only - 0.3  # the absent classes pull it down
    page = (BOOK / "f1.md").read_text()
    assert "Absent classes count as 0" in page and "micro average, not a macro" not in page


def test_old_keras_backend_round_still_exists_so_the_notebook_says_it_runs_and_is_wrong():
    import tensorflow as tf

    assert hasattr(tf.keras.backend, "round")
    text = _text("1_lenet5_mnist")
    assert "no longer exist" not in text
    assert "`tf.keras.backend.round` still exists" in text


def test_a_parameter_budget_bounds_size_not_compute():
    # Same 320 parameters, three orders of magnitude apart in multiply-adds per image.
    conv = keras.layers.Conv2D(32, 3)
    dense = keras.layers.Dense(32)
    conv.build((None, 28, 28, 1))
    dense.build((None, 9))
    assert conv.count_params() == dense.count_params() == 320
    conv_macs = 26 * 26 * 32 * 3 * 3
    dense_macs = 9 * 32
    assert conv_macs > 500 * dense_macs
    text = _text("2_fashion_cnn")
    assert "within minutes" not in text
    assert "not its training time" in text


def test_lenet5_is_presented_as_a_modern_variant_of_the_1998_network():
    text = _text("1_lenet5_mnist")
    assert re.search(r"modern\s+variant\s+of\s+the\s+1998\s+network", text)
    assert "average pooling" in text and "tanh" in text


def test_one_leaky_relu_slope_everywhere():
    assert DEFAULTS.leaky_relu_slope == 0.1
    text = _text("1_lenet5_mnist")
    assert "np.where(z > 0, z, 0.1 * z)" in text and "Leaky ReLU (α = 0.1)" in text
    answer = next(source for source in _sources("1_lenet5_mnist") if "LeakyReLU}(z)" in source)
    assert r"this course uses $\alpha = 0.1$" in answer and "0.01" not in answer
    assert r"$\alpha = 0.1$" in (BOOK / "activations.md").read_text()


def test_the_relu_page_keeps_the_weights_caveat_of_the_model_answer():
    page = (BOOK / "activations.md").read_text()
    assert "weight matrix" in page and "initialisation" in page
    assert "weights themselves" in _text("1_lenet5_mnist")


def test_part_2_states_the_bonus_rule_the_grader_applies():
    from autograder.leaderboard.points import LEADERBOARD_POINTS

    text = " ".join(_text("2_fashion_cnn").split())
    stated = {float(points) for points in re.findall(r"earns (\d+) bonus points", text)}
    stated |= {float(points) for points in re.findall(r"bonus of (\d+) points", text)}
    assert stated == {LEADERBOARD_POINTS}
    assert "Teams are registered with the course staff" in text  # teams.csv, never a notebook
    assert "fashion_model.keras" in text  # the handed-in model must reproduce the upload
    assert "TEAM_NAME" not in text
    # The public fraction is a setting of `coursekit data build`: the notebook names no number.
    assert not re.search(r"\d+ ?% of the test images|public \d+ ?%|private \d+ ?%", text)


# -- The course site's theory chapters: slips that were fixed, each held by code ------------------


def _page(name: str) -> str:
    """A theory page with its line breaks folded, as a reader sees the sentences."""
    return " ".join((BOOK / f"{name}.md").read_text().split())


def test_batch_norm_takes_each_channels_statistics_over_the_batch_and_the_positions():
    rng = np.random.default_rng(0)
    rows = np.arange(5, dtype="float32")[np.newaxis, :, np.newaxis, np.newaxis]
    maps = rng.normal(size=(8, 5, 5, 3)) * [1.0, 2.0, 3.0] + [0.0, 10.0, -5.0] + rows
    out = keras.layers.BatchNormalization()(maps.astype("float32"), training=True).numpy()
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(0, 1, 2)), 1, atol=1e-2)
    assert np.abs(out.mean(axis=0)).max() > 0.5  # not standardised per position over the batch
    page = _page("regularisation")
    assert "over the batch and over all spatial positions" in page
    assert "standardises each channel over the batch," not in page


def test_a_dead_relu_gets_no_gradient_and_recovers_only_when_its_inputs_move(tmp_path):
    import tensorflow as tf

    from autograder.site.chapters.activations import dead_relu

    x = tf.constant([[0.5], [1.0], [1.5]])
    c, d = tf.Variable(1.0), tf.Variable(-2.0)
    with tf.GradientTape() as tape:
        dead = tf.reduce_sum(tf.nn.relu(c * x + d))  # the unit's input is negative everywhere
    assert [float(g) for g in tape.gradient(dead, [c, d])] == [0.0, 0.0]
    with tf.GradientTape() as tape:
        alive = tf.reduce_sum(tf.nn.relu(c * (3 * x) + d))  # the layer below has grown
    assert float(tape.gradient(alive, d)) > 0
    facts = dead_relu(tmp_path)  # the page's figure: a real SGD run in which the unit comes back
    assert facts["revived"] > 0 and facts["final_active"] > 0.5
    page = _page("activations")
    assert "never recovers" not in page
    assert "push the unit's input back above zero for some examples, it gets gradient again" in page


def test_keras_leaky_relu_defaults_to_0_3_and_the_activations_page_says_so(tmp_path):
    from autograder.site.chapters.activations import activations

    assert float(keras.layers.LeakyReLU()(np.array([-1.0], "float32"))[0]) == pytest.approx(-0.3)
    text = activations(tmp_path)
    assert "`keras.layers.LeakyReLU()` uses a slope of **0.3**" in text
    assert "`layers.LeakyReLU(negative_slope=0.1)`" in text
    assert "LeakyReLU()` uses 0.3 unless" in _text("1_lenet5_mnist")  # the notebook agrees


def test_the_f1_page_shows_the_classic_per_batch_snippet_that_task_1_3_warns_about():
    from autograder.site.chapters.evaluation import CLASSIC_F1, classic_f1

    assert "_generated/batch_f1.md" in (BOOK / "f1.md").read_text()
    assert "K = tf.keras.backend" in CLASSIC_F1 and "K.round(" in CLASSIC_F1
    assert "keras.backend.round" in _text("1_lenet5_mnist")
    rng = np.random.default_rng(1)
    for size in (6, 32):
        labels = rng.integers(0, 10, size)
        y_true = keras.utils.to_categorical(labels, 10).astype("float32")
        y_pred = rng.dirichlet(np.full(10, 0.3), size).astype("float32")
        shown = float(classic_f1()(y_true, y_pred))
        assert shown == pytest.approx(float(_course_snippet_f1(y_true, y_pred)), abs=1e-6)
    page = _page("f1")
    assert "Rounding the softmax" in page and "Averaging batch values" in page
