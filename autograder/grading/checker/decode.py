"""Turning the kernel's answers back into objects the checks can use, in the checker.

Numbers and arrays become numbers and arrays; an array too big to send whole
an :class:`~utilities.evidence.ArraySketch`; a model is rebuilt from its
config and weights (:mod:`autograder.grading.checker.rebuild`) or, when it
cannot be, stands in as a :class:`~utilities.evidence.RemoteModel` whose
verdicts say they rest on the student's process; a function becomes a
:class:`~utilities.evidence.RemoteFunction`; a training history a real
``keras.callbacks.History``; anything else a :class:`~utilities.evidence.Foreign`
named after its class. Objects keep their identity within one test: the same
handle decodes to the same object, so ``first is second`` means what it says.
"""

from __future__ import annotations

import keras
import numpy as np

from autograder.grading.checker.rebuild import TRAINING_MODULES, config_problem, rebuild
from utilities import keras_compat
from utilities.evidence import (
    ArraySketch,
    Channel,
    EvidenceError,
    RemoteFunction,
    RemoteModel,
    array_from_text,
    foreign,
)


class Decoder:
    """Decodes answers for one test; :attr:`notes` says which verdicts rest on the kernel."""

    def __init__(self, channel: Channel):
        self.channel = channel
        self.objects: dict[int, object] = {}
        self.notes: list[str] = []  # "verified in the student process only" reasons
        self.inconsistent: list[str] = []  # evidence that contradicts itself

    def reset(self) -> None:
        """Forget the objects of the last test: the notebook may have changed them since."""
        self.objects.clear()
        self.notes.clear()
        self.inconsistent.clear()

    def decode(self, data, seed: int):
        if not isinstance(data, dict):
            raise EvidenceError("an answer's value should be an object")
        kind = data.get("kind")
        if kind == "scalar":
            return _scalar(data.get("value"))
        if kind == "npscalar":
            return np.dtype(str(data["dtype"])).type(data["value"])
        if kind == "array":
            return array_from_text(data["npy"])
        if kind == "sketch":
            return ArraySketch(data)
        if kind == "tensor":
            array = self.decode(data["array"], seed)
            if isinstance(array, ArraySketch):  # too big to send whole: it stays a sketch
                array.tensor = True
                return array
            return keras.ops.convert_to_tensor(array)
        if kind in ("list", "tuple"):
            items = [self.decode(item, seed) for item in data["items"]]
            return items if kind == "list" else tuple(items)
        if kind == "dict":
            return {_key(self.decode(k, seed)): self.decode(v, seed) for k, v in data["items"]}
        if kind == "model":
            return self._known(data, lambda: self._model(data, seed))
        if kind == "history":
            return self._known(data, lambda: self._history(data, seed))
        if kind == "callable":
            return self._known(
                data, lambda: RemoteFunction(int(data["handle"]), str(data["name"]), self.channel)
            )
        if kind == "optimizer":
            return _keras_object(data.get("config"), data.get("name", "optimizer"))
        if kind == "keras":
            return _keras_object(data.get("config"), data.get("type", "object"))
        if kind == "foreign":
            return foreign(str(data.get("name", "object")), str(data.get("type", "")))
        raise EvidenceError(f"unknown kind of value {kind!r}")

    def _known(self, data: dict, make):
        handle = int(data["handle"])
        if handle not in self.objects:
            self.objects[handle] = make()
        return self.objects[handle]

    def _model(self, facts: dict, seed: int):
        rebuilt = rebuild(facts, seed)
        compiled = facts.get("compile")
        if rebuilt.model is not None:
            model = rebuilt.model
        else:
            model = RemoteModel(facts, self.channel, rebuilt.reason)
            note = f"the model {facts.get('name', '')} was checked in the student's process only: "
            (self.inconsistent if rebuilt.inconsistent else self.notes).append(
                note + rebuilt.reason
            )
        if compiled is not None:
            keras_compat.record_compile_arguments(model, self._compile_arguments(compiled, seed))
        return model

    def _compile_arguments(self, compiled: dict, seed: int) -> dict:
        optimizer = compiled.get("optimizer") or {}
        return {
            "loss": self.decode(compiled["loss"], seed),
            "metrics": self.decode(compiled["metrics"], seed),
            "optimizer": self.decode(optimizer, seed) if optimizer else None,
            "steps": int(optimizer.get("iterations", 0)) if isinstance(optimizer, dict) else 0,
            "moved": bool(optimizer.get("moved", False)) if isinstance(optimizer, dict) else False,
        }

    def _history(self, data: dict, seed: int):
        history = keras.callbacks.History()
        history.history = {
            str(key): [float(_scalar(value)) for value in values]
            for key, values in data.get("history", {}).items()
        }
        if data.get("model") is not None:
            model = self.decode(data["model"], seed)
            history.set_model(model)
        return history


def _scalar(value):
    if isinstance(value, str) and value in ("nan", "inf", "-inf"):
        return float(value)
    return value


def _key(value):
    if isinstance(value, list | dict):
        raise EvidenceError("a dict key should be a number or a string")
    return value


def _keras_object(config, name: str):
    """A Keras object (loss, metric, optimizer) from its config, or a stand-in named after it."""
    short = str(name).rsplit(".", 1)[-1]
    if not isinstance(config, dict) or config_problem(config, TRAINING_MODULES):
        return foreign(short, str(name))
    try:
        with keras.saving.CustomObjectScope({}):
            return keras.saving.deserialize_keras_object(config, safe_mode=True)
    except Exception:
        return foreign(short, str(name))
