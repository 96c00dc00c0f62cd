"""Is CPU shared fairly between students graded at the same time? A canary next to a hog.

Two sandboxed kernels run at once, as two grading slots would: the hog starts
``--hogs`` busy processes, the canary runs a fixed amount of pure-Python work
and reports its wall time and its CPU time. With a fair share the canary's
wall time stays close to its CPU time; without one it stretches with the
number of hog processes. Each mode is measured in turn on the same machine:

- ``groups``: control groups as ``coursekit grade`` makes them, where the host allows;
- ``pinned``: no control groups, each slot pinned to its own CPUs (the fallback);
- ``none``: neither (what grading did before), for comparison.

    python bench/sandbox_fairness.py [--hogs 12] [--work 30000000]

Prints one line per mode: the canary's CPU seconds, wall seconds and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from dataclasses import replace
from pathlib import Path

import autograder.grading.sandbox.provisioner as sandbox
from autograder.grading.sandbox import (
    FIRST_SLOT_UID,
    SandboxedKernelManager,
    SandboxLimits,
    default_spec,
)
from autograder.grading.sandbox.cgroups import detect, slot_cpus

HOG = """\
import subprocess, sys
hogs = [subprocess.Popen([sys.executable, '-c', 'while True: pass']) for _ in range({hogs})]
"""
CANARY = """\
import time
cpu, wall = time.process_time(), time.perf_counter()
total = 0
for i in range({work}):
    total += i
print(round(time.process_time() - cpu, 2), round(time.perf_counter() - wall, 2))
"""


async def _run(manager: SandboxedKernelManager, code: str) -> str:
    client = manager.client()
    client.start_channels()
    await client.wait_for_ready(timeout=120)
    printed = []

    def keep(message):
        if message["msg_type"] == "stream":
            printed.append(message["content"]["text"])

    reply = await client.execute_interactive(code, timeout=600, output_hook=keep)
    client.stop_channels()
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"{reply['content'].get('ename')}: {reply['content'].get('evalue')}")
    return "".join(printed)


async def measure(mode: str, hogs: int, work: int, scratch: Path) -> tuple[float, float]:
    """The canary's (CPU seconds, wall seconds) next to the hog, in ``mode``."""
    limits = SandboxLimits(cell_timeout=600, max_processes=hogs + 64)
    (scratch / "kernels").mkdir()
    (scratch / "cache").mkdir()
    spec = default_spec(scratch / "kernels", scratch / "events.jsonl", limits, scratch / "cache")
    original = sandbox.kernel_group
    if mode != "groups":
        sandbox.kernel_group = lambda memory_bytes: None
    try:
        managers = []
        for slot in (0, 1):
            cpus = slot_cpus(slot, 2) if mode == "pinned" else ()
            slot_spec = replace(spec, uid=FIRST_SLOT_UID + slot, cpus=cpus)
            manager = SandboxedKernelManager(spec=slot_spec, kernel_name="python3")
            await manager.start_kernel(cwd=str(scratch / "data"))
            managers.append(manager)
        hog, canary = managers
        await _run(hog, HOG.format(hogs=hogs))
        cpu, wall = (await _run(canary, CANARY.format(work=work))).split()
        for manager in managers:
            await manager.shutdown_kernel(now=True)
        return float(cpu), float(wall)
    finally:
        sandbox.kernel_group = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hogs", type=int, default=12, help="busy processes in the hog")
    parser.add_argument("--work", type=int, default=30_000_000, help="canary loop iterations")
    args = parser.parse_args()
    print(f"control groups here: {detect()[0].value}; {args.hogs} hog processes")
    print(f"{'mode':8} {'canary CPU s':>13} {'wall s':>8} {'wall / CPU':>11}")
    for mode in ("groups", "pinned", "none"):
        with tempfile.TemporaryDirectory(prefix="coursekit-fairness-") as folder:
            scratch = Path(folder)
            (scratch / "data").mkdir()
            cpu, wall = asyncio.run(measure(mode, args.hogs, args.work, scratch))
        print(f"{mode:8} {cpu:13.2f} {wall:8.2f} {wall / cpu:11.2f}")


if __name__ == "__main__":
    main()
