"""A jupyter_client kernel provisioner that starts each kernel in a fresh bubblewrap sandbox.

jupyter_client finds it by name (``coursekit-sandbox``, an entry point of the
``jupyter_client.kernel_provisioners`` group in pyproject.toml), because
:class:`~autograder.grading.sandbox.kernels.SandboxedKernelManager` names it in
the kernel spec it uses. :meth:`SandboxProvisioner.launch_kernel` builds the
sandbox (:func:`~autograder.grading.sandbox.bwrap.sandbox_command`) with the
seccomp filter and the kernel's control groups, and, where the spec names a
zygote, forks a pre-warmed kernel into it (:mod:`autograder.grading.sandbox.zygote`);
:meth:`SandboxProvisioner.cleanup` removes what the launch made.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from jupyter_client.provisioning import LocalProvisioner

from autograder.grading.sandbox.bwrap import give_to_sandbox_user, process_limit, sandbox_command
from autograder.grading.sandbox.cgroups import kernel_group
from autograder.grading.sandbox.kernels import data_files
from autograder.grading.sandbox.limits import WORKDIR
from autograder.grading.sandbox.seccomp import program_descriptor
from autograder.grading.sandbox.warm_kernels import (
    STUB,
    ZygoteUnavailable,
    find_stub,
    request_kernel,
    wait_until_ready,
)
from autograder.grading.sandbox.zygote import LaunchRequest


class SandboxProvisioner(LocalProvisioner):
    """Start the kernel in the sandbox of the managing :class:`SandboxedKernelManager`."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        manager = self.parent
        spec = manager.spec
        files, manager.data_folder = data_files(Path(kwargs.get("cwd") or "."), spec.scratch)
        sockets = manager.kernel_folder / "sock"
        give_to_sandbox_user(sockets, uid=spec.uid)
        kwargs["cwd"] = str(manager.kernel_folder)
        kwargs["env"] = {"PATH": "/usr/bin:/bin"}  # what /proc/1/environ shows in the sandbox
        kwargs["stdout"] = kwargs["stderr"] = manager.output.start()
        limits = spec.limits
        manager.group = kernel_group(limits.memory_bytes + 2 * limits.scratch_bytes)
        seccomp = program_descriptor() if spec.seccomp else None
        kwargs["pass_fds"] = (seccomp,) if seccomp is not None else ()
        try:
            if spec.zygote and _is_ipykernel(cmd):
                try:
                    return await self._launch_warm(cmd, files, sockets, seccomp, kwargs)
                except ZygoteUnavailable as why:
                    note = f"[coursekit] no warm kernel ({why}); starting a plain one\n"
                    os.write(manager.output.write_end, note.encode())
                    if seccomp is not None:  # the first bubblewrap read the program
                        os.close(seccomp)
                        seccomp = program_descriptor()
                        kwargs["pass_fds"] = (seccomp,)
            command = sandbox_command(cmd, spec, files, [sockets], manager.group, seccomp)
            return await super().launch_kernel(command, **kwargs)
        finally:
            manager.output.started()
            if seccomp is not None:
                os.close(seccomp)

    async def _launch_warm(self, cmd, files, sockets: Path, seccomp: int | None, kwargs: dict):
        """Start the sandbox with a stub, then have the slot's zygote fork the kernel into it.

        See :mod:`autograder.grading.sandbox.zygote`. The stub reads a pipe whose
        only writer, once this returns, is the kernel.
        """
        manager = self.parent
        spec = manager.spec
        await asyncio.to_thread(wait_until_ready, spec.zygote)
        stub_command = sandbox_command([STUB], spec, files, [sockets], manager.group, seccomp)
        read_end, write_end = os.pipe()
        try:
            try:
                await super().launch_kernel(stub_command, **{**kwargs, "stdin": read_end})
            finally:
                os.close(read_end)
            sandbox = self.process
            stub = None
            try:
                stub = await asyncio.to_thread(find_stub, sandbox.pid)
                manager.warm_pid = await asyncio.to_thread(
                    request_kernel, spec.zygote, self._request(cmd, stub.pid), stub
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
        return self.connection_info

    def _request(self, cmd: list[str], stub_pid: int) -> LaunchRequest:
        manager = self.parent
        spec, limits, group = manager.spec, manager.spec.limits, manager.group
        return LaunchRequest(
            stub_pid=stub_pid,
            arguments=tuple(cmd[3:]),
            workdir=WORKDIR,
            uid=spec.uid,
            cpu_seconds=limits.cpu_seconds,
            memory_bytes=limits.memory_bytes,
            max_processes=process_limit(limits),
            max_file_bytes=limits.max_file_bytes,
            cgroup_procs=tuple(str(p / "cgroup.procs") for p in group.paths) if group else (),
            cpus=spec.cpus if group is None else (),
            seccomp=spec.seccomp,
        )

    async def cleanup(self, restart: bool = False) -> None:
        await super().cleanup(restart=restart)
        if restart:
            return
        manager = self.parent
        manager.output.close()
        if manager.group is not None:
            manager.group.remove()
        manager.remove_folders()


def _is_ipykernel(kernel_cmd: list[str]) -> bool:
    """Whether ``kernel_cmd`` is ``python -m ipykernel_launcher -f FILE [--Option=value]``."""
    return (
        kernel_cmd[:4] == [sys.executable, "-m", "ipykernel_launcher", "-f"]
        and len(kernel_cmd) >= 5
        and all(argument.startswith("--") for argument in kernel_cmd[5:])
    )
