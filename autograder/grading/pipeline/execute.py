"""nbgrader's Execute step, hardened for notebooks written by strangers.

:class:`SandboxedExecute` replaces ``nbgrader.preprocessors.Execute`` in the
autograde pipeline (``coursekit grade`` configures it). On top of nbgrader it:

- starts the kernel in the bubblewrap sandbox (:mod:`autograder.grading.sandbox.bwrap`);
- enforces a per-notebook deadline as well as the per-cell timeout, and stops
  a kernel that ignores two interrupts in a row;
- turns a dead kernel (``os._exit``, a crash, the memory or CPU limit) into an
  error in that cell and a "not executed" error in every later code cell, so
  a test that never ran can never score;
- keeps at most ``max_cell_output_bytes`` of output per cell;
- runs every autograded test cell through the in-kernel guard
  (:mod:`autograder.grading.kernel_guard`): the interpreter's machinery is restored,
  the test's own source is executed without IPython's transformers, and only
  a verdict signed with this run's key counts as a pass. What the guard had
  to restore is reported as tampering, and the notebook is held for review;
- applies the consistency rule (:func:`autograder.grading.checker.plan.broken_dependencies`):
  a test whose solution cells were left as the stub, raised or never ran
  scores 0, whatever the test printed;
- after every autograded test cell, runs probes that must fail (an ``assert``
  and ``utilities.checks.fail``). If one comes back as a success, the
  notebook has patched how failures are reported, and every test scores 0;
- writes what happened (timeouts, kernel deaths, truncation, tampering) to
  the events file that ``coursekit grade`` turns into the student's record.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import hmac
import json
import secrets
import time
from pathlib import Path

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import Execute
from traitlets import Unicode

from autograder.grading import kernel_guard
from autograder.grading.checker.plan import IntegrityPlan, NotebookPlan, broken_dependencies
from autograder.grading.sandbox.bwrap import SandboxedKernelManager, SandboxSpec

# Code that must fail. Each probe's reply has to come back as an error.
PROBES = (
    "assert 1 == 2, 'coursekit probe'",
    "from utilities.checks import fail as _coursekit_fail\n_coursekit_fail('coursekit probe')",
)
TAMPER_MESSAGE = (
    "the notebook changed how failures are reported (a check that must fail "
    "passed), so every autograded test scores 0; a TA should review it"
)
UNVERIFIED_MESSAGE = (
    "the test could not be verified: the grading guard's signed verdict did not come "
    "back (the notebook intercepted how cells run); this test scores 0"
)
GUARD_SOURCE = Path(kernel_guard.__file__).read_text(encoding="utf-8")
#: How long the guard may take to start in a fresh kernel (it imports TensorFlow).
GUARD_SETUP_SECONDS = 120
GUARD_EXPRESSION = "__coursekit_guard__.run_test({source!r}, {nonce!r}, {cell!r})"
# Evaluated as a user expression, like every verdict, so that the snapshot is
# taken in the same state of IPython (outside run_cell) as every restore.
INSTALL_EXPRESSION = (
    "(lambda namespace: (exec(compile({source!r}, {filename!r}, 'exec', dont_inherit=True), "
    "namespace), namespace['install']({key!r}, {setup!r}))[1])({{'__name__': 'coursekit_guard'}})"
)


class SandboxedExecute(Execute):
    """Execute a notebook in the sandbox and record what went wrong."""

    sandbox_spec = Unicode("", help="Path of the SandboxSpec JSON file.").tag(config=True)
    integrity_plan = Unicode(
        "", help="Path of the IntegrityPlan JSON file (autograder.grading.checker.plan)."
    ).tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._spec = SandboxSpec.from_json(Path(self.sandbox_spec).read_text())
        notebook = (resources or {}).get("nbgrader", {}).get("notebook", "notebook")
        self._plan: NotebookPlan = NotebookPlan()  # no setup imports, no dependencies
        if self.integrity_plan:
            plans = IntegrityPlan.from_json(Path(self.integrity_plan).read_text()).notebooks
            if notebook not in plans:
                raise ValueError(f"the integrity plan has no notebook {notebook!r}")
            self._plan = plans[notebook]
        self._key = secrets.token_hex(32)
        self._guard_ready = False
        self._last_reply: dict = {}
        self._solutions: dict[str, str] = {}
        self._solutions_ran: set[str] = set()
        self._solutions_failed: set[str] = set()
        self.timeout = self._spec.limits.cell_timeout
        # Nothing in a graded kernel is worth a graceful stop: kill it at once
        # (a graceful one waited up to 5 s per notebook for TensorFlow to exit).
        self.shutdown_kernel = "immediate"
        self._deadline = time.monotonic() + self._spec.limits.notebook_timeout
        self._stopped: str | None = None
        self._timeouts_in_a_row = 0
        self._output_bytes: dict[int, int] = {}
        self._events: list[dict] = []
        self._tampered = False
        self.timeout_func = self._cell_timeout
        self._started = time.monotonic()
        self._timings = dict.fromkeys(("kernel start", "guard", "cells", "tests"), 0.0)
        try:
            nb, resources = super().preprocess(nb, resources, km=km)
        except Exception as error:  # no kernel, or nbclient itself failed: nothing here counts
            self._event("kernel_failed", f"{type(error).__name__}: {error}")
            self._stopped = "the kernel could not start"
            for index, cell in enumerate(nb.cells):
                if cell.cell_type == "code":
                    self._mark_not_executed(cell, index)
        manager = getattr(self, "km", None)
        if isinstance(manager, SandboxedKernelManager) and manager.output.kept:
            print(f"--- what the kernel of {notebook} printed outside its cells ---")
            print(manager.output.text(), flush=True)
        if self._tampered:
            for cell in nb.cells:
                if utils.is_grade(cell) and cell.cell_type == "code":
                    cell.outputs.append(_error("TamperingDetected", TAMPER_MESSAGE))
        self._write_events(notebook)
        return nb, resources

    def create_kernel_manager(self):
        if not self.kernel_name:
            self.kernel_name = self.nb.metadata.get("kernelspec", {}).get("name", "python3")
        self.km = SandboxedKernelManager(
            spec=self._spec, kernel_name=self.kernel_name, config=self.config
        )
        return self.km

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if cell.cell_type != "code" or not cell.source.strip():
            return await super().async_execute_cell(
                cell, cell_index, execution_count, store_history
            )
        if self._stopped is None and time.monotonic() >= self._deadline:
            self._stop(
                "notebook_timeout",
                f"the notebook ran past its {self._spec.limits.notebook_timeout} s limit",
                cell_index,
            )
        if self._stopped is not None:
            self._mark_not_executed(cell, cell_index)
            return cell
        is_test = utils.is_grade(cell) and not utils.is_solution(cell)
        try:
            if not self._guard_ready:
                self._timings["kernel start"] = time.monotonic() - self._started
                installing = time.monotonic()
                await self._install_guard()
                self._timings["guard"] = time.monotonic() - installing
            started = time.monotonic()
            if is_test:
                cell = await self._execute_test(cell, cell_index, execution_count, store_history)
            else:
                cell = await super().async_execute_cell(
                    cell, cell_index, execution_count, store_history
                )
                self._note_solution(cell)
            self._timings["tests" if is_test else "cells"] += time.monotonic() - started
        except DeadKernelError:
            cell.outputs.append(
                _error(
                    "KernelDied",
                    "the kernel stopped while running this cell (sys.exit in a thread, "
                    "os._exit, a crash, or the memory or CPU-time limit)",
                )
            )
            self._stop("kernel_died", "the kernel stopped", cell_index)
            return cell
        except CellTimeoutError as error:
            if self._stopped is None:  # otherwise the kernel was stopped on purpose
                cell.outputs.append(_error("CellTimeoutError", str(error).splitlines()[0]))
                self._event("cell_timeout", "no output within the IOPub timeout", cell_index)
            return cell
        if utils.is_grade(cell) and self._stopped is None:
            await self._probe(cell_index)
        return cell

    async def _install_guard(self) -> None:
        """Send the guard to the kernel before any student code has run.

        The guard imports what the tests use (TensorFlow among them), which takes
        seconds on an idle machine and can take many more on a busy one. That is
        the kit's time, not the student's: it waits up to :data:`GUARD_SETUP_SECONDS`
        (or the cell timeout, if longer) instead of the cell timeout.
        """
        expression = INSTALL_EXPRESSION.format(
            source=GUARD_SOURCE,
            key=self._key,
            setup=self._plan.setup_imports,
            filename=kernel_guard.GUARD_FILE,
        )
        msg_id = self.kc.execute(
            "None",
            silent=True,
            store_history=False,
            allow_stdin=False,
            user_expressions={"install": expression},
        )
        cell_timeout, self.timeout = self.timeout, max(self.timeout, GUARD_SETUP_SECONDS)
        try:
            reply = await self.async_wait_for_reply(msg_id)
        finally:
            self.timeout = cell_timeout
        content = (reply or {}).get("content", {})
        answer = content.get("user_expressions", {}).get("install", {})
        if content.get("status") != "ok" or answer.get("status") != "ok":
            failed = answer if answer.get("status") == "error" else content
            detail = f"{failed.get('ename', 'no reply')}: {failed.get('evalue', '')}"
            raise RuntimeError(f"the grading guard could not start in the kernel ({detail})")
        self._guard_ready = True

    async def _execute_test(self, cell, cell_index, execution_count, store_history):
        """Run a test cell's own source through the guard, and believe only a signed pass."""
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        nonce = secrets.token_hex(16)
        encoded = base64.b64encode(cell.source.encode()).decode()
        expression = GUARD_EXPRESSION.format(source=encoded, nonce=nonce, cell=grade_id)
        client = self.kc
        self.kc = _ExpressionClient(client, expression)
        self._last_reply = {}
        try:
            cell = await super().async_execute_cell(
                cell, cell_index, execution_count, store_history
            )
        finally:
            self.kc = client
        verdict = self._verdict(grade_id, nonce, cell.source)
        if verdict is None:
            return cell
        if verdict["restored"] or verdict["threads"]:
            changed = verdict["restored"] + [f"thread {name}" for name in verdict["threads"]]
            self._tampering(f"changed {_listing(changed)}; put back before the test", cell_index)
        if verdict["status"] == "failed":
            cell.outputs.append(
                _error(verdict["ename"], verdict["evalue"], traceback=verdict["traceback"])
            )
        elif verdict["status"] == "tampered":
            message = f"changed {_listing(verdict['during'])} while the test ran"
            cell.outputs.append(_error("TamperingDetected", f"{message}; this test scores 0"))
            self._tampering(message, cell_index)
        broken = broken_dependencies(
            grade_id,
            self._plan,
            self._solutions,
            self._solutions_failed,
            self._solutions_ran,
        )
        if broken and verdict["status"] == "passed":
            cell.outputs.append(
                _error("DependencyNotMet", "this test scores 0: " + "; ".join(broken))
            )
            self._event("dependency_not_met", "; ".join(broken), cell_index)
        return cell

    def _verdict(self, grade_id: str, nonce: str, source: str) -> dict | None:
        """The guard's signed verdict, or None (with an error in the cell) when there is none."""
        content = self._last_reply.get("content", {})
        index = self._cell_index(grade_id)
        if content.get("status") != "ok":
            # Running `None` cannot fail: something the notebook installed made it fail.
            self._tampering("a cell could not run `None`; the test scores 0", index)
            return None
        answer = content.get("user_expressions", {}).get("coursekit", {})
        try:
            verdict = json.loads(ast.literal_eval(answer["data"]["text/plain"]))
            digest = hashlib.sha256(source.encode()).hexdigest()
            expected = kernel_guard.signature(
                self._key, nonce, grade_id, str(verdict["status"]), digest
            )
            if not hmac.compare_digest(expected, str(verdict["signature"])):
                raise ValueError("the signature does not match")
            return verdict
        except (KeyError, TypeError, ValueError, SyntaxError):
            if answer.get("status") == "error":  # the guard itself raised: say what
                self.log.warning(
                    "the grading guard failed: %s: %s", answer.get("ename"), answer.get("evalue")
                )
                self._event("guard_error", f"{answer.get('ename')}: {answer.get('evalue')}", index)
            self.nb.cells[index].outputs.append(_error("IntegrityError", UNVERIFIED_MESSAGE))
            self._tampering(UNVERIFIED_MESSAGE, index)
            return None

    def _cell_index(self, grade_id: str) -> int:
        for index, cell in enumerate(self.nb.cells):
            if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
                return index
        return 0

    def _note_solution(self, cell) -> None:
        if not utils.is_solution(cell) or cell.cell_type != "code":
            return
        grade_id = cell.metadata["nbgrader"].get("grade_id", "")
        self._solutions[grade_id] = cell.source
        self._solutions_ran.add(grade_id)
        if any(output.get("output_type") == "error" for output in cell.outputs):
            self._solutions_failed.add(grade_id)

    def _tampering(self, detail: str, cell_index: int | None) -> None:
        self._event("tampering", detail, cell_index)

    execute_cell = run_sync(async_execute_cell)

    async def _async_handle_timeout(self, timeout, cell=None):
        index = self.nb.cells.index(cell) if cell in self.nb.cells else None
        if time.monotonic() >= self._deadline:
            await self.km.shutdown_kernel(now=True)
            limit = self._spec.limits.notebook_timeout
            self._stop("notebook_timeout", f"the notebook ran past its {limit} s limit", index)
            return {"content": {**self.error_on_timeout, "status": "error"}}
        self._timeouts_in_a_row += 1
        self._event("cell_timeout", f"still running after {timeout} s; interrupted", index)
        if self._timeouts_in_a_row >= 2:
            # The kernel ignored the last interrupt: stop it, and fail what is left.
            await self.km.shutdown_kernel(now=True)
            self._stop("kernel_stopped", "the kernel ignored two interrupts in a row", index)
            return {"content": {**self.error_on_timeout, "status": "error"}}
        return await super()._async_handle_timeout(timeout, cell)

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)
        self._last_reply = kwargs["execute_reply"]
        name = kwargs["execute_reply"]["content"].get("ename")
        if name != "CellTimeoutError":
            self._timeouts_in_a_row = 0
        if name == "MemoryError":
            limit = self._spec.limits.memory_bytes / 1024**3
            self._event(
                "out_of_memory",
                f"ran out of memory (limit {limit:g} GiB)",
                kwargs.get("cell_index"),
            )

    def output(self, outs, msg, display_id, cell_index):
        size = len(json.dumps(msg.get("content", {}), default=str))
        used = self._output_bytes.get(cell_index, 0) + size
        self._output_bytes[cell_index] = used
        limit = self._spec.limits.max_cell_output_bytes
        if used > limit:
            if used - size <= limit:
                outs.append(
                    new_output(
                        "stream",
                        name="stderr",
                        text=f"[coursekit] this cell printed over {limit:,} bytes; "
                        "the rest of its output was dropped\n",
                    )
                )
                self._event("output_truncated", f"over {limit:,} bytes of output", cell_index)
            return None
        return super().output(outs, msg, display_id, cell_index)

    def _cell_timeout(self, cell) -> int:
        remaining = int(self._deadline - time.monotonic())
        return max(1, min(self._spec.limits.cell_timeout, remaining))

    async def _probe(self, cell_index: int) -> None:
        for code in PROBES:
            for _attempt in range(2):  # an "aborted" reply proves nothing: ask once more
                try:
                    msg_id = self.kc.execute(
                        code, store_history=False, allow_stdin=False, stop_on_error=False
                    )
                    reply = await self.async_wait_for_reply(msg_id)
                except (DeadKernelError, CellTimeoutError, TimeoutError):
                    return  # the next cell reports the dead or stuck kernel
                if reply is None:
                    return
                status = reply["content"].get("status")
                if status != "aborted":
                    break
            if status == "ok":
                if not self._tampered:
                    self._event("tampering", TAMPER_MESSAGE, cell_index)
                self._tampered = True
                return

    def _stop(self, kind: str, reason: str, cell_index: int | None) -> None:
        self._stopped = reason
        self._event(kind, reason, cell_index)

    def _mark_not_executed(self, cell, cell_index: int) -> None:
        cell.outputs = [_error("NotExecuted", f"not run: {self._stopped}")]
        cell.execution_count = None

    def _event(self, kind: str, detail: str, cell_index: int | None = None) -> None:
        event = {"kind": kind, "detail": detail}
        if cell_index is not None:
            cell = self.nb.cells[cell_index]
            event["cell"] = cell_index
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id:
                event["grade_id"] = grade_id
        self._events.append(event)

    def _write_events(self, notebook: str) -> None:
        if not self._spec.events_file:
            return
        with open(self._spec.events_file, "a", encoding="utf-8") as stream:
            timings = {phase: round(seconds, 2) for phase, seconds in self._timings.items()}
            line = {"notebook": notebook, "events": self._events, "timings": timings}
            stream.write(json.dumps(line) + "\n")


def _error(name: str, message: str, traceback: list[str] | None = None):
    lines = traceback or [f"\x1b[0;31m{name}\x1b[0m: {message}"]
    return new_output("error", ename=name, evalue=message, traceback=lines)


def _listing(changes: list[str], most: int = 6) -> str:
    shown = ", ".join(changes[:most])
    return shown + (f" and {len(changes) - most} more" if len(changes) > most else "")


class _ExpressionClient:
    """The kernel client, but ``execute`` sends ``None`` and asks the guard for the verdict.

    The test's source never goes through ``run_cell``: it travels in the
    user expression, which IPython evaluates without its transformers.
    """

    def __init__(self, client, expression: str):
        self._client = client
        self._expression = expression

    def __getattr__(self, name):
        return getattr(self._client, name)

    def execute(self, code, **kwargs):
        kwargs["user_expressions"] = {"coursekit": self._expression}
        return self._client.execute("None", **kwargs)
