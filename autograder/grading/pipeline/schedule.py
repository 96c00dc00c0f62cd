"""Which students to grade, and the job each worker gets.

A student is graded again only when their files or the grader changed
(:func:`students_to_grade`); each one to grade becomes a job file
(:class:`~autograder.grading.pipeline.records.Job`) with its own sandbox spec.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from dataclasses import asdict, replace
from pathlib import Path

from autograder.grading.pipeline.ingest import StudentFiles
from autograder.grading.pipeline.records import Job, load_records
from autograder.grading.pipeline.template import GRADING_PLAN
from autograder.grading.sandbox.limits import SandboxSpec, default_spec
from autograder.layout import GradingFolder

#: A worker's time beyond its notebooks' timeouts (nbgrader, feedback, the merge).
JOB_OVERHEAD_SECONDS = 180


def students_to_grade(
    students: dict[str, StudentFiles], folder: GradingFolder, grader: str, force: bool
):
    """(files, fingerprint) of each student to grade, and the ids of those left as they are."""
    records = load_records(folder)
    todo, skipped = [], []
    for student, files in sorted(students.items()):
        fingerprint = hashlib.sha256(f"{grader}\0{files.fingerprint()}".encode()).hexdigest()
        previous = records.get(student)
        if not force and previous is not None and previous.fingerprint == fingerprint:
            skipped.append(student)
        else:
            todo.append((files, fingerprint))
    return todo, skipped


def sandbox_spec(run, work: Path) -> SandboxSpec:
    """The sandbox every student of ``run`` gets: limits, read-only paths, the kernels' folder."""
    cache = readable_copy(Path(run.cache_dir), work / "cache")
    (work / "kernels").mkdir(mode=0o711)
    return default_spec(
        work / "kernels", Path(), run.options.limits, cache, run.options.warm_kernels
    )


def write_job(files: StudentFiles, run, template: Path, work: Path, spec: SandboxSpec):
    """The job file for one student, and the seconds its worker may take."""
    folder = work / "students" / files.student
    folder.mkdir(parents=True)
    spec_file = folder / "sandbox.json"
    events = folder / "course" / "events.jsonl"
    spec_file.write_text(replace(spec, events_file=str(events)).to_json())
    job = Job(
        student=files.student,
        assignment=run.assignment,
        template=str(template),
        scratch=str(folder),
        notebooks={name: str(path) for name, path in files.notebooks.items()},
        sandbox_spec=str(spec_file),
        result_file=str(folder / "result.json"),
        root=str(files.root),
        grading_plan=str(template / GRADING_PLAN),
        model=str(files.model) if files.model is not None else "",
    )
    job_file = folder / "job.json"
    job_file.write_text(json.dumps(asdict(job)))
    budget = run.options.limits.notebook_timeout * max(1, len(files.notebooks))
    return job_file, budget + JOB_OVERHEAD_SECONDS


def readable_copy(cache: Path, folder: Path) -> Path:
    """The raw dataset files the notebooks load, readable by the sandbox user, and nothing else.

    Only the verified files of MNIST and Fashion-MNIST are taken (whatever
    else the instructor's cache holds, such as a test's solved notebooks or a model,
    never reaches a kernel), each only when its SHA-256 is the published one. Links
    are never followed. A file that others may already read is hard-linked; any
    other is copied, so that no mode of the instructor's own files changes.
    """
    from utilities.data import FASHION_MNIST, MNIST, sha256_of

    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    for dataset in (MNIST, FASHION_MNIST):
        here = folder / dataset.name
        here.mkdir(exist_ok=True)
        here.chmod(0o755)
        for raw in dataset.files.values():
            path = Path(cache) / dataset.name / raw.name
            if path.is_symlink() or not path.is_file() or sha256_of(path) != raw.sha256:
                continue  # the notebook's loader then says the dataset is missing
            target = here / raw.name
            if path.lstat().st_mode & 0o004:
                with contextlib.suppress(OSError):
                    os.link(path, target)
            if not target.exists():
                shutil.copyfile(path, target)
                target.chmod(0o644)
    return folder
