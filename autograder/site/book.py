"""Build the course site: stage the student release and the computed pages, then run Jupyter Book.

``build_book`` writes everything it generates under ``book/_generated/`` and
``book/<assignment>/`` (both git-ignored), then runs Jupyter Book 1.x into
``book/_build/html``:

1. the student release of the assignment, made by nbgrader from the sources
   in a scratch course and checked with :func:`autograder.course.release.find_leaks`,
   becomes the assignment pages (never the sources: no solutions, no hidden
   tests);
2. :mod:`autograder.site.content` computes the tables, numbers, figures and exercises
   (a briefly trained LeNet5 among them, cached in ``cache_dir``);
3. MathJax is unpacked from the verified npm tarball, so math needs no CDN;
4. Jupyter Book builds every page again (``--all``) without executing
   notebooks, with Sphinx warnings as errors unless ``strict`` is off.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml

from autograder.course.folder import CourseError, run_nbgrader, scratch_course, source_notebooks
from autograder.course.release import find_leaks
from autograder.resources import default_book_dir
from autograder.site.content import BENCHMARK_RESULTS, SiteInputs, write_fragments
from autograder.site.downloads import stage_student_files, write_student_fragments
from autograder.site.mathjax import install_mathjax

# The checkout's book/, or ./book with an installed wheel (`coursekit init`).
DEFAULT_BOOK_DIR = default_book_dir()
GENERATED = "_generated"
BUNDLED = "extra"  # html_extra_path in _config.yml: copied to the site's root
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PROBLEM = re.compile(r"(WARNING|ERROR|CRITICAL|SEVERE): (?!All log messages before absl)")


class BookError(CourseError):
    """The site could not be built, or Sphinx reported warnings in strict mode."""


@dataclass(frozen=True)
class BookResult:
    html_dir: Path
    pages: int
    seconds: float


def build_book(
    book_dir: Path,
    course_root: Path,
    assignment: str,
    student_dataset: Path | None,
    leaderboard_dir: Path,
    cache_dir: Path,
    *,
    repository_url: str | None = None,
    benchmark_results: Path = BENCHMARK_RESULTS,
    strict: bool = True,
    report: Callable[[str], None] = print,
) -> BookResult:
    """Build the site into ``book_dir/_build/html``; raise :class:`BookError` on any warning."""
    started = time.perf_counter()
    book_dir = Path(book_dir)
    if not (book_dir / "_config.yml").is_file():
        raise BookError(f"{book_dir}: not a Jupyter Book folder (no _config.yml)")
    generated = book_dir / GENERATED
    generated.mkdir(exist_ok=True)
    for stale in generated.iterdir():  # all but the unpacked MathJax, which is kept
        if stale.name != BUNDLED:
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    with ThreadPoolExecutor(max_workers=1) as pool:
        report(f"Making the student release of {assignment!r} for the assignment pages ...")
        staged = pool.submit(stage_release, course_root, assignment, book_dir / assignment)
        report("Unpacking MathJax ...")
        install_mathjax(cache_dir, generated / BUNDLED)
        report("Computing tables, numbers and figures ...")
        inputs = SiteInputs(
            release_dir=staged.result,
            student_dataset=student_dataset,
            leaderboard_dir=Path(leaderboard_dir),
            figures_dir=generated / "figures",
            benchmark_results=Path(benchmark_results),
            grading_limits=Path(course_root) / "grading" / assignment / "limits.json",
            cache_dir=Path(cache_dir),
        )
        write_fragments(inputs, generated, report)
        files = stage_student_files(  # the Getting started page's downloads and install lines
            book_dir, generated, assignment, staged.result(), student_dataset, repository_url
        )
        write_student_fragments(files, generated, report)

    config = _config_file(book_dir, generated, repository_url)
    report("Running Jupyter Book (notebooks are not executed) ...")
    _run_jupyter_book(book_dir, config, strict)
    html = book_dir / "_build" / "html"
    pages = sum(1 for path in html.rglob("*.html") if "_static" not in path.parts)
    return BookResult(html_dir=html, pages=pages, seconds=time.perf_counter() - started)


def stage_release(course_root: Path, assignment: str, target: Path) -> Path:
    """nbgrader's student version of the assignment's notebooks, copied into ``target``."""
    sources = source_notebooks(course_root, assignment)
    with tempfile.TemporaryDirectory(prefix="coursekit-book-") as scratch:
        course = scratch_course(course_root, assignment, Path(scratch))
        run_nbgrader(course, "generate_assignment", assignment, "--force")
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for notebook in sorted((course / "release" / assignment).glob("*.ipynb")):
            shutil.copy2(notebook, target / notebook.name)
    if sorted(p.name for p in target.glob("*.ipynb")) != [p.name for p in sources]:
        raise BookError(f"{target}: nbgrader did not release every notebook of {assignment!r}")
    leaks = find_leaks(sources[0].parent, target)
    if leaks:
        shutil.rmtree(target)
        raise BookError("the assignment pages would leak:\n  " + "\n  ".join(leaks))
    return target


def _config_file(book_dir: Path, generated: Path, repository_url: str | None) -> Path:
    """The book's ``_config.yml``, or a copy of it pointing at another repository."""
    config = book_dir / "_config.yml"
    if not repository_url:
        return config
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    settings.setdefault("repository", {})["url"] = repository_url
    override = generated / "_config.yml"
    override.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return override


def _run_jupyter_book(book_dir: Path, config: Path, strict: bool) -> None:
    """Jupyter Book's Sphinx build, in this process: TensorFlow is already imported for autodoc."""
    from jupyter_book.sphinx import build_sphinx

    log = io.StringIO()
    with contextlib.redirect_stderr(log), contextlib.redirect_stdout(io.StringIO()):
        result = build_sphinx(
            book_dir,
            book_dir / "_build" / "html",
            noconfig=True,
            path_config=str(config),
            # what `jupyter-book build` passes for a book with a _toc.yml
            confoverrides={
                "external_toc_path": str((book_dir / "_toc.yml").resolve()),
                "latex_individualpages": False,
            },
            builder="html",
            force_all=True,
            freshenv=True,
            warningiserror=strict,
            keep_going=strict,
            quiet=True,
        )
    lines = [_ANSI.sub("", line) for line in log.getvalue().splitlines()]
    problems = [line for line in lines if _PROBLEM.search(line)]
    if result != 0:
        shown = problems or lines[-25:] or [repr(result)]
        raise BookError(
            f"the Jupyter Book build of {book_dir} failed"
            + (" (warnings are errors; --allow-warnings builds anyway)" if strict else "")
            + ":\n  "
            + "\n  ".join(shown[:40])
        )
