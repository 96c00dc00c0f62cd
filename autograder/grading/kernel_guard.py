"""Runs inside the student's kernel: tests run as written, or not at all.

:class:`SandboxedExecute` sends this file's source to a fresh kernel before
the notebook's first cell, when no student code has run yet, and calls
:func:`install`. The guard then:

1. makes the imports the tests rely on (the source notebook's setup imports
   and the modules its tests import) and takes a snapshot of the interpreter's
   machinery that decides what code runs and what a check answers: builtins;
   ``sys`` hooks (trace, profile, import machinery, streams); IPython's input,
   token and AST transformers, event callbacks, custom exception handlers and
   the methods of the shell, kernel, session and compiler, on the instances and
   on their classes; and the functions and classes of the protected modules;
2. before every test cell (:meth:`Guard.run_test`), puts every piece of that
   machinery back, reloads ``utilities`` from the read-only install, re-runs
   the setup imports, then compiles and executes the test's own source with
   the ``compile`` and ``exec`` captured at install time: no transformer, hook
   or patched method of IPython sees the test;
3. after the test, compares the machinery with the snapshot again: a change
   made while the test ran (by a student function the test called) voids it;
4. answers with a JSON verdict signed with the key the grader sent at
   install (HMAC-SHA256 over the nonce, the cell, the verdict and the digest
   of the source that ran). The grader accepts a pass only with a valid
   signature, so a notebook that intercepts the call cannot forge a pass
   without reading the key out of the guard's memory: the honest limit of
   running tests in the student's interpreter (see the README).

Everything the guard restored is reported, and the grader marks the notebook
for review.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import hashlib
import hmac
import importlib
import json
import linecache
import sys
import threading
import traceback
import types

# Module name prefixes whose functions and classes are protected.
PROTECTED_PREFIXES = (
    "utilities",
    "numpy",
    "keras",
    "sklearn.metrics",
    "IPython",
    "ipykernel",
    "jupyter_client.session",
    "importlib",
    "math",
    "operator",
    "functools",
    "inspect",
    "traceback",
    "json",
    "hmac",
    "hashlib",
    "base64",
    "linecache",
    "types",
)
SYS_HOOKS = ("excepthook", "displayhook", "breakpointhook", "unraisablehook")
SYS_STREAMS = ("stdin", "stdout", "stderr")
SYS_LISTS = ("meta_path", "path_hooks", "path")
SHELL_LISTS = ("input_transformers_cleanup", "input_transformers_post", "ast_transformers")
MANAGER_LISTS = ("cleanup_transforms", "line_transforms", "token_transformers")
SHELL_OBJECTS = (
    "input_transformer_manager",
    "events",
    "compile",
    "displayhook",
    "display_pub",
    "display_formatter",
    "CustomTB",
    "custom_exceptions",
    "InteractiveTB",
    "SyntaxTB",
    "user_ns",
    "kernel",
)
KERNEL_OBJECTS = ("shell", "session", "iopub_socket", "iopub_thread")
_MISSING = object()
GUARD_FILE = "<coursekit guard>"
SETUP_FILE = "<coursekit setup imports>"


def _is_code(value) -> bool:
    """Functions, classes, modules and builtins: what a patch replaces."""
    return isinstance(
        value,
        (
            types.FunctionType,
            types.BuiltinFunctionType,
            types.MethodType,
            types.ModuleType,
            type,
            classmethod,
            staticmethod,
            property,
        ),
    )


def _code_of(function):
    return (function.__code__, function.__defaults__, function.__kwdefaults__)


class _Snapshot:
    """The machinery at one moment, and how to put it back."""

    def __init__(self, shell):
        self.shell = shell
        self.builtins = dict(vars(builtins))
        self.sys_hooks = {name: getattr(sys, name, None) for name in SYS_HOOKS + SYS_STREAMS}
        self.sys_lists = {name: list(getattr(sys, name)) for name in SYS_LISTS}
        self.trace = (sys.gettrace(), sys.getprofile())
        self.thread_hooks = (threading.gettrace(), threading.getprofile())
        self.shell_lists = {name: list(getattr(shell, name, [])) for name in SHELL_LISTS}
        manager = shell.input_transformer_manager
        self.manager_lists = {name: list(getattr(manager, name, [])) for name in MANAGER_LISTS}
        self.shell_objects = {name: getattr(shell, name, _MISSING) for name in SHELL_OBJECTS}
        self.shell_instance = dict(vars(shell))
        self.events = {name: list(hooks) for name, hooks in shell.events.callbacks.items()}
        kernel = getattr(shell, "kernel", None)
        self.kernel_objects = {name: getattr(kernel, name, _MISSING) for name in KERNEL_OBJECTS}
        self.instances = [
            (obj, dict(vars(obj)))
            for obj in (kernel, getattr(kernel, "session", None), shell.compile, shell.events)
            if obj is not None and hasattr(obj, "__dict__")
        ]
        self.classes: dict[type, dict] = {}
        for obj in (shell, kernel, shell.compile, shell.events, manager, sys.stdout, sys.stderr):
            for cls in type(obj).__mro__:
                if cls is not object and cls not in self.classes:
                    self.classes[cls] = dict(vars(cls))
        self.modules: dict[str, tuple[types.ModuleType, dict]] = {}
        self.functions: dict[types.FunctionType, tuple] = {}
        for name, module in list(sys.modules.items()):
            if isinstance(module, types.ModuleType) and _protected(name):
                self.take_module(name, module)

    def take_module(self, name: str, module: types.ModuleType) -> None:
        namespace = vars(module)
        self.modules[name] = (module, {k: v for k, v in namespace.items() if _is_code(v)})
        for value in list(namespace.values()):
            if isinstance(value, types.FunctionType) and value.__module__ == name:
                self.functions[value] = _code_of(value)
            elif isinstance(value, type) and value.__module__ == name:
                if value not in self.classes:
                    self.classes[value] = dict(vars(value))
                for member in list(vars(value).values()):
                    if isinstance(member, types.FunctionType):
                        self.functions.setdefault(member, _code_of(member))

    def restore(self, fix: bool = True) -> list[str]:
        """Put the machinery back (unless ``fix`` is false); say what had changed."""
        changed: list[str] = []
        shell = self.shell
        for name, value in self.builtins.items():
            if vars(builtins).get(name, _MISSING) is not value:
                changed.append(f"builtins.{name}")
                if fix:
                    setattr(builtins, name, value)
        for name, value in self.sys_hooks.items():
            if getattr(sys, name, None) is not value:
                changed.append(f"sys.{name}")
                if fix:
                    setattr(sys, name, value)
        for name, value in self.sys_lists.items():
            current = getattr(sys, name)
            if name == "path" or _library_additions(list(current), value):
                self.sys_lists[name] = list(current) if name != "path" else value
                continue  # sys.path is compared last, after the reload that needs it
            changed.append(f"sys.{name}")
            if fix:
                current[:] = value
                sys.path_importer_cache.clear()
        if (sys.gettrace(), sys.getprofile()) != self.trace:
            changed.append("sys.settrace/sys.setprofile")
            if fix:
                sys.settrace(self.trace[0])
                sys.setprofile(self.trace[1])
        if (threading.gettrace(), threading.getprofile()) != self.thread_hooks:
            changed.append("threading.settrace/threading.setprofile")
            if fix:
                threading.settrace(self.thread_hooks[0])
                threading.setprofile(self.thread_hooks[1])
        for name, value in self.shell_objects.items():
            if getattr(shell, name, _MISSING) is not value:
                changed.append(f"IPython shell.{name}")
                if fix:
                    setattr(shell, name, value)
        manager = shell.input_transformer_manager
        lists = [(shell, "IPython shell", self.shell_lists)]
        lists.append((manager, "IPython input_transformer_manager", self.manager_lists))
        for owner, label, saved in lists:
            for name, value in saved.items():
                current = getattr(owner, name, None)
                if isinstance(current, list) and current == value:
                    continue
                changed.append(f"{label}.{name}")
                if fix and isinstance(current, list):
                    current[:] = value  # some are properties over the list itself
                elif fix:
                    setattr(owner, name, list(value))
        callbacks = shell.events.callbacks
        for name in set(callbacks) | set(self.events):
            now, before = list(callbacks.get(name, [])), self.events.get(name, [])
            if _library_additions(now, before):
                self.events[name] = now  # matplotlib's inline backend registering itself, say
                continue
            changed.append(f"IPython events[{name!r}]")
            if fix:
                callbacks[name] = list(self.events.get(name, []))
        changed += _restore_instance(shell, self.shell_instance, fix, "IPython shell")
        kernel = getattr(shell, "kernel", None)
        for name, value in self.kernel_objects.items():
            if kernel is not None and getattr(kernel, name, _MISSING) is not value:
                changed.append(f"kernel.{name}")
                if fix:
                    setattr(kernel, name, value)
        for obj, saved in self.instances:
            changed += _restore_instance(obj, saved, fix, type(obj).__name__)
        for cls, saved in self.classes.items():
            changed += _restore_class(cls, saved, fix)
        for name, (module, saved) in self.modules.items():
            if sys.modules.get(name, module) is not module:
                changed.append(f"sys.modules[{name!r}]")
                if fix:
                    sys.modules[name] = module
            namespace = vars(module)
            for key, value in saved.items():
                if namespace.get(key, _MISSING) is not value:
                    changed.append(f"{name}.{key}")
                    if fix:
                        namespace[key] = value
        for function, code in self.functions.items():
            if _code_of(function) != code:
                changed.append(f"{function.__module__}.{function.__qualname__} (its code)")
                if fix:
                    function.__code__, function.__defaults__, function.__kwdefaults__ = code
        if list(sys.path) != self.sys_lists["path"]:
            changed.append("sys.path")
            if fix:
                sys.path[:] = self.sys_lists["path"]
                sys.path_importer_cache.clear()
        return changed


def _protected(name: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in PROTECTED_PREFIXES)


def _restore_instance(obj, saved: dict, fix: bool, label: str) -> list[str]:
    """Undo instance attributes that shadow methods of the class, or replaced callables."""
    changed = []
    namespace = vars(obj)
    for name in list(namespace):
        value = namespace[name]
        was = saved.get(name, _MISSING)
        shadows = was is _MISSING and callable(getattr(type(obj), name, None))
        replaced = was is not _MISSING and value is not was and (callable(was) or callable(value))
        if shadows or replaced:
            changed.append(f"{label}.{name}")
            if fix:
                if was is _MISSING:
                    del namespace[name]
                else:
                    namespace[name] = was
    return changed


def _restore_class(cls: type, saved: dict, fix: bool) -> list[str]:
    changed = []
    current = vars(cls)
    for name in set(current) | set(saved):
        before, now = saved.get(name, _MISSING), current.get(name, _MISSING)
        if now is before or not (_is_code(before) or _is_code(now)):
            continue
        changed.append(f"{cls.__module__}.{cls.__qualname__}.{name}")
        if fix:
            try:
                if before is _MISSING:
                    delattr(cls, name)
                else:
                    setattr(cls, name, before)
            except (TypeError, AttributeError):
                pass  # a built-in type: it cannot have been patched either
    return changed


class Guard:
    """The in-kernel half of the integrity check; see the module docstring."""

    def __init__(self, key: str, setup_imports: str):
        self._key = key.encode()
        self._setup = setup_imports
        self._compile, self._exec = builtins.compile, builtins.exec
        self._json, self._hmac, self._sha256 = json.dumps, hmac.new, hashlib.sha256
        self._b64decode = base64.b64decode
        self._format = traceback.format_exception
        self._import = importlib.import_module
        self._threads = set(threading.enumerate())
        from IPython import get_ipython

        self._shell = get_ipython()
        self._setup_names = self._bound_by(setup_imports)
        self._run(setup_imports, SETUP_FILE, self._shell.user_ns)
        # The grader's probes import utilities.checks after every test: load it now, in the
        # kit's time, so that a probe never waits for TensorFlow to import. Best effort: under
        # a tight memory limit the import can fail here, and the probe then tries on its own.
        with contextlib.suppress(Exception):
            self._import("utilities.checks")
        self._utilities = sorted(name for name in sys.modules if _is_utilities(name))
        package = sys.modules.get("utilities")
        self._utilities_path = list(getattr(package, "__path__", []))
        self._snapshot = _Snapshot(self._shell)

    def _bound_by(self, source: str) -> list[str]:
        namespace: dict = {}
        self._run(source, SETUP_FILE, namespace)
        return sorted(name for name in namespace if name != "__builtins__")

    def _run(self, source: str, filename: str, namespace: dict) -> None:
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        self._exec(self._compile(source, filename, "exec", dont_inherit=True), namespace)

    def _reload_utilities(self) -> None:
        """Fresh ``utilities`` modules from the read-only install, never from the working folder."""
        for name in [name for name in sys.modules if _is_utilities(name)]:
            del sys.modules[name]
        saved_path = list(sys.path)
        install = [path.rsplit("/", 1)[0] for path in self._utilities_path]
        sys.path[:] = install + [path for path in saved_path if path not in install]
        sys.path_importer_cache.clear()
        try:
            for name in sorted(self._utilities, key=len):
                self._import(name)
        finally:
            sys.path[:] = saved_path
            sys.path_importer_cache.clear()
        for name in self._utilities:
            self._snapshot.modules.pop(name, None)
            if name in sys.modules:
                self._snapshot.take_module(name, sys.modules[name])

    def _student_threads(self) -> list[str]:
        """Threads running code defined in a notebook cell (they could patch mid-test)."""
        return sorted(
            thread.name
            for thread in threading.enumerate()
            if thread not in self._threads and _thread_runs_cell_code(thread)
        )

    def run_test(self, encoded_source: str, nonce: str, cell: str) -> str:
        """Restore, run the test's source, check again; a signed JSON verdict."""
        restored = self._snapshot.restore()
        self._reload_utilities()
        source = self._b64decode(encoded_source).decode("utf-8")
        digest = self._sha256(source.encode()).hexdigest()
        verdict = {"cell": cell, "restored": restored, "threads": self._student_threads()}
        namespace = self._shell.user_ns
        shadowed = {name: namespace.get(name, _MISSING) for name in self._setup_names}
        bound: dict = {}
        try:
            self._run(self._setup, SETUP_FILE, namespace)
            bound = {name: namespace.get(name, _MISSING) for name in self._setup_names}
            self._run(source, f"<test {cell}>", namespace)
        except BaseException as error:  # the test failed, however it failed
            verdict.update(
                status="failed",
                ename=type(error).__name__,
                evalue=str(error),
                traceback=self._format(type(error), error, _without_guard(error.__traceback__)),
            )
        else:
            verdict["status"] = "passed"
        for name, value in bound.items():  # the student's own bindings of these names come back
            if namespace.get(name, _MISSING) is value and shadowed[name] is not value:
                if shadowed[name] is _MISSING:
                    del namespace[name]
                else:
                    namespace[name] = shadowed[name]
        during = self._snapshot.restore()
        if during and verdict["status"] == "passed":
            verdict["status"] = "tampered"
        verdict["during"] = during
        message = f"{nonce}\0{cell}\0{verdict['status']}\0{digest}".encode()
        verdict["signature"] = self._hmac(self._key, message, "sha256").hexdigest()
        return self._json(verdict)


def _library_additions(now: list, before: list) -> bool:
    """True when ``now`` is ``before`` plus entries that libraries added (none from a cell)."""
    if now == before:
        return True
    kept = [entry for entry in now if any(entry is old for old in before)]
    added = [entry for entry in now if not any(entry is old for old in before)]
    return len(kept) == len(before) and not any(_defined_in_a_cell(entry) for entry in added)


def _defined_in_a_cell(obj) -> bool:
    """Whether ``obj`` (a function, a method, a class or an instance) comes from notebook code."""
    owners = [
        obj,
        getattr(obj, "__func__", None),
        type(obj),
        obj if isinstance(obj, type) else None,
    ]
    for owner in owners:
        members = vars(owner).values() if isinstance(owner, type) else ()
        if _code_from_a_cell(owner) or any(_code_from_a_cell(member) for member in members):
            return True
    module = getattr(obj, "__module__", None) or getattr(type(obj), "__module__", None)
    return module in (None, "__main__")


def _code_from_a_cell(function) -> bool:
    code = getattr(function, "__code__", None)
    return isinstance(code, types.CodeType) and (
        "ipykernel_" in code.co_filename or code.co_filename.startswith("<ipython-input")
    )


def _thread_runs_cell_code(thread: threading.Thread) -> bool:
    target = getattr(thread, "_target", None)
    return (target is not None and _defined_in_a_cell(target)) or (
        type(thread) is not threading.Thread and _defined_in_a_cell(type(thread))
    )


def _is_utilities(name: str) -> bool:
    return name == "utilities" or name.startswith("utilities.")


def _without_guard(tb):
    """The traceback from the test's own first frame on."""
    while tb is not None and tb.tb_frame.f_code.co_filename in (GUARD_FILE, SETUP_FILE):
        tb = tb.tb_next
    return tb


def install(key: str, setup_imports: str) -> Guard:
    """Take the snapshot and make the guard reachable as ``__coursekit_guard__``."""
    guard = Guard(key, setup_imports)
    builtins.__coursekit_guard__ = guard
    guard._snapshot.builtins["__coursekit_guard__"] = guard
    return guard


def signature(key: str, nonce: str, cell: str, status: str, digest: str) -> str:
    """What the grader expects :meth:`Guard.run_test` to sign for a verdict."""
    message = f"{nonce}\0{cell}\0{status}\0{digest}".encode()
    return hmac.new(key.encode(), message, "sha256").hexdigest()
