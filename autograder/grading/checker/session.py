"""The checker's kernel, seen from the grading worker: start it, run tests in it, relay questions.

For each notebook the executor starts a second kernel in a sandbox of its own
(:class:`CheckerSession`), sends it the checker
(:mod:`autograder.grading.checker.program`) with the notebook's plan and a
seed the notebook cannot know, and runs every test cell there. While a test
runs, each question the checker asks (an ``input()`` request on the kernel's
stdin channel) is handed to ``ask_student``, which puts it to the student's
kernel and returns its answer as text; the checker decodes and judges it.
The test's printed output and its verdict become the test cell's outputs.
"""

from __future__ import annotations

import ast
import base64
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from nbformat.v4 import new_output

import autograder
from autograder.grading.checker.plan import NotebookPlan
from autograder.grading.sandbox import FIRST_SLOT_UID, SandboxedKernelManager, SandboxSpec

#: How long the checker may take to start and load the course data.
START_SECONDS = 120
#: Checker kernels run as a user of their own, never the one the student's kernel runs as.
CHECKER_UID_OFFSET = 1000
#: The most text of a test's own printed output that is kept.
TEST_OUTPUT_BYTES = 64 * 1024

AskStudent = Callable[[dict], Awaitable[str]]


@dataclass
class TestOutcome:
    """A test's verdict, as the checker gave it, and the outputs for its cell."""

    passed: bool
    verdict: dict = field(default_factory=dict)  # as the checker gave it
    outputs: list = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # verified in the student's process only
    inconsistent: list[str] = field(default_factory=list)  # evidence that contradicts itself
    review: list[str] = field(default_factory=list)  # what a check could not confirm
    grader_error: str = ""  # the checker itself failed: the test could not be judged


def checker_spec(spec: SandboxSpec, models: str = "") -> SandboxSpec:
    """The sandbox of a checker: the student's, plus the kit's own code (and the handed-in
    model's folder, which the student's kernel never sees), as another user."""
    package = str(Path(autograder.__file__).resolve().parent)
    uid = spec.uid + CHECKER_UID_OFFSET if spec.uid >= FIRST_SLOT_UID else spec.uid
    paths = (*spec.readonly_paths, package, *([models] if models else []))
    return replace(spec, readonly_paths=paths, uid=uid, events_file="")


class CheckerSession:
    """One notebook's checker kernel; see the module docstring."""

    def __init__(
        self,
        spec: SandboxSpec,
        cwd: str,
        plan: NotebookPlan,
        seed: int,
        ask_student: AskStudent,
        models: str = "",
    ):
        self.spec = checker_spec(spec, models)
        self.models = models
        self.cwd = cwd
        self.plan = plan
        self.seed = seed
        self.ask_student = ask_student
        self.km: SandboxedKernelManager | None = None
        self.kc = None
        self.startup_seconds = 0.0

    async def start(self) -> None:
        started = time.monotonic()
        self.km = SandboxedKernelManager(spec=self.spec, kernel_name="python3")
        await self.km.start_kernel(cwd=self.cwd)
        self.kc = self.km.client()
        self.kc.start_channels()
        await self.kc.wait_for_ready(timeout=START_SECONDS)
        plan = json.dumps(_plan_dict(self.plan))
        setup = (
            "from autograder.grading.checker.program import Checker\n"
            f"__checker__ = Checker({plan!r}, {self.seed!r}, models={self.models!r})\n"
        )
        reply = await self.kc.execute_interactive(
            setup,
            store_history=False,
            allow_stdin=False,
            timeout=START_SECONDS,
            output_hook=lambda message: None,
        )
        if reply["content"].get("status") != "ok":
            content = reply["content"]
            raise RuntimeError(
                f"the checker could not start ({content.get('ename')}: {content.get('evalue')})"
            )
        self.startup_seconds = time.monotonic() - started

    async def run_test(self, cell, timeout: float) -> TestOutcome:
        """Run test cell ``cell`` in the checker; its outcome and the outputs for the cell."""
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        encoded = base64.b64encode(cell.source.encode()).decode()
        printed: list[str] = []

        def output_hook(message: dict) -> None:
            content = message.get("content", {})
            if message["header"]["msg_type"] == "stream" and content.get("name") == "stdout":
                printed.append(str(content.get("text", "")))

        async def stdin_hook(message: dict) -> None:
            prompt = message.get("content", {}).get("prompt", "")
            answer = await self.ask_student(json.loads(prompt))
            self.kc.input(answer)

        code = f"__coursekit_verdict__ = __checker__.run_test({encoded!r}, {grade_id!r})"
        try:
            reply = await self.kc.execute_interactive(
                code,
                store_history=False,
                allow_stdin=True,
                user_expressions={"verdict": "__coursekit_verdict__"},
                timeout=timeout,
                output_hook=output_hook,
                stdin_hook=stdin_hook,
            )
            verdict = _verdict(reply)
        except Exception as error:  # the checker itself failed: this test cannot be judged
            message = f"the grader could not check this test ({type(error).__name__}: {error})"
            return TestOutcome(False, {}, [_error("GraderError", message)], grader_error=message)
        outputs = []
        text = "".join(printed)[:TEST_OUTPUT_BYTES]
        if text:
            outputs.append(new_output("stream", name="stdout", text=text))
        passed = verdict.get("status") == "passed"
        if not passed:
            outputs.append(_failure_output(verdict))
        return TestOutcome(
            passed,
            verdict,
            outputs,
            [str(note) for note in verdict.get("notes", [])],
            [str(note) for note in verdict.get("inconsistent", [])],
            [str(note) for note in verdict.get("review", [])],
        )

    async def check_handed_in_model(self) -> dict:
        """What the checker made of the handed-in model: predictions, or an error."""
        reply = await self.kc.execute_interactive(
            "None",
            store_history=False,
            allow_stdin=False,
            user_expressions={"check": "__checker__.check_handed_in_model()"},
            timeout=START_SECONDS,
            output_hook=lambda message: None,
        )
        answer = reply["content"].get("user_expressions", {}).get("check", {})
        if answer.get("status") != "ok":
            return {"error": f"the checker failed ({answer.get('ename')}: {answer.get('evalue')})"}
        return json.loads(ast.literal_eval(answer["data"]["text/plain"]))

    async def stop(self) -> None:
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None and self.km.has_kernel:
            await self.km.shutdown_kernel(now=True)
        self.km = self.kc = None

    def kill_now(self) -> None:
        """Outside any event loop: end the checker's sandbox and remove its folders."""
        manager, self.km = self.km, None
        if manager is None:
            return
        process = getattr(manager.provisioner, "process", None)
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        manager.remove_folders()


def _plan_dict(plan: NotebookPlan) -> dict:
    from dataclasses import asdict

    return asdict(plan)


def _verdict(reply: dict) -> dict:
    content = reply["content"]
    if content.get("status") != "ok":
        raise RuntimeError(f"{content.get('ename')}: {content.get('evalue')}")
    answer = content["user_expressions"]["verdict"]
    if answer.get("status") != "ok":
        raise RuntimeError(f"{answer.get('ename')}: {answer.get('evalue')}")
    verdict = json.loads(ast.literal_eval(answer["data"]["text/plain"]))
    if not isinstance(verdict, dict):
        raise RuntimeError("the checker's verdict is not an object")
    return verdict


def _failure_output(verdict: dict):
    name = str(verdict.get("ename") or "AssertionError")
    message = str(verdict.get("evalue") or "")
    lines = [f"\x1b[0;31m{name}\x1b[0m: {message}"]
    if verdict.get("line"):
        lines.append(f"in the test's line: {verdict['line']}")
    return new_output("error", ename=name, evalue=message, traceback=lines)


def _error(name: str, message: str):
    return new_output(
        "error", ename=name, evalue=message, traceback=[f"\x1b[0;31m{name}\x1b[0m: {message}"]
    )
