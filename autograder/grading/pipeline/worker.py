"""Grade one student in a scratch nbgrader course.

Run as ``python -m autograder.grading.pipeline.worker JOB``.

``coursekit grade`` starts one of these per student, so that a crash or a
hung grader costs one student, not the class. JOB is a JSON file (see
:class:`Job`); the result is written as JSON (:class:`WorkerResult`) to
``job.result_file``. The scratch course holds a copy of the template
gradebook, the preflighted notebooks and nbgrader's output;
``autograder.grading.pipeline.grade`` merges it into the course only after this process has
finished.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import sys
import time
from dataclasses import asdict
from pathlib import Path

from autograder.lean_imports import skip_unused_optional_imports

skip_unused_optional_imports()  # before nbformat imports jsonschema

import nbformat  # noqa: E402

from autograder.grading.checker.plan import GradingPlan  # noqa: E402
from autograder.grading.pipeline.events import read_events  # noqa: E402
from autograder.grading.pipeline.ingest import (  # noqa: E402
    UnreadableSubmission,
    printable,
    read_submission_bytes,
)
from autograder.grading.pipeline.preflight import preflight  # noqa: E402
from autograder.grading.pipeline.records import Job, WorkerResult  # noqa: E402
from autograder.grading.sandbox.limits import SandboxSpec  # noqa: E402
from autograder.grading.sandbox.mounts import cap_kernel_folders  # noqa: E402

_PR_SET_PDEATHSIG = 1
MAX_MODEL_BYTES = 32 * 1024**2  # a handed-in model (500,000 parameters take about 6 MB)
HANDED_IN = "handed-in"  # the folder of the handed-in model, in the worker's scratch
# The process that started this worker (autograder.grading.pipeline.runner): if it dies, so does
# this one.
PARENT_PID_ENV = "COURSEKIT_GRADER_PID"


def grade(job: Job) -> WorkerResult:
    """Preflight, autograde and generate feedback for ``job.student``."""
    started = time.perf_counter()
    result = WorkerResult(student=job.student)
    clock = _Stopwatch(result.profile)
    scratch = Path(job.scratch) / "course"
    shutil.copytree(
        job.template, scratch, ignore=shutil.ignore_patterns("release"), copy_function=_link_or_copy
    )
    release = Path(job.template) / "release" / job.assignment
    submitted = scratch / "submitted" / job.student / job.assignment
    submitted.mkdir(parents=True)
    root = Path(job.root) if job.root else None
    clock.lap("prepare")
    for path in sorted(release.glob("*.ipynb")):
        name = path.stem
        if name not in job.notebooks:
            result.problems.append(f"{name}.ipynb: not handed in; this notebook scores 0")
            continue
        checked = preflight(
            Path(job.notebooks[name]), nbformat.read(path, 4), f"{name}.ipynb", root=root
        )
        result.problems += checked.problems
        result.review += checked.review
        if checked.usable:
            nbformat.write(checked.notebook, submitted / f"{name}.ipynb")
            result.usable.append(name)
    models = _hand_in_model(job, Path(job.scratch) / HANDED_IN, root, result)
    clock.lap("preflight")
    if result.usable:
        _run_nbgrader(scratch, job, result, clock, models)
    result.seconds = round(time.perf_counter() - started, 1)
    return result


class _Stopwatch:
    """Adds the seconds since the last lap to ``profile[phase]``."""

    def __init__(self, profile: dict[str, float]):
        self.profile = profile
        self.last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.profile[phase] = round(self.profile.get(phase, 0.0) + now - self.last, 2)
        self.last = now


def _hand_in_model(job: Job, folder: Path, root: Path | None, result: WorkerResult) -> str:
    """The folder with the student's handed-in model, under the name the notebook saves it as.

    It is the grader's, outside the student's kernel: only the checker sees it
    (read-only), so nothing the notebook runs can replace the file before it
    is checked. "" when no model was handed in.
    """
    if not job.model:
        return ""
    names = {
        plan.handed_in_model
        for plan in GradingPlan.from_json(Path(job.grading_plan).read_text()).notebooks.values()
        if plan.handed_in_model
    }
    try:
        data = read_submission_bytes(Path(job.model), MAX_MODEL_BYTES, root=root)
    except UnreadableSubmission as error:
        result.problems.append(f"{Path(job.model).name}: {error}; the bonus cannot be checked")
        return ""
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    for name in names:
        (folder / name).write_bytes(data)
        (folder / name).chmod(0o644)
    return str(folder)


def _run_nbgrader(
    course: Path, job: Job, result: WorkerResult, clock: _Stopwatch, models: str
) -> None:
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    os.chdir(course)
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    configure_grading(config, job, models)
    coursedir = CourseDirectory(config=config, root=str(course))
    api = NbGraderAPI(coursedir=coursedir, config=config)
    clock.lap("start nbgrader")
    graded = api.autograde(job.assignment, job.student, force=True, create=True)
    clock.lap("autograde")
    result.log += graded.get("log", "")
    for entry in read_events(course / "events.jsonl"):
        for phase, seconds in entry.timings.items():
            result.profile[f"{entry.notebook}: {phase}"] = seconds
        entry.timings = {}
        result.events.append(asdict(entry))
    if not graded.get("success"):
        result.error = _last_lines(graded.get("error") or graded.get("log", ""))
        return
    result.autograded = True
    feedback = api.generate_feedback(job.assignment, job.student, force=True)
    clock.lap("feedback")
    result.log += feedback.get("log", "")
    if not feedback.get("success"):
        result.error = "feedback: " + _last_lines(feedback.get("error") or "")


def configure_grading(config, job: Job, models: str = "") -> None:
    """nbgrader's autograde and feedback pipelines for ``coursekit grade``, as objects.

    The course's own ``nbgrader_config.py`` is loaded first; these settings
    replace the steps that must be the kit's: the sandboxed, guarded Execute,
    output limits, missing cells put back, and feedback that is redacted and
    sanitised.
    """
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        DeduplicateIds,
        IgnorePattern,
        LimitOutput,
        OverwriteCells,
        OverwriteKernelspec,
        SaveAutoGrades,
    )

    from autograder.grading.pipeline.execute import SandboxedExecute

    # nbgrader's sanitising steps without ClearOutput: the cells grading does not re-run keep
    # the student's own outputs (preflight rebuilt them from plain parts); the others are
    # cleared when they run.
    config.Autograde.sanitize_preprocessors = [
        DeduplicateIds,
        OverwriteKernelspec,
        OverwriteCells,
        CheckCellMetadata,
    ]
    config.Autograde.autograde_preprocessors = [
        SandboxedExecute,
        IgnorePattern,
        ClearMetadataPreprocessor,
        LimitOutput,
        SaveAutoGrades,
        AssignLatePenalties,
        CheckCellMetadata,
    ]
    # What the notebook writes when it is re-run is what its tests check: a handed-in copy
    # never reaches the folder it runs in (the handed-in model goes to the checker instead).
    ignored = list(config.CourseDirectory.get("ignore", [".ipynb_checkpoints", "*.pyc"]))
    config.CourseDirectory.ignore = [*ignored, "submission.csv", "*.keras"]
    config.SandboxedExecute.sandbox_spec = job.sandbox_spec
    config.SandboxedExecute.grading_plan = job.grading_plan
    config.SandboxedExecute.handed_in_folder = models
    config.OverwriteCells.add_missing_cells = True
    config.LimitOutput.max_lines = 1000
    config.LimitOutput.max_traceback = 100
    configure_feedback(config)


def configure_feedback(config) -> None:
    """nbgrader's feedback pipeline as the kit runs it: redacted, then sanitised."""
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades

    from autograder.grading.pipeline.feedback import RedactHiddenTests, SafeFeedbackExporter

    config.GenerateFeedback.exporter_class = SafeFeedbackExporter
    config.GenerateFeedback.preprocessors = [
        GetGrades,
        CSSHTMLHeaderPreprocessor,
        RedactHiddenTests,
    ]


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
    return "\n".join(printable(line) for line in text.strip().splitlines()[-count:])


def _die_with_parent(parent_pid: int) -> None:
    """If the grader is killed, this worker (and through bwrap, its kernels) dies too."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if parent_pid and os.getppid() != parent_pid:  # the grader died before the line above
        os._exit(1)


def main(argv: list[str]) -> int:
    job = Job(**json.loads(Path(argv[0]).read_text()))
    _die_with_parent(int(os.environ.get(PARENT_PID_ENV) or 0))
    spec = SandboxSpec.from_json(Path(job.sandbox_spec).read_text())
    cap_kernel_folders(Path(spec.scratch), spec.limits.kernel_folder_bytes)
    try:
        result = grade(job)
    except Exception as error:  # reported in the student's record, never lost
        result = WorkerResult(job.student, crashed=printable(f"{type(error).__name__}: {error}"))
    staged = Path(job.result_file + ".tmp")
    staged.write_text(json.dumps(asdict(result)))
    os.replace(staged, job.result_file)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
