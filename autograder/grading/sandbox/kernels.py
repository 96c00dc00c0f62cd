"""The kernel manager of a sandboxed kernel: where its sockets live, what it may print.

:class:`SandboxedKernelManager` is jupyter_client's ``AsyncKernelManager`` with
the kernel started by :class:`~autograder.grading.sandbox.provisioner.SandboxProvisioner`
(jupyter_client's public extension point for how a kernel starts and stops).
It talks to the kernel over Unix sockets in a folder of the kernel's own, so
the kernel needs no network at all, and it accepts no message larger than
:data:`MAX_MESSAGE_BYTES`. The kernel's working folder holds the data files
next to the notebook (never a notebook: the copy nbgrader has just written
there contains the hidden tests), bound read-only.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path

import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import Type, default

from autograder.grading.sandbox.cgroups import KernelGroup
from autograder.grading.sandbox.limits import SandboxSpec

#: The largest message the grader accepts from a kernel (one answer, one output).
MAX_MESSAGE_BYTES = 64 * 1024**2
#: The name jupyter_client finds the sandbox's provisioner under (pyproject's entry points).
PROVISIONER = "coursekit-sandbox"
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


class CappedKernelClient(AsyncKernelClient):
    """A kernel client whose every socket drops a message over :data:`MAX_MESSAGE_BYTES`.

    jupyter_client gives each client a zmq context of its own, so the cap must be set
    on that context: a kernel's one huge message then ends the connection instead of
    filling the grader's memory. The context is the client's, and goes with its channels.
    """

    @default("context")
    def _capped_context(self) -> zmq.asyncio.Context:
        context = zmq.asyncio.Context()
        context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        self._capped = context
        return context

    def stop_channels(self) -> None:
        super().stop_channels()
        capped = getattr(self, "_capped", None)
        if capped is not None and not capped.closed:
            capped.destroy(linger=100)


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start inside the sandbox described by ``spec``."""

    client_factory = Type(CappedKernelClient, klass=AsyncKernelClient, config=True)

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
        self.data_folder: Path | None = None  # copies of data files the kernel could not read
        (self.kernel_folder / "sock").mkdir()

    @property
    def kernel_spec(self):
        spec = super().kernel_spec
        if spec is not None:
            # SIGINT to bwrap does not reach the kernel; ask the kernel itself to interrupt.
            spec.interrupt_mode = "message"
            spec.metadata["kernel_provisioner"] = {"provisioner_name": PROVISIONER}
        return spec

    def remove_folders(self) -> None:
        shutil.rmtree(self.kernel_folder, ignore_errors=True)
        if self.data_folder is not None:
            shutil.rmtree(self.data_folder, ignore_errors=True)


def data_files(folder: Path, scratch: str) -> tuple[list[Path], Path | None]:
    """The files next to a notebook that its kernel may read, and a folder of copies, if any.

    Notebooks, checkpoints and links are left out. A regular file that others
    may read is bound as it is; anything else (a file only its owner reads,
    a folder) is copied, readable, into a new folder under ``scratch``.
    """
    found: list[Path] = []
    copies: Path | None = None
    for path in sorted(Path(folder).iterdir()):
        if path.suffix == ".ipynb" or path.name == ".ipynb_checkpoints" or path.is_symlink():
            continue
        if path.is_file() and path.stat().st_mode & 0o004:
            found.append(path.resolve())
            continue
        if copies is None:  # beside the kernels' folder, in the grader's private scratch
            parent = str(Path(scratch).parent) if scratch else None
            copies = Path(tempfile.mkdtemp(prefix="data-", dir=parent))
            copies.chmod(0o755)
        target = copies / path.name
        if path.is_dir():
            shutil.copytree(
                path,
                target,
                symlinks=False,
                ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"),
            )
        else:
            shutil.copyfile(path, target)
        for item in [target, *target.rglob("*")] if target.is_dir() else [target]:
            item.chmod(0o755 if item.is_dir() else 0o644)
        found.append(target)
    return found, copies


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
