"""A student's machine for the student tests: a kept folder with its venv, a shell, a server.

The folder and its ``.venv`` are kept in ``~/.cache/coursekit/student-venvs/WAY-path-...``, one
per Python and per set of dependencies of the student install (``COURSEKIT_STUDENT_VENVS``
moves them, as for scripts/student-install-check.sh); each use empties the folder but the
venv. ``COURSEKIT_FRESH_STUDENT_VENV=1`` starts from nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

import utilities
from conftest import REPO

FRESH_ENV = "COURSEKIT_FRESH_STUDENT_VENV"


# What a fresh machine does not have: the kit's dev venv, and the suite's own settings.
NOT_THE_STUDENTS = (
    "VIRTUAL_ENV",
    "PYTHONPATH",
    "PYTHONHOME",
    "CONDA_PREFIX",
    "MPLBACKEND",
    "TF_CPP_MIN_LOG_LEVEL",
)


@dataclass
class Student:
    """A student's folder, shell environment and the page's lines for their way of working."""

    folder: Path
    env: dict[str, str]
    lines: list[str]  # the tab's lines, the repository's address replaced
    seconds: float = 0.0

    def shell(self, lines: list[str], timeout: float = 1800) -> subprocess.CompletedProcess:
        script = "\n".join(["set -euo pipefail", *lines])
        return subprocess.run(
            ["bash", "-c", script],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    @property
    def venv(self) -> Path:
        return self.folder / ".venv"

    @property
    def activate(self) -> str:
        """The tab's line that activates the environment (what a new terminal needs again)."""
        (line,) = [line for line in self.lines if line.split()[:1] in (["source"], ["conda"])
                   and "activate" in line]  # fmt: skip
        return line


def student_environment(home: Path) -> dict[str, str]:
    """This machine's environment as a student's shell has it: no dev venv, a fresh Jupyter."""
    env = {key: value for key, value in os.environ.items() if key not in NOT_THE_STUDENTS}
    dev_bin = str(Path(sys.prefix) / "bin")
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p and p != dev_bin)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        env[name] = str(home / name.lower())
    env["PIP_REQUIRE_VIRTUALENV"] = "1"  # a line run outside the venv fails, never installs
    return env


def student_install_key(python: str) -> str:
    """The cache key: the Python, and what the student install asks for."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = [project["requires-python"], project["dependencies"], extras["handin"]]
    digest = hashlib.sha256(json.dumps([*wanted, extras["student"]]).encode()).hexdigest()
    return f"python{python}-{digest[:16]}"


def student_venvs() -> Path:
    """Where student venvs are kept, as scripts/student-install-check.sh keeps them."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return Path(os.environ.get("COURSEKIT_STUDENT_VENVS") or cache / "coursekit" / "student-venvs")


def student_folder(env: dict[str, str], way: str) -> Path:
    """The kept folder for ``way``: emptied but for its venv, or made anew."""
    python = subprocess.run(
        ["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert python in utilities._VERSIONS, f"python3 here is {python}, which the page rules out"
    venvs = student_venvs()
    folder = venvs / f"{way}-path-{student_install_key(python)}"
    for stale in venvs.glob(f"{way}-path-python{python}-*"):
        if stale != folder:
            shutil.rmtree(stale)  # an older set of dependencies
    keep = (folder / ".venv" / ".complete").is_file() and os.environ.get(FRESH_ENV) != "1"
    if folder.is_dir():
        for entry in folder.iterdir():
            if not (keep and entry.name == ".venv"):
                shutil.rmtree(
                    entry
                ) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def tail(result: subprocess.CompletedProcess, lines: int = 40) -> str:
    return "\n".join((result.stdout + result.stderr).splitlines()[-lines:])


def disk_size(folder: Path) -> int:
    return int(subprocess.run(["du", "-sb", str(folder)], capture_output=True, text=True,
                              check=True).stdout.split()[0])  # fmt: skip


def stop(server: subprocess.Popen) -> None:
    """Stop JupyterLab as Ctrl+C would (it shuts its kernels down), then for good."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def api(base: str, token: str, path: str, method: str = "GET"):
    request = urllib.request.Request(
        base + path, method=method, headers={"Authorization": f"token {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
    except OSError:
        return None
    return json.loads(body) if body else {}


def wait_for(ready, seconds: float, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if server.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"JupyterLab did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)
