"""Check a hand-in and pack it: notebooks, their PDFs, ``submission.csv`` and the model in one zip.

Students lose more points to packaging than to modelling: a missing CSV or
model file, a notebook saved without outputs, a PDF that would not export. One call (or
``coursekit submit-check`` in a shell) checks everything a grader will look
at, makes the PDFs without LaTeX (nbconvert's HTML printed by headless
Chromium), and packs exactly what must be handed in::

    from utilities.handin import check_and_pack
    check_and_pack(name="jdoe")

Nothing you saved is changed. Checks that only read your files (saved after a
full run? a valid CSV?) read them where they are; anything that runs or
converts a notebook works on a copy in a temporary folder, because a notebook
run as the grader runs it is in fast mode, and its ``make_submission`` cell
would replace your ``submission.csv`` with a one-epoch model's predictions.
The zip holds your files byte for byte as they were when the check began, and
the only file written is the zip itself.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from utilities.errors import CourseKitError, SubmissionError
from utilities.files import staged_file
from utilities.loaders import FASHION_MNIST_FILE
from utilities.runmode import NBGRADER_ENV
from utilities.submission import validate_submission

HAND_IN_NOTEBOOKS = ("1_lenet5_mnist.ipynb", "2_fashion_cnn.ipynb")
SUBMISSION_FILE = "submission.csv"
MODEL_FILE = "fashion_model.keras"
NOTEBOOK_OUTPUTS = {"2_fashion_cnn.ipynb": (MODEL_FILE,)}
"""Files a notebook saves that are handed in with it: the leaderboard's model comes from Part 2."""
# A Keras 3 ``.keras`` file is a zip of these (weights as ``model.weights.h5``).
KERAS_ARCHIVE_MEMBERS = ("config.json", "metadata.json")
COMPANION_FILES = (SUBMISSION_FILE, FASHION_MNIST_FILE)
"""The files a notebook reads from its own folder; grading puts the same ones next to it."""
TEST_ROWS = 10_500
CHROMIUM_ENV = "COURSEKIT_CHROMIUM"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")
INSTALL_CHROMIUM = (
    "install it (Debian/Ubuntu: `sudo apt-get install chromium`; macOS: "
    "`brew install --cask chromium`) or set COURSEKIT_CHROMIUM to the browser's path"
)
_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
_NOT_ALLOWED = {errno.EACCES, errno.EPERM, errno.EROFS}


class HandInError(CourseKitError):
    """The hand-in cannot be checked or packed (for example, no Chromium for the PDF)."""


@dataclass
class HandInReport:
    """What was checked, what failed, and the zip when everything passed."""

    passed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    packed: list[str] = field(default_factory=list)
    zip_path: Path | None = None
    not_run: list[str] = field(default_factory=list)  # checks skipped until the rest passes

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        lines = [f"  ✓ {item}" for item in self.passed] + [f"  ✗ {item}" for item in self.problems]
        lines += [f"  … {item}" for item in self.not_run]
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

    Nothing in ``folder`` is changed: notebooks run and print on copies, and
    the zip holds the saved files byte for byte. If one of them is saved
    again while the check runs, nothing is packed. With Part 2 the model it
    saves (``fashion_model.keras``) is checked and packed too.

    Parameters
    ----------
    name : str
        Your name, student id or group; the zip is named after it.
    folder : path
        The folder with the notebooks and ``submission.csv``; it may be read-only.
    notebooks : sequence of str
        The notebooks to hand in, with the files they save (:data:`NOTEBOOK_OUTPUTS`).
    rows : int
        The number of rows ``submission.csv`` must have.
    out_dir : path, optional
        Where the zip goes (default: ``folder``); needed when ``folder`` is read-only.

    Returns
    -------
    HandInReport
        ``passed`` and ``problems`` in plain words, and the zip's path and
        contents when there were no problems. ``print(report)`` shows the
        checklist.

    Raises
    ------
    HandInError
        When the zip's folder is read-only (before anything runs) or no
        Chromium is found for the PDFs.
    """
    folder = Path(folder)
    zip_path = Path(folder if out_dir is None else out_dir) / f"cnn_{_slug(name)}.zip"
    report = HandInReport()
    if os.environ.get(NBGRADER_ENV, "").strip():
        report.problems.append(
            "check_and_pack() does nothing in a notebook that is being checked or graded; "
            "run it from a terminal or from a notebook of its own"
        )
        return report
    require_writable_folder(zip_path)
    present = [notebook for notebook in notebooks if (folder / notebook).is_file()]
    report.problems += [
        f"{notebook}: not found in {folder.resolve()}"
        for notebook in notebooks
        if notebook not in present
    ]
    outputs = [output for notebook in notebooks for output in NOTEBOOK_OUTPUTS.get(notebook, ())]
    hand_in = [*present, SUBMISSION_FILE, *outputs]
    with tempfile.TemporaryDirectory(prefix="coursekit-handin-") as scratch:
        copy = Path(scratch)
        saved = copy_files(folder, [*hand_in, FASHION_MNIST_FILE], copy)
        _check(report, folder, copy, present, rows, outputs)
        if report.problems:
            return report
        pdfs = {}
        for notebook in present:
            pdf = export_pdf(copy / notebook, (copy / notebook).with_suffix(".pdf"))
            pdfs[pdf.name] = pdf.read_bytes()
            report.passed.append(f"{pdf.name}: exported")
    contents, changed = read_unchanged(folder, hand_in, saved)
    report.problems += changed
    if changed:
        return report
    notebook_bytes = {notebook: contents[notebook] for notebook in present}
    files = {name: contents[name] for name in (SUBMISSION_FILE, *outputs)}
    report.packed = pack({**notebook_bytes, **pdfs, **files}, zip_path)
    report.zip_path = zip_path
    return report


def _check(
    report: HandInReport,
    folder: Path,
    copy: Path,
    notebooks: Sequence[str],
    rows: int,
    models: Sequence[str] = (),
) -> None:
    """Add to ``report`` what the saved files in ``folder`` and the runs of ``copy`` show.

    The quick checks (how each notebook was saved, the CSV, the model files) come first; the
    visible tests, which rerun every notebook for a minute or more, run only
    when those pass, so that a missing file is reported in a second.
    """
    for notebook in notebooks:
        problems = saved_run_problems(folder / notebook)
        report.problems += problems
        if not problems:
            report.passed.append(f"{notebook}: saved after a full run, no errors in graded cells")
    try:
        validate_submission(folder / SUBMISSION_FILE, n_rows=rows)
        report.passed.append(f"{SUBMISSION_FILE}: valid, {rows:,} predictions")
    except SubmissionError as error:
        report.problems.append(str(error))
    for model in models:
        problem = saved_model_problem(folder / model)
        if problem:
            report.problems.append(problem)
        else:
            size = (folder / model).stat().st_size
            report.passed.append(f"{model}: a saved Keras model ({size / 1e6:.1f} MB)")
    if report.problems:
        report.not_run.append(
            "the visible tests were not run: they run once the problems above are fixed"
        )
        return
    for notebook in notebooks:
        passed, failed = visible_tests(copy / notebook)
        report.passed += [f"{notebook}: {test}" for test in passed]
        report.problems += [f"{notebook}: {test}" for test in failed]


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


def saved_model_problem(path: Path) -> str | None:
    """Why ``path`` is not a model saved with ``model.save("NAME.keras")`` (None when it is).

    Reads the archive's table of contents and its config, never the weights, so
    the check is quick and imports no Keras.
    """
    save = f'fashion_model.save("{path.name}")'
    if not path.is_file():
        return (
            f"{path.name}: not found in {path.parent.resolve()}; the submission cell of Part 2 "
            f"saves it with {save}: run the notebook to the end and save"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            missing = [name for name in KERAS_ARCHIVE_MEMBERS if name not in names]
            weights = [name for name in names if name.startswith("model.weights.")]
            config = json.loads(archive.read("config.json")) if not missing else {}
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        return f"{path.name}: not a saved Keras model ({error}); save it again with {save}"
    if missing or not weights or not isinstance(config, dict) or "class_name" not in config:
        lacking = ", ".join(missing or ["model.weights.h5"]) if missing or not weights else ""
        detail = f"it lacks {lacking}" if lacking else "its config.json names no model"
        return f"{path.name}: not a complete Keras model ({detail}); save it again with {save}"
    return None


def visible_tests(path: Path) -> tuple[list[str], list[str]]:
    """Run the notebook as nbgrader's validate does; the visible tests that pass and fail.

    The run happens in a temporary folder holding copies of the notebook and of
    the :data:`COMPANION_FILES` next to it, as in grading. Whatever the notebook
    writes there (in fast mode, ``make_submission`` rewrites ``submission.csv``)
    is thrown away; the notebook's own folder is only read.

    Each test is described by the first line of its cell, e.g.
    ``Test 1.2a (2 points): the total number of trainable parameters``.
    """
    from nbgrader import utils
    from nbgrader.validator import Validator
    from traitlets.config import Config

    path = Path(path)
    validator = Validator(config=Config({"Execute": {"timeout": 300}}))
    with tempfile.TemporaryDirectory(prefix="coursekit-validate-") as scratch:
        copy_files(path.parent, [path.name, *COMPANION_FILES], Path(scratch))
        results = validator.validate(str(Path(scratch) / path.name))  # nbgrader's public API
    if results.get("type_changed"):
        return [], [f"a graded cell's type was changed ({len(results['type_changed'])} cells)"]
    if results.get("changed"):
        return [], [f"a test cell was edited ({len(results['changed'])} cells): undo the change"]
    failed_by_source = {item["source"]: item["raw_error"] for item in results.get("failed", [])}
    passed, failed = [], []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code" or not utils.is_grade(cell):
            continue
        title = _first_line(cell.source).lstrip("# ").strip()
        error = failed_by_source.get(cell.source.strip())
        if error is None:
            passed.append(f"{title}: passed")
        else:
            failed.append(f"{title}: fails with {_error_line(error)}")
    return passed, failed


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _error_line(raw_error: str) -> str:
    """The ``Name: message`` line of a traceback nbgrader reports (its last such line)."""
    lines = [line.strip() for line in _ANSI.sub("", raw_error).splitlines() if line.strip()]
    for line in reversed(lines):
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b", line):
            return _first_line(line)
    return _first_line(lines[-1]) if lines else "failed"


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


def copy_files(source: Path, names: Iterable[str], target: Path) -> dict[str, str]:
    """Copy the files ``names`` that exist in ``source`` into ``target``; their SHA-256 by name."""
    target.mkdir(parents=True, exist_ok=True)
    digests = {}
    for name in names:
        if (source / name).is_file():
            content = (source / name).read_bytes()
            (target / name).write_bytes(content)
            digests[name] = hashlib.sha256(content).hexdigest()
    return digests


def read_unchanged(
    folder: Path, names: Iterable[str], digests: Mapping[str, str]
) -> tuple[dict[str, bytes], list[str]]:
    """The files' bytes, and a problem for each one whose SHA-256 is no longer in ``digests``."""
    contents, changed = {}, []
    for name in names:
        path = folder / name
        content = path.read_bytes() if path.is_file() else b""
        if hashlib.sha256(content).hexdigest() == digests.get(name):
            contents[name] = content
        else:
            changed.append(
                f"{name}: changed while it was being checked (saved again?); "
                "save your work, close the notebook and run the check again"
            )
    return contents, changed


def require_writable_folder(zip_path: Path) -> None:
    """Refuse at once, before minutes of checks, when the zip's folder is read-only.

    A folder without write permission counts as read-only even for a user
    (such as root) who could write there anyway: the student's ``chmod -w``
    is respected.
    """
    folder = Path(zip_path).parent.absolute()
    existing = next(path for path in (folder, *folder.parents) if path.exists())
    if not existing.is_dir():
        raise HandInError(f"{existing} is a file, not a folder; choose a folder for the zip")
    if not (os.access(existing, os.W_OK | os.X_OK) and existing.stat().st_mode & _WRITE_BITS):
        raise HandInError(_read_only(existing, zip_path.name))


def pack(files: Mapping[str, bytes], zip_path: Path) -> list[str]:
    """Zip ``files`` (name → content, flat) into ``zip_path``, written atomically; the names."""
    zip_path = Path(zip_path)
    stamp = time.localtime()[:6]
    try:
        with staged_file(zip_path) as staged:
            with zipfile.ZipFile(staged, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for name, content in files.items():
                    entry = zipfile.ZipInfo(name, date_time=stamp)
                    entry.external_attr = (stat.S_IFREG | 0o644) << 16
                    archive.writestr(entry, content, compress_type=zipfile.ZIP_DEFLATED)
            os.replace(staged, zip_path)
    except OSError as error:
        if error.errno in _NOT_ALLOWED:
            raise HandInError(_read_only(zip_path.parent.absolute(), zip_path.name)) from error
        raise
    return list(files)


def _read_only(folder: Path, name: str) -> str:
    return (
        f"{folder} is read-only, so {name} cannot be written there; "
        "give a writable folder for it with --out DIR (in Python: out_dir=DIR)"
    )


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
