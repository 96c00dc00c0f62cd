"""`coursekit submit-check` / `check_and_pack`: real notebooks, real nbgrader, real Chromium.

The complete hand-in is the student release with the solutions filled in,
run top to bottom in fast mode and saved, as a student would do it: Part 2
writes ``submission.csv`` and saves ``fashion_model.keras``. Whatever the check
runs, the student's folder stays exactly as saved, and the zip holds the saved
files byte for byte.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile

import matplotlib.image
import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from conftest import released_course
from utilities import handin
from utilities.handin import (
    CHROMIUM_ENV,
    HAND_IN_NOTEBOOKS,
    MODEL_FILE,
    TEST_ROWS,
    HandInError,
    check_and_pack,
    find_chromium,
    saved_model_problem,
    saved_run_problems,
    visible_tests,
)
from utilities.runmode import FAST_MODE_ENV, NBGRADER_ENV
from utilities.submission import make_submission

pytestmark = pytest.mark.slow
PART1, PART2 = HAND_IN_NOTEBOOKS
RESTART = "use Kernel → Restart Kernel and Run All Cells, then save"


def grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def fill_in(release_notebook, source_notebook):
    """The release notebook with every solution cell answered as in the source."""
    answers = {grade_id(c): c.source for c in source_notebook.cells if grade_id(c)}
    for c in release_notebook.cells:
        if c.get("metadata", {}).get("nbgrader", {}).get("solution"):
            c.source = answers[grade_id(c)]
    return release_notebook


def run(notebook, folder):
    os.environ[FAST_MODE_ENV] = "1"
    try:
        NotebookClient(
            notebook, timeout=300, resources={"metadata": {"path": str(folder)}}
        ).execute()
    finally:
        os.environ.pop(FAST_MODE_ENV)
    return notebook


def submit_check(folder, *options):
    return subprocess.run(
        [sys.executable, "-m", "autograder.cli", "submit-check", str(folder), *options],
        capture_output=True,
        text=True,
    )


def listing(folder) -> dict[str, tuple]:
    """Every file and folder under ``folder``: SHA-256 (files), mode and modification time."""
    entries = {}
    for path in [folder, *sorted(folder.rglob("*"))]:
        info = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"
        entries[str(path.relative_to(folder))] = (digest, info.st_mode, info.st_mtime_ns)
    return entries


def unzipped(archive) -> dict[str, bytes]:
    with zipfile.ZipFile(archive) as packed:
        return {name: packed.read(name) for name in packed.namelist()}


def assert_packed_as_saved(archive, folder, names):
    """The zip holds each of ``names`` exactly as it is saved in ``folder``."""
    packed = unzipped(archive)
    for name in names:
        assert packed[name] == (folder / name).read_bytes(), f"{name} was not packed as saved"


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return released_course(tmp_path_factory.mktemp("course"))


@pytest.fixture(scope="module")
def complete_hand_in(release, course_build, tmp_path_factory):
    folder = tmp_path_factory.mktemp("student")
    shutil.copy(course_build.student_file, folder / "Fashion_MNIST.h5")
    for name in HAND_IN_NOTEBOOKS:
        student = nbformat.read(release / "release" / "cnn" / name, as_version=4)
        source = nbformat.read(release / "source" / "cnn" / name, as_version=4)
        nbformat.write(run(fill_in(student, source), folder), folder / name)
    return folder


@pytest.fixture
def hand_in(complete_hand_in, tmp_path):
    """A private copy of the complete hand-in that a test may break."""
    folder = tmp_path / "student"
    shutil.copytree(complete_hand_in, folder, ignore=shutil.ignore_patterns("*.zip"))
    return folder


def test_a_complete_hand_in_passes_and_is_packed_as_saved_with_readable_pdfs(
    complete_hand_in, hand_in, tmp_path
):
    """The CSV from full training survives: the fast-mode runs never replace what was saved."""
    csv = hand_in / "submission.csv"
    make_submission(np.arange(TEST_ROWS) * 7 % 10, csv)
    assert csv.read_bytes() != (complete_hand_in / "submission.csv").read_bytes()
    saved = listing(hand_in)
    result = submit_check(hand_in, "--name", "Jane Doe")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✗" not in result.stdout
    assert f"✓ {PART1}: Test 1.2a (1 point): the total number of trainable parameters: passed" in (
        result.stdout
    )
    assert "✓ submission.csv: valid, 10,500 predictions" in result.stdout
    assert f"✓ {MODEL_FILE}: a saved Keras model" in result.stdout
    after = listing(hand_in)
    archive = hand_in / "cnn_Jane-Doe.zip"
    assert after.pop(archive.name), "the zip goes to the folder by default"
    del after["."], saved["."]  # adding the zip changes the folder's own modification time
    assert after == saved
    assert_packed_as_saved(archive, hand_in, [PART1, PART2, "submission.csv", MODEL_FILE])
    packed_csv = unzipped(archive)["submission.csv"]
    assert hashlib.sha256(packed_csv).hexdigest() == saved["submission.csv"][0]
    with zipfile.ZipFile(archive) as packed:
        names = sorted(packed.namelist())
        packed.extractall(tmp_path / "unpacked")
    assert names == sorted(
        [
            PART1,
            PART2,
            PART1.replace(".ipynb", ".pdf"),
            PART2.replace(".ipynb", ".pdf"),
            "submission.csv",
            MODEL_FILE,
        ]
    )
    for pdf in (tmp_path / "unpacked").glob("*.pdf"):
        prefix = tmp_path / pdf.stem
        subprocess.run(
            ["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(prefix)],
            check=True,
        )
        (page,) = tmp_path.glob(f"{pdf.stem}-*.png")
        pixels = matplotlib.image.imread(page)
        assert pixels.shape[0] > 300 and pixels.std() > 0.05, f"{pdf.name}: the first page is blank"


def test_visible_tests_are_summarised_in_plain_words_when_they_fail(hand_in):
    path = hand_in / PART1
    notebook = nbformat.read(path, as_version=4)
    (lenet5,) = [c for c in notebook.cells if grade_id(c) == "lenet5"]
    lenet5.source = lenet5.source.replace('padding="same"', 'padding="valid"', 1)
    nbformat.write(notebook, path)
    saved = listing(hand_in)
    passed, failed = visible_tests(path)
    assert listing(hand_in) == saved
    assert failed == [
        "Test 1.2a (1 point): the total number of trainable parameters: fails with "
        "AssertionError: the model has 44,426 trainable parameters, expected 61,706",
        "Test 1.2b (2 points): every layer's type, output shape and parameters: fails with "
        "AssertionError: the layers do not match the specification:",
    ]
    assert "Test 1.4a (2 points): loss, optimizer and metrics: passed" in passed


def test_an_unexecuted_notebook_is_reported(release):
    problems = saved_run_problems(release / "release" / "cnn" / PART1)
    assert problems == [f"{PART1}: saved without running it; {RESTART}"]


def test_an_error_output_left_in_a_graded_cell_is_reported(hand_in):
    path = hand_in / PART1
    notebook = nbformat.read(path, as_version=4)
    number, cell = next((n, c) for n, c in enumerate(notebook.cells, 1) if grade_id(c) == "compile")
    cell.outputs.append(
        nbformat.v4.new_output(
            "error", ename="ValueError", evalue="Unknown optimizer: adamm", traceback=[]
        )
    )
    nbformat.write(notebook, path)
    assert saved_run_problems(path) == [
        f"{PART1}: cell {number} (compile) ends in ValueError: Unknown optimizer: adamm"
    ]


def test_cells_run_out_of_order_or_skipped_are_reported(hand_in):
    path = hand_in / PART2
    notebook = nbformat.read(path, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    code[1].execution_count, code[2].execution_count = (
        code[2].execution_count,
        code[1].execution_count,
    )
    code[3].execution_count = None
    nbformat.write(notebook, path)
    problems = saved_run_problems(path)
    assert f"{PART2}: code cells 4 were not run; {RESTART}" in problems
    assert any("run out of order" in problem for problem in problems)


def test_a_missing_csv_stops_the_packing(hand_in):
    (hand_in / "submission.csv").unlink()
    report = check_and_pack("jdoe", folder=hand_in, notebooks=[PART1])
    assert not report.ok and report.zip_path is None
    assert report.problems == [f"{hand_in / 'submission.csv'}: file not found"]
    assert list(hand_in.glob("*.zip")) == []
    assert "Nothing was packed" in str(report)
    # Reported at once: the minute-long rerun of the notebooks waits until the files are right.
    assert report.not_run == [
        "the visible tests were not run: they run once the problems above are fixed"
    ]
    assert not any("Test 1." in line for line in report.passed)


SAVE_IT = f'the submission cell of Part 2 saves it with fashion_model.save("{MODEL_FILE}")'


def test_a_missing_model_file_stops_the_packing_before_the_tests_run(hand_in):
    (hand_in / MODEL_FILE).unlink()
    report = check_and_pack("jdoe", folder=hand_in, notebooks=[PART2])
    assert report.problems == [
        f"{MODEL_FILE}: not found in {hand_in.resolve()}; {SAVE_IT}: run the notebook to the "
        "end and save"
    ]
    assert report.zip_path is None and list(hand_in.glob("*.zip")) == []
    assert report.not_run and not any("Test 2." in line for line in report.passed)


def test_the_model_file_is_needed_only_with_part_2(hand_in):
    (hand_in / MODEL_FILE).unlink()
    report = check_and_pack("jdoe", folder=hand_in, notebooks=[PART1])
    assert not any(MODEL_FILE in line for line in report.problems + report.passed)


def test_a_model_file_that_is_not_a_saved_keras_model_says_how_to_save_it(tmp_path):
    model = tmp_path / MODEL_FILE
    model.write_bytes(b"weights, I promise")
    assert saved_model_problem(model) == (
        f"{MODEL_FILE}: not a saved Keras model (File is not a zip file); save it again with "
        f'fashion_model.save("{MODEL_FILE}")'
    )
    with zipfile.ZipFile(model, "w") as archive:
        archive.writestr("config.json", '{"class_name": "Sequential"}')
    assert saved_model_problem(model) == (
        f"{MODEL_FILE}: not a complete Keras model (it lacks metadata.json); save it again with "
        f'fashion_model.save("{MODEL_FILE}")'
    )


def test_a_missing_notebook_is_reported_by_name(hand_in):
    (hand_in / PART2).unlink()
    report = check_and_pack("jdoe", folder=hand_in, notebooks=[PART2])
    assert report.problems[0] == f"{PART2}: not found in {hand_in.resolve()}"


def test_missing_chromium_says_how_to_install_it(monkeypatch):
    monkeypatch.setenv(CHROMIUM_ENV, "/nonexistent/chromium")
    with pytest.raises(HandInError, match="sudo apt-get install chromium"):
        find_chromium()
    monkeypatch.delenv(CHROMIUM_ENV)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(HandInError, match="Chromium is needed to make the PDF and was not found"):
        find_chromium()


def test_a_name_is_required(hand_in):
    with pytest.raises(HandInError, match="give your name"):
        check_and_pack(" / ", folder=hand_in)


WRITES_FILES = """\
from pathlib import Path

Path("notes.txt").write_text("written while the notebook ran")
Path("submission.csv").write_text("ID,Prediction\\n0,3\\n")
Path("checkpoints").mkdir(exist_ok=True)
Path("checkpoints/model.weights.h5").write_bytes(b"not really weights")
Path("1_lenet5_mnist.ipynb").write_text("{}")
"""


def test_a_read_only_folder_with_a_notebook_that_writes_files_stays_exactly_as_saved(
    hand_in, tmp_path
):
    path = hand_in / PART1
    notebook = nbformat.read(path, as_version=4)
    last = max(c.execution_count or 0 for c in notebook.cells if c.cell_type == "code")
    notebook.cells.append(nbformat.v4.new_code_cell(WRITES_FILES, execution_count=last + 1))
    nbformat.write(notebook, path)
    for path in [*hand_in.iterdir(), hand_in]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        saved = listing(hand_in)
        refused = submit_check(hand_in, "--name", "jdoe")
        assert refused.returncode == 1
        assert refused.stderr == (
            f"coursekit: error: {hand_in} is read-only, so cnn_jdoe.zip cannot be written "
            "there; give a writable folder for it with --out DIR (in Python: out_dir=DIR)\n"
        )
        report = check_and_pack("jdoe", folder=hand_in, notebooks=[PART1], out_dir=tmp_path / "out")
        assert report.ok, str(report)
        assert report.zip_path == tmp_path / "out" / "cnn_jdoe.zip"
        assert sorted(unzipped(report.zip_path)) == sorted(
            [PART1, PART1.replace(".ipynb", ".pdf"), "submission.csv"]
        )
        assert_packed_as_saved(report.zip_path, hand_in, [PART1, "submission.csv"])
        assert listing(hand_in) == saved
    finally:
        for path in [hand_in, *hand_in.iterdir()]:
            path.chmod(0o755 if path.is_dir() else 0o644)


def test_a_file_saved_again_during_the_check_is_not_packed(hand_in, tmp_path, monkeypatch):
    def student_saves_again_while_tests_run(path):
        make_submission(np.zeros(TEST_ROWS, dtype=int), hand_in / "submission.csv")
        return ["Test 1.1: passed"], []

    def quick_pdf(notebook, pdf):
        pdf.write_bytes(b"%PDF-1.4")
        return pdf

    monkeypatch.setattr(handin, "visible_tests", student_saves_again_while_tests_run)
    monkeypatch.setattr(handin, "export_pdf", quick_pdf)
    report = check_and_pack("jdoe", folder=hand_in, out_dir=tmp_path / "out")
    assert report.problems == [
        "submission.csv: changed while it was being checked (saved again?); "
        "save your work, close the notebook and run the check again"
    ]
    assert report.zip_path is None and not (tmp_path / "out").exists()


def test_check_and_pack_does_nothing_inside_a_notebook_being_checked(tmp_path, monkeypatch):
    monkeypatch.setenv(NBGRADER_ENV, "validate")
    report = check_and_pack("jdoe", folder=tmp_path)
    assert report.problems == [
        "check_and_pack() does nothing in a notebook that is being checked or graded; "
        "run it from a terminal or from a notebook of its own"
    ]
    assert list(tmp_path.iterdir()) == []
