"""Grading runs the cells tests depend on; every other cell keeps the student's own outputs.

The plan (:func:`autograder.grading.checker.plan.cells_to_run`) reads the
student's own notebook: a cell runs when a test depends on it through names,
files or objects it changes, and whenever in doubt (solutions, imports,
magics, file writers when a test reads a file). The last two tests run small
notebooks through the real executor in the sandbox.
"""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from notebook_runner import errors, run, text

from autograder.grading.checker.plan import cells_to_run, plan_notebook
from autograder.grading.pipeline.own_outputs import NOT_RERUN, NOT_RUN, Budget, keep_outputs
from autograder.grading.sandbox import SandboxLimits


def _notebook(*cells):
    """Cells as (kind, source): "code", "markdown", "solution" or "test"."""
    made = []
    for index, (kind, source) in enumerate(cells):
        cell = new_markdown_cell(source) if kind == "markdown" else new_code_cell(source)
        if kind in ("solution", "test"):
            cell.metadata["nbgrader"] = {
                "grade": kind == "test",
                "solution": kind == "solution",
                "grade_id": f"{kind}{index}",
                "points": 1,
            }
        made.append(cell)
    return new_notebook(cells=made)


def _runs(notebook) -> list[int]:
    return sorted(cells_to_run(notebook.cells, plan_notebook(notebook)))


def test_cells_no_test_depends_on_are_not_run():
    notebook = _notebook(
        ("code", "import numpy as np"),
        ("solution", "def answer():\n    return 42"),
        ("code", "import time\n\ntime.sleep(20)"),  # imports, but binds nothing a test needs
        ("code", "plot_training_history(history)"),  # reads, binds nothing a test needs
        ("code", "summary = answer() * 2"),  # binds a name no test reads
        ("test", "assert answer() == 42"),
        ("code", "print('after the last test')"),
    )
    assert _runs(notebook) == [1]  # numpy is read by no test and no solution


def test_what_a_test_reads_runs_with_everything_it_needs():
    notebook = _notebook(
        ("code", "from utilities import *"),
        ("code", "data = load_mnist()"),
        ("code", "scale = 255"),
        ("solution", "x = data['X_train'] / scale"),
        ("code", "plot_sample_images(x, data['y_train'])"),
        ("test", "check_images(x, 'x', count=10)"),
    )
    assert _runs(notebook) == [0, 1, 2, 3]


def test_a_cell_that_changes_an_object_a_test_reads_runs():
    notebook = _notebook(
        ("code", "import keras"),
        ("solution", "def build():\n    return keras.Sequential([keras.layers.Dense(2)])"),
        ("code", "model = build()"),
        ("code", "model.compile(optimizer='adam', loss='mse')"),  # changes model in place
        ("code", "model.summary()"),
        ("test", "assert model.optimizer is not None"),
    )
    assert _runs(notebook) == [0, 1, 2, 3]


def test_when_in_doubt_a_cell_runs():
    notebook = _notebook(
        ("code", "%matplotlib inline"),  # a magic: no static reading
        ("code", "exec('hidden = 1')"),  # exec: anything may happen
        ("code", "from somewhere import *"),  # binds names no one can list
        ("solution", "def unused():\n    return 1"),  # solutions always run
        ("code", "name = 'out' + '.bin'"),
        ("code", "open(name, 'wb').write(b'1')"),  # may write the file the test reads
        ("code", "print('a plot')"),
        ("test", "assert open('out.bin', 'rb').read() == b'1'"),
    )
    assert _runs(notebook) == [0, 1, 2, 3, 4, 5]


def test_a_notebook_without_tests_runs_nothing():
    assert _runs(_notebook(("code", "print(1)"), ("solution", "x = 1"))) == []


def test_own_outputs_are_rebuilt_from_plain_parts_and_capped():
    kept = keep_outputs(
        [
            {"output_type": "stream", "name": "stdout", "text": ["loss ", "0.3\n"]},
            {"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": "<F>"}},
            {"output_type": "display_data", "data": {"application/javascript": "alert(1)"}},
            {"output_type": "execute_result", "data": {"text/html": "<b>x</b>"}, "metadata": {}},
            {"output_type": "stream", "name": "stdin", "text": "?"},
            "not an output",
        ],
        Budget(),
    )
    assert [output.output_type for output in kept] == ["stream", "display_data", "execute_result"]
    assert kept[0].text == "loss 0.3\n"
    assert set(kept[1].data) == {"image/png", "text/plain"}
    budget = Budget(left=10)
    assert (
        keep_outputs([{"output_type": "stream", "name": "stdout", "text": "x" * 11}], budget) == []
    )
    assert budget.dropped == 1


HANGS_IF_RUN = "while True:\n    pass"
FIGURE = new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})


@pytest.mark.integration
def test_a_cell_that_would_hang_is_kept_as_the_student_ran_it_and_the_tests_earn_their_points(
    tmp_path,
):
    cells, events = run(
        tmp_path,
        "import numpy as np",
        "def answer():\n    return 42",
        HANGS_IF_RUN,  # a "plot" cell that would hang in grading
        "raise RuntimeError('would fail if run')",  # never run by the student either
        "assert answer() == 42",
        grade=(4,),
        solutions=(1,),
        outputs={2: [FIGURE]},
        limits=SandboxLimits(cell_timeout=20),
    )
    assert errors(cells[4]) == []  # the test passed
    assert text(cells[2]).startswith(f"[{NOT_RERUN}]")
    assert cells[2].outputs[1] == FIGURE  # the student's own figure, unchanged
    assert text(cells[3]) == f"[{NOT_RUN}]\n"
    kinds = [event["kind"] for event in events]
    assert kinds == ["not_rerun"], events
    # the import no solution needs is not run either (the checker imports for itself)
    assert "3 cells no test depends on" in events[0]["detail"]
    assert "(cells 1, 3, 4)" in events[0]["detail"]


@pytest.mark.integration
def test_a_cell_that_writes_a_file_a_test_reads_is_run_again(tmp_path):
    """Its file name is not even written out: the cell may write a file, so it runs."""
    cells, _ = run(
        tmp_path,
        "import numpy as np",
        "def answer():\n    return 42",
        "name = 'result.' + 'txt'",
        "with open(name, 'w') as out:\n    out.write(str(answer()))",
        "print('a plot')",
        "assert open('result.txt').read() == '42'",
        grade=(5,),
        solutions=(1,),
        outputs={3: [new_output("stream", name="stdout", text="old output\n")]},
    )
    assert errors(cells[5]) == []
    assert NOT_RERUN not in text(cells[3]) and "old output" not in text(cells[3])
    assert text(cells[4]).startswith(f"[{NOT_RERUN}]") or text(cells[4]) == f"[{NOT_RUN}]\n"
    assert nbformat.validate(new_notebook(cells=cells)) is None
