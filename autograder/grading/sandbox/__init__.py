"""Containment: everything that makes and limits the sandbox a student's kernel runs in.

The public entry is :class:`SandboxedKernelManager` (jupyter_client's kernel manager, whose
kernels start through :mod:`~autograder.grading.sandbox.provisioner`), with its
:class:`SandboxSpec` and :class:`SandboxLimits`; :func:`sandbox_problem` says why a host
cannot sandbox. The rest (bubblewrap, seccomp, control groups, the zygote) is inside.
"""

from autograder.grading.sandbox.bwrap import SandboxError, sandbox_command, sandbox_problem
from autograder.grading.sandbox.kernels import SandboxedKernelManager
from autograder.grading.sandbox.limits import (
    FIRST_SLOT_UID,
    SANDBOX_UID,
    WORKDIR,
    SandboxLimits,
    SandboxSpec,
    default_spec,
)

__all__ = [
    "FIRST_SLOT_UID",
    "SANDBOX_UID",
    "WORKDIR",
    "SandboxError",
    "SandboxLimits",
    "SandboxSpec",
    "SandboxedKernelManager",
    "default_spec",
    "sandbox_command",
    "sandbox_problem",
]
