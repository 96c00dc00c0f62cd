"""`coursekit grade --scheduler`: a real Dask scheduler and two workers on 127.0.0.1.

Two students of the demo class are graded on the cluster while one of the
two workers is killed in the middle of a job. Every student must still get
the record the demo class expects: the scheduler hands the dead worker's job
to the other worker, which starts it again from a clean scratch folder.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from autograder.demo.democlass import make_demo_class
from autograder.grading.pipeline.grade import GradeRun, grade_class
from autograder.grading.pipeline.runner import DaskRunner, RunnerError
from autograder.grading.sandbox import SandboxLimits
from autograder.layout import CourseLayout
from autograder.settings import GradingOptions
from conftest import released_course
from utilities.data import default_cache_dir, fetch_dataset

pytestmark = pytest.mark.slow

STUDENTS = ("dara", "uma")  # a full hand-in, and one with a notebook missing


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _dask(*arguments: str, folder: Path) -> subprocess.Popen:
    command = [str(Path(sys.executable).parent / "dask"), *arguments]
    return subprocess.Popen(
        command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two one-thread workers (no nanny: a killed worker stays dead)."""
    folder = tmp_path_factory.mktemp("dask")
    address = f"tcp://127.0.0.1:{_free_port()}"
    port = address.rsplit(":", 1)[1]
    scheduler = _dask(
        "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard", folder=folder
    )
    workers = [
        _dask(
            "worker",
            address,
            "--nthreads",
            "1",
            "--no-nanny",
            "--no-dashboard",
            "--name",
            f"w{index}",
            "--local-directory",
            str(folder / f"w{index}"),
            folder=folder,
        )
        for index in range(2)
    ]
    yield address, workers
    for process in [*workers, scheduler]:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def class_on_disk(course_build, tmp_path_factory):
    course = released_course(tmp_path_factory.mktemp("dask-course"))
    demo = tmp_path_factory.mktemp("dask-demo")
    make_demo_class(course, course_build.answer_key, demo)
    submitted = demo / "submitted"
    for folder in submitted.iterdir():
        if folder.name not in STUDENTS:
            shutil.rmtree(folder)
    expected = json.loads((demo / "expected.json").read_text())
    return course, submitted, expected


def test_a_class_graded_on_a_dask_cluster_survives_a_killed_worker(
    cluster, class_on_disk, course_build, tmp_path, monkeypatch
):
    address, workers = cluster
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the grader's scratch folder
    course, submitted, expected = class_on_disk
    fetch_dataset("mnist", cache_dir=default_cache_dir())
    run = GradeRun(
        assignment="cnn",
        submissions=submitted,
        layout=CourseLayout.at(course),
        dataset_file=course_build.student_file,
        cache_dir=default_cache_dir(),
        options=GradingOptions(
            limits=SandboxLimits(cell_timeout=60, notebook_timeout=600),
            progress=False,
            scheduler=address,
        ),
    )
    killed = threading.Event()

    def kill_a_worker_once_jobs_run():
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not killed.is_set():
            # The workers have started nbgrader for a student once its scratch course exists.
            if any(tmp_path.glob("coursekit-grade-*/students/*/course/submitted")):
                time.sleep(3)  # well inside the job: its kernel is running
                workers[0].send_signal(signal.SIGKILL)
                killed.set()
                return
            time.sleep(0.5)

    killer = threading.Thread(target=kill_a_worker_once_jobs_run, daemon=True)
    killer.start()
    report = grade_class(run)
    killer.join()

    assert killed.is_set(), "no job started on the cluster"
    assert workers[0].wait(timeout=5) == -signal.SIGKILL
    assert address in report.where
    records = {record.student: record for record in report.records}
    assert sorted(records) == sorted(STUDENTS)
    for student in STUDENTS:
        record, wanted = records[student], expected[student]
        assert record.status == wanted["status"], (student, record.reason, record.problems)
        failed = sorted(name for nb in record.notebooks.values() for name in nb["tests_failed"])
        assert failed == sorted(wanted["failed"]), student
    assert records["dara"].autograded_score == 23


def test_a_scheduler_that_cannot_be_reached_is_a_clear_error():
    with pytest.raises(RunnerError, match="cannot reach the Dask scheduler"):
        DaskRunner(f"tcp://127.0.0.1:{_free_port()}", timeout=2)
