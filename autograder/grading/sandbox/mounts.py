"""A cap on the one host folder a kernel can write to: its sockets' folder.

A kernel talks to the grader over Unix sockets that it creates in a folder
of its own on the host, bound read-write into its sandbox; it could fill the
host's disk through it. As root, :func:`cap_kernel_folders` gives the
calling process (a grading worker, before it starts anything) a mount
namespace of its own in which the folder that holds every kernel folder is
a tmpfs of a fixed size: whatever a kernel writes there counts against that
size, and vanishes with the worker. Outside root this cannot be done, and
the README's sandbox table says so.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

_CLONE_NEWNS = 0x00020000
_MS_NOSUID = 0x2
_MS_NODEV = 0x4
_MS_REC = 0x4000
_MS_PRIVATE = 0x40000


def cap_kernel_folders(folder: Path, size_bytes: int) -> bool:
    """Make ``folder`` a private tmpfs of ``size_bytes`` for this process; False outside root.

    Call it while the process is single-threaded: ``unshare`` of the mount
    namespace refuses a process with threads.
    """
    if os.geteuid() != 0:
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _check(libc.unshare(_CLONE_NEWNS), "unshare the mount namespace")
    _check(libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None), "make mounts private")
    options = f"size={int(size_bytes)},mode=0711".encode()
    _check(
        libc.mount(b"tmpfs", str(folder).encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, options),
        f"mount a tmpfs on {folder}",
    )
    return True


def _check(result: int, what: str) -> None:
    if result != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"cannot {what}: {os.strerror(number)}")
