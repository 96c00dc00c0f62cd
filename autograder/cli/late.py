"""``coursekit grades late``: an assignment's due date, extensions and late policy.

Parses the command line and calls :mod:`autograder.grading.lms.late`, then brings the
grade files and feedback up to date (:func:`autograder.grading.pipeline.finish.refresh`);
nothing more. Every default comes from :class:`~autograder.settings.LatePolicy`.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from autograder.cli.options import add_course_options, add_gradebook_option
from autograder.settings import Settings
from utilities.errors import CourseKitError


def add_late_command(grades, settings: Settings) -> None:
    """Add ``coursekit grades late`` to the ``coursekit grades`` subcommands ``grades``."""
    policy = settings.late
    late = grades.add_parser(
        "late",
        help="set an assignment's due date, extensions and late penalty; show who was late",
        description=(
            "Keep the assignment's due date and late policy in COURSE_ROOT/grading/ASSIGNMENT/"
            "late and apply it to the graded class at once: a hand-in later than the due date "
            "plus the grace period loses --per-day percent of its points for each day started, "
            "at most --cap percent, and everything after --cutoff. Each student's hand-in time "
            "comes from nbgrader's timestamp.txt, else the LMS's export (a Moodle grading "
            "worksheet given to `coursekit grade --roster`), else the file's time; a hand-in "
            "known only by its file's time, or not at all, gets no penalty and a note for a "
            "TA. Times without an offset are in --timezone. Without options: show the policy "
            "and who was late."
        ),
    )
    late.add_argument("assignment", help="the assignment, e.g. cnn")
    late.add_argument("--due", metavar="TIME", help="the due date, e.g. 2026-11-20T23:59")
    late.add_argument("--cutoff", metavar="TIME", help="after this, a hand-in gets 0 points")
    late.add_argument(
        "--extensions",
        type=Path,
        metavar="FILE.csv",
        help="per-student due dates: columns student, due, reason",
    )
    late.add_argument(
        "--grace-minutes",
        type=_number(int),
        default=policy.grace_minutes,
        help=f"minutes after the due date that still count as on time (default: "
        f"{policy.grace_minutes})",
    )
    late.add_argument(
        "--per-day",
        type=_number(float),
        default=policy.percent_per_day,
        help=f"percent of the student's points lost per day started (default: "
        f"{policy.percent_per_day:g})",
    )
    late.add_argument(
        "--cap",
        type=_number(float),
        default=policy.cap_percent,
        help=f"the most percent lost before the cutoff (default: {policy.cap_percent:g})",
    )
    late.add_argument(
        "--timezone",
        default=policy.timezone,
        help=f"for times written without an offset (default: {policy.timezone})",
    )
    late.add_argument(
        "--trust-file-times",
        action=argparse.BooleanOptionalAction,
        default=policy.trust_file_times,
        help="let a file's own time alone make a hand-in late (default: off; copies reset it)",
    )
    late.add_argument("--remove", action="store_true", help="remove the due date and penalties")
    add_gradebook_option(late, settings)
    add_course_options(late, settings)
    late.set_defaults(run=_late)


def _number(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = -1
        if value < 0:
            raise argparse.ArgumentTypeError(f"expected a number from 0, got {text!r}")
        return value

    return parse


def _late(args: argparse.Namespace) -> int:
    from autograder.cli.grading import grade_run
    from autograder.grading.lms.late import (
        EXTENSIONS_FILE,
        read_deadline,
        read_extensions,
        write_deadline,
    )
    from autograder.grading.pipeline.finish import refresh
    from autograder.grading.pipeline.records import load_records

    settings = Settings.from_environment()
    run = grade_run(args, settings)
    students = sorted(load_records(run.folder))
    if args.remove:
        write_deadline(run.folder, None, None)
        if students:
            refresh(run, students)
        print(f"Removed the due date of {args.assignment}; no late penalties")
        return 0
    deadline = read_deadline(run.folder)
    if args.due:
        deadline = _deadline(args, settings)
    elif args.extensions and deadline is None:
        raise CourseKitError("no due date yet: give --due with --extensions")
    if args.due or args.extensions:
        kept = run.folder.late / EXTENSIONS_FILE
        extensions = args.extensions or (kept if kept.is_file() else None)
        if extensions is not None:
            read_extensions(extensions, deadline)  # every row checked before anything is kept
        write_deadline(run.folder, deadline, args.extensions)
        for problem in refresh(run, students) if students else []:  # none graded yet: later
            print(f"  warning: {problem}")
    _show(run, students)
    return 0


def _deadline(args: argparse.Namespace, settings: Settings):
    from autograder.grading.lms.late import Deadline, LateError, parse_time, zone

    if args.cap > 100:
        raise CourseKitError(f"--cap {args.cap:g}: a percentage from 0 to 100")
    zone(args.timezone)
    policy = replace(
        settings.late,
        grace_minutes=args.grace_minutes,
        percent_per_day=args.per_day,
        cap_percent=args.cap,
        timezone=args.timezone,
        trust_file_times=args.trust_file_times,
    )
    try:
        due = parse_time(args.due, policy.timezone)
        cutoff = parse_time(args.cutoff, policy.timezone) if args.cutoff else None
    except ValueError as error:
        raise LateError(f"--due or --cutoff: {error}") from None
    if cutoff is not None and cutoff <= due:
        raise LateError("--cutoff must be after --due")
    return Deadline(due, policy, cutoff)


def _show(run, students: list[str]) -> None:
    from autograder.grading.lms.late import class_lateness, read_deadline, show_time

    deadline = read_deadline(run.folder)
    if deadline is None:
        print(f"{run.assignment} has no due date: no late penalties")
        return
    policy = deadline.policy
    cutoff = (
        f", 0 points after {show_time(deadline.cutoff, policy.timezone)}" if deadline.cutoff else ""
    )
    print(
        f"{run.assignment} is due {show_time(deadline.due, policy.timezone)} (grace "
        f"{policy.grace_minutes} min; {policy.percent_per_day:g} % a day started, at most "
        f"{policy.cap_percent:g} %{cutoff})"
    )
    late = class_lateness(run.folder, students)
    shown = {s: v for s, v in late.items() if v.percent or v.review or "extension" in v.note}
    penalised = sum(1 for lateness in late.values() if lateness.percent)
    print(f"  {penalised} of {len(students)} graded students lose points for a late hand-in")
    for student, lateness in sorted(shown.items()):
        print(f"  {student}: {lateness.note}")
    print(f"  grades: {run.folder.lms_csv}")
