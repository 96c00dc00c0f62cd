"""What every check shares: how it fails, how it names what it found, its random inputs."""

from __future__ import annotations

import itertools

import numpy as np

from utilities.evidence import ArraySketch, Foreign, RemoteModel


def fail(message: str) -> None:
    """Raise the ``AssertionError`` every check uses."""
    raise AssertionError(message)


#: When grading, what a check could not confirm and a TA should look at (the checker collects
#: and clears it after each test). In your own Jupyter such a note is printed.
REVIEW_REQUESTS: list[str] | None = None


def ask_review(message: str) -> None:
    """Pass, but ask a TA to look: the check could not confirm something from data alone."""
    if REVIEW_REQUESTS is None:
        print(f"Note: {message}")
    else:
        REVIEW_REQUESTS.append(message)


# When grading, the checker sets this to a seed the notebook cannot know; in your own Jupyter
# it stays None, and every call to grading_rng() draws fresh inputs.
GRADING_SEED: int | None = None
_CALLS = itertools.count()


def grading_rng() -> np.random.Generator:
    """A random generator for a test's inputs, unknown to the notebook before it runs.

    In your own notebook every call gives new random inputs; when the notebook
    is graded, the grader picks the seed. Either way a right answer can only
    come from working code.
    """
    if GRADING_SEED is None:
        return np.random.default_rng()
    return np.random.default_rng([GRADING_SEED, next(_CALLS)])


def type_name(value) -> str:
    """The name of ``value``'s type, as the notebook would print it."""
    if isinstance(value, RemoteModel):
        return value.type_name
    if isinstance(value, ArraySketch):
        return "ndarray"
    if isinstance(value, Foreign):
        return type(value).__name__
    return type(value).__name__


def describe(value) -> str:
    if type(value) is str:
        return repr(value)
    return getattr(value, "__name__", None) or type_name(value)
