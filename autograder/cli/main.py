"""``coursekit``: the instructor's command line.

:func:`build_parser` builds every command from one :class:`~autograder.settings.Settings`
object (the defaults with the ``COURSEKIT_`` variables applied): each product's module
adds its commands, and every flag's default is read from that object. Subcommands only
parse arguments and call into the products. Exit codes: 0 for success, 1 for bad input
(with a one-line reason on stderr), 2 for bad usage.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from autograder.cli.course import add_course_commands
from autograder.cli.data import add_data_commands
from autograder.cli.grades import add_grades_commands
from autograder.cli.grading import add_grading_commands
from autograder.cli.leaderboard import add_leaderboard_commands
from autograder.cli.report import add_report_commands
from autograder.cli.review import add_review_commands
from autograder.lean_imports import skip_unused_optional_imports
from autograder.quiet import quiet_tensorflow
from autograder.settings import Env, Settings
from utilities.errors import CourseKitError

skip_unused_optional_imports()


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``coursekit`` with ``argv`` (default: the process arguments); return the exit code."""
    settings = Settings.from_environment()
    parser = build_parser(settings)
    args = parser.parse_args(argv)
    logging.basicConfig(format="coursekit: warning: %(message)s", level=logging.WARNING)
    quiet_tensorflow()
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return args.run(args) or 0
    except CourseKitError as error:
        return _fail(str(error))
    except OSError as error:
        return _fail(f"{error.filename or ''}: {error.strerror or error}".lstrip(": "))
    except KeyboardInterrupt:
        return _fail("interrupted; nothing half-written was kept", code=130)
    except Exception as error:
        if settings.debug:
            raise
        return _fail(
            f"unexpected {type(error).__name__}: {error} "
            f"(a bug in coursekit; set {Env.DEBUG}=1 to see the traceback)"
        )


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    """Every ``coursekit`` command, with its defaults taken from ``settings``."""
    parser = argparse.ArgumentParser(
        prog="coursekit",
        description="Course kit for the CNN assignment: datasets, submissions and grading.",
        epilog="Run `coursekit COMMAND --help` for the options of each command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    add_data_commands(commands, settings)
    add_course_commands(commands, settings)
    add_grading_commands(commands, settings)
    add_review_commands(commands, settings)
    add_leaderboard_commands(commands, settings)
    add_grades_commands(commands, settings)
    add_report_commands(commands, settings)
    return parser


def _fail(message: str, code: int = 1) -> int:
    print(f"coursekit: error: {' '.join(message.split())}", file=sys.stderr)
    return code


def _version() -> str:
    try:
        return version("coursekit")
    except PackageNotFoundError:
        return "unknown"
