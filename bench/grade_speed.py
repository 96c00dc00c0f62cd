"""Grade the same demo class with plain serial nbgrader and with ``coursekit grade``.

The class is the demo class minus the two attacks that would harm a machine
when run unsandboxed (``xwrite`` writes into the kit, ``xfork`` starts 5,000
processes): 30 students. Both runs start from a fresh copy of the course with
the same source notebooks, the same dataset and the same per-cell timeout,
and both produce autograded notebooks, feedback HTML and a grades CSV:

- serial: ``nbgrader autograde cnn``, ``nbgrader generate_feedback cnn`` and
  ``nbgrader export``, under ``prlimit --as`` so that the 64 GB allocation of
  one student cannot take the machine down;
- coursekit: ``coursekit grade cnn --workers N`` (sandboxes, preflight,
  probes, records and both CSVs included).

With ``--students N`` both grade N correct students of the demo class
instead (every test passes, no problem; copies when the class has fewer):
the comparison the README quotes.

Usage: ``python bench/grade_speed.py [--workers N] [--cell-timeout S] [--students N]``.
Prints both wall times and the ratio; writes ``bench/out/grade_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder.course.dataset import ANSWER_KEY_FILE, STUDENT_FILE  # noqa: E402
from autograder.course.folder import DEFAULT_COURSE_ROOT, run_nbgrader, scratch_course  # noqa: E402
from autograder.demo.democlass import make_demo_class  # noqa: E402

UNSAFE_UNSANDBOXED = ("xwrite", "xfork")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--cell-timeout", type=int, default=120)
    parser.add_argument("--students", type=int, default=0, help="N correct students only")
    parser.add_argument(
        "--course-data",
        type=Path,
        default=Path(os.environ.get("COURSEKIT_COURSE_DATA", REPO / "data" / "course")),
    )
    args = parser.parse_args()
    dataset = args.course_data / STUDENT_FILE
    with tempfile.TemporaryDirectory(prefix="grade-speed-") as folder:
        work = Path(folder)
        release_course = scratch_course(DEFAULT_COURSE_ROOT, "cnn", work / "release-course")
        run_nbgrader(release_course, "generate_assignment", "cnn", "--force")
        make_demo_class(release_course, args.course_data / ANSWER_KEY_FILE, work / "demo")
        submitted = work / "demo" / "submitted"
        for student in UNSAFE_UNSANDBOXED:
            shutil.rmtree(submitted / student)
        if args.students:
            _keep_correct(work / "demo", args.students)
        students = sorted(path.name for path in submitted.iterdir())
        print(f"{len(students)} students, cell timeout {args.cell_timeout} s")

        serial = _serial(work / "serial", submitted, dataset, args.cell_timeout)
        serial_graded = _graded_students(work / "serial")
        print(f"plain serial nbgrader: {serial:.0f} s ({serial_graded} students autograded)")
        parallel = _coursekit(work / "coursekit", submitted, args, dataset)
        parallel_graded = _graded_students(work / "coursekit")
        print(
            f"coursekit grade, {args.workers} workers: {parallel:.0f} s "
            f"({parallel_graded} students autograded)"
        )
    ratio = serial / parallel
    print(f"ratio: {ratio:.2f}x")
    out = REPO / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    result = {
        "students": len(students),
        "cell_timeout_s": args.cell_timeout,
        "workers": args.workers,
        "cores": os.cpu_count(),
        "serial_nbgrader_s": round(serial, 1),
        "coursekit_grade_s": round(parallel, 1),
        "ratio": round(ratio, 2),
        "students_autograded_by_nbgrader": serial_graded,
        "students_autograded_by_coursekit": parallel_graded,
    }
    (out / "grade_speed.json").write_text(json.dumps(result, indent=1))
    return 0


def _keep_correct(demo: Path, count: int) -> None:
    """Keep ``count`` students whose every test passes with no problem (copies if needed)."""
    expected = json.loads((demo / "expected.json").read_text())
    correct = sorted(
        student
        for student, wanted in expected.items()
        if not wanted["failed"] and wanted["status"] == "graded" and not wanted["review"]
    )
    submitted = demo / "submitted"
    for path in list(submitted.iterdir()):
        if path.name not in correct:
            shutil.rmtree(path)
    for number in range(len(correct), count):
        original = correct[number % len(correct)]
        shutil.copytree(submitted / original, submitted / f"{original}-{number}")
    for path in sorted(submitted.iterdir())[count:]:
        shutil.rmtree(path)


def _graded_students(course: Path) -> int:
    """Students with autograded notebooks; nbgrader removes a student whose kernel died."""
    return sum(1 for path in (course / "autograded").glob("*") if any(path.rglob("*.ipynb")))


def _serial(folder: Path, submitted: Path, dataset: Path, cell_timeout: int) -> float:
    course = scratch_course(DEFAULT_COURSE_ROOT, "cnn", folder)
    shutil.copy2(dataset, course / "source" / "cnn" / dataset.name)
    run_nbgrader(course, "generate_assignment", "cnn", "--force")
    shutil.copytree(submitted, course / "submitted")
    started = time.perf_counter()
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    limit = ["prlimit", f"--as={6 * 1024**3}", "--"]
    for step in (
        ["autograde", "cnn", f"--Execute.timeout={cell_timeout}"],
        ["generate_feedback", "cnn"],
        ["export", "--to=grades.csv"],
    ):
        # nbgrader exits 1 when some submissions fail; that is part of the job.
        subprocess.run(
            [*limit, sys.executable, "-m", "nbgrader", *step],
            cwd=course,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return time.perf_counter() - started


def _coursekit(folder: Path, submitted: Path, args, dataset: Path) -> float:
    course = scratch_course(DEFAULT_COURSE_ROOT, "cnn", folder)
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder.cli",
            "grade",
            "cnn",
            "--submissions",
            str(submitted),
            "--course-root",
            str(course),
            "--course-data",
            str(args.course_data),
            "--workers",
            str(args.workers),
            "--cell-timeout",
            str(args.cell_timeout),
            "--no-progress",
        ],
        check=True,
    )
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
