"""The bubblewrap command that puts a process in a student sandbox.

:func:`sandbox_command` wraps a command so that it runs with:

- no network (a fresh network namespace with only a down loopback);
- a read-only view of the system, the Python installation, the virtual
  environment, the ``utilities`` package and the verified dataset cache, and
  nothing else of the host: not the course folder, the source notebooks, the
  answer key, the gradebook or other students' files;
- a private, empty ``/tmp`` and a private working folder holding the
  notebook's data files read-only: both are size-limited tmpfs mounts that
  vanish with the kernel, so nothing it writes reaches the host's disk;
- its own PID, IPC and UTS namespaces and a new session; ``/proc`` shows the
  sandbox's own processes, and bubblewrap itself (PID 1 there) is started
  with an environment of one ``PATH``, so nothing of the grader's shows;
- an unprivileged user: the slot's user when the grader runs as root,
  otherwise the grader's own user inside a user namespace with every
  capability dropped and no further user namespaces;
- the seccomp filter of :mod:`autograder.grading.sandbox.seccomp`;
- ``prlimit`` limits on CPU time, address space, processes, file size and core
  dumps; its own control groups where the host allows them
  (:mod:`autograder.grading.sandbox.cgroups`), else its slot's CPUs (``taskset``).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from autograder.grading.sandbox.cgroups import KernelGroup
from autograder.grading.sandbox.limits import SANDBOX_UID, WORKDIR, SandboxLimits, SandboxSpec
from utilities.errors import CourseKitError

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


@functools.cache
def bwrap_supports(option: str) -> bool:
    """Whether the installed bubblewrap knows ``option`` (``--disable-userns`` came in 0.8)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return False
    result = subprocess.run([bwrap, "--help"], capture_output=True, text=True)
    return option in result.stdout + result.stderr


def runs_as_root() -> bool:
    return os.geteuid() == 0


def sandbox_command(
    command: list[str],
    spec: SandboxSpec,
    data_files: list[Path],
    private_dirs: list[Path],
    group: KernelGroup | None = None,
    seccomp_fd: int | None = None,
) -> list[str]:
    """``command`` wrapped in bwrap, setpriv (as root) and prlimit, with ``spec``'s view and limits.

    The working folder is a fresh tmpfs with each of ``data_files`` bound
    read-only into it under its own name; each of ``private_dirs`` (the
    kernel's socket folder) is bound read-write at its own path. The kernel
    joins ``group`` where there is one, else it is pinned to ``spec.cpus``.
    ``seccomp_fd`` is a descriptor holding the seccomp program, which the
    caller must pass on to bubblewrap.
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
        if bwrap_supports("--disable-userns"):
            argv.append("--disable-userns")
    if seccomp_fd is not None:
        argv += ["--seccomp", str(seccomp_fd)]
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
    for entry in data_files:
        argv += ["--ro-bind", str(entry), f"{WORKDIR}/{Path(entry).name}"]
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
        argv = sandbox_command(["true"], SandboxSpec(), [], [])
        result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        return (
            "bubblewrap cannot create a sandbox here "
            f"({result.stderr.strip() or f'exit {result.returncode}'}); "
            "unprivileged user namespaces may be disabled"
        )
    return None
