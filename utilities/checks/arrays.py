"""Checks of arrays: preprocessed images, one-hot labels, and a training/validation split.

Each accepts a real ``numpy.ndarray``. When a notebook is graded, an array
too big to send whole arrives as an :class:`~utilities.evidence.ArraySketch`:
its dtype and shape, a digest of every row, and rows at positions the grader
drew. Every rule is then checked on what travelled whole, the digests stand
for the rest, and a sketch that contradicts its own rows is refused.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import keras
import numpy as np

from utilities.checks.base import fail, type_name
from utilities.evidence import ArraySketch, row_digests
from utilities.labels import NUM_CLASSES


@dataclass
class _View:
    """What a check can see of an array: its facts, and rows at known positions."""

    dtype: np.dtype
    shape: tuple
    positions: np.ndarray
    rows: np.ndarray
    finite: bool
    low: float | None
    high: float | None
    digests: np.ndarray | None  # of every row; None when not known

    @property
    def whole(self) -> bool:
        return len(self.positions) == (self.shape[0] if self.shape else 0)


TENSOR_HINT = " (a tensor, as keras.ops returns: convert it with ops.convert_to_numpy)"


def view_of(value, name: str) -> _View:
    """The :class:`_View` of an ndarray or a sketch; anything else fails, naming its type."""
    if isinstance(value, ArraySketch) and value.tensor:
        fail(f"{name} should be a numpy array, found a tensor{TENSOR_HINT}")
    if isinstance(value, ArraySketch):
        return _View(
            value.dtype,
            value.shape,
            value.positions,
            value.rows,
            value.finite,
            value.min,
            value.max,
            value.digests,
        )
    if type(value) is not np.ndarray:
        hint = ""
        if keras.ops.is_tensor(value):
            hint = TENSOR_HINT
        fail(f"{name} should be a numpy array, found {type_name(value)}{hint}")
    numeric = value.dtype.kind in "biuf"
    finite = bool(np.isfinite(value).all()) if value.dtype.kind == "f" else numeric
    low = float(value.min()) if numeric and value.size and finite else None
    high = float(value.max()) if numeric and value.size and finite else None
    positions = np.arange(len(value)) if value.ndim else np.arange(0)
    return _View(value.dtype, value.shape, positions, value, finite, low, high, None)


def check_images(images, name: str, count: int, shape: tuple = (28, 28, 1), raw=None) -> None:
    """``images`` is a float32 array of ``count`` images of ``shape`` scaled to [0, 1].

    With ``raw`` (the uint8 images it was made from), also check that every
    pixel is exactly ``raw / 255``.
    """
    view = view_of(images, name)
    if view.dtype != np.float32:
        fail(f"{name} should have dtype float32, found {view.dtype}")
    expected = (count, *shape)
    if tuple(view.shape) != expected:
        fail(f"{name} should have shape {expected}, found {tuple(view.shape)}")
    if not view.finite:
        fail(f"{name} contains NaN or infinite values")
    if view.low is not None and (view.low < 0.0 or view.high > 1.0):
        fail(
            f"{name} should be scaled to [0, 1] (raw / 255), found values from {view.low:g} "
            f"to {view.high:g}"
        )
    if raw is None:
        return
    raw = np.asarray(raw)
    wanted = raw[view.positions].astype(np.float32).reshape(len(view.positions), *shape) / (
        np.float32(255)
    )
    worst = float(np.abs(view.rows.astype(np.float32) - wanted).max()) if wanted.size else 0.0
    if worst > 1e-6:
        fail(f"{name} should be the raw pixels divided by 255 (raw / 255); off by up to {worst:g}")
    if not view.whole and view.digests is not None:
        differ = np.flatnonzero(view.digests != pixel_digests(raw.reshape(count, -1)))
        if differ.size:
            fail(
                f"{name} should be the raw pixels divided by 255 (raw / 255), in their order; "
                f"{differ.size:,} images differ, the first at row {int(differ[0])}"
            )


def check_one_hot(encoded, name: str, labels=None, num_classes: int = NUM_CLASSES) -> None:
    """``encoded`` holds one-hot float rows; with ``labels``, exactly their encoding."""
    view = view_of(encoded, name)
    if view.dtype.kind != "f":
        fail(f"{name} should hold floats (one-hot rows), found dtype {view.dtype}")
    if len(view.shape) != 2 or view.shape[1] != num_classes:
        fail(f"{name} should have shape (N, {num_classes}), found {tuple(view.shape)}")
    values = view.rows.astype(np.float64)
    one_hot = np.isin(values, (0.0, 1.0)).all() and (values.sum(axis=1) == 1).all()
    if not one_hot or (view.low is not None and (view.low < 0 or view.high > 1)):
        fail(f"{name} should have exactly one 1 in each row and 0 elsewhere")
    if labels is None:
        return
    labels = np.asarray(labels).reshape(-1)
    if view.shape[0] != len(labels):
        fail(f"{name} has {view.shape[0]} rows for {len(labels)} labels")
    wrong = np.flatnonzero(values.argmax(axis=1) != labels[view.positions])
    if wrong.size:
        row = int(view.positions[wrong[0]])
        fail(
            f"{name} is not the one-hot encoding of the labels: {wrong.size} rows differ, "
            f"first row {row} encodes {int(values[wrong[0]].argmax())} for label {int(labels[row])}"
        )


def pixel_digests(raw) -> np.ndarray:
    """The row digests (:func:`~utilities.evidence.row_digests`) of uint8 images."""
    flat = np.asarray(raw, dtype=np.uint8)
    return row_digests(flat.astype(np.float64) / 255)


def check_split(
    train_images,
    train_labels,
    val_images,
    val_labels,
    images,
    labels,
    held_out: tuple[float, float] = (0.05, 0.25),
) -> None:
    """The training and validation parts together are exactly ``images`` and ``labels``.

    ``images`` are the raw uint8 training images and ``labels`` their classes;
    the parts hold them scaled to [0, 1] with one-hot labels, each image
    once, and the validation part holds between ``held_out`` of them. Order
    does not matter (a split shuffles), but every image must keep its label.
    """
    total = len(images)
    n_train, n_val = len(train_images), len(val_images)
    if n_train + n_val != total:
        fail(
            f"training and validation images should add up to {total:,}, "
            f"found {n_train:,} + {n_val:,}"
        )
    low, high = held_out
    if not low <= n_val / total <= high:
        fail(f"hold out between {low:.0%} and {high:.0%} for validation, found {n_val / total:.1%}")
    if len(train_labels) != n_train or len(val_labels) != n_val:
        fail("each image set needs exactly one label per image")
    pairs = Counter()
    for part, part_images, part_labels in (
        ("training", train_images, train_labels),
        ("validation", val_images, val_labels),
    ):
        pairs.update(_labelled_digests(part, part_images, part_labels))
    wanted = Counter(
        zip(
            pixel_digests(np.asarray(images).reshape(total, -1)).tolist(),
            np.asarray(labels).reshape(-1).tolist(),
            strict=True,
        )
    )
    if pairs != wanted:
        missing = sum((wanted - pairs).values())
        fail(
            "the training and validation parts should hold exactly the "
            f"{total:,} training images, each once and with its own label; {missing:,} "
            "(image, label) pairs are missing or changed"
        )


def _labelled_digests(part: str, images, labels) -> list[tuple[int, int]]:
    view = view_of(images, f"the {part} images")
    if view.digests is None and not view.whole:
        fail(f"the {part} images could not be compared with the training images")
    digests = view.digests if view.digests is not None else row_digests(view.rows)
    label_view = view_of(labels, f"the {part} labels")
    if not label_view.whole:
        fail(f"the {part} labels are too large to compare")
    classes = np.asarray(label_view.rows).reshape(len(label_view.rows), -1).argmax(axis=1)
    return list(zip(digests.tolist(), classes.tolist(), strict=True))
