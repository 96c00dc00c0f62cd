"""Grade zoo variants in one process, with the grader's own checker and scoring.

A variant (:class:`autograder.demo.variants.Variant`) replaces some solution
cells of a source notebook (by grade_id) and may edit kit cells (found by a
piece of their text). :class:`NotebookGrader` executes, with TensorFlow
imported once, only the cells that the graded tests need (setup, data,
solutions, the kit cells between them such as the training cell) and skips
the rest (plots, reports).

Tests are judged as ``coursekit grade`` judges them: by the grader's
:class:`~autograder.grading.checker.program.Checker`, which asks the
notebook's namespace questions through :func:`utilities.evidence.answer` (as
JSON text, exactly what crosses between the two kernels), rebuilds models
from data and runs the test's source on its side; then
:func:`~autograder.grading.checker.scoring.score_test` applies the
consistency rule. Only the kernels in between are missing.

The notebook is executed once as written (the reference), keeping a shallow
snapshot of the namespace around every cell. A variant starts from the
snapshot before the first cell it changes and re-runs only the cells that
read, directly or through other cells, a name or a file that changed; every
other cell's names and every other test's result come from the reference.
A cell that changes an object in place (``lenet5.compile(...)``) also
re-runs the cell that made the object, so the reference's objects are never
touched, and the raw data a re-run cell reads is a copy.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import io
import json
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbgrader.preprocessors import ClearSolutions

from autograder.demo.variants import RELEASED
from autograder.grading.checker.facts import CellFacts
from autograder.grading.checker.plan import (
    NotebookPlan,
    broken_dependencies,
    cells_to_run,
    plan_notebook,
)
from autograder.grading.checker.program import Checker
from autograder.grading.checker.scoring import score_test
from utilities.evidence import answer

#: The grading seed of the zoo's checker (the grader draws a new one per notebook).
ZOO_SEED = 20261206


@dataclass(frozen=True)
class Cell:
    """A code cell of the source notebook."""

    position: int  # among the notebook's code cells
    source: str
    grade_id: str = ""
    test: bool = False
    points: float = 0.0

    @property
    def label(self) -> str:
        return self.grade_id or f"code cell {self.position}"


@dataclass(frozen=True)
class TestResult:
    """One test's outcome: the points it earned of its points, and why it lost them."""

    points: float
    earned: float
    error: str = ""


@dataclass
class Grades:
    """What one run of a notebook earned, test by test."""

    tests: dict[str, TestResult]
    cell_errors: dict[str, str]  # cell label -> the error it raised
    ran: dict[str, float]  # the cells this run executed, with their seconds (the rest: reference)
    seconds: float

    def earned(self) -> dict[str, float]:
        return {test: result.earned for test, result in self.tests.items()}


@dataclass
class _Run:
    namespace: dict
    before: dict[int, dict] = field(default_factory=dict)
    after: dict[int, dict] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)
    verdicts: dict[str, dict] = field(default_factory=dict)  # test -> the checker's verdict
    seconds: dict[int, float] = field(default_factory=dict)


class NotebookGrader:
    """Grades a source notebook and variants of it, in this process.

    ``inputs`` are the files the notebook reads from its folder (name ->
    path); every run gets a folder of its own with links to them.
    """

    def __init__(self, path: Path, workdir: Path, inputs: Mapping[str, Path] | None = None):
        self.path = Path(path)
        self.workdir = Path(workdir)
        self.inputs = dict(inputs or {})
        notebook = nbformat.read(self.path, as_version=4)
        self.notebook = notebook
        release, _ = ClearSolutions().preprocess(copy.deepcopy(notebook), {})
        self.plan: NotebookPlan = plan_notebook(notebook, release)
        self.cells: list[Cell] = []
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            meta = cell.metadata.get("nbgrader", {})
            test = bool(meta.get("grade")) and not meta.get("solution")
            self.cells.append(
                Cell(
                    position=len(self.cells),
                    source=cell.source,
                    grade_id=meta.get("grade_id", ""),
                    test=test,
                    points=float(meta.get("points", 0)) if test else 0.0,
                )
            )
        self.facts = [self._facts(cell.source) for cell in self.cells]
        self.tests = {cell.grade_id: cell.points for cell in self.cells if cell.test}
        self.solutions = [cell.grade_id for cell in self.cells if cell.grade_id and not cell.test]
        self.needed = self._needed()
        self._reference: _Run | None = None
        self._runs = 0
        self._checker: Checker | None = None
        self._answering: tuple[dict, Path] = ({}, self.workdir)

    # --- which cells run --------------------------------------------------------------------

    def _facts(self, source: str) -> CellFacts:
        facts = CellFacts.of(source)
        return CellFacts(
            facts.reads,
            facts.defines,
            facts.mutates,
            facts.files - set(self.inputs),
            facts.imports,
            facts.opaque,
        )

    def _needed(self, sources: Mapping[int, str] | None = None) -> list[int]:
        """The cells grading runs (the grader's own choice), and the tests, in notebook order."""
        notebook = copy.deepcopy(self.notebook)
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        for position, source in (sources or {}).items():
            code[position].source = source
        run = {
            id(cell)
            for index, cell in enumerate(notebook.cells)
            if index in cells_to_run(notebook.cells, self.plan)
        }
        return [
            position
            for position, cell in enumerate(code)
            if id(cell) in run or self.cells[position].test
        ]

    def cell(self, key: str) -> Cell:
        """The cell with grade_id ``key``, or the one kit cell whose source contains ``key``."""
        found = [c for c in self.cells if c.grade_id == key]
        found = found or [c for c in self.cells if not c.grade_id and key in c.source]
        if len(found) != 1:
            raise KeyError(f"{self.path.name}: {len(found)} cells match {key!r}")
        return found[0]

    def _affected(self, sources: Mapping[int, str]) -> list[int]:
        """The cells to re-run when ``sources`` replace some cells, in notebook order."""
        facts = list(self.facts)
        for position, source in sources.items():
            facts[position] = _union(facts[position], self._facts(source))
        changed = set(sources)
        order = sorted(set(self._needed(sources)) | changed)
        while True:
            affected: set[int] = set()
            names: set[str] = set()
            files: set[str] = set()
            for position in order:
                cell = facts[position]
                if position in changed or cell.reads & names or cell.files & files:
                    affected.add(position)
                    if not self.cells[position].test:  # the kit reads nothing that tests define
                        names |= cell.defines | cell.mutates
                        files |= cell.files
            # An object changed in place is made again first, so the reference keeps its own.
            makers = {
                earlier
                for position in affected
                for name in facts[position].mutates
                for earlier in order
                if earlier < position and earlier not in affected and name in facts[earlier].defines
            }
            if not makers:
                return sorted(affected)
            changed |= makers

    # --- running ----------------------------------------------------------------------------

    def reference(self) -> _Run:
        if self._reference is None:
            self._reference = self._execute({}, self.needed, None)
        return self._reference

    def grade(
        self, cells: Mapping[str, str] | None = None, edits: Mapping[str, str] | None = None
    ) -> Grades:
        """Grade the notebook with solution ``cells`` (grade_id -> source) and kit ``edits``.

        ``edits`` maps a piece of text that identifies one kit cell to that
        cell's new source. With neither, this is the notebook as written.
        """
        started = time.perf_counter()
        sources: dict[int, str] = {}
        for key, source in {**(cells or {}), **(edits or {})}.items():
            target = self.cell(key)
            if target.test:
                raise ValueError(f"{key} is a test cell: the grader restores those")
            sources[target.position] = self.plan.stubs[key] if source == RELEASED else source
        reference = self.reference()
        if not sources:
            run, ran = reference, self.needed
        else:
            ran = self._affected(sources)
            run = self._execute(sources, ran, reference)
        tests = self._score(run, sources)
        errors = {self.cells[p].label: error for p, error in sorted(run.errors.items())}
        seconds = time.perf_counter() - started
        timings = {self.cells[p].label: run.seconds.get(p, 0.0) for p in ran}
        return Grades(tests, errors, timings, seconds)

    def _score(self, run: _Run, sources: Mapping[int, str]) -> dict[str, TestResult]:
        solution_sources = {
            cell.grade_id: sources.get(cell.position, cell.source)
            for cell in self.cells
            if cell.grade_id in self.solutions
        }
        failed = {self.cells[p].grade_id for p in run.errors if self.cells[p].grade_id}
        scored = {}
        for test, verdict in run.verdicts.items():
            broken = broken_dependencies(
                test, self.plan, solution_sources, failed, set(self.solutions)
            )
            score = score_test(verdict, broken)
            if score.held:  # a correct variant's evidence never contradicts itself
                score = type(score)(False, "held: " + "; ".join(verdict["inconsistent"]))
            points = self.tests[test]
            scored[test] = TestResult(points, points if score.passed else 0.0, score.reason)
        return scored

    def _execute(self, sources: Mapping[int, str], ran: list[int], reference: _Run | None) -> _Run:
        import keras

        self._runs += 1
        folder = self.workdir / (f"run{self._runs:03d}" if reference else "reference")
        if folder.exists():
            shutil.rmtree(folder)
        if reference is None:
            folder.mkdir(parents=True)
        else:
            shutil.copytree(self.workdir / "reference", folder, symlinks=True)
            for position in ran:  # what a re-run cell writes is written anew (or not at all)
                for name in self.facts[position].files:
                    (folder / name).unlink(missing_ok=True)
        for name, path in self.inputs.items():
            if not (folder / name).exists():
                (folder / name).symlink_to(Path(path).resolve())
        start = ran[0]
        run = _Run(
            self._snapshot(reference, start) if reference else {"__name__": "__main__"},
            verdicts=dict(reference.verdicts) if reference else {},
        )
        if reference:
            run.errors = {p: e for p, e in reference.errors.items() if p < start}
        keras.utils.set_random_seed(2024)
        rerun = set(ran)
        with contextlib.chdir(folder):
            for position in sorted(set(self._needed(sources)) | rerun):
                if position < start:
                    continue
                cell = self.cells[position]
                if position not in rerun:
                    assert reference is not None
                    done = reference.after[position]
                    run.namespace.update(
                        {n: done[n] for n in self.facts[position].defines if n in done}
                    )
                    if position in reference.errors:
                        run.errors[position] = reference.errors[position]
                    continue
                source = sources.get(position, cell.source)
                if reference is not None and not cell.test:
                    _copy_arrays(run.namespace, self.facts[position].reads)
                run.before[position] = dict(run.namespace)
                began = time.perf_counter()
                if cell.test:
                    run.verdicts[cell.grade_id] = self._judge(cell, run.namespace, folder)
                else:
                    error = _exec(source, f"<{cell.label}>", run.namespace)
                    if error:
                        run.errors[position] = error
                    else:
                        run.errors.pop(position, None)
                run.after[position] = dict(run.namespace)
                run.seconds[position] = time.perf_counter() - began
        return run

    def _snapshot(self, reference: _Run, position: int) -> dict:
        """The reference's namespace just before cell ``position``."""
        if position in reference.before:
            return dict(reference.before[position])
        earlier = [p for p in reference.after if p < position]
        return dict(reference.after[max(earlier)]) if earlier else {"__name__": "__main__"}

    def _judge(self, cell: Cell, namespace: dict, folder: Path) -> dict:
        """The checker's verdict on a test, its questions answered from ``namespace``."""
        self._answering = (namespace, folder)
        if self._checker is None:
            with contextlib.chdir(self.workdir / "reference"):  # where the data files are
                self._checker = Checker(
                    json.dumps(asdict(self.plan)),
                    ZOO_SEED,
                    ask=self._answer,
                    folder=str(self.workdir / "checker"),
                )
        encoded = base64.b64encode(cell.source.encode()).decode()
        with contextlib.redirect_stdout(io.StringIO()):
            return json.loads(self._checker.run_test(encoded, cell.grade_id))

    def _answer(self, question: str) -> str:
        namespace, folder = self._answering
        with contextlib.chdir(folder):
            return answer(question, namespace)


def _union(first: CellFacts, second: CellFacts) -> CellFacts:
    """Facts of either source: a cell that changed is followed by what either version touches."""
    return CellFacts(
        first.reads | second.reads,
        first.defines | second.defines,
        first.mutates | second.mutates,
        first.files | second.files,
        first.imports | second.imports,
        first.opaque or second.opaque,
    )


def _exec(source: str, filename: str, namespace: dict) -> str:
    """Run ``source``; the error it raised as ``Name: message``, or ``""``."""
    output = io.StringIO()
    try:
        code = compile(source, filename, "exec")
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            exec(code, namespace)
    except (Exception, SystemExit) as error:
        return f"{type(error).__name__}: {error}"
    return ""


def _copy_arrays(namespace: dict, names) -> None:
    """Give a re-run cell copies of the raw data it reads, so it cannot change the reference's.

    Raw data is what student code gets to transform: uint8 arrays and dicts of
    arrays (``mnist``, ``fashion``). Arrays made by the notebook (``x_train``)
    are only read by Keras and the checks.
    """
    import numpy as np

    for name in names:
        value = namespace.get(name)
        if isinstance(value, np.ndarray) and value.dtype == np.uint8:
            namespace[name] = value.copy()
        elif isinstance(value, dict) and any(isinstance(v, np.ndarray) for v in value.values()):
            namespace[name] = {
                k: v.copy() if isinstance(v, np.ndarray) else v for k, v in value.items()
            }


def fast_mode_environment() -> contextlib.AbstractContextManager:
    """Fast mode, as when ``coursekit grade`` runs the notebooks."""
    from utilities.runmode import FAST_MODE_ENV

    @contextlib.contextmanager
    def patched():
        old = os.environ.get(FAST_MODE_ENV)
        os.environ[FAST_MODE_ENV] = "1"
        try:
            yield
        finally:
            if old is None:
                os.environ.pop(FAST_MODE_ENV, None)
            else:
                os.environ[FAST_MODE_ENV] = old

    return patched()


def unfair_grades(variant, grades: Grades, tests: Mapping[str, float]) -> list[str]:
    """How ``grades`` differ from what ``variant`` states (a ``zoo_variants.Variant``)."""
    problems = []
    for test, expected in variant.expected(tests).items():
        result = grades.tests[test]
        why = variant.fails.get(test, "")
        if result.earned != expected:
            problems.append(
                f"{test}: expected {expected:g} of {result.points:g} points, earned "
                f"{result.earned:g}" + (f" ({result.error})" if result.error else "")
            )
        elif why and why.lower() not in result.error.lower():
            problems.append(
                f"{test}: failed as expected, but its message does not say {why!r}: {result.error}"
            )
    return problems


def assert_graded_fairly(variant, grader: NotebookGrader) -> float:
    """Grade ``variant`` with ``grader``; fail with every disagreement. Returns the seconds."""
    grades = grader.grade(variant.cells, variant.edits)
    problems = unfair_grades(variant, grades, grader.tests)
    assert not problems, (
        f"{variant.name} ({variant.story}) is graded unfairly:\n  "
        + "\n  ".join(problems)
        + f"\ncells that raised: {grades.cell_errors or 'none'}"
    )
    return grades.seconds


@contextlib.contextmanager
def timed_zoo(label: str):
    """Seconds per variant, filled in by the tests and printed at the end (pytest -s shows them)."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    yield seconds
    total = time.perf_counter() - started
    listing = ", ".join(f"{name} {value:.1f}" for name, value in seconds.items())
    print(f"\n{label}: {len(seconds)} variants graded in {total:.0f} s ({listing})")
