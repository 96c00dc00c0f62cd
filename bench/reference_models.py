"""Run the assignment's solution notebooks for real and measure what they reach.

Each source notebook of assignment ``cnn`` is executed top to bottom in a
fresh kernel with nbclient, in a scratch folder holding the course's
``Fashion_MNIST.h5``, in full mode (the run a student does) or in fast mode
(``COURSEKIT_FAST_MODE=1``: the short run the autograder and CI do). In full
mode the notebooks' results are checked:

* Part 1 (LeNet5 on MNIST): test accuracy and macro F1 as the notebook
  computes them, and the wall time of the training cell.
* Part 2 (the reference CNN): the ``submission.csv`` the notebook writes is
  scored against the private answer key, on the public part, the private part
  and the whole hidden test split, with the wall time of the training cell.

Usage: ``python bench/reference_models.py [--part 1|2|all] [--mode full|fast] [--runs N]``.
The median and range over the runs go to the ``notebooks`` section of
``bench/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import nbformat
import numpy as np
from nbclient import NotebookClient
from sklearn.metrics import f1_score

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder.course.dataset import ANSWER_KEY_FILE, STUDENT_FILE, load_answer_key  # noqa: E402
from autograder.settings import Settings  # noqa: E402
from bench.results import machine, record, spread  # noqa: E402
from utilities.runmode import FAST_MODE_ENV, NBGRADER_ENV  # noqa: E402
from utilities.submission import validate_submission  # noqa: E402

SOURCE = REPO / "assignments" / "source" / "cnn"
NOTEBOOKS = {"1": SOURCE / "1_lenet5_mnist.ipynb", "2": SOURCE / "2_fashion_cnn.ipynb"}
GOALS = {"1": 0.990, "2": 0.935}
REPORT_PART1 = (
    'import json\nprint("BENCH " + json.dumps({"test_accuracy": test_accuracy, '
    '"test_macro_f1": float(test_f1.result()), "epochs": len(history.history["loss"])}))'
)
REPORT_PART2 = (
    'import json\nprint("BENCH " + json.dumps({"epochs": len(fashion_history.history["loss"]), '
    '"val_accuracy": val_accuracy}))'
)


def run_notebook(path: Path, course_data: Path, report: str) -> dict:
    """Execute one notebook in full mode; return its BENCH line and cell timings."""
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(report))
    with tempfile.TemporaryDirectory(prefix="coursekit-bench-") as folder:
        shutil.copy2(course_data / STUDENT_FILE, Path(folder) / STUDENT_FILE.name)
        started = time.perf_counter()
        NotebookClient(
            notebook, timeout=None, kernel_name="python3", resources={"metadata": {"path": folder}}
        ).execute()
        total = time.perf_counter() - started
        result = _bench_line(notebook)
        result["notebook_s"] = round(total, 1)
        result["train_s"] = round(_training_seconds(notebook), 1)
        submission = Path(folder) / "submission.csv"
        if submission.exists():
            result["predictions"] = validate_submission(submission, n_rows=10_500).tolist()
    return result


def score(predictions: list[int], course_data: Path) -> dict:
    key = load_answer_key(course_data / ANSWER_KEY_FILE)
    predicted = np.asarray(predictions)
    scores = {}
    for part, rows in (
        ("public", key["is_public"]),
        ("private", ~key["is_public"]),
        ("all", np.ones_like(key["is_public"])),
    ):
        truth, guess = key["Label"][rows], predicted[key["ID"][rows]]
        scores[f"{part}_accuracy"] = round(float(np.mean(truth == guess)), 4)
        scores[f"{part}_macro_f1"] = round(float(f1_score(truth, guess, average="macro")), 4)
    return scores


def _bench_line(notebook) -> dict:
    for output in notebook.cells[-1].outputs:
        for line in output.get("text", "").splitlines():
            if line.startswith("BENCH "):
                return json.loads(line[len("BENCH ") :])
    raise RuntimeError("the notebook did not report its results")


def _training_seconds(notebook) -> float:
    (cell,) = [
        c
        for c in notebook.cells
        if c.cell_type == "code" and ".fit(" in c.source and "nbgrader" not in c.metadata
    ]
    timing = cell.metadata["execution"]
    start = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
    return (end - start).total_seconds()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=["1", "2", "all"], default="all")
    parser.add_argument("--mode", choices=["full", "fast"], default="full")
    parser.add_argument("--runs", type=int, default=1, help="runs per notebook (default 1)")
    args = parser.parse_args()
    course_data = Settings.from_environment().course_data
    if not (course_data / ANSWER_KEY_FILE).is_file():
        sys.exit(f"{course_data}: no course dataset; run `coursekit data build` first")
    os.environ.pop(NBGRADER_ENV, None)
    if args.mode == "fast":
        os.environ[FAST_MODE_ENV] = "1"
    else:
        os.environ.pop(FAST_MODE_ENV, None)
    parts = ["1", "2"] if args.part == "all" else [args.part]
    where = machine()
    for part in parts:
        runs = [run_part(part, args.mode, run, course_data) for run in range(1, args.runs + 1)]
        accuracies = [r["accuracy"] for r in runs if "accuracy" in r]
        entry = {
            "notebook": NOTEBOOKS[part].name,
            "mode": args.mode,
            "runs": runs,
            "notebook_seconds": spread([r["notebook_s"] for r in runs]),
            "training_seconds": spread([r["train_s"] for r in runs]),
            "accuracy": spread(accuracies) if accuracies else None,
        }
        record("notebooks", [entry], where)
    print("results in bench/results.json and bench/results.md")
    return 0


def run_part(part: str, mode: str, run: int, course_data: Path) -> dict:
    """Execute Part ``part``'s solution once; score it in full mode."""
    report = REPORT_PART1 if part == "1" else REPORT_PART2
    result = run_notebook(NOTEBOOKS[part], course_data, report)
    predictions = result.pop("predictions", None)
    message = (
        f"part {part} {mode} run {run}: notebook {result['notebook_s']:.0f} s, "
        f"training {result['train_s']:.0f} s in {result['epochs']} epochs"
    )
    if mode == "full":
        if predictions is not None:
            result.update(score(predictions, course_data))
        result["accuracy"] = result["test_accuracy"] if part == "1" else result["all_accuracy"]
        message += f", accuracy {result['accuracy']:.2%} (goal {GOALS[part]:.1%})"
    print(message, flush=True)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
