"""The checker in this process, with a namespace standing in for the student's kernel.

The grader runs the checker and the student's code in two sandboxed kernels.
For the tests of the checks themselves and the student zoo, where thousands
of verdicts must be computed quickly, :func:`in_process_checker` runs the very
same checker (:class:`~autograder.grading.checker.program.Checker`): every
question still goes through :func:`utilities.evidence.answer` as JSON text,
every answer is decoded and every model rebuilt from data, only without the
kernels in between. Its verdicts are the grader's, not a second
implementation's.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict
from pathlib import Path

from autograder.grading.checker.plan import NotebookPlan
from autograder.grading.checker.program import Checker
from utilities.evidence import answer


def in_process_checker(
    plan: NotebookPlan, namespace: dict, notebook_folder: Path, test_folder: Path, seed: int = 0
) -> Checker:
    """A :class:`Checker` whose questions are answered from ``namespace``.

    ``notebook_folder`` is where the notebook ran (the files it wrote are read
    there); ``test_folder`` is where the tests run.
    """

    def ask(question: str) -> str:
        with contextlib.chdir(notebook_folder):
            return answer(question, namespace)

    return Checker(json.dumps(asdict(plan)), seed, ask=ask, folder=str(test_folder))


def verdict(checker: Checker, source: str, cell: str) -> dict:
    """Run one test's ``source`` as test cell ``cell``; its verdict."""
    import base64

    return json.loads(checker.run_test(base64.b64encode(source.encode()).decode(), cell))
