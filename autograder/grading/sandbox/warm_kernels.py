"""The grader's side of pre-warmed kernels: one zygote per grading slot, and asking it for a kernel.

:mod:`autograder.grading.sandbox.zygote` explains how a zygote starts a kernel in a
fresh sandbox. Here:

- :func:`zygote_for` starts (or reuses) the zygote of a grading slot, in a
  private folder of the grader's, with the sandbox's environment;
  :func:`stop_zygotes` stops them all when grading ends;
- :func:`find_stub` finds the ``cat`` stub of a sandbox that bubblewrap has
  finished setting up and holds it by a pidfd, and :func:`request_kernel`
  asks a zygote to start the kernel there, handing it that pidfd: a PID
  alone could name another process once the stub had ended, and the zygote
  would then join that process's namespaces.

Anything that goes wrong raises :class:`ZygoteUnavailable`, and the kernel
manager then starts a plain sandboxed kernel instead: a warm kernel is an
optimisation, never a condition for grading.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from autograder.grading.sandbox.zygote import LaunchReply, LaunchRequest, read_line

STUB = "cat"  # the sandbox's placeholder command; see autograder.grading.sandbox.zygote
READY_TIMEOUT = 180.0  # seconds a kernel waits for its zygote's imports before falling back
STUB_TIMEOUT = 30.0
REQUEST_TIMEOUT = 60.0


class ZygoteUnavailable(Exception):
    """No warm kernel this time; the reason says why."""


@dataclass
class _Zygote:
    key: str
    socket_path: str
    process: subprocess.Popen


_LOCK = threading.Lock()
_ZYGOTES: dict[str, _Zygote] = {}
_FOLDER: str | None = None


def _folder() -> str:
    """A private folder (mode 0700) for the zygotes' sockets, short enough for socket paths."""
    global _FOLDER
    if _FOLDER is None or not os.path.isdir(_FOLDER):
        _FOLDER = tempfile.mkdtemp(
            prefix="coursekit-zygotes-", dir="/tmp" if os.path.isdir("/tmp") else None
        )
    return _FOLDER


def zygote_for(slot: str, environment: tuple[tuple[str, str], ...]) -> str:
    """The socket of grading slot ``slot``'s zygote, started now if it is not running.

    A zygote runs with the sandbox's ``environment`` (the thread counts and
    the like are read at import); a slot whose environment changed gets a
    new zygote. The zygote's imports go on in the background: a kernel
    waits for them only when it needs one.
    """
    digest = hashlib.sha256(repr(environment).encode()).hexdigest()[:12]
    key = f"{slot}-{digest}"
    with _LOCK:
        current = _ZYGOTES.get(slot)
        if current is not None and current.key == key and current.process.poll() is None:
            return current.socket_path
        if current is not None:
            _stop(current)
        folder = Path(_folder()) / key
        folder.mkdir(mode=0o700)
        socket_path = str(folder / "zygote")
        process = subprocess.Popen(
            [sys.executable, "-m", "autograder.grading.sandbox.zygote", socket_path],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(folder / "zygote.log", "wb"),  # noqa: SIM115 - the child holds it
            env=dict(environment),
            cwd=folder,
            start_new_session=True,
        )
        (folder / "pid").write_text(str(process.pid))
        _ZYGOTES[slot] = _Zygote(key, socket_path, process)
        return socket_path


@atexit.register
def stop_zygotes() -> None:
    """Stop every zygote this process started (also when it exits)."""
    global _FOLDER
    with _LOCK:
        for zygote in _ZYGOTES.values():
            _stop(zygote)
        _ZYGOTES.clear()
        if _FOLDER is not None:
            shutil.rmtree(_FOLDER, ignore_errors=True)
            _FOLDER = None


def _stop(zygote: _Zygote) -> None:
    if zygote.process.poll() is None:
        zygote.process.send_signal(signal.SIGKILL)
    zygote.process.wait()
    shutil.rmtree(Path(zygote.socket_path).parent, ignore_errors=True)


def wait_until_ready(socket_path: str, timeout: float = READY_TIMEOUT) -> None:
    """Return once the zygote at ``socket_path`` serves requests; raise if it cannot."""
    deadline = time.monotonic() + timeout
    failed = Path(f"{socket_path}.failed")
    pid = _read(os.path.join(os.path.dirname(socket_path), "pid")).strip()
    while not os.path.exists(socket_path):
        if failed.exists():
            raise ZygoteUnavailable(f"the zygote could not start: {failed.read_text()[:500]}")
        if not pid or not os.path.exists(f"/proc/{pid}"):
            raise ZygoteUnavailable("the zygote is not running")
        if time.monotonic() > deadline:
            raise ZygoteUnavailable(f"the zygote was not ready in {timeout:.0f} s")
        time.sleep(0.05)


@dataclass(frozen=True)
class Stub:
    """The stub of one sandbox: its host PID and a pidfd that names that very process."""

    pid: int
    pidfd: int

    def close(self) -> None:
        os.close(self.pidfd)


def find_stub(sandbox_pid: int, timeout: float = STUB_TIMEOUT) -> Stub:
    """The stub that bubblewrap (``sandbox_pid``) runs once the sandbox is ready, held by a pidfd.

    The caller closes it (:meth:`Stub.close`) once the zygote has answered.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in _descendants(sandbox_pid):
            if _read(f"/proc/{pid}/comm").strip() == STUB:
                stub = _hold(pid, sandbox_pid)
                if stub is not None:
                    return stub
        if not os.path.exists(f"/proc/{sandbox_pid}"):
            break
        time.sleep(0.005)
    raise ZygoteUnavailable("the sandbox did not start its stub")


def _hold(pid: int, sandbox_pid: int) -> Stub | None:
    """A pidfd for ``pid`` if, once opened, it is still the stub under ``sandbox_pid``.

    Between listing the sandbox's processes and opening the pidfd, the stub
    could end and its PID go to another process; checking again after the
    pidfd is open settles which process the pidfd names.
    """
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return None
    except OSError as error:
        raise ZygoteUnavailable(f"cannot hold the stub by a pidfd ({error})") from error
    if _read(f"/proc/{pid}/comm").strip() == STUB and pid in _descendants(sandbox_pid):
        return Stub(pid, pidfd)
    os.close(pidfd)
    return None


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        children = _read(f"/proc/{parent}/task/{parent}/children").split()
        found += map(int, children)
        todo += map(int, children)
    return found


def _read(path: str) -> str:
    try:
        with open(path) as stream:
            return stream.read()
    except OSError:
        return ""


def request_kernel(socket_path: str, request: LaunchRequest, stub: Stub) -> int:
    """Ask a ready zygote (see :func:`wait_until_ready`) for the kernel in ``stub``'s sandbox.

    The request goes with the stub's pidfd, which the zygote checks against
    ``request.stub_pid`` before and after it opens the sandbox. Returns the
    kernel's host PID.
    """
    if stub.pid != request.stub_pid:
        raise ValueError(f"the request names stub {request.stub_pid}, the pidfd stub {stub.pid}")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(REQUEST_TIMEOUT)
            connection.connect(socket_path)
            message = request.to_json().encode() + b"\n"
            sent = socket.send_fds(connection, [message], [stub.pidfd])
            if sent < len(message):  # sendall(b"") would still send, and fail once answered
                connection.sendall(message[sent:])
            answer = read_line(connection)
    except (OSError, ValueError) as error:
        raise ZygoteUnavailable(f"the zygote did not answer ({error})") from error
    try:
        reply = LaunchReply.from_json(answer)
    except ValueError as error:
        raise ZygoteUnavailable("the zygote's answer was not readable") from error
    if reply.error or reply.pid <= 0:
        raise ZygoteUnavailable(reply.error or "the zygote started no kernel")
    return reply.pid
