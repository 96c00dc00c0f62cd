"""The kit's settings: one typed object, every default defined once, every variable named once.

:class:`Settings` holds the instructor commands' defaults, grouped by product
(:class:`GradingOptions`, :class:`LeaderboardOptions`, :class:`LatePolicy`);
``Settings.from_environment()`` applies the ``COURSEKIT_`` variables, and the command line
(``autograder.cli``) takes every flag's default from the result and passes the object, or
the part a product needs, down. :class:`Env` names every variable the kit reads, students'
ones included (those live in ``utilities``, which students install without this
package); the README's settings table lists exactly these
(``tests/test_settings.py``), and a test holds every command-line default to
this object.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from enum import StrEnum
from pathlib import Path

from autograder.grading.sandbox.limits import SandboxLimits
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


def _cores() -> int:
    return os.cpu_count() or 1


@dataclass(frozen=True)
class GradingOptions:
    """How ``coursekit grade`` grades: where, how many at once, within which limits."""

    workers: int = field(default_factory=_cores)  # students graded at once on this machine
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    force: bool = False  # regrade unchanged submissions too
    progress: bool = True  # a progress bar
    gradebook_url: str | None = field(default=None, metadata={"env": Env.GRADEBOOK_URL})
    scheduler: str | None = field(default=None, metadata={"env": Env.DASK_SCHEDULER})
    # Fork student kernels from a zygote that imported TensorFlow once (autograder.grading.sandbox).
    warm_kernels: bool = field(default=True, metadata={"env": Env.WARM_KERNELS})


@dataclass(frozen=True)
class LeaderboardOptions:
    """How ``coursekit leaderboard`` takes uploads in."""

    daily_limit: int = 5  # scored uploads per team per UTC day
    max_upload_bytes: int = 1 << 20  # a full submission (10,500 rows) is about 90 kB


@dataclass(frozen=True)
class LatePolicy:
    """How a late hand-in loses points (``coursekit grades late``); the due date is per assignment.

    A hand-in after the due date plus the grace period loses ``percent_per_day`` of its points
    for each day started since the due date, at most ``cap_percent``; after a cutoff, all.
    """

    grace_minutes: int = 15  # a hand-in this long after the due date is still on time
    percent_per_day: float = 10.0  # of the student's own points, per day started
    cap_percent: float = 50.0  # the most a late hand-in loses before the cutoff
    timezone: str = "UTC"  # for due dates and hand-in times written without an offset
    # A hand-in known only by its file's modification time (copies reset it) gets no penalty
    # and a review note, unless this is on.
    trust_file_times: bool = False


@dataclass(frozen=True)
class Settings:
    """The instructor commands' defaults. A field with ``env`` metadata reads that variable."""

    course_data: Path = field(default=Path("data/course"), metadata={"env": Env.COURSE_DATA})
    course_root: Path = field(
        default_factory=default_course_root, metadata={"env": Env.COURSE_ROOT}
    )
    book_dir: Path = field(default_factory=default_book_dir)
    book_repository: str | None = field(default=None, metadata={"env": Env.BOOK_REPOSITORY})
    debug: bool = field(default=False, metadata={"env": Env.DEBUG})
    grading: GradingOptions = field(default_factory=GradingOptions)
    leaderboard: LeaderboardOptions = field(default_factory=LeaderboardOptions)
    late: LatePolicy = field(default_factory=LatePolicy)
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
        return _with_environment(cls(), os.environ if environ is None else environ)


def _with_environment(settings, environ: Mapping[str, str]):
    changes = {}
    for item in fields(settings):
        value = getattr(settings, item.name)
        if is_dataclass(value) and not isinstance(value, SandboxLimits):
            changes[item.name] = _with_environment(value, environ)
            continue
        text = environ.get(item.metadata.get("env", ""), "")
        if text:
            changes[item.name] = _parse(item.type, text)
    return replace(settings, **changes)


def _parse(kind: str, value: str):
    if kind == "Path":
        return Path(value)
    if kind == "bool":
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return value


DEFAULTS = Settings()
