"""The source notebooks of assignment `cnn`: clean, consistently graded, and every number true.

These tests read the notebooks without running them; test_release.py runs them.
"""

from __future__ import annotations

import re
from pathlib import Path

import keras
import nbformat
import numpy as np
import pytest

from autograder.course.folder import DEFAULT_COURSE_ROOT

SOURCE = DEFAULT_COURSE_ROOT / "source" / "cnn"
PART1 = SOURCE / "1_lenet5_mnist.ipynb"
PART2 = SOURCE / "2_fashion_cnn.ipynb"
NOTEBOOKS = [PART1, PART2]
TOTAL_POINTS = 40


def read(path: Path):
    return nbformat.read(path, as_version=4)


def nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def cell(notebook, name: str, by: str = "grade_id"):
    """The cell with this grade id (or, with ``by="id"``, this cell id)."""
    (found,) = [
        c
        for c in notebook.cells
        if (nbgrader(c).get("grade_id") if by == "grade_id" else c.id) == name
    ]
    return found


def solution_namespace(path: Path, *grade_ids: str) -> dict:
    """Run the setup cell and the given solution cells of a source notebook."""
    notebook = read(path)
    namespace: dict = {}
    setup = next(c for c in notebook.cells if c.cell_type == "code")
    for source in [setup.source] + [cell(notebook, grade_id).source for grade_id in grade_ids]:
        exec(compile(source, f"{path.name}", "exec"), namespace)
    return namespace


def graded_tasks(path: Path) -> dict[str, dict[str, float]]:
    """Points per task, split into visible tests, hidden tests and answers read by a TA."""
    tasks: dict[str, dict[str, float]] = {}
    current = None
    for c in read(path).cells:
        heading = re.search(r"### Task (\d\.\d)", c.source)
        if c.cell_type == "markdown" and heading:
            current = heading.group(1)
        meta = nbgrader(c)
        if not meta.get("grade"):
            continue
        if c.cell_type == "code":
            task = re.match(r"# Test (\d\.\d)", c.source).group(1)
            kind = "hidden" if "BEGIN HIDDEN TESTS" in c.source else "visible"
        else:
            task, kind = current, "ta"
        tasks.setdefault(task, {"visible": 0, "hidden": 0, "ta": 0})[kind] += meta["points"]
    return tasks


def header_table(path: Path) -> dict[str, tuple[float, str]]:
    header = read(path).cells[0].source
    rows = re.findall(r"^\| (\d\.\d) \| [^|]+ \| (\d+) \| ([^|]+) \|$", header, re.MULTILINE)
    return {task: (float(points), how.strip()) for task, points, how in rows}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_source_notebooks_are_valid_and_saved_without_outputs(path):
    notebook = read(path)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    for c in notebook.cells:
        if c.cell_type == "code":
            assert c.outputs == [] and c.execution_count is None, c.source[:60]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_graded_cell_is_well_formed(path):
    for c in read(path).cells:
        meta = nbgrader(c)
        if not meta:
            continue
        assert meta["schema_version"] == 3
        if meta["grade"] and c.cell_type == "code":
            assert meta["locked"] and not meta["solution"] and meta["points"] > 0, meta
            assert c.source.startswith("# Test "), meta["grade_id"]
            assert c.source.count("### BEGIN HIDDEN TESTS") == c.source.count(
                "### END HIDDEN TESTS"
            )
        if meta["solution"] and c.cell_type == "code":
            assert c.source.count("### BEGIN SOLUTION") == c.source.count("### END SOLUTION") > 0
        if meta["solution"] and c.cell_type == "markdown":
            assert meta["grade"] and meta["points"] > 0
            assert "**Model answer.**" in c.source and "**Rubric (" in c.source


def test_grade_ids_are_unique_across_the_assignment():
    ids = [nbgrader(c)["grade_id"] for path in NOTEBOOKS for c in read(path).cells if nbgrader(c)]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_grading_table_in_each_header_matches_the_graded_cells(path):
    table = header_table(path)
    tasks = graded_tasks(path)
    assert sorted(table) == sorted(tasks)
    for task, points in tasks.items():
        total, how = table[task]
        assert total == sum(points.values()), task
        if points["ta"]:
            assert how == "read by a TA", task
        else:
            words = [f"{points['visible']:g} visible"] + (
                [f"{points['hidden']:g} hidden"] if points["hidden"] else []
            )
            assert how == "tests: " + ", ".join(words), task
    header = read(path).cells[0].source
    auto = sum(p["visible"] + p["hidden"] for p in tasks.values())
    manual = sum(p["ta"] for p in tasks.values())
    assert f"| **{auto + manual:g}** | {auto:g} by tests, {manual:g} by a TA |" in header
    assert f"totals **{TOTAL_POINTS} points**" in header


def test_the_two_parts_add_up_to_the_announced_total():
    totals = [sum(sum(p.values()) for p in graded_tasks(path).values()) for path in NOTEBOOKS]
    assert sum(totals) == TOTAL_POINTS
    assert f"Part 2 is worth {totals[1]:g} more points" in read(PART1).cells[0].source
    assert f"Part 1 ({totals[0]:g} points)" in read(PART2).cells[0].source


# --- every number about LeNet5 is the real model's ------------------------------------------------


@pytest.fixture(scope="module")
def lenet5_rows():
    model = solution_namespace(PART1, "lenet5")["build_lenet5"]()
    rows = []
    for layer in model.layers:
        params = sum(int(np.prod(w.shape)) for w in layer.trainable_weights)
        rows.append((type(layer).__name__, tuple(layer.output.shape), params))
    return rows, model.count_params()


def test_the_reference_lenet5_has_the_specified_size(lenet5_rows):
    _, total = lenet5_rows
    assert total == 61_706
    assert "The model has **61,706** trainable parameters" in "\n".join(
        c.source for c in read(PART1).cells
    )


def test_the_specification_table_lists_the_real_output_shapes(lenet5_rows):
    rows, _ = lenet5_rows
    spec = next(c.source for c in read(PART1).cells if "### Task 1.2" in c.source)
    found = re.findall(r"^\| \d \| `(\w+)` \|[^|]*\| ([\d × ]+) \|$", spec, re.MULTILINE)
    expected = [(kind, " × ".join(map(str, shape[1:]))) for kind, shape, _ in rows]
    assert found == expected


def test_the_visible_layer_test_expects_the_real_layers(lenet5_rows):
    rows, _ = lenet5_rows
    namespace: dict = {}
    source = cell(read(PART1), "test_lenet5_layers").source
    table = source[source.index("LENET5_LAYERS = [") : source.index("]\n") + 1]
    exec(table, namespace)
    assert namespace["LENET5_LAYERS"] == rows


def _by_hand_answer() -> str:
    return cell(read(PART2), "answer_by_hand").source


def test_the_by_hand_model_answer_has_the_reference_networks_real_costs():
    """Task 2.3's table: every shape, parameter count and multiply-add, computed from Keras."""
    from autograder.course.arithmetic import layer_costs
    from autograder.course.models import fashion_cnn

    costs = [
        c for c in layer_costs(fashion_cnn()) if c.kind not in ("RandomFlip", "ReLU", "Dropout")
    ]
    row = r"^\| (\w+)[^|]*\| ([\d × ]+) \|([^|]*)\|([^|]*)\|$"
    found = re.findall(row, _by_hand_answer(), re.MULTILINE)
    assert [kind for kind, *_ in found] == [c.kind for c in costs]

    def last_number(text: str) -> int:
        numbers = re.findall(r"(\d[\d,{}]*)\$?\s*$", text.strip())
        return int(re.sub(r"[^\d]", "", numbers[-1])) if numbers else 0

    for (kind, shape, parameters, work), cost in zip(found, costs, strict=True):
        assert shape.strip() == " × ".join(map(str, cost.shape)), kind
        assert last_number(parameters) == cost.parameters, (kind, parameters)
        assert last_number(work) == cost.multiply_adds, (kind, work)
    total_parameters = sum(c.parameters for c in costs)
    total_work = sum(c.multiply_adds for c in costs)
    assert f"**{total_parameters:,}**" in _by_hand_answer()
    assert f"**{total_work:,}**" in _by_hand_answer()


def test_the_by_hand_model_answers_receptive_field_and_shares_are_computed():
    from autograder.course.arithmetic import layer_costs
    from autograder.course.models import fashion_cnn

    costs = layer_costs(fashion_cnn())
    last_convolution = [c for c in costs if c.kind == "Conv2D"][-1]
    answer = _by_hand_answer()
    field = last_convolution.receptive_field
    assert f"{field} × {field} patch" in answer and f"→ {field} (conv)" in answer
    dense = [c for c in costs if c.kind == "Dense"]
    convolutions = [c for c in costs if c.kind == "Conv2D"]
    parameters = sum(c.parameters for c in costs)
    work = sum(c.multiply_adds for c in costs)
    assert 0.74 < dense[0].parameters / parameters < 0.77  # "three quarters of the parameters"
    assert dense[0].multiply_adds / work < 0.04  # "under 4 % of the multiply-adds"
    later = convolutions[1:]
    assert round(100 * sum(c.multiply_adds for c in later) / work) == 93  # "93 % of the work"
    assert sum(c.parameters for c in later) / parameters < 0.25  # "under a quarter"


def test_the_taught_formulas_give_the_keras_numbers_for_the_reference_network():
    """The formulas in Task 2.3's text, applied by hand, agree with the layers Keras builds."""
    from autograder.course.arithmetic import layer_costs
    from autograder.course.models import fashion_cnn

    task = cell(read(PART2), "task-by-hand", by="id").source
    assert "(K_h K_w C_\\mathrm{in} + 1)" in task and "H_\\mathrm{out} W_\\mathrm{out}" in task
    size = 28
    shapes = []
    for cost in layer_costs(fashion_cnn()):
        if cost.kind == "MaxPooling2D":
            size = (size - 2) // 2 + 1  # ⌊(W − K + 2P)/S⌋ + 1 with K = S = 2, P = 0
        shapes.append((cost.kind, size))
        assert cost.shape[:1] in ((), (size,)) or cost.kind in ("Flatten", "Dense", "Dropout")
    assert shapes[-1][1] == 3  # the floor: 7 -> 3


# --- part 2 ---------------------------------------------------------------------------------------


def test_the_parameter_budget_is_the_same_in_the_header_and_in_every_test():
    notebook = read(PART2)
    (announced,) = re.findall(r"at most \*\*([\d,]+) parameters\*\*", notebook.cells[0].source)
    budget = int(announced.replace(",", ""))
    tested = [
        int(value.replace("_", ""))
        for c in notebook.cells
        if nbgrader(c).get("grade")
        for value in re.findall(r"check_parameter_budget\(\w+(?:\(\))?, ([\d_]+)\)", c.source)
    ]
    assert tested and set(tested) == {budget}


def test_the_reference_cnn_fits_the_budget_and_is_a_softmax_classifier():
    from utilities.checks import check_classifier, check_parameter_budget

    namespace = solution_namespace(PART2, "fashion_model")
    model = namespace["build_fashion_cnn"]()
    check_classifier(model)
    budget = re.search(r"at most \*\*([\d,]+) parameters", read(PART2).cells[0].source).group(1)
    check_parameter_budget(model, int(budget.replace(",", "")))
    assert namespace["build_fashion_cnn"]() is not model
    assert isinstance(namespace["FASHION_TRAINING"]["epochs"], int)
    keras.backend.clear_session()
