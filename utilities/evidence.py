"""How grading learns what your notebook computed: questions in, data out.

When your notebook is graded, its tests do not run in your notebook's kernel.
A separate checker, which never runs your code, runs them. Whenever a test
needs something of yours (``x_train``, ``build_lenet5()``, ``macro_f1`` on
some labels), the checker asks your kernel, and :func:`answer` replies with
*data only*: arrays as ``.npy`` (no pickles), a Keras model as its config and
weights, a training history as numbers. The checker rebuilds your model from
that data and runs it itself, so a test's verdict never depends on anything
your kernel says about itself. The inputs your functions get are chosen when
grading starts, so a right answer can only come from working code.

This module holds both halves of that conversation:

- the kernel's half: :func:`answer` (installed as ``__coursekit_answer__``
  by :func:`install`) and :class:`Encoder`, which turns objects into data;
- the shapes that data takes on the checker's side when it cannot simply be
  rebuilt: :class:`ArraySketch` for arrays too big to send whole,
  :class:`RemoteFunction` and :class:`RemoteModel` for code that can only run
  where it was written (your functions; a subclassed ``keras.Model``), and
  :class:`Foreign` for anything else.

You never need to call anything here yourself.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import io
import json
import linecache
import math
import traceback
from collections.abc import Mapping
from typing import Protocol

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


# --- the kernel's half ------------------------------------------------------------------------


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
            config = _keras_config(value)
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
            "config": _keras_config(optimizer) if _is_keras_owned(type(optimizer)) else None,
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


def _keras_config(value) -> dict | None:
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
        facts["output_shape"] = [None if s is None else int(s) for s in layer.output.shape]
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
    """Make :func:`answer` reachable in the kernel as ``__coursekit_answer__(question)``."""
    from IPython import get_ipython

    shell = get_ipython()

    def __coursekit_answer__(question_text: str) -> str:
        return answer(question_text, shell.user_ns)

    builtins.__coursekit_answer__ = __coursekit_answer__


# --- the checker's half: what cannot be rebuilt -----------------------------------------------


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
    config = _keras_config(value)
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


__all__ = [
    "PROTOCOL",
    "ArraySketch",
    "Channel",
    "Encoder",
    "EvidenceError",
    "Foreign",
    "RemoteFunction",
    "RemoteModel",
    "answer",
    "array_from_text",
    "array_to_text",
    "encode_argument",
    "foreign",
    "install",
    "is_remote",
    "row_digests",
    "run_in_kernel_of",
    "sample_positions",
]
