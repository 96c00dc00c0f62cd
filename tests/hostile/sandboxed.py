"""Small notebooks through the grading executor in the real sandbox, with one protection off.

:func:`run_cells` is :func:`notebook_runner.run` for notebooks without tests,
with what the hostile wave needs on top: the user the kernel runs as (a
grading slot's, as ``coursekit grade`` runs them as root), the seccomp filter
on or off, and any limit. Turning a protection off here is how the wave shows
that its tests test something (``prove_new.py --protections-off``); the
suite always runs with every protection on.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from nbformat.v4 import new_code_cell, new_notebook
from notebook_runner import execute

from autograder.grading.checker.plan import GradingPlan, NotebookPlan
from autograder.grading.sandbox import SandboxLimits, default_spec
from autograder.grading.sandbox.warm_kernels import zygote_for


def run_cells(
    folder: Path,
    sources,
    *,
    cache: Path,
    uid: int | None = None,
    seccomp: bool = True,
    limits: SandboxLimits | None = None,
    warm: bool = True,
    scratch: Path | None = None,
):
    """Run ``sources`` as one notebook; its cells and the events the executor wrote (dicts).

    ``scratch`` is where the kernel's socket folder is made (default:
    ``folder/scratch``); ``cache`` is the dataset cache bound into the
    sandbox (tests share one, so that warm kernels share one zygote).
    """
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    scratch = scratch or folder / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    events = folder / "events.jsonl"
    spec = default_spec(scratch, events, limits or SandboxLimits(cell_timeout=60), cache)
    spec = replace(
        spec,
        uid=spec.uid if uid is None else uid,
        seccomp=seccomp,
        zygote=zygote_for("tests", spec.environment) if warm else "",
    )
    (folder / "spec.json").write_text(spec.to_json())
    (folder / "plan.json").write_text(GradingPlan({"demo": NotebookPlan()}).to_json())
    notebook_dir = folder / "notebook"
    notebook_dir.mkdir(exist_ok=True)
    notebook = new_notebook(
        cells=[new_code_cell(source) for source in sources],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    return execute(notebook, folder / "spec.json", folder / "plan.json", notebook_dir, events)


def printed(cells) -> str:
    """Everything the cells printed or displayed as text, and their errors as ``Name: value``."""
    parts = []
    for cell in cells:
        for output in cell.outputs:
            parts.append(output.get("text", ""))
            if output.output_type == "error":
                parts.append(f"{output.ename}: {output.evalue}\n")
            if output.output_type in ("display_data", "execute_result"):
                parts.append(str(output.get("data", {}).get("text/plain", ""))[:200])
    return "".join(parts)


def kept_bytes(cells) -> int:
    """How many bytes of output the grader kept, as the notebook file will hold them."""
    return sum(len(json.dumps(output)) for cell in cells for output in cell.outputs)
