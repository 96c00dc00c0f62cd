"""The reference models and recipes are the ones the solution notebooks build and train."""

from __future__ import annotations

import keras
import nbformat
import numpy as np
import pytest

from autograder.course.models import (
    FASHION_CNN_PARAMETERS,
    FASHION_RECIPE,
    LENET5_PARAMETERS,
    LENET5_RECIPE,
    Recipe,
    fashion_cnn,
    lenet5,
)
from conftest import REPO

SOURCE = REPO / "assignments" / "source" / "cnn"


def solution_namespace(notebook: str, *definitions: str) -> dict:
    """Run the solution cells that define ``definitions`` from the instructor's source notebook."""
    cells = nbformat.read(SOURCE / notebook, as_version=4).cells
    namespace = {"keras": keras, "layers": keras.layers, "np": np}
    for definition in definitions:
        cell = next(c for c in cells if c.cell_type == "code" and definition in c.source)
        exec(cell.source, namespace)
    return namespace


def layer_configs(model: keras.Model) -> list[dict]:
    return [layer.get_config() | {"name": ""} for layer in model.layers]


def test_the_reference_lenet5_is_the_solution_notebooks_lenet5():
    solution = solution_namespace("1_lenet5_mnist.ipynb", "def build_lenet5")["build_lenet5"]()
    assert layer_configs(solution) == layer_configs(lenet5())
    assert lenet5().count_params() == LENET5_PARAMETERS


def test_the_lenet5_recipe_is_the_solution_notebooks_training_run():
    cells = nbformat.read(SOURCE / "1_lenet5_mnist.ipynb", as_version=4).cells
    training = next(c.source for c in cells if c.cell_type == "code" and "lenet5.fit(" in c.source)
    assert f"else {LENET5_RECIPE.epochs}" in training
    assert f"batch_size={LENET5_RECIPE.batch_size}" in training
    compiling = next(
        c.source for c in cells if c.cell_type == "code" and "lenet5.compile(" in c.source
    )
    training_images = 52_500  # load_mnist's training split: seven eighths of 60,000
    namespace = {
        "keras": keras,
        "lenet5": lenet5(),
        "macro_f1": keras.metrics.F1Score,
        "mnist": {"X_train": np.zeros((training_images, 28, 28), dtype=np.uint8)},
    }
    exec(compiling, namespace)
    optimizer = namespace["lenet5"].optimizer
    assert type(optimizer) is type(keras.optimizers.Adam())  # PyTorch makes its own subclass
    steps_per_epoch = -(-training_images // LENET5_RECIPE.batch_size)
    expected = LENET5_RECIPE.learning_rate(steps_per_epoch)
    assert optimizer._learning_rate.get_config() == expected.get_config()
    # It starts at Adam's default rate, as Task 1.4 says.
    default = float(keras.ops.convert_to_numpy(keras.optimizers.Adam().learning_rate))
    assert float(expected(0)) == pytest.approx(default)


def test_the_reference_fashion_cnn_is_the_solution_notebooks_cnn():
    solution = solution_namespace("2_fashion_cnn.ipynb", "def build_fashion_cnn")
    model = solution["build_fashion_cnn"]()
    assert layer_configs(model) == layer_configs(fashion_cnn())
    assert model.count_params() == fashion_cnn().count_params() == FASHION_CNN_PARAMETERS
    assert FASHION_CNN_PARAMETERS < 500_000  # Part 2's budget


def test_the_first_two_block_reference_is_still_buildable_for_the_benchmarks():
    first = fashion_cnn(widths=(32, 64), dense_units=128, pool_first=False)
    assert first.count_params() == 421_930
    kinds = [type(layer).__name__ for layer in first.layers[2:6]]
    assert kinds == ["Conv2D", "BatchNormalization", "ReLU", "MaxPooling2D"]


def test_the_fashion_recipe_is_the_solution_notebooks_schedule():
    solution = solution_namespace("2_fashion_cnn.ipynb", "def compile_fashion_cnn")
    assert solution["FASHION_TRAINING"] == {
        "epochs": FASHION_RECIPE.epochs,
        "batch_size": FASHION_RECIPE.batch_size,
        "patience": FASHION_RECIPE.patience,
    }
    model = fashion_cnn()
    solution["compile_fashion_cnn"](model, steps_per_epoch=465, epochs=FASHION_RECIPE.epochs)
    schedule = model.optimizer._learning_rate  # Keras keeps the schedule object here
    assert schedule.get_config() == FASHION_RECIPE.learning_rate(465).get_config()


def test_the_one_cycle_schedule_warms_up_to_the_peak_then_decays():
    recipe = Recipe(
        epochs=10, batch_size=100, initial_learning_rate=1e-4, peak_learning_rate=1e-2,
        warmup_fraction=0.3, alpha=0.01,
    )  # fmt: skip
    schedule = recipe.learning_rate(steps_per_epoch=100)
    rates = [float(schedule(step)) for step in (0, 150, 300, 650, 1000)]
    assert rates[0] == pytest.approx(1e-4)
    assert rates[1] == pytest.approx((1e-4 + 1e-2) / 2, rel=1e-3)
    assert rates[2] == pytest.approx(1e-2)
    assert rates[2] > rates[3] > rates[4]
    assert rates[4] == pytest.approx(1e-4, rel=1e-3)  # alpha × peak
