"""``coursekit init``, ``data fetch|build|import``, ``submission check`` and ``submit-check``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from autograder.cli.options import command_group, positive_int
from autograder.settings import Env, Settings


def add_data_commands(commands, settings: Settings) -> None:
    """The dataset commands, and the two commands students run."""
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

    _, data = command_group(
        commands, "data", "download the raw datasets and build or import the course dataset"
    )
    fetch = data.add_parser(
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
    _add_build(data, settings)
    _add_import(data, settings)

    _, submission = command_group(commands, "submission", "check a leaderboard submission")
    check = submission.add_parser(
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
        type=positive_int,
        default=settings.test_size,
        help=f"expected number of rows (default: {settings.test_size:,}, the course test set)",
    )
    check.set_defaults(run=_check_submission)
    _add_submit_check(commands)


def _add_build(data, settings: Settings) -> None:
    build = data.add_parser(
        "build",
        help="write Fashion_MNIST.h5 for students and the private answer key",
        description=(
            f"Re-split all {settings.total_images:,} Fashion-MNIST images with a seed into "
            f"{settings.total_images - settings.test_size:,} training and "
            f"{settings.test_size:,} test images. Writes "
            "OUT/public/Fashion_MNIST.h5 for students (no test labels), and "
            "OUT/private/answer_key.csv and manifest.json for instructors only."
        ),
    )
    _add_course_data_out(build, settings)
    build.add_argument(
        "--seed", type=int, default=settings.seed, help=f"split seed (default: {settings.seed})"
    )
    build.add_argument(
        "--public-fraction",
        type=float,
        default=settings.public_fraction,
        help="share of test IDs scored on the public leaderboard "
        f"(default: {settings.public_fraction})",
    )
    build.add_argument(
        "--force",
        action="store_true",
        help="replace an existing answer key that differs (invalidates leaderboard scores)",
    )
    _add_source_options(build)
    build.set_defaults(run=_build)


def _add_import(data, settings: Settings) -> None:
    adopt = data.add_parser(
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
    _add_course_data_out(adopt, settings)
    adopt.add_argument(
        "--force",
        action="store_true",
        help="replace an existing answer key that differs (invalidates leaderboard scores)",
    )
    adopt.set_defaults(run=_import_course)


def _add_submit_check(commands) -> None:
    submit = commands.add_parser(
        "submit-check",
        help="check a student's hand-in and pack notebooks, PDFs, submission.csv and the "
        "model into a zip",
        description=(
            "For students: check that each notebook was saved after a full run with no "
            "errors in graded cells, run it as nbgrader validate does and list the visible "
            "tests that pass and fail, check submission.csv and fashion_model.keras, print "
            "each notebook to PDF "
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


def _add_course_data_out(parser: argparse.ArgumentParser, settings: Settings) -> None:
    """The output folder of `data build` and `data import`."""
    parser.add_argument(
        "--out",
        type=Path,
        default=settings.course_data,
        help=f"output folder (default: ${Env.COURSE_DATA} or {settings.course_data})",
    )


def _add_source_options(parser: argparse.ArgumentParser) -> None:
    """Where raw files come from; each default is read from the environment by ``utilities``."""
    parser.add_argument(
        "--mirror",
        default=None,
        help="directory or URL (comma-separated for several) tried before the official "
        f"sources (default: ${Env.DATA_MIRROR})",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help=f"where verified downloads are kept (default: ${Env.CACHE_DIR} or ~/.cache/coursekit)",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        default=None,
        help=f"use only the mirrors, never the official sources (default: ${Env.OFFLINE})",
    )


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
    _print_dataset_files(result)
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
    _print_dataset_files(result)
    return 0


def _print_dataset_files(result) -> None:
    print(f"  students:    {result.student_file}")
    print(f"  instructors: {result.answer_key}  (never hand this out)")
    print(f"               {result.manifest}")


def _check_submission(args: argparse.Namespace) -> int:
    from utilities.submission import validate_submission

    n_rows = args.rows
    if args.dataset is not None:
        from utilities.loaders import load_fashion_mnist

        n_rows = len(load_fashion_mnist(args.dataset)["X_test"])
    validate_submission(args.file, n_rows)
    print(f"{args.file}: valid submission with {n_rows:,} rows")
    return 0


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
