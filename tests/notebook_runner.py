"""Run a small notebook through the hardened executor, in the real sandbox.

Shared by the sandbox and integrity tests. Cells are plain sources; the ones
listed in ``grade`` become autograded test cells and the ones in
``solutions`` become solution cells, with nbgrader metadata as nbgrader's
release writes it.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path

from nbformat.v4 import new_code_cell, new_notebook

from autograder.grading.checker.plan import GradingPlan, plan_notebook
from autograder.grading.pipeline.execute import SandboxedExecute
from autograder.grading.sandbox import SandboxLimits, default_spec
from autograder.grading.sandbox.warm_kernels import zygote_for

# One dataset cache for every warm kernel, so that they share one environment and one zygote.
SHARED_CACHE = Path(tempfile.mkdtemp(prefix="coursekit-test-cache-"))
SHARED_CACHE.chmod(0o755)


def run(
    tmp_path: Path,
    *sources,
    grade=(),
    solutions=(),
    plan=None,
    limits=None,
    data=None,
    cpus=(),
    warm=True,
    outputs=None,
):
    """Execute a notebook of ``sources``; return its cells and the events the executor wrote.

    ``warm`` forks the kernel from the tests' zygote, as grading does by
    default; ``warm=False`` starts it from scratch, the grader's fallback.
    ``plan`` defaults to the grading plan of this notebook taken as its own
    source (autograder.grading.checker.plan). ``outputs`` maps a cell's index
    to the outputs the student's own run left in it. Events come back as dicts.
    """
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    os.chmod(tmp_path, 0o700)
    events = scratch / "events.jsonl"
    cache = SHARED_CACHE if warm else tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    spec = default_spec(scratch, events, limits or SandboxLimits(cell_timeout=10), cache)
    zygote = zygote_for("tests", spec.environment) if warm else ""
    spec = replace(spec, cpus=tuple(cpus), zygote=zygote)
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(spec.to_json())
    notebook_dir = tmp_path / "notebook"
    notebook_dir.mkdir(exist_ok=True)
    for name, text in (data or {}).items():
        (notebook_dir / name).write_text(text)
    (notebook_dir / "secret.ipynb").write_text("HIDDEN TESTS LIVE HERE")
    cells = []
    for index, source in enumerate(sources):
        cell = new_code_cell(source)
        if index in grade or index in solutions:
            cell.metadata["nbgrader"] = {
                "grade": index in grade,
                "grade_id": f"t{index}" if index in grade else f"s{index}",
                "solution": index in solutions,
                "locked": index in grade,
            }
            if index in grade:
                cell.metadata["nbgrader"]["points"] = 1
        cell.outputs = list((outputs or {}).get(index, []))
        cells.append(cell)
    notebook = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    # By default the plan is the one the grader would make if this notebook were the source.
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(GradingPlan({"demo": plan or plan_notebook(notebook)}).to_json())
    return execute(notebook, spec_file, plan_file, notebook_dir, events)


def execute(notebook, spec_file: Path, plan_file: Path, notebook_dir: Path, events: Path):
    """Run ``notebook`` (as notebook "demo") through the grader's executor in ``notebook_dir``.

    Its cells come back run, with the events the executor wrote to ``events`` (dicts).
    """
    executor = SandboxedExecute(sandbox_spec=str(spec_file), grading_plan=str(plan_file))
    executor.preprocess(
        notebook, {"metadata": {"path": str(notebook_dir)}, "nbgrader": {"notebook": "demo"}}
    )
    found = (
        [json.loads(line) for line in events.read_text().splitlines()] if events.exists() else []
    )
    return notebook.cells, (found[-1]["events"] if found else [])


def text(cell) -> str:
    """Everything a cell printed, and its errors as ``Name: message``."""
    parts = []
    for output in cell.outputs:
        parts.append(output.get("text", ""))
        if output.output_type == "error":
            parts.append(f"{output.ename}: {output.evalue}")
    return "".join(parts)


def errors(cell) -> list[str]:
    """The names of the errors a cell's outputs hold."""
    return [output.ename for output in cell.outputs if output.output_type == "error"]
