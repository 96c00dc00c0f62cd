"""The checks behind the notebook tests: right answers pass, wrong or hostile ones fail clearly."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers, ops

from utilities import batch_f1, checks

LENET5_LAYERS = [
    ("Conv2D", (None, 28, 28, 6), 156),
    ("MaxPooling2D", (None, 14, 14, 6), 0),
    ("Conv2D", (None, 10, 10, 16), 2_416),
    ("MaxPooling2D", (None, 5, 5, 16), 0),
    ("Flatten", (None, 400), 0),
    ("Dense", (None, 120), 48_120),
    ("Dense", (None, 84), 10_164),
    ("Dense", (None, 10), 850),
]


def lenet5(first_padding="same", separate_activations=False):
    def conv(filters, padding):
        if separate_activations:
            return [layers.Conv2D(filters, 5, padding=padding), layers.ReLU()]
        return [layers.Conv2D(filters, 5, padding=padding, activation="relu")]

    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            *conv(6, first_padding),
            layers.MaxPooling2D(),
            *conv(16, "valid"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(120, activation="relu"),
            layers.Dense(84, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )


def reference_f1(y_true, y_pred):
    num_classes = y_pred.shape[-1]
    if len(y_true.shape) == 2 and y_true.shape[-1] == num_classes:
        actual = ops.argmax(y_true, axis=-1)
    else:
        actual = ops.reshape(ops.cast(y_true, "int32"), (-1,))
    true = ops.one_hot(actual, num_classes)
    pred = ops.one_hot(ops.argmax(y_pred, axis=-1), num_classes)
    tp = ops.sum(true * pred, axis=0)
    errors = ops.sum(pred, axis=0) + ops.sum(true, axis=0) - 2 * tp
    f1 = 2 * tp / ops.maximum(2 * tp + errors, 1.0)
    occurs = ops.cast(tp + errors > 0, f1.dtype)
    return ops.sum(f1 * occurs) / ops.maximum(ops.sum(occurs), 1.0)


class AlwaysEqual:
    """A hostile object: equal to everything, and a number when asked."""

    def __eq__(self, other):
        return True

    __hash__ = None

    def __float__(self):
        return 1.0


F1_CASES = [
    (np.eye(4)[[0, 1, 2, 1, 1, 0]], np.eye(4)[[0, 1, 2, 2, 1, 1]] * 0.7 + 0.075),
    (np.array([0, 1, 2, 1, 1, 0]), np.eye(4)[[0, 1, 2, 2, 1, 1]] * 0.7 + 0.075),
    (np.array([[0], [1], [1]]), np.eye(3)[[0, 1, 0]]),
]


# --- arrays ---------------------------------------------------------------------------------


def test_check_images_accepts_scaled_float32_images_with_a_channel_axis():
    raw = np.arange(2 * 28 * 28, dtype=np.uint32).reshape(2, 28, 28) % 256
    images = (raw.astype("float32") / 255)[..., None]
    checks.check_images(images, "x", count=2, raw=raw.astype(np.uint8))


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (np.zeros((2, 28, 28, 1), dtype=np.float64), "dtype float32, found float64"),
        (np.zeros((2, 28, 28), dtype=np.float32), "shape (2, 28, 28, 1), found (2, 28, 28)"),
        (
            np.full((2, 28, 28, 1), 255, dtype=np.float32),
            "scaled to [0, 1] (raw / 255), found values from 255",
        ),
        (np.full((2, 28, 28, 1), np.nan, dtype=np.float32), "NaN"),
        ([[0.0]], "should be a numpy array, found list"),
        (AlwaysEqual(), "should be a numpy array, found AlwaysEqual"),
        (ops.zeros((2, 28, 28, 1)), "convert it with ops.convert_to_numpy"),
    ],
)
def test_check_images_names_the_variable_and_what_is_wrong(images, message):
    with pytest.raises(AssertionError, match=r"^x ") as error:
        checks.check_images(images, "x", count=2)
    assert message in str(error.value)


def test_check_images_catches_images_that_are_scaled_but_not_from_the_raw_pixels():
    raw = np.full((2, 28, 28), 200, dtype=np.uint8)
    with pytest.raises(AssertionError, match="divided by 255"):
        checks.check_images(np.zeros((2, 28, 28, 1), np.float32), "x", count=2, raw=raw)


def test_an_ndarray_subclass_is_not_accepted_as_an_array():
    class Sneaky(np.ndarray):
        pass

    images = np.zeros((2, 28, 28, 1), np.float32).view(Sneaky)
    with pytest.raises(AssertionError, match="found Sneaky"):
        checks.check_images(images, "x", count=2)


def test_check_one_hot_compares_every_row_with_the_labels():
    labels = np.array([3, 0, 9])
    checks.check_one_hot(np.eye(10, dtype=np.float32)[labels], "y", labels=labels)
    with pytest.raises(AssertionError, match="1 rows differ, first row 2 encodes 8 for label 9"):
        checks.check_one_hot(np.eye(10, dtype=np.float32)[[3, 0, 8]], "y", labels=labels)
    with pytest.raises(AssertionError, match="should hold floats"):
        checks.check_one_hot(np.eye(10, dtype=np.int64)[labels], "y", labels=labels)
    with pytest.raises(AssertionError, match="exactly one 1 in each row"):
        checks.check_one_hot(np.full((3, 10), 0.1, np.float32), "y")


# --- models ---------------------------------------------------------------------------------


def test_lenet5_matches_the_specification_with_fused_or_separate_activations():
    for model in (lenet5(), lenet5(separate_activations=True)):
        checks.check_layers(model, LENET5_LAYERS)
        checks.check_parameter_count(model, 61_706)
        checks.check_activations(
            model, [("Conv2D", "relu")] * 2 + [("Dense", "relu")] * 2 + [("Dense", "softmax")]
        )
        checks.check_classifier(model)


def test_valid_padding_in_the_first_convolution_is_reported_layer_by_layer():
    wrong = lenet5(first_padding="valid")
    with pytest.raises(AssertionError) as error:
        checks.check_layers(wrong, LENET5_LAYERS)
    message = str(error.value)
    assert "layer 1 (Conv2D): output shape (None, 24, 24, 6), expected (None, 28, 28, 6)" in message
    assert "layer 6 (Dense): parameters 30840, expected 48120" in message
    with pytest.raises(AssertionError, match="44,426 trainable parameters, expected 61,706"):
        checks.check_parameter_count(wrong, 61_706)


def test_conv_pool_relu_and_nested_blocks_read_as_the_same_lenet5():
    conv_pool_relu = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(6, 5, padding="same"),
            layers.MaxPooling2D(),
            layers.ReLU(),
            layers.Conv2D(16, 5),
            layers.MaxPooling2D(),
            layers.Activation("relu"),
            layers.Flatten(),
            layers.Dense(120, activation="relu"),
            layers.Dense(84, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    block = lambda filters, padding: keras.Sequential(  # noqa: E731
        [layers.Conv2D(filters, 5, padding=padding, activation="relu"), layers.MaxPooling2D()]
    )
    head = keras.Sequential(
        [
            layers.Flatten(),
            layers.Dense(120, activation="relu"),
            layers.Dense(84, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    nested = keras.Sequential(
        [keras.Input((28, 28, 1)), block(6, "same"), block(16, "valid"), head]
    )
    expected = [("Conv2D", "relu")] * 2 + [("Dense", "relu")] * 2 + [("Dense", "softmax")]
    for model in (conv_pool_relu, nested):
        checks.check_layers(model, LENET5_LAYERS)
        checks.check_activations(model, expected)


def test_a_softmax_after_pooling_is_not_taken_for_the_layer_before_it():
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), layers.Conv2D(6, 5), layers.MaxPooling2D(), layers.Softmax()]
    )
    assert checks.activations(model) == [("Conv2D", "linear")]


def test_part_2_checks_accept_subclassed_and_nested_models_and_find_their_convolutions():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.blocks = [layers.Conv2D(8, 3), layers.MaxPooling2D(), layers.Conv2D(8, 3)]
            self.unused = layers.Conv2D(4, 3)  # never called: not counted
            self.head = layers.Dense(10, activation="softmax")

        def call(self, x):
            for layer in self.blocks:
                x = layer(x)
            return self.head(layers.Flatten()(x))

    nested = keras.Sequential(
        [
            keras.Sequential([layers.Conv2D(8, 3), layers.SeparableConv2D(8, 3)]),
            layers.GlobalAveragePooling2D(),
            layers.Dense(10, activation="softmax"),
        ]
    )
    for model in (Net(), nested):  # neither has a keras.Input: both are built on a batch
        checks.check_classifier(model)
        checks.check_parameter_budget(model, 500_000)
        assert len(checks.convolution_layers(model)) == 2
    with pytest.raises(AssertionError, match="more than the budget of 1,000"):
        checks.check_parameter_budget(Net(), 1_000)
    with pytest.raises(AssertionError, match="should be a Keras model"):
        checks.check_classifier(AlwaysEqual())


def test_a_missing_layer_is_reported():
    model = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(10)])
    with pytest.raises(AssertionError, match=r"2 layers .* expected 8"):
        checks.check_layers(model, LENET5_LAYERS)


def test_models_must_be_plain_keras_models_so_their_methods_cannot_lie():
    class Liar(keras.Sequential):
        def count_params(self):
            return 61_706

    liar = Liar([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(10)])
    with pytest.raises(AssertionError, match="found Liar"):
        checks.check_parameter_count(liar, 61_706)
    with pytest.raises(AssertionError, match=r"keras\.Sequential or keras\.Model"):
        checks.check_parameter_count(AlwaysEqual(), 61_706)


def test_a_model_without_an_input_is_read_as_its_first_batch_would_build_it():
    def body():
        return [
            layers.Conv2D(6, 5, padding="same", activation="relu"),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ]

    without = keras.Sequential(body())
    declared = keras.Sequential([keras.Input((28, 28, 1)), *body()])
    assert checks.layer_table(without) == checks.layer_table(declared)
    assert checks.layer_table(without)[0] == ("Conv2D", (None, 28, 28, 6), 156)


def test_check_classifier_needs_softmax_rows():
    logits = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(10)])
    with pytest.raises(AssertionError, match=r"probabilities|sum to 1"):
        checks.check_classifier(logits)
    wrong_input = keras.Sequential([keras.Input((32, 32, 1)), layers.Flatten(), layers.Dense(10)])
    with pytest.raises(AssertionError, match=r"input shape is \(None, 32, 32, 1\)"):
        checks.check_classifier(wrong_input)


def test_parameter_budget_counts_every_weight():
    model = lenet5()
    checks.check_parameter_budget(model, 61_706)
    with pytest.raises(AssertionError, match="61,706 parameters, more than the budget of 61,705"):
        checks.check_parameter_budget(model, 61_705)


# --- compile configuration -------------------------------------------------------------------


def compiled(**overrides):
    model = lenet5()
    settings = {
        "optimizer": keras.optimizers.Adam(),
        "loss": keras.losses.CategoricalCrossentropy(),
        "metrics": ["accuracy", reference_f1],
    }
    model.compile(**{**settings, **overrides})
    return model


def test_check_compiled_accepts_the_specified_configuration_in_its_usual_spellings():
    checks.check_compiled(compiled(), reference_f1)
    checks.check_compiled(
        compiled(optimizer="adam", loss="categorical_crossentropy", metrics=[reference_f1, "acc"]),
        reference_f1,
    )
    checks.check_compiled(
        compiled(
            loss="CategoricalCrossentropy",
            metrics=[keras.metrics.CategoricalAccuracy(name="hits"), reference_f1],
        ),
        reference_f1,
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"loss": "mse"}, "loss should be CategoricalCrossentropy, found 'mse'"),
        ({"optimizer": keras.optimizers.SGD()}, "optimizer should be Adam, found SGD"),
        ({"metrics": [reference_f1]}, "include accuracy"),
        ({"metrics": ["accuracy", "mse"]}, "include your F1 function"),
        (
            {"loss": keras.losses.CategoricalCrossentropy(from_logits=True)},
            "treats the model's outputs as logits",
        ),
        ({"metrics": [keras.metrics.Accuracy(), reference_f1]}, "include accuracy"),
    ],
)
def test_check_compiled_says_which_setting_is_wrong(overrides, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_compiled(compiled(**overrides), reference_f1)


def test_a_compiled_model_without_an_input_is_still_checked_for_its_compile_settings():
    model = keras.Sequential([layers.Flatten(), layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["acc", reference_f1])
    checks.check_compiled(model, reference_f1)


@pytest.mark.slow
def test_the_training_history_may_name_its_accuracy_as_keras_does():
    x = np.random.default_rng(0).random((8, 28, 28, 1), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[np.arange(8)]
    for accuracy in ("acc", keras.metrics.CategoricalAccuracy()):
        model = compiled(metrics=[accuracy, reference_f1])
        history = model.fit(x, y, epochs=1, validation_data=(x, y), verbose=0)
        checks.check_training_history(history, model, reference_f1)
    model = compiled(metrics=["accuracy"])
    history = model.fit(x, y, epochs=1, validation_data=(x, y), verbose=0)
    with pytest.raises(AssertionError, match="no 'reference_f1'"):
        checks.check_training_history(history, model, reference_f1)
    with pytest.raises(AssertionError, match=r"what model\.fit"):
        checks.check_training_history(history, lenet5(), reference_f1)


def test_a_model_class_that_redefines_what_keras_reports_is_not_trusted():
    class Liar(keras.Model):
        def __init__(self):
            super().__init__()
            self.head = layers.Dense(10, activation="softmax")

        def call(self, x):
            return self.head(layers.Flatten()(x))

        def count_params(self):
            return 61_706

    liar = Liar()
    liar.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["acc", reference_f1])
    for check in (
        lambda: checks.check_compiled(liar, reference_f1),
        lambda: checks.check_classifier(liar),
        lambda: checks.check_parameter_budget(liar, 500_000),
    ):
        with pytest.raises(AssertionError, match="redefines Keras's own count_params"):
            check()


def test_an_uncompiled_model_is_explained():
    with pytest.raises(AssertionError, match="not compiled"):
        checks.check_compiled(lenet5(), reference_f1)


# --- the F1 function -------------------------------------------------------------------------


def test_a_correct_f1_function_passes_one_hot_index_and_absent_class_cases():
    checks.check_f1_function(reference_f1, F1_CASES)


def test_the_batch_wise_f1_snippet_fails_with_both_numbers():
    from utilities import batch_f1

    with pytest.raises(AssertionError, match=r"case 1 .*your F1 is 0\.\d+, sklearn's macro F1 is"):
        checks.check_f1_function(batch_f1, [(np.eye(2)[[0, 0, 0, 0, 1]], np.eye(2)[[0] * 5])])


def numpy_f1(y_true, y_pred):
    from sklearn.metrics import f1_score

    actual = np.asarray(y_true)
    actual = actual.argmax(axis=1) if actual.ndim == 2 and actual.shape[1] > 1 else actual.ravel()
    return f1_score(actual, np.asarray(y_pred).argmax(axis=1), average="macro")


def absent_class_zero_f1(y_true, y_pred):
    classes = y_pred.shape[-1]
    true = ops.one_hot(ops.argmax(y_true, axis=-1), classes)
    pred = ops.one_hot(ops.argmax(y_pred, axis=-1), classes)
    tp = ops.sum(true * pred, axis=0)
    return ops.mean(2 * tp / ops.maximum(ops.sum(true, axis=0) + ops.sum(pred, axis=0), 1.0))


@pytest.mark.skipif(
    keras.backend.backend() == "torch",
    reason="PyTorch runs metrics eagerly, so numpy works inside its fit; TensorFlow (the "
    "grader's backend) and JAX trace them",
)
def test_an_f1_written_with_numpy_passes_on_arrays_but_fails_as_model_fit_runs_it():
    with pytest.raises(AssertionError, match=r"inside model\.fit.*numpy inside a Keras metric"):
        checks.check_f1_function(numpy_f1, F1_CASES[:1])


def micro_f1(y_true, y_pred):
    hits = ops.cast(ops.argmax(y_true, axis=-1) == ops.argmax(y_pred, axis=-1), "float32")
    return ops.mean(hits)


@pytest.mark.parametrize(
    ("function", "case", "cause"),
    [
        (absent_class_zero_f1, F1_CASES[0], "an absent class counted as F1 = 0"),
        (micro_f1, (np.eye(2)[[0, 0, 0, 1]], np.eye(2)[[0, 0, 0, 0]]), "micro-averaged F1"),
        (batch_f1, (np.eye(3)[[0, 1, 2]], np.full((3, 3), 1 / 3) + np.eye(3) * 0.01), "rounded"),
    ],
)
def test_a_wrong_f1_is_explained_by_its_likely_cause(function, case, cause):
    with pytest.raises(AssertionError, match=f"likely cause: {cause}"):
        checks.check_f1_function(function, [case])


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (lambda y_true, y_pred: AlwaysEqual(), "should be numbers"),
        (lambda y_true, y_pred: ops.ones((3,)), "one number"),
        (lambda y_true, y_pred: "0.5", "should be numbers"),
        (lambda y_true, y_pred: np.array(1.0), "your F1 is 1.000000"),
    ],
)
def test_hostile_or_wrong_f1_results_do_not_pass(function, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_f1_function(function, F1_CASES)


def test_check_submission_uses_the_leaderboard_checker(tmp_path):
    from utilities import SubmissionError, make_submission

    path = make_submission(np.arange(20) % 10, tmp_path / "submission.csv")
    checks.check_submission(path, rows=20)
    with pytest.raises(SubmissionError, match="20"):
        checks.check_submission(path, rows=21)


def _guessing_model():
    """A small untrained classifier: weak, like a model trained in fast mode, but not constant."""
    keras.utils.set_random_seed(3)
    return keras.Sequential(
        [keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(10, activation="softmax")]
    )


def test_a_submission_lines_up_when_it_is_the_model_or_built_on_it(tmp_path):
    from utilities import make_submission

    model = _guessing_model()
    images = np.random.default_rng(0).random((3_000, 28, 28, 1), dtype=np.float32)
    own = model.predict(images, verbose=0).argmax(axis=1)
    path = make_submission(own, tmp_path / "submission.csv")
    checks.check_predictions_line_up(path, model, images)
    # Test-time augmentation or an ensemble changes some answers, not the order of the rows.
    changed = own.copy()
    changed[::5] = (changed[::5] + 1) % 10
    checks.check_predictions_line_up(make_submission(changed, path), model, images)


@pytest.mark.parametrize(
    "mistake",
    ["shuffled", "other images", "one class"],
)
def test_a_submission_whose_rows_do_not_line_up_fails(tmp_path, mistake):
    from utilities import make_submission

    model = _guessing_model()
    rng = np.random.default_rng(1)
    images = rng.random((3_000, 28, 28, 1), dtype=np.float32)
    own = model.predict(images, verbose=0).argmax(axis=1)
    wrong = {
        "shuffled": rng.permutation(own),
        "other images": model.predict(rng.random(images.shape, dtype=np.float32), verbose=0).argmax(
            axis=1
        ),
        "one class": np.full(len(own), np.bincount(own).argmax()),
    }[mistake]
    path = make_submission(wrong, tmp_path / "submission.csv")
    with pytest.raises(AssertionError, match="do not line up"):
        checks.check_predictions_line_up(path, model, images)


# -- whether a model learned: its own behaviour, not what the kernel says ---------------------


@pytest.fixture(scope="module")
def digits():
    from utilities import load_mnist

    data = load_mnist()
    return (
        data["X_train"][:2048],
        data["y_train"][:2048],
        data["X_val"][-512:],
        data["y_val"][-512:],
    )


def _small_cnn():
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(8, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ]
    )


def test_a_trained_model_shows_that_it_learned_and_an_untrained_one_does_not(digits):
    from utilities.checks.training import learned

    x, y, x_new, y_new = digits
    for seed in range(5):  # fresh models guess, whatever their random start
        keras.utils.set_random_seed(seed)
        model = _small_cnn()
        assert learned(model, x_new, y_new) == "", f"seed {seed}"
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x[..., None] / 255.0, y, batch_size=64, epochs=1, verbose=0)
    assert "right" in learned(model, x_new, y_new)


def _forged(model):
    """A History made by hand and the optimizer's step counter set: fit never ran."""
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = keras.callbacks.History()
    history.set_model(model)
    history.history = {"loss": [0.3], "val_loss": [0.35]}
    model.optimizer.iterations.assign(500)  # what a forger sets
    return history


def _review_requests(check) -> list[str]:
    from utilities.checks import base

    base.REVIEW_REQUESTS = []
    try:
        check()
        return list(base.REVIEW_REQUESTS)
    finally:
        base.REVIEW_REQUESTS = None


def test_a_forged_step_count_on_an_untrained_model_fails(digits):
    """The kernel's step counter can be written by hand; the model's weights and behaviour
    are the checker's."""
    _, _, x_new, y_new = digits
    model = _small_cnn()
    history = _forged(model)
    with pytest.raises(AssertionError, match="the model was not trained") as raised:
        checks.check_trained(history, model, images=x_new, labels=y_new)
    assert "bias weights are still exactly where Keras starts them" in str(raised.value)


def test_one_short_step_that_teaches_nothing_visible_still_counts_as_training(digits):
    x, y, x_new, y_new = digits
    model = _small_cnn()
    model.compile(optimizer=keras.optimizers.SGD(1e-4), loss="sparse_categorical_crossentropy")
    history = model.fit(x[:32, ..., None] / 255.0, y[:32], epochs=1, verbose=0)
    history.history["val_loss"] = history.history["loss"]
    # nothing to see in its answers, but its biases left zero
    assert (
        learned_text(model, x_new, y_new) == "its bias weights moved from where Keras starts them"
    )
    requests = _review_requests(
        lambda: checks.check_trained(history, model, images=x_new, labels=y_new)
    )
    assert requests == []


def learned_text(model, images, labels) -> str:
    from utilities.checks.training import learned

    return learned(model, images, labels)


def test_a_model_without_weights_that_tell_passes_a_forged_count_only_with_a_review(digits):
    _, _, x_new, y_new = digits
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(8, 3, activation="relu", use_bias=False),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(10, activation="softmax", use_bias=False),
        ]
    )
    history = _forged(model)
    requests = _review_requests(
        lambda: checks.check_trained(history, model, images=x_new, labels=y_new)
    )
    assert len(requests) == 1 and "does not show the training" in requests[0]
