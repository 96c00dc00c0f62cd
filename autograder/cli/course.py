"""``coursekit release``, ``demo-class`` and ``book``: the course, its demo class and its site."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from autograder.cli.options import add_course_options
from autograder.layout import CourseLayout
from autograder.settings import Env, Settings


def add_course_commands(commands, settings: Settings) -> None:
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
    add_course_options(release, settings)
    release.set_defaults(run=_release)

    demo = commands.add_parser(
        "demo-class",
        help="write a demo class of about 30 submissions, including broken and hostile ones",
        description=(
            "Write OUT/submitted/STUDENT/ASSIGNMENT/ (notebooks and submission.csv), "
            "OUT/leaderboard/TIMESTAMP/TEAM.csv and OUT/expected.json, made from the release."
        ),
    )
    demo.add_argument("--out", type=Path, default=Path("demo"), help="(default: demo)")
    add_course_options(demo, settings)
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
        "--book-dir",
        type=Path,
        default=settings.book_dir,
        help=f"the Jupyter Book folder (default: {settings.book_dir})",
    )
    add_course_options(book, settings)
    book.add_argument(
        "--leaderboard",
        type=Path,
        default=None,
        help="folder with leaderboard.md (default: COURSE_ROOT/leaderboard/ASSIGNMENT)",
    )
    book.add_argument(
        "--repository-url",
        default=settings.book_repository,
        help="where the student release is published, for the launch buttons "
        f"(default: ${Env.BOOK_REPOSITORY} or repository.url in book/_config.yml)",
    )
    book.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="where the verified MathJax tarball is kept "
        f"(default: ${Env.CACHE_DIR} or ~/.cache/coursekit)",
    )
    book.add_argument("--allow-warnings", action="store_true", help="build even when Sphinx warns")
    book.set_defaults(run=_book)


def _release(args: argparse.Namespace) -> int:
    from autograder.course.dataset import PRIVATE_DIR, STUDENT_FILE
    from autograder.course.release import release_assignment

    started = time.perf_counter()
    result = release_assignment(
        args.assignment,
        course_root=args.course_root,
        dataset_file=args.course_data / STUDENT_FILE,
        private_dir=args.course_data / PRIVATE_DIR,
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


def _demo_class(args: argparse.Namespace) -> int:
    from autograder.course.dataset import ANSWER_KEY_FILE, STUDENT_FILE
    from autograder.demo.democlass import make_demo_class
    from autograder.demo.uploads import TEAMS_FILE, demo_model
    from utilities.data import default_cache_dir

    model = None
    dataset = args.course_data / STUDENT_FILE
    if dataset.is_file():
        print("Training the model a demo student hands in (once; then cached) ...", flush=True)
        model = demo_model(dataset, default_cache_dir())
    students = make_demo_class(
        args.course_root, args.course_data / ANSWER_KEY_FILE, args.out, model=model
    )
    print(f"Demo class of {len(students)} students in {args.out}/submitted/")
    print(f"  leaderboard uploads: {args.out}/leaderboard/, teams: {args.out}/{TEAMS_FILE}")
    print(f"  expectations: {args.out}/expected.json")
    return 0


def _book(args: argparse.Namespace) -> int:
    from autograder.course.dataset import STUDENT_FILE
    from autograder.site.book import build_book
    from utilities.data import default_cache_dir

    layout = CourseLayout.at(args.course_root)
    result = build_book(
        args.book_dir,
        args.course_root,
        args.assignment,
        args.course_data / STUDENT_FILE,
        args.leaderboard or layout.leaderboard(args.assignment),
        args.cache_dir or default_cache_dir(),
        repository_url=args.repository_url,
        strict=not args.allow_warnings,
    )
    print(f"Course site: {result.pages} pages in {result.seconds:.1f} s")
    print(f"  open {result.html_dir / 'index.html'}")
    return 0
