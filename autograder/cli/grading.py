"""``coursekit grade``: grading a class (``coursekit review`` lives in ``cli/review.py``)."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from autograder.cli.options import add_course_options, add_gradebook_option, positive_int
from autograder.layout import CourseLayout
from autograder.settings import Env, Settings


def add_grading_commands(commands, settings: Settings) -> None:
    options = settings.grading
    grade = commands.add_parser(
        "grade",
        help="autograde a class in sandboxed kernels, in parallel, and export grades and feedback",
        description=(
            "Autograde every submission under --submissions (an nbgrader submitted/ tree, or a "
            "folder or zip exported from an LMS) with nbgrader, each kernel in a bubblewrap "
            "sandbox, N students at a time. Writes the gradebook, autograded notebooks and "
            "feedback HTML in the course folder, and records, logs, grades.csv and "
            "grades_lms.csv in COURSE_ROOT/grading/ASSIGNMENT. A rerun grades only new or "
            "changed submissions."
        ),
    )
    grade.add_argument("assignment", help="the assignment, e.g. cnn")
    grade.add_argument("--submissions", type=Path, required=True, help="folder or zip")
    add_course_options(grade, settings)
    grade.add_argument(
        "--workers",
        type=positive_int,
        default=options.workers,
        help=f"students graded at once (default: the number of cores, {options.workers})",
    )
    grade.add_argument(
        "--force",
        action="store_true",
        default=options.force,
        help="regrade unchanged submissions too",
    )
    add_gradebook_option(grade, settings)
    limits = options.limits
    grade.add_argument(
        "--cell-timeout",
        type=positive_int,
        default=limits.cell_timeout,
        help=f"seconds per cell (default: {limits.cell_timeout})",
    )
    grade.add_argument(
        "--notebook-timeout",
        type=positive_int,
        default=limits.notebook_timeout,
        help=f"seconds per notebook (default: {limits.notebook_timeout})",
    )
    grade.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=options.progress,
        help="show a progress bar (default: on)",
    )
    grade.add_argument(
        "--roster",
        type=Path,
        default=None,
        help="the class list your LMS exported (Canvas gradebook or Moodle grading worksheet / "
        "participants CSV): also writes grading/ASSIGNMENT/grades_LMS.csv in its import format",
    )
    grade.add_argument(
        "--scheduler",
        default=options.scheduler,
        metavar="ADDRESS",
        help="grade on a Dask cluster, e.g. tcp://10.0.0.5:8786 (default: "
        f"${Env.DASK_SCHEDULER}, else --workers processes on this machine); its workers "
        "must see this course and its scratch folder at the same paths",
    )
    grade.add_argument(
        "--warm-kernels",
        action=argparse.BooleanOptionalAction,
        default=options.warm_kernels,
        help="fork each student's kernel from a per-slot process that imported TensorFlow once "
        f"(default: on; ${Env.WARM_KERNELS}=0 turns it off)",
    )
    grade.set_defaults(run=_grade)


def grade_run(args: argparse.Namespace, settings: Settings):
    """The :class:`~autograder.grading.pipeline.grade.GradeRun` the arguments describe."""
    from autograder.course.dataset import ANSWER_KEY_FILE, STUDENT_FILE
    from autograder.grading.pipeline.grade import GradeRun
    from utilities.data import default_cache_dir

    options = settings.grading
    if hasattr(args, "workers"):
        options = replace(
            options,
            workers=args.workers,
            force=args.force,
            limits=replace(
                options.limits,
                cell_timeout=args.cell_timeout,
                notebook_timeout=args.notebook_timeout,
            ),
            progress=args.progress,
            scheduler=args.scheduler,
            warm_kernels=args.warm_kernels,
        )
    options = replace(options, gradebook_url=args.db)
    return GradeRun(
        assignment=args.assignment,
        submissions=getattr(args, "submissions", Path()),
        layout=CourseLayout.at(args.course_root),
        dataset_file=args.course_data / STUDENT_FILE,
        cache_dir=default_cache_dir(),
        options=options,
        roster=getattr(args, "roster", None),
        answer_key=args.course_data / ANSWER_KEY_FILE,
    )


def _grade(args: argparse.Namespace) -> int:
    from autograder.grading.pipeline.grade import grade_class
    from utilities.data import fetch_dataset

    run = grade_run(args, Settings.from_environment())
    fetch_dataset("mnist", cache_dir=run.cache_dir)  # the notebooks load it offline in the sandbox
    report = grade_class(run)
    counts = ", ".join(f"{n} {status}" for status, n in sorted(report.counts().items()))
    print(
        f"Graded {len(report.records)} students in {report.seconds:.0f} s "
        f"{report.where} ({counts or 'nothing new'}); "
        f"{len(report.skipped)} unchanged since the last run"
    )
    for record in report.records:
        if record.status != "graded" or record.needs_review:
            flag = " [review]" if record.needs_review else ""
            first = (record.held or record.problems or record.review or [record.reason])[0]
            print(f"  {record.student}: {record.status}{flag}: {first}")
    held = [record.student for record in report.records if record.is_held]
    if held:
        print(
            f"  {len(held)} held for review (autograded points at 0 until released): "
            f"coursekit review {args.assignment} --release STUDENT"
        )
    if report.unmapped:
        print(f"  {len(report.unmapped)} files could not be mapped to a student:")
        for line in report.unmapped:
            print(f"    {line}")
    print(f"  grades:    {report.folder.lms_csv}")
    print(f"             {report.folder.nbgrader_csv}")
    if report.lms_file is not None:
        print(f"             {report.lms_file.summary()}")
    print(f"  feedback:  {report.feedback_root}/STUDENT/{args.assignment}/")
    print(f"  records:   {report.folder.records}/ (logs in {report.folder.logs}/)")
    return 0
