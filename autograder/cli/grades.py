"""``coursekit grades export``: the class's grades in the LMS's own import format.

``coursekit grades late`` (due dates and late penalties) is in :mod:`autograder.cli.late`.

Parses the command line and calls :mod:`autograder.grading.lms.roster` and
:mod:`autograder.grading.lms.export`; nothing more.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from autograder.cli.late import add_late_command
from autograder.cli.options import add_course_root, command_group
from autograder.layout import CourseLayout
from autograder.settings import Settings
from utilities.errors import CourseKitError

LMS_CHOICES = ("canvas", "moodle")


def add_grades_commands(commands: argparse._SubParsersAction, settings: Settings) -> None:
    """Add ``coursekit grades export`` to the ``coursekit`` subcommands ``commands``."""
    _, grades = command_group(
        commands,
        "grades",
        "write the class's grades in Canvas's or Moodle's own import format; set due dates",
    )
    export = grades.add_parser(
        "export",
        help="a grade file the LMS imports as it is, built on its roster export",
        description=(
            "Match each graded student (COURSE_ROOT/grading/ASSIGNMENT/records) with a row of "
            "the roster the LMS exported, and write the grades in that LMS's import format: "
            "for Canvas, the gradebook export's Student, ID, SIS User ID, SIS Login ID and "
            "Section columns and one column for the assignment; for Moodle, the grading "
            "worksheet with its Grade column filled in, or the grades export's name, ID number "
            "and email columns and one for the assignment. Only final grades are written; "
            "students held for review, not graded, on no roster row or on several are listed."
        ),
    )
    export.add_argument("assignment", help="the assignment, e.g. cnn")
    export.add_argument("--lms", choices=LMS_CHOICES, required=True, help="the LMS to import into")
    export.add_argument(
        "--roster",
        type=Path,
        required=True,
        metavar="EXPORT.csv",
        help="Canvas's gradebook export, Moodle's grading worksheet, or Moodle's grades or "
        "participants export",
    )
    export.add_argument(
        "--out",
        type=Path,
        default=None,
        help="the grade file to write (default: COURSE_ROOT/grading/ASSIGNMENT/grades_LMS.csv)",
    )
    export.add_argument(
        "--column",
        default=None,
        help="the grade column when the roster has none for the assignment (default: ASSIGNMENT)",
    )
    add_course_root(export, settings)
    export.set_defaults(run=_export)
    add_late_command(grades, settings)


def _export(args: argparse.Namespace) -> int:
    from autograder.grading.lms.export import grade_file
    from autograder.grading.lms.identity import read_identities
    from autograder.grading.lms.roster import RosterError, read_roster
    from autograder.grading.pipeline.exports import student_grades
    from autograder.grading.pipeline.records import load_records
    from utilities.files import write_text_atomically

    layout = CourseLayout.at(args.course_root)
    folder = layout.grading(args.assignment)
    records = load_records(folder)
    if not records:
        raise CourseKitError(
            f"{folder.root}: no grading records; run `coursekit grade {args.assignment}` first"
        )
    roster = read_roster(args.roster)
    if roster.lms != args.lms:
        raise RosterError(f"{args.roster}: a {roster.format}, not {args.lms}'s; check --lms")
    made = grade_file(
        student_grades(layout, args.assignment, records.values()),
        roster,
        args.column or args.assignment,
        read_identities(folder.identities),
    )
    if not made.match.matched:
        raise RosterError(
            f"{args.roster}: none of the {len(records)} graded students is on this roster "
            f"({roster.format}); is it the right course? Nothing was written"
        )
    out = args.out or folder.lms_file(args.lms)
    write_text_atomically(out, made.text)
    print(f"Wrote {out}")
    for line in made.summary():
        print(f"  {line}")
    return 0
