"""Turn label-like arrays (indices, one-hot rows, probability rows) into class indices."""

from __future__ import annotations

import numpy as np


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
    return array.astype(np.int64)
