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
from autograder.grading.sandbox.bwrap import SandboxLimits
from autograder.leaderboard.board import LEADERBOARD_MD
from autograder.site import content as site_content
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
    expected = site_content.conv_output_size(size, kernel, stride, padding=0)
    assert output.shape[1:3] == (expected, expected)
    assert layer.count_params() == site_content.conv_parameters((kernel, kernel), channels, filters)


def test_the_dense_formula_agrees_with_keras():
    layer = keras.layers.Dense(84)
    layer.build((None, 120))
    assert layer.count_params() == site_content.dense_parameters(120, 84) == 10_164


def test_the_lenet5_table_is_worked_layer_by_layer_and_sums_to_the_keras_count():
    table = site_content.lenet5_table()
    rows = [line for line in table.splitlines() if re.match(r"\| \d+ \|", line)]
    assert len(rows) == 8  # the eight layers of Task 1.2
    assert "(5·5·1 + 1)·6" in table and "(5·5·6 + 1)·16" in table and "400·120 + 120" in table
    counts = [int(row.rsplit("|", 2)[1].replace(",", "")) for row in rows]
    assert sum(counts) == LENET5_PARAMETERS
    assert f"**{LENET5_PARAMETERS:,}**" in table
    assert "| 28 × 28 × 6 |" in table and "| 5 × 5 × 16 |" in table


def test_activation_derivatives_come_from_autodiff(tmp_path):
    text = site_content.activations(tmp_path)
    assert (tmp_path / "activations.svg").stat().st_size > 10_000
    relu = next(line for line in text.splitlines() if line.startswith("| ReLU"))
    leaky = next(line for line in text.splitlines() if line.startswith("| Leaky ReLU"))
    assert relu.endswith("| 0, 0, 2 | 0, 0, 1 |")  # TensorFlow's choice at 0 is 0
    assert "| -0.2, 0, 2 | 0.1, " in leaky and leaky.endswith(", 1 |")  # the course's slope 0.1


def test_the_batch_f1_table_shows_macro_f1_fixed_and_batch_f1_moving():
    rows = [
        line.split("|")[1:-1]
        for line in site_content.batch_f1_numbers().splitlines()
        if line.startswith("| ") and "T =" in line
    ]
    assert len(rows) == 3
    macro = {float(row[3]) for row in rows}
    streaming = {float(row[4]) for row in rows}
    assert len(macro) == 1 and macro == streaming  # same predictions, same true F1
    batch = [float(value) for row in rows for value in row[5:]]
    assert len(set(batch)) > 3  # the teaching example moves with confidence and batch size
    assert max(abs(value - next(iter(macro))) for value in batch) > 0.05


def test_regularisers_are_measured_on_real_layers():
    text = site_content.regularisers()
    dropped = re.search(r"\| ([\d.]+)% set to 0, the rest scaled to ([\d.]+); mean ([\d.]+)", text)
    assert dropped and 45 < float(dropped[1]) < 55 and float(dropped[2]) == 2
    assert "stops after epoch 9, restores the weights of epoch 6" in text


def test_the_grading_table_counts_the_released_points(tmp_path):
    for source in SOURCE.glob("*.ipynb"):
        (tmp_path / source.name).write_bytes(source.read_bytes())
    text = site_content.grading_rules(tmp_path)
    assert "**40**" in text
    assert "| `1_lenet5_mnist.ipynb` |" in text and "| 25 |" in text and "| 15 |" in text


def test_the_rules_page_states_the_limits_the_last_grading_run_used(tmp_path):
    for source in SOURCE.glob("*.ipynb"):
        (tmp_path / source.name).write_bytes(source.read_bytes())
    assert "(the defaults): 120 s per cell" in site_content.grading_rules(tmp_path)
    limits = tmp_path / "limits.json"
    limits.write_text(json.dumps(asdict(SandboxLimits(cell_timeout=45, notebook_timeout=300))))
    text = site_content.grading_rules(tmp_path, limits)
    assert "(as the last grading run used them): 45 s per cell, 5 minutes per notebook" in text


def test_the_grading_table_names_the_folder_without_notebooks(tmp_path):
    with pytest.raises(site_content.SiteContentError, match=str(tmp_path)):
        site_content.grading_rules(tmp_path)


def test_the_leaderboard_page_is_the_leaderboards_own_markdown_or_a_placeholder(tmp_path):
    assert "No scores yet" in site_content.leaderboard(tmp_path)
    (tmp_path / LEADERBOARD_MD).write_text("| Rank | Team |\n|---|---|\n| 1 | owls |\n")
    assert site_content.leaderboard(tmp_path).endswith("| 1 | owls |\n")


def test_the_api_reference_documents_every_public_name():
    import utilities

    text = site_content.api_reference()
    for name in utilities.__all__:
        assert re.search(rf"\.\. auto\w+:: utilities\.\w+\.{name}$", text, re.MULTILINE), name


def test_no_fragment_quotes_a_solution_or_hidden_test(tmp_path):
    secrets = set()
    for source in SOURCE.glob("*.ipynb"):
        secrets |= secret_lines(nbformat.read(source, as_version=4))
    text = site_content.lenet5_table() + site_content.regularisers() + site_content.api_reference()
    assert not [line for line in secrets if line in text]


def test_the_benchmarks_page_is_make_benchs_markdown_or_a_placeholder(tmp_path):
    results = tmp_path / "results.md"
    assert "Not measured yet" in site_content.benchmarks(results)
    results.write_text("## Time to accuracy\n\n| Machine |\n|---|\n| 2 CPU cores |\n")
    assert site_content.benchmarks(results).endswith("| 2 CPU cores |\n")
