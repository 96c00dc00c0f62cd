"""Feedback names no path of the machine that graded it: each is written as a short label."""

from __future__ import annotations

import site
import sys
from pathlib import Path

from nbformat.v4 import new_code_cell, new_notebook, new_output

import autograder
from autograder.grading.pipeline.feedback import redact_notebook
from autograder.grading.pipeline.hostpaths import KIT, PACKAGES, SCRATCH, hide_host_paths

PACKAGES_DIR = site.getsitepackages()[0]
KIT_DIR = str(Path(autograder.__file__).resolve().parents[1])


def test_library_frames_keep_their_file_but_not_the_machines_path():
    line = f"File {PACKAGES_DIR}/keras/src/utils/traceback_utils.py:122, in error_handler"
    assert hide_host_paths(line) == (
        f"File {PACKAGES}/keras/src/utils/traceback_utils.py:122, in error_handler"
    )


def test_the_kits_checkout_and_the_graders_scratch_folders_are_labels():
    text = f"{KIT_DIR}/utilities/checks/models.py and /tmp/coursekit-grade-x1y2/students/ada"
    assert hide_host_paths(text) == f"{KIT}/utilities/checks/models.py and {SCRATCH}/students/ada"


def test_a_checkout_under_the_sandboxs_home_is_hidden_in_ipythons_short_form(monkeypatch):
    """IPython writes paths under the kernel's HOME (/tmp) as ~/...: a checkout in /tmp."""
    from autograder.grading.pipeline import hostpaths

    venv = "/tmp/fresh-clone/.venv/lib/python3.11/site-packages"
    monkeypatch.setattr(site, "getsitepackages", lambda: [venv])
    hostpaths._prefixes.cache_clear()
    try:
        line = "File ~/fresh-clone/.venv/lib/python3.11/site-packages/keras/src/trainer.py:216"
        assert hide_host_paths(line) == f"File {PACKAGES}/keras/src/trainer.py:216"
        assert hide_host_paths(f"File {venv}/numpy/a.py") == f"File {PACKAGES}/numpy/a.py"
    finally:
        hostpaths._prefixes.cache_clear()


def test_text_without_host_paths_is_unchanged():
    text = "ValueError: expected (None, 28, 28, 1), found (None, 28, 28)\n"
    assert hide_host_paths(text) == text


def test_the_feedback_step_rewrites_every_kind_of_output():
    cell = new_code_cell("x = 1")
    cell.outputs = [
        new_output("stream", name="stderr", text=f"{PACKAGES_DIR}/keras/layer.py:431: warning"),
        new_output(
            "error",
            ename="ValueError",
            evalue=f"bad file {sys.prefix}/x",
            traceback=[f"File {PACKAGES_DIR}/numpy/core.py"],
        ),
        new_output("display_data", data={"text/plain": f"{KIT_DIR}/notes"}),
    ]
    notebook = new_notebook(cells=[cell])
    redact_notebook(notebook)
    text = str(notebook.cells[0].outputs)
    assert PACKAGES_DIR not in text and KIT_DIR not in text
    assert PACKAGES in text and KIT in text
