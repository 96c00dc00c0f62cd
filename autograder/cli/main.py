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
from collections import Counter
from collections.abc import Sequence
from datetime import UTC
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from autograder.cli.grades import add_grades_commands
from autograder.cli.report import add_report_commands
from autograder.lean_imports import skip_unused_optional_imports
from autograder.quiet import quiet_tensorflow
from autograder.settings import DEFAULTS, Env, Settings
from utilities.errors import CourseKitError

skip_unused_optional_imports()


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``coursekit`` with ``argv`` (default: the process arguments); return the exit code."""
    parser = _parser()
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
        if Settings.from_environment().debug:
            raise
        return _fail(
            f"unexpected {type(error).__name__}: {error} "
            f"(a bug in coursekit; set {Env.DEBUG}=1 to see the traceback)"
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

    init = commands.add_parser(
        "init",
        help="copy the kit's course and book into a folder (for an installed wheel)",
        description=(
            "Copy the course the kit ships (nbgrader_config.py and the source notebooks) to "
            "FOLDER/assignments and the course website's pages to FOLDER/book. The other "
            "commands find them there when run in FOLDER. Files already there are kept."
        ),
    )
    init.add_argument("folder", type=Path, nargs="?", default=Path("."), help="default: here")
    init.add_argument("--force", action="store_true", help="replace files already there")
    init.set_defaults(run=_init)

    data = commands.add_parser(
        "data",
        help="download the raw datasets and build or import the course dataset",
        description="Download the raw datasets and build or import the course dataset.",
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
            f"Re-split all {DEFAULTS.total_images:,} Fashion-MNIST images with a seed into "
            f"{DEFAULTS.total_images - DEFAULTS.test_size:,} training and "
            f"{DEFAULTS.test_size:,} test images. Writes "
            "OUT/public/Fashion_MNIST.h5 for students (no test labels), and "
            "OUT/private/answer_key.csv and manifest.json for instructors only."
        ),
    )
    _add_course_data_out(build)
    build.add_argument(
        "--seed", type=int, default=DEFAULTS.seed, help=f"split seed (default: {DEFAULTS.seed})"
    )
    build.add_argument(
        "--public-fraction",
        type=float,
        default=DEFAULTS.public_fraction,
        help="share of test IDs scored on the public leaderboard "
        f"(default: {DEFAULTS.public_fraction})",
    )
    build.add_argument(
        "--force",
        action="store_true",
        help="replace an existing answer key that differs (invalidates leaderboard scores)",
    )
    _add_source_options(build)
    build.set_defaults(run=_build)

    adopt = data_commands.add_parser(
        "import",
        help="adopt an existing course's Fashion_MNIST.h5 and Kaggle answer key",
        description=(
            "Instead of a new split, take a course's own student file (X_train/y_train/X_test "
            "or train_images/train_labels/test_images) and its Kaggle solution file "
            "(ID,Label,Usage; Id/Category/Expected also accepted), check both, and write "
            "the same files as `data build`, so existing leaderboard scores stay valid."
        ),
    )
    adopt.add_argument("--h5", type=Path, required=True, help="the course's Fashion_MNIST.h5")
    adopt.add_argument(
        "--answer-key",
        type=Path,
        required=True,
        help="the Kaggle solution file: one row per test image, Usage Public or Private",
    )
    _add_course_data_out(adopt)
    adopt.add_argument(
        "--force",
        action="store_true",
        help="replace an existing answer key that differs (invalidates leaderboard scores)",
    )
    adopt.set_defaults(run=_import_course)

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
        help=f"expected number of rows (default: {DEFAULTS.test_size:,}, the course test set)",
    )
    check.set_defaults(run=_check_submission)

    submit = commands.add_parser(
        "submit-check",
        help="check a student's hand-in and pack notebooks, PDFs and submission.csv into a zip",
        description=(
            "For students: check that each notebook was saved after a full run with no "
            "errors in graded cells, run it as nbgrader validate does and list the visible "
            "tests that pass and fail, check submission.csv, print each notebook to PDF "
            "with headless Chromium, and pack everything into cnn_NAME.zip. Notebooks run "
            "and print on a temporary copy: nothing in FOLDER is changed, and the zip holds "
            "the files byte for byte as saved. Exit 0 when packed, 1 with the list of "
            "problems otherwise."
        ),
    )
    submit.add_argument(
        "folder", nargs="?", type=Path, default=Path("."), help="the assignment folder (default: .)"
    )
    submit.add_argument("--name", required=True, help="your name, student id or group")
    submit.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where the zip goes (default: FOLDER; needed when FOLDER is read-only)",
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
    _add_course_options(grade)
    grade.add_argument(
        "--workers",
        type=_positive_int,
        default=os.cpu_count() or 1,
        help=f"students graded at once (default: the number of cores, {os.cpu_count()})",
    )
    grade.add_argument("--force", action="store_true", help="regrade unchanged submissions too")
    grade.add_argument(
        "--db",
        default=Settings.from_environment().gradebook_url,
        help="gradebook database URL, e.g. postgresql://... "
        "(default: $COURSEKIT_GRADEBOOK_URL or sqlite in the course folder)",
    )
    grade.add_argument(
        "--cell-timeout", type=_positive_int, default=120, help="seconds per cell (default: 120)"
    )
    grade.add_argument(
        "--notebook-timeout",
        type=_positive_int,
        default=900,
        help="seconds per notebook (default: 900)",
    )
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")
    grade.add_argument(
        "--roster",
        type=Path,
        default=None,
        help="the class list your LMS exported (Canvas gradebook or Moodle grading worksheet / "
        "participants CSV): also writes grading/ASSIGNMENT/grades_LMS.csv in its import format",
    )
    grade.add_argument(
        "--scheduler",
        default=Settings.from_environment().scheduler,
        metavar="ADDRESS",
        help="grade on a Dask cluster, e.g. tcp://10.0.0.5:8786 (default: "
        "$COURSEKIT_DASK_SCHEDULER, else --workers processes on this machine); its workers "
        "must see this course and its scratch folder at the same paths",
    )
    grade.add_argument(
        "--warm-kernels",
        action=argparse.BooleanOptionalAction,
        default=Settings.from_environment().warm_kernels,
        help="fork each student's kernel from a per-slot process that imported TensorFlow once "
        "(default: on; $COURSEKIT_WARM_KERNELS=0 turns it off)",
    )
    grade.set_defaults(run=_grade)

    review = commands.add_parser(
        "review",
        help="list the students a TA should review; release points held for review",
        description=(
            "Without --release: list every student whose grading needs a TA's look, held "
            "first. A notebook that touched the grader's machinery (IPython's hooks, builtins, "
            "the checks) has its autograded points held at 0; after reading it, release them "
            "with --release STUDENT --by NAME."
        ),
    )
    review.add_argument("assignment", help="the assignment, e.g. cnn")
    review.add_argument("--release", metavar="STUDENT", help="release this student's held points")
    review.add_argument("--by", default=os.environ.get("USER", ""), help="who reviewed it")
    review.add_argument(
        "--db",
        default=Settings.from_environment().gradebook_url,
        help="gradebook database URL (default: $COURSEKIT_GRADEBOOK_URL or sqlite)",
    )
    _add_course_options(review)
    review.set_defaults(run=_review)

    board = commands.add_parser(
        "leaderboard",
        help="score leaderboard uploads and write leaderboard.csv and leaderboard.md",
        description=(
            "Take in new uploads (TEAM.csv, GROUP/TEAM.csv or TEAM/ASSIGNMENT/submission.csv), "
            "stamped with the time this run receives them (never a name or a file time). "
            "Team names are compared ignoring case, accents, spaces and punctuation; unsafe "
            "names, BEAT ME look-alikes, links, folders and files over the size cap are "
            "refused with a reason. Check each upload with the students' checker, score "
            "accuracy and macro F1 on the public and private test split, enforce the daily "
            "limit, and rewrite history.csv, leaderboard.csv (spreadsheet-safe) and "
            "leaderboard.md. The BEAT ME row comes from the documented baseline model, "
            "trained once if its predictions are missing."
        ),
    )
    board.add_argument("assignment", help="the assignment, e.g. cnn")
    board.add_argument("--submissions", type=Path, default=None, help="where new uploads are")
    _add_course_options(board)
    board.add_argument(
        "--out", type=Path, default=None, help="default: COURSE_ROOT/leaderboard/ASSIGNMENT"
    )
    board.add_argument("--daily-limit", type=_positive_int, default=5, help="(default: 5)")
    board.add_argument(
        "--deadline",
        type=_utc_time,
        default=None,
        help="ISO time (UTC); after it, uploads are late and private scores rank the teams",
    )
    board.add_argument(
        "--max-upload-bytes",
        type=_positive_int,
        default=None,
        help="uploads larger than this are refused unread "
        "(default: MAX_UPLOAD_BYTES in autograder/leaderboard/board.py, 1 MiB)",
    )
    replaying = board.add_mutually_exclusive_group()
    replaying.add_argument(
        "--now",
        type=_utc_time,
        default=None,
        help="for replaying and testing only: the ISO time (UTC) this run receives new "
        "uploads at, instead of the clock",
    )
    replaying.add_argument(
        "--replay",
        action="store_true",
        help="for demos and tests only: take in each subfolder of --submissions as a past "
        "run at the UTC time its name gives (e.g. 2026-11-12T20-00), in time order",
    )
    board.set_defaults(run=_leaderboard)

    demo = commands.add_parser(
        "demo-class",
        help="write a demo class of about 30 submissions, including broken and hostile ones",
        description=(
            "Write OUT/submitted/STUDENT/ASSIGNMENT/ (notebooks and submission.csv), "
            "OUT/leaderboard/TIMESTAMP/TEAM.csv and OUT/expected.json, made from the release."
        ),
    )
    demo.add_argument("--out", type=Path, default=Path("demo"), help="(default: demo)")
    _add_course_options(demo)
    demo.set_defaults(run=_demo_class)

    book = commands.add_parser(
        "book",
        help="build the course site (Jupyter Book) into book/_build/html",
        description=(
            "Stage the student release of the assignment and the computed tables, numbers "
            "and figures, unpack MathJax (no CDN), and build the Jupyter Book without "
            "executing notebooks. Sphinx warnings are errors unless --allow-warnings."
        ),
    )
    book.add_argument("--assignment", default="cnn", help="the assignment to show (default: cnn)")
    book.add_argument(
        "--book-dir", type=Path, default=None, help="the Jupyter Book folder (default: book/)"
    )
    _add_course_options(book)
    book.add_argument(
        "--leaderboard",
        type=Path,
        default=None,
        help="folder with leaderboard.md (default: COURSE_ROOT/leaderboard/ASSIGNMENT)",
    )
    book.add_argument(
        "--repository-url",
        default=Settings.from_environment().book_repository,
        help="where the student release is published, for the launch buttons "
        "(default: $COURSEKIT_BOOK_REPOSITORY or repository.url in book/_config.yml)",
    )
    book.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="where the verified MathJax tarball is kept "
        "(default: $COURSEKIT_CACHE_DIR or ~/.cache/coursekit)",
    )
    book.add_argument("--allow-warnings", action="store_true", help="build even when Sphinx warns")
    book.set_defaults(run=_book)
    add_grades_commands(commands)
    add_report_commands(commands, Settings.from_environment())
    return parser


def _add_course_data_out(parser: argparse.ArgumentParser) -> None:
    """The output folder of `data build` and `data import`."""
    parser.add_argument(
        "--out",
        type=Path,
        default=Settings.from_environment().course_data,
        help=f"output folder (default: ${Env.COURSE_DATA} or {DEFAULTS.course_data})",
    )


def _add_course_options(parser: argparse.ArgumentParser) -> None:
    settings = Settings.from_environment()
    parser.add_argument(
        "--course-root",
        type=Path,
        default=settings.course_root,
        help=f"the nbgrader course folder (default: ${Env.COURSE_ROOT} or {DEFAULTS.course_root})",
    )
    parser.add_argument(
        "--course-data",
        type=Path,
        default=settings.course_data,
        help=f"output of `coursekit data build` (default: ${Env.COURSE_DATA} or "
        f"{DEFAULTS.course_data})",
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
    from autograder.course.dataset import build_course_dataset

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


def _import_course(args: argparse.Namespace) -> int:
    from autograder.course.adopt import import_course_dataset

    result = import_course_dataset(args.h5, args.answer_key, args.out, force=args.force)
    manifest = result.manifest_data
    state = "written" if result.changed else "unchanged (same inputs, same bytes)"
    print(
        f"Course dataset {state} from {args.h5.name} and {args.answer_key.name} "
        f"({manifest['train_size']:,} train, {manifest['test_size']:,} test, "
        f"{manifest['public_test_images']:,} public = {manifest['public_fraction']:.1%})"
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
        return DEFAULTS.test_size
    from utilities.loaders import load_fashion_mnist

    return len(load_fashion_mnist(dataset)["X_test"])


def _submit_check(args: argparse.Namespace) -> int:
    from utilities.handin import check_and_pack

    print(
        f"Checking the hand-in in {args.folder.resolve()} (this runs a copy of each notebook; "
        "your files are not changed) ..."
    )
    report = check_and_pack(args.name, folder=args.folder, out_dir=args.out)
    print(report)
    return 0 if report.ok else 1


def _init(args: argparse.Namespace) -> int:
    from autograder.resources import Bundled, copy_bundled

    for item, name in ((Bundled.COURSE, "assignments"), (Bundled.BOOK, "book")):
        written = copy_bundled(item, args.folder / name, overwrite=args.force)
        print(f"{args.folder / name}/: {len(written)} files written")
    print(f"Next, in {args.folder}: coursekit data fetch, then coursekit data build")
    return 0


def _release(args: argparse.Namespace) -> int:
    from autograder.course.dataset import STUDENT_FILE
    from autograder.course.release import release_assignment

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


def _grade(args: argparse.Namespace) -> int:
    from autograder.course.dataset import STUDENT_FILE
    from autograder.grading.pipeline.grade import GradeSettings, grade_class
    from autograder.grading.sandbox import SandboxLimits
    from utilities.data import default_cache_dir, fetch_dataset

    cache = default_cache_dir()
    fetch_dataset("mnist", cache_dir=cache)  # the notebooks load it offline in the sandbox
    settings = GradeSettings(
        assignment=args.assignment,
        submissions=args.submissions,
        course_root=args.course_root,
        dataset_file=args.course_data / STUDENT_FILE,
        cache_dir=cache,
        workers=args.workers,
        force=args.force,
        db_url=args.db,
        limits=SandboxLimits(
            cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout
        ),
        progress=not args.no_progress,
        roster=args.roster,
        scheduler=args.scheduler,
        warm_kernels=args.warm_kernels,
    )
    report = grade_class(settings)
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
    print(f"  grades:    {report.lms_csv}")
    print(f"             {report.nbgrader_csv}")
    if report.lms_file is not None:
        print(f"             {report.lms_file.summary()}")
    print(f"  feedback:  {report.feedback_dir}/STUDENT/{args.assignment}/")
    print(f"  records:   {report.grading_dir}/records/ (logs in logs/)")
    return 0


def _review(args: argparse.Namespace) -> int:
    from autograder.grading.pipeline.grade import (
        GRADING_DIR,
        GradeSettings,
        load_records,
        release_held,
    )

    settings = GradeSettings(
        assignment=args.assignment,
        submissions=Path(),
        course_root=args.course_root,
        dataset_file=Path(),
        cache_dir=Path(),
        db_url=args.db,
    )
    if args.release:
        record = release_held(settings, args.release, args.by)
        print(
            f"Released {record.student}'s held points: {record.autograded_score:g} of "
            f"{record.autograded_max:g} autograded (status now {record.status})"
        )
        return 0
    grading_dir = Path(args.course_root).resolve() / GRADING_DIR / args.assignment
    records = sorted(load_records(grading_dir).values(), key=lambda r: (not r.is_held, r.student))
    waiting = [record for record in records if record.needs_review]
    print(f"{len(waiting)} of {len(records)} students need a review")
    for record in waiting:
        state = "held" if record.is_held else "points counted"
        print(f"  {record.student} ({state}):")
        for note in (record.held or record.review)[:5]:
            print(f"    {note}")
    return 0


def _leaderboard(args: argparse.Namespace) -> int:
    from autograder.course.dataset import ANSWER_KEY_FILE, STUDENT_FILE
    from autograder.leaderboard.baseline import baseline_predictions
    from autograder.leaderboard.board import UploadStatus, replay_rounds, update_leaderboard

    private = args.course_data / "private"
    key = args.course_data / ANSWER_KEY_FILE
    if not key.is_file():
        raise CourseKitError(f"{key}: answer key not found; run `coursekit data build`")
    if args.replay and args.submissions is None:
        raise CourseKitError("--replay takes in the rounds under --submissions; give it")
    baseline_csv, info = baseline_predictions(args.course_data / STUDENT_FILE, private)
    out = args.out or args.course_root / "leaderboard" / args.assignment
    options = {
        "assignment": args.assignment,
        "daily_limit": args.daily_limit,
        "deadline": args.deadline,
    }
    if args.max_upload_bytes is not None:
        options["max_upload_bytes"] = args.max_upload_bytes
    if args.replay:
        result = replay_rounds(
            args.submissions, out, key, baseline_csv, info["description"], **options
        )
    else:
        result = update_leaderboard(
            args.submissions, out, key, baseline_csv, info["description"], now=args.now, **options
        )
    counts = Counter(upload.status.value for upload in result.new)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    print(f"Leaderboard: {len(result.new)} new uploads ({summary or 'none'})")
    for upload in result.new:
        if upload.status is not UploadStatus.SCORED:
            received = upload.received_at.isoformat(timespec="minutes")
            print(f"  {upload.team} {received}: {upload.status.value}: {upload.reason}")
    for problem in result.selection_problems:
        print(f"  final selections: {problem}")
    view = "private (final)" if result.final else "public"
    print(
        f"  {len(result.standings)} teams ranked, {view} view; BEAT ME "
        f"{result.baseline.public_accuracy:.2%} public"
    )
    print(f"  table: {result.table}")
    print(f"  page:  {result.markdown}")
    return 0


def _demo_class(args: argparse.Namespace) -> int:
    from autograder.course.dataset import ANSWER_KEY_FILE
    from autograder.demo.democlass import make_demo_class

    students = make_demo_class(args.course_root, args.course_data / ANSWER_KEY_FILE, args.out)
    print(f"Demo class of {len(students)} students in {args.out}/submitted/")
    print(f"  leaderboard uploads: {args.out}/leaderboard/; expectations: {args.out}/expected.json")
    return 0


def _book(args: argparse.Namespace) -> int:
    from autograder.course.dataset import STUDENT_FILE
    from autograder.site.book import DEFAULT_BOOK_DIR, build_book
    from utilities.data import default_cache_dir

    result = build_book(
        args.book_dir or DEFAULT_BOOK_DIR,
        args.course_root,
        args.assignment,
        args.course_data / STUDENT_FILE,
        args.leaderboard or args.course_root / "leaderboard" / args.assignment,
        args.cache_dir or default_cache_dir(),
        repository_url=args.repository_url,
        strict=not args.allow_warnings,
    )
    print(f"Course site: {result.pages} pages in {result.seconds:.1f} s")
    print(f"  open {result.html_dir / 'index.html'}")
    return 0


def _utc_time(text: str):
    from datetime import datetime

    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO time like 2026-12-01T23:59, got {text!r}"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _version() -> str:
    try:
        return version("coursekit")
    except PackageNotFoundError:
        return "unknown"
