"""`coursekit release`: real nbgrader, a scratch copy of the course, the real course dataset.

The release must hold no secrets, the solutions must earn every autograded
point in fast mode, an untouched release must earn none without crashing, and
a wrong LeNet5 must fail exactly the tests about its parameters and shapes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import nbformat
import pytest

from autograder.course.dataset import STUDENT_FILE
from autograder.course.folder import DEFAULT_COURSE_ROOT, cell_grades, run_nbgrader, scratch_course
from autograder.course.release import find_leaks, release_assignment, secret_lines
from utilities.runmode import FAST_MODE_ENV

pytestmark = pytest.mark.slow

PART1 = "1_lenet5_mnist"
PART2 = "2_fashion_cnn"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return scratch_course(DEFAULT_COURSE_ROOT, "cnn", tmp_path_factory.mktemp("course"))


@pytest.fixture(scope="module")
def released(course, course_build):
    messages: list[str] = []
    result = release_assignment(
        "cnn",
        course,
        course_build.student_file,
        private_dir=course_build.answer_key.parent,
        report=messages.append,
    )
    return result, messages


def test_the_release_holds_the_student_notebooks_and_the_dataset(released, course_build):
    result, messages = released
    names = sorted(path.name for path in result.release_dir.iterdir())
    assert names == [f"{PART1}.ipynb", f"{PART2}.ipynb", "Fashion_MNIST.h5"]
    data = (result.release_dir / "Fashion_MNIST.h5").read_bytes()
    assert data == course_build.student_file.read_bytes()
    assert [m.split(" ")[0] for m in messages] == ["Generating", "Checking", "Autograding"]


def test_the_release_has_stubs_where_the_source_has_solutions(released):
    result, _ = released
    notebook = nbformat.read(result.release_dir / f"{PART1}.ipynb", as_version=4)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in notebook.cells}
    assert "raise NotImplementedError()" in by_id["lenet5"]
    assert "layers.Conv2D" not in by_id["lenet5"]
    assert by_id["answer_overfitting"] == "YOUR ANSWER HERE"
    assert by_id["test_f1_hidden"].strip() == (
        "# Test 1.3, hidden part (2 points): class indices, perfect and hopeless predictions, "
        "new batches"
    )


def test_the_release_passes_the_leak_checks(released, course, course_build):
    result, _ = released
    assert (
        find_leaks(course / "source" / "cnn", result.release_dir, course_build.answer_key.parent)
        == []
    )


def test_the_solutions_earn_every_autograded_point_in_fast_mode(released):
    result, _ = released
    autograded = [g for g in result.solution_grades if g.cell_type == "code"]
    assert len(autograded) == 14
    assert all(g.score == g.max_score for g in autograded)
    assert sum(g.max_score for g in autograded) == 23
    manual = [g for g in result.solution_grades if g.cell_type == "markdown"]
    assert sum(g.max_score for g in manual) == 17  # 23 + 17 = the header's 40


# --- the leak checks catch what they must -----------------------------------------------------


@pytest.fixture
def leaky_release(released, tmp_path):
    result, _ = released
    copy = tmp_path / "release"
    shutil.copytree(result.release_dir, copy)
    return copy


def plant(release, notebook: str, text: str) -> None:
    path = release / f"{notebook}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(text))
    nbformat.write(nb, path)


def test_a_solution_line_in_the_release_is_reported(leaky_release, course):
    line = 'layers.Conv2D(6, kernel_size=5, padding="same", activation="relu"),'
    plant(leaky_release, PART1, f"model = [\n    {line}\n]")
    leaks = find_leaks(course / "source" / "cnn", leaky_release)
    assert leaks == [f"{PART1}.ipynb: contains solution or hidden-test text {line!r}"]


def test_hidden_test_text_and_rubrics_are_secret_lines(course):
    source = nbformat.read(course / "source" / "cnn" / f"{PART1}.ipynb", as_version=4)
    secrets = secret_lines(source)
    assert "raw = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)" in secrets
    assert any(line.startswith("**Rubric (2 points).**") for line in secrets)
    assert "def build_lenet5():" not in secrets  # students see the signature
    part2 = secret_lines(nbformat.read(course / "source" / "cnn" / f"{PART2}.ipynb", as_version=4))
    assert any(line.startswith("**Rubric (4 points).**") for line in part2)
    assert "def build_fashion_cnn():" not in part2


def test_markers_answer_keys_and_gradebooks_are_reported(leaky_release, course, course_build):
    plant(leaky_release, PART2, "### BEGIN HIDDEN TESTS\nprint(1)\n### END HIDDEN TESTS")
    shutil.copy(course_build.answer_key, leaky_release / "labels.csv")
    (leaky_release / "gradebook.db").write_bytes(b"SQLite format 3\x00")
    leaks = find_leaks(course / "source" / "cnn", leaky_release, course_build.answer_key.parent)
    assert f"{PART2}.ipynb: contains the marker 'BEGIN HIDDEN TESTS'" in leaks
    assert f"labels.csv: a copy of {course_build.answer_key}" in leaks
    assert "gradebook.db: a private file (answer key, manifest or gradebook)" in leaks


def test_the_release_command_stops_before_nbgrader_without_the_dataset(course, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder.cli",
            "release",
            "cnn",
            "--course-root",
            str(course),
            "--course-data",
            str(tmp_path / "nowhere"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"coursekit: error: {tmp_path / 'nowhere' / STUDENT_FILE}: the student dataset is "
        "missing; run `coursekit data build` first"
    )


# --- autograding other notebooks ---------------------------------------------------------------


@pytest.fixture(scope="module")
def graded_class(released, course, course_build):
    """Autograde the untouched release with plain nbgrader, as a course without the kit would.

    A wrong solution graded by ``coursekit grade`` is tests/test_grade.py's (finn's LeNet5).
    """
    result, _ = released
    shutil.copytree(result.release_dir, course / "submitted" / "untouched" / "cnn")
    run_nbgrader(course, "autograde", "cnn", "--force", env={FAST_MODE_ENV: "1"})
    return course


def errors_in(course, student: str, notebook: str) -> dict[str, str]:
    path = course / "autograded" / student / "cnn" / f"{notebook}.ipynb"
    found = {}
    for c in json.loads(path.read_text())["cells"]:
        grade_id = c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        for output in c.get("outputs", []):
            if output["output_type"] == "error":
                found[grade_id] = f"{output['ename']}: {output['evalue']}"
    return found


def test_the_untouched_release_earns_zero_autograded_points_without_crashing(graded_class):
    grades = cell_grades(graded_class, "cnn", "untouched")
    autograded = [g for g in grades if g.cell_type == "code"]
    assert len(autograded) == 14 and all(g.score == 0 for g in autograded)
    # Every test ran and failed with the error a student would expect; nothing crashed.
    expected = {"NotImplementedError", "NameError", "SubmissionError"}
    for notebook in (PART1, PART2):
        errors = errors_in(graded_class, "untouched", notebook)
        tests = {g.cell for g in autograded if g.notebook == notebook}
        assert tests <= set(errors), notebook
        assert {errors[test].split(":")[0] for test in tests} <= expected, [
            (test, errors[test]) for test in tests if errors[test].split(":")[0] not in expected
        ]
