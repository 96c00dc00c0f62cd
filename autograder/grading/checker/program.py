"""The checker: runs a notebook's tests outside the student's kernel and judges them.

It runs in a kernel of its own (``autograder.grading.checker.session`` starts
it in a sandbox), where no student code ever runs. At the start it runs the
source notebook's setup imports and its trusted kit cells
(:mod:`autograder.grading.checker.plan`), so that ``mnist`` or ``fashion`` in
a test is data no notebook touched. For each test cell it then:

1. asks the student's kernel for every name the test reads from the notebook
   (each question goes out through ``input()``, which the worker relays to
   the student's kernel, and comes back as data: :mod:`utilities.evidence`),
   and for every file the test reads;
2. turns the answers into objects (:mod:`autograder.grading.checker.decode`):
   arrays, models rebuilt from their config and weights, histories, and
   stand-ins for the student's functions, whose calls become more questions;
3. runs the test's own source against them, and returns the verdict as JSON.

The test's source, its expected values and the grading seed never leave
this process; what the student's kernel sees is the questions.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import io
import json
import sys
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from autograder.grading.checker.decode import Decoder
from autograder.grading.checker.plan import NotebookPlan
from utilities.checks import base as checks_base
from utilities.evidence import PROTOCOL, EvidenceError
from utilities.loaders import FASHION_MNIST_FILE

#: Where tests run and the files they read are written (a fresh folder in the sandbox's /tmp).
TEST_FOLDER = "/tmp/coursekit-checker"
#: The image shape models are probed with.
PROBE_SHAPE = (28, 28, 1)
#: The most characters of a failure message a verdict carries.
MESSAGE_CHARACTERS = 4000
#: The largest config.json of a handed-in model the checker reads.
MODEL_CONFIG_BYTES = 1024**2


class NotebookError(Exception):
    """An error the student's code raised in their kernel, under its own name."""


def notebook_error(error: dict) -> Exception:
    """The exception to raise here for an error the kernel reported (same name, same message)."""
    name = "".join(ch for ch in str(error.get("type", "Error")) if ch.isalnum() or ch == "_")
    message = str(error.get("message", ""))[:MESSAGE_CHARACTERS]
    line = str(error.get("line", "")).strip()
    if line:
        message += f" (in {error.get('function', 'your code')}: `{line}`)"
    kind = getattr(builtins, name or "Error", None)
    if not (isinstance(kind, type) and issubclass(kind, Exception)):
        kind = type(name or "Error", (NotebookError,), {})
    return kind(message)


class _KernelChannel:
    """Questions to the student's kernel (through ``ask``); answers decoded."""

    def __init__(self, seed: int, ask: Callable[[str], str]):
        self.seeds = np.random.default_rng([seed, 1])
        self.decoder = Decoder(self)
        self.questions = 0
        self.ask = ask

    def request(self, question: dict) -> object:
        seed = int(self.seeds.integers(2**31))
        sent = {**question, "seed": seed, "probe_shape": list(PROBE_SHAPE), "protocol": PROTOCOL}
        self.questions += 1
        reply = json.loads(self.ask(json.dumps(sent)))
        if not isinstance(reply, dict) or reply.get("protocol") != PROTOCOL:
            raise EvidenceError("the kernel's answer is not in the grader's format")
        if not reply.get("ok"):
            raise notebook_error(reply.get("error") or {})
        return self.decoder.decode(reply["value"], seed)


class Checker:
    """One notebook's checker; see the module docstring.

    ``ask`` sends a question (JSON text) to the student's kernel and returns its
    answer; in the checker's kernel it is ``input()``, which the worker relays.
    ``folder`` is where tests run and the files they read are written.
    """

    def __init__(
        self,
        plan_json: str,
        seed: int,
        ask: Callable[[str], str] | None = None,
        folder: str = TEST_FOLDER,
        models: str = "",
    ):
        warnings.simplefilter("ignore")
        checks_base.GRADING_SEED = seed
        self.plan = NotebookPlan.from_dict(json.loads(plan_json))
        self.folder = Path(folder)
        self.channel = _KernelChannel(seed, ask or (lambda text: builtins.input(text)))
        self.namespace: dict = {"__name__": "__main__", "__builtins__": builtins}
        self.setup_error = ""
        quiet = io.StringIO()
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            try:
                self._run(self.plan.setup_imports, "<setup>")
                for number, source in enumerate(self.plan.trusted_cells):
                    self._run(source, f"<kit cell {number}>")
            except Exception as error:  # reported with every verdict; no test can pass
                self.setup_error = f"{type(error).__name__}: {error}"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.data_folder = Path.cwd()  # where the kernel's data files are (never a notebook)
        self.models_folder = Path(models) if models else None  # the handed-in model, if any

    def _run(self, source: str, filename: str) -> None:
        exec(compile(source, filename, "exec", dont_inherit=True), self.namespace)

    def run_test(self, encoded_source: str, cell: str) -> str:
        """Run test cell ``cell`` (its source base64-encoded); the verdict as JSON."""
        source = base64.b64decode(encoded_source).decode("utf-8")
        test = self.plan.test(cell)
        decoder = self.channel.decoder
        decoder.reset()
        checks_base.REVIEW_REQUESTS = []
        verdict: dict = {"cell": cell, "status": "passed"}
        try:
            if self.setup_error:
                raise RuntimeError(f"the grader could not load the course data: {self.setup_error}")
            for name in test.reads:
                self._fetch(name)
            for name in test.files:
                self._fetch_file(name)
            with contextlib.chdir(self.folder):
                self._run(source, f"<test {cell}>")
        except BaseException as error:  # the test failed, however it failed
            verdict.update(_failure(error, source, cell))
        sys.stdout.flush()
        verdict["notes"] = list(dict.fromkeys(decoder.notes))
        verdict["inconsistent"] = list(dict.fromkeys(decoder.inconsistent))
        verdict["review"] = list(dict.fromkeys(checks_base.REVIEW_REQUESTS))
        verdict["questions"] = self.channel.questions
        return json.dumps(verdict)

    def _fetch(self, name: str) -> None:
        try:
            self.namespace[name] = self.channel.request({"op": "get", "name": name})
        except NameError:
            self.namespace.pop(name, None)  # the test then fails where it reads the name

    def _fetch_file(self, name: str) -> None:
        target = self.folder / name
        target.unlink(missing_ok=True)
        try:
            data = self.channel.request({"op": "file", "name": name})
        except (FileNotFoundError, IsADirectoryError, PermissionError):
            return  # the test reads a file that is not there, and says so
        target.write_bytes(base64.b64decode(str(data)))

    def check_handed_in_model(self) -> str:
        """JSON: the handed-in model's classes for the plan's private test images, or why none.

        The model file is the student's: its config is checked against the
        allow-list before Keras reads it (``safe_mode``, no compile), and it
        runs here, where no student code does.
        """
        name, rows = self.plan.handed_in_model, list(self.plan.reproduction_rows)
        try:
            if self.models_folder is None:
                raise FileNotFoundError("not handed in")
            images = self.data_folder / FASHION_MNIST_FILE
            predictions = _predict(self.models_folder / name, images, rows)
            return json.dumps({"rows": rows, "predictions": predictions})
        except Exception as error:  # anything wrong with the file: reported, never raised
            return json.dumps({"error": f"{name}: {type(error).__name__}: {str(error)[:300]}"})


def _predict(path: Path, images_file: Path, rows: list[int]) -> list[int]:
    import zipfile

    import keras

    from autograder.grading.checker.rebuild import config_problem
    from utilities import keras_compat
    from utilities.loaders import load_fashion_mnist

    if not path.is_file():
        raise FileNotFoundError("not handed in")
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("config.json")
        if info.file_size > MODEL_CONFIG_BYTES:
            raise ValueError("its config is too large")
        config = json.loads(archive.read(info))
        if isinstance(config, dict):  # loaded without compiling: its training setup is never read
            config.pop("compile_config", None)
        problem = config_problem(config)
    if problem:
        raise ValueError(f"it cannot be loaded by the grader: {problem}")
    model = keras.saving.load_model(path, compile=False, safe_mode=True)
    if not keras_compat.is_plain_model(model):
        raise ValueError(f"it loads as a {type(model).__name__}, not a plain Keras model")
    images = load_fashion_mnist(images_file)["X_test"][rows]
    scaled = images[..., np.newaxis].astype("float32") / np.float32(255)
    return [int(c) for c in np.asarray(model.predict(scaled, batch_size=512, verbose=0)).argmax(1)]


def _failure(error: BaseException, source: str, cell: str) -> dict:
    """The verdict of a test that raised: the error, and the test's own line where it failed."""
    line = ""
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename == f"<test {cell}>":
            lines = source.splitlines()
            if 0 < frame.lineno <= len(lines):
                line = lines[frame.lineno - 1].strip()
    return {
        "status": "failed",
        "ename": type(error).__name__,
        "evalue": str(error)[:MESSAGE_CHARACTERS],
        "line": line[:300],
    }
