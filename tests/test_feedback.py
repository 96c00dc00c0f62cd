"""Feedback redaction: hidden tests never reach a student, however they were printed."""

from __future__ import annotations

from nbformat.v4 import new_code_cell, new_notebook, new_output

from autograder.feedback import REDACTED, hidden_lines, redact_notebook

HIDDEN_TEST = """# Test 1.2, hidden part (1 point)
### BEGIN HIDDEN TESTS
check_parameter_count(build_lenet5(), 61706)
assert secret_threshold_value == 0.125
### END HIDDEN TESTS
"""


def _autograded():
    test = new_code_cell(HIDDEN_TEST, metadata={"nbgrader": {"grade": True, "grade_id": "t"}})
    test.outputs = [
        new_output(
            "error",
            ename="AssertionError",
            evalue="44,426 trainable parameters, expected 61,706",
            traceback=["----> 3 check_parameter_count(build_lenet5(), 61706)", "AssertionError"],
        )
    ]
    spy = new_code_cell("print(In)")
    spy.outputs = [
        new_output("stream", name="stdout", text="CELL: " + HIDDEN_TEST),
        new_output(
            "execute_result", data={"text/plain": "'assert secret_threshold_value == 0.125'"}
        ),
    ]
    return new_notebook(cells=[test, spy])


def test_hidden_lines_are_the_long_lines_inside_the_hidden_region():
    assert hidden_lines(_autograded().cells) == {
        "check_parameter_count(build_lenet5(), 61706)",
        "assert secret_threshold_value == 0.125",
    }


def test_the_hidden_region_is_replaced_by_a_note_and_the_visible_part_stays():
    notebook = _autograded()
    redact_notebook(notebook)
    source = notebook.cells[0].source
    assert source.startswith("# Test 1.2, hidden part (1 point)\n")
    assert "(hidden tests ran here; they are not shown)" in source
    assert "61706" not in source and "BEGIN HIDDEN" not in source


def test_a_failing_hidden_test_shows_only_its_message():
    notebook = _autograded()
    redact_notebook(notebook)
    (error,) = notebook.cells[0].outputs
    assert error.traceback == ["AssertionError: 44,426 trainable parameters, expected 61,706"]


def test_copies_printed_by_the_student_are_removed_from_every_output():
    notebook = _autograded()
    redact_notebook(notebook)
    printed = notebook.cells[1].outputs[0].text
    assert "secret_threshold_value" not in printed and "check_parameter_count" not in printed
    assert printed.count(REDACTED) == 2
    assert "### BEGIN HIDDEN TESTS" in printed  # the marker line alone gives nothing away
    shown = notebook.cells[1].outputs[1].data["text/plain"]
    assert shown == REDACTED


def test_a_notebook_without_hidden_tests_is_left_alone():
    notebook = new_notebook(cells=[new_code_cell("print(1)")])
    notebook.cells[0].outputs = [new_output("stream", name="stdout", text="1\n")]
    before = notebook.copy()
    redact_notebook(notebook)
    assert notebook == before
