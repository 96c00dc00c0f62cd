"""``coursekit review``: what the teaching team reads and grades by hand.

Parses the command line and calls :mod:`autograder.grading.manual` and
:func:`autograder.grading.pipeline.gradebook.release_held`; nothing more.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from autograder.cli.options import add_course_options, add_gradebook_option
from autograder.settings import Settings
from utilities.errors import CourseKitError


def add_review_commands(commands, settings: Settings) -> None:
    """Add ``coursekit review`` to the ``coursekit`` subcommands ``commands``."""
    review = commands.add_parser(
        "review",
        help="grade the written answers (TAs); list and release what a TA should look at",
        description=(
            "Without options: how many written answers are still to grade, per task and per "
            "TA, and every student whose grading needs a TA's look (held first). --pages "
            "writes one offline page per task with every student's answer as handed in, their "
            "outputs, the rubric and a form whose scores download as a CSV; --import takes "
            "that CSV in (every row is checked first; one bad row refuses the file) and "
            "brings the gradebook, the grade files and the feedback pages up to date. A "
            "notebook whose evidence contradicts itself has its autograded points held at 0; "
            "release them with --release STUDENT --by NAME."
        ),
    )
    review.add_argument("assignment", help="the assignment, e.g. cnn")
    action = review.add_mutually_exclusive_group()
    action.add_argument("--pages", type=Path, metavar="OUT", help="write the TAs' pages here")
    action.add_argument(
        "--import",
        dest="import_file",
        type=Path,
        metavar="FILE.csv",
        help="import the scores a review page downloaded",
    )
    action.add_argument("--release", metavar="STUDENT", help="release this student's held points")
    review.add_argument(
        "--ta",
        metavar="NAME",
        help="with --pages: the name the pages fill in; with --import: "
        "refuse a file graded by anyone else",
    )
    review.add_argument(
        "--task",
        action="append",
        metavar="ID",
        help="with --pages: only this task (a grade id such as answer_relu); repeatable",
    )
    review.add_argument("--by", default=os.environ.get("USER", ""), help="who reviewed it")
    add_gradebook_option(review, settings)
    add_course_options(review, settings)
    review.set_defaults(run=_review)


def _review(args: argparse.Namespace) -> int:
    from autograder.cli.grading import grade_run

    run = grade_run(args, Settings.from_environment())
    if args.release:
        return _release(run, args.release, args.by)
    if args.pages:
        return _pages(run, args.pages, args.ta or "", args.task)
    if args.import_file:
        return _import(run, args.import_file, args.ta)
    return _progress(run)


def _release(run, student: str, by: str) -> int:
    from autograder.grading.pipeline.gradebook import release_held

    record = release_held(run, student, by)
    print(
        f"Released {record.student}'s held points: {record.autograded_score:g} of "
        f"{record.autograded_max:g} autograded (status now {record.status})"
    )
    return 0


def _pages(run, out: Path, ta: str, tasks: list[str] | None) -> int:
    from autograder.grading.manual.pages import write_pages
    from autograder.grading.manual.scorefile import is_ta_name

    if ta and not is_ta_name(ta):
        raise CourseKitError(f"--ta {ta!r}: letters, digits, '.', '_', '-' or '@' only")
    try:
        written = write_pages(run, out, ta, tasks)
    except ValueError as error:
        raise CourseKitError(str(error)) from None
    print(f"Wrote {len(written)} review page(s) for {run.assignment} in {out}:")
    for path in written:
        print(f"  {path.name}")
    print(
        "Open a page in a browser, score, download the CSV, then: "
        f"coursekit review {run.assignment} --import FILE.csv"
    )
    return 0


def _import(run, path: Path, ta: str | None) -> int:
    from autograder.grading.manual.scorefile import import_scores
    from autograder.grading.pipeline.finish import refresh

    imported = import_scores(run, path, ta)
    problems = refresh(run, imported.students)
    print(
        f"Imported {len(imported.changes)} score(s) by {imported.ta or 'nobody'} from {path.name} "
        f"({imported.unchanged} unchanged, {imported.blank} left blank); "
        f"{len(imported.students)} student(s)' grades and feedback brought up to date"
    )
    for change in imported.changes[:20]:
        old = "ungraded" if change.old is None else f"{change.old:g}"
        print(f"  {change.student} {change.notebook}/{change.task}: {old} -> {change.new:g}")
    if len(imported.changes) > 20:
        print(f"  and {len(imported.changes) - 20} more")
    for problem in problems:
        print(f"  warning: {problem}")
    print(f"  grades:   {run.folder.lms_csv}")
    lms_files = [
        path for path in run.folder.root.glob("grades_*.csv") if path != run.folder.lms_csv
    ]
    if lms_files:
        print(
            f"  {', '.join(p.name for p in lms_files)} predate these scores: run "
            f"`coursekit grades export {run.assignment} --lms LMS --roster EXPORT.csv` again"
        )
    return 0


def _progress(run) -> int:
    from nbgrader.api import MissingEntry

    from autograder.grading.lms.late import class_lateness
    from autograder.grading.manual.progress import grading_progress
    from autograder.grading.pipeline.records import load_records

    try:
        for line in grading_progress(run).lines():
            print(line)
    except (CourseKitError, MissingEntry) as error:
        print(f"Written answers: none to show ({error})")
    records = load_records(run.folder)
    late = class_lateness(run.folder, records)
    ordered = sorted(records.values(), key=lambda r: (not r.is_held, r.student))
    waiting = [
        r for r in ordered if r.needs_review or (r.student in late and late[r.student].review)
    ]
    print(f"{len(waiting)} of {len(records)} students need a review")
    for record in waiting:
        state = "held" if record.is_held else "points counted"
        print(f"  {record.student} ({state}):")
        notes = record.held or record.review
        if record.student in late and late[record.student].review:
            notes = [*notes, late[record.student].review]
        for note in notes[:5]:
            print(f"    {note}")
    return 0
