"""What several commands share: course options, value checks, help for a command group.

Every default comes from the :class:`~autograder.settings.Settings` object the
command line was built with; nothing here writes a default of its own.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from autograder.settings import DEFAULTS, Env, Settings


def add_course_root(parser: argparse.ArgumentParser, settings: Settings) -> None:
    parser.add_argument(
        "--course-root",
        type=Path,
        default=settings.course_root,
        help=f"the nbgrader course folder (default: ${Env.COURSE_ROOT} or {DEFAULTS.course_root})",
    )


def add_course_options(parser: argparse.ArgumentParser, settings: Settings) -> None:
    """``--course-root`` and ``--course-data``."""
    add_course_root(parser, settings)
    parser.add_argument(
        "--course-data",
        type=Path,
        default=settings.course_data,
        help=f"output of `coursekit data build` (default: ${Env.COURSE_DATA} or "
        f"{DEFAULTS.course_data})",
    )


def add_gradebook_option(parser: argparse.ArgumentParser, settings: Settings) -> None:
    parser.add_argument(
        "--db",
        default=settings.grading.gradebook_url,
        help="gradebook database URL, e.g. postgresql://... "
        f"(default: ${Env.GRADEBOOK_URL} or sqlite in the course folder)",
    )


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def utc_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO time like 2026-12-01T23:59, got {text!r}"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def command_group(commands, name: str, description: str) -> tuple[argparse.ArgumentParser, object]:
    """A command with subcommands of its own (``coursekit data ...``); shows help when bare."""
    group = commands.add_parser(name, help=description, description=description)
    subcommands = group.add_subparsers(title="commands", metavar="COMMAND")
    group.set_defaults(run=lambda _: print_help(group))
    return group, subcommands
