"""The evidence format: its version, its limits, and arrays as text (``.npy``, no pickles)."""

from __future__ import annotations

import base64
import hashlib
import io

import numpy as np

#: Version of the question and answer format.
PROTOCOL = 1
#: Arrays up to this many bytes travel whole; bigger ones as an :class:`ArraySketch`.
FULL_ARRAY_BYTES = 8 * 1024**2
#: Rows of a sketched array that travel whole, at positions chosen by the checker's seed.
SAMPLE_ROWS = 256
#: The most weight bytes a model sends; a bigger model is described by its weights' shapes.
MODEL_WEIGHT_BYTES = 24 * 1024**2
#: The most bytes of a file a kernel sends back.
FILE_BYTES = 4 * 1024**2
#: Items of a list, tuple or dict, and levels of nesting, that are encoded.
MAX_ITEMS = 10_000
MAX_DEPTH = 6
#: Batch size of the probe that compares a rebuilt model with the kernel's own.
PROBE_IMAGES = 4


class EvidenceError(Exception):
    """A question or an answer that does not follow the format."""


# --- arrays as text ---------------------------------------------------------------------------


def array_to_text(array: np.ndarray) -> str:
    """``array`` as base64 ``.npy`` bytes (numbers only, never pickles)."""
    stream = io.BytesIO()
    np.save(stream, np.ascontiguousarray(array), allow_pickle=False)
    return base64.b64encode(stream.getvalue()).decode("ascii")


def array_from_text(text: str) -> np.ndarray:
    """The array :func:`array_to_text` wrote; pickled objects are refused."""
    if not isinstance(text, str):
        raise EvidenceError(f"an array should be base64 text, found {type(text).__name__}")
    try:
        array = np.load(io.BytesIO(base64.b64decode(text, validate=True)), allow_pickle=False)
    except (ValueError, OSError) as error:
        raise EvidenceError(f"not an .npy array: {error}") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "biufc":
        raise EvidenceError("an array should hold numbers")
    return array


def row_digests(rows: np.ndarray) -> np.ndarray:
    """One 64-bit digest per row of ``rows``'s pixel values ``round(x * 255)`` as bytes.

    Two image arrays that hold the same pictures scaled to [0, 1] have the
    same digests, however each was divided by 255 (a float32 or a float64
    division may differ in the last bit, never by a whole pixel step).
    """
    pixels = np.clip(np.rint(np.asarray(rows, dtype=np.float64) * 255), 0, 255).astype(np.uint8)
    flat = pixels.reshape(len(pixels), -1)
    return np.array(
        [int.from_bytes(hashlib.blake2b(row.tobytes(), digest_size=8).digest()) for row in flat],
        dtype=np.uint64,
    )


def sample_positions(length: int, seed: int) -> np.ndarray:
    """The rows of a sketch: ``SAMPLE_ROWS`` distinct positions drawn with ``seed``, sorted."""
    size = min(SAMPLE_ROWS, length)
    return np.sort(np.random.default_rng(seed).choice(length, size=size, replace=False))
