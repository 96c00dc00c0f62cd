"""The kit as a regular wheel: bundled files come through importlib.resources, not the checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.resources import Bundled, bundled_path, in_checkout

pytestmark = pytest.mark.integration  # kernels, sandboxes or processes

REPO = Path(__file__).resolve().parents[1]
# What a used checkout holds next to the sources; none of it may reach a wheel.
GENERATED = (
    "assignments/gradebook.db",
    "assignments/release/cnn/1_lenet5_mnist.ipynb",
    "assignments/submitted/ada/cnn/1_lenet5_mnist.ipynb",
    "assignments/grading/cnn/records/ada.json",
    "assignments/source/cnn/Fashion_MNIST.h5",
    "book/_build/html/index.html",
    "book/_generated/leaderboard.md",
    "data/course/private/answer_key.csv",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the tracked files plus the outputs of a used checkout."""
    source = tmp_path_factory.mktemp("checkout")
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (entry.decode() for entry in tracked)):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    for name in GENERATED:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text("generated, private")
    out = tmp_path_factory.mktemp("wheel")
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run(
        [*build, "--wheel-dir", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("coursekit-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("site-packages")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)  # what pip does with a pure-Python wheel
    return target


def run_installed(installed: Path, cwd: Path, *argv: str) -> subprocess.CompletedProcess:
    """Python with the wheel's packages first on the path, in a folder away from the checkout."""
    env = {**os.environ, "PYTHONPATH": str(installed), "PYTHONSAFEPATH": "1"}
    return subprocess.run(
        [sys.executable, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_a_checkout_finds_its_own_folders():
    assert in_checkout()
    assert bundled_path(Bundled.COURSE) == REPO / "assignments"
    assert bundled_path(Bundled.BENCHMARK_RESULTS) == REPO / "bench" / "results.md"


def test_the_wheel_ships_the_course_the_book_and_the_benchmarks(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    bundled = "autograder/bundled/"
    for expected in (
        "assignments/nbgrader_config.py",
        "assignments/source/cnn/1_lenet5_mnist.ipynb",
        "assignments/source/cnn/2_fashion_cnn.ipynb",
        "book/_config.yml",
        "book/_toc.yml",
        "book/theory/f1.md",
        "bench/results.md",
    ):
        assert bundled + expected in names
    for package in ("course", "grading", "leaderboard", "site", "demo", "cli"):
        assert f"autograder/{package}/__init__.py" in names
    assert "utilities/__init__.py" in names


def test_the_wheel_ships_nothing_generated_or_private(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for generated in GENERATED:
        assert not [name for name in names if name.endswith(generated)], generated
    assert not [name for name in names if name.endswith((".h5", ".db", ".csv"))]


def test_an_installed_wheel_reads_its_files_through_importlib_resources(installed, tmp_path):
    probe = (
        "import json, autograder\n"
        "from autograder import resources\n"
        "from autograder.course.folder import DEFAULT_COURSE_ROOT\n"
        "from autograder.site.content import BENCHMARK_RESULTS\n"
        "print(json.dumps({'package': autograder.__file__, 'checkout': resources.in_checkout(),\n"
        "  'course': str(resources.bundled_path(resources.Bundled.COURSE)),\n"
        "  'course_root': str(DEFAULT_COURSE_ROOT), 'benchmarks': str(BENCHMARK_RESULTS)}))\n"
    )
    done = run_installed(installed, tmp_path, "-c", probe)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["package"].startswith(str(installed))
    assert found["checkout"] is False
    assert found["course"] == str(installed / "autograder" / "bundled" / "assignments")
    assert found["benchmarks"] == str(installed / "autograder" / "bundled" / "bench" / "results.md")
    assert found["course_root"] == str(tmp_path / "assignments")  # where `coursekit init` copies


def test_coursekit_init_copies_the_course_and_book_and_keeps_edited_files(installed, tmp_path):
    course = tmp_path / "course"
    done = run_installed(installed, tmp_path, "-m", "autograder.cli", "init", str(course))
    assert done.returncode == 0, done.stderr
    assert (course / "assignments" / "nbgrader_config.py").is_file()
    notebooks = sorted(path.name for path in (course / "assignments/source/cnn").glob("*.ipynb"))
    assert notebooks == ["1_lenet5_mnist.ipynb", "2_fashion_cnn.ipynb"]
    assert (course / "book" / "_toc.yml").is_file()
    edited = course / "assignments" / "source" / "cnn" / "1_lenet5_mnist.ipynb"
    edited.write_text("the instructor's own version")
    again = run_installed(installed, tmp_path, "-m", "autograder.cli", "init", str(course))
    assert again.returncode == 0, again.stderr
    assert edited.read_text() == "the instructor's own version"
    listed = run_installed(
        installed,
        course,
        "-c",
        "from autograder.course.folder import DEFAULT_COURSE_ROOT, source_notebooks\n"
        "print([p.name for p in source_notebooks(DEFAULT_COURSE_ROOT, 'cnn')])",
    )
    assert listed.returncode == 0, listed.stderr
    assert "2_fashion_cnn.ipynb" in listed.stdout


def test_a_folder_without_the_course_says_how_to_get_it(installed, tmp_path):
    done = run_installed(
        installed,
        tmp_path,
        "-c",
        "from autograder.course.folder import DEFAULT_COURSE_ROOT, source_notebooks\n"
        "source_notebooks(DEFAULT_COURSE_ROOT, 'cnn')",
    )
    assert done.returncode != 0
    assert "coursekit init" in done.stderr
