"""nbgrader's region markers come from the course's config, and every user reads them there:
the release's leak check and the feedback's redaction both follow a course that changed them."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from autograder.course.markers import DEFAULT_MARKERS, Markers, course_markers
from autograder.course.release import find_leaks
from autograder.grading.pipeline.feedback import hidden_lines, redact_notebook

CUSTOM = """\
c = get_config()  # noqa: F821
c.ClearSolutions.begin_solution_delimeter = "SOLUTION STARTS"
c.ClearSolutions.end_solution_delimeter = "SOLUTION ENDS"
c.ClearHiddenTests.begin_test_delimeter = "SECRET TESTS START"
c.ClearHiddenTests.end_test_delimeter = "SECRET TESTS END"
"""
HIDDEN = "assert build_model().count_params() == 61706, 'hidden check'"


def test_a_course_without_settings_uses_nbgraders_defaults(tmp_path):
    assert course_markers(tmp_path) == DEFAULT_MARKERS
    assert DEFAULT_MARKERS.begin_hidden_tests == "BEGIN HIDDEN TESTS"


def test_markers_set_in_the_course_config_are_the_ones_used(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text(CUSTOM)
    markers = course_markers(tmp_path)
    assert markers.begin_solution == "SOLUTION STARTS"
    assert markers.end_hidden_tests == "SECRET TESTS END"
    assert markers.begin_mark_scheme == "BEGIN MARK SCHEME"  # not set: nbgrader's default


def _test_cell(markers: Markers):
    source = (
        f"# Test 1 (2 points)\nassert True\n### {markers.begin_hidden_tests}\n{HIDDEN}\n"
        f"### {markers.end_hidden_tests}\nprint('after')\n"
    )
    return new_code_cell(source, metadata={"nbgrader": {"grade": True, "grade_id": "t1"}})


def test_feedback_redacts_hidden_tests_between_the_courses_own_markers(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text(CUSTOM)
    markers = course_markers(tmp_path)
    notebook = new_notebook(cells=[_test_cell(markers)])
    assert hidden_lines(notebook.cells, markers) == {HIDDEN}
    redact_notebook(notebook, markers)
    source = notebook.cells[0].source
    assert HIDDEN not in source and "SECRET TESTS" not in source
    assert "assert True" in source and "print('after')" in source


def test_an_unclosed_hidden_region_is_redacted_to_the_end_of_the_cell():
    cell = new_code_cell(f"ok = 1\n### BEGIN HIDDEN TESTS\n{HIDDEN}\n")
    notebook = new_notebook(cells=[cell])
    redact_notebook(notebook)
    assert HIDDEN not in notebook.cells[0].source and "ok = 1" in notebook.cells[0].source


def test_the_release_check_finds_the_courses_own_markers_left_in_a_release(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text(CUSTOM)
    markers = course_markers(tmp_path)
    source_dir, release_dir = tmp_path / "source", tmp_path / "release"
    source_dir.mkdir()
    release_dir.mkdir()
    nbformat.write(new_notebook(cells=[_test_cell(markers)]), source_dir / "a.ipynb")
    nbformat.write(new_notebook(cells=[_test_cell(markers)]), release_dir / "a.ipynb")
    leaks = find_leaks(source_dir, release_dir, markers=markers)
    assert "a.ipynb: contains the marker 'SECRET TESTS START'" in leaks
    assert f"a.ipynb: contains solution or hidden-test text {HIDDEN!r}" in leaks
