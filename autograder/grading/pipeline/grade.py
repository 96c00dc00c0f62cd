"""``coursekit grade``: sandboxed, parallel, incremental autograding of a class.

:func:`grade_class` reads as the steps it takes::

    inputs checked (sandbox, sources, dataset, submissions, roster)
      -> template course: source, release, gradebook and grading plan   (template)
      -> collect: files mapped to students                              (ingest)
      -> which students changed since their record                      (schedule)
      -> one worker per student, N at a time or on Dask                 (runner, worker)
           preflight -> nbgrader autograde: the kernel answers, the checker judges -> feedback
      -> merge, one student at a time: folders, gradebook, record       (merge, gradebook)
      -> grades.csv, grades_lms.csv and the LMS's own file              (exports, lms)

Records live in ``COURSE_ROOT/grading/ASSIGNMENT/records/STUDENT.json``
(:class:`~autograder.layout.GradingFolder`) with the student's status,
scores, problems, review notes and log.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder.course.folder import CourseError, source_notebooks
from autograder.grading.lms.export import GradeFile, write_grade_file
from autograder.grading.lms.identity import read_identities, write_identities
from autograder.grading.lms.roster import read_roster
from autograder.grading.pipeline.exports import export_grades, student_grades
from autograder.grading.pipeline.gradebook import sync_assignment
from autograder.grading.pipeline.ingest import (
    Collected,
    SubmissionsError,
    Unmapped,
    collect,
    printable,
)
from autograder.grading.pipeline.merge import merge_student, write_log
from autograder.grading.pipeline.records import StudentRecord, WorkerResult, load_records
from autograder.grading.pipeline.runner import JobOutcome, open_runner
from autograder.grading.pipeline.schedule import sandbox_spec, students_to_grade, write_job
from autograder.grading.pipeline.template import grade_ids, grader_fingerprint, template_course
from autograder.grading.sandbox.bwrap import sandbox_problem
from autograder.layout import CourseLayout, GradingFolder
from autograder.settings import GradingOptions
from utilities.files import write_text_atomically


@dataclass(frozen=True)
class GradeRun:
    """One ``coursekit grade`` run: what to grade, where the course is, and how."""

    assignment: str
    submissions: Path
    layout: CourseLayout
    dataset_file: Path  # the students' Fashion_MNIST.h5
    cache_dir: Path  # the verified raw datasets the notebooks load offline
    options: GradingOptions = field(default_factory=GradingOptions)
    roster: Path | None = None  # the class list an LMS exported (autograder.grading.lms.roster)
    answer_key: Path | None = None  # private: where the leaderboard's private test images are

    @property
    def folder(self) -> GradingFolder:
        return self.layout.grading(self.assignment)

    @property
    def gradebook_url(self) -> str:
        return self.layout.gradebook_url(self.options.gradebook_url)


@dataclass
class ClassReport:
    records: list[StudentRecord]
    skipped: list[str]  # unchanged since the last run
    unmapped: list[Unmapped]
    folder: GradingFolder
    feedback_root: Path
    seconds: float
    lms_file: GradeFile | None = None  # with --roster: the grades in the LMS's import format
    where: str = ""  # "with 2 workers", or the Dask cluster's address

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for record in self.records:
            counts[record.status] = counts.get(record.status, 0) + 1
        return counts


def grade_class(run: GradeRun) -> ClassReport:
    """Grade every submission under ``run.submissions``; see the module docstring."""
    started = time.perf_counter()
    roster = check_inputs(run)
    prepare_folder(run)
    with tempfile.TemporaryDirectory(prefix="coursekit-grade-") as temporary:
        work = Path(temporary)  # 0700: solutions, hidden tests and notebooks live here
        template = template_course(run, work / "template")
        fingerprint = grader_fingerprint(run, template)
        collected = collect_submissions(run, template, work)
        sync_assignment(template, run)
        todo, skipped = students_to_grade(
            collected.students, run.folder, fingerprint, run.options.force
        )
        records, where = grade_students(run, todo, template, work)
    write_text_atomically(run.folder.unmapped, "".join(f"{u}\n" for u in collected.unmapped))
    export_grades(run)
    report = ClassReport(
        records=sorted(records, key=lambda record: record.student),
        skipped=skipped,
        unmapped=collected.unmapped,
        folder=run.folder,
        feedback_root=run.layout.feedback_root,
        seconds=time.perf_counter() - started,
        where=where,
    )
    if roster is not None:
        report.lms_file = write_grade_file(
            run.folder.lms_file(roster.format.lms),
            student_grades(run.layout, run.assignment, load_records(run.folder).values()),
            roster,
            run.assignment,
            read_identities(run.folder.identities),
        )
    return report


def check_inputs(run: GradeRun):
    """Fail now, before the template's seconds, on anything that would stop the run later."""
    problem = sandbox_problem()
    if problem:
        raise CourseError(f"cannot sandbox student code: {problem}")
    source_notebooks(run.layout.root, run.assignment)
    if not Path(run.dataset_file).is_file():
        raise CourseError(
            f"{run.dataset_file}: the course dataset is missing; run `coursekit data build`"
        )
    roster = read_roster(run.roster) if run.roster else None
    if not Path(run.submissions).exists():
        raise SubmissionsError(f"{printable(Path(run.submissions))}: no such file or folder")
    return roster


def prepare_folder(run: GradeRun) -> None:
    """The grading folder, with the limits in force for the course site's rules page."""
    run.folder.records.mkdir(parents=True, exist_ok=True)
    run.folder.logs.mkdir(parents=True, exist_ok=True)
    write_text_atomically(run.folder.limits, json.dumps(asdict(run.options.limits), indent=1))


def collect_submissions(run: GradeRun, template: Path, work: Path) -> Collected:
    """Every student's files, mapped from the LMS's ids; who is who, for the LMS exports."""
    cells = grade_ids(template / "release" / run.assignment)
    collected = collect(run.submissions, run.assignment, cells, work)
    write_identities(run.folder.identities, [f.identity for f in collected.students.values()])
    return collected


def grade_students(run: GradeRun, todo, template: Path, work: Path):
    """Grade each (files, fingerprint) in a worker; merge each result as it comes in."""
    records: list[StudentRecord] = []
    if not todo:
        return records, "with no worker"
    spec = sandbox_spec(run, work)
    runner = open_runner(run.options.workers, run.options.scheduler)
    bar = _progress(len(todo), run.options.progress)
    futures = {}
    try:
        for files, fingerprint in todo:
            job_file, budget = write_job(files, run, template, work, spec)
            futures[runner.submit(job_file, budget)] = (files, fingerprint)
        for future in runner.as_completed(futures):
            files, fingerprint = futures[future]
            result = _result(future, run.folder.log(files.student), files.student)
            record = merge_student(run, files, result, work, fingerprint)
            records.append(record)
            bar.set_postfix_str(f"{record.student}: {record.status}", refresh=False)
            bar.update()
    except BaseException:
        runner.close(cancel=True)
        raise
    else:
        runner.close()
    finally:
        bar.close()
    return records, runner.where


def _result(future, log_path: Path, student: str) -> WorkerResult:
    """The worker's result, its output kept as the student's log; a crash is a result too."""
    try:
        outcome: JobOutcome = future.result()
    except Exception as error:  # this student's record says so; the rest go on
        write_log(log_path, b"")
        crashed = f"the grader failed: {type(error).__name__}: {error}"
        return WorkerResult(student, crashed=printable(crashed))
    write_log(log_path, outcome.output)
    return outcome.result


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="student", desc="Grading", disable=not enabled, smoothing=0.1)
