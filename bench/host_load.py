"""Was the host idle while a benchmark ran? Load average and the CPU others used.

A timing taken while other work competes for the two cores can be twice the
idle one. Each run records the one-minute load average before and after, and
the CPU time that *other* processes used while it ran (``/proc/stat`` minus
the run's own CPU time). A run during which others used more than
:data:`BUSY_CORES` cores on average is marked busy and left out of the medians.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import asdict, dataclass
from pathlib import Path

#: Other processes using more than this many cores on average make a run "busy".
BUSY_CORES = 0.25
PROC_STAT = Path("/proc/stat")


@dataclass(frozen=True)
class Sample:
    """A point in time: wall clock, busy jiffies of the whole host, children's CPU time."""

    wall: float
    host_busy_seconds: float | None
    children_cpu_seconds: float
    load_average: float | None


@dataclass(frozen=True)
class HostLoad:
    """What else the host did during one run."""

    load_average_before: float | None
    load_average_after: float | None
    #: Cores used on average by everything except the run (None where /proc/stat is missing).
    other_cores: float | None
    busy: bool

    def as_dict(self) -> dict:
        return asdict(self)


def sample() -> Sample:
    """Take a sample now (call it right before and right after the run's subprocess)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = None
    return Sample(
        wall=time.monotonic(),
        host_busy_seconds=_host_busy_seconds(),
        children_cpu_seconds=children.ru_utime + children.ru_stime,
        load_average=load,
    )


def between(before: Sample, after: Sample) -> HostLoad:
    """The host's load between two samples, the run being the children that ended in between."""
    other = None
    if before.host_busy_seconds is not None and after.host_busy_seconds is not None:
        wall = max(after.wall - before.wall, 1e-9)
        host = after.host_busy_seconds - before.host_busy_seconds
        own = after.children_cpu_seconds - before.children_cpu_seconds
        other = max(host - own, 0.0) / wall
    return HostLoad(
        load_average_before=before.load_average,
        load_average_after=after.load_average,
        other_cores=None if other is None else round(other, 3),
        busy=other is not None and other > BUSY_CORES,
    )


def _host_busy_seconds() -> float | None:
    """CPU seconds the whole host has spent busy (not idle, not waiting for I/O) since boot."""
    try:
        first = PROC_STAT.read_text().splitlines()[0].split()
    except OSError:
        return None
    if first[0] != "cpu":
        return None
    # user nice system idle iowait irq softirq steal ...
    values = [int(v) for v in first[1:9]]
    busy = sum(values) - values[3] - values[4]
    return busy / os.sysconf("SC_CLK_TCK")
