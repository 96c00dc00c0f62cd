"""Every requirement a hidden test checks is written in its task's text.

A hidden test's source never reaches students, so what it checks must be in
the words they read. Each hidden test is parsed: every check it calls must be
in :data:`STATED`, with the phrases that state that requirement, and each of
those phrases must appear in the text of the task the test belongs to (the
markdown from the task's heading to the test). Every number the test compares
with (a budget, a count) must be written there too. A new check in a hidden
test, or a task rewritten without one of its requirements, fails here.
"""

from __future__ import annotations

import ast
import re

import nbformat
import pytest

from autograder.course.folder import DEFAULT_COURSE_ROOT
from autograder.course.markers import DEFAULT_MARKERS

SOURCE = DEFAULT_COURSE_ROOT / "source" / "cnn"
#: Per check a hidden test may call: the phrases (any one of each tuple) that state it.
STATED: dict[str, list[tuple[str, ...]]] = {
    "check_images": [("(N, 28, 28, 1)", "28 × 28 × 1", "channel axis"), ("[0, 1]",), ("float32",)],
    "check_one_hot": [("one-hot",)],
    "check_new_model_each_call": [("new, untrained model", "new model each time")],
    "check_activations": [("ReLU after every convolution",), ("softmax at the end",)],
    "check_classifier": [("probabilities",)],
    "check_f1_function": [
        ("class indices",),
        ("inside `model.fit`",),
        ("classes that occur in `y_true` or in the predictions",),
    ],
    "check_training_history": [
        ("`history` is what `lenet5.fit(...)` returned",),
        ("validation images",),
        ("`macro_f1`",),
        ("finite",),
        ("really was trained", "real training steps"),
        ("better than guessing",),
        ("weights have moved from where Keras starts them",),
    ],
    "check_parameter_budget": [("parameters",)],
    "check_trained": [
        ("what `fashion_model.fit(...)` returned",),
        ("real training steps",),
        ("better than guessing",),
        ("weights have moved from where Keras starts them",),
    ],
    "check_predictions_line_up": [("your model's predictions for the test images in their order",)],
    "grading_rng": [],  # where new inputs come from: nothing a student must do
}


def hidden_tests():
    """(notebook, grade id, the hidden source, the task text before it) for each hidden test."""
    found = []
    for path in sorted(SOURCE.glob("*.ipynb")):
        task = ""
        for cell in nbformat.read(path, 4).cells:
            if cell.cell_type == "markdown" and "### Task" in cell.source:
                task = cell.source
            elif cell.cell_type == "markdown":
                task += "\n" + cell.source
            regions = DEFAULT_MARKERS.hidden_region().findall(cell.source)
            if regions:
                grade_id = cell.metadata["nbgrader"]["grade_id"]
                found.append((path.stem, grade_id, "\n".join(regions), task))
    return found


HIDDEN = hidden_tests()


def _called(source: str) -> set[str]:
    tree = ast.parse(
        source.replace("### BEGIN HIDDEN TESTS", "").replace("### END HIDDEN TESTS", "")
    )
    return {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }


def _numbers(source: str) -> set[int]:
    """Integer literals of 1,000 or more that a test compares with (budgets, counts)."""
    tree = ast.parse(
        source.replace("### BEGIN HIDDEN TESTS", "").replace("### END HIDDEN TESTS", "")
    )
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and type(node.value) is int and node.value >= 1000
    }


def _plain(text: str) -> str:
    return " ".join(text.split()).lower()


def test_every_notebook_has_hidden_tests():
    assert {notebook for notebook, *_ in HIDDEN} == {"1_lenet5_mnist", "2_fashion_cnn"}
    assert len(HIDDEN) >= 6


@pytest.mark.parametrize(("notebook", "test", "source", "task"), HIDDEN, ids=lambda v: str(v)[:30])
def test_each_check_of_a_hidden_test_is_stated_in_its_task(notebook, test, source, task):
    checks = {name for name in _called(source) if name.startswith("check_") or name in STATED}
    unknown = checks - set(STATED)
    assert not unknown, f"{test} calls {sorted(unknown)}: say in STATED where its task states them"
    text = _plain(task)
    for check in sorted(checks):
        for phrases in STATED[check]:
            assert any(_plain(phrase) in text for phrase in phrases), (
                f"{notebook}: {test} runs {check}, but its task never says {phrases[0]!r}"
            )


@pytest.mark.parametrize(("notebook", "test", "source", "task"), HIDDEN, ids=lambda v: str(v)[:30])
def test_each_number_a_hidden_test_compares_with_is_in_its_task(notebook, test, source, task):
    text = _plain(task)
    for number in sorted(_numbers(source)):
        written = {f"{number:,}", str(number), f"{number:,}".replace(",", " ")}
        assert any(form in text for form in written) or re.search(rf"\b{number}\b", text), (
            f"{notebook}: {test} compares with {number:,}, which its task does not state"
        )
