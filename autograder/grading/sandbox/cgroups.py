"""Memory and CPU shares per student kernel with Linux control groups, where the host allows.

Every kernel's memory is capped by its address space (``prlimit``), which
does not count files written to a tmpfs (they live in RAM). Where control
groups can be made, each kernel also runs in groups of its own:

- memory: a limit that covers the kernel and its tmpfs files together
  (``memory.max`` in cgroup v2, ``memory.limit_in_bytes`` in cgroup v1);
- CPU: the same weight for every kernel (``cpu.weight`` in v2, ``cpu.shares``
  in v1), so that a student who starts twelve busy processes gets one
  kernel's share of the CPUs, not twelve.

Which kind is used:

- cgroup v2 when this process's own group is writable and already delegates
  the controllers to its children (``cgroup.subtree_control``);
- cgroup v1 when the ``memory`` and ``cpu`` hierarchies are mounted and this
  process may make groups under its own (as root, usually);
- none otherwise. Then each grading slot is pinned to CPUs of its own with
  ``taskset`` (:func:`slot_cpus`), which spreads the load but which a kernel
  could undo with ``sched_setaffinity``; the README says so.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
CPU_WEIGHT_V2 = 100  # the default weight: every kernel the same
CPU_SHARES_V1 = 1024


class CgroupKind(Enum):
    V2 = "cgroup v2"
    V1 = "cgroup v1"
    NONE = "none"


@dataclass(frozen=True)
class KernelGroup:
    """The control groups of one kernel: join them with :meth:`command`, then :meth:`remove`."""

    kind: CgroupKind
    paths: tuple[Path, ...]

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` started inside these groups (a shell joins them, then execs ``argv``)."""
        join = (
            'for procs in "$@"; do [ "$procs" = -- ] && break; '
            'echo $$ > "$procs" || exit 125; done; '
            'while [ "$1" != -- ]; do shift; done; shift; exec "$@"'
        )
        procs = [str(path / "cgroup.procs") for path in self.paths]
        return ["/bin/sh", "-c", join, "coursekit-cgroup", *procs, "--", *argv]

    def remove(self) -> None:
        for path in self.paths:
            with contextlib.suppress(OSError):
                path.rmdir()


def detect() -> tuple[CgroupKind, dict[str, Path]]:
    """Which kind of group this process may make, and the parent folder of each controller."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return CgroupKind.NONE, {}
    entries = {}
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(","):
                entries[controller] = parts[2].lstrip("/")
    if "" in entries:  # the unified (v2) hierarchy
        mounted = (CGROUP_ROOT / "cgroup.controllers").exists()
        own = (CGROUP_ROOT if mounted else CGROUP_ROOT / "unified") / entries[""]
        delegated = _read(own / "cgroup.subtree_control").split()
        if {"memory", "cpu"} <= set(delegated) and os.access(own, os.W_OK):
            return CgroupKind.V2, {"memory": own, "cpu": own}
    parents = {
        controller: CGROUP_ROOT / controller / entries[controller]
        for controller in ("memory", "cpu")
        if controller in entries
    }
    if len(parents) == 2 and all(os.access(path, os.W_OK) for path in parents.values()):
        return CgroupKind.V1, parents
    return CgroupKind.NONE, {}


def kernel_group(memory_bytes: int) -> KernelGroup | None:
    """New groups for one kernel, with its memory limit and the common CPU weight; or None."""
    kind, parents = detect()
    if kind is CgroupKind.NONE:
        return None
    name = f"coursekit-{os.getpid()}-{secrets.token_hex(4)}"
    settings = {
        CgroupKind.V2: {
            "memory": {"memory.max": memory_bytes},
            "cpu": {"cpu.weight": CPU_WEIGHT_V2},
        },
        CgroupKind.V1: {
            "memory": {"memory.limit_in_bytes": memory_bytes},
            "cpu": {"cpu.shares": CPU_SHARES_V1},
        },
    }[kind]
    made: list[Path] = []
    try:
        for controller, values in settings.items():
            path = parents[controller] / name
            if path not in made:
                path.mkdir()
                made.append(path)
            for file, value in values.items():
                (path / file).write_text(str(value))
    except OSError:
        KernelGroup(kind, tuple(made)).remove()
        return None
    return KernelGroup(kind, tuple(made))


def slot_cpus(slot: int, slots: int, available: set[int] | None = None) -> tuple[int, ...]:
    """The CPUs of grading slot ``slot`` of ``slots``: an even split, round robin when fewer."""
    cpus = sorted(available if available is not None else os.sched_getaffinity(0))
    if slots >= len(cpus):
        return (cpus[slot % len(cpus)],)
    return tuple(cpus[index] for index in range(len(cpus)) if index % slots == slot % slots)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
