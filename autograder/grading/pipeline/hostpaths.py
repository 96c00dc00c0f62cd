"""What a feedback page says instead of the grading machine's own paths.

A traceback or a library warning in a re-run cell names files on the machine
that graded it (``/…/site-packages/keras/…``, the kit's checkout, the
grader's scratch folders). Students need the frame, not the machine:
:func:`hide_host_paths` writes those prefixes as short labels.
"""

from __future__ import annotations

import re
import site
import sys
import sysconfig
from functools import cache
from pathlib import Path

import autograder
from autograder.grading.sandbox.limits import SANDBOX_HOME

PACKAGES = "<python packages>"
PYTHON = "<python>"
KIT = "<course kit>"
SCRATCH = "<grading folder>"
_SCRATCH = re.compile(r"/tmp/coursekit-[^/\s'\"]*")


@cache
def _prefixes() -> tuple[tuple[str, str], ...]:
    found: dict[str, str] = {}
    for path in (
        *site.getsitepackages(),
        *(sysconfig.get_paths()[k] for k in ("purelib", "platlib")),
    ):
        found[str(Path(path).resolve())] = PACKAGES
        found[str(path)] = PACKAGES
    found[str(Path(autograder.__file__).resolve().parents[1])] = KIT
    for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix):
        found.setdefault(str(Path(prefix).resolve()), PYTHON)
        found.setdefault(str(prefix), PYTHON)
    # IPython writes a path under the kernel's HOME as "~/...": a checkout there shows so.
    for prefix, label in list(found.items()):
        if prefix.startswith(SANDBOX_HOME + "/"):
            found.setdefault("~" + prefix[len(SANDBOX_HOME) :], label)
    return tuple(sorted(found.items(), key=lambda item: -len(item[0])))


def hide_host_paths(text: str) -> str:
    """``text`` with the grading machine's paths written as labels (longest prefix first)."""
    for prefix, label in _prefixes():
        if len(prefix) > 1:
            text = text.replace(prefix, label)
    return _SCRATCH.sub(SCRATCH, text)
