"""The checker judges what a notebook computed from data alone, and judges it as the checks do.

Each test puts objects in a namespace that stands for the student's kernel,
lets the real checker ask for them as JSON (utilities.evidence), and compares
its verdict with what the same check says about the objects themselves. No
kernel is started: autograder.grading.checker.local wires the two halves
together in this process.
"""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from keras import layers, ops

from autograder.grading.checker.local import in_process_checker, verdict
from autograder.grading.checker.plan import CellNeeds, NotebookPlan
from autograder.grading.checker.rebuild import config_problem
from utilities import evidence

SETUP = (
    "import keras\nimport numpy as np\nfrom keras import layers, ops\n"
    "from utilities.checks import *\n"
)


def judge(tmp_path, namespace: dict, source: str, reads: tuple[str, ...], files=()) -> dict:
    """The checker's verdict on test ``source``, asking ``namespace`` for ``reads``."""
    plan = NotebookPlan(SETUP, (), {"t": CellNeeds(reads=reads, files=tuple(files))})
    (tmp_path / "nb").mkdir(exist_ok=True)
    checker = in_process_checker(plan, namespace, tmp_path / "nb", tmp_path / "checker")
    return verdict(checker, source, "t")


def lenet5_sequential():
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(6, 5, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(16, 5, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(120, activation="relu"),
            layers.Dense(84, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )


def lenet5_functional_with_separate_relus():
    inputs = keras.Input((28, 28, 1))
    x = layers.ReLU()(layers.Conv2D(6, 5, padding="same")(inputs))
    x = layers.MaxPooling2D(2)(x)
    x = layers.MaxPooling2D(2)(layers.Conv2D(16, 5)(x))
    x = layers.Activation("relu")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(120, activation="relu")(x)
    x = layers.Dense(84, activation="relu")(x)
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(x))


LENET5_TEST = """\
check_parameter_count(build_lenet5(), 61_706)
check_layers(build_lenet5(), [
    ("Conv2D", (None, 28, 28, 6), 156), ("MaxPooling2D", (None, 14, 14, 6), 0),
    ("Conv2D", (None, 10, 10, 16), 2_416), ("MaxPooling2D", (None, 5, 5, 16), 0),
    ("Flatten", (None, 400), 0), ("Dense", (None, 120), 48_120),
    ("Dense", (None, 84), 10_164), ("Dense", (None, 10), 850)])
first, second = build_lenet5(), build_lenet5()
check_new_model_each_call(first, second, "build_lenet5")
check_activations(first, [("Conv2D", "relu"), ("Conv2D", "relu"), ("Dense", "relu"),
                          ("Dense", "relu"), ("Dense", "softmax")])
check_classifier(first)
"""


@pytest.mark.parametrize("build", [lenet5_sequential, lenet5_functional_with_separate_relus])
def test_lenet5_in_any_plain_style_is_rebuilt_and_passes(tmp_path, build):
    found = judge(tmp_path, {"build_lenet5": build}, LENET5_TEST, ("build_lenet5",))
    assert found["status"] == "passed", found
    assert found["notes"] == [] and found["inconsistent"] == []


def test_a_wrong_lenet5_fails_with_the_message_the_check_gives_in_the_notebook(tmp_path):
    def wrong():  # padding left at "valid": 24x24 maps instead of 28x28
        return keras.Sequential(
            [
                keras.Input((28, 28, 1)),
                layers.Conv2D(6, 5, activation="relu"),
                layers.MaxPooling2D(2),
                layers.Conv2D(16, 5, activation="relu"),
                layers.MaxPooling2D(2),
                layers.Flatten(),
                layers.Dense(120, activation="relu"),
                layers.Dense(84, activation="relu"),
                layers.Dense(10, activation="softmax"),
            ]
        )

    found = judge(tmp_path, {"build_lenet5": wrong}, LENET5_TEST, ("build_lenet5",))
    assert found["status"] == "failed"
    from utilities.checks import check_parameter_count

    with pytest.raises(AssertionError) as local:
        check_parameter_count(wrong(), 61_706)
    assert found["evalue"] == str(local.value)


def test_the_same_model_returned_twice_is_caught_by_identity(tmp_path):
    cached = lenet5_sequential()
    found = judge(tmp_path, {"build_lenet5": lambda: cached}, LENET5_TEST, ("build_lenet5",))
    assert found["status"] == "failed"
    assert "a new model on every call" in found["evalue"]


def test_big_arrays_travel_as_sketches_and_are_checked_against_the_raw_pixels(tmp_path):
    raw = np.random.default_rng(1).integers(0, 256, (6000, 28, 28), dtype=np.uint8)
    right = (raw.astype("float32") / 255)[..., None]  # 18.8 MB: more than travels whole
    assert right.nbytes > evidence.FULL_ARRAY_BYTES
    test = "check_images(x, 'x', count=6000, raw=raw)"
    namespace = {"x": right, "raw": raw}
    assert judge(tmp_path, namespace, test, ("x", "raw"))["status"] == "passed"
    namespace["x"] = (raw.astype("float32") / 256)[..., None]
    found = judge(tmp_path, namespace, test, ("x", "raw"))
    assert found["status"] == "failed" and "raw / 255" in found["evalue"]


def test_one_wrong_image_among_thousands_is_found_by_the_row_digests(tmp_path):
    raw = np.random.default_rng(2).integers(0, 256, (6000, 28, 28), dtype=np.uint8)
    x = (raw.astype("float32") / 255)[..., None]
    x[4321] = x[4320]  # one image swapped for its neighbour: rarely in the sampled rows
    test = "check_images(x, 'x', 6000, raw=raw)"
    found = judge(tmp_path, {"x": x, "raw": raw}, test, ("x", "raw"))
    assert found["status"] == "failed" and "row 4321" in found["evalue"]


def test_arrays_that_are_not_plain_ndarrays_are_named_by_their_own_type(tmp_path):
    class AlwaysEqual(np.ndarray):
        def __eq__(self, other):
            return True

    x = np.zeros((2, 28, 28, 1), dtype=np.float32).view(AlwaysEqual)
    found = judge(tmp_path, {"x": x}, "check_images(x, 'x', count=2)", ("x",))
    assert found["status"] == "failed"
    assert "should be a numpy array, found AlwaysEqual" in found["evalue"]
    found = judge(tmp_path, {"x": ops.zeros((2, 28, 28, 1))}, "check_images(x, 'x', 2)", ("x",))
    assert "a tensor" in found["evalue"]


def test_a_subclassed_model_is_judged_by_its_answers_and_says_so(tmp_path):
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv1 = layers.Conv2D(8, 3, activation="relu")
            self.conv2 = layers.Conv2D(8, 3, activation="relu")
            self.pool = layers.GlobalAveragePooling2D()
            self.drop = layers.Dropout(0.2)
            self.out = layers.Dense(10, activation="softmax")

        def call(self, x, training=False):
            return self.out(self.drop(self.pool(self.conv2(self.conv1(x))), training=training))

    test = (
        "check_classifier(build())\ncheck_convolutions(build(), at_least=2)\n"
        "check_parameter_budget(build(), 500_000)"
    )
    found = judge(tmp_path, {"build": Net}, test, ("build",))
    assert found["status"] == "passed", found
    assert any("student's process only" in note for note in found["notes"])


def test_a_correct_f1_passes_and_a_numpy_f1_fails_inside_fit_as_in_the_notebook(tmp_path):
    def macro_f1(y_true, y_pred):
        classes = y_pred.shape[-1]
        if len(y_true.shape) == 2 and y_true.shape[-1] == classes:
            actual = ops.argmax(y_true, axis=-1)
        else:
            actual = ops.reshape(ops.cast(y_true, "int32"), (-1,))
        t = ops.one_hot(actual, classes)
        p = ops.one_hot(ops.argmax(y_pred, axis=-1), classes)
        tp = ops.sum(t * p, axis=0)
        errors = ops.sum(t, axis=0) + ops.sum(p, axis=0) - 2 * tp
        f1 = 2 * tp / ops.maximum(2 * tp + errors, 1.0)
        occurs = ops.cast(tp + errors > 0, f1.dtype)
        return ops.sum(f1 * occurs) / ops.maximum(ops.sum(occurs), 1.0)

    def numpy_f1(y_true, y_pred):
        from sklearn.metrics import f1_score

        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        actual = y_true.argmax(1) if y_true.ndim == 2 else y_true
        return f1_score(actual, y_pred.argmax(1), average="macro")

    test = (
        "rng = grading_rng()\nlabels = rng.integers(0, 10, 40)\n"
        "check_f1_function(f1, [(np.eye(10)[labels], rng.random((40, 10))), "
        "(labels, rng.random((40, 10)))])"
    )
    assert judge(tmp_path, {"f1": macro_f1}, test, ("f1",))["status"] == "passed"
    found = judge(tmp_path, {"f1": numpy_f1}, test, ("f1",))
    assert found["status"] == "failed" and "inside model.fit" in found["evalue"]


def fit_briefly(model):
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).random((64, 28, 28, 1), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[np.arange(64) % 10]
    return model.fit(x, y, epochs=1, batch_size=32, validation_data=(x, y), verbose=0)


def test_a_history_made_by_hand_does_not_pass_for_training(tmp_path):
    test = "check_trained(history, model)"
    model = lenet5_sequential()
    history = fit_briefly(model)
    assert (
        judge(tmp_path, {"model": model, "history": history}, test, ("history", "model"))["status"]
        == "passed"
    )
    fake_model = lenet5_sequential()
    fake_model.compile(optimizer="adam", loss="categorical_crossentropy")
    fake = keras.callbacks.History()
    fake.set_model(fake_model)
    fake.history = {"loss": [0.3], "val_loss": [0.35]}
    found = judge(tmp_path, {"model": fake_model, "history": fake}, test, ("history", "model"))
    assert found["status"] == "failed" and "0 training step" in found["evalue"]


def test_a_model_whose_answers_contradict_its_config_is_flagged(tmp_path, monkeypatch):
    model = lenet5_sequential()

    def forged(question_text, namespace):
        reply = json.loads(real_answer(question_text, namespace))
        probe = reply["value"].get("probe")
        if probe and "outputs" in probe:  # the kernel says its model computes something else
            outputs = evidence.array_from_text(probe["outputs"])
            probe["outputs"] = evidence.array_to_text(np.roll(outputs, 1, axis=1))
        return json.dumps(reply)

    real_answer = evidence.answer
    monkeypatch.setattr("autograder.grading.checker.local.answer", forged)
    found = judge(tmp_path, {"model": model}, "check_classifier(model)", ("model",))
    assert found["inconsistent"], found


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"module": "keras.layers", "class_name": "Lambda", "config": {}}, "Lambda"),
        ({"module": "os", "class_name": "system", "config": {}}, "not part of Keras"),
        (
            {"module": "keras.layers", "class_name": "Dense", "registered_name": "Mine>Dense"},
            "registered",
        ),
        ({"module": "keras.layers", "class_name": "TFSMLayer", "config": {}}, "TFSMLayer"),
    ],
)
def test_only_keras_own_allowed_layers_are_rebuilt(config, words):
    assert words in config_problem({"layers": [config]})
