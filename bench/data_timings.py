"""Time `coursekit data build` and `load_fashion_mnist`, several runs each.

    python bench/data_timings.py [--runs 5]

Prints the median and range in seconds and records them in the ``data``
section of ``bench/results.json``. The raw files must already be in the cache
(`coursekit data fetch`), so download time is not measured.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograder.course.dataset import build_course_dataset
from bench.results import machine, record, spread
from utilities import load_fashion_mnist
from utilities.data import fetch_dataset


def timed(action: Callable[[], object], runs: int) -> list[float]:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    return seconds


def report(step: str, seconds: list[float]) -> dict:
    summary = spread(seconds)
    low, high = summary["range"]
    print(
        f"{step:<28} median {summary['median']:6.2f} s   "
        f"range {low:.2f}–{high:.2f} s   ({len(seconds)} runs)"
    )
    return {"step": step, "runs": seconds, "seconds": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    fetch_dataset("fashion-mnist", progress=False)
    with tempfile.TemporaryDirectory() as out:
        build = timed(lambda: build_course_dataset(out, force=True), args.runs)
        student_file = f"{out}/public/Fashion_MNIST.h5"
        load = timed(lambda: load_fashion_mnist(student_file), args.runs)
    entries = [
        report("coursekit data build (Fashion_MNIST.h5 and answer key)", build),
        report("load_fashion_mnist (the student's h5 file)", load),
    ]
    record("data", entries, machine())


if __name__ == "__main__":
    main()
