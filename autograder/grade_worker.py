"""Grade one student in a scratch nbgrader course: ``python -m autograder.grade_worker JOB``.

``coursekit grade`` starts one of these per student, so that a crash or a
hung grader costs one student, not the class. JOB is a JSON file (see
:class:`Job`); the result is written as JSON to ``job.result_file``. The
scratch course holds a copy of the template gradebook, the preflighted
notebooks and nbgrader's output; ``autograder.grade`` merges it into the
course only after this process has finished.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.preflight import preflight


@dataclass
class Job:
    student: str
    assignment: str
    template: str  # a course folder: config, source, release and a gradebook with the assignment
    scratch: str  # an empty folder for this student's scratch course
    notebooks: dict[str, str]  # notebook name -> submitted file
    sandbox_spec: str  # the SandboxSpec JSON for this student's kernels
    result_file: str


def grade(job: Job) -> dict:
    """Preflight, autograde and generate feedback for ``job.student``; return the result."""
    started = time.perf_counter()
    scratch = Path(job.scratch) / "course"
    shutil.copytree(
        job.template, scratch, ignore=shutil.ignore_patterns("release"), copy_function=_link_or_copy
    )
    release = Path(job.template) / "release" / job.assignment
    submitted = scratch / "submitted" / job.student / job.assignment
    submitted.mkdir(parents=True)
    problems, review, usable = [], [], []
    for path in sorted(release.glob("*.ipynb")):
        name = path.stem
        if name not in job.notebooks:
            problems.append(f"{name}.ipynb: not handed in; this notebook scores 0")
            continue
        checked = preflight(Path(job.notebooks[name]), nbformat.read(path, 4), f"{name}.ipynb")
        problems += checked.problems
        review += checked.review
        if checked.usable:
            nbformat.write(checked.notebook, submitted / f"{name}.ipynb")
            usable.append(name)
    result = {
        "student": job.student,
        "usable": usable,
        "problems": problems,
        "review": review,
        "events": [],
        "autograded": False,
        "log": "",
    }
    if usable:
        _run_nbgrader(scratch, job, result)
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def _run_nbgrader(course: Path, job: Job, result: dict) -> None:
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    os.chdir(course)
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    config.SandboxedExecute.sandbox_spec = job.sandbox_spec
    coursedir = CourseDirectory(config=config, root=str(course))
    api = NbGraderAPI(coursedir=coursedir, config=config)
    graded = api.autograde(job.assignment, job.student, force=True, create=True)
    result["log"] += graded.get("log", "")
    events_file = course / "events.jsonl"
    if events_file.exists():
        for line in events_file.read_text().splitlines():
            result["events"].append(json.loads(line))
    if not graded.get("success"):
        result["error"] = _last_lines(graded.get("error") or graded.get("log", ""))
        return
    result["autograded"] = True
    feedback = api.generate_feedback(job.assignment, job.student, force=True)
    result["log"] += feedback.get("log", "")
    if not feedback.get("success"):
        result["error"] = "feedback: " + _last_lines(feedback.get("error") or "")


def _link_or_copy(source: str, destination: str) -> None:
    """Hard-link the template's dataset (read only, and big); copy everything else."""
    if source.endswith(".h5"):
        try:
            os.link(source, destination)
            return
        except OSError:
            pass
    shutil.copy2(source, destination)


def _last_lines(text: str, count: int = 6) -> str:
    return "\n".join(text.strip().splitlines()[-count:])


def main(argv: list[str]) -> int:
    job = Job(**json.loads(Path(argv[0]).read_text()))
    try:
        result = grade(job)
    except Exception as error:  # reported in the student's record, never lost
        result = {"student": job.student, "crashed": f"{type(error).__name__}: {error}"}
    staged = Path(job.result_file + ".tmp")
    staged.write_text(json.dumps(result))
    os.replace(staged, job.result_file)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
