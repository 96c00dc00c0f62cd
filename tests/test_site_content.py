"""The computed parts of the course site: every number agrees with Keras, sklearn or its source."""

from __future__ import annotations

import json
import re
from dataclasses import asdict

import keras
import nbformat
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.course.models import LENET5_PARAMETERS
from autograder.course.release import secret_lines
from autograder.grading.sandbox.limits import SandboxLimits
from autograder.leaderboard.board import LEADERBOARD_MD
from autograder.site.chapters import (
    activations,
    arithmetic,
    cost,
    course,
    evaluation,
    learned,
    regularisation,
    spatial,
)
from autograder.site.chapters.common import Exercise, SiteContentError, exercises, tasks_box
from conftest import REPO

SOURCE = REPO / "assignments" / "source" / "cnn"


@settings(max_examples=25, deadline=None)
@given(
    size=st.integers(5, 40),
    kernel=st.integers(1, 5),
    stride=st.integers(1, 3),
    channels=st.integers(1, 4),
    filters=st.integers(1, 8),
)
def test_the_convolution_formulas_agree_with_keras(size, kernel, stride, channels, filters):
    layer = keras.layers.Conv2D(filters, kernel, strides=stride, padding="valid")
    output = layer(np.zeros((1, size, size, channels), dtype="float32"))
    expected = arithmetic.conv_output_size(size, kernel, stride, padding=0)
    assert output.shape[1:3] == (expected, expected)
    assert layer.count_params() == arithmetic.conv_parameters((kernel, kernel), channels, filters)


def test_the_dense_formula_agrees_with_keras():
    layer = keras.layers.Dense(84)
    layer.build((None, 120))
    assert layer.count_params() == arithmetic.dense_parameters(120, 84) == 10_164


def test_the_lenet5_table_is_worked_layer_by_layer_and_sums_to_the_keras_count():
    table = arithmetic.lenet5_table()
    rows = [line for line in table.splitlines() if re.match(r"\| \d+ \|", line)]
    assert len(rows) == 8  # the eight layers of Task 1.2
    assert "(5·5·1 + 1)·6" in table and "(5·5·6 + 1)·16" in table and "400·120 + 120" in table
    counts = [int(row.rsplit("|", 2)[1].replace(",", "")) for row in rows]
    assert sum(counts) == LENET5_PARAMETERS
    assert f"**{LENET5_PARAMETERS:,}**" in table
    assert "| 28 × 28 × 6 |" in table and "| 5 × 5 × 16 |" in table


def test_activation_derivatives_come_from_autodiff(tmp_path):
    text = activations.activations(tmp_path)
    assert (tmp_path / "activations.svg").stat().st_size > 10_000
    relu = next(line for line in text.splitlines() if line.startswith("| ReLU"))
    leaky = next(line for line in text.splitlines() if line.startswith("| Leaky ReLU"))
    assert relu.endswith("| 0, 0, 2 | 0, 0, 1 |")  # TensorFlow's choice at 0 is 0
    assert "| -0.2, 0, 2 | 0.1, " in leaky and leaky.endswith(", 1 |")  # the course's slope 0.1


def test_the_batch_f1_table_shows_macro_f1_fixed_and_the_snippets_moving():
    text = evaluation.batch_f1_numbers()
    assert evaluation.CLASSIC_F1.strip() in text  # the snippet is shown as it is run
    rows = {
        line.split("|")[1].strip(): [float(cell) for cell in line.split("|")[2:-1]]
        for line in text.splitlines()
        if line.startswith("| ") and "probability" not in line and "(T =" not in line
    }
    macro, streaming = rows["**macro F1** (scikit-learn)"], rows["`MacroF1Score`"]
    assert len(set(macro)) == 1 and macro == streaming  # same predictions, same true F1
    batched = [value for name, values in rows.items() if "batches of" in name for value in values]
    assert len(batched) == 18 and len(set(batched)) > 3  # moves with confidence and batch size
    assert max(abs(value - macro[0]) for value in batched) > 0.05


def test_regularisers_are_measured_on_real_layers():
    text = regularisation.regularisers()
    dropped = re.search(r"\| ([\d.]+)% set to 0, the rest scaled to ([\d.]+); mean ([\d.]+)", text)
    assert dropped and 45 < float(dropped[1]) < 55 and float(dropped[2]) == 2
    assert "stops after epoch 9, restores the weights of epoch 6" in text


def test_the_grading_table_counts_the_released_points(tmp_path):
    for source in SOURCE.glob("*.ipynb"):
        (tmp_path / source.name).write_bytes(source.read_bytes())
    text = course.grading_rules(tmp_path)
    assert "**40**" in text
    assert "| `1_lenet5_mnist.ipynb` |" in text and text.count("| 20 |") == 2  # 20 + 20


def test_the_rules_page_states_the_limits_the_last_grading_run_used(tmp_path):
    for source in SOURCE.glob("*.ipynb"):
        (tmp_path / source.name).write_bytes(source.read_bytes())
    assert "(the defaults): 120 s per cell" in course.grading_rules(tmp_path)
    limits = tmp_path / "limits.json"
    limits.write_text(json.dumps(asdict(SandboxLimits(cell_timeout=45, notebook_timeout=300))))
    text = course.grading_rules(tmp_path, limits)
    assert "(as the last grading run used them): 45 s per cell, 5 minutes per notebook" in text


def test_the_grading_table_names_the_folder_without_notebooks(tmp_path):
    with pytest.raises(SiteContentError, match=str(tmp_path)):
        course.grading_rules(tmp_path)


def test_the_leaderboard_page_is_the_leaderboards_own_markdown_or_a_placeholder(tmp_path):
    assert "No scores yet" in course.leaderboard(tmp_path)
    (tmp_path / LEADERBOARD_MD).write_text("| Rank | Team |\n|---|---|\n| 1 | owls |\n")
    assert course.leaderboard(tmp_path).endswith("| 1 | owls |\n")


def test_the_api_reference_documents_every_public_name():
    import utilities

    text = course.api_reference()
    for name in utilities.__all__:
        assert re.search(rf"\.\. auto\w+:: utilities\.\w+\.{name}$", text, re.MULTILINE), name


def test_no_fragment_quotes_a_solution_or_hidden_test(tmp_path):
    secrets = set()
    for source in SOURCE.glob("*.ipynb"):
        secrets |= secret_lines(nbformat.read(source, as_version=4))
    text = arithmetic.lenet5_table() + regularisation.regularisers() + course.api_reference()
    text += cost.cost_figure(tmp_path) + cost.cost_exercises() + spatial.receptive_field_exercises()
    assert not [line for line in secrets if line in text]


def test_the_benchmarks_page_is_make_benchs_markdown_or_a_placeholder(tmp_path):
    results = tmp_path / "results.md"
    assert "Not measured yet" in course.benchmarks(results)
    results.write_text("## Time to accuracy\n\n| Machine |\n|---|\n| 2 CPU cores |\n")
    assert course.benchmarks(results).endswith("| 2 CPU cores |\n")


@pytest.mark.parametrize(
    "stack",
    [
        (("conv", 3, 1, "valid"), ("conv", 3, 1, "valid")),
        (("conv", 5, 1, "same"), ("pool", 2, 2, "valid"), ("conv", 3, 1, "same")),
        (("conv", 3, 2, "valid"), ("conv", 3, 2, "valid"), ("conv", 3, 1, "valid")),
    ],
)
def test_the_receptive_field_recursion_agrees_with_autodiff(stack):
    formula = spatial.receptive_field([(kernel, stride) for _, kernel, stride, _ in stack])
    gradients = spatial.measured_receptive_fields(stack, 48)
    for (r, _), gradient in zip(formula, gradients, strict=True):
        rows = np.flatnonzero(gradient.sum(axis=1))
        assert rows[-1] - rows[0] + 1 == r


def _profiled_multiply_adds(model) -> int:
    """Half the floating-point operations TensorFlow's profiler counts in Conv2D and MatMul."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    spec = tf.TensorSpec([1, *model.input_shape[1:]], tf.float32)
    graph = convert_variables_to_constants_v2(tf.function(model).get_concrete_function(spec)).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options.update(output="none", account_type_regexes=["Conv2D", "MatMul"])
    return tf.compat.v1.profiler.profile(graph=graph, options=options).total_float_ops // 2


def test_the_multiply_add_formulas_agree_with_tensorflows_profiler():
    from autograder.course.models import lenet5

    for model in (lenet5(), cost.keras_example_convnet()):
        formula = sum(layer["multiply_adds"] for layer in cost.layer_costs(model))
        assert formula == _profiled_multiply_adds(model)


def test_task_links_point_at_the_headings_of_the_released_notebooks():
    text = tasks_box(SOURCE, ["1.2", "What did your CNN learn?"])
    assert (
        "[Task 1.2 · Build LeNet5 exactly as specified]"
        "(../cnn/1_lenet5_mnist.ipynb#task-12--build-lenet5-exactly-as-specified-4-points)"
    ) in text
    assert (
        "[Part 2: What did your CNN learn?](../cnn/2_fashion_cnn.ipynb#what-did-your-cnn-learn)"
        in text
    )
    assert "(4 points)]" not in text  # the link text leaves the points out


def test_a_task_that_is_not_in_the_release_stops_the_build():
    with pytest.raises(SiteContentError, match=r"no \['9\.9'\] in the released notebooks"):
        tasks_box(SOURCE, ["1.2", "9.9"])


def test_an_exercise_shows_its_question_and_hides_its_answer_in_a_dropdown():
    text = exercises(Exercise("Shapes", "What comes out?", "A 3 × 3 map."))
    question, answer = text.split(":::{admonition} Answer")
    assert question.startswith("::::{admonition} Exercise 1 · Shapes\n:class: exercise")
    assert "What comes out?" in question and "A 3 × 3 map." not in question
    assert answer.startswith("\n:class: dropdown") and "A 3 × 3 map." in answer


@pytest.mark.slow
def test_the_trained_lenet5_is_trained_once_and_then_loaded_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(learned, "TRAIN_IMAGES", 256)  # a tiny run: what is tested is the cache
    first = learned.trained_lenet5.__wrapped__(tmp_path)
    second = learned.trained_lenet5.__wrapped__(tmp_path)
    assert first.trained_now and not second.trained_now
    assert first.weights == second.weights and first.weights.parent == tmp_path / "site"
    for a, b in zip(first.model.get_weights(), second.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert [layer.name for layer in first.model.layers] == list(learned.NAMES)
    monkeypatch.setattr(learned, "EPOCHS", 1)  # other training code, other key: trained again
    assert learned.trained_lenet5.__wrapped__(tmp_path).weights != first.weights


def test_the_mean_over_batches_is_what_keras_reports_for_a_metric_function():
    rng = np.random.default_rng(3)
    one_hot = np.eye(10, dtype="float32")[rng.integers(0, 10, 10)]
    probabilities = rng.dirichlet(np.ones(10), 10).astype("float32")
    keras_mean = keras.metrics.MeanMetricWrapper(evaluation.classic_f1())
    for start in range(0, 10, 4):  # batches of 4, 4 and 2, as fit() would make them
        keras_mean.update_state(one_hot[start : start + 4], probabilities[start : start + 4])
    mean = evaluation.over_batches(evaluation.classic_f1(), one_hot, probabilities, 4)
    assert mean == pytest.approx(float(keras_mean.result()), abs=1e-6)
