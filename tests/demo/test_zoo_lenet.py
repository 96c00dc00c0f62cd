"""The student zoo, Part 1 (LeNet5 on MNIST): every variant earns exactly the points it states.

Each variant of :mod:`autograder.demo.zoo` is graded in fast mode by
tests/demo/zoo_harness.py, with the grader's own checker and scoring, in
this process. A disagreement fails with every test's expected and earned
points and the test's message, and a test that fails for the right reason
must say why in the words the variant gives. Part 2's variants are
test_zoo_fashion.py's, so that two test processes grade the two halves side
by side; tests/test_grade.py grades a sample of both through ``coursekit grade``.
"""

from __future__ import annotations

import pytest
from zoo_harness import NotebookGrader, assert_graded_fairly, fast_mode_environment, timed_zoo

from autograder.course.folder import DEFAULT_COURSE_ROOT
from autograder.demo.variants import NOTEBOOKS, PART1, Variant
from autograder.demo.zoo import VARIANTS

pytestmark = pytest.mark.slow

SOURCE = DEFAULT_COURSE_ROOT / "source" / "cnn"


@pytest.fixture(scope="module")
def grader(tmp_path_factory):
    """Part 1's grader, which executes the reference once, in fast mode."""
    with fast_mode_environment():
        yield NotebookGrader(SOURCE / f"{PART1}.ipynb", tmp_path_factory.mktemp("zoo") / PART1)


@pytest.fixture(scope="module")
def timings():
    with timed_zoo("student zoo, part 1") as seconds:
        yield seconds


@pytest.mark.parametrize(
    "variant", [v for v in VARIANTS if v.notebook == PART1], ids=lambda variant: variant.name
)
def test_each_student_variant_earns_exactly_its_stated_points(variant: Variant, grader, timings):
    timings[variant.name] = assert_graded_fairly(variant, grader)


def test_the_zoo_covers_every_task_and_every_test_both_ways(tmp_path):
    assert len(VARIANTS) >= 40
    assert len({variant.name for variant in VARIANTS}) == len(VARIANTS)
    assert {variant.notebook for variant in VARIANTS} == set(NOTEBOOKS)
    for notebook in NOTEBOOKS:
        grader = NotebookGrader(SOURCE / f"{notebook}.ipynb", tmp_path / notebook)
        ours = [variant for variant in VARIANTS if variant.notebook == notebook]
        changed = {cell for variant in ours for cell in variant.cells}
        assert changed == set(grader.solutions), notebook
        for test in grader.tests:
            assert any(test in variant.fails for variant in ours), f"no variant fails {test}"
        for variant in ours:
            assert not variant.changes, f"{variant.name}: the zoo changes cells, not structure"
            assert set(variant.fails) <= set(grader.tests), variant.name
            for key in [*variant.cells, *variant.edits]:
                assert not grader.cell(key).test, f"{variant.name} replaces the test {key}"
