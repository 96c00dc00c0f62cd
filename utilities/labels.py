"""Turn label-like arrays (indices, one-hot rows, probability rows) into class indices."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

NUM_CLASSES = 10  # MNIST digits and Fashion-MNIST clothing classes


def as_class_indices(labels, *, name: str = "labels") -> np.ndarray:
    """Return a 1-D int64 array of class indices.

    Accepts class indices of shape (N,) or (N, 1), and one-hot or probability
    rows of shape (N, C), which are reduced with ``argmax``.
    """
    array = np.asarray(labels)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name}: expected numbers, got dtype {array.dtype}")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    if array.ndim == 2 and array.shape[1] > 1:
        return np.argmax(array, axis=1).astype(np.int64)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(
            f"{name}: expected class indices (N,) or probability rows (N, C), got shape "
            f"{array.shape}"
        )
    if array.dtype.kind == "f" and not np.all(array == np.round(array)):
        raise ValueError(f"{name}: class indices must be whole numbers, got {array.dtype}")
    indices = array.astype(np.int64)
    if indices.size and indices.min() < 0:
        raise ValueError(f"{name}: class indices must be 0 or more, found {indices.min()}")
    return indices


def class_names_for(
    labelled: dict[str, np.ndarray], class_names: Sequence[str] | None
) -> list[str]:
    """Names for classes 0..C-1: ``class_names``, or the indices up to the largest label.

    ``labelled`` maps a name (for messages) to class indices; a label that has
    no name is an error rather than a silently dropped sample.
    """
    largest = max((int(y.max()) for y in labelled.values() if y.size), default=-1)
    if class_names is None:
        return [str(i) for i in range(largest + 1)]
    names = [str(name) for name in class_names]
    for what, y in labelled.items():
        if y.size and y.max() >= len(names):
            raise ValueError(
                f"{what}: label {int(y.max())} has no class name; "
                f"expected 0..{len(names) - 1} for {len(names)} class names"
            )
    return names


def check_same_length(first, second, first_name: str, second_name: str) -> None:
    """Raise ValueError unless two label arrays have one entry per sample each."""
    if len(first) != len(second):
        raise ValueError(
            f"{first_name} has {len(first)} entries but {second_name} has {len(second)}"
        )
