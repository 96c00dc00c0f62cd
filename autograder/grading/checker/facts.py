"""What a cell's source reads, binds and changes: the static facts the grading plan is made of.

:meth:`CellFacts.of` parses one code cell and reports the notebook-level
names it reads and binds (names local to a function, lambda, class or
comprehension left out), the names it changes in place (``model.compile``,
``x[0] = 1``, ``np.random.shuffle(x)``), the files it names as string
literals (``"submission.csv"``), the modules it imports, and whether it does
something no static reading can follow (magics, ``exec``, ``globals()``).
The plan (:mod:`autograder.grading.checker.plan`) chains these facts from
cell to cell; where a cell cannot be read, the plan assumes the worst.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

#: Methods that change the object they are called on. Any other method call is taken as a read.
MUTATING_METHODS = frozenset(
    (
        "add",
        "append",
        "assign",
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
#: Functions known to leave their arguments as they are: a call of any other function is
#: taken to possibly change every name passed to it (``np.random.shuffle(x)``).
PURE_FUNCTIONS = frozenset(
    (
        "print",
        "display",
        "len",
        "repr",
        "str",
        "int",
        "float",
        "range",
        "enumerate",
        "zip",
        "sorted",
        "list",
        "tuple",
        "dict",
        "set",
        "min",
        "max",
        "sum",
        "abs",
        "round",
        "isinstance",
        "type",
        "plot_training_history",
        "plot_confusion_matrix",
        "plot_error_matrix",
        "plot_sample_images",
        "plot_class_distribution",
        "plot_misclassified",
        "plot_filters",
        "plot_feature_maps",
        "classification_report_table",
        "fast_subset",
        "fast_mode",
        "load_mnist",
        "load_fashion_mnist",
        "train_test_split",
        "make_submission",
        "validate_submission",
    )
)
#: What a file named in a cell ends with.
DATA_FILE_SUFFIXES = (".csv", ".h5", ".hdf5", ".npy", ".npz", ".json", ".keras", ".txt", ".pkl")
#: Calls whose effects no static reading can follow.
OPAQUE_CALLS = frozenset(("exec", "eval", "globals", "locals", "vars", "setattr", "__import__"))


@dataclass(frozen=True)
class CellFacts:
    """What one code cell reads, binds and changes, by name and by file."""

    reads: frozenset[str] = frozenset()
    defines: frozenset[str] = frozenset()  # bound by assignment, def or class (not by import)
    mutates: frozenset[str] = frozenset()  # changed in place
    files: frozenset[str] = frozenset()  # file names written as string literals
    imports: frozenset[str] = frozenset()  # bound by import
    opaque: bool = False  # magics, exec, globals(): anything may happen

    @property
    def binds(self) -> frozenset[str]:
        """Everything the cell gives a (new) value: defined, changed or imported names."""
        return self.defines | self.mutates | self.imports

    @classmethod
    def of(cls, source: str) -> CellFacts:
        try:
            tree = ast.parse(source)
        except SyntaxError:  # magics and shell escapes: nothing can be learned, so assume all
            return cls(opaque=True)
        scopes = _Scopes()
        scopes.visit(tree)
        mutates, files, opaque = set(), set(), False
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute | ast.Subscript) and not isinstance(
                node.ctx, ast.Load
            ):
                mutates |= base_names(node)
            elif isinstance(node, ast.AugAssign):
                mutates |= base_names(node.target)
            elif isinstance(node, ast.Call):
                mutates |= _changed_by_call(node)
                opaque |= isinstance(node.func, ast.Name) and node.func.id in OPAQUE_CALLS
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value.lower().endswith(DATA_FILE_SUFFIXES)
                and "/" not in node.value
            ):
                files.add(node.value)
            elif isinstance(node, ast.Global | ast.Nonlocal):
                opaque = True
        return cls(
            frozenset(scopes.reads),
            frozenset(scopes.defines),
            frozenset(mutates - scopes.local),
            frozenset(files),
            frozenset(_imported(tree)),
            opaque,
        )


def _changed_by_call(node: ast.Call) -> set[str]:
    """Names a call may change: the object of a mutating method, the arguments of an unknown
    function (``np.random.shuffle(x)`` changes ``x``)."""
    function = node.func
    if isinstance(function, ast.Attribute) and function.attr in MUTATING_METHODS:
        return base_names(function.value)
    name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
    if name in PURE_FUNCTIONS or name in MUTATING_METHODS:
        return set()
    changed: set[str] = set()
    for argument in [*node.args, *(keyword.value for keyword in node.keywords)]:
        if isinstance(argument, ast.Name | ast.Attribute | ast.Subscript | ast.Starred):
            changed |= base_names(getattr(argument, "value", argument))
    return changed


def base_names(node: ast.expr) -> set[str]:
    """The notebook name an expression like ``model.layers[0].weights`` starts from."""
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call | ast.Starred):
        node = node.func if isinstance(node, ast.Call) else node.value
    return {node.id} if isinstance(node, ast.Name) else set()


def _imported(tree: ast.Module) -> set[str]:
    names = set()
    for statement in ast.walk(tree):
        if isinstance(statement, ast.Import | ast.ImportFrom):
            for alias in statement.names:
                if alias.name != "*":
                    names.add((alias.asname or alias.name).split(".")[0])
    return names


def imported_modules(source: str) -> list[str]:
    """The modules a cell imports from, in order (``import a.b`` and ``from a.b import c``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    modules = []
    for statement in ast.walk(tree):
        if isinstance(statement, ast.Import):
            modules += [alias.name for alias in statement.names]
        elif isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
            modules.append(statement.module)
    return modules


def import_statements(source: str) -> str:
    """The cell's top-level import statements, one per line."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""
    return "\n".join(
        ast.unparse(statement)
        for statement in tree.body
        if isinstance(statement, ast.Import | ast.ImportFrom)
    )


class _Scopes(ast.NodeVisitor):
    """The notebook-level names a cell reads and binds; names local to a function are left out."""

    def __init__(self) -> None:
        self.reads: set[str] = set()
        self.defines: set[str] = set()
        self.local: set[str] = set()  # bound inside some function, lambda or comprehension
        self._stack: list[set[str]] = []

    def _scope(self, names: set[str], body: list[ast.AST]) -> None:
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
        self._scope({a.arg for a in arguments}, node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._bind(node.name)
        for base in node.bases + node.decorator_list:
            self.visit(base)
        self._scope(set(), node.body)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
        self._scope({a.arg for a in arguments}, [node.body])

    def _comprehension(self, node) -> None:
        parts = [
            *node.generators,
            *(getattr(node, f) for f in ("elt", "key", "value") if hasattr(node, f)),
        ]
        self._scope(set(), parts)

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        pass  # imports bind modules (CellFacts.imports)

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
