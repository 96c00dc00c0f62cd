"""Fast mode: the short training run used by the autograder and CI.

Students train on the full data for the full number of epochs. When the
notebook is executed by ``nbgrader`` (which sets ``NBGRADER_EXECUTION``) or
with ``COURSEKIT_FAST_MODE=1``, training cells use a small subset and one
epoch instead, and the cells that only report (validation, confusion
matrices) look at a subset too, so a whole class can be graded in minutes.
Fast mode changes how long training takes, never which tests run: no test
depends on accuracy.
"""

from __future__ import annotations

import os

FAST_MODE_ENV = "COURSEKIT_FAST_MODE"
NBGRADER_ENV = "NBGRADER_EXECUTION"
FAST_MODE_SIZE = 1024
_FALSE = {"", "0", "false", "no", "off"}


def fast_mode() -> bool:
    """Whether training cells should take the short run.

    True when nbgrader executes the notebook (autograding or validating), or
    when ``COURSEKIT_FAST_MODE`` is set to anything but ``0``/``false``/``no``.

    Returns
    -------
    bool
        ``True`` in fast mode, ``False`` for the normal full run.

    Examples
    --------
    >>> EPOCHS = 1 if fast_mode() else 20
    """
    if os.environ.get(NBGRADER_ENV, "").strip():
        return True
    return os.environ.get(FAST_MODE_ENV, "").strip().lower() not in _FALSE


def fast_subset(*arrays, size: int = FAST_MODE_SIZE):
    """The first ``size`` rows of each array in fast mode; the arrays unchanged otherwise.

    The course datasets are already shuffled, so the first rows are a fair
    sample of every class.

    Parameters
    ----------
    *arrays : array-like
        Arrays with the same number of rows, e.g. images and labels.
    size : int
        How many rows to keep in fast mode.

    Returns
    -------
    tuple
        The (possibly shortened) arrays, in the order given.

    Examples
    --------
    >>> x_fit, y_fit = fast_subset(x_train, y_train)
    """
    if not arrays:
        raise TypeError("fast_subset() needs at least one array")
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    lengths = {len(array) for array in arrays}
    if len(lengths) != 1:
        raise ValueError(f"all arrays need the same number of rows, got {sorted(lengths)}")
    if not fast_mode():
        return arrays
    return tuple(array[:size] for array in arrays)
