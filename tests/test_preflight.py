"""Preflight: every broken or edited notebook gets a plain-words finding, never a traceback.

Whatever the bytes, preflight returns either a notebook that nbformat
validates, with the release's grading metadata on every graded cell, or
``usable=False`` with one problem that ends in "this notebook scores 0".
"""

from __future__ import annotations

import copy
import json
import os
import threading

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.grading.pipeline import preflight as preflight_module
from autograder.grading.pipeline.preflight import MAX_NESTING, preflight


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


def _write_json(tmp_path, data, name="part.ipynb"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def _ids(notebook):
    return [c.metadata.get("nbgrader", {}).get("grade_id") for c in notebook.cells]


def _as_json(notebook) -> dict:
    return json.loads(nbformat.writes(notebook))


def _assert_scores_zero(result, finding):
    assert not result.usable
    (problem,) = result.problems
    assert problem.startswith("part.ipynb: ") and finding in problem, problem
    assert problem.endswith("; this notebook scores 0"), problem


def _assert_gradable(result, release):
    """What nbgrader needs: a valid notebook whose graded cells carry the release's metadata."""
    assert result.usable, result.problems
    nbformat.validate(result.notebook)
    nbformat.writes(result.notebook).encode("utf-8")
    released = {c.metadata["nbgrader"]["grade_id"]: c for c in release.cells}
    for cell in result.notebook.cells:
        if "nbgrader" in cell.metadata:
            original = released[cell.metadata["nbgrader"]["grade_id"]]
            assert cell.metadata == original.metadata
            assert cell.cell_type == original.cell_type
    assert _ids(result.notebook).count(None) + len(released) == len(result.notebook.cells)


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
    # nbgrader 0.9.6 crashes on emptied metadata: the second copy is made an ordinary cell,
    # and the deleted test is put back after the cell before it in the release.
    assert _ids(result.notebook) == ["header", "answer", "test_answer", None]


@pytest.mark.parametrize(
    ("code", "meaning"),
    [
        ("get_ipython().showtraceback = lambda *a: None", "reports errors"),
        ("_shell = get_ipython()\n_shell.run_cell = print", "runs cells"),
        ("getattr(get_ipython(), 'input_transformers_' + 'cleanup').append(id)", "runs cells"),
        ("get_ipython().input_transformers_cleanup.append(id)", "runs cells"),
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
    monkeypatch.setattr("autograder.grading.pipeline.preflight.MAX_NOTEBOOK_BYTES", 100)
    path = tmp_path / "part.ipynb"
    path.write_text(json.dumps({"x": "y" * 200}))
    result = preflight(path, release, "part.ipynb")
    assert not result.usable
    assert "over the 0 MB limit" in result.problems[0] or "limit" in result.problems[0]


# ---- bytes nbgrader could not process score 0 with a reason ----------------------------


@pytest.mark.parametrize(
    "content",
    [
        b'{"nbformat": 4, "cells": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [], "x": '
        + b"[" * (MAX_NESTING + 1)
        + b"]" * (MAX_NESTING + 1)
        + b"}",
    ],
    ids=["past the recursion limit", "past the nesting limit"],
)
def test_deep_nesting_scores_zero_with_a_reason(tmp_path, release, content):
    path = tmp_path / "part.ipynb"
    path.write_bytes(content)
    _assert_scores_zero(preflight(path, release, "part.ipynb"), "nested over")


def test_a_huge_integer_scores_zero_with_a_reason(tmp_path, release):
    path = tmp_path / "part.ipynb"
    path.write_bytes(b'{"nbformat": 4, "cells": [], "metadata": {"n": ' + b"7" * 100_000 + b"}}")
    _assert_scores_zero(preflight(path, release, "part.ipynb"), "a number too long to read")


@pytest.mark.parametrize(
    ("data", "finding"),
    [
        ({"nbformat": 5, "nbformat_minor": 0, "cells": []}, "found nbformat 5"),
        ({"nbformat": "4", "cells": []}, "found a string as its nbformat version"),
        ({"nbformat": True, "cells": []}, "found a boolean"),
        ({"cells": []}, "it has no nbformat version"),
        ({"nbformat": 4, "cells": {"0": {}}}, "its cells are not a list"),
        ({"nbformat": 4, "cells": "print(1)"}, "its cells are not a list"),
        ({"nbformat": 3, "worksheets": 5}, "not a valid nbformat 3 notebook"),
        ("a string", "the file holds a JSON string"),
    ],
)
def test_what_is_not_a_notebook_scores_zero_with_a_reason(tmp_path, release, data, finding):
    result = preflight(_write_json(tmp_path, data), release, "part.ipynb")
    _assert_scores_zero(result, finding)


def test_too_many_cells_score_zero(tmp_path, release, monkeypatch):
    monkeypatch.setattr(preflight_module, "MAX_CELLS", 10)
    data = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{}] * 11}
    result = preflight(_write_json(tmp_path, data), release, "part.ipynb")
    _assert_scores_zero(result, "11 cells, over the 10 limit")


def test_a_symlink_is_refused_by_preflight_too(tmp_path, release):
    source = _write(tmp_path, release, "source.ipynb")
    (tmp_path / "part.ipynb").symlink_to(source)
    result = preflight(tmp_path / "part.ipynb", release, "part.ipynb")
    _assert_scores_zero(result, "a symbolic link; submissions must be files, not links")
    (tmp_path / "folder").symlink_to(tmp_path, target_is_directory=True)
    result = preflight(tmp_path / "folder" / "source.ipynb", release, "part.ipynb", root=tmp_path)
    _assert_scores_zero(result, "a symbolic link")


def test_a_pipe_is_refused_without_blocking(tmp_path, release):
    os.mkfifo(tmp_path / "part.ipynb")
    results = []
    reader = threading.Thread(
        target=lambda: results.append(preflight(tmp_path / "part.ipynb", release, "part.ipynb")),
        daemon=True,
    )
    reader.start()
    reader.join(timeout=10)
    assert results, "preflight blocked on a pipe"
    _assert_scores_zero(results[0], "not a regular file")


def test_a_bug_in_preflight_costs_one_notebook_and_asks_for_review(tmp_path, release, monkeypatch):
    def broken(*arguments):
        raise KeyError("surprise")

    monkeypatch.setattr(preflight_module, "_rebuild", broken)
    result = preflight(_write(tmp_path, release), release, "part.ipynb")
    _assert_scores_zero(result, "the grader could not check this notebook")
    assert result.review == ["part.ipynb: preflight failed (KeyError: 'surprise')"]


# ---- what nbgrader would trip over is repaired, and said ---------------------------------


def _submitted(release, **changes_by_grade_id):
    data = _as_json(release)
    for cell in data["cells"]:
        changes = changes_by_grade_id.get(cell["metadata"]["nbgrader"]["grade_id"], {})
        cell.update(changes)
    return data


@pytest.mark.parametrize(
    "broken",
    [["test_answer"], {"id": "test_answer"}, 7, None, ""],
    ids=["list", "dict", "number", "null", "empty"],
)
def test_a_grade_id_that_is_not_a_string_makes_an_ordinary_cell(tmp_path, release, broken):
    data = _as_json(release)
    data["cells"][2]["metadata"]["nbgrader"]["grade_id"] = broken
    data["cells"][2]["source"] = "pass  # my own test"
    result = preflight(_write_json(tmp_path, data), release, "part.ipynb")
    _assert_gradable(result, release)
    assert _ids(result.notebook) == ["header", "answer", "test_answer", None]
    assert result.problems == [
        "part.ipynb: deleted graded cells put back from the source: test_answer",
        "part.ipynb: broken grading metadata, graded as ordinary cells: cell 3",
    ]


@pytest.mark.parametrize("broken", ["locked", ["grade"], 5, True])
def test_nbgrader_metadata_that_is_not_a_dict_makes_an_ordinary_cell(tmp_path, release, broken):
    data = _as_json(release)
    data["cells"][1]["metadata"]["nbgrader"] = broken
    result = preflight(_write_json(tmp_path, data), release, "part.ipynb")
    _assert_gradable(result, release)
    assert "part.ipynb: broken grading metadata, graded as ordinary cells: cell 2" in (
        result.problems
    )


def test_edited_grading_flags_points_and_tags_are_replaced_by_the_release(tmp_path, release):
    data = _as_json(release)
    test_cell = data["cells"][2]
    test_cell["metadata"]["nbgrader"].update(solution=True, locked=False, points=100, grade="yes")
    test_cell["metadata"]["tags"] = ["skip-execution", "raises-exception"]
    test_cell["metadata"]["nbgrader"]["checksum"] = ["not", "a", "string"]
    data["cells"][1]["metadata"]["nbgrader"]["schema_version"] = 99
    result = preflight(_write_json(tmp_path, data), release, "part.ipynb")
    _assert_gradable(result, release)
    assert result.notebook.cells[2].metadata == release.cells[2].metadata  # no skip-execution tag


def test_cells_that_are_not_cells_are_dropped_and_said(tmp_path, release):
    data = _as_json(release)
    data["cells"][1:1] = [
        "print('hi')",
        7,
        None,
        {"cell_type": 5, "source": "x"},
        {"cell_type": "heading", "source": "x", "level": 1},
        {"source": "no type"},
        ["code"],
    ]
    result = preflight(_write_json(tmp_path, data), release, "part.ipynb")
    _assert_gradable(result, release)
    assert _ids(result.notebook) == ["header", "answer", "test_answer"]
    assert result.problems == [
        "part.ipynb: not notebook cells (no known cell type), dropped: cells 2, 3, 4, 5, 6, 7, 8"
    ]


def test_sources_outputs_and_counts_of_the_wrong_type_are_repaired(tmp_path, release):
    data = _as_json(release)
    data["cells"].append({"cell_type": "code", "source": 42, "execution_count": "3"})
    data["cells"].append({"cell_type": "code", "source": ["a = 1\n", 2], "outputs": 5})
    data["cells"].append(
        {
            "cell_type": "code",
            "source": ["b = 2\n", "c = 3"],
            "outputs": [{"output_type": "bogus"}, "x"],
            "execution_count": -1,
            "metadata": "not a dict",
            "id": "bad id with spaces",
        }
    )
    result = preflight(_write_json(tmp_path, data), release, "part.ipynb")
    _assert_gradable(result, release)
    added = result.notebook.cells[3:]
    assert [cell.source for cell in added] == ["", "", "b = 2\nc = 3"]
    assert all(cell.outputs == [] and cell.execution_count is None for cell in added)
    assert result.problems == [
        "part.ipynb: a source that is not text, emptied: cells 4, 5",
    ]


def test_attachments_that_cannot_be_read_are_dropped(tmp_path, release):
    data = _as_json(release)
    good = {"image.png": {"image/png": "iVBORw0KGgo="}}
    data["cells"].append({"cell_type": "markdown", "source": "![](attachment:image.png)"})
    data["cells"][-1]["attachments"] = good
    for broken in (["image.png"], {"image.png": "iVBOR"}, {"x": {"image/png": 5}}, 7):
        data["cells"].append({"cell_type": "markdown", "source": "x", "attachments": broken})
    data["cells"].append({"cell_type": "code", "source": "x", "attachments": good})
    result = preflight(_write_json(tmp_path, data), release, "part.ipynb")
    _assert_gradable(result, release)
    assert result.notebook.cells[3].attachments == good
    assert "attachments" not in result.notebook.cells[-1]  # code cells have none
    assert result.problems == [
        "part.ipynb: attachments that cannot be read, dropped: cells 5, 6, 7, 8",
    ]


def test_nul_characters_and_lone_surrogates_are_replaced(tmp_path, release):
    path = tmp_path / "part.ipynb"
    text = nbformat.writes(release).replace("# YOUR CODE HERE", "x = '\\u0000 \\ud800'")
    path.write_text(text)
    result = preflight(path, release, "part.ipynb")
    _assert_gradable(result, release)
    assert result.notebook.cells[1].source == "x = '\ufffd \ufffd'"
    assert result.problems == [
        "part.ipynb: NUL characters or invalid text, replaced by U+FFFD: cell 2"
    ]


def test_invalid_utf8_is_replaced_and_said(tmp_path, release):
    path = tmp_path / "part.ipynb"
    path.write_bytes(nbformat.writes(release).encode().replace(b"YOUR CODE", b"YOUR \xff CODE"))
    result = preflight(path, release, "part.ipynb")
    _assert_gradable(result, release)
    (problem,) = result.problems
    assert problem.startswith("part.ipynb: not valid UTF-8 from byte ")
    assert "\ufffd" in result.notebook.cells[1].source


def test_a_byte_order_mark_is_accepted(tmp_path, release):
    path = tmp_path / "part.ipynb"
    path.write_bytes(b"\xef\xbb\xbf" + nbformat.writes(release).encode())
    result = preflight(path, release, "part.ipynb")
    _assert_gradable(result, release)
    assert result.problems == []


def test_a_future_minor_version_is_rebuilt_as_the_current_one(tmp_path, release):
    data = _as_json(release)
    data["nbformat_minor"] = 99
    data["metadata"] = {"kernelspec": 5, "nbgrader": [1], "widgets": {"a": [[[[[]]]]]}}
    result = preflight(_write_json(tmp_path, data), release, "part.ipynb")
    _assert_gradable(result, release)
    assert result.notebook.nbformat_minor == nbformat.v4.nbformat_minor
    assert result.notebook.metadata == release.metadata
    assert result.problems == []


def test_a_notebook_in_another_language_runs_with_python_as_released(tmp_path, release):
    data = _as_json(release)
    data["metadata"] = {"kernelspec": {"name": "ir", "language": "R\x1b[2J"}}
    result = preflight(_write_json(tmp_path, data), release, "part.ipynb")
    _assert_gradable(result, release)
    assert result.notebook.metadata == release.metadata
    assert result.problems == [
        "part.ipynb: saved with a R\\x1b[2J kernel; run with Python, as released"
    ]


def test_invalid_and_duplicate_cell_ids_are_replaced(tmp_path, release):
    data = _as_json(release)
    data["cells"][0]["id"] = "same"
    data["cells"][1]["id"] = "same"
    data["cells"][2]["id"] = "x" * 65
    data["cells"].append({"cell_type": "raw", "source": "", "id": ["not", "a", "string"]})
    result = preflight(_write_json(tmp_path, data), release, "part.ipynb")
    _assert_gradable(result, release)
    ids = [cell.id for cell in result.notebook.cells]
    assert ids[0] == "same" and len(set(ids)) == len(ids)


def test_a_cell_changed_to_raw_is_changed_back_with_nothing_code_cells_cannot_hold(
    tmp_path, release
):
    data = _as_json(release)
    data["cells"][1] = {
        "cell_type": "raw",
        "id": "answer-cell",
        "source": "def answer():\n    return 42",
        "metadata": data["cells"][1]["metadata"],
        "attachments": {"a.png": {"image/png": "iVBOR"}},
    }
    result = preflight(_write_json(tmp_path, data), release, "part.ipynb")
    _assert_gradable(result, release)
    answer = result.notebook.cells[1]
    assert answer.cell_type == "code" and "attachments" not in answer
    assert answer.source == "def answer():\n    return 42" and answer.id == "answer-cell"
    assert result.problems == ["part.ipynb: cell answer was changed from code to raw; changed back"]


def test_a_deleted_solution_cell_and_its_test_are_both_put_back_in_order(tmp_path, release):
    # nbgrader 0.9.6 raises KeyError when it puts back a test whose preceding cell is gone.
    data = _as_json(release)
    del data["cells"][1:3]
    data["cells"].append({"cell_type": "code", "source": "print('after')"})
    result = preflight(_write_json(tmp_path, data), release, "part.ipynb")
    _assert_gradable(result, release)
    assert _ids(result.notebook) == ["header", "answer", "test_answer", None]
    assert result.problems == [
        "part.ipynb: deleted graded cells put back from the source: answer, test_answer"
    ]


def test_an_empty_notebook_gets_every_graded_cell_back(tmp_path, release):
    data = {"nbformat": 4, "nbformat_minor": 2, "metadata": {}, "cells": []}
    result = preflight(_write_json(tmp_path, data), release, "part.ipynb")
    _assert_gradable(result, release)
    assert _ids(result.notebook) == ["header", "answer", "test_answer"]


def test_a_very_long_line_is_kept(tmp_path, release):
    submitted = copy.deepcopy(release)
    submitted.cells[1].source = "x = '" + "a" * 5_000_000 + "'"
    result = preflight(_write(tmp_path, submitted), release, "part.ipynb")
    _assert_gradable(result, release)
    assert len(result.notebook.cells[1].source) == 5_000_006


def test_findings_name_at_most_ten_cells_and_never_a_raw_control_character(tmp_path, release):
    data = _as_json(release)
    data["cells"] += [7] * 25
    for number in range(15):
        data["cells"].append(
            {
                "cell_type": "code",
                "source": "",
                "metadata": {"nbgrader": {"grade_id": f"mine\x1b[2J\u202e{number:02}"}},
            }
        )
    result = preflight(_write_json(tmp_path, data), release, "part.ipynb")
    _assert_gradable(result, release)
    unknown, dropped = result.problems
    assert unknown.startswith("part.ipynb: unknown graded cells ignored: mine\\x1b[2J\\u202e00,")
    assert unknown.endswith("mine\\x1b[2J\\u202e09 and 5 more")
    assert dropped.endswith("cells 4, 5, 6, 7, 8, 9, 10, 11, 12, 13 and 15 more")
    assert all(problem.isprintable() for problem in result.problems)


def test_a_file_name_with_control_characters_never_reaches_a_message(tmp_path, release):
    path = tmp_path / "\x1b[2Jevil\u202e.ipynb"
    path.write_bytes(b"{broken")
    result = preflight(path, release, "part.ipynb")
    _assert_scores_zero(result, "not valid JSON")
    assert all(problem.isprintable() for problem in result.problems)


def test_review_lines_escape_what_they_quote(tmp_path, release):
    submitted = copy.deepcopy(release)
    submitted.cells[1].source = "get_ipython()\x0b.\x0cshowtraceback = None"
    result = preflight(_write(tmp_path, submitted), release, "part.ipynb")
    (line,) = result.review
    assert line.isprintable() and "\\x0b" in line


def test_a_deleted_first_graded_cell_goes_back_first(tmp_path, release):
    data = _as_json(release)
    data["cells"][0] = {"cell_type": "markdown", "source": "my own intro", "metadata": {}}
    result = preflight(_write_json(tmp_path, data), release, "part.ipynb")
    _assert_gradable(result, release)
    assert _ids(result.notebook) == ["header", None, "answer", "test_answer"]
