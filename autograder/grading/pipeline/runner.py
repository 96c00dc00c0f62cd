"""Where grading workers run: a local process pool, or a Dask cluster.

Every student is one *job* (:class:`autograder.grading.pipeline.worker.Job`, a JSON
file). :func:`run_job` runs it the same way everywhere: one
``python -m autograder.grading.pipeline.worker`` process, whose kernels are sandboxed,
with a time budget and its output capped. It returns a :class:`JobOutcome`;
only the instructor's process turns outcomes into records and gradebook
rows (``autograder.grading.pipeline.grade``), so the merge stays atomic wherever jobs ran.

- :class:`LocalRunner` runs N jobs at a time on this machine, each in its
  own grading slot (a sandbox user and, without control groups, its CPUs).
- :class:`DaskRunner` submits each job to a Dask ``distributed`` scheduler
  (``coursekit grade --scheduler ADDRESS``). A worker that dies mid-job
  loses nothing: the scheduler gives the job to another worker, which
  starts it again from a clean scratch folder; a job whose workers keep
  dying comes back as a crash, and the student's record says so. Workers
  must see the grading folder at the same path (a shared file system, as
  on a Slurm cluster); see the README's "Grading on a cluster".
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import as_completed as local_completed
from dataclasses import dataclass, replace
from pathlib import Path

from autograder.grading.pipeline.records import Job, WorkerResult
from autograder.grading.pipeline.worker import PARENT_PID_ENV
from autograder.grading.sandbox import FIRST_SLOT_UID, SandboxSpec
from autograder.grading.sandbox.cgroups import slot_cpus
from autograder.grading.sandbox.warm_kernels import stop_zygotes, zygote_for
from autograder.settings import Env
from utilities.errors import CourseKitError

MAX_OUTPUT_BYTES = 1024**2  # of one worker's own output (kernel output is capped inside it)
_SLOTS_ON_A_DASK_HOST = 256  # sandbox users are FIRST_SLOT_UID + 0..255 there


class RunnerError(CourseKitError):
    """Grading cannot start where it was asked to run."""


@dataclass(frozen=True)
class JobOutcome:
    """What one worker process left: its result (or why there is none) and its output."""

    student: str
    result: WorkerResult
    output: bytes = b""
    host: str = ""


def run_job(job_file: str, budget: float, slot: int | None = None, slots: int = 1) -> JobOutcome:
    """Grade one student in a worker process; never raises for anything the student did.

    ``slot`` picks the sandbox user and CPUs (local pool); on a Dask worker it
    is None and the slot comes from the worker's own identity. A rerun of the
    same job (after its first worker died) starts from a clean scratch folder.
    """
    job = Job(**json.loads(Path(job_file).read_text()))
    _assign_slot(Path(job.sandbox_spec), slot, slots)
    shutil.rmtree(Path(job.scratch) / "course", ignore_errors=True)
    Path(job.result_file).unlink(missing_ok=True)
    environment = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        PARENT_PID_ENV: str(os.getpid()),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "autograder.grading.pipeline.worker", job_file],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=environment,
        start_new_session=True,  # the worker sets its own parent-death signal (no preexec_fn)
    )
    _RUNNING.add(process)
    output = bytearray()
    reader = threading.Thread(target=_drain, args=(process.stdout, output), daemon=True)
    reader.start()
    try:
        process.wait(timeout=budget)
    except subprocess.TimeoutExpired:
        _kill(process)
        crashed = f"grading took over {budget:.0f} s"
    else:
        crashed = ""
    finally:
        _RUNNING.discard(process)
    reader.join(timeout=10)
    host = os.uname().nodename
    if crashed:
        result = WorkerResult(job.student, crashed=crashed)
    elif not Path(job.result_file).exists():
        result = WorkerResult(
            job.student, crashed=f"the grading process stopped (exit {process.returncode})"
        )
    else:
        result = WorkerResult.from_json(Path(job.result_file).read_text(), job.student)
    return JobOutcome(job.student, result, bytes(output), host)


def _drain(stream, output: bytearray) -> None:
    """Read a worker's output to the end, keeping the first MAX_OUTPUT_BYTES."""
    dropped = 0
    for chunk in iter(lambda: stream.read(65536), b""):
        room = MAX_OUTPUT_BYTES - len(output)
        output += chunk[: max(room, 0)]
        dropped += max(len(chunk) - max(room, 0), 0)
    if dropped:
        output += f"\n[coursekit] {dropped:,} more bytes were dropped\n".encode()


def _assign_slot(spec_file: Path, slot: int | None, slots: int) -> None:
    spec = SandboxSpec.from_json(spec_file.read_text())
    if slot is None:  # on a Dask worker: a slot of its own, no CPU pinning
        worker = _dask_worker_address() or str(os.getpid())
        slot = int(hashlib.sha256(worker.encode()).hexdigest(), 16) % _SLOTS_ON_A_DASK_HOST
        cpus: tuple[int, ...] = ()
    else:
        cpus = slot_cpus(slot, slots)
    zygote = zygote_for(f"slot-{slot}", spec.environment) if spec.warm_kernels else ""
    spec_file.write_text(
        replace(spec, uid=FIRST_SLOT_UID + slot, cpus=cpus, zygote=zygote).to_json()
    )


def _dask_worker_address() -> str:
    with contextlib.suppress(ImportError, ValueError):
        from distributed import get_worker

        return get_worker().address
    return ""


_RUNNING: set[subprocess.Popen] = set()


def _kill(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def stop_local_jobs() -> None:
    """Kill every worker process this process started (on Ctrl-C or an error)."""
    for process in list(_RUNNING):
        _kill(process)


class LocalRunner:
    """``workers`` jobs at a time on this machine, each in a slot of its own."""

    def __init__(self, workers: int):
        self.workers = max(1, workers)
        self._slots: queue.Queue[int] = queue.Queue()
        for slot in range(self.workers):
            self._slots.put(slot)
        self._pool = ThreadPoolExecutor(max_workers=self.workers)
        self.where = f"with {self.workers} workers"

    def submit(self, job_file: Path, budget: float) -> Future:
        return self._pool.submit(self._run, str(job_file), budget)

    def _run(self, job_file: str, budget: float) -> JobOutcome:
        slot = self._slots.get()
        try:
            return run_job(job_file, budget, slot, self.workers)
        finally:
            self._slots.put(slot)

    def as_completed(self, futures) -> Iterator[Future]:
        return local_completed(futures)

    def close(self, cancel: bool = False) -> None:
        if cancel:
            self._pool.shutdown(wait=False, cancel_futures=True)
            stop_local_jobs()
        self._pool.shutdown(wait=True)
        stop_zygotes()


class DaskRunner:
    """Jobs on a Dask ``distributed`` cluster; see the module docstring."""

    def __init__(self, address: str, timeout: float = 30):
        try:
            from distributed import Client
        except ImportError as error:  # the instructor extra brings it
            raise RunnerError(
                "grading on a Dask cluster needs `distributed`: pip install 'coursekit[instructor]'"
            ) from error
        try:
            self.client = Client(address, timeout=timeout)
        except (OSError, TimeoutError) as error:
            raise RunnerError(
                f"cannot reach the Dask scheduler at {address} ({error}); start one with "
                "`dask scheduler` and workers with `dask worker ADDRESS --nthreads 1`"
            ) from error
        try:
            self.client.wait_for_workers(1, timeout=timeout)
        except (OSError, TimeoutError) as error:
            self.client.close()
            raise RunnerError(
                f"the Dask scheduler at {address} has no workers; start them with "
                f"`dask worker {address} --nthreads 1`"
            ) from error
        threads = sum(self.client.nthreads().values())
        self.where = f"on the Dask cluster at {address} ({threads} worker threads)"

    def submit(self, job_file: Path, budget: float):
        # pure=False: a regrade is a new task, never a cached result.
        return self.client.submit(run_job, str(job_file), budget, pure=False)

    def as_completed(self, futures) -> Iterator:
        from distributed import as_completed

        return iter(as_completed(list(futures)))

    def close(self, cancel: bool = False) -> None:
        self.client.close()


def open_runner(workers: int, scheduler: str | None):
    """A Dask runner when a scheduler address is given (or in the environment), else a local one."""
    address = scheduler or os.environ.get(Env.DASK_SCHEDULER, "")
    return DaskRunner(address) if address else LocalRunner(workers)
