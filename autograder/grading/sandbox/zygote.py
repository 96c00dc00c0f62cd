"""Pre-warmed student kernels: import TensorFlow once, fork a fresh sandboxed kernel per notebook.

A student's kernel spends about 9 s of CPU importing TensorFlow and Keras
before the first test can run. The *zygote* is a process per grading slot
that makes those imports once, before any student code is known, and then
forks one child per notebook. The child joins the namespaces of a fresh
bubblewrap sandbox made for that notebook alone, so every kernel still gets:

- a new process, forked from the zygote, which never runs student code and
  which no kernel can reach (it lives outside every sandbox's PID namespace
  and is reachable only through a socket in the grader's private folder);
- the sandbox's own mount, PID, network, IPC, UTS (and cgroup) namespaces,
  made by bubblewrap exactly as for a plain kernel
  (:func:`autograder.grading.sandbox.bwrap.sandbox_command`, with a ``cat`` stub as
  its command); the child joins them with ``setns`` and ``chroot``s into the
  sandbox's root. The grader hands the stub over as a pidfd, never as a bare
  PID (:func:`open_stub`), so a kernel cannot join a process that took over
  the stub's PID;
- the sandbox user (as root: the slot's user, with every capability dropped
  from the bounding, inheritable, permitted and ambient sets; otherwise the
  grader's user inside the sandbox's user namespace, with every capability
  dropped), ``no_new_privs``, and the same resource limits as ``prlimit`` sets;
- the kernel's control groups (or its slot's CPUs), a new session, the
  sandbox's environment, and only its standard streams: every other
  descriptor of the zygote is closed before the kernel starts.

The stub's standard input is a pipe whose only writer is the kernel: when
the kernel exits, the stub sees the end of the pipe and exits, and so does
the sandbox (bubblewrap, PID 1 there, takes every process of the namespace
with it). Killing bubblewrap, as Jupyter does to a stuck kernel, kills the
kernel the same way.

Run as ``python -m autograder.grading.sandbox.zygote SOCKET``: it imports
:data:`PRELOADED`, then serves one :class:`LaunchRequest` per connection on
the Unix socket ``SOCKET``, which it creates only once it is ready. A failed
start writes ``SOCKET.failed`` with the reason, so that kernels fall back to
plain sandboxed ones at once.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import resource
import select
import signal
import socket
import sys
import traceback
import warnings
from dataclasses import asdict, dataclass

from autograder.grading.sandbox import seccomp

# What every student kernel imports before its first test (the notebooks' setup
# imports, ``from utilities import *`` and the checks): TensorFlow and Keras
# are most of the 9 s, seaborn, scikit-learn and the rest of utilities 3 s more.
PRELOADED = (
    "numpy",
    "h5py",
    "tensorflow",
    "keras",
    "sklearn.metrics",
    "sklearn.model_selection",
    "seaborn",
    "utilities",
    "utilities.checks",
    "ipykernel.kernelapp",
)
# Matplotlib reads its backend when it is imported: the one ipykernel would
# choose, so that figures still show inline (ipykernel keeps a value already set).
MATPLOTLIB_BACKEND = "module://matplotlib_inline.backend_inline"
CLONE_NEWUSER = 0x10000000
# Joined in this order, between the two user namespaces (see _join); the PID
# namespace takes effect at the next fork, and the mount namespace comes last.
NAMESPACES = (
    ("ipc", 0x08000000),
    ("uts", 0x04000000),
    ("net", 0x40000000),
    ("cgroup", 0x02000000),
    ("pid", 0x20000000),
    ("mnt", 0x00020000),
)
_NS_GET_USERNS = 0xB701  # ioctl: the user namespace that owns a namespace
_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_PR_CAPBSET_DROP = 24
_PR_SET_NO_NEW_PRIVS = 38
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_CAPABILITY_VERSION_3 = 0x20080522
_SANDBOX_HOME = "/tmp"  # the kernels' HOME; see serve()


@dataclass(frozen=True)
class LaunchRequest:
    """One kernel to start inside the sandbox whose stub has host PID ``stub_pid``."""

    stub_pid: int
    arguments: tuple[str, ...]  # ipykernel's: -f CONNECTION_FILE, then --Option=value ones
    workdir: str
    uid: int  # the sandbox user, as root; ignored otherwise (the user namespace decides)
    cpu_seconds: int
    memory_bytes: int
    max_processes: int
    max_file_bytes: int
    cgroup_procs: tuple[str, ...] = ()  # cgroup.procs files the kernel joins
    cpus: tuple[int, ...] = ()  # the slot's CPUs where there are no control groups
    seccomp: bool = True  # load the seccomp filter (autograder.grading.sandbox.seccomp)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> LaunchRequest:
        data = json.loads(text)
        data["arguments"] = tuple(data["arguments"])
        data["cgroup_procs"] = tuple(data.get("cgroup_procs", ()))
        data["cpus"] = tuple(data.get("cpus", ()))
        return cls(**data)


@dataclass(frozen=True)
class LaunchReply:
    """The kernel's host PID, or why it could not start."""

    pid: int = 0
    error: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> LaunchReply:
        return cls(**json.loads(text))


_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def _prctl(option: int, *arguments: int) -> None:
    values = [ctypes.c_ulong(value) for value in arguments]
    values += [ctypes.c_ulong(0)] * (4 - len(values))
    _check(_libc.prctl(option, *values), f"prctl({option})")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _clear_capabilities() -> None:
    """Empty the effective, permitted and inheritable sets of this thread."""
    header = _CapHeader(_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")


def _drop_bounding_set() -> None:
    with open("/proc/sys/kernel/cap_last_cap") as stream:
        last = int(stream.read())
    for capability in range(last + 1):
        _prctl(_PR_CAPBSET_DROP, capability)


def _namespaces_to_join(stub: int) -> list[tuple[int, int, str]]:
    """Open descriptors of the stub's namespaces that differ from ours, in the order to join them.

    As root, bubblewrap makes no user namespace. Otherwise it makes two: an
    outer one that owns the sandbox's other namespaces, and an inner one
    that maps the user's id, which the stub runs in. Joining the outer one
    first gives the rights to join the others; the inner one comes last.
    """
    joins = []
    for name, flag in NAMESPACES:
        path = f"/proc/{stub}/ns/{name}"
        if os.path.exists(path) and not _same_namespace(path, f"/proc/self/ns/{name}"):
            joins.append((os.open(path, os.O_RDONLY | os.O_CLOEXEC), flag, name))
    inner_path = f"/proc/{stub}/ns/user"
    ours = os.stat("/proc/self/ns/user").st_ino
    if os.stat(inner_path).st_ino == ours:
        return joins
    mount = os.open(f"/proc/{stub}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    try:
        outer = fcntl.ioctl(mount, _NS_GET_USERNS)
    finally:
        os.close(mount)
    os.set_inheritable(outer, False)
    inner = os.open(inner_path, os.O_RDONLY | os.O_CLOEXEC)
    if os.fstat(inner).st_ino == os.fstat(outer).st_ino:  # a single user namespace
        return [(inner, CLONE_NEWUSER, "user"), *joins]
    first = [] if os.fstat(outer).st_ino == ours else [(outer, CLONE_NEWUSER, "user (outer)")]
    return [*first, *joins, (inner, CLONE_NEWUSER, "user")]


def _same_namespace(one: str, other: str) -> bool:
    return os.stat(one).st_ino == os.stat(other).st_ino


class StubGone(OSError):
    """The pidfd that came with a request does not name a running stub with the request's PID."""


@dataclass(frozen=True)
class StubHandles:
    """What a kernel needs of its sandbox, opened through ``/proc`` of the stub."""

    joins: list[tuple[int, int, str]]  # (descriptor, CLONE_NEW* flag, name), in joining order
    root: int
    streams: tuple[int, int, int]  # the lifetime pipe's write end, stdout, stderr


def open_stub(stub_pid: int, pidfd: int) -> StubHandles:
    """Open the namespaces, root and streams of the stub that ``pidfd`` names.

    ``/proc/PID`` names whichever process has the PID now. The pidfd names
    the stub the grader found; the files opened are the stub's if, once they
    are all open, that stub still runs with the same PID (a PID is reused
    only after its process has ended). Otherwise :class:`StubGone`.
    """
    _still_the_stub(stub_pid, pidfd)
    joins = _namespaces_to_join(stub_pid)
    root = os.open(f"/proc/{stub_pid}/root", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    # The stub's stdin is the read end of the lifetime pipe: opening it for
    # writing gives the kernel the pipe's write end; stdout and stderr are
    # the grader's capped output pipe.
    streams = tuple(
        os.open(f"/proc/{stub_pid}/fd/{number}", os.O_WRONLY | os.O_CLOEXEC) for number in (0, 1, 2)
    )
    _still_the_stub(stub_pid, pidfd)
    return StubHandles(joins, root, streams)


def _still_the_stub(stub_pid: int, pidfd: int) -> None:
    """Raise :class:`StubGone` unless ``pidfd`` names a running process with PID ``stub_pid``."""
    named = _pidfd_pid(pidfd)
    if named != stub_pid:
        raise StubGone(
            f"the pidfd names process {named}, not the stub {stub_pid}"
            if named > 0
            else f"the stub {stub_pid} has ended"
        )
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    if poller.poll(0):  # a pidfd becomes readable when its process exits
        raise StubGone(f"the stub {stub_pid} has ended")


def _pidfd_pid(pidfd: int) -> int:
    """The PID a pidfd names (-1 once its process is reaped), from ``/proc/self/fdinfo``."""
    with open(f"/proc/self/fdinfo/{pidfd}") as stream:
        for line in stream:
            if line.startswith("Pid:"):
                return int(line.split()[1])
    raise StubGone(f"descriptor {pidfd} is not a pidfd")


def enter_sandbox(request: LaunchRequest, pidfd: int) -> int:
    """In a child of the zygote: join the stub's sandbox, then fork the kernel; its host PID.

    ``pidfd`` names the stub (see :func:`open_stub`). Runs with the zygote's
    privileges until the fork; the kernel drops them (:func:`_become_kernel`)
    before any of its own code runs.
    """
    stub = open_stub(request.stub_pid, pidfd)
    os.close(pidfd)
    joins, root, streams = stub.joins, stub.root, stub.streams
    for procs in request.cgroup_procs:
        with open(procs, "w") as stream:
            stream.write(str(os.getpid()))
    if request.cpus:
        os.sched_setaffinity(0, request.cpus)
    for fd, flag, name in joins:
        _check(_libc.setns(fd, flag), f"setns({name})")
        os.close(fd)
    os.fchdir(root)
    os.chroot(".")
    os.close(root)
    os.chdir(request.workdir)
    pid = os.fork()  # the child is the first process of ours in the sandbox's PID namespace
    if pid == 0:
        try:
            _become_kernel(request, *streams)  # never returns: the kernel ends with os._exit
        except BaseException:
            with contextlib.suppress(Exception):
                os.write(
                    2, f"coursekit: the kernel failed to start\n{traceback.format_exc()}".encode()
                )
        finally:
            os._exit(1)
    return pid


def _become_kernel(request: LaunchRequest, lifetime: int, stdout: int, stderr: int) -> None:
    """In the kernel process: drop every privilege, keep only its streams, run ipykernel."""
    os.setsid()
    limits = {
        resource.RLIMIT_CPU: request.cpu_seconds,
        resource.RLIMIT_AS: request.memory_bytes,
        resource.RLIMIT_NPROC: request.max_processes,
        resource.RLIMIT_FSIZE: request.max_file_bytes,
        resource.RLIMIT_CORE: 0,
    }
    for kind, value in limits.items():
        resource.setrlimit(kind, (value, value))
    _drop_bounding_set()
    _prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL)
    if os.geteuid() == 0:
        os.setgroups([])
        os.setresgid(request.uid, request.uid, request.uid)
        os.setresuid(request.uid, request.uid, request.uid)
    _clear_capabilities()
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    _prctl(_PR_SET_DUMPABLE, 1)  # as an exec would: the kernel may read its own /proc entries
    if request.seccomp:  # as bubblewrap applies it to a plain kernel (built before the fork)
        seccomp.load_into_this_process()
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(stdout, 1)
    os.dup2(stderr, 2)
    os.dup2(lifetime, 3, inheritable=False)  # held until the kernel exits; see the module docstring
    os.closerange(4, _max_descriptors())
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
        signal.signal(
            number, signal.default_int_handler if number == signal.SIGINT else signal.SIG_DFL
        )
    _forget_the_zygote(request.workdir)
    from ipykernel import kernelapp

    sys.argv = ["ipykernel_launcher", *request.arguments]
    try:
        kernelapp.launch_new_instance()
    except SystemExit as exit_:
        os._exit(exit_.code if isinstance(exit_.code, int) else 1)
    os._exit(0)


def _max_descriptors() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 65536


def _forget_the_zygote(workdir: str) -> None:
    """Leave the kernel as ``python -m ipykernel_launcher`` would start it in ``workdir``."""
    import importlib

    os.environ["HOME"] = _SANDBOX_HOME
    for name in [name for name in sys.modules if name.split(".")[0] == "autograder"]:
        del sys.modules[name]
    sys.path[0] = workdir
    sys.path_importer_cache.clear()
    importlib.invalidate_caches()
    with contextlib.suppress(ImportError):
        import numpy

        numpy.random.seed()  # fresh entropy, as a new process has; Python's random reseeds itself


def launch(request: LaunchRequest, pidfd: int) -> LaunchReply:
    """In the zygote: fork a child that enters the stub's sandbox and starts the kernel."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(read_end)
        try:
            reply = LaunchReply(pid=enter_sandbox(request, pidfd))
        except BaseException as error:
            reply = LaunchReply(error=f"{type(error).__name__}: {error}")
        with contextlib.suppress(OSError):
            os.write(write_end, reply.to_json().encode())
        os._exit(0)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(child, 0)
    if not chunks:
        return LaunchReply(error="the zygote's child died before it could answer")
    return LaunchReply.from_json(b"".join(chunks).decode())


def serve(path: str) -> None:
    """Import :data:`PRELOADED`, then start a kernel for every request on the socket ``path``."""
    global _SANDBOX_HOME
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    parent = os.getppid()
    warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
    # Imports may write configuration into HOME (Keras does): the zygote's
    # goes to its private folder, and kernels get the sandbox's HOME back.
    _SANDBOX_HOME = os.environ.get("HOME", "/tmp")
    os.environ["HOME"] = os.path.dirname(os.path.abspath(path))
    os.environ.setdefault("MPLBACKEND", MATPLOTLIB_BACKEND)
    try:
        import importlib

        for name in PRELOADED:
            importlib.import_module(name)
        utilities = sys.modules["utilities"]
        for name in utilities.__all__:  # its exports load lazily
            getattr(utilities, name)
        seccomp.syscall_filter()  # built once here, loaded by each kernel after the fork
    except BaseException as error:
        with open(f"{path}.failed", "w") as stream:
            stream.write(f"{type(error).__name__}: {error}")
        raise
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(f"{path}.binding")
    listener.listen(8)
    os.rename(f"{path}.binding", path)  # the socket appears only when it is ready
    while os.getppid() == parent:
        connection, _ = listener.accept()
        descriptors: list[int] = []
        with connection:
            try:
                text, descriptors = receive_request(connection)
                request = LaunchRequest.from_json(text)
                if len(descriptors) != 1:
                    count = len(descriptors)
                    raise StubGone(f"the request came with {count} descriptors, not one pidfd")
                reply = launch(request, descriptors[0])
            except (OSError, ValueError, TypeError, KeyError) as error:
                reply = LaunchReply(error=f"{type(error).__name__}: {error}")
            finally:
                for descriptor in descriptors:
                    os.close(descriptor)
            with contextlib.suppress(OSError):
                connection.sendall(reply.to_json().encode() + b"\n")


def receive_request(connection: socket.socket) -> tuple[str, list[int]]:
    """A request (one line, at most 1 MiB) and the descriptors sent with its first bytes."""
    first, descriptors, _flags, _address = socket.recv_fds(connection, 65536, 2)
    for descriptor in descriptors:
        os.set_inheritable(descriptor, False)
    if not first.endswith(b"\n") and first:
        first += read_line(connection).encode()
    return first.decode(), descriptors


def read_line(connection: socket.socket) -> str:
    """One newline-terminated message (a request or a reply), at most 1 MiB."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > 1024**2:
            raise ValueError("request too long")
    return data.decode()


if __name__ == "__main__":
    try:
        serve(sys.argv[1])
    except KeyboardInterrupt:
        pass
    except OSError as error:
        if error.errno != errno.EINTR:
            raise
