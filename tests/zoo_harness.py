"""Grade solution variants in one process, scoring each test as the autograder does.

A variant replaces some solution cells of a source notebook (by grade_id) and
may edit kit cells (found by a piece of their text). :class:`NotebookGrader`
executes, with TensorFlow imported once, only the cells that the graded tests
need (setup, data, solutions, the kit cells between them such as the
training cell, then the tests) and skips the rest (plots, reports).

Scoring follows ``coursekit grade``: a test cell earns its points when it
runs without raising and 0 otherwise, the setup imports are re-run before
each test (so ``np`` and ``keras`` in a test are the real ones), and a test
also scores 0 when a solution cell it depends on is the released stub or
raised (:func:`autograder.grading.checker.plan.broken_dependencies`).

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

import ast
import contextlib
import copy
import io
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.preprocessors import ClearSolutions

from autograder.grading.checker.plan import NotebookPlan, broken_dependencies, plan_notebook

# Methods that change the object they are called on. Any other method call is taken as a read.
MUTATING_METHODS = frozenset(
    (
        "add",
        "append",
        "build",
        "clear",
        "compile",
        "extend",
        "fit",
        "insert",
        "load_weights",
        "pop",
        "remove",
        "reset_state",
        "reset_states",
        "set_weights",
        "setdefault",
        "shuffle",
        "sort",
        "train_on_batch",
        "update",
        "update_state",
    )
)
FILE_SUFFIXES = (".csv", ".h5", ".json", ".npy", ".npz", ".keras", ".txt")


@dataclass(frozen=True)
class Facts:
    """What a cell's source reads and binds, by name and by file."""

    reads: frozenset[str] = frozenset()
    defines: frozenset[str] = frozenset()  # bound by assignment, def or class (not by import)
    mutates: frozenset[str] = frozenset()  # changed in place: x.attr = ..., x[...] = ..., x.fit()
    files: frozenset[str] = frozenset()  # file names written as string literals
    imports: frozenset[str] = frozenset()  # bound by import: the same modules in every run

    def __or__(self, other: Facts) -> Facts:
        return Facts(
            self.reads | other.reads,
            self.defines | other.defines,
            self.mutates | other.mutates,
            self.files | other.files,
            self.imports | other.imports,
        )

    @classmethod
    def of(cls, source: str) -> Facts:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            return cls()
        scopes = _Scopes()
        scopes.visit(tree)
        mutates, files = set(), set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute | ast.Subscript) and not isinstance(
                node.ctx, ast.Load
            ):
                mutates |= _base(node)
            elif isinstance(node, ast.AugAssign):
                mutates |= _base(node.target)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in MUTATING_METHODS
            ):
                mutates |= _base(node.func.value)
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value.endswith(FILE_SUFFIXES)
                and "/" not in node.value
            ):
                files.add(node.value)
        return cls(
            frozenset(scopes.reads),
            frozenset(scopes.defines),
            frozenset(mutates - scopes.local),
            frozenset(files),
            frozenset(_imported(tree)),
        )


class _Scopes(ast.NodeVisitor):
    """The notebook-level names a cell reads and binds; names local to a function are left out."""

    def __init__(self) -> None:
        self.reads: set[str] = set()
        self.defines: set[str] = set()
        self.local: set[str] = set()  # bound inside some function, lambda or comprehension
        self._stack: list[set[str]] = []

    def _scope(self, node: ast.AST, names: set[str], body: list[ast.AST]) -> None:
        names |= {
            n.id
            for part in body
            for n in ast.walk(part)
            if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)
        }
        names |= {
            n.name
            for part in body
            for n in ast.walk(part)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        }
        self.local |= names
        self._stack.append(names)
        for part in body:
            self.visit(part)
        self._stack.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._bind(node.name)
        for default in node.args.defaults + node.args.kw_defaults + node.decorator_list:
            if default is not None:
                self.visit(default)
        arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
        arguments += [a for a in (node.args.vararg, node.args.kwarg) if a is not None]
        self._scope(node, {a.arg for a in arguments}, node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._bind(node.name)
        for base in node.bases + node.decorator_list:
            self.visit(base)
        self._scope(node, set(), node.body)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
        self._scope(node, {a.arg for a in arguments}, [node.body])

    def _comprehension(self, node) -> None:
        parts = [
            *node.generators,
            *(getattr(node, f) for f in ("elt", "key", "value") if hasattr(node, f)),
        ]
        self._scope(node, set(), parts)

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        pass  # imports bind modules: the same objects in every run (Facts.imports)

    visit_ImportFrom = visit_Import

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            if not any(node.id in scope for scope in self._stack):
                self.reads.add(node.id)
        else:
            self._bind(node.id)

    def _bind(self, name: str) -> None:
        if self._stack:
            self._stack[-1].add(name)
            self.local.add(name)
        else:
            self.defines.add(name)


def _base(node: ast.expr) -> set[str]:
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    return {node.id} if isinstance(node, ast.Name) else set()


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
    results: dict[str, TestResult] = field(default_factory=dict)
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

    # --- which cells run --------------------------------------------------------------------

    def _facts(self, source: str) -> Facts:
        facts = Facts.of(source)
        return Facts(
            facts.reads, facts.defines, facts.mutates, facts.files - set(self.inputs), facts.imports
        )

    def _needed(self) -> list[int]:
        """The cells the tests need, directly or through other cells, in notebook order."""
        needed: set[int] = set()
        todo = [cell.position for cell in self.cells if cell.test]
        while todo:
            current = todo.pop()
            needed.add(current)
            wants = self.facts[current].reads | self.facts[current].files
            for earlier in range(current):
                facts = self.facts[earlier]
                gives = facts.defines | facts.mutates | facts.files | facts.imports
                if earlier not in needed and earlier not in todo and wants & gives:
                    todo.append(earlier)
        return sorted(needed)

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
            facts[position] = facts[position] | self._facts(source)
        changed = set(sources)
        order = sorted(set(self.needed) | changed)
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
            sources[target.position] = source
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
        for test, result in run.results.items():
            broken = broken_dependencies(
                test, self.plan, solution_sources, failed, set(self.solutions)
            )
            if broken and not result.error:
                result = TestResult(
                    result.points, 0.0, "DependencyNotMet: this test scores 0: " + "; ".join(broken)
                )
            scored[test] = result
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
            results=dict(reference.results) if reference else {},
        )
        if reference:
            run.errors = {p: e for p, e in reference.errors.items() if p < start}
        keras.utils.set_random_seed(2024)
        rerun = set(ran)
        with contextlib.chdir(folder):
            for position in sorted(set(self.needed) | rerun):
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
                    run.results[cell.grade_id] = self._run_test(cell, run.namespace)
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

    def _run_test(self, cell: Cell, namespace: dict) -> TestResult:
        """Run a test as the grading guard does: the setup imports first, then the test."""
        setup_names = _imported(ast.parse(self.plan.setup_imports))
        shadowed = {name: namespace[name] for name in setup_names if name in namespace}
        error = _exec(self.plan.setup_imports, "<setup imports>", namespace)
        bound = {name: namespace.get(name) for name in setup_names}
        error = error or _exec(cell.source, f"<test {cell.grade_id}>", namespace)
        for name, value in bound.items():  # the student's own bindings of these names come back
            if namespace.get(name) is value:
                if name in shadowed:
                    namespace[name] = shadowed[name]
                else:
                    namespace.pop(name, None)
        return TestResult(cell.points, 0.0 if error else cell.points, error or "")


def _imported(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names - {"*"}


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
