"""Where else the kit must run: the student install on Python 3.12 and 3.13, and the metrics
and plots on Keras's JAX backend.

Each runs in its own process (a venv per Python: scripts/student-install-check.sh; a pytest
run with ``KERAS_BACKEND=jax``), so that ``make test`` schedules them beside the rest of the
suite instead of after it.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import EXAMPLE_SHARE_ENV, REPO

pytestmark = pytest.mark.slow
# The property tests' share of examples here: each new shape is a new compilation on JAX, and
# the main suite has drawn them all on Python 3.11 with TensorFlow.
OTHER_INSTALL_SHARE = "0.25"


def _tail(result: subprocess.CompletedProcess, lines: int = 40) -> str:
    return "\n".join((result.stdout + result.stderr).splitlines()[-lines:])


@pytest.mark.parametrize("version", ["3.12", "3.13"])
def test_the_student_install_passes_the_student_tests_on_python(version):
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "student-install-check.sh"), version],
        env={**os.environ, EXAMPLE_SHARE_ENV: OTHER_INSTALL_SHARE},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode == 0 and "SKIPPED" in result.stdout:
        pytest.skip(result.stdout.strip())
    assert result.returncode == 0, _tail(result)
    assert " passed" in result.stdout, _tail(result)
    print(result.stdout)


def test_metrics_checks_and_plots_work_on_the_jax_backend():
    pytest.importorskip("jax")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
    result = subprocess.run(
        [*command, "tests/test_metrics.py", "tests/test_checks.py", "tests/test_plots.py"],
        cwd=REPO,
        env={**os.environ, "KERAS_BACKEND": "jax", EXAMPLE_SHARE_ENV: OTHER_INSTALL_SHARE},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, _tail(result)
    assert " failed" not in result.stdout, _tail(result)
