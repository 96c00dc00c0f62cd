"""Where else the kit must run: the student install on Python 3.12 and 3.13, the metrics and
plots on Keras's JAX backend, Colab's first cell, a JupyterHub's nbgrader exchange, and the
one-sentence errors on a Python the kit does not support or that lacks its packages.

The installs run in their own processes (a venv per Python: scripts/student-install-check.sh;
a pytest run with ``KERAS_BACKEND=jax``), so that ``make test`` schedules them beside the rest
of the suite instead of after it. The laptop's pip way is tests/test_student_path.py.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from student_site import (
    build_student_pages,
    code_lines,
    page_text,
    served_repository,
    serving,
    tab,
)

from conftest import EXAMPLE_SHARE_ENV, REPO, released_course
from utilities.handin import MODEL_FILE
from utilities.loaders import FASHION_MNIST_FILE

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


# -- Colab ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory, course_build):
    book = tmp_path_factory.mktemp("site") / "book"
    files = build_student_pages(book, course_build.student_file)
    return files, page_text(book)


def test_colabs_first_cell_installs_the_kit_from_the_course_repository(site, tmp_path):
    files, text = site
    pip, *_ = code_lines(tab(text, "Colab"), "ipython")
    command = shlex.split(pip.removeprefix("!"))
    requirement = command[-1]
    assert requirement == f"coursekit @ git+{files.repository.url}@{files.repository.branch}"
    with served_repository(tmp_path, files.repository.branch) as url:
        local = [part.replace(files.repository.url, url) for part in command]
        result = subprocess.run(
            [sys.executable, "-m", *local, "--dry-run", "--no-deps", "--ignore-installed",
             "--report", "-"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
    assert result.returncode == 0, _tail(result)
    (installed,) = json.loads(result.stdout[result.stdout.index("{") :])["install"]
    assert installed["metadata"]["name"] == "coursekit"


def test_colabs_first_cell_fetches_the_data_file_and_checks_its_sha256(
    site, course_build, tmp_path
):
    files, text = site
    _, fetch, check = (line.removeprefix("!") for line in code_lines(tab(text, "Colab"), "ipython"))
    served = tmp_path / "served"
    raw = served / "course" / "raw" / files.repository.branch / files.assignment
    raw.mkdir(parents=True)
    shutil.copy(course_build.student_file, raw / FASHION_MNIST_FILE)
    colab = tmp_path / "content"
    colab.mkdir()
    with serving(served) as url:
        script = "\n".join([fetch.replace(files.repository.url, f"{url}course"), check])
        first = _bash(script, colab)
        again = _bash(script, colab)  # a second run of the cell keeps the file and checks it
        (raw / FASHION_MNIST_FILE).write_bytes(b"a truncated download")
        (colab / FASHION_MNIST_FILE).unlink()
        broken = _bash(script, colab)
    assert first.returncode == 0 and f"{FASHION_MNIST_FILE}: OK" in first.stdout, _tail(first)
    assert again.returncode == 0, _tail(again)
    assert (colab / FASHION_MNIST_FILE).read_bytes() == b"a truncated download"
    assert broken.returncode != 0 and f"{FASHION_MNIST_FILE}: FAILED" in broken.stdout


def _bash(script: str, folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", f"set -euo pipefail\n{script}"],
        cwd=folder, capture_output=True, text=True, check=False,
    )  # fmt: skip


# -- JupyterHub: nbgrader's exchange -------------------------------------------------------


def _nbgrader(folder: Path, *arguments: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", *arguments, "--course=cnn-course"],
        cwd=folder, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, _tail(result)
    return result


def test_a_jupyterhub_student_fetches_the_notebooks_with_the_data_and_submits_through_the_exchange(
    tmp_path, course_build
):
    course = released_course(tmp_path / "course")
    shutil.copy(course_build.student_file, course / "release" / "cnn" / FASHION_MNIST_FILE)
    exchange, home = tmp_path / "exchange", tmp_path / "home"
    exchange.mkdir(mode=0o777)
    home.mkdir()
    root = f"--Exchange.root={exchange}"
    _nbgrader(course, "release_assignment", "cnn", root)
    _nbgrader(home, "fetch_assignment", "cnn", root)  # the Assignments tab's Fetch
    fetched = home / "cnn"
    assert sorted(p.name for p in fetched.iterdir()) == sorted(
        [FASHION_MNIST_FILE, "1_lenet5_mnist.ipynb", "2_fashion_cnn.ipynb"]
    )
    assert (fetched / FASHION_MNIST_FILE).read_bytes() == course_build.student_file.read_bytes()
    (fetched / MODEL_FILE).write_bytes(b"what Part 2 saved")
    _nbgrader(home, "submit", "cnn", root)  # the Assignments tab's Submit
    _nbgrader(course, "collect", "cnn", root)
    (student,) = (course / "submitted").iterdir()
    handed_in = {p.name for p in (student / "cnn").iterdir()}
    assert {"1_lenet5_mnist.ipynb", "2_fashion_cnn.ipynb", MODEL_FILE} <= handed_in


# -- One sentence when the Python or its packages are wrong ----------------------------------


def _pyenv_python(version: str) -> Path:
    found = sorted(Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")).glob(
        f"versions/{version}.*/bin/python"
    ))  # fmt: skip
    if not found:
        pytest.skip(f"no Python {version} here (pyenv install {version})")
    return found[-1]


def _import_utilities(python: Path) -> subprocess.CompletedProcess:
    """``from utilities import *`` in ``python`` with the kit's folder on its path, no packages."""
    return subprocess.run(
        [str(python), "-I", "-c", f"import sys; sys.path.insert(0, {str(REPO)!r}); "
         "from utilities import *"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_an_unsupported_python_gets_one_sentence_saying_which_pythons_work():
    result = _import_utilities(_pyenv_python("3.10"))
    last = result.stderr.strip().splitlines()[-1]
    assert re.fullmatch(
        r"ImportError: The course kit needs Python 3\.11, 3\.12 or 3\.13, and this kernel runs "
        r"Python 3\.10\.\d+: install one of those, set up the kit in it as the course site's "
        r"Getting started page shows, and choose its kernel\.",
        last,
    ), last


def test_a_python_without_the_kits_packages_gets_one_sentence_saying_what_to_install():
    python = _pyenv_python("3.12")
    result = _import_utilities(python)
    last = result.stderr.strip().splitlines()[-1]
    match = re.fullmatch(
        r"ModuleNotFoundError: The course kit needs (\w+), which this kernel's Python \((.+)\) "
        r"does not have: install coursekit\[student\] into it with the pip line of the course "
        r"site's Getting started page\.",
        last,
    )
    assert match, last
    assert match.group(1) in ("numpy", "h5py", "sklearn", "tensorflow", "keras")
    assert Path(match.group(2)).resolve() == python.resolve()
