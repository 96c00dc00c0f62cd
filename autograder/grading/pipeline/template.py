"""The course as graded: sources, release, gradebook and grading plan, built once and kept.

nbgrader's ``generate_assignment`` takes about 14 s, so :func:`template_course`
keeps the template in the grading folder and rebuilds it only when the
sources, the config, the dataset or the kit's own code change. Workers only
read it. :func:`grader_fingerprint` is everything that can change a grade;
a student whose files and fingerprint are unchanged is not graded again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from dataclasses import asdict
from pathlib import Path

import nbformat
import numpy as np

import autograder
import utilities
from autograder.course.dataset import load_answer_key
from autograder.course.folder import run_nbgrader, scratch_course
from autograder.grading.checker.plan import plan_assignment
from utilities.data import sha256_of

GRADING_PLAN = "grading_plan.json"  # in the template: autograder.grading.checker.plan
TEMPLATE_KEY = "template.key"


def template_course(run, folder: Path) -> Path:
    """The template of ``run`` (a :class:`~autograder.grading.pipeline.grade.GradeRun`)."""
    key = _template_key(run)
    kept = run.folder.template
    with contextlib.suppress(OSError):
        if (kept / TEMPLATE_KEY).read_text() == key:
            return kept
    scratch_course(run.layout.root, run.assignment, folder)
    source = folder / "source" / run.assignment
    shutil.copy2(run.dataset_file, source / Path(run.dataset_file).name)
    run_nbgrader(folder, "generate_assignment", run.assignment, "--force")
    plan = plan_assignment(source, folder / "release" / run.assignment, _private_rows(run))
    (folder / GRADING_PLAN).write_text(plan.to_json())
    (folder / TEMPLATE_KEY).write_text(key)
    staged = run.folder.root / f".template-{os.getpid()}"
    shutil.rmtree(staged, ignore_errors=True)
    shutil.copytree(folder, staged)
    old = run.folder.root / f".template-old-{os.getpid()}"
    if kept.exists():
        os.replace(kept, old)
    os.replace(staged, kept)
    shutil.rmtree(old, ignore_errors=True)
    return kept


def _private_rows(run) -> list[int]:
    """The leaderboard's private test images (a handed-in model is checked on some of them)."""
    if run.answer_key is None or not Path(run.answer_key).is_file():
        return []
    key = load_answer_key(run.answer_key)
    return [int(row) for row in np.flatnonzero(~np.asarray(key["is_public"], dtype=bool))]


def _template_key(run) -> str:
    """What the template is made of: the course's config and sources, the dataset, the kit."""
    digest = hashlib.sha256(run.layout.config.read_bytes())
    source = run.layout.source(run.assignment)
    for path in sorted(source.rglob("*")):
        if path.is_file() and ".ipynb_checkpoints" not in path.parts:
            digest.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes())
    digest.update(sha256_of(run.dataset_file).encode())
    if run.answer_key is not None and Path(run.answer_key).is_file():
        digest.update(sha256_of(run.answer_key).encode())
    digest.update(kit_digest().encode())
    return digest.hexdigest()


def kit_digest() -> str:
    """A digest of the kit's own code: a new grader regrades everyone."""
    digest = hashlib.sha256()
    for package in (autograder, utilities):
        folder = Path(package.__file__).parent
        for path in sorted(folder.rglob("*.py")):
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def grade_ids(release: Path) -> dict[str, set[str]]:
    """The graded cells of each released notebook, by notebook name."""
    cells = {}
    for path in sorted(release.glob("*.ipynb")):
        notebook = nbformat.read(path, 4)
        cells[path.stem] = {
            cell.metadata["nbgrader"]["grade_id"]
            for cell in notebook.cells
            if cell.metadata.get("nbgrader", {}).get("grade_id")
        }
    return cells


def grader_fingerprint(run, template: Path) -> str:
    """Everything that can change a grade: limits, sources, config, dataset and the kit's code."""
    digest = hashlib.sha256(f"{asdict(run.options.limits)}".encode())
    digest.update(kit_digest().encode())
    for path in sorted((template / "source" / run.assignment).glob("*.ipynb")):
        digest.update(path.read_bytes())
    digest.update((template / run.layout.config.name).read_bytes())
    digest.update(sha256_of(run.dataset_file).encode())
    return digest.hexdigest()
