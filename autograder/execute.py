"""nbgrader's Execute step, hardened for notebooks written by strangers.

:class:`SandboxedExecute` replaces ``nbgrader.preprocessors.Execute`` in the
autograde pipeline (``coursekit grade`` configures it). On top of nbgrader it:

- starts the kernel in the bubblewrap sandbox (:mod:`autograder.sandbox`);
- enforces a per-notebook deadline as well as the per-cell timeout, and stops
  a kernel that ignores two interrupts in a row;
- turns a dead kernel (``os._exit``, a crash, the memory or CPU limit) into an
  error in that cell and a "not executed" error in every later code cell, so
  a test that never ran can never score;
- keeps at most ``max_cell_output_bytes`` of output per cell;
- after every autograded test cell, runs probes that must fail (an ``assert``
  and ``utilities.checks.fail``). If one comes back as a success, the
  notebook has patched how failures are reported, and every test scores 0;
- writes what happened (timeouts, kernel deaths, truncation, tampering) to
  the events file that ``coursekit grade`` turns into the student's record.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import Execute
from traitlets import Unicode

from autograder.sandbox import SandboxedKernelManager, SandboxSpec

# Code that must fail. Each probe's reply has to come back as an error.
PROBES = (
    "assert 1 == 2, 'coursekit probe'",
    "from utilities.checks import fail as _coursekit_fail\n_coursekit_fail('coursekit probe')",
)
TAMPER_MESSAGE = (
    "the notebook changed how failures are reported (a check that must fail "
    "passed), so every autograded test scores 0; a TA should review it"
)


class SandboxedExecute(Execute):
    """Execute a notebook in the sandbox and record what went wrong."""

    sandbox_spec = Unicode("", help="Path of the SandboxSpec JSON file.").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._spec = SandboxSpec.from_json(Path(self.sandbox_spec).read_text())
        self.timeout = self._spec.limits.cell_timeout
        self._deadline = time.monotonic() + self._spec.limits.notebook_timeout
        self._stopped: str | None = None
        self._timeouts_in_a_row = 0
        self._output_bytes: dict[int, int] = {}
        self._events: list[dict] = []
        self._tampered = False
        self.timeout_func = self._cell_timeout
        notebook = (resources or {}).get("nbgrader", {}).get("notebook", "notebook")
        try:
            nb, resources = super().preprocess(nb, resources, km=km)
        except Exception as error:  # no kernel, or nbclient itself failed: nothing here counts
            self._event("kernel_failed", f"{type(error).__name__}: {error}")
            self._stopped = "the kernel could not start"
            for index, cell in enumerate(nb.cells):
                if cell.cell_type == "code":
                    self._mark_not_executed(cell, index)
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
        try:
            cell = await super().async_execute_cell(
                cell, cell_index, execution_count, store_history
            )
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
            stream.write(json.dumps({"notebook": notebook, "events": self._events}) + "\n")


def _error(name: str, message: str):
    return new_output(
        "error", ename=name, evalue=message, traceback=[f"\x1b[0;31m{name}\x1b[0m: {message}"]
    )
