"""The grading plan: what each test needs, read once from the source notebooks.

:func:`plan_assignment` reads the source and the released notebooks once per
grading run and writes down, per notebook (:class:`NotebookPlan`):

- the setup imports the checker runs first (every ``import`` of the source's
  own non-graded cells, and the modules its tests import from);
- the *trusted cells*: the source's own kit cells that tests read from and
  that depend on no student code (``mnist = load_mnist()``). The checker
  runs them itself, from the source, so a test compares the student's work
  with data no notebook touched;
- for each test (:class:`CellNeeds`): the names it needs from the student's
  kernel, the files the notebook writes that it reads, and the solution
  cells it depends on, directly or through other cells;
- each solution cell as released (the stub), so that a solution that was
  never written can be told.

The consistency rule built on it (:func:`broken_dependencies`): a test cannot
pass while a solution cell it depends on is still the released stub, raised
an error, or did not run. :func:`cells_to_run` uses the same facts to pick
the cells of a handed-in notebook that some test depends on.
"""

from __future__ import annotations

import ast
import builtins
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import nbformat
import numpy as np

from autograder.grading.checker.facts import CellFacts, import_statements, imported_modules

PLAN_VERSION = 2
# Names every kernel has: Python's builtins and the two IPython adds.
_BUILTINS = frozenset(dir(builtins)) | {"display", "get_ipython"}


@dataclass(frozen=True)
class CellNeeds:
    """What one test cell needs from the notebook."""

    reads: tuple[str, ...] = ()  # names whose values come from the student's kernel
    files: tuple[str, ...] = ()  # files in the kernel's working folder the test reads
    depends_on: tuple[str, ...] = ()  # solution cells (grade ids) it depends on


@dataclass(frozen=True)
class NotebookPlan:
    """The plan of one notebook."""

    setup_imports: str = ""
    trusted_cells: tuple[str, ...] = ()  # sources the checker runs itself, in order
    tests: dict[str, CellNeeds] = field(default_factory=dict)  # grade id -> plan
    stubs: dict[str, str] = field(default_factory=dict)  # solution cell -> released source
    # The model file a solution cell saves and the student hands in, and the private test
    # images the checker predicts with it (the leaderboard bonus's check).
    handed_in_model: str = ""
    reproduction_rows: tuple[int, ...] = ()

    def test(self, grade_id: str) -> CellNeeds:
        return self.tests.get(grade_id, CellNeeds())

    @classmethod
    def from_dict(cls, data: dict) -> NotebookPlan:
        tests = {
            name: CellNeeds(**{key: tuple(value) for key, value in test.items()})
            for name, test in data.get("tests", {}).items()
        }
        return cls(
            data.get("setup_imports", ""),
            tuple(data.get("trusted_cells", ())),
            tests,
            dict(data.get("stubs", {})),
            str(data.get("handed_in_model", "")),
            tuple(int(row) for row in data.get("reproduction_rows", ())),
        )


@dataclass(frozen=True)
class GradingPlan:
    """Every notebook's :class:`NotebookPlan`, keyed by notebook name (no ``.ipynb``)."""

    notebooks: dict[str, NotebookPlan] = field(default_factory=dict)
    version: int = PLAN_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> GradingPlan:
        data = json.loads(text)
        if data.get("version") != PLAN_VERSION:
            raise ValueError(
                f"grading plan version {data.get('version')!r}, expected {PLAN_VERSION}"
            )
        return cls({name: NotebookPlan.from_dict(plan) for name, plan in data["notebooks"].items()})


#: How many private test images a handed-in model is checked on (the leaderboard bonus).
REPRODUCTION_SAMPLE = 2000


def plan_assignment(source_dir: Path, release_dir: Path, private_rows=()) -> GradingPlan:
    """The plan for every notebook of an assignment, from its source and its release.

    ``private_rows`` are the test images of the leaderboard's private part; a
    sample of them is what a handed-in model is checked on.
    """
    rows = tuple(private_rows)
    if len(rows) > REPRODUCTION_SAMPLE:
        picked = np.random.default_rng(0).choice(len(rows), REPRODUCTION_SAMPLE, replace=False)
        rows = tuple(int(rows[i]) for i in sorted(picked))
    notebooks = {}
    for path in sorted(Path(source_dir).glob("*.ipynb")):
        release = Path(release_dir) / path.name
        plan = plan_notebook(
            nbformat.read(path, 4), nbformat.read(release, 4) if release.is_file() else None
        )
        notebooks[path.stem] = replace(plan, reproduction_rows=rows if plan.handed_in_model else ())
    return GradingPlan(notebooks)


def plan_notebook(source, release=None) -> NotebookPlan:
    """The :class:`NotebookPlan` of one source notebook (and its release, for the stubs)."""
    cells = [cell for cell in source.cells if cell.cell_type == "code"]
    facts = [CellFacts.of(cell.source) for cell in cells]
    setup = [import_statements(cell.source) for cell in cells if not grade_id(cell)]
    setup += [
        f"import {module}"
        for cell in cells
        if is_test(cell)
        for module in imported_modules(cell.source)
    ]
    setup = list(dict.fromkeys(line for line in setup if line))
    trusted = _trusted_cells(cells, facts)
    trusted_names = set().union(*(facts[i].defines for i in trusted))
    tests = {}
    for index, cell in enumerate(cells):
        if not is_test(cell):
            continue
        # A name the source's own kit cells made stays the checker's copy even when student
        # code changes the kernel's in place: the test compares with the untouched data.
        from_kernel: set[str] = set()
        for earlier in range(index):
            if earlier not in trusted and not is_test(cells[earlier]):
                from_kernel |= facts[earlier].defines
                from_kernel |= facts[earlier].mutates - trusted_names
        needed = closure(index, facts)
        tests[grade_id(cell)] = CellNeeds(
            reads=tuple(sorted(facts[index].reads & from_kernel)),
            files=tuple(sorted(facts[index].files)),
            depends_on=tuple(grade_id(cells[i]) for i in sorted(needed) if is_solution(cells[i])),
        )
    needed_by_tests = set().union(*(facts[i].reads for i, c in enumerate(cells) if is_test(c)))
    kept = _needed_trusted(trusted, facts, needed_by_tests)
    stubs = {}
    if release is not None:
        stubs = {
            grade_id(cell): cell.source
            for cell in release.cells
            if cell.cell_type == "code" and is_solution(cell)
        }
    models = [
        name
        for cell, fact in zip(cells, facts, strict=True)
        if is_solution(cell)
        for name in sorted(fact.files)
        if name.endswith(".keras")
    ]
    return NotebookPlan(
        "\n".join(setup) + ("\n" if setup else ""),
        tuple(cells[i].source for i in kept),
        tests,
        stubs,
        models[0] if models else "",
    )


def _trusted_cells(cells, facts: list[CellFacts]) -> set[int]:
    """Kit cells (not graded) whose every input is an import or another trusted cell's."""
    imported = set().union(*(f.imports for f in facts))
    imported |= set().union(*(star_imported(cell.source) for cell in cells))
    untrusted_names: set[str] = set()
    trusted_names: set[str] = set()
    trusted: set[int] = set()
    for index, (cell, fact) in enumerate(zip(cells, facts, strict=True)):
        if is_test(cell):
            continue
        inputs = fact.reads - _BUILTINS - imported
        clean = (
            not grade_id(cell)
            and not fact.opaque
            and inputs <= trusted_names
            and not (fact.mutates & untrusted_names)
            and not (fact.defines & untrusted_names)
        )
        if clean:
            trusted.add(index)
            trusted_names |= fact.defines
        else:
            untrusted_names |= fact.defines | (fact.mutates - trusted_names)
            trusted_names -= fact.defines
    return trusted


def _needed_trusted(trusted: set[int], facts: list[CellFacts], wanted: set[str]) -> list[int]:
    """The trusted cells that define what the tests read, with the trusted cells they need."""
    kept: set[int] = set()
    todo = set(wanted)
    for index in sorted(trusted, reverse=True):
        if facts[index].defines & todo:
            kept.add(index)
            todo |= facts[index].reads
    return sorted(kept)


def star_imported(source: str) -> set[str]:
    """The names ``from utilities... import *`` binds (other star imports are not followed)."""
    import importlib

    names: set[str] = set()
    for line in import_statements(source).splitlines():
        words = line.split()
        if len(words) == 4 and words[0] == "from" and words[3] == "*":
            module = words[1]
            if module == "utilities" or module.startswith("utilities."):
                names |= set(getattr(importlib.import_module(module), "__all__", ()))
    return names


def closure(index: int, facts: list[CellFacts]) -> set[int]:
    """The earlier cells that cell ``index`` needs, directly or through other cells."""
    needed: set[int] = set()
    todo = [index]
    while todo:
        current = todo.pop()
        for earlier in range(current):
            if earlier in needed:
                continue
            shared = facts[current].reads & facts[earlier].binds
            changed = (facts[current].mutates | facts[current].defines) & facts[earlier].mutates
            if shared or changed or facts[current].files & facts[earlier].files:
                needed.add(earlier)
                todo.append(earlier)
    return needed


#: Calls that may write a file: a cell making one runs when a test reads files (when in doubt).
FILE_WRITERS = frozenset(
    (
        "make_submission",
        "save",
        "save_weights",
        "savetxt",
        "savez",
        "savez_compressed",
        "to_csv",
        "to_json",
        "write",
        "write_text",
        "write_bytes",
        "writelines",
        "open",
        "dump",
        "copyfile",
        "copy",
        "copy2",
        "move",
        "rename",
        "replace",
        "export",
        "system",
        "run",
        "Popen",
    )
)


#: Calls that read a file: a test making one may read what any earlier cell wrote.
FILE_READERS = frozenset(
    ("open", "read_csv", "load", "loadtxt", "read_text", "read_bytes", "load_model", "File")
)


def _calls(source: str) -> set[str] | None:
    """The names of the functions and methods a cell calls; None when it cannot be read."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    return {
        getattr(node.func, "attr", None) or getattr(node.func, "id", "")
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    }


def may_read_files(source: str, files) -> bool:
    """Whether a test may read a file: it names one, or calls something that reads files."""
    calls = _calls(source)
    return bool(files) or calls is None or bool(calls & FILE_READERS)


def _star_import(source: str) -> bool:
    """Whether a cell imports ``*``: the names it binds cannot be listed, so it always runs."""
    return any(
        line.rstrip().endswith("import *") for line in import_statements(source).splitlines()
    )


def may_write_files(source: str, facts: CellFacts) -> bool:
    """Whether a cell may write a file: it names one, or calls something that writes."""
    calls = _calls(source)
    return bool(facts.files) or facts.opaque or calls is None or bool(calls & FILE_WRITERS)


def cells_to_run(cells, plan: NotebookPlan) -> set[int]:
    """The code cells of a handed-in notebook that grading runs, by index in ``cells``.

    A cell runs when a test depends on it, directly or through names and files
    (:func:`closure` over the student's own cells, starting from what each test
    asks the kernel for), and, when in doubt, always: every solution cell, every
    cell that imports ``*`` or that no static reading can follow (magics,
    ``exec``), and, when a test reads a file, every cell that may write one. The
    cells these need run too. Test cells themselves run in the checker; cells
    after the last test never matter. Every other cell keeps the student's own
    outputs.
    """
    code = [index for index, cell in enumerate(cells) if cell.cell_type == "code"]
    facts = [CellFacts.of(cells[index].source) for index in code]
    tests = [position for position, index in enumerate(code) if is_test(cells[index])]
    if not tests:
        return set()
    last = max(tests)
    reads_files = False
    for position in tests:
        needs = plan.tests.get(grade_id(cells[code[position]]))
        own = facts[position]
        reads = set(needs.reads) if needs is not None else set(own.reads)
        files = set(needs.files) if needs is not None else set(own.files)
        reads_files |= may_read_files(cells[code[position]].source, files)
        facts[position] = CellFacts(reads=frozenset(reads), files=frozenset(files))
    needed: set[int] = set()
    todo = list(tests)
    for position in range(last):
        cell, fact = cells[code[position]], facts[position]
        always = is_solution(cell) or fact.opaque or _star_import(cell.source)
        writes = reads_files and may_write_files(cell.source, fact)
        if (always or writes) and not is_test(cell):
            todo.append(position)
    while todo:
        position = todo.pop()
        if position in needed:
            continue
        needed.add(position)
        todo += [earlier for earlier in closure(position, facts) if earlier not in needed]
    return {code[position] for position in needed if not is_test(cells[code[position]])}


def broken_dependencies(
    test: str, plan: NotebookPlan, sources: dict[str, str], failed: set[str], ran: set[str]
) -> list[str]:
    """Why ``test`` cannot pass: each solution cell it needs that was not written or failed.

    ``sources`` maps solution cells to what the student submitted, ``failed``
    and ``ran`` name the solution cells that raised and that ran at all.
    """
    reasons = []
    for cell in plan.test(test).depends_on:
        if cell not in sources or cell not in ran:
            reasons.append(f"your solution cell {cell} did not run")
        elif cell in plan.stubs and _same_code(sources[cell], plan.stubs[cell]):
            reasons.append(f"your solution cell {cell} is still the released stub")
        elif cell in failed:
            reasons.append(f"your solution cell {cell} raised an error")
    return reasons


def grade_id(cell) -> str:
    meta = cell.metadata.get("nbgrader", {})
    return meta.get("grade_id", "") if isinstance(meta, dict) else ""


def is_solution(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return isinstance(meta, dict) and bool(meta.get("solution")) and not meta.get("grade")


def is_test(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return isinstance(meta, dict) and bool(meta.get("grade")) and not meta.get("solution")


def _same_code(submitted: str, released: str) -> bool:
    def lines(text: str) -> list[str]:
        return [line.rstrip() for line in text.strip().splitlines() if line.strip()]

    return lines(submitted) == lines(released)
