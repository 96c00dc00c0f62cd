"""The kernel's half: questions answered from the notebook's namespace, as data only."""

from __future__ import annotations

import base64
import builtins
import json
import linecache
import math
import traceback
from collections.abc import Mapping

import numpy as np

from utilities.evidence.format import (
    FILE_BYTES,
    FULL_ARRAY_BYTES,
    MAX_DEPTH,
    MAX_ITEMS,
    MODEL_WEIGHT_BYTES,
    PROBE_IMAGES,
    PROTOCOL,
    EvidenceError,
    array_from_text,
    array_to_text,
    row_digests,
    sample_positions,
)


def _qualified(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


def _is_keras_owned(kind: type) -> bool:
    return kind.__module__.split(".")[0] == "keras"


class Encoder:
    """Turns the kernel's objects into JSON-ready data; see the module docstring.

    Every object whose identity matters (a model, a function, a history) is
    given a *handle*, the same one each time it is met, so that the checker
    can tell ``first is second`` and ``history.model is model``. The encoder
    keeps those objects alive for as long as the kernel runs.
    """

    def __init__(self):
        self.objects: dict[int, object] = {}  # handle -> object
        self._handles: dict[int, int] = {}  # id(object) -> handle

    def handle(self, value: object) -> int:
        number = self._handles.get(id(value))
        if number is None or self.objects.get(number) is not value:
            number = len(self.objects) + 1
            self.objects[number] = value
            self._handles[id(value)] = number
        return number

    def encode(self, value, seed: int = 0, probe_shape=None, depth: int = 0) -> dict:
        """``value`` as data: arrays, numbers, containers, models, histories and handles."""
        import keras

        if depth > MAX_DEPTH:
            return {"kind": "foreign", "type": "nested too deeply"}
        if value is None or isinstance(value, bool | int | float | str):
            return {"kind": "scalar", "value": _json_number(value)}
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            return {"kind": "npscalar", "dtype": value.dtype.str, "value": value.item()}
        if type(value) is np.ndarray:
            return self._array(value, seed)
        if isinstance(value, np.ndarray):
            return {
                "kind": "foreign",
                "type": _qualified(type(value)),
                "name": type(value).__name__,
            }
        if keras.ops.is_tensor(value):
            array = np.asarray(keras.ops.convert_to_numpy(value))
            return {"kind": "tensor", "array": self._array(array, seed)}
        if type(value) in (list, tuple):
            items = [self.encode(item, seed, probe_shape, depth + 1) for item in value[:MAX_ITEMS]]
            return {"kind": type(value).__name__, "items": items}
        if type(value) is dict:
            pairs = list(value.items())[:MAX_ITEMS]
            return {
                "kind": "dict",
                "items": [
                    [self.encode(k, seed, None, depth + 1), self.encode(v, seed, None, depth + 1)]
                    for k, v in pairs
                ],
            }
        if isinstance(value, keras.Model):
            return self._model(value, seed, probe_shape)
        if type(value) is keras.callbacks.History:
            return self._history(value, seed, probe_shape, depth)
        if isinstance(value, keras.optimizers.Optimizer):
            return self._optimizer(value)
        if _is_keras_owned(type(value)) and not isinstance(value, keras.layers.Layer):
            config = keras_config(value)
            if config is not None:
                return {"kind": "keras", "config": config, "type": _qualified(type(value))}
        if callable(value):
            name = getattr(value, "__name__", None) or type(value).__name__
            return {"kind": "callable", "handle": self.handle(value), "name": str(name)}
        return {"kind": "foreign", "type": _qualified(type(value)), "name": type(value).__name__}

    def _array(self, array: np.ndarray, seed: int) -> dict:
        if array.dtype.kind not in "biuf":
            return {"kind": "foreign", "type": f"numpy array of {array.dtype}", "name": "ndarray"}
        if array.nbytes <= FULL_ARRAY_BYTES or array.ndim == 0:
            return {"kind": "array", "npy": array_to_text(array)}
        positions = sample_positions(len(array), seed)
        finite = bool(np.isfinite(array).all()) if array.dtype.kind == "f" else True
        sketch = {
            "kind": "sketch",
            "dtype": array.dtype.str,
            "shape": list(array.shape),
            "seed": seed,
            "rows": array_to_text(array[positions]),
            "finite": finite,
            "min": _json_number(float(array.min())) if array.size else None,
            "max": _json_number(float(array.max())) if array.size else None,
        }
        if array.ndim >= 2 and array.dtype.kind == "f" and array[0].size <= 4096:
            sketch["digests"] = array_to_text(row_digests(array))
        return sketch

    def _model(self, model, seed: int, probe_shape) -> dict:
        import keras

        from utilities import keras_compat

        facts: dict = {
            "kind": "model",
            "handle": self.handle(model),
            "type": _qualified(type(model)),
        }
        facts["name"] = type(model).__name__
        declared = keras_compat.declared_input(model)
        # The probe comes first: calling a subclassed model is what builds its weights.
        facts["probe"] = _probe(model, seed, (declared or [None])[1:] or probe_shape)
        facts["declared_input"] = declared
        facts["config"], facts["config_error"] = _model_config(model)
        weights = list(keras.layers.Layer.weights.fget(model))
        facts["weights"] = [
            {"path": str(w.path), "trainable": bool(w.trainable), "shape": list(w.shape)}
            for w in weights
        ]
        size = sum(int(np.prod(w.shape)) * 4 for w in weights)
        if size <= MODEL_WEIGHT_BYTES:
            for entry, weight in zip(facts["weights"], weights, strict=True):
                entry["npy"] = array_to_text(np.asarray(keras.ops.convert_to_numpy(weight)))
        facts["built"] = bool(model.built)
        facts["layers"] = [layer_facts(layer) for layer in keras_compat.flat_layers(model)]
        if keras_compat.is_plain_model(model):
            facts["table"] = [layer_facts(layer) for layer in keras_compat.plain_layers(model)]
        facts["classes"] = [
            {"name": cls.__qualname__, "module": cls.__module__, "defines": sorted(vars(cls))}
            for cls in type(model).__mro__
            if issubclass(cls, keras.Model) and not _is_keras_owned(cls)
        ]
        facts["compile"] = self._compiled(model)
        return facts

    def _compiled(self, model) -> dict | None:
        from utilities import keras_compat

        arguments = keras_compat.compile_arguments(model)
        if arguments is None:
            return None
        metrics = arguments.get("metrics")
        return {
            "loss": self.encode(arguments.get("loss")),
            "metrics": self.encode(list(metrics) if isinstance(metrics, list | tuple) else metrics),
            "optimizer": self._optimizer(getattr(model, "optimizer", None)),
        }

    def _optimizer(self, optimizer) -> dict:
        import keras

        if not isinstance(optimizer, keras.optimizers.Optimizer):
            return self.encode(optimizer)
        slots = [v for v in optimizer.variables if "iteration" not in v.path]
        moved = any(np.any(np.asarray(keras.ops.convert_to_numpy(v)) != 0) for v in slots)
        return {
            "kind": "optimizer",
            "type": _qualified(type(optimizer)),
            "name": type(optimizer).__name__,
            "config": keras_config(optimizer) if _is_keras_owned(type(optimizer)) else None,
            "iterations": int(keras.ops.convert_to_numpy(optimizer.iterations)),
            "moved": bool(moved),
        }

    def _history(self, history, seed: int, probe_shape, depth: int) -> dict:
        logged = history.history if type(history.history) is dict else {}
        encoded = {
            str(key): [_json_number(float(v)) for v in list(values)[:MAX_ITEMS]]
            for key, values in list(logged.items())[:100]
            if isinstance(values, list | tuple) and all(_is_number(v) for v in values)
        }
        model = getattr(history, "model", None)
        return {
            "kind": "history",
            "handle": self.handle(history),
            "history": encoded,
            "model": self.encode(model, seed, probe_shape, depth + 1)
            if model is not None
            else None,
        }


def _is_number(value) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)


def _json_number(value):
    """JSON has no NaN or infinity: they travel as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


def keras_config(value) -> dict | None:
    import keras

    try:
        config = keras.saving.serialize_keras_object(value)
        json.dumps(config)
    except Exception:
        return None
    return config


def _model_config(model) -> tuple[dict | None, str]:
    import keras

    try:
        config = keras.saving.serialize_keras_object(model)
        config.pop("compile_config", None)
        json.dumps(config)
    except Exception as error:
        return None, f"{type(error).__name__}: {str(error)[:200]}"
    return config, ""


def layer_facts(layer) -> dict:
    """What the checks read of one layer: type, activation, output shape, parameters."""
    import keras

    activation = getattr(layer, "activation", None)
    facts = {
        "type": type(layer).__name__,
        "built": bool(layer.built),
        "weights": len(layer.weights),
        "trainable_parameters": int(sum(int(np.prod(w.shape)) for w in layer.trainable_weights)),
        "activation": getattr(activation, "__name__", None) if activation is not None else None,
    }
    if isinstance(layer, keras.layers.ReLU):
        facts["relu"] = {
            "max_value": _json_number(float(layer.max_value))
            if layer.max_value is not None
            else None,
            "negative_slope": float(layer.negative_slope),
            "threshold": float(layer.threshold),
        }
    try:
        shape = [None if s is None else int(s) for s in layer.output.shape]
        # The batch size is whatever built the model (keras.Input's None, or a first batch).
        facts["output_shape"] = [None, *shape[1:]] if shape else shape
    except Exception:
        facts["output_shape"] = None
    return facts


def probe_batch(seed: int, shape) -> np.ndarray:
    """The images a model is probed with: the same on both sides for the same seed."""
    return np.random.default_rng(seed).random((PROBE_IMAGES, *shape), dtype=np.float32)


def _probe(model, seed: int, shape) -> dict | None:
    import keras

    if not shape or any(size is None for size in shape):
        return None
    shape = [int(size) for size in shape]
    try:
        outputs = model(probe_batch(seed, shape), training=False)
        array = np.asarray(keras.ops.convert_to_numpy(outputs))
    except Exception as error:
        return {"shape": shape, "error": f"{type(error).__name__}: {str(error)[:200]}"}
    if array.dtype.kind not in "biuf":
        return {"shape": shape, "error": "the model's output is not numbers"}
    return {"shape": shape, "outputs": array_to_text(array)}


class _Decoder:
    """What the kernel makes of the checker's arguments (arrays, numbers, its own handles)."""

    def __init__(self, encoder: Encoder):
        self.encoder = encoder

    def decode(self, data):
        import keras

        kind = data.get("kind") if isinstance(data, dict) else None
        if kind == "scalar":
            return data["value"]
        if kind == "array":
            return array_from_text(data["npy"])
        if kind == "tensor":
            return keras.ops.convert_to_tensor(self.decode(data["array"]))
        if kind in ("list", "tuple"):
            items = [self.decode(item) for item in data["items"]]
            return items if kind == "list" else tuple(items)
        if kind == "dict":
            return {self.decode(k): self.decode(v) for k, v in data["items"]}
        if kind == "ref":
            if data.get("handle") not in self.encoder.objects:
                raise EvidenceError(f"no object with handle {data.get('handle')!r}")
            return self.encoder.objects[data["handle"]]
        if kind == "keras":
            return keras.saving.deserialize_keras_object(data["config"], safe_mode=True)
        raise EvidenceError(f"cannot use an argument of kind {kind!r}")


_ENCODER: Encoder | None = None


def answer(question_text: str, namespace: Mapping[str, object]) -> str:
    """The kernel's answer to one question (JSON in, JSON out); see the module docstring.

    Questions: ``get`` a name, ``call`` a function, ``model_call`` (run a model
    on images), ``evaluate`` (run a loss and metrics as ``model.fit`` does) and
    ``file`` (the bytes of a file the notebook wrote).
    """
    global _ENCODER
    if _ENCODER is None:
        _ENCODER = Encoder()
    encoder = _ENCODER
    try:
        question = json.loads(question_text)
        seed = int(question.get("seed", 0))
        probe_shape = question.get("probe_shape")
        value = _answer(question, namespace, encoder)
        reply = {"ok": True, "value": encoder.encode(value, seed, probe_shape)}
    except _Missing as missing:
        reply = {"ok": False, "error": {"type": "NameError", "message": str(missing)}}
    except BaseException as error:  # the student's code failed: say where, in their own words
        reply = {"ok": False, "error": _describe_failure(error)}
    reply["protocol"] = PROTOCOL
    return json.dumps(reply)


class _Missing(Exception):
    pass


def _answer(question: dict, namespace: Mapping[str, object], encoder: Encoder):
    operation = question.get("op")
    decoder = _Decoder(encoder)
    if operation == "get":
        name = str(question["name"])
        if name not in namespace:
            raise _Missing(f"name {name!r} is not defined")
        return namespace[name]
    if operation == "call":
        target = decoder.decode({"kind": "ref", "handle": question["handle"]})
        args = [decoder.decode(item) for item in question.get("args", [])]
        kwargs = {str(k): decoder.decode(v) for k, v in question.get("kwargs", {}).items()}
        return target(*args, **kwargs)
    if operation == "model_call":
        import keras

        model = decoder.decode({"kind": "ref", "handle": question["handle"]})
        images = decoder.decode(question["x"])
        if question.get("predict"):
            return np.asarray(model.predict(images, batch_size=1024, verbose=0))
        return np.asarray(keras.ops.convert_to_numpy(model(images, training=False)))
    if operation == "evaluate":
        from utilities.checks.running import compiled_evaluate

        loss = _decode_spec(question["loss"], decoder)
        metrics = [_decode_spec(spec, decoder) for spec in question.get("metrics", [])]
        logged = compiled_evaluate(
            decoder.decode(question["y_true"]),
            decoder.decode(question["y_pred"]),
            loss,
            metrics,
            int(question["batch_size"]),
        )
        return {str(k): float(v) for k, v in logged.items()}
    if operation == "file":
        name = str(question["name"])
        if "/" in name or name.startswith("."):
            raise EvidenceError(f"{name!r}: only files in the working folder can be read")
        with open(name, "rb") as stream:
            data = stream.read(FILE_BYTES + 1)
        if len(data) > FILE_BYTES:
            raise EvidenceError(f"{name} is larger than {FILE_BYTES:,} bytes")
        return base64.b64encode(data).decode("ascii")
    raise EvidenceError(f"unknown question {operation!r}")


def _decode_spec(spec: dict, decoder: _Decoder):
    """A loss or metric the checker names: a built-in by name or config, or the kernel's own."""
    if spec.get("zero"):
        import keras

        def zero_loss(y_true, y_pred):
            return keras.ops.zeros(keras.ops.shape(y_pred)[:1])

        return zero_loss
    return decoder.decode(spec["value"])


def _describe_failure(error: BaseException) -> dict:
    """The error, and the student's own line where it happened (never the kit's)."""
    described = {"type": type(error).__name__, "message": str(error)[:2000]}
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if _is_notebook_file(frame.filename):
            line = frame.line or linecache.getline(frame.filename, frame.lineno).strip()
            described["function"] = frame.name
            described["line"] = line[:300]
            break
    return described


def _is_notebook_file(filename: str) -> bool:
    return "ipykernel_" in filename or filename.startswith("<ipython-input")


def install() -> None:
    """Make :func:`answer` reachable in the kernel as ``__coursekit_answer__(question)``.

    Grading calls it before the notebook's first cell; it also quiets library
    warnings and TensorFlow's log lines, which would only be noise in the
    feedback on a re-run (the student's own Jupyter still shows them).
    """
    import logging
    import warnings

    from IPython import get_ipython

    warnings.simplefilter("ignore")
    for name in ("tensorflow", "absl", "keras", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)

    shell = get_ipython()

    def __coursekit_answer__(question_text: str) -> str:
        return answer(question_text, shell.user_ns)

    builtins.__coursekit_answer__ = __coursekit_answer__
