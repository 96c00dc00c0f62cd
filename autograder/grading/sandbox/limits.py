"""What a sandboxed kernel may use, and everything a launch needs to know, as plain data.

:class:`SandboxLimits` are the limits on one student kernel; :class:`SandboxSpec`
adds what the grader sets up around it (the read-only paths, the
environment, the slot's user and CPUs, the zygote). Both travel as JSON from
``coursekit grade`` to each worker.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from utilities.data import CACHE_ENV, OFFLINE_ENV

SANDBOX_UID = 65534  # nobody
# As root, concurrent kernels run as different users from this range, so that
# one kernel's processes never count against another's process limit.
FIRST_SLOT_UID = 62000
WORKDIR = "/home/student/work"  # the kernel's working folder inside the sandbox
_GIB = 1024**3
_MIB = 1024**2

#: HOME inside the sandbox (IPython writes paths under it as "~/...").
SANDBOX_HOME = "/tmp"


@dataclass(frozen=True)
class SandboxLimits:
    """Limits on one student kernel; every one of them is enforced.

    Timeouts are wall-clock seconds, ``cpu_seconds`` is the kernel's total CPU
    time (all threads), and the byte limits apply to the kernel's address
    space, to any single file it writes, and to the outputs the grader keeps
    from one cell.
    """

    cell_timeout: int = 120
    notebook_timeout: int = 900
    cpu_seconds: int = 1200
    memory_bytes: int = 6 * _GIB  # address space: TensorFlow's import alone reserves 1.9 GB
    max_processes: int = 512  # threads count too, and TensorFlow starts many
    max_file_bytes: int = 512 * _MIB
    max_cell_output_bytes: int = 2 * _MIB
    max_notebook_output_bytes: int = 16 * _MIB  # all cells of one notebook together
    scratch_bytes: int = 1 * _GIB  # each of the tmpfs /tmp and working folder
    kernel_folder_bytes: int = 16 * _MIB  # all kernels' socket folders of one worker (as root)
    threads: int = 1  # TensorFlow and BLAS threads per kernel


@dataclass(frozen=True)
class SandboxSpec:
    """Everything a kernel launch needs, as JSON-friendly values."""

    limits: SandboxLimits = field(default_factory=SandboxLimits)
    readonly_paths: tuple[str, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()
    scratch: str = ""  # where kernel folders are made; private to the grader
    events_file: str = ""  # where the executor writes what happened in each notebook
    uid: int = SANDBOX_UID  # as root: the user the kernel runs as; one per concurrent kernel
    cpus: tuple[int, ...] = ()  # the grading slot's CPUs, used where no control group can be made
    # Fork kernels from the slot's zygote (autograder.grading.sandbox.zygote).
    warm_kernels: bool = True
    zygote: str = ""  # the slot's zygote socket, set where the job runs; "" starts plain kernels
    seccomp: bool = True  # the seccomp filter (autograder.grading.sandbox.seccomp)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> SandboxSpec:
        data = json.loads(text)
        return cls(
            limits=SandboxLimits(**data["limits"]),
            readonly_paths=tuple(data["readonly_paths"]),
            environment=tuple(tuple(pair) for pair in data["environment"]),
            scratch=data["scratch"],
            events_file=data["events_file"],
            uid=data["uid"],
            cpus=tuple(data.get("cpus", ())),
            warm_kernels=data.get("warm_kernels", True),
            zygote=data.get("zygote", ""),
            seccomp=data.get("seccomp", True),
        )


def default_spec(
    scratch: Path,
    events_file: Path,
    limits: SandboxLimits,
    cache_dir: Path,
    warm_kernels: bool = True,
) -> SandboxSpec:
    """The spec for grading: Python, the venv, ``utilities`` and the dataset cache, read-only."""
    import utilities

    paths = [
        sys.base_prefix,
        sys.prefix,
        str(Path(utilities.__file__).resolve().parent),
        str(Path(cache_dir).resolve()),
    ]
    threads = str(limits.threads)
    environment = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": SANDBOX_HOME,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "NBGRADER_EXECUTION": "autograde",
        CACHE_ENV: str(Path(cache_dir).resolve()),
        OFFLINE_ENV: "1",
        "TF_CPP_MIN_LOG_LEVEL": "3",  # no C++ log (cuInit and the like) in students' cells
        "TF_NUM_INTRAOP_THREADS": threads,
        "TF_NUM_INTEROP_THREADS": threads,
        "OMP_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
    }
    return SandboxSpec(
        limits=limits,
        readonly_paths=tuple(dict.fromkeys(paths)),
        environment=tuple(environment.items()),
        scratch=str(scratch),
        events_file=str(events_file),
        warm_kernels=warm_kernels,
    )
