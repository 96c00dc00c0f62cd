"""nbgrader's Execute step for notebooks written by strangers: the kernel answers, a checker judges.

:class:`SandboxedExecute` replaces ``nbgrader.preprocessors.Execute`` in the
autograde pipeline (``coursekit grade`` configures it). It:

- runs the student's cells in a kernel in the bubblewrap sandbox
  (:mod:`autograder.grading.sandbox`), never a test cell: test sources, hidden
  ones included, never enter that kernel;
- runs every test cell in a checker kernel of its own
  (:mod:`autograder.grading.checker.session`), sandboxed too, where no student
  code ever runs; the checker asks the student's kernel for the evidence each
  test needs, as data (:mod:`utilities.evidence`), through :meth:`ask_student`,
  and its verdict becomes the test cell's outputs;
- applies the consistency rule (:func:`autograder.grading.checker.plan.broken_dependencies`):
  a test whose solution cells were left as the stub, raised or never ran
  scores 0, whatever the checker found;
- enforces the per-cell timeout and a per-notebook deadline through nbclient's
  public hooks (``timeout_func``, ``interrupt_on_timeout``, ``on_cell_executed``),
  and stops a kernel that ignores two interrupts in a row;
- turns a dead kernel (``os._exit``, a crash, a limit) into an error in that
  cell and a "not executed" error in every later code cell;
- keeps at most ``max_cell_output_bytes`` of output per cell and
  ``max_notebook_output_bytes`` for the whole notebook;
- writes what happened (:mod:`autograder.grading.pipeline.events`) to the
  events file that ``coursekit grade`` turns into the student's record.
"""

from __future__ import annotations

import ast
import asyncio
import json
import secrets
import time
from pathlib import Path
from queue import Empty

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import Execute
from traitlets import Unicode

from autograder.grading.checker.plan import (
    GradingPlan,
    NotebookPlan,
    broken_dependencies,
    cells_to_run,
)
from autograder.grading.checker.scoring import score_test
from autograder.grading.checker.session import CheckerSession
from autograder.grading.pipeline.events import Event, EventKind, NotebookEvents, append_events
from autograder.grading.pipeline.own_outputs import marked
from autograder.grading.sandbox import SandboxedKernelManager, SandboxSpec
from utilities.evidence import PROTOCOL

#: The most bytes of an answer from the student's kernel (a model's weights travel in one).
ANSWER_BYTES = 48 * 1024**2
#: How long a kernel may take to stop after an interrupt, before it is stopped for good.
INTERRUPT_GRACE_SECONDS = 10
INSTALL_ANSWERS = "__import__('utilities.evidence', fromlist=['install']).install()"


class SandboxedExecute(Execute):
    """Execute a notebook in the sandbox; judge its tests in a checker; record what went wrong."""

    sandbox_spec = Unicode("", help="Path of the SandboxSpec JSON file.").tag(config=True)
    grading_plan = Unicode(
        "", help="Path of the GradingPlan JSON file (autograder.grading.checker.plan)."
    ).tag(config=True)
    handed_in_folder = Unicode(
        "", help="The grader's folder with the student's handed-in model, read by the checker."
    ).tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._spec = SandboxSpec.from_json(Path(self.sandbox_spec).read_text())
        self._notebook = (resources or {}).get("nbgrader", {}).get("notebook", "notebook")
        self._cwd = (resources or {}).get("metadata", {}).get("path") or "."
        self._plan = NotebookPlan()
        if self.grading_plan:
            plans = GradingPlan.from_json(Path(self.grading_plan).read_text()).notebooks
            if self._notebook not in plans:
                raise ValueError(f"the grading plan has no notebook {self._notebook!r}")
            self._plan = plans[self._notebook]
        limits = self._spec.limits
        self.timeout = limits.cell_timeout
        self.timeout_func = self._cell_timeout
        self.shutdown_kernel = "immediate"  # nothing in a graded kernel is worth a graceful stop
        self._deadline = time.monotonic() + limits.notebook_timeout
        self._started = time.monotonic()
        self._stopped: str | None = None
        self._timeouts_in_a_row = 0
        self._output_bytes: dict[int, int] = {}
        self._notebook_bytes = 0
        self._events: list[Event] = []
        self._checker: CheckerSession | None = None
        self._checker_started: asyncio.Future | None = None
        self._model_check: dict | None = None
        self._solutions: dict[str, str] = {}
        self._solutions_ran: set[str] = set()
        self._solutions_failed: set[str] = set()
        self._timings = dict.fromkeys(("kernel start", "checker start", "cells", "tests"), 0.0)
        self.on_notebook_start = self._prepare
        self.on_notebook_complete = self._finish
        # Only the cells some test depends on run; the rest keep the student's own outputs.
        self._to_run = cells_to_run(nb.cells, self._plan) if self._plan.tests else None
        self._not_rerun: list[int] = []
        try:
            nb, resources = super().preprocess(nb, resources, km=km)
            # nbconvert's synchronous preprocess never calls on_notebook_complete: finish here,
            # on this thread's event loop, the one the checker's client was made in.
            run_sync(self._finish)()
        except Exception as error:  # no kernel, or nbclient itself failed: nothing here counts
            self._event(EventKind.KERNEL_FAILED, f"{type(error).__name__}: {error}")
            self._stopped = "the kernel could not start"
            for index, cell in enumerate(nb.cells):
                if cell.cell_type == "code":
                    self._mark_not_executed(cell, index)
        finally:
            if self._checker is not None:  # nbclient did not get to its last hook
                self._checker.kill_now()
        manager = getattr(self, "km", None)
        if isinstance(manager, SandboxedKernelManager) and manager.output.kept:
            print(f"--- what the kernel of {self._notebook} printed outside its cells ---")
            print(manager.output.text(), flush=True)
        self._write_events()
        return nb, resources

    def create_kernel_manager(self):
        if not self.kernel_name:
            self.kernel_name = self.nb.metadata.get("kernelspec", {}).get("name", "python3")
        self.km = SandboxedKernelManager(
            spec=self._spec, kernel_name=self.kernel_name, config=self.config
        )
        return self.km

    # --- cells -------------------------------------------------------------------------------

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if cell.cell_type != "code" or not cell.source.strip():
            return await super().async_execute_cell(
                cell, cell_index, execution_count, store_history
            )
        if self._to_run is not None and not _is_test(cell) and cell_index not in self._to_run:
            cell.outputs = marked(cell.outputs)  # no test depends on it: the student's own run
            self._not_rerun.append(cell_index)
            return cell
        if self._stopped is None and time.monotonic() >= self._deadline:
            limit = self._spec.limits.notebook_timeout
            self._stop(
                EventKind.NOTEBOOK_TIMEOUT, f"the notebook ran past its {limit} s limit", cell_index
            )
        if self._stopped is not None:
            self._mark_not_executed(cell, cell_index)
            return cell
        is_test = _is_test(cell)
        try:
            started = time.monotonic()
            if is_test:
                await self._judge(cell, cell_index)
            else:
                cell = await super().async_execute_cell(
                    cell, cell_index, execution_count, store_history
                )
                self._note_solution(cell)
            seconds = time.monotonic() - started
            self._timings["tests" if is_test else "cells"] += seconds
            if is_test:  # each test's own seconds, for bench/grading_profile.py
                self._timings[f"test {cell.metadata['nbgrader']['grade_id']}"] = seconds
        except DeadKernelError:
            cell.outputs.append(
                _error(
                    "KernelDied",
                    "the kernel stopped while running this cell (sys.exit in a thread, "
                    "os._exit, a crash, or the memory or CPU-time limit)",
                )
            )
            self._stop(EventKind.KERNEL_DIED, "the kernel stopped", cell_index)
        except CellTimeoutError as error:
            if self._stopped is None:  # otherwise the kernel was stopped on purpose
                cell.outputs.append(_error("CellTimeoutError", str(error).splitlines()[0]))
                self._event(
                    EventKind.CELL_TIMEOUT, "no output within the IOPub timeout", cell_index
                )
                await self._count_timeout(cell_index)
        return cell

    execute_cell = run_sync(async_execute_cell)

    async def _prepare(self, **_) -> None:
        """Once the kernel is up: the answering half of the evidence protocol, and the checker."""
        self._timings["kernel start"] = time.monotonic() - self._started
        started = time.monotonic()
        reply = await self._evaluate(INSTALL_ANSWERS, self._spec.limits.cell_timeout)
        if reply is None or reply.get("status") != "ok":
            raise RuntimeError("the grader could not talk to the kernel")
        if any(_is_test(cell) for cell in self.nb.cells):
            self._checker = CheckerSession(
                self._spec,
                self._cwd,
                self._plan,
                secrets.randbits(62),
                self.ask_student,
                models=self.handed_in_folder,
            )
            # The checker loads the course data while the student's first cells run.
            self._checker_started = asyncio.ensure_future(self._checker.start())
        self._timings["checker start"] = time.monotonic() - started

    async def _finish(self, **_) -> None:
        """After the last cell: check the handed-in model, then stop the checker, in its loop."""
        if self._checker is None:
            return
        checks_model = bool(
            self.handed_in_folder and self._plan.handed_in_model and self._plan.reproduction_rows
        )
        try:
            await self._checker_started
            if checks_model:
                self._model_check = await self._checker.check_handed_in_model()
        except Exception as error:  # the bonus cannot be checked: said so, never guessed
            if checks_model:
                why = f"the grader's checker failed ({type(error).__name__}: {error})"
                self._model_check = {"error": why}
        await self._checker.stop()
        self._checker = None

    async def _judge(self, cell, cell_index: int) -> None:
        """Run a test cell in the checker; apply the consistency rule to a pass."""
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        cell.outputs = []
        cell.execution_count = None
        if self._checker is None:
            raise RuntimeError("the grader's checker is not running")
        try:
            await self._checker_started
        except Exception as error:
            raise RuntimeError(f"the grader's checker could not start: {error}") from error
        outcome = await self._checker.run_test(cell, self._remaining())
        cell.outputs = outcome.outputs
        if outcome.grader_error:
            self._event(EventKind.CHECKER_FAILED, outcome.grader_error, cell_index)
        for note in outcome.notes:
            self._event(EventKind.STUDENT_PROCESS_ONLY, note, cell_index)
        for note in outcome.review:
            self._event(EventKind.UNCONFIRMED, note, cell_index)
        for note in outcome.inconsistent:
            self._event(EventKind.EVIDENCE_INCONSISTENT, note, cell_index)
        broken = broken_dependencies(
            grade_id, self._plan, self._solutions, self._solutions_failed, self._solutions_ran
        )
        score = score_test(outcome.verdict, broken) if not outcome.grader_error else None
        if score is not None and score.dependency:
            name, message = score.reason.split(": ", 1)
            cell.outputs.append(_error(name, message))
            self._event(EventKind.DEPENDENCY_NOT_MET, "; ".join(broken), cell_index)

    # --- the student's kernel answers ----------------------------------------------------------

    async def ask_student(self, question: dict) -> str:
        """Put ``question`` to the student's kernel; its answer (or why there is none) as text."""
        if self._stopped is not None:
            return _no_answer(
                "KernelStopped", f"the notebook's kernel had stopped ({self._stopped})"
            )
        expression = f"__coursekit_answer__({json.dumps(question)!r})"
        timeout = max(1.0, min(self._spec.limits.cell_timeout, self._remaining()))
        try:
            answer = await self._evaluate(expression, timeout)
        except DeadKernelError:
            self._stop(EventKind.KERNEL_DIED, "the kernel stopped while answering a test", None)
            return _no_answer("KernelDied", "the notebook's kernel stopped while answering")
        if answer is None:
            return _no_answer(
                "TimeoutError", f"the notebook's code took longer than {timeout:.0f} s to answer"
            )
        if answer.get("status") != "ok":
            return _no_answer(str(answer.get("ename")), str(answer.get("evalue", ""))[:500])
        try:
            text = ast.literal_eval(answer["data"]["text/plain"])
            if not isinstance(text, str) or len(text) > ANSWER_BYTES:
                raise ValueError("too large, or not text")
            json.loads(text)
        except (KeyError, ValueError, SyntaxError, TypeError, MemoryError) as error:
            return _no_answer("EvidenceError", f"the notebook's answer cannot be read ({error})")
        return text

    async def _evaluate(self, expression: str, timeout: float) -> dict | None:
        """Evaluate ``expression`` in the student's kernel, outside any cell; None on a timeout.

        A kernel that does not answer in time is interrupted; one that does not
        stop even then is stopped for good, and every later cell fails.
        """
        msg_id = self.kc.execute(
            "None",
            silent=True,
            store_history=False,
            allow_stdin=False,
            stop_on_error=False,
            user_expressions={"a": expression},
        )
        reply = await self._reply_to(msg_id, timeout)
        if reply is None:
            await self.km.interrupt_kernel()
            reply = await self._reply_to(msg_id, INTERRUPT_GRACE_SECONDS)
            if reply is None:
                await self.km.shutdown_kernel(now=True)
                self._stop(EventKind.KERNEL_STOPPED, "the kernel ignored an interrupt", None)
                return None
            return None
        content = reply.get("content", {})
        if content.get("status") != "ok":
            return {
                "status": "error",
                "ename": content.get("ename"),
                "evalue": content.get("evalue"),
            }
        return content.get("user_expressions", {}).get("a", {})

    async def _reply_to(self, msg_id: str, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                message = await self.kc.get_shell_msg(timeout=min(left, 1.0))
            except Empty:
                if not await self.km.is_alive():
                    raise DeadKernelError("Kernel died") from None
                continue
            if message.get("parent_header", {}).get("msg_id") == msg_id:
                return message

    # --- timeouts, output caps and events ----------------------------------------------------

    def _cell_timeout(self, cell) -> int:
        return max(1, min(self._spec.limits.cell_timeout, int(self._remaining())))

    def _remaining(self) -> float:
        return max(0.0, self._deadline - time.monotonic())

    async def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)
        reply = kwargs["execute_reply"]["content"]
        index = kwargs.get("cell_index")
        name = reply.get("ename")
        if name == "CellTimeoutError":
            self._event(
                EventKind.CELL_TIMEOUT, f"still running after {self.timeout} s; interrupted", index
            )
            await self._count_timeout(index)
            return
        self._timeouts_in_a_row = 0
        if name == "MemoryError":
            limit = self._spec.limits.memory_bytes / 1024**3
            self._event(EventKind.OUT_OF_MEMORY, f"ran out of memory (limit {limit:g} GiB)", index)

    async def _count_timeout(self, index: int | None) -> None:
        """After a timeout: past the notebook's deadline, or a second in a row, stop the kernel."""
        self._timeouts_in_a_row += 1
        if time.monotonic() >= self._deadline:
            await self.km.shutdown_kernel(now=True)
            limit = self._spec.limits.notebook_timeout
            self._stop(
                EventKind.NOTEBOOK_TIMEOUT, f"the notebook ran past its {limit} s limit", index
            )
        elif self._timeouts_in_a_row >= 2:
            await self.km.shutdown_kernel(now=True)
            self._stop(
                EventKind.KERNEL_STOPPED, "the kernel ignored two interrupts in a row", index
            )

    def output(self, outs, msg, display_id, cell_index):
        size = len(json.dumps(msg.get("content", {}), default=str))
        limits = self._spec.limits
        used = self._output_bytes.get(cell_index, 0) + size
        self._output_bytes[cell_index] = used
        self._notebook_bytes += size
        if used > limits.max_cell_output_bytes:
            if used - size <= limits.max_cell_output_bytes:
                what = f"this cell printed over {limits.max_cell_output_bytes:,} bytes"
                self._note_cut(outs, what, "its", cell_index)
            return None
        if self._notebook_bytes > limits.max_notebook_output_bytes:
            if self._notebook_bytes - size <= limits.max_notebook_output_bytes:
                what = f"the notebook printed over {limits.max_notebook_output_bytes:,} bytes"
                self._note_cut(outs, what, "the notebook's", cell_index)
            return None
        return super().output(outs, msg, display_id, cell_index)

    def _note_cut(self, outs, what: str, whose: str, cell_index: int) -> None:
        note = f"[coursekit] {what}; the rest of {whose} output was dropped\n"
        outs.append(new_output("stream", name="stderr", text=note))
        self._event(EventKind.OUTPUT_TRUNCATED, f"{what} of output", cell_index)

    def _note_solution(self, cell) -> None:
        if not utils.is_solution(cell) or cell.cell_type != "code":
            return
        grade_id = cell.metadata["nbgrader"].get("grade_id", "")
        self._solutions[grade_id] = cell.source
        self._solutions_ran.add(grade_id)
        if any(output.get("output_type") == "error" for output in cell.outputs):
            self._solutions_failed.add(grade_id)

    def _stop(self, kind: EventKind, reason: str, cell_index: int | None) -> None:
        if self._stopped is None:
            self._stopped = reason
            self._event(kind, reason, cell_index)

    def _mark_not_executed(self, cell, cell_index: int) -> None:
        cell.outputs = [_error("NotExecuted", f"not run: {self._stopped}")]
        cell.execution_count = None

    def _event(self, kind: EventKind, detail: str, cell_index: int | None = None) -> None:
        grade_id = ""
        if cell_index is not None:
            grade_id = self.nb.cells[cell_index].metadata.get("nbgrader", {}).get("grade_id", "")
        self._events.append(Event(kind, detail, cell_index, grade_id))

    def _write_events(self) -> None:
        if self._not_rerun:
            cells = ", ".join(str(index + 1) for index in self._not_rerun[:20])
            more = f" and {len(self._not_rerun) - 20} more" if len(self._not_rerun) > 20 else ""
            self._event(
                EventKind.NOT_RERUN,
                f"{len(self._not_rerun)} cells no test depends on keep your own outputs; they "
                f"were not re-run in grading (cells {cells}{more})",
            )
        if not self._spec.events_file:
            return
        timings = {phase: round(seconds, 2) for phase, seconds in self._timings.items()}
        entry = NotebookEvents(self._notebook, self._events, timings, self._model_check)
        append_events(Path(self._spec.events_file), entry)


def _is_test(cell) -> bool:
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


def _error(name: str, message: str):
    return new_output(
        "error", ename=name, evalue=message, traceback=[f"\x1b[0;31m{name}\x1b[0m: {message}"]
    )


def _no_answer(name: str, message: str) -> str:
    return json.dumps(
        {"ok": False, "error": {"type": name, "message": message}, "protocol": PROTOCOL}
    )
