"""The kit's settings: every default defined once, with the environment variable that changes it.

:class:`Settings` holds the instructor commands' defaults; ``Settings.from_environment()``
applies the ``COURSEKIT_`` variables, and each command-line flag takes its default from
the result (``coursekit COMMAND --help`` prints it). :class:`Env` names every variable the
kit reads, students' ones included (those live in ``utilities``, which students install
without this package); the README's settings table lists exactly these
(``tests/test_settings.py``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from pathlib import Path

from autograder.resources import default_book_dir, default_course_root


class Env(StrEnum):
    """Every environment variable the kit reads.

    The students' ones are read in ``utilities`` (``utilities.data``, ``utilities.runmode``,
    ``utilities.handin``), which cannot import this package; a test holds the two equal.
    """

    DATA_MIRROR = "COURSEKIT_DATA_MIRROR"
    OFFLINE = "COURSEKIT_OFFLINE"
    CACHE_DIR = "COURSEKIT_CACHE_DIR"
    COURSE_DATA = "COURSEKIT_COURSE_DATA"
    COURSE_ROOT = "COURSEKIT_COURSE_ROOT"
    FAST_MODE = "COURSEKIT_FAST_MODE"
    CHROMIUM = "COURSEKIT_CHROMIUM"
    DASK_SCHEDULER = "COURSEKIT_DASK_SCHEDULER"
    GRADEBOOK_URL = "COURSEKIT_GRADEBOOK_URL"
    BOOK_REPOSITORY = "COURSEKIT_BOOK_REPOSITORY"
    MATHJAX = "COURSEKIT_MATHJAX"
    TEST_ARTIFACTS = "COURSEKIT_TEST_ARTIFACTS"
    DEBUG = "COURSEKIT_DEBUG"
    WARM_KERNELS = "COURSEKIT_WARM_KERNELS"


# Set by the kit for its own processes, never by people: not in the README's table.
INTERNAL_VARIABLES = ("COURSEKIT_GRADER_PID",)  # autograder.grading.pipeline.worker's parent


@dataclass(frozen=True)
class Settings:
    """The instructor commands' defaults. A field with ``env`` metadata reads that variable."""

    course_data: Path = field(default=Path("data/course"), metadata={"env": Env.COURSE_DATA})
    course_root: Path = field(
        default_factory=default_course_root, metadata={"env": Env.COURSE_ROOT}
    )
    book_dir: Path = field(default_factory=default_book_dir)
    gradebook_url: str | None = field(default=None, metadata={"env": Env.GRADEBOOK_URL})
    scheduler: str | None = field(default=None, metadata={"env": Env.DASK_SCHEDULER})
    book_repository: str | None = field(default=None, metadata={"env": Env.BOOK_REPOSITORY})
    debug: bool = field(default=False, metadata={"env": Env.DEBUG})
    # Fork student kernels from a zygote that imported TensorFlow once (autograder.grading.sandbox.zygote).
    warm_kernels: bool = field(default=True, metadata={"env": Env.WARM_KERNELS})
    # The course dataset (`coursekit data build`).
    seed: int = 2024
    total_images: int = 70_000  # Fashion-MNIST: 60,000 official train + 10,000 official test
    test_size: int = 10_500
    public_fraction: float = 0.3
    # The Leaky ReLU slope the course teaches with: the site's figure, the notebook's figure
    # and its model answer (tests/test_teaching_facts.py checks that they agree).
    leaky_relu_slope: float = 0.1

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The defaults, with every set (non-empty) ``COURSEKIT_`` variable applied."""
        environ = os.environ if environ is None else environ
        changes = {}
        for item in fields(cls):
            value = environ.get(item.metadata.get("env", ""), "")
            if value:
                changes[item.name] = _parse(item.type, value)
        return replace(cls(), **changes)


def _parse(kind: str, value: str):
    if kind == "Path":
        return Path(value)
    if kind == "bool":
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return value


DEFAULTS = Settings()
