"""What a test cell needs to have run as written: the grader's half of the integrity check.

:func:`plan_assignment` reads the source and the released notebooks once per
grading run and writes down, per notebook:

- the setup imports (every ``import`` of the source's own non-graded cells,
  and the modules its tests import from), which the in-kernel guard
  (:mod:`autograder.grading.kernel_guard`) re-runs before each test, so that ``np``
  and ``keras`` in a test are the real ones;
- for each test cell, the solution cells it depends on: the cells that define
  or change, directly or through other cells, a name the test reads;
- each solution cell as released (the stub), so that the executor can tell a
  solution that was never written.

The consistency rule built on it (:func:`broken_dependencies`): a test cannot
pass while a solution cell it depends on is still the released stub, raised
an error, or did not run.
"""

from __future__ import annotations

import ast
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

PLAN_VERSION = 1
#: What a file named in a cell ends with, for the file links between cells (see _CellFacts).
DATA_FILE_SUFFIXES = (".csv", ".h5", ".hdf5", ".npy", ".npz", ".json", ".keras", ".txt", ".pkl")


@dataclass(frozen=True)
class NotebookPlan:
    """The integrity facts of one notebook."""

    setup_imports: str = ""
    depends_on: dict[str, list[str]] = field(default_factory=dict)  # test -> solution cells
    stubs: dict[str, str] = field(default_factory=dict)  # solution cell -> released source


@dataclass(frozen=True)
class IntegrityPlan:
    """Every notebook's :class:`NotebookPlan`, keyed by notebook name (no ``.ipynb``)."""

    notebooks: dict[str, NotebookPlan] = field(default_factory=dict)
    version: int = PLAN_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> IntegrityPlan:
        data = json.loads(text)
        if data.get("version") != PLAN_VERSION:
            raise ValueError(f"integrity plan version {data.get('version')!r}, expected 1")
        return cls({name: NotebookPlan(**plan) for name, plan in data["notebooks"].items()})


def plan_assignment(source_dir: Path, release_dir: Path) -> IntegrityPlan:
    """The plan for every notebook of an assignment, from its source and its release."""
    notebooks = {}
    for path in sorted(Path(source_dir).glob("*.ipynb")):
        release = Path(release_dir) / path.name
        notebooks[path.stem] = plan_notebook(
            nbformat.read(path, 4), nbformat.read(release, 4) if release.is_file() else None
        )
    return IntegrityPlan(notebooks)


def plan_notebook(source, release=None) -> NotebookPlan:
    """The :class:`NotebookPlan` of one source notebook (and its release, for the stubs)."""
    cells = [cell for cell in source.cells if cell.cell_type == "code"]
    facts = [_CellFacts.of(cell) for cell in cells]
    setup = [facts[i].imports for i, cell in enumerate(cells) if not _grade_id(cell)]
    setup += [
        f"import {module}"
        for i, cell in enumerate(cells)
        if _is_test(cell)
        for module in facts[i].modules
    ]
    setup = list(dict.fromkeys(line for line in setup if line))
    depends_on = {}
    for index, cell in enumerate(cells):
        if _is_test(cell):
            needed = _closure(index, facts)
            depends_on[_grade_id(cell)] = [
                _grade_id(cells[i]) for i in sorted(needed) if _is_solution(cells[i])
            ]
    stubs = {}
    if release is not None:
        stubs = {
            _grade_id(cell): cell.source
            for cell in release.cells
            if cell.cell_type == "code" and _is_solution(cell)
        }
    return NotebookPlan("\n".join(setup) + ("\n" if setup else ""), depends_on, stubs)


def broken_dependencies(
    test: str, plan: NotebookPlan, sources: dict[str, str], failed: set[str], ran: set[str]
) -> list[str]:
    """Why ``test`` cannot pass: each solution cell it needs that was not written or failed.

    ``sources`` maps solution cells to what the student submitted, ``failed``
    and ``ran`` name the solution cells that raised and that ran at all.
    """
    reasons = []
    for cell in plan.depends_on.get(test, []):
        if cell not in sources or cell not in ran:
            reasons.append(f"your solution cell {cell} did not run")
        elif cell in plan.stubs and _same_code(sources[cell], plan.stubs[cell]):
            reasons.append(f"your solution cell {cell} is still the released stub")
        elif cell in failed:
            reasons.append(f"your solution cell {cell} raised an error")
    return reasons


@dataclass
class _CellFacts:
    defines: set[str]
    reads: set[str]
    imports: str
    modules: list[str] = field(default_factory=list)  # what the cell imports from
    # Files named in the cell (string literals such as "submission.csv"): a test that reads a
    # file needs the earlier cells that name it, since one of them writes it.
    files: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, cell) -> _CellFacts:
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # magics and shell escapes: nothing to learn
            return cls(set(), set(), "")
        defines: set[str] = set()
        imports, modules = [], []
        for statement in ast.walk(tree):
            if isinstance(statement, ast.Import):
                modules += [alias.name for alias in statement.names]
            elif isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
                modules.append(statement.module)
        for statement in tree.body:
            defines |= _bound_names(statement)
            if isinstance(statement, ast.Import | ast.ImportFrom):
                imports.append(ast.unparse(statement))
        reads = {
            node.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
        }
        files = {
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.lower().endswith(DATA_FILE_SUFFIXES)
        }
        return cls(defines, reads - defines, "\n".join(imports), modules, files)


def _bound_names(statement: ast.stmt) -> set[str]:
    """Names a top-level statement binds, or changes in place (``model.compile(...)``)."""
    names: set[str] = set()
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {statement.name}
    if isinstance(statement, ast.Import | ast.ImportFrom):
        return {(alias.asname or alias.name).split(".")[0] for alias in statement.names}
    for node in ast.walk(statement):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute | ast.Subscript) and isinstance(node.ctx, ast.Store):
            names |= _base_name(node)
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        function = statement.value.func
        if isinstance(function, ast.Attribute):
            names |= _base_name(function.value)
    return names


def _base_name(node: ast.expr) -> set[str]:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return {node.id} if isinstance(node, ast.Name) else set()


def _closure(index: int, facts: list[_CellFacts]) -> set[int]:
    """The earlier cells that cell ``index`` needs, directly or through other cells."""
    needed: set[int] = set()
    todo = [index]
    while todo:
        current = todo.pop()
        for earlier in range(current):
            shared = facts[current].reads & facts[earlier].defines
            if earlier not in needed and (shared or facts[current].files & facts[earlier].files):
                needed.add(earlier)
                todo.append(earlier)
    return needed


def _grade_id(cell) -> str:
    meta = cell.metadata.get("nbgrader", {})
    return meta.get("grade_id", "") if isinstance(meta, dict) else ""


def _is_solution(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return isinstance(meta, dict) and bool(meta.get("solution")) and not meta.get("grade")


def _is_test(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return isinstance(meta, dict) and bool(meta.get("grade")) and not meta.get("solution")


def _same_code(submitted: str, released: str) -> bool:
    def lines(text: str) -> list[str]:
        return [line.rstrip() for line in text.strip().splitlines() if line.strip()]

    return lines(submitted) == lines(released)
