"""The student zoo, Part 2 (a CNN of one's own on Fashion-MNIST): every variant earns its points.

The same check as test_zoo_lenet.py's, for Part 2's variants, in a module of
its own so that two test processes grade the two halves side by side.
"""

from __future__ import annotations

import pytest
from zoo_harness import NotebookGrader, assert_graded_fairly, fast_mode_environment, timed_zoo

from autograder.course.folder import DEFAULT_COURSE_ROOT
from autograder.demo.variants import PART2, Variant
from autograder.demo.zoo import VARIANTS

pytestmark = pytest.mark.slow

SOURCE = DEFAULT_COURSE_ROOT / "source" / "cnn"


@pytest.fixture(scope="module")
def grader(tmp_path_factory, course_build):
    """Part 2's grader, reading the course's Fashion-MNIST file, in fast mode."""
    with fast_mode_environment():
        yield NotebookGrader(
            SOURCE / f"{PART2}.ipynb",
            tmp_path_factory.mktemp("zoo") / PART2,
            inputs={"Fashion_MNIST.h5": course_build.student_file},
        )


@pytest.fixture(scope="module")
def timings():
    with timed_zoo("student zoo, part 2") as seconds:
        yield seconds


@pytest.mark.parametrize(
    "variant", [v for v in VARIANTS if v.notebook == PART2], ids=lambda variant: variant.name
)
def test_each_student_variant_earns_exactly_its_stated_points(variant: Variant, grader, timings):
    timings[variant.name] = assert_graded_fairly(variant, grader)
