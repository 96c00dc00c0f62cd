"""Shared fixtures: the read-only dataset mirror, an isolated cache, one course build."""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_MIRROR = REPO.parent / "shared" / "data"

# Facts from ../shared/data/README.md
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
MNIST_FIRST_TRAIN_LABELS = [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]


# `make test` runs several test processes on few cores, each with TensorFlow (in-process models,
# and the kernels and commands it starts outside a sandbox): one thread each does the same work
# in less CPU time (the Part 2 zoo alone, 2 idle cores: 118 s of CPU instead of 139 s, and
# sooner). Sandboxed kernels get their own thread counts from the grader.
ONE_THREAD = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")


# `make test-unit` sets this: a test that starts any process there fails, naming the marker
# it lacks, so the unit tier stays the tests that run in this process, in seconds.
UNIT_TIER_ENV = "COURSEKIT_TEST_UNIT"


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for name in ONE_THREAD:
        os.environ.setdefault(name, "1")
    if not os.environ.get("COURSEKIT_DATA_MIRROR") and SHARED_MIRROR.is_dir():
        os.environ["COURSEKIT_DATA_MIRROR"] = str(SHARED_MIRROR)


# The longest test modules, longest first (seconds each took in a full `make test`, 2 cores).
# `make test` runs the suite on several workers, one module per worker at a time
# (pytest-xdist's loadfile, so that a module's fixtures are built once, with
# --no-loadscope-reorder, so that this order is kept); starting these first keeps the
# longest one from being handed out last.
LONGEST_FIRST = (
    "test_other_installs.py",  # 316
    "test_regrade_keeps_people.py",  # 317
    "test_grade_class.py",  # 330 (the demo cohort of 13 through coursekit grade)
    "test_handin.py",  # 295
    "test_student_path.py",  # 252 (a student venv made from nothing: +150)
    "test_zoo_fashion.py",  # 150 (17 variants, with the grader's checker)
    "test_zoo_lenet.py",  # 110 (28 variants)
    "test_release.py",  # 226
    "test_sandbox.py",  # 200
    "test_site.py",  # 156
    "test_cli.py",  # 127
    "test_grade_dask.py",  # 105
    "test_dataset.py",  # 57
    "test_wave3.py",  # 47 (hostile wave 3 on the kernel interfaces, two with protections off)
    "test_demo_leaderboard.py",  # 50
    "test_metrics.py",  # 30
    "test_integrity.py",  # 30
    "test_checks.py",  # 25
    "test_plots.py",  # 23
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the order within a module is kept


@pytest.fixture(autouse=True)
def no_processes_in_the_unit_tier(monkeypatch, request):
    """In the unit tier, starting a process (kernel, sandbox, browser, command) is a failure."""
    if os.environ.get(UNIT_TIER_ENV) != "1":
        return
    import subprocess

    def refuse(*args, **kwargs):
        pytest.fail(
            f"{request.node.nodeid} starts a process; mark it "
            "@pytest.mark.integration (or slow) to keep it out of the unit tier"
        )

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    monkeypatch.setattr(os, "fork", refuse)
    monkeypatch.setattr(os, "posix_spawn", refuse)


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every test downloads into a fresh cache, never the user's own."""
    cache = tmp_path_factory.mktemp("cache")
    os.environ["COURSEKIT_CACHE_DIR"] = str(cache)
    return cache


@pytest.fixture(scope="session")
def mirror_dir() -> Path:
    """The local dataset mirror (the first one configured); tests treat it as read-only."""
    first = os.environ.get("COURSEKIT_DATA_MIRROR", "").split(",")[0].strip()
    path = Path(first)
    if not (path / "mnist").is_dir():
        pytest.fail(
            "tests need a local dataset mirror: set COURSEKIT_DATA_MIRROR to a folder with "
            f"mnist/ and fashion-mnist/ (got {first!r})"
        )
    return path


@pytest.fixture(scope="session")
def fashion_raw(mirror_dir):
    from utilities.data import load_raw

    return load_raw("fashion-mnist")


@pytest.fixture(scope="session")
def course_build(tmp_path_factory, mirror_dir):
    """One course dataset build with the default seed, shared by the tests that only read it."""
    from autograder.course.dataset import build_course_dataset

    return build_course_dataset(tmp_path_factory.mktemp("course"))


# The other installs (tests/test_other_installs.py: Python 3.12 and 3.13, Keras on JAX) run the
# same property tests again on a share of their examples; the main suite draws them all.
EXAMPLE_SHARE_ENV = "COURSEKIT_TEST_EXAMPLE_SHARE"


def examples(count: int) -> int:
    """How many examples a property test that asks for ``count`` draws in this run (at least 5)."""
    share = float(os.environ.get(EXAMPLE_SHARE_ENV) or 1)
    return max(5, round(count * share))


def released_course(folder: Path) -> Path:
    """A scratch copy of the kit's course in ``folder`` with ``cnn`` released by nbgrader."""
    from autograder.course.folder import DEFAULT_COURSE_ROOT, run_nbgrader, scratch_course

    course = scratch_course(DEFAULT_COURSE_ROOT, "cnn", folder)
    run_nbgrader(course, "generate_assignment", "cnn", "--force")
    return course


def sandboxed_grade_run(course: Path, submissions: Path, course_build):
    """How the end-to-end tests grade ``submissions`` in ``course``: two sandboxed workers."""
    from autograder.grading.pipeline.grade import GradeRun
    from autograder.grading.sandbox import SandboxLimits
    from autograder.layout import CourseLayout
    from autograder.settings import GradingOptions
    from utilities.data import default_cache_dir, fetch_dataset

    fetch_dataset("mnist", cache_dir=default_cache_dir())
    return GradeRun(
        assignment="cnn",
        submissions=submissions,
        layout=CourseLayout.at(course),
        dataset_file=course_build.student_file,
        cache_dir=default_cache_dir(),
        options=GradingOptions(
            workers=2, limits=SandboxLimits(cell_timeout=60, notebook_timeout=600), progress=False
        ),
        answer_key=course_build.answer_key,
    )


def image_label_counts(images: np.ndarray, labels: np.ndarray) -> Counter:
    """How often each (image, label) pair occurs, keyed by a hash of its bytes."""
    return Counter(
        hashlib.blake2b(image.tobytes() + bytes([int(label)]), digest_size=16).digest()
        for image, label in zip(images, labels, strict=True)
    )
