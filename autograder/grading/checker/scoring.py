"""What a test earns: the checker's verdict, then the consistency rule, in one place.

``coursekit grade`` (:mod:`autograder.grading.pipeline.execute`) and the
student zoo's fast harness both score a test with :func:`score_test`, so the
zoo's verdicts are the grader's.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TestScore:
    """A test's outcome: full points or none, why none, and whether a TA must look first."""

    passed: bool
    reason: str = ""  # "Name: message" of why it earns nothing
    held: bool = False  # the evidence contradicted itself: points held until a TA looks
    dependency: bool = False  # it passed, but a solution cell it needs was not done

    __test__ = False  # not a pytest class


def score_test(verdict: dict, broken: list[str]) -> TestScore:
    """Score a test from its verdict (:meth:`Checker.run_test`) and its broken dependencies.

    ``broken`` says why solution cells the test depends on were not done
    (:func:`~autograder.grading.checker.plan.broken_dependencies`): a test
    cannot pass on work that was never written, whatever its checks found.
    """
    if verdict.get("status") != "passed":
        name = str(verdict.get("ename") or "AssertionError")
        return TestScore(False, f"{name}: {verdict.get('evalue') or ''}")
    if broken:
        return TestScore(
            False, "DependencyNotMet: this test scores 0: " + "; ".join(broken), dependency=True
        )
    return TestScore(True, held=bool(verdict.get("inconsistent")))
