"""Containment: everything that makes and limits the sandbox a student's kernel runs in.

The public entry is :class:`SandboxedKernelManager` (jupyter_client's kernel manager, whose
kernels start through :mod:`~autograder.grading.sandbox.provisioner`), with its
:class:`SandboxSpec` and :class:`SandboxLimits`; :func:`sandbox_problem` says why a host
cannot sandbox. The rest (bubblewrap, seccomp, control groups, the zygote) is inside.
Names load on first use, so that reading the limits does not import jupyter_client.
"""

import importlib

_EXPORTS = {
    "FIRST_SLOT_UID": "limits",
    "SANDBOX_UID": "limits",
    "WORKDIR": "limits",
    "SandboxLimits": "limits",
    "SandboxSpec": "limits",
    "default_spec": "limits",
    "SandboxError": "bwrap",
    "sandbox_command": "bwrap",
    "sandbox_problem": "bwrap",
    "SandboxedKernelManager": "kernels",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
