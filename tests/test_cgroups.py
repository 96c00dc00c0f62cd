"""Control groups for student kernels: made where the host allows, joined before bwrap runs."""

from __future__ import annotations

import subprocess

import pytest

from autograder.grading.sandbox.cgroups import (
    CgroupKind,
    KernelGroup,
    detect,
    kernel_group,
    slot_cpus,
)

pytestmark = pytest.mark.integration  # kernels, sandboxes or processes


def test_each_slot_gets_cpus_of_its_own_when_there_are_enough():
    assert [slot_cpus(slot, 2, {0, 1, 2, 3}) for slot in range(2)] == [(0, 2), (1, 3)]
    assert [slot_cpus(slot, 4, {0, 1}) for slot in range(4)] == [(0,), (1,), (0,), (1,)]
    assert slot_cpus(0, 1, {5, 7}) == (5, 7)


def test_a_kernel_group_has_its_memory_limit_and_a_process_joins_it_before_it_runs():
    kind, _ = detect()
    group = kernel_group(3 * 1024**3)
    if kind is CgroupKind.NONE:
        assert group is None
        pytest.skip("this host lets this process make no control groups (the fallback is tested)")
    assert group is not None
    try:
        limit_file = "memory.max" if kind is CgroupKind.V2 else "memory.limit_in_bytes"
        memory = next(path for path in group.paths if (path / limit_file).exists())
        assert int((memory / limit_file).read_text()) == 3 * 1024**3
        shown = subprocess.run(
            group.command(["cat", "/proc/self/cgroup"]), capture_output=True, text=True, check=True
        ).stdout
        assert all(path.name in shown for path in group.paths)
    finally:
        group.remove()
    assert not any(path.exists() for path in group.paths)


def test_a_group_that_cannot_be_joined_stops_the_command(tmp_path):
    broken = KernelGroup(CgroupKind.V1, (tmp_path / "missing",))
    result = subprocess.run(broken.command(["echo", "ran"]), capture_output=True, text=True)
    assert result.returncode == 125 and "ran" not in result.stdout
