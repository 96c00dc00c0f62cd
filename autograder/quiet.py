"""Instructor commands without TensorFlow's C++ start-up log (unless ``COURSEKIT_DEBUG=1``).

TensorFlow writes lines such as ``Could not find cuda drivers`` and
``All log messages before absl::InitializeLog()`` straight to file
descriptor 2 while its libraries load, before any Python setting applies.
:func:`quiet_tensorflow` sets ``TF_CPP_MIN_LOG_LEVEL=3`` for what comes
later and, the first time anything imports ``tensorflow``, sends that
descriptor to ``/dev/null`` for the import only. Python errors still raise
and are shown; nothing is imported before it is needed.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import os
import sys
from collections.abc import Iterator

from autograder.settings import Env


@contextlib.contextmanager
def _descriptor_2_silenced() -> Iterator[None]:
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as sink:
            os.dup2(sink.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class _QuietImport(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` once, and loads it with descriptor 2 silenced."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module

        def exec_module(module) -> None:
            with _descriptor_2_silenced():
                load(module)

        spec.loader.exec_module = exec_module
        return spec


def quiet_tensorflow() -> None:
    """Keep TensorFlow's C++ log out of this process's output; see the module docstring."""
    if os.environ.get(Env.DEBUG) or "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if not any(isinstance(finder, _QuietImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietImport())
