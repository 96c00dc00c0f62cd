"""bench/results.py: the benchmarks' shared record and the Markdown the site shows."""

from __future__ import annotations

import json
import time

from bench import host_load
from bench.results import goal_met, markdown, record, spread

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


def test_the_goals_are_fashion_in_three_minutes_and_lenet5_within_its_specification():
    assert goal_met("fashion", 0.9401, 179.0)
    assert not goal_met("fashion", 0.9401, 181.0)
    assert not goal_met("fashion", 0.9399, 100.0)
    assert goal_met("lenet5", 0.9900, 130.0)  # no time goal: Part 1 fixes batch and epochs
    assert not goal_met("lenet5", 0.9899, 10.0)


def test_busy_runs_are_counted_in_the_table(tmp_path):
    results = tmp_path / "results.json"
    entry = run_entry("reference", [0.94, 0.941, 0.95], [170.0, 175.0, 400.0], busy_runs=1)
    record("time_to_accuracy", [entry], LAPTOP, results)
    text = (tmp_path / "results.md").read_text()
    assert "| 3 (1 busy) |" in text
    assert "left out of the time medians" in text


def test_a_run_while_something_else_burns_cpu_is_marked_busy():
    before = host_load.sample()
    spent = time.process_time()
    while time.process_time() - spent < 0.5:  # this process is not the run's child: "others"
        pass
    load = host_load.between(before, host_load.sample())
    assert load.other_cores is not None and load.other_cores > host_load.BUSY_CORES
    assert load.busy
    assert load.load_average_before is not None


def test_an_idle_host_with_a_busy_child_is_not_busy():
    before = host_load.Sample(
        wall=0.0, host_busy_seconds=100.0, children_cpu_seconds=0.0, load_average=0.1
    )
    after = host_load.Sample(
        wall=100.0, host_busy_seconds=300.0, children_cpu_seconds=195.0, load_average=1.9
    )
    load = host_load.between(before, after)
    assert load.other_cores == 0.05
    assert not load.busy
    assert (load.load_average_before, load.load_average_after) == (0.1, 1.9)
