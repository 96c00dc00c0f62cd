"""The `coursekit` command: help that reads well, one-line errors, and the documented exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from utilities import make_submission

pytestmark = pytest.mark.integration  # kernels, sandboxes or processes

COURSEKIT = str(Path(sys.executable).parent / "coursekit")


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([COURSEKIT, *args], capture_output=True, text=True, check=False, **kwargs)


def _one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("coursekit: error: ")
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "code", "expected"),
    [
        ([], 2, ["data", "submission"]),
        (["--help"], 0, ["data", "submission", "coursekit COMMAND --help"]),
        (["data"], 2, ["fetch", "build"]),
        (["data", "--help"], 0, ["fetch", "build"]),
        (
            ["data", "fetch", "--help"],
            0,
            ["--mirror", "--cache-dir", "--offline", "COURSEKIT_DATA_MIRROR"],
        ),
        (["data", "build", "--help"], 0, ["--seed", "--out", "--force", "59,500"]),
        (["submission", "check", "--help"], 0, ["--dataset", "--rows", "ID,Prediction"]),
        (
            ["grade", "--help"],
            0,
            ["--submissions", "--workers", "--force", "--db", "--cell-timeout", "sandbox"],
        ),
        (["leaderboard", "--help"], 0, ["--daily-limit", "--deadline", "BEAT ME", "private"]),
        (["demo-class", "--help"], 0, ["--out", "expected.json"]),
    ],
)
def test_help_describes_every_command(args, code, expected):
    result = run(*args)
    assert result.returncode == code
    assert result.stdout.startswith("usage: coursekit")
    for text in expected:
        assert text in result.stdout


def test_version():
    result = run("--version")
    assert result.returncode == 0 and result.stdout.startswith("coursekit 0.")


@pytest.mark.parametrize(
    "args",
    [
        ["frobnicate"],
        ["data", "fetch", "--dataset", "cifar"],
        ["submission", "check"],
        ["submission", "check", "f.csv", "--rows", "0"],
        ["grade", "cnn"],
        ["grade", "cnn", "--submissions", "x", "--workers", "0"],
        ["leaderboard", "cnn", "--daily-limit", "0"],
        ["leaderboard", "cnn", "--deadline", "next friday"],
    ],
)
def test_bad_usage_exits_2(args):
    result = run(*args)
    assert result.returncode == 2
    assert "usage: coursekit" in result.stderr


def test_data_fetch_verifies_both_datasets_into_the_cache(mirror_dir, tmp_path):
    result = run(
        "data", "fetch", "--mirror", str(mirror_dir), "--cache-dir", str(tmp_path), "--offline"
    )
    assert result.returncode == 0, result.stderr
    assert "mnist: 4 files verified" in result.stdout
    assert "fashion-mnist: 4 files verified" in result.stdout
    assert len(list((tmp_path / "fashion-mnist").glob("*.gz"))) == 4


def _fetch_mnist_offline(mirrors: str, cache) -> subprocess.CompletedProcess:
    return run(
        "data", "fetch", "--dataset", "mnist", "--mirror", mirrors,
        "--cache-dir", str(cache), "--offline",
    )  # fmt: skip


def test_data_fetch_without_a_good_source_fails_in_one_line(tmp_path):
    line = _one_line_error(_fetch_mnist_offline(str(tmp_path / "nowhere"), tmp_path / "cache"))
    assert "could not fetch train-images-idx3-ubyte.gz" in line and "not found in mirror" in line


def test_data_build_writes_then_reports_unchanged_then_protects_the_key(mirror_dir, tmp_path):
    out = str(tmp_path / "course")
    first = run("data", "build", "--out", out)
    assert first.returncode == 0, first.stderr
    assert "Course dataset written" in first.stdout and "59,500 train" in first.stdout
    assert "never hand this out" in first.stdout
    second = run("data", "build", "--out", out)
    assert "unchanged" in second.stdout
    line = _one_line_error(run("data", "build", "--out", out, "--seed", "5"))
    assert "already exists and differs" in line and "--force" in line


def test_submission_check_accepts_a_valid_file(tmp_path):
    path = make_submission([0] * 10_500, tmp_path / "submission.csv")
    result = run("submission", "check", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{path}: valid submission with 10,500 rows"


def test_submission_check_takes_the_row_count_from_the_course_file(course_build, tmp_path):
    path = make_submission([0] * 10_500, tmp_path / "submission.csv")
    result = run("submission", "check", str(path), "--dataset", str(course_build.student_file))
    assert result.returncode == 0, result.stderr


def test_submission_check_rejects_with_a_one_line_reason(tmp_path):
    path = make_submission([0] * 5, tmp_path / "submission.csv")
    line = _one_line_error(run("submission", "check", str(path)))
    assert "has 5 rows, expected 10,500" in line
    assert run("submission", "check", str(path), "--rows", "5").returncode == 0


def test_submission_check_with_a_bad_dataset_file_fails_in_one_line(tmp_path):
    path = make_submission([0] * 5, tmp_path / "submission.csv")
    line = _one_line_error(
        run("submission", "check", str(path), "--dataset", str(tmp_path / "x.h5"))
    )
    assert "x.h5: file not found" in line


def test_submission_check_of_a_missing_file(tmp_path):
    line = _one_line_error(run("submission", "check", str(tmp_path / "gone.csv")))
    assert "gone.csv: file not found" in line


def test_rows_must_be_a_positive_integer():
    result = run("submission", "check", "f.csv", "--rows", "abc")
    assert result.returncode == 2
    assert "expected a positive integer, got 'abc'" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seed", "-1"], "seed must be between 0 and 2**32 - 1, got -1"),
        (["--seed", "99999999999"], "seed must be between 0 and 2**32 - 1"),
        (["--public-fraction", "0.0001"], "cannot split 70,000 images"),
        (["--public-fraction", "1.5"], "public fraction must be between 0 and 1"),
    ],
)
def test_bad_build_settings_fail_in_one_line(mirror_dir, tmp_path, args, message):
    line = _one_line_error(run("data", "build", "--out", str(tmp_path), *args))
    assert message in line


def test_several_failing_sources_still_give_exactly_one_line(tmp_path):
    mirrors = f"{tmp_path / 'a'},{tmp_path / 'b'},http://127.0.0.1:9/"
    line = _one_line_error(_fetch_mnist_offline(mirrors, tmp_path / "cache"))
    assert line.count("train-images-idx3-ubyte.gz not found in mirror") == 2
    assert "127.0.0.1:9/mnist/train-images-idx3-ubyte.gz: cannot connect" in line


def test_grade_with_a_missing_submissions_folder_fails_in_one_line(course_build, tmp_path):
    result = run(
        "grade",
        "cnn",
        "--submissions",
        str(tmp_path / "nothing"),
        "--course-data",
        str(course_build.student_file.parents[1]),
        "--no-progress",
    )
    assert _one_line_error(result).endswith(f"{tmp_path / 'nothing'}: no such file or folder")


def test_leaderboard_without_an_answer_key_fails_in_one_line(tmp_path):
    result = run("leaderboard", "cnn", "--course-data", str(tmp_path))
    assert _one_line_error(result).endswith("answer key not found; run `coursekit data build`")


def test_instructor_commands_keep_tensorflows_start_up_log_out_unless_debugging():
    script = (
        "from autograder.quiet import quiet_tensorflow\n"
        "quiet_tensorflow()\n"
        "import tensorflow as tf\n"
        "print(int(tf.constant(2) + 1))"
    )
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    quiet = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=environment
    )
    assert quiet.stdout.strip() == "3" and quiet.stderr == ""
    loud = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**environment, "COURSEKIT_DEBUG": "1"},
    )
    assert "absl::InitializeLog" in loud.stderr  # what the quiet run kept out
