"""Fast mode: on under nbgrader or when asked for, off otherwise; it only shortens training."""

from __future__ import annotations

import numpy as np
import pytest

from utilities import fast_mode, fast_subset
from utilities.runmode import FAST_MODE_ENV, FAST_MODE_SIZE, NBGRADER_ENV


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    monkeypatch.delenv(FAST_MODE_ENV, raising=False)
    monkeypatch.delenv(NBGRADER_ENV, raising=False)


def test_students_get_the_full_run_by_default():
    assert fast_mode() is False


@pytest.mark.parametrize("value", ["autograde", "validate"])
def test_nbgrader_execution_turns_fast_mode_on(monkeypatch, value):
    monkeypatch.setenv(NBGRADER_ENV, value)
    assert fast_mode() is True


@pytest.mark.parametrize(
    ("value", "expected"), [("1", True), ("yes", True), ("0", False), ("false", False), ("", False)]
)
def test_the_kit_setting_turns_fast_mode_on_or_off(monkeypatch, value, expected):
    monkeypatch.setenv(FAST_MODE_ENV, value)
    assert fast_mode() is expected


def test_fast_subset_keeps_the_arrays_unchanged_in_a_full_run():
    images, labels = np.zeros((10_000, 28, 28)), np.arange(10_000)
    kept_images, kept_labels = fast_subset(images, labels)
    assert kept_images is images and kept_labels is labels


def test_fast_subset_keeps_the_first_rows_of_every_array_in_fast_mode(monkeypatch):
    monkeypatch.setenv(FAST_MODE_ENV, "1")
    images, labels = np.zeros((10_000, 28, 28)), np.arange(10_000)
    kept_images, kept_labels = fast_subset(images, labels)
    assert kept_images.shape == (FAST_MODE_SIZE, 28, 28)
    assert np.array_equal(kept_labels, np.arange(FAST_MODE_SIZE))
    (few,) = fast_subset(labels, size=3)
    assert few.tolist() == [0, 1, 2]


def test_fast_subset_rejects_arrays_of_different_lengths_and_bad_sizes():
    with pytest.raises(ValueError, match=r"same number of rows, got \[2, 3\]"):
        fast_subset(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="positive integer"):
        fast_subset(np.zeros(2), size=0)
    with pytest.raises(TypeError, match="at least one array"):
        fast_subset()


def test_the_notebooks_say_the_fast_mode_size_in_force():
    import re

    from autograder.course.folder import DEFAULT_COURSE_ROOT

    said = set()
    for path in sorted((DEFAULT_COURSE_ROOT / "source" / "cnn").glob("*.ipynb")):
        text = path.read_text()
        text = text.replace("\\n", " ").replace('",\n    "', "")  # sentences across JSON lines
        found = r"(?:fast mode|graded)[^.]*?(\d{1,3}(?:,\d{3})+)(?: images|\))"
        said |= set(re.findall(found, text, flags=re.IGNORECASE))
    assert said == {f"{FAST_MODE_SIZE:,}"}
