"""The checker's half: what cannot be rebuilt from data stands in for the kernel's objects."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from utilities.evidence.format import (
    EvidenceError,
    array_from_text,
    array_to_text,
    row_digests,
    sample_positions,
)
from utilities.evidence.kernel import (
    keras_config,
)


class Channel(Protocol):
    """How objects of the kernel reach it: one question, one decoded answer (or an error)."""

    def request(self, question: dict) -> object: ...


class Foreign:
    """An object of the kernel that has no data form; its class is named after the kernel's.

    ``type(value).__name__`` is the name of the kernel's class, so a check's
    message reads "should be a numpy array, found AlwaysEqual".
    """

    type_name = ""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object of the notebook>"


def foreign(name: str, qualified: str = "") -> Foreign:
    """An instance of a :class:`Foreign` subclass named ``name``."""
    safe = "".join(ch for ch in str(name) if ch.isalnum() or ch == "_") or "object"
    kind = type(safe, (Foreign,), {"type_name": qualified or safe})
    return kind()


class ArraySketch:
    """A numpy array of the kernel too big to send whole.

    It carries the array's dtype and shape, whether every value is finite,
    its minimum and maximum, a digest of every row (:func:`row_digests`) and
    the rows at :data:`SAMPLE_ROWS` positions drawn from a seed that the
    checker chose. The checks compare the sampled rows exactly and the
    digests as a whole; the other facts are the kernel's word, and a wrong
    array cannot agree with the samples.
    """

    def __init__(self, data: dict):
        self.dtype = np.dtype(str(data["dtype"]))
        self.shape = tuple(int(size) for size in data["shape"])
        self.tensor = False  # the kernel's value was a tensor (keras.ops), not a numpy array
        self.positions = sample_positions(self.shape[0], int(data["seed"]))
        self.rows = array_from_text(data["rows"])
        if self.rows.shape != (len(self.positions), *self.shape[1:]):
            raise EvidenceError("the sampled rows do not match the array's shape")
        if self.rows.dtype != self.dtype:
            raise EvidenceError("the sampled rows do not match the array's dtype")
        self.finite = bool(data["finite"])
        self.min = _float_or_none(data.get("min"))
        self.max = _float_or_none(data.get("max"))
        digests = data.get("digests")
        self.digests = array_from_text(digests) if digests is not None else None
        if self.digests is not None:
            if self.digests.shape != (self.shape[0],) or self.digests.dtype != np.uint64:
                raise EvidenceError("the row digests do not match the array's shape")
            if not np.array_equal(self.digests[self.positions], row_digests(self.rows)):
                raise EvidenceError("the row digests do not match the sampled rows")
        if self.rows.dtype.kind == "f" and self.rows.size and self.finite:
            low, high = float(self.rows.min()), float(self.rows.max())
            if not np.isfinite(self.rows).all() or (
                (self.min is not None and low < self.min)
                or (self.max is not None and high > self.max)
            ):
                raise EvidenceError("the sampled rows fall outside the stated range")

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<array {self.shape} {self.dtype} of the notebook (sampled)>"


def _float_or_none(value) -> float | None:
    if value is None:
        return None
    return float(value)


class RemoteFunction:
    """A function of the notebook; calling it asks the kernel to call it there."""

    def __init__(self, handle: int, name: str, channel: Channel):
        self.handle = handle
        self.__name__ = name
        self._channel = channel

    def __call__(self, *args, **kwargs):
        return self._channel.request(
            {
                "op": "call",
                "handle": self.handle,
                "args": [encode_argument(arg) for arg in args],
                "kwargs": {str(k): encode_argument(v) for k, v in kwargs.items()},
            }
        )

    def __repr__(self) -> str:
        return f"<function {self.__name__} of the notebook>"


class RemoteModel:
    """A Keras model of the notebook that cannot be rebuilt from data (a subclassed model).

    What the checks can learn is what the kernel reports: the weights'
    shapes, the layers it holds, and its outputs on images the checker sends.
    A verdict that rests on it says so (``reason``).
    """

    def __init__(self, facts: dict, channel: Channel, reason: str):
        self.handle = int(facts["handle"])
        self.facts = facts
        self.reason = reason
        self._channel = channel
        self.__name__ = str(facts.get("name", "model"))

    @property
    def type_name(self) -> str:
        return str(self.facts.get("name", "Model"))

    def weight_shapes(self, trainable_only: bool = False) -> list[tuple[int, ...]]:
        return [
            tuple(int(s) for s in weight["shape"])
            for weight in self.facts.get("weights", [])
            if weight.get("trainable") or not trainable_only
        ]

    def weight_values(self) -> list[tuple[str, np.ndarray]]:
        """``(path, values)`` of each weight the kernel sent (none for a very large model)."""
        return [
            (str(weight.get("path", "")), array_from_text(weight["npy"]))
            for weight in self.facts.get("weights", [])
            if "npy" in weight
        ]

    def __call__(self, images, training: bool = False):
        return self._channel.request(
            {"op": "model_call", "handle": self.handle, "x": encode_argument(images)}
        )

    def predict(self, images, batch_size: int = 1024, verbose: int = 0):
        return self._channel.request(
            {
                "op": "model_call",
                "handle": self.handle,
                "x": encode_argument(images),
                "predict": True,
            }
        )

    def __repr__(self) -> str:
        return f"<{self.type_name} model of the notebook>"


def encode_argument(value) -> dict:
    """An argument the checker sends to the kernel: numbers, arrays, tensors, or a handle."""
    if isinstance(value, RemoteFunction | RemoteModel):
        return {"kind": "ref", "handle": value.handle}
    if value is None or isinstance(value, bool | int | float | str):
        return {"kind": "scalar", "value": value}
    if isinstance(value, list | tuple):
        return {"kind": type(value).__name__, "items": [encode_argument(v) for v in value]}
    if isinstance(value, dict):
        return {
            "kind": "dict",
            "items": [[encode_argument(k), encode_argument(v)] for k, v in value.items()],
        }
    if isinstance(value, np.ndarray):
        return {"kind": "array", "npy": array_to_text(value)}
    import keras

    if keras.ops.is_tensor(value):
        array = np.asarray(keras.ops.convert_to_numpy(value))
        return {"kind": "tensor", "array": {"kind": "array", "npy": array_to_text(array)}}
    config = keras_config(value)
    if config is not None:
        return {"kind": "keras", "config": config}
    raise EvidenceError(f"cannot send a {type(value).__name__} to the notebook")


def is_remote(value) -> bool:
    """Whether ``value`` stands for code that runs in the notebook's kernel."""
    return isinstance(value, RemoteFunction | RemoteModel)


def run_in_kernel_of(values) -> Channel | None:
    """The channel of the first remote object in ``values``, or None when all are local."""
    for value in values:
        if is_remote(value):
            return value._channel
    return None
