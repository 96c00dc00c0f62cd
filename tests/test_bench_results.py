"""bench/results.py: the benchmarks' shared record and the Markdown the site shows."""

from __future__ import annotations

import json

from bench.results import markdown, record, spread

LAPTOP = {"name": "2 CPU cores", "processor": "x86_64", "tensorflow": "2.21.0"}
GPU_BOX = {"name": "16 CPU cores, NVIDIA H200", "processor": "x86_64", "tensorflow": "2.21.0"}


def run_entry(variant: str, accuracies: list[float], seconds: list[float], **extra) -> dict:
    return {
        "model": "fashion",
        "variant": variant,
        "note": f"{variant} recipe",
        "throughput_only": False,
        "runs": [
            {"accuracy": a, "fit_seconds": s} for a, s in zip(accuracies, seconds, strict=True)
        ],
        "accuracy": spread(accuracies),
        "fit_seconds": spread(seconds),
        "epoch_seconds": spread([s / 15 for s in seconds]),
        "goal_met": False,
        **extra,
    }


def test_spread_is_the_median_and_range():
    assert spread([3.0, 1.0, 2.0]) == {"median": 2.0, "range": [1.0, 3.0]}


def test_a_rerun_replaces_its_own_row_and_keeps_the_others(tmp_path):
    results = tmp_path / "results.json"
    record("time_to_accuracy", [run_entry("reference", [0.93], [290.0])], LAPTOP, results)
    record("time_to_accuracy", [run_entry("batch 256", [0.92], [250.0])], LAPTOP, results)
    record("time_to_accuracy", [run_entry("reference", [0.94], [280.0])], GPU_BOX, results)
    record("time_to_accuracy", [run_entry("reference", [0.935], [285.0])], LAPTOP, results)

    stored = json.loads(results.read_text())["time_to_accuracy"]
    rows = {(e["machine"]["name"], e["variant"]): e["accuracy"]["median"] for e in stored}
    assert rows == {
        ("2 CPU cores", "reference"): 0.935,
        ("2 CPU cores", "batch 256"): 0.92,
        ("16 CPU cores, NVIDIA H200", "reference"): 0.94,
    }
    assert all(e["measured_at"] for e in stored)


def test_sections_are_kept_apart(tmp_path):
    results = tmp_path / "results.json"
    record("time_to_accuracy", [run_entry("reference", [0.93], [290.0])], LAPTOP, results)
    data = {"step": "coursekit data build", "runs": [2.0, 3.0], "seconds": spread([2.0, 3.0])}
    record("data", [data], LAPTOP, results)
    assert set(json.loads(results.read_text())) == {"time_to_accuracy", "data"}
    text = (tmp_path / "results.md").read_text()
    assert "## Time to accuracy" in text and "## Course data" in text
    assert "| 2 CPU cores | coursekit data build | 2.50 s (2.00–3.00) | 2 |" in text


def test_rows_follow_the_order_the_benchmark_defines_and_unknown_ones_go_last(tmp_path):
    results = tmp_path / "results.json"
    order = [("fashion", "reference"), ("fashion", "wide")]
    for variant in ("retired", "wide", "reference"):
        record("time_to_accuracy", [run_entry(variant, [0.93], [290.0])], LAPTOP, results, order)
    stored = json.loads(results.read_text())["time_to_accuracy"]
    assert [e["variant"] for e in stored] == ["reference", "wide", "retired"]
    text = (tmp_path / "results.md").read_text()
    assert text.index("| reference |") < text.index("| wide |") < text.index("| retired |")


def test_a_row_shows_the_median_and_range_of_accuracy_time_and_epochs():
    entry = run_entry("wide", [0.93, 0.94, 0.935], [400, 420, 390])
    text = markdown({"time_to_accuracy": [{**entry, "machine": LAPTOP}]})
    assert "| 93.50% (93.00%–94.00%) | 400 s (390–420) | 26.7 s / 26.0 s | 3 | no |" in text


def test_a_throughput_only_row_shows_its_time_per_epoch_and_no_accuracy():
    entry = run_entry("1 intra-op thread", [0.61], [75.0], throughput_only=True)
    text = markdown({"time_to_accuracy": [{**entry, "machine": LAPTOP}]})
    assert "| – | – | 5.0 s / 5.0 s | 1 | – |" in text
    assert "61" not in text.split("| 1 intra-op thread |")[1]


def test_nothing_measured_renders_nothing():
    assert markdown({}) == ""
