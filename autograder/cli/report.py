"""``coursekit report`` and ``coursekit similarity``: pages for the teaching team, never published.

Parses the command line and calls :mod:`autograder.report`; nothing more.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from autograder.report import MIN_SHARED, THRESHOLD
from autograder.settings import DEFAULTS, Env, Settings
from utilities.errors import CourseKitError


def add_report_commands(commands: argparse._SubParsersAction, defaults: Settings) -> None:
    """Add ``coursekit report`` and ``coursekit similarity`` to the subcommands ``commands``."""
    report = commands.add_parser(
        "report",
        help="a class report for the teaching team: statuses, scores, items, leaderboard, time",
        description=(
            "Write one self-contained HTML page (and a CSV of the same numbers) about a graded "
            "assignment: counts by status, the score histogram, the median and spread of each "
            "part; for every test and task the mean, the shares of full, partial and zero "
            "points, the discrimination and the commonest failure messages; public against "
            "private leaderboard accuracy with each team's shake-up; grading time per student. "
            "Reads COURSE_ROOT/grading/ASSIGNMENT/records, the gradebook, the autograded "
            "notebooks and COURSE_ROOT/leaderboard/ASSIGNMENT. For the teaching team only: "
            "never publish it."
        ),
    )
    _common(report, defaults)
    report.add_argument(
        "--db",
        default=_gradebook_url(defaults),
        help=f"gradebook database URL (default: ${Env.GRADEBOOK_URL} or sqlite in the course "
        "folder)",
    )
    report.set_defaults(run=_report)

    similarity = commands.add_parser(
        "similarity",
        help="pairs of students whose solution cells are unusually alike (evidence, not a grade)",
        description=(
            "Compare every pair of students' solution cells with copydetect (Winnowing, as MOSS: "
            "names, comments, strings and layout do not count; the release's stubs are set "
            "aside) and write a CSV of every pair, most alike first, and an HTML page with the "
            "flagged pairs side by side and their shared code highlighted. Never part of any "
            "grade: it is evidence for a person to read."
        ),
    )
    _common(similarity, defaults)
    similarity.add_argument(
        "--submissions",
        type=Path,
        default=None,
        help="read the notebooks here (any layout `coursekit grade` takes) instead of "
        "COURSE_ROOT/autograded",
    )
    similarity.add_argument(
        "--threshold",
        type=_share,
        default=THRESHOLD,
        help="flag a pair from this score, the larger share of code found in the other's "
        f"(default: {THRESHOLD})",
    )
    similarity.add_argument(
        "--min-shared",
        type=_count,
        default=MIN_SHARED,
        help=f"characters of normalized code a flagged pair must share (default: {MIN_SHARED})",
    )
    similarity.set_defaults(run=_similarity)


def _gradebook_url(defaults: Settings) -> str | None:
    """The gradebook URL in force (under ``defaults.grading`` once settings are per product)."""
    return getattr(getattr(defaults, "grading", defaults), "gradebook_url", None)


def _common(parser: argparse.ArgumentParser, defaults: Settings) -> None:
    parser.add_argument("assignment", help="the assignment, e.g. cnn")
    parser.add_argument(
        "--course-root",
        type=Path,
        default=defaults.course_root,
        help=f"the nbgrader course folder (default: ${Env.COURSE_ROOT} or {DEFAULTS.course_root})",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where the page and the CSV go (default: COURSE_ROOT/grading/ASSIGNMENT/report)",
    )


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1, got {text!r}")
    return value


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number of characters, got {text!r}")
    return int(text)


def _report(args: argparse.Namespace) -> int:
    from autograder.report.classreport import gather, summarize
    from autograder.report.html import write_class_report
    from autograder.report.sources import CourseFiles

    files = CourseFiles(args.course_root, args.assignment, args.db)
    report = summarize(gather(files))
    written = write_class_report(report, args.out or files.report_dir)
    counts = ", ".join(f"{n} {status}" for status, n in report.counts.items() if n)
    print(f"Class report for {args.assignment}: {sum(report.counts.values())} students ({counts})")
    print(f"  page: {written.page}")
    print(f"  csv:  {written.csv}")
    return 0


def _similarity(args: argparse.Namespace) -> int:
    from autograder.report.html import write_similarity
    from autograder.report.similarity import find_similar
    from autograder.report.sources import CourseFiles

    if args.submissions is not None and not args.submissions.exists():
        raise CourseKitError(f"{args.submissions}: no such file or folder")
    files = CourseFiles(args.course_root, args.assignment)
    result = find_similar(files, args.submissions, args.threshold, args.min_shared)
    written = write_similarity(result, args.assignment, args.out or files.report_dir)
    flagged = result.flagged
    print(
        f"Similarity for {args.assignment}: {len(result.solutions)} students compared, "
        f"{len(flagged)} of {len(result.scores)} pairs flagged"
    )
    for pair in flagged[:5]:
        print(f"  {pair.a} and {pair.b}: {pair.score:.0%}")
    for line in result.skipped:
        print(f"  not compared: {line}")
    for line in result.unread:
        print(f"  not read: {line}")
    print(f"  page: {written.page}")
    print(f"  csv:  {written.csv}")
    return 0
