"""Files the kit ships with: the course's source notebooks, the book's pages, the benchmark tables.

In an installed wheel they are package data under ``autograder/bundled/`` (``setup.py`` copies
them there when the wheel is built) and are found with :mod:`importlib.resources`. In a
checkout the same files are the repository's own folders, and the checkout is the course:
``assignments/`` is its course root and ``book/`` its site, written in place.

An instructor who installed the wheel runs ``coursekit init FOLDER`` once: it copies the
bundled course and book into FOLDER, where nbgrader and Jupyter Book can write.
"""

from __future__ import annotations

import shutil
from enum import StrEnum
from importlib import resources
from pathlib import Path

from utilities.errors import CourseKitError

BUNDLE_DIR = "bundled"
_CHECKOUT = Path(__file__).resolve().parents[1]


class Bundled(StrEnum):
    """What the kit ships, by its path in the repository and in ``autograder/bundled/``."""

    COURSE = "assignments"
    BOOK = "book"
    BENCHMARK_RESULTS = "bench/results.md"


# What of each bundled folder is shipped: never generated output (release, gradebook,
# feedback, the site's build), which a checkout may hold next to the sources.
SHIPPED = {
    Bundled.COURSE: ("README.md", "nbgrader_config.py", "source/*/*.ipynb", "source/*/*.md"),
    Bundled.BOOK: ("*.md", "*.yml", "_static/*", "theory/*.md"),
    Bundled.BENCHMARK_RESULTS: (),
}


class ResourceError(CourseKitError):
    """A bundled file is missing from this installation."""


def in_checkout() -> bool:
    """True when the kit runs from a repository checkout (an editable install) and not a wheel."""
    packaged = resources.files("autograder") / BUNDLE_DIR
    return not packaged.is_dir() and (_CHECKOUT / Bundled.COURSE / "nbgrader_config.py").is_file()


def bundled_path(item: Bundled) -> Path:
    """Where ``item`` is in this installation: the wheel's package data, else the checkout."""
    packaged = resources.files("autograder") / BUNDLE_DIR / item.value
    if packaged.is_file() or packaged.is_dir():
        # pip installs wheels unpacked on disk, so the traversable is a real path.
        return Path(str(packaged))
    checkout = _CHECKOUT / item.value
    if checkout.exists():
        return checkout
    raise ResourceError(
        f"{item.value}: not in this installation of coursekit (neither {BUNDLE_DIR}/ in the "
        "package nor a repository checkout); reinstall coursekit"
    )


def default_course_root() -> Path:
    """The checkout's ``assignments/``; with an installed wheel, ``./assignments``."""
    return bundled_path(Bundled.COURSE) if in_checkout() else Path.cwd() / Bundled.COURSE.value


def default_book_dir() -> Path:
    """The checkout's ``book/``; with an installed wheel, ``./book``."""
    return bundled_path(Bundled.BOOK) if in_checkout() else Path.cwd() / Bundled.BOOK.value


def benchmark_results() -> Path:
    """``bench/results.md`` as shipped; where it is missing, the path the site reports as such."""
    try:
        return bundled_path(Bundled.BENCHMARK_RESULTS)
    except ResourceError:
        return _CHECKOUT / Bundled.BENCHMARK_RESULTS.value


def shipped_files(item: Bundled, source: Path) -> list[Path]:
    """The files of ``item`` under ``source`` that the kit ships, as paths relative to it."""
    if source.is_file():
        return [Path()]
    found = {path for pattern in SHIPPED[item] for path in source.glob(pattern) if path.is_file()}
    return sorted(path.relative_to(source) for path in found)


def copy_bundled(item: Bundled, destination: Path, *, overwrite: bool = False) -> list[Path]:
    """Copy the shipped files of ``item`` to ``destination``; returns the files written.

    An existing file is kept unless ``overwrite``: ``coursekit init`` never replaces an
    instructor's edited notebook or page.
    """
    return copy_shipped(item, bundled_path(item), destination, overwrite=overwrite)


def copy_shipped(
    item: Bundled, source: Path, destination: Path, *, overwrite: bool = False
) -> list[Path]:
    """Copy the files of ``item`` that the kit ships from ``source`` to ``destination``."""
    written = []
    for relative in shipped_files(item, source):  # Path() for a file: source / Path() is source
        target = destination / relative
        if target.exists() and not overwrite:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / relative, target)
        written.append(target)
    return written
