"""The student zoo: every variant in tests/zoo_variants.py earns exactly the points it states.

Each variant is graded in fast mode by tests/zoo_harness.py, which scores the
source notebook's test cells as ``coursekit grade`` does, in this process.
A disagreement fails with every test's expected and earned points and the
test's message, and a test that fails for the right reason must say why in
the words the variant gives.
"""

from __future__ import annotations

import time

import pytest
from zoo_harness import Grades, NotebookGrader, fast_mode_environment
from zoo_variants import PART1, PART2, VARIANTS, Variant

from autograder.course.folder import DEFAULT_COURSE_ROOT

pytestmark = pytest.mark.slow

SOURCE = DEFAULT_COURSE_ROOT / "source" / "cnn"


@pytest.fixture(scope="module")
def graders(tmp_path_factory, course_build):
    """One grader per notebook, each executing its reference once, in fast mode."""
    with fast_mode_environment():
        work = tmp_path_factory.mktemp("zoo")
        yield {
            PART1: NotebookGrader(SOURCE / f"{PART1}.ipynb", work / PART1),
            PART2: NotebookGrader(
                SOURCE / f"{PART2}.ipynb",
                work / PART2,
                inputs={"Fashion_MNIST.h5": course_build.student_file},
            ),
        }


@pytest.fixture(scope="module")
def timings():
    """Seconds per variant, printed at the end (pytest -s shows them)."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    yield seconds
    total = time.perf_counter() - started
    listing = ", ".join(f"{name} {value:.1f}" for name, value in seconds.items())
    print(f"\nstudent zoo: {len(seconds)} variants graded in {total:.0f} s ({listing})")


def disagreements(variant: Variant, grades: Grades, tests: dict[str, float]) -> list[str]:
    problems = []
    for test, expected in variant.expected(tests).items():
        result = grades.tests[test]
        why = variant.fails.get(test, "")
        if result.earned != expected:
            problems.append(
                f"{test}: expected {expected:g} of {result.points:g} points, earned "
                f"{result.earned:g}" + (f" ({result.error})" if result.error else "")
            )
        elif why and why.lower() not in result.error.lower():
            problems.append(
                f"{test}: failed as expected, but its message does not say {why!r}: {result.error}"
            )
    return problems


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda variant: variant.name)
def test_each_student_variant_earns_exactly_its_stated_points(variant, graders, timings):
    grader = graders[variant.notebook]
    grades = grader.grade(variant.cells, variant.edits)
    timings[variant.name] = grades.seconds
    problems = disagreements(variant, grades, grader.tests)
    assert not problems, (
        f"{variant.name} ({variant.story}) is graded unfairly:\n  "
        + "\n  ".join(problems)
        + f"\ncells that raised: {grades.cell_errors or 'none'}"
    )


def test_the_zoo_covers_every_task_and_every_test_both_ways(tmp_path):
    assert len(VARIANTS) >= 40
    assert len({variant.name for variant in VARIANTS}) == len(VARIANTS)
    for notebook in (PART1, PART2):
        grader = NotebookGrader(SOURCE / f"{notebook}.ipynb", tmp_path / notebook)
        ours = [variant for variant in VARIANTS if variant.notebook == notebook]
        changed = {cell for variant in ours for cell in variant.cells}
        assert changed == set(grader.solutions), notebook
        for test in grader.tests:
            assert any(test in variant.fails for variant in ours), f"no variant fails {test}"
        for variant in ours:
            assert set(variant.fails) <= set(grader.tests), variant.name
            for key in [*variant.cells, *variant.edits]:
                assert not grader.cell(key).test, f"{variant.name} replaces the test {key}"
