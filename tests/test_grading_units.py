"""Pieces of `coursekit grade` that need no kernel: records, worker results, the cache copy."""

from __future__ import annotations

import json
import stat
from dataclasses import asdict
from pathlib import Path

import pytest

from autograder.grading.pipeline.events import Event, EventKind, NotebookEvents
from autograder.grading.pipeline.merge import MAX_LOG_BYTES, _add_events, write_log
from autograder.grading.pipeline.records import (
    RECORD_VERSION,
    Status,
    StudentRecord,
    WorkerResult,
    load_records,
)
from autograder.grading.pipeline.schedule import readable_copy
from autograder.layout import GradingFolder


def test_the_sandbox_gets_only_the_verified_dataset_files_of_the_cache(tmp_path):
    """Nothing else of the instructor's cache (solved notebooks, models) reaches a kernel, no
    link is followed, a file whose checksum is not the published one is left out, and no
    mode of the instructor's own files changes."""
    from utilities.data import MNIST

    cache, outside = tmp_path / "cache", tmp_path / "outside"
    (cache / "mnist").mkdir(parents=True)
    outside.mkdir()
    private = outside / "answer_key.csv"
    private.write_text("ID,Label\n")
    private.chmod(0o600)
    good = "train-images-idx3-ubyte.gz"
    sums = {raw.name: raw.sha256 for raw in MNIST.files.values()}
    real = cache / "mnist" / good
    real.write_bytes(b"not the published file")
    real.chmod(0o600)
    (cache / "mnist" / "train-labels-idx1-ubyte.gz").symlink_to(private)
    (cache / "student-venvs").mkdir()
    (cache / "student-venvs" / "1_lenet5_mnist.ipynb").write_text("SOLVED")
    (cache / "demo-model").mkdir()
    (cache / "demo-model" / "fashion_model.keras").write_text("a model")

    import utilities.data as data

    original = data.sha256_of
    data.sha256_of = lambda path: sums[good] if Path(path).name == good else original(path)
    try:
        copy = readable_copy(cache, tmp_path / "copy")
    finally:
        data.sha256_of = original

    files = sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file())
    assert files == [f"mnist/{good}"]
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    assert stat.S_IMODE((copy / "mnist" / good).stat().st_mode) == 0o644
    assert (copy / "mnist" / good).stat().st_ino != real.stat().st_ino


def test_a_cached_file_that_is_not_the_published_one_is_left_out(tmp_path):
    (tmp_path / "cache" / "mnist").mkdir(parents=True)
    (tmp_path / "cache" / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(b"tampered")
    copy = readable_copy(tmp_path / "cache", tmp_path / "copy")
    assert [p for p in copy.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{not json",
        json.dumps({"student": "someone else", "version": 1}),
        json.dumps({"student": "ada", "version": 99}),
        json.dumps({"student": "ada", "version": 1, "unexpected": True}),
        json.dumps([1, 2]),
    ],
)
def test_a_worker_result_that_cannot_be_read_is_that_students_crash_record(text):
    result = WorkerResult.from_json(text, "ada")
    assert result.student == "ada" and result.crashed.startswith("the worker's result cannot")


def test_a_worker_result_round_trips():
    written = WorkerResult("ada", usable=["part1"], profile={"autograde": 1.5})
    assert WorkerResult.from_json(json.dumps(asdict(written)), "ada") == written


def test_an_unreadable_record_counts_as_none_and_the_student_is_graded_again(tmp_path):
    records = tmp_path / "records"
    records.mkdir()
    good = StudentRecord("ada", Status.GRADED, score=3)
    (records / "ada.json").write_text(json.dumps(asdict(good)))
    (records / "ben.json").write_text("{broken")
    old = {**asdict(good), "student": "cleo", "version": RECORD_VERSION - 1}
    (records / "cleo.json").write_text(json.dumps(old))
    with pytest.warns(UserWarning, match="graded again"):
        loaded = load_records(GradingFolder(tmp_path))
    assert list(loaded) == ["ada"] and loaded["ada"].status is Status.GRADED


def test_a_flood_of_worker_output_is_cut_in_the_log(tmp_path):
    log = tmp_path / "ada.log"
    write_log(log, b"x" * (MAX_LOG_BYTES + 5000))
    text = log.read_text()
    assert len(text) < MAX_LOG_BYTES + 200 and "5,000 more bytes were dropped" in text


def test_event_details_reach_the_record_without_control_characters():
    event = Event(EventKind.OUTPUT_TRUNCATED, "changed \x1b[2Jx", 3, "t\u202e1")
    record = StudentRecord("ada", Status.GRADED)
    _add_events(record, [NotebookEvents("part1", [event])])
    (line,) = record.problems
    assert line.isprintable() and "\x1b" not in line and "\u202e" not in line


def test_evidence_that_contradicts_itself_holds_the_points_and_a_subclassed_model_is_a_note():
    record = StudentRecord("ada", Status.GRADED)
    events = [
        Event(EventKind.EVIDENCE_INCONSISTENT, "the model does not compute what it says", 4),
        Event(EventKind.STUDENT_PROCESS_ONLY, "checked in the student's process only", 5),
    ]
    _add_events(record, [NotebookEvents("part2", events)])
    assert record.held == record.review == [record.problems[0]]
    assert record.notes == ["part2.ipynb, cell 6: checked in the student's process only"]
