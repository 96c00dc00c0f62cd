"""The seccomp filter on every sandboxed process: kernel interfaces a notebook has no use for.

The mount, PID, network, IPC and UTS namespaces close what a student kernel
can *see*; this filter closes what it can *ask the Linux kernel for*, some of
which outlives the sandbox or widens what the kernel exposes:

- keyrings (``add_key``, ``request_key``, ``keyctl``): a key stored in the
  user's keyring outlives the sandbox and would reach the next notebook
  graded as the same user;
- new namespaces and mounts (``unshare``, ``setns``, ``clone``/``clone3`` with a
  namespace flag, ``mount`` and the new mount API, ``pivot_root``): a new user
  namespace hands a process every capability inside it;
- ``ptrace``, ``process_vm_readv``/``writev``, ``perf_event_open``, ``bpf``,
  ``userfaultfd``, ``io_uring_*``, ``kexec_*``, module loading, ``acct``,
  ``swapon``/``swapoff``, ``reboot`` and ``open_by_handle_at``.

Each is refused with ``EPERM`` (``clone3`` with ``ENOSYS``, so that the C
library falls back to ``clone``, whose flags the filter can read). The filter
is built with libseccomp through its ctypes bindings (``pyseccomp``); a
plain kernel gets it from bubblewrap (``--seccomp FD``), a kernel forked from
a zygote loads it itself before it runs anything of the student's
(:mod:`autograder.grading.sandbox.zygote`).
"""

from __future__ import annotations

import errno
import functools
import os
import tempfile

#: System calls refused outright.
DENIED = (
    "add_key",
    "request_key",
    "keyctl",
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "perf_event_open",
    "bpf",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "acct",
    "swapon",
    "swapoff",
    "reboot",
    "open_by_handle_at",
)
#: ``clone`` flags that make a new namespace: refused.
NAMESPACE_FLAGS = {
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}


@functools.cache
def syscall_filter():
    """The filter (a ``pyseccomp.SyscallFilter``): allow everything but the above."""
    import pyseccomp

    syscalls = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    for name in DENIED:
        syscalls.add_rule(pyseccomp.ERRNO(errno.EPERM), name)
    for flag in NAMESPACE_FLAGS.values():
        syscalls.add_rule(
            pyseccomp.ERRNO(errno.EPERM), "clone", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, flag, flag)
        )
    syscalls.add_rule(pyseccomp.ERRNO(errno.ENOSYS), "clone3")
    return syscalls


@functools.cache
def bpf_program() -> bytes:
    """The filter as a compiled BPF program, what ``bwrap --seccomp FD`` reads."""
    with tempfile.TemporaryFile() as stream:
        syscall_filter().export_bpf(stream)
        stream.seek(0)
        return stream.read()


def program_descriptor() -> int:
    """A readable descriptor holding :func:`bpf_program`, to hand to bubblewrap."""
    read_end, write_end = os.pipe()
    program = bpf_program()
    if len(program) > 65536:  # the pipe's buffer: bubblewrap reads it only once started
        raise RuntimeError("the seccomp program is larger than a pipe holds")
    os.write(write_end, program)
    os.close(write_end)
    return read_end


def load_into_this_process() -> None:
    """Apply the filter to this process (it must already have ``no_new_privs`` or be root)."""
    syscall_filter().load()
