"""Check a hand-in and pack it: notebooks, their PDFs and ``submission.csv`` in one zip.

Students lose more points to packaging than to modelling: a missing CSV, a
notebook saved without outputs, a PDF that would not export. One call (or
``coursekit submit-check`` in a shell) checks everything a grader will look
at, makes the PDFs without LaTeX (nbconvert's HTML printed by headless
Chromium), and packs exactly what must be handed in::

    from utilities.handin import check_and_pack
    check_and_pack(name="jdoe")
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from utilities._files import staged_file
from utilities.errors import CourseKitError, SubmissionError
from utilities.submission import validate_submission

HAND_IN_NOTEBOOKS = ("1_lenet5_mnist.ipynb", "2_fashion_cnn.ipynb")
SUBMISSION_FILE = "submission.csv"
TEST_ROWS = 10_500
CHROMIUM_ENV = "COURSEKIT_CHROMIUM"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")
INSTALL_CHROMIUM = (
    "install it (Debian/Ubuntu: `sudo apt-get install chromium`; macOS: "
    "`brew install --cask chromium`) or set COURSEKIT_CHROMIUM to the browser's path"
)


class HandInError(CourseKitError):
    """The hand-in cannot be checked or packed (for example, no Chromium for the PDF)."""


@dataclass
class HandInReport:
    """What was checked, what failed, and the zip when everything passed."""

    passed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    packed: list[str] = field(default_factory=list)
    zip_path: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        lines = [f"  ✓ {item}" for item in self.passed] + [f"  ✗ {item}" for item in self.problems]
        if self.zip_path:
            lines.append(f"Packed {self.zip_path}:")
            lines += [f"  ✓ {name}" for name in self.packed]
        else:
            lines.append("Nothing was packed: fix the problems marked ✗ and run the check again.")
        return "\n".join(lines)


def check_and_pack(
    name: str,
    folder: str | Path = ".",
    notebooks: Sequence[str] = HAND_IN_NOTEBOOKS,
    rows: int = TEST_ROWS,
    out_dir: str | Path | None = None,
) -> HandInReport:
    """Check the hand-in in ``folder`` and, when all is well, pack it into ``cnn_<name>.zip``.

    Parameters
    ----------
    name : str
        Your name, student id or group; the zip is named after it.
    folder : path
        The folder with the notebooks and ``submission.csv``.
    notebooks : sequence of str
        The notebooks to hand in.
    rows : int
        The number of rows ``submission.csv`` must have.
    out_dir : path, optional
        Where the zip goes (default: ``folder``).

    Returns
    -------
    HandInReport
        ``passed`` and ``problems`` in plain words, and the zip's path and
        contents when there were no problems. ``print(report)`` shows the
        checklist.
    """
    folder = Path(folder)
    slug = _slug(name)
    report = HandInReport()
    paths = []
    for notebook in notebooks:
        path = folder / notebook
        if not path.is_file():
            report.problems.append(f"{notebook}: not found in {folder.resolve()}")
            continue
        paths.append(path)
        problems = saved_run_problems(path)
        report.problems += problems
        if not problems:
            report.passed.append(f"{notebook}: saved after a full run, no errors in graded cells")
        passed, failed = visible_tests(path)
        report.passed += [f"{notebook}: {test}" for test in passed]
        report.problems += [f"{notebook}: {test}" for test in failed]
    csv = folder / SUBMISSION_FILE
    try:
        validate_submission(csv, n_rows=rows)
        report.passed.append(f"{SUBMISSION_FILE}: valid, {rows:,} predictions")
    except SubmissionError as error:
        report.problems.append(str(error))
    if report.problems:
        return report
    with tempfile.TemporaryDirectory(prefix="coursekit-handin-") as scratch:
        pdfs = []
        for path in paths:
            pdf = Path(scratch) / path.with_suffix(".pdf").name
            export_pdf(path, pdf)
            pdfs.append(pdf)
            report.passed.append(f"{pdf.name}: exported")
        zip_path = Path(out_dir or folder) / f"cnn_{slug}.zip"
        report.packed = pack([*paths, *pdfs, csv], zip_path)
        report.zip_path = zip_path
    return report


def saved_run_problems(path: Path) -> list[str]:
    """Why the saved notebook does not look like one full top-to-bottom run (empty when it does)."""
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as error:
        return [f"{path.name}: not a readable notebook ({type(error).__name__}: {error})"]
    code = [cell for cell in notebook.cells if cell.cell_type == "code" and cell.source.strip()]
    counts = [cell.execution_count for cell in code]
    restart = "use Kernel → Restart Kernel and Run All Cells, then save"
    if not code or all(count is None for count in counts):
        return [f"{path.name}: saved without running it; {restart}"]
    problems = []
    not_run = [number for number, count in enumerate(counts, start=1) if count is None]
    if not_run:
        problems.append(f"{path.name}: code cells {_numbers(not_run)} were not run; {restart}")
    ran = [count for count in counts if count is not None]
    if ran != sorted(ran) or len(set(ran)) != len(ran):
        problems.append(f"{path.name}: cells were run out of order; {restart}")
    for number, cell in enumerate(notebook.cells, start=1):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not (meta.get("grade") or meta.get("solution")):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                problems.append(
                    f"{path.name}: cell {number} ({meta.get('grade_id', 'graded')}) ends in "
                    f"{output.get('ename')}: {_first_line(output.get('evalue', ''))}"
                )
    return problems


def visible_tests(path: Path) -> tuple[list[str], list[str]]:
    """Run the notebook as nbgrader's validate does; the visible tests that pass and fail.

    Each test is described by the first line of its cell, e.g.
    ``Test 1.2a (2 points): the total number of trainable parameters``.
    """
    from nbgrader import utils
    from nbgrader.validator import Validator
    from traitlets.config import Config

    validator = Validator(config=Config({"Execute": {"timeout": 300}}))
    notebook = nbformat.read(path, as_version=4)
    changed_types = validator._get_type_changed_cells(notebook)
    if changed_types:
        return [], [f"a graded cell's type was changed ({len(changed_types)} cells)"]
    with utils.chdir(str(path.parent)):
        executed = validator._preprocess(notebook)
    passed, failed = [], []
    for cell in executed.cells:
        if cell.cell_type != "code" or not utils.is_grade(cell):
            continue
        title = _first_line(cell.source).lstrip("# ").strip()
        score, max_score = utils.determine_grade(cell, validator.log)
        if score == max_score:
            passed.append(f"{title}: passed")
        else:
            errors = [o for o in cell.outputs if o.get("output_type") == "error"]
            reason = f"{errors[0].ename}: {_first_line(errors[0].evalue)}" if errors else "failed"
            failed.append(f"{title}: fails with {reason}")
    return passed, failed


def export_pdf(notebook: Path, pdf: Path) -> Path:
    """Print the notebook to PDF with headless Chromium (no LaTeX needed)."""
    from nbconvert import HTMLExporter

    browser = find_chromium()
    html, _ = HTMLExporter().from_filename(str(notebook))
    with tempfile.TemporaryDirectory(prefix="coursekit-pdf-") as scratch:
        page = Path(scratch) / "notebook.html"
        page.write_text(html, encoding="utf-8")
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            f"--user-data-dir={Path(scratch) / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            page.as_uri(),
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    if result.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        detail = _first_line(result.stderr.strip()) or f"exit {result.returncode}"
        raise HandInError(f"{notebook.name}: Chromium could not print the PDF ({detail})")
    return pdf


def find_chromium() -> str:
    """The Chromium (or Chrome) to print with; a clear error saying how to install it."""
    configured = os.environ.get(CHROMIUM_ENV, "").strip()
    if configured:
        found = shutil.which(configured)
        if not found:
            raise HandInError(f"{CHROMIUM_ENV}={configured}: no such browser; {INSTALL_CHROMIUM}")
        return found
    for candidate in CHROMIUM_NAMES:
        found = shutil.which(candidate)
        if found:
            return found
    raise HandInError(f"Chromium is needed to make the PDF and was not found; {INSTALL_CHROMIUM}")


def pack(files: Sequence[Path], zip_path: Path) -> list[str]:
    """Zip ``files`` (flat, by name) into ``zip_path``, written atomically; the names packed."""
    names = [Path(file).name for file in files]
    with staged_file(Path(zip_path)) as staged:
        with zipfile.ZipFile(staged, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for file, name in zip(files, names, strict=True):
                archive.write(file, arcname=name)
        os.replace(staged, zip_path)
    return names


def _slug(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", str(name).strip()).strip("-.")
    if not slug:
        raise HandInError("give your name, student id or group, e.g. name='jdoe'")
    return slug


def _first_line(text: str) -> str:
    return next((line for line in str(text).splitlines() if line.strip()), "")


def _numbers(numbers: list[int]) -> str:
    shown = ", ".join(map(str, numbers[:8]))
    return shown + (f" and {len(numbers) - 8} more" if len(numbers) > 8 else "")
