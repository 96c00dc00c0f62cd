"""The one module that reaches past Keras's public API still does what it says.

Each workaround in :mod:`utilities.keras_compat` is held to the installed
Keras here: if an upgrade moves a private attribute or changes what it
holds, these fail before any check gives a wrong verdict.
"""

from __future__ import annotations

import keras
from keras import layers

from utilities import keras_compat


def _functional():
    inputs = keras.Input((4,))
    return keras.Model(inputs, layers.Dense(2)(inputs))


def test_the_workarounds_were_checked_against_this_keras():
    assert keras.__version__ == keras_compat.CHECKED_WITH, (
        f"Keras {keras.__version__} is installed; re-run these tests, check each workaround in "
        "utilities/keras_compat.py, then set CHECKED_WITH"
    )


def test_the_functional_class_is_the_class_keras_model_inputs_outputs_makes():
    assert type(_functional()) is keras_compat.functional_class()
    assert keras_compat.functional_class() is not keras.Model  # a subclass living in keras.src
    assert keras_compat.is_plain_model(_functional())
    assert keras_compat.is_plain_model(keras.Sequential([layers.Dense(1)]))

    class Mine(keras.Model):
        pass

    assert not keras_compat.is_plain_model(Mine())


def test_the_config_module_of_a_functional_model_is_the_one_its_saved_config_names():
    config = keras.saving.serialize_keras_object(_functional())
    assert config["module"] == keras_compat.functional_config_module()
    assert config["class_name"] == "Functional"


def test_compile_arguments_keep_the_metric_function_itself():
    def my_f1(y_true, y_pred):
        return keras.ops.mean(y_pred)

    model = _functional()
    model.compile(optimizer="adam", loss="mse", metrics=["accuracy", my_f1])
    arguments = keras_compat.compile_arguments(model)
    assert arguments["metrics"][1] is my_f1  # get_compile_config() would give its name
    assert arguments["loss"] == "mse"
    assert keras_compat.compile_arguments(_functional()) is None  # never compiled


def test_recorded_compile_arguments_win_for_a_rebuilt_copy():
    model = _functional()
    keras_compat.record_compile_arguments(model, {"loss": "categorical_crossentropy"})
    assert keras_compat.compile_arguments(model) == {"loss": "categorical_crossentropy"}


def test_flat_layers_open_nested_blocks_and_custom_layers():
    class Block(layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner = layers.Dense(3)

        def call(self, x):
            return self.inner(x)

    block = keras.Sequential([layers.Dense(5), layers.ReLU()])
    model = keras.Sequential([keras.Input((4,)), block, Block(), layers.Dense(2)])
    names = [type(layer).__name__ for layer in keras_compat.flat_layers(model)]
    # every layer, the nested ones included (Keras's tracking order inside a block is its own)
    assert sorted(names) == sorted(["Sequential", "Dense", "ReLU", "Block", "Dense", "Dense"])
    plain = [type(layer).__name__ for layer in keras_compat.plain_layers(model)]
    assert plain == ["Dense", "ReLU", "Block", "Dense"]  # public API: custom layers stay whole


def test_the_declared_input_is_the_input_layers_shape():
    assert keras_compat.declared_input(_functional()) == [None, 4]
    assert keras_compat.declared_input(keras.Sequential([layers.Dense(1)])) is None
