"""The benchmarks' shared record: ``bench/results.json`` and the Markdown made from it.

Each benchmark script measures one section (time to accuracy, course data,
notebooks) and calls :func:`record`, which merges its entries into the JSON
file (one entry per machine and key, so a rerun replaces its own rows and
keeps everything else) and rewrites ``results.md`` next to it. The course
site includes that Markdown on its benchmarks page.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

RESULTS_JSON = Path(__file__).resolve().parent / "results.json"

#: Which fields identify an entry within each section (besides the machine).
SECTION_KEYS = {
    "time_to_accuracy": ("model", "variant"),
    "data": ("step",),
    "notebooks": ("notebook", "mode"),
}
#: Median test accuracy and median seconds of ``fit`` (None: no time goal). LeNet5's goal is
#: accuracy within Part 1's specification (Adam, batch 64, 20 epochs), whatever that takes.
GOALS: dict[str, tuple[float, float | None]] = {"lenet5": (0.990, None), "fashion": (0.940, 180.0)}


def goal_met(model: str, accuracy: float, seconds: float) -> bool:
    """Whether a median accuracy and training time meet ``model``'s goal."""
    goal_accuracy, goal_seconds = GOALS[model]
    return accuracy >= goal_accuracy and (goal_seconds is None or seconds <= goal_seconds)


def machine() -> dict:
    """Where the numbers were taken: cores, processor, Keras backend and any GPU.

    Works without TensorFlow (a GPU machine with only JAX or PyTorch).
    """
    import keras

    where = {
        "processor": platform.processor() or platform.machine(),
        "keras_backend": keras.backend.backend(),
    }
    gpu = None
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        where["tensorflow"] = tf.__version__
        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            gpu = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
    elif keras.backend.backend() == "jax":
        import jax

        gpus = [d for d in jax.devices() if d.platform == "gpu"]
        gpu = gpus[0].device_kind if gpus else None
    elif keras.backend.backend() == "torch":
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    where["name"] = f"{os.cpu_count()} CPU cores" + (f", {gpu}" if gpu else "")
    return where


def spread(values: Sequence[float]) -> dict:
    """Median and range of repeated measurements."""
    return {"median": statistics.median(values), "range": [min(values), max(values)]}


def record(
    section: str,
    entries: list[dict],
    where: dict,
    results_json: Path = RESULTS_JSON,
    order: Sequence[tuple] = (),
):
    """Merge ``entries`` into ``section`` of ``results_json`` and rewrite the Markdown.

    ``order`` lists the section's keys (without the machine) in the order the
    benchmark defines them; the section is stored, and so rendered, in that
    order, with keys it does not list kept after them as they were.
    """
    stored = json.loads(results_json.read_text()) if results_json.is_file() else {}
    fields = SECTION_KEYS[section]
    measured_at = datetime.now(UTC).isoformat()[:19]
    keyed = {_key(e, fields): e for e in stored.get(section, [])}
    for entry in entries:
        entry = {**entry, "machine": where, "measured_at": measured_at}
        keyed[_key(entry, fields)] = entry
    rank = {key: position for position, key in enumerate(order)}
    stored[section] = sorted(keyed.values(), key=lambda e: rank.get(_key(e, fields)[1:], len(rank)))
    results_json.parent.mkdir(parents=True, exist_ok=True)
    _write(results_json, json.dumps(stored, indent=2, ensure_ascii=False) + "\n")
    _write(results_json.with_suffix(".md"), markdown(stored))


def _key(entry: dict, fields: Sequence[str]) -> tuple:
    return (entry["machine"]["name"], *(entry[f] for f in fields))


def _write(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    partial.replace(path)


# -- Markdown ---------------------------------------------------------------------------------


def markdown(stored: dict) -> str:
    """Every section that has entries, as Markdown tables (level-2 headings)."""
    parts = []
    for title, section, render in (
        ("Time to accuracy", "time_to_accuracy", _time_to_accuracy),
        ("Notebooks", "notebooks", _notebooks),
        ("Course data", "data", _data),
    ):
        if stored.get(section):
            parts.append(f"## {title}\n\n{render(stored[section])}")
    return "\n".join(parts)


def _seconds(value: dict) -> str:
    low, high = value["range"]
    return f"{value['median']:.0f} s ({low:.0f}–{high:.0f})"


def _percent(value: dict) -> str:
    low, high = value["range"]
    return f"{value['median']:.2%} ({low:.2%}–{high:.2%})"


def _table(header: Sequence[str], align: str, rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _sorted(entries: list[dict], *fields: str) -> list[dict]:
    return sorted(entries, key=lambda e: (e["machine"]["name"], *(e[f] for f in fields)))


def _time_to_accuracy(entries: list[dict]) -> str:
    """One row per variant, by machine and model, then in the order they are stored."""
    rows = []
    for e in _sorted(entries, "model"):
        throughput_only = e.get("throughput_only", False)
        rows.append(
            [
                e["machine"]["name"],
                e["model"],
                e["variant"],
                e["note"],
                "–" if throughput_only else _percent(e["accuracy"]),
                "–" if throughput_only else _seconds(e["fit_seconds"]),
                f"{e['epoch_seconds']['median']:.1f} s / {_fastest_epoch(e):.1f} s",
                _runs(e),
                "–" if throughput_only else ("yes" if e["goal_met"] else "no"),
            ]
        )
    header = (
        "Machine", "Model", "Variant", "What changes", "Test accuracy, median (range)",
        "Training time, median (range)", "Per epoch: median / fastest", "Runs", "Goal met",
    )  # fmt: skip
    goals = "; ".join(
        f"{m}: ≥ {a:.1%} " + (f"within {s:.0f} s" if s else "within Part 1's specification")
        for m, (a, s) in GOALS.items()
    )
    return (
        _table(
            header, (":---", ":---", ":---", ":---", "---:", "---:", "---:", "---:", ":---:"), rows
        )
        + f"\nGoals on 2 CPU cores: {goals} (medians over at least 3 seeds). A dash marks a "
        "throughput-only run (a few epochs, timed, accuracy not meaningful). A run during which "
        "other processes used more than a quarter of a core is counted as busy and left out "
        "of the time medians (not of the accuracy: a neighbour slows training down but does "
        "not change what it learns).\n"
    )


def _runs(entry: dict) -> str:
    """How many runs, and how many of them were on a busy host (left out of the medians)."""
    busy = entry.get("busy_runs", 0)
    return f"{len(entry['runs'])} ({busy} busy)" if busy else str(len(entry["runs"]))


def _fastest_epoch(entry: dict) -> float:
    """The quickest epoch of any run: what the machine does when no neighbour competes."""
    epochs = [t for run in entry["runs"] for t in run.get("each_epoch_seconds", [])]
    return min(epochs) if epochs else entry["epoch_seconds"]["range"][0]


def _notebooks(entries: list[dict]) -> str:
    rows = [
        [
            e["machine"]["name"],
            e["notebook"],
            e["mode"],
            _seconds(e["notebook_seconds"]),
            _seconds(e["training_seconds"]),
            _percent(e["accuracy"]) if e.get("accuracy") else "–",
            str(len(e["runs"])),
        ]
        for e in _sorted(entries, "notebook", "mode")
    ]
    header = (
        "Machine", "Notebook", "Mode", "Whole notebook", "Training cell", "Accuracy", "Runs"
    )  # fmt: skip
    return _table(header, (":---", ":---", ":---", "---:", "---:", "---:", "---:"), rows)


def _data(entries: list[dict]) -> str:
    rows = [
        [
            e["machine"]["name"],
            e["step"],
            f"{e['seconds']['median']:.2f} s ({e['seconds']['range'][0]:.2f}–"
            f"{e['seconds']['range'][1]:.2f})",
            str(len(e["runs"])),
        ]
        for e in _sorted(entries, "step")
    ]
    return _table(
        ("Machine", "Step", "Time, median (range)", "Runs"), (":---", ":---", "---:", "---:"), rows
    )
