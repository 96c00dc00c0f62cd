"""``coursekit``: the instructor's command line.

Subcommands only parse arguments and call into modules. Exit codes: 0 for
success, 1 for bad input (with a one-line reason on stderr), 2 for bad usage.
Every flag that has an environment variable takes its default from it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from autograder.settings import (
    COURSE_DATA_ENV,
    COURSE_ROOT_ENV,
    DEBUG_ENV,
    DEFAULT_COURSE_DATA,
    DEFAULT_SEED,
    PUBLIC_FRACTION,
    TEST_SIZE,
    TOTAL_IMAGES,
)
from utilities.errors import CourseKitError


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``coursekit`` with ``argv`` (default: the process arguments); return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(format="coursekit: warning: %(message)s", level=logging.WARNING)
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
        if os.environ.get(DEBUG_ENV):
            raise
        return _fail(
            f"unexpected {type(error).__name__}: {error} "
            f"(a bug in coursekit; set {DEBUG_ENV}=1 to see the traceback)"
        )


def _fail(message: str, code: int = 1) -> int:
    print(f"coursekit: error: {' '.join(message.split())}", file=sys.stderr)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coursekit",
        description="Course kit for the CNN assignment: datasets, submissions and grading.",
        epilog="Run `coursekit COMMAND --help` for the options of each command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    data = commands.add_parser(
        "data",
        help="download the raw datasets and build the course dataset",
        description="Download the raw datasets and build the course dataset.",
    )
    data_commands = data.add_subparsers(title="commands", metavar="COMMAND")
    data.set_defaults(run=lambda _: _print_help(data))

    fetch = data_commands.add_parser(
        "fetch",
        help="download and verify MNIST and Fashion-MNIST into the cache",
        description=(
            "Download MNIST and Fashion-MNIST, verify every file's SHA-256 and keep it in "
            "the cache. Mirrors are tried first, then the official sources."
        ),
    )
    fetch.add_argument(
        "--dataset",
        choices=["mnist", "fashion-mnist", "all"],
        default="all",
        help="which dataset to fetch (default: all)",
    )
    _add_source_options(fetch)
    fetch.set_defaults(run=_fetch)

    build = data_commands.add_parser(
        "build",
        help="write Fashion_MNIST.h5 for students and the private answer key",
        description=(
            f"Re-split all {TOTAL_IMAGES:,} Fashion-MNIST images with a seed into "
            f"{TOTAL_IMAGES - TEST_SIZE:,} training and {TEST_SIZE:,} test images. Writes "
            "OUT/public/Fashion_MNIST.h5 for students (no test labels), and "
            "OUT/private/answer_key.csv and manifest.json for instructors only."
        ),
    )
    build.add_argument(
        "--out",
        type=Path,
        default=Path(os.environ.get(COURSE_DATA_ENV, DEFAULT_COURSE_DATA)),
        help=f"output folder (default: ${COURSE_DATA_ENV} or {DEFAULT_COURSE_DATA})",
    )
    build.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"split seed (default: {DEFAULT_SEED})"
    )
    build.add_argument(
        "--public-fraction",
        type=float,
        default=PUBLIC_FRACTION,
        help=f"share of test IDs scored on the public leaderboard (default: {PUBLIC_FRACTION})",
    )
    build.add_argument(
        "--force",
        action="store_true",
        help="replace an existing answer key that differs (invalidates leaderboard scores)",
    )
    _add_source_options(build)
    build.set_defaults(run=_build)

    submission = commands.add_parser(
        "submission",
        help="check a leaderboard submission",
        description="Check leaderboard submissions.",
    )
    submission_commands = submission.add_subparsers(title="commands", metavar="COMMAND")
    submission.set_defaults(run=lambda _: _print_help(submission))
    check = submission_commands.add_parser(
        "check",
        help="check a submission.csv (exit 0 when valid, 1 with the reason otherwise)",
        description=(
            "Check a submission CSV with the same checker the leaderboard uses: header "
            "ID,Prediction, one row per test image, IDs 0..N-1, predictions 0..9."
        ),
    )
    check.add_argument("file", type=Path, help="the submission CSV")
    rows = check.add_mutually_exclusive_group()
    rows.add_argument(
        "--dataset",
        type=Path,
        help="course Fashion_MNIST.h5; the number of rows is its number of test images",
    )
    rows.add_argument(
        "--rows",
        type=_positive_int,
        help=f"expected number of rows (default: {TEST_SIZE:,}, the course test set)",
    )
    check.set_defaults(run=_check_submission)

    submit = commands.add_parser(
        "submit-check",
        help="check a student's hand-in and pack notebooks, PDFs and submission.csv into a zip",
        description=(
            "For students: check that each notebook was saved after a full run with no "
            "errors in graded cells, run it as nbgrader validate does and list the visible "
            "tests that pass and fail, check submission.csv, print each notebook to PDF "
            "with headless Chromium, and pack everything into cnn_NAME.zip. Exit 0 when "
            "packed, 1 with the list of problems otherwise."
        ),
    )
    submit.add_argument(
        "folder", nargs="?", type=Path, default=Path("."), help="the assignment folder (default: .)"
    )
    submit.add_argument("--name", required=True, help="your name, student id or group")
    submit.add_argument(
        "--out", type=Path, default=None, help="where the zip goes (default: FOLDER)"
    )
    submit.set_defaults(run=_submit_check)

    release = commands.add_parser(
        "release",
        help="generate the student release of an assignment and prove it safe and gradable",
        description=(
            "Run nbgrader generate_assignment into COURSE_ROOT/release/ASSIGNMENT, add the "
            "student dataset, fail if any solution, hidden test, rubric or private file "
            "leaked into it, then autograde the source notebooks in fast mode and fail "
            "unless they earn every autograded point."
        ),
    )
    release.add_argument("assignment", help="the assignment's folder name under source/, e.g. cnn")
    _add_course_options(release)
    release.set_defaults(run=_release)
    return parser


def _add_course_options(parser: argparse.ArgumentParser) -> None:
    from autograder.course import DEFAULT_COURSE_ROOT

    parser.add_argument(
        "--course-root",
        type=Path,
        default=Path(os.environ.get(COURSE_ROOT_ENV) or DEFAULT_COURSE_ROOT),
        help=f"the nbgrader course folder (default: ${COURSE_ROOT_ENV} or assignments/)",
    )
    parser.add_argument(
        "--course-data",
        type=Path,
        default=Path(os.environ.get(COURSE_DATA_ENV, DEFAULT_COURSE_DATA)),
        help=f"output of `coursekit data build` (default: ${COURSE_DATA_ENV} or "
        f"{DEFAULT_COURSE_DATA})",
    )


def _add_source_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mirror",
        default=None,
        help="directory or URL (comma-separated for several) tried before the official "
        "sources (default: $COURSEKIT_DATA_MIRROR)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="where verified downloads are kept "
        "(default: $COURSEKIT_CACHE_DIR or ~/.cache/coursekit)",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        default=None,
        help="use only the mirrors, never the official sources (default: $COURSEKIT_OFFLINE)",
    )


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _fetch(args: argparse.Namespace) -> int:
    from utilities.data import RAW_DATASETS, default_cache_dir, fetch_dataset

    names = list(RAW_DATASETS) if args.dataset == "all" else [args.dataset]
    cache = args.cache_dir or default_cache_dir()
    for name in names:
        paths = fetch_dataset(name, mirror=args.mirror, cache_dir=cache, offline=args.offline)
        print(f"{name}: {len(paths)} files verified in {cache / name}")
    return 0


def _build(args: argparse.Namespace) -> int:
    from autograder.dataset import build_course_dataset

    started = time.perf_counter()
    result = build_course_dataset(
        args.out,
        seed=args.seed,
        public_fraction=args.public_fraction,
        mirror=args.mirror,
        cache_dir=args.cache_dir,
        offline=args.offline,
        force=args.force,
    )
    manifest = result.manifest_data
    state = "written" if result.changed else "unchanged (same seed, same bytes)"
    print(
        f"Course dataset {state} in {time.perf_counter() - started:.1f} s "
        f"(seed {manifest['seed']}: {manifest['train_size']:,} train, "
        f"{manifest['test_size']:,} test, {manifest['public_test_images']:,} public)"
    )
    print(f"  students:    {result.student_file}")
    print(f"  instructors: {result.answer_key}  (never hand this out)")
    print(f"               {result.manifest}")
    return 0


def _check_submission(args: argparse.Namespace) -> int:
    from utilities.submission import validate_submission

    n_rows = args.rows if args.rows is not None else _test_rows(args.dataset)
    validate_submission(args.file, n_rows)
    print(f"{args.file}: valid submission with {n_rows:,} rows")
    return 0


def _test_rows(dataset: Path | None) -> int:
    if dataset is None:
        return TEST_SIZE
    from utilities.loaders import load_fashion_mnist

    return len(load_fashion_mnist(dataset)["X_test"])


def _submit_check(args: argparse.Namespace) -> int:
    from utilities.handin import check_and_pack

    print(f"Checking the hand-in in {args.folder.resolve()} (this runs each notebook) ...")
    report = check_and_pack(args.name, folder=args.folder, out_dir=args.out)
    print(report)
    return 0 if report.ok else 1


def _release(args: argparse.Namespace) -> int:
    from autograder.dataset import STUDENT_FILE
    from autograder.release import release_assignment

    started = time.perf_counter()
    result = release_assignment(
        args.assignment,
        course_root=args.course_root,
        dataset_file=args.course_data / STUDENT_FILE,
        private_dir=args.course_data / "private",
    )
    autograded = [grade for grade in result.solution_grades if grade.cell_type == "code"]
    manual = [grade for grade in result.solution_grades if grade.cell_type != "code"]
    points = sum(grade.max_score for grade in autograded)
    print(f"Released {args.assignment!r} in {time.perf_counter() - started:.0f} s: no leaks found")
    print(
        f"  solutions earn {points:g} of {points:g} autograded points in fast mode "
        f"({len(autograded)} test cells; {sum(g.max_score for g in manual):g} more points "
        f"in {len(manual)} answers are graded by hand)"
    )
    print(f"  hand out:  {result.release_dir}/")
    for path in sorted(result.release_dir.iterdir()):
        print(f"             {path.name}")
    return 0


def _version() -> str:
    try:
        return version("coursekit")
    except PackageNotFoundError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
