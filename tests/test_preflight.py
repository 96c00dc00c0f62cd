"""Preflight: every broken or edited notebook gets a plain-words finding, never a traceback."""

from __future__ import annotations

import copy
import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.preflight import preflight


def _graded(cell, grade_id, *, locked=False, solution=False, grade=True, points=1):
    cell.metadata["nbgrader"] = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "solution": solution,
        "points": points,
        "schema_version": 3,
    }
    return cell


@pytest.fixture
def release():
    return new_notebook(
        cells=[
            _graded(new_markdown_cell("# Header"), "header", locked=True, grade=False),
            _graded(new_code_cell("# YOUR CODE HERE"), "answer", solution=True, grade=False),
            _graded(new_code_cell("assert answer() == 42"), "test_answer", locked=True),
        ]
    )


def _write(tmp_path, notebook, name="part.ipynb"):
    path = tmp_path / name
    nbformat.write(notebook, path)
    return path


def test_a_clean_submission_has_no_findings(tmp_path, release):
    submitted = copy.deepcopy(release)
    submitted.cells[1].source = "def answer():\n    return 42"
    result = preflight(_write(tmp_path, submitted), release, "part.ipynb")
    assert result.usable
    assert result.problems == [] and result.review == []


@pytest.mark.parametrize(
    ("content", "finding"),
    [
        (b"", "the file is empty"),
        (b'{"cells": [', "not valid JSON (line 1, column 12"),
        (b'{"nbformat": 2, "worksheets": []}', "found nbformat 2"),
        (b"[1, 2, 3]", "not a Jupyter notebook"),
        (
            b'{"nbformat": 4, "nbformat_minor": 5, "cells": 7, "metadata": {}}',
            "not a valid notebook",
        ),
    ],
)
def test_an_unreadable_file_scores_zero_and_says_why(tmp_path, release, content, finding):
    path = tmp_path / "part.ipynb"
    path.write_bytes(content)
    result = preflight(path, release, "part.ipynb")
    assert not result.usable
    (problem,) = result.problems
    assert problem.startswith("part.ipynb: ") and finding in problem
    assert problem.endswith("scores 0") or "scores 0" in problem


def test_an_old_nbformat_3_notebook_is_upgraded(tmp_path, release):
    path = tmp_path / "part.ipynb"
    nbformat.write(nbformat.convert(copy.deepcopy(release), 3), path, version=3)
    result = preflight(path, release, "part.ipynb")
    assert result.usable and result.notebook.nbformat == 4
    assert result.problems == ["part.ipynb: upgraded from nbformat 3 to 4"]


def test_deleted_duplicated_retyped_and_edited_cells_are_each_reported(tmp_path, release):
    submitted = copy.deepcopy(release)
    submitted.cells[0] = new_code_cell("print('no header')", metadata=submitted.cells[0].metadata)
    submitted.cells[2].source = "pass  # the test is gone"
    submitted.cells.append(copy.deepcopy(submitted.cells[1]))
    submitted.cells.append(_graded(new_code_cell("x = 1"), "my_own_cell"))
    del submitted.cells[1]
    result = preflight(_write(tmp_path, submitted), release, "part.ipynb")
    assert result.usable
    assert result.problems == [
        "part.ipynb: unknown graded cells ignored: my_own_cell",
        "part.ipynb: cell header was changed from markdown to code; changed back",
        "part.ipynb: read-only cell header was edited; restored from the source",
        "part.ipynb: read-only cell test_answer was edited; restored from the source",
    ]
    submitted = copy.deepcopy(release)
    del submitted.cells[2]
    submitted.cells.append(copy.deepcopy(submitted.cells[1]))
    result = preflight(_write(tmp_path, submitted), release, "part.ipynb")
    assert result.problems == [
        "part.ipynb: deleted graded cells put back from the source: test_answer",
        "part.ipynb: duplicated graded cells, only the first copy counts: answer",
    ]
    # nbgrader 0.9.6 crashes on emptied metadata: the second copy is made an ordinary cell.
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in result.notebook.cells]
    assert ids == ["header", "answer", None]


@pytest.mark.parametrize(
    ("code", "meaning"),
    [
        ("get_ipython().showtraceback = lambda *a: None", "reports errors"),
        ("import builtins\nbuiltins.AssertionError = Exception", "builtins"),
        ("import utilities.checks\nutilities.checks.fail = print", "grading checks"),
        ("import os\nos._exit(0)", "exits or starts processes"),
        ("import socket", "network"),
        ("class A:\n    def __eq__(self, other):\n        return True", "__eq__"),
        ("import sys\nsys.modules['utilities.checks'] = None", "interpreter's hooks"),
    ],
)
def test_code_that_reaches_into_the_grader_is_marked_for_review(tmp_path, release, code, meaning):
    submitted = copy.deepcopy(release)
    submitted.cells.insert(1, new_code_cell(code))
    result = preflight(_write(tmp_path, submitted), release, "part.ipynb")
    assert result.problems == []
    assert len(result.review) >= 1
    assert result.review[0].startswith("part.ipynb, cell 2: ")
    assert any(meaning in line for line in result.review)


def test_locked_cells_are_not_scanned_because_the_source_replaces_them(tmp_path, release):
    submitted = copy.deepcopy(release)
    submitted.cells[2].source = "import socket"
    result = preflight(_write(tmp_path, submitted), release, "part.ipynb")
    assert result.review == []


def test_an_oversized_file_is_refused_without_being_parsed(tmp_path, release, monkeypatch):
    monkeypatch.setattr("autograder.preflight.MAX_NOTEBOOK_BYTES", 100)
    path = tmp_path / "part.ipynb"
    path.write_text(json.dumps({"x": "y" * 200}))
    result = preflight(path, release, "part.ipynb")
    assert not result.usable
    assert "over the 0 MB limit" in result.problems[0] or "limit" in result.problems[0]
