"""Running student kernels in a bubblewrap sandbox.

Every kernel that executes a student's notebook runs under ``bwrap`` with:

- no network (a fresh network namespace with only a down loopback);
- a read-only view of the system, the Python installation, the virtual
  environment, the ``utilities`` package and the verified dataset cache, and
  nothing else of the host: not the course folder, the source notebooks, the
  answer key, the gradebook or other students' files;
- a private, empty ``/tmp`` and a private working folder holding the
  student's data files read-only: both are size-limited tmpfs mounts that
  vanish with the kernel, so nothing it writes reaches the host's disk;
- its own PID, IPC and UTS namespaces and a new session; ``/proc`` shows the
  sandbox's own processes, and bubblewrap itself (PID 1 there) is started
  with an environment of one ``PATH``, so nothing of the grader's shows;
- an unprivileged user: ``nobody`` when the grader runs as root, otherwise the
  grader's own user inside a user namespace with every capability dropped;
- ``prlimit`` limits on CPU time, address space, processes, file size and core
  dumps;
- its own control groups where the host allows them (:mod:`autograder.grading.sandbox.cgroups`):
  a memory limit that counts the tmpfs files too, and the same CPU weight as
  every other kernel; otherwise its grading slot's own CPUs (``taskset``);
- stdout and stderr into a pipe that the grader reads and caps; no other
  descriptor of the grader is inherited.

The kernel talks to the grader over Unix sockets in a folder of its own, so it
needs no network at all. :class:`SandboxedKernelManager` starts kernels this
way; ``autograder.grading.pipeline.execute.SandboxedExecute`` uses it inside nbgrader.
Where the spec names a zygote, the sandbox is built the same way around a
stub and the kernel is forked into it with TensorFlow already imported
(:mod:`autograder.grading.sandbox.zygote`); otherwise, or if that fails, the kernel
starts from scratch.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

import zmq
from jupyter_client.manager import AsyncKernelManager

from autograder.grading.sandbox.cgroups import KernelGroup, kernel_group
from autograder.grading.sandbox.warm_kernels import (
    STUB,
    ZygoteUnavailable,
    find_stub,
    request_kernel,
    wait_until_ready,
)
from autograder.grading.sandbox.zygote import LaunchRequest
from autograder.settings import Env
from utilities.errors import CourseKitError

SANDBOX_UID = 65534  # nobody
#: The largest message the grader accepts from a kernel (one answer, one output).
MAX_MESSAGE_BYTES = 64 * 1024**2
# As root, concurrent kernels run as different users from this range, so that
# one kernel's processes never count against another's process limit.
FIRST_SLOT_UID = 62000
WORKDIR = "/home/student/work"  # the kernel's working folder inside the sandbox
_GIB = 1024**3
_MIB = 1024**2
# System folders bound read-only; on a merged-/usr system the others are symlinks.
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64")
# The few files from /etc a Python process needs; the rest of /etc stays out.
_ETC_ENTRIES = (
    "alternatives",
    "fonts",
    "group",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "nsswitch.conf",
    "passwd",
    "ssl",
)


class SandboxError(CourseKitError):
    """The sandbox cannot run on this machine."""


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
    warm_kernels: bool = (
        True  # fork kernels from the slot's zygote (autograder.grading.sandbox.zygote)
    )
    zygote: str = ""  # the slot's zygote socket, set where the job runs; "" starts plain kernels

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
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "NBGRADER_EXECUTION": "autograde",
        Env.CACHE_DIR: str(Path(cache_dir).resolve()),
        Env.OFFLINE: "1",
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


def runs_as_root() -> bool:
    return os.geteuid() == 0


def sandbox_command(
    command: list[str],
    spec: SandboxSpec,
    workdir: Path,
    private_dirs: list[Path],
    group: KernelGroup | None = None,
) -> list[str]:
    """``command`` wrapped in bwrap, setpriv (as root) and prlimit, with ``spec``'s view and limits.

    The working folder is a fresh tmpfs with each entry of ``workdir`` (the
    data files) bound read-only into it; each of ``private_dirs`` (the
    kernel's socket folder) is bound read-write at its own path. The kernel
    joins ``group`` where there is one, else it is pinned to ``spec.cpus``.
    """
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxError("bubblewrap (bwrap) is not installed: apt-get install bubblewrap")
    argv = [
        bwrap,
        "--unshare-net",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname",
        "sandbox",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--perms",
        "1777",
        "--size",
        str(64 * _MIB),
        "--tmpfs",
        "/dev/shm",  # POSIX semaphores (joblib, multiprocessing) need it
        "--perms",
        "1777",
        "--size",
        str(spec.limits.scratch_bytes),
        "--tmpfs",
        "/tmp",
    ]
    if not runs_as_root():
        argv += ["--unshare-user", "--cap-drop", "ALL"]
    for path in _SYSTEM_DIRS:
        if os.path.islink(path):
            argv += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            argv += ["--ro-bind", path, path]
    argv += ["--perms", "0755", "--dir", "/etc"]
    for entry in _ETC_ENTRIES:
        if os.path.lexists(f"/etc/{entry}"):
            argv += ["--ro-bind", f"/etc/{entry}", f"/etc/{entry}"]
    made: set[str] = {"/", "/tmp", "/usr", "/etc"}
    for path in spec.readonly_paths:
        if not path.startswith("/usr/"):  # /usr is bound already
            argv += [*_parents(path, made), "--ro-bind", path, path]
    for path in map(str, private_dirs):
        argv += [*_parents(path, made), "--bind", path, path]
    argv += [*_parents(WORKDIR, made), "--perms", "1777", "--size", str(spec.limits.scratch_bytes)]
    argv += ["--tmpfs", WORKDIR]
    for entry in sorted(Path(workdir).iterdir()):
        if not entry.is_symlink():
            argv += ["--ro-bind", str(entry), f"{WORKDIR}/{entry.name}"]
    argv += ["--chdir", WORKDIR]
    for name, value in spec.environment:
        argv += ["--setenv", name, value]
    argv.append("--")
    if runs_as_root():
        argv += [
            "setpriv",
            f"--reuid={spec.uid}",
            f"--regid={spec.uid}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
        ]
    limits = spec.limits
    argv += [
        "prlimit",
        f"--cpu={limits.cpu_seconds}",
        f"--as={limits.memory_bytes}",
        f"--nproc={process_limit(limits)}",
        f"--fsize={limits.max_file_bytes}",
        "--core=0",
        "--",
    ]
    argv += list(command)
    if group is not None:
        return group.command(argv)
    if spec.cpus:
        return ["taskset", "--cpu-list", ",".join(map(str, spec.cpus)), *argv]
    return argv


def _parents(path: str, made: set[str]) -> list[str]:
    """bwrap options that create ``path``'s missing parent folders with mode 0755."""
    options = []
    for parent in reversed(Path(path).parents):
        name = str(parent)
        if name not in made:
            options += ["--perms", "0755", "--dir", name]
            made.add(name)
    return options


def process_limit(limits: SandboxLimits) -> int:
    """RLIMIT_NPROC for a kernel: its allowance plus, outside root, the running processes."""
    return limits.max_processes + _processes_of_this_user()


def _processes_of_this_user() -> int:
    """Outside root, RLIMIT_NPROC counts every process of the user, so add the ones running now."""
    if runs_as_root():
        return 0
    uid = os.getuid()
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                count += entry.stat().st_uid == uid
            except OSError:
                continue
    return count


def give_to_sandbox_user(*paths: Path, uid: int = SANDBOX_UID) -> None:
    """As root, hand ``paths`` (recursively) to the sandbox user so that the kernel can write."""
    if not runs_as_root():
        return
    for path in paths:
        os.chown(path, uid, uid)
        if path.is_dir():
            for inner in path.rglob("*"):
                os.chown(inner, uid, uid, follow_symlinks=False)


def sandbox_problem() -> str | None:
    """Why student kernels cannot be sandboxed here, or None when they can."""
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed; install it with: apt-get install bubblewrap"
    if runs_as_root() and shutil.which("setpriv") is None:
        return "setpriv (util-linux) is not installed"
    if shutil.which("prlimit") is None:
        return "prlimit (util-linux) is not installed"
    with tempfile.TemporaryDirectory(prefix="coursekit-probe-") as folder:
        work = Path(folder)
        give_to_sandbox_user(work)
        argv = sandbox_command(["true"], SandboxSpec(), work, [])
        result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        return (
            "bubblewrap cannot create a sandbox here "
            f"({result.stderr.strip() or f'exit {result.returncode}'}); "
            "unprivileged user namespaces may be disabled"
        )
    return None


# A Unix socket's path holds at most 107 bytes on Linux; the kernel's are SOCK/k-NN.
_MAX_SOCKET_PATH = 107
_SOCKET_TAIL = len("/k-XXXXXXXX/sock/k-99")


def kernel_folder(scratch: str) -> Path:
    """A new private folder for one kernel's sockets and files, under ``scratch`` when it fits.

    A deep scratch folder (a long TMPDIR, a cluster's shared file system)
    would make the kernel's socket paths too long to bind, so the folder is
    then made in the system's short temporary folder instead, still mode 0700.
    """
    if scratch and len(str(Path(scratch).resolve())) + _SOCKET_TAIL > _MAX_SOCKET_PATH:
        scratch = "/tmp" if os.path.isdir("/tmp") else ""
    return Path(tempfile.mkdtemp(prefix="k-", dir=scratch or None))


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel inside the sandbox described by ``spec``.

    The kernel's working folder is a fresh copy of the data files next to the
    notebook (never the notebooks themselves: the sanitized copy nbgrader has
    just written there contains the hidden tests).
    """

    def __init__(self, *, spec: SandboxSpec, **kwargs):
        self.kernel_folder = kernel_folder(spec.scratch)
        kwargs.setdefault("transport", "ipc")
        kwargs.setdefault("ip", str(self.kernel_folder / "sock" / "k"))
        kwargs.setdefault("connection_file", str(self.kernel_folder / "sock" / "kernel.json"))
        super().__init__(**kwargs)
        # A message bigger than this ends the connection instead of filling the grader's memory.
        self.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        self.spec = spec
        self.output = KernelOutput()
        self.group: KernelGroup | None = None
        self.warm_pid: int | None = None  # the kernel's host PID when a zygote forked it
        (self.kernel_folder / "sock").mkdir()

    @property
    def kernel_spec(self):
        spec = super().kernel_spec
        if spec is not None:
            # SIGINT to bwrap does not reach the kernel; ask the kernel itself to interrupt.
            spec.interrupt_mode = "message"
        return spec

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kwargs):
        workdir = self.kernel_folder / "work"
        _copy_data_files(Path(kwargs.get("cwd") or "."), workdir)
        for path in [workdir, *workdir.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)  # read-only, readable by the kernel
        sockets = self.kernel_folder / "sock"
        give_to_sandbox_user(sockets, uid=self.spec.uid)
        kwargs["cwd"] = str(self.kernel_folder)
        kwargs["env"] = {"PATH": "/usr/bin:/bin"}  # what /proc/1/environ shows in the sandbox
        kwargs["stdout"] = kwargs["stderr"] = self.output.start()
        limits = self.spec.limits
        self.group = kernel_group(limits.memory_bytes + 2 * limits.scratch_bytes)
        try:
            if self.spec.zygote and _is_ipykernel(kernel_cmd):
                try:
                    return await self._launch_warm(kernel_cmd, workdir, sockets, kwargs)
                except ZygoteUnavailable as why:
                    note = f"[coursekit] no warm kernel ({why}); starting a plain one\n"
                    os.write(self.output.write_end, note.encode())
            command = sandbox_command(kernel_cmd, self.spec, workdir, [sockets], self.group)
            return await super()._async_launch_kernel(command, **kwargs)
        finally:
            self.output.started()

    async def _launch_warm(self, kernel_cmd, workdir: Path, sockets: Path, kwargs: dict):
        """Start the sandbox with a stub, then have the slot's zygote fork the kernel into it.

        See :mod:`autograder.grading.sandbox.zygote`. The stub reads a pipe whose
        only writer, once this returns, is the kernel.
        """
        await asyncio.to_thread(wait_until_ready, self.spec.zygote)
        stub_command = sandbox_command([STUB], self.spec, workdir, [sockets], self.group)
        read_end, write_end = os.pipe()
        try:
            try:
                await super()._async_launch_kernel(stub_command, **{**kwargs, "stdin": read_end})
            finally:
                os.close(read_end)
            sandbox = self.provisioner.process
            stub = None
            try:
                stub = await asyncio.to_thread(find_stub, sandbox.pid)
                limits = self.spec.limits
                request = LaunchRequest(
                    stub_pid=stub.pid,
                    arguments=tuple(kernel_cmd[3:]),
                    workdir=WORKDIR,
                    uid=self.spec.uid,
                    cpu_seconds=limits.cpu_seconds,
                    memory_bytes=limits.memory_bytes,
                    max_processes=process_limit(limits),
                    max_file_bytes=limits.max_file_bytes,
                    cgroup_procs=tuple(str(p / "cgroup.procs") for p in self.group.paths)
                    if self.group is not None
                    else (),
                    cpus=self.spec.cpus if self.group is None else (),
                )
                self.warm_pid = await asyncio.to_thread(
                    request_kernel, self.spec.zygote, request, stub
                )
            except ZygoteUnavailable:
                sandbox.kill()
                sandbox.wait()
                raise
            finally:
                if stub is not None:
                    stub.close()
        finally:
            os.close(write_end)

    async def _async_shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        try:
            await super()._async_shutdown_kernel(now=now, restart=restart)
        finally:
            if not restart:
                self.output.close()
                if self.group is not None:
                    self.group.remove()
                shutil.rmtree(self.kernel_folder, ignore_errors=True)

    shutdown_kernel = _async_shutdown_kernel


class KernelOutput:
    """The kernel's stdout and stderr: a pipe the grader drains, keeping the first bytes only."""

    limit = 64 * 1024

    def __init__(self):
        self.kept = bytearray()
        self.dropped = 0
        self._read_end: int | None = None
        self._write_end: int | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> int:
        """The write end to hand to the kernel."""
        self._read_end, self._write_end = os.pipe()
        self._thread = threading.Thread(target=self._drain, daemon=True, name="kernel-output")
        self._thread.start()
        return self._write_end

    @property
    def write_end(self) -> int:
        """The write end while the kernel is being started."""
        assert self._write_end is not None
        return self._write_end

    def started(self) -> None:
        """Close the grader's copy of the write end once the kernel holds its own."""
        if self._write_end is not None:
            os.close(self._write_end)
            self._write_end = None

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self._read_end, 65536)
            except OSError:
                return
            if not chunk:
                break
            room = self.limit - len(self.kept)
            self.kept += chunk[: max(room, 0)]
            self.dropped += max(len(chunk) - max(room, 0), 0)
        os.close(self._read_end)

    def close(self) -> None:
        self.started()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def text(self) -> str:
        note = f"\n[coursekit] {self.dropped:,} more bytes were dropped\n" if self.dropped else ""
        return self.kept.decode("utf-8", errors="replace") + note


def _is_ipykernel(kernel_cmd: list[str]) -> bool:
    """Whether ``kernel_cmd`` is ``python -m ipykernel_launcher -f FILE [--Option=value]``."""
    return (
        kernel_cmd[:4] == [sys.executable, "-m", "ipykernel_launcher", "-f"]
        and len(kernel_cmd) >= 5
        and all(argument.startswith("--") for argument in kernel_cmd[5:])
    )


def _copy_data_files(source: Path, destination: Path) -> None:
    """Copy the files next to a notebook, except notebooks and checkpoints, to ``destination``."""
    destination.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.suffix == ".ipynb" or ".ipynb_checkpoints" in relative.parts or path.is_symlink():
            continue
        target = destination / relative
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
