"""The kit's processes skip the optional import that nothing they validate needs."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "entry_point", ["autograder.cli.main", "autograder.grading.pipeline.worker"]
)
@pytest.mark.integration
def test_grading_processes_validate_notebooks_without_compiling_the_iri_grammar(entry_point):
    probe = (
        f"import {entry_point}, sys, nbformat, jsonschema\n"
        "notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1 + 1')])\n"
        "nbformat.validate(notebook)\n"
        "bad = nbformat.v4.new_notebook(); bad.cells = [{'cell_type': 'nonsense'}]\n"
        "try:\n"
        "    nbformat.validate(bad)\n"
        "except nbformat.ValidationError:\n"
        "    print('invalid notebooks are still refused')\n"
        "print(sorted(k for k in sys.modules if k.startswith(('rfc3987', 'lark'))))\n"
        "print(sys.modules['rfc3987_syntax'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "invalid notebooks are still refused",
        "['rfc3987_syntax']",
        "None",
    ]
