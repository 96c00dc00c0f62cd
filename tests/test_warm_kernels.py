"""Pre-warmed kernels: forked from a zygote that imported TensorFlow once, sandboxed like any other.

The sandbox's own guarantees are tested on warm and plain kernels alike in
``tests/test_sandbox.py``; here are the ones only forking raises: the kernel
keeps nothing of the zygote's privileges or descriptors, one student's kernel
leaves nothing for the next one forked from the same zygote, the kernel and
its sandbox live and die together, and grading falls back to plain kernels
whenever a zygote cannot serve.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from notebook_runner import SHARED_CACHE

from autograder.grading.sandbox import (
    SANDBOX_UID,
    SandboxedKernelManager,
    SandboxLimits,
    default_spec,
    warm_kernels,
    zygote,
)
from autograder.grading.sandbox.bwrap import runs_as_root

pytestmark = pytest.mark.integration  # kernels, sandboxes or processes


def _spec(tmp_path: Path, warm: bool = True, zygote: str | None = None):
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    os.chmod(tmp_path, 0o700)
    spec = default_spec(scratch, Path(), SandboxLimits(cell_timeout=30), SHARED_CACHE)
    if zygote is None:
        zygote = warm_kernels.zygote_for("tests", spec.environment) if warm else ""
    return replace(spec, zygote=zygote)


class Kernel:
    """A sandboxed kernel started the way the executor starts one, for probing."""

    def __init__(self, spec, folder: Path):
        self.spec = spec
        self.folder = folder
        self.manager: SandboxedKernelManager | None = None
        self.loop = asyncio.new_event_loop()

    def __enter__(self) -> Kernel:
        self.folder.mkdir(exist_ok=True)
        self.manager = SandboxedKernelManager(spec=self.spec, kernel_name="python3")
        self.loop.run_until_complete(self.manager.start_kernel(cwd=str(self.folder)))
        self.client = self.manager.client()
        self.client.start_channels()
        self.loop.run_until_complete(self.client.wait_for_ready(timeout=120))
        return self

    def run(self, code: str) -> str:
        """What ``code`` printed, its error as ``Name: message``, and what it displayed."""
        printed: list[str] = []

        def keep(message):
            content = message["content"]
            if message["msg_type"] == "stream":
                printed.append(content["text"])
            elif message["msg_type"] == "error":
                printed.append(f"{content['ename']}: {content['evalue']}")
            elif message["msg_type"] == "display_data":
                printed.append(f"[display {' '.join(sorted(content['data']))}]")

        self.loop.run_until_complete(
            self.client.execute_interactive(code, timeout=60, output_hook=keep)
        )
        return "".join(printed)

    def __exit__(self, *exc) -> None:
        self.client.stop_channels()
        self.loop.run_until_complete(self.manager.shutdown_kernel(now=True))
        self.loop.close()


def test_a_warm_kernel_is_forked_with_tensorflow_imported_and_nothing_of_the_grader(tmp_path):
    with Kernel(_spec(tmp_path), tmp_path / "work") as kernel:
        seen = json.loads(
            kernel.run(
                "import json, sys\n"
                "print(json.dumps({'modules': sorted(m for m in ('tensorflow', 'keras', "
                "'autograder', 'autograder.grading.sandbox.zygote') if m in sys.modules), "
                "'path0': sys.path[0], 'argv': sys.argv[1:2], "
                "'cmdline': open('/proc/self/cmdline').read()}))"
            )
        )
        assert kernel.manager.warm_pid is not None
    assert seen["modules"] == ["keras", "tensorflow"]  # imported before the student's first cell
    assert seen["path0"] == "/home/student/work"
    assert (
        "autograder.grading.sandbox.zygote" in seen["cmdline"]
    )  # forked, not started from scratch
    assert "no warm kernel" not in kernel.manager.output.text()


def test_figures_of_a_warm_kernel_still_show_inline(tmp_path):
    with Kernel(_spec(tmp_path), tmp_path / "work") as kernel:
        shown = kernel.run(
            "from utilities import *\nimport matplotlib.pyplot as plt\n"
            "plt.plot([1, 2, 3])\nplt.show()\nimport matplotlib\nprint(matplotlib.get_backend())"
        )
    assert "[display image/png text/plain]" in shown
    assert "matplotlib_inline" in shown


def test_a_warm_kernel_holds_no_privilege_and_sees_only_its_sandbox(tmp_path):
    with Kernel(_spec(tmp_path), tmp_path / "work") as kernel:
        status = kernel.run("print(open('/proc/self/status').read())")
        processes = kernel.run(
            "import os\nprint(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))"
        )
        zygote = kernel.run(f"import os\nprint(os.path.exists({kernel.spec.zygote!r}))")
        limits = kernel.run(
            "import resource\nprint([resource.getrlimit(getattr(resource, 'RLIMIT_' + n))[0] "
            "for n in ('CPU', 'AS', 'FSIZE', 'CORE')])"
        )
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    for capabilities in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(fields[capabilities], 16) == 0, capabilities
    assert fields["NoNewPrivs"].strip() == "1"
    expected_uid = SANDBOX_UID if runs_as_root() else os.getuid()
    assert fields["Uid"].split() == [str(expected_uid)] * 4
    assert fields["Groups"].strip() in ("", str(SANDBOX_UID))
    # bubblewrap (1), the stub (2) and the kernel: not the zygote, not the grader.
    assert len(json.loads(processes)) == 3
    assert zygote.strip() == "False"
    spec_limits = kernel.spec.limits
    assert json.loads(limits) == [
        spec_limits.cpu_seconds,
        spec_limits.memory_bytes,
        spec_limits.max_file_bytes,
        0,
    ]


# The daemon's duration is unique to this run, so that no other `sleep 300` on the host
# (a developer's shell, another job) can be taken for it.
DAEMON_SECONDS = f"300.{secrets.randbelow(10**9):09d}"
LEAVE_TRACES = f"""
import os, subprocess, numpy, keras
subprocess.Popen(['sleep', '{DAEMON_SECONDS}'], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    import time
    time.sleep(300)
    os._exit(0)
open('/tmp/left-behind', 'w').write('answers')
open('/dev/shm/left-behind', 'w').write('answers')
numpy.LEFT_BEHIND = 'answers'
keras.layers.Dense.__call__ = lambda *args, **kwargs: 'pwned'
os.environ['LEFT_BEHIND'] = 'answers'
print('left')
"""

FIND_TRACES = """
import os, numpy, keras
print(sorted(
    name for name, found in {
        'tmp': os.path.exists('/tmp/left-behind'),
        'shm': os.path.exists('/dev/shm/left-behind'),
        'module': hasattr(numpy, 'LEFT_BEHIND'),
        'patch': keras.layers.Dense.__call__.__name__ == '<lambda>',
        'environment': 'LEFT_BEHIND' in os.environ,
        'processes': len([p for p in os.listdir('/proc') if p.isdigit()]) != 3,
    }.items() if found
))
"""


def test_nothing_one_kernel_leaves_reaches_the_next_one_forked_from_the_same_zygote(tmp_path):
    spec = _spec(tmp_path)
    with Kernel(spec, tmp_path / "first") as first:
        assert first.run(LEAVE_TRACES).strip() == "left"
        first_pid = first.manager.warm_pid
    with Kernel(spec, tmp_path / "second") as second:
        assert second.run(FIND_TRACES).strip() == "[]"
        assert second.manager.warm_pid != first_pid
    # The first sandbox takes its daemons with it, at once (0.02 s, also beside a CPU load);
    # allow a loaded machine a moment. One that survived the sandbox would live 300 s.
    gone = _waits_for(lambda: not _daemons_left_by(LEAVE_TRACES))
    assert gone, [_status(pid) for pid in _daemons_left_by(LEAVE_TRACES)]


def _status(pid: str) -> str:
    """A process's parent, PID namespaces and state, to say where a survivor hangs on."""
    fields = dict(
        line.split(":", 1) for line in _read(f"/proc/{pid}/status").splitlines() if ":" in line
    )
    return " ".join(f"{key}={fields.get(key, '?').strip()}" for key in ("PPid", "NSpid", "State"))


def _daemons_left_by(code: str) -> list[str]:
    """Host processes still running the ``sleep DAEMON_SECONDS`` that ``code`` started."""
    assert f"['sleep', '{DAEMON_SECONDS}']" in code
    return [
        pid
        for pid in os.listdir("/proc")
        if pid.isdigit() and _read(f"/proc/{pid}/cmdline") == f"sleep\0{DAEMON_SECONDS}\0"
    ]


def test_two_warm_kernels_draw_different_random_numbers_from_numpy(tmp_path):
    spec = _spec(tmp_path)
    draws = []
    for name in ("one", "two"):
        with Kernel(spec, tmp_path / name) as kernel:
            draws.append(kernel.run("import numpy\nprint(numpy.random.rand())"))
    assert draws[0] != draws[1]


def test_a_warm_kernel_that_exits_ends_its_sandbox_and_killing_the_sandbox_ends_the_kernel(
    tmp_path,
):
    spec = _spec(tmp_path)
    with Kernel(spec, tmp_path / "exits") as kernel:
        kernel.client.execute("import os\nos._exit(0)")
        sandbox = kernel.manager.provisioner.process
        assert _waits_for(lambda: sandbox.poll() is not None)
    with Kernel(spec, tmp_path / "killed") as kernel:
        pid = kernel.manager.warm_pid
        assert os.path.exists(f"/proc/{pid}")
        kernel.manager.provisioner.process.kill()  # bubblewrap, as Jupyter kills a stuck kernel
        assert _waits_for(lambda: not _alive(pid))


def test_without_a_working_zygote_the_kernel_starts_plain_and_says_why(tmp_path):
    gone = tmp_path / "gone"
    gone.mkdir()
    (gone / "pid").write_text("999999999")
    with Kernel(_spec(tmp_path, zygote=str(gone / "zygote")), tmp_path / "work") as kernel:
        assert kernel.run("print(6 * 7)").strip() == "42"
        assert kernel.manager.warm_pid is None
    assert "no warm kernel (the zygote is not running)" in kernel.manager.output.text()


def test_a_zygote_that_refuses_leaves_no_sandbox_behind_and_the_kernel_starts_plain(tmp_path):
    folder = tmp_path / "refusing"
    folder.mkdir()
    (folder / "pid").write_text(str(os.getpid()))
    path = folder / "zygote"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    stubs: list[int] = []

    def refuse():
        connection, _ = server.accept()
        with connection:
            request = json.loads(connection.recv(65536).decode())
            stubs.append(request["stub_pid"])
            connection.sendall(b'{"pid": 0, "error": "OSError: setns(mnt): refused"}\n')

    thread = threading.Thread(target=refuse, daemon=True)
    thread.start()
    with Kernel(_spec(tmp_path, zygote=str(path)), tmp_path / "work") as kernel:
        assert kernel.run("print(6 * 7)").strip() == "42"
    server.close()
    assert len(stubs) == 1 and not _alive(stubs[0])
    assert "setns(mnt): refused" in kernel.manager.output.text()


def test_a_zygote_that_cannot_import_is_reported_at_once(tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "pid").write_text(str(os.getpid()))
    (folder / "zygote.failed").write_text("ImportError: No module named 'tensorflow'")
    started = time.monotonic()
    with pytest.raises(warm_kernels.ZygoteUnavailable, match="No module named 'tensorflow'"):
        warm_kernels.wait_until_ready(str(folder / "zygote"))
    assert time.monotonic() - started < warm_kernels.READY_TIMEOUT


@contextlib.contextmanager
def _process(*command: str):
    """A child process (stdin a pipe), killed and reaped on exit."""
    process = subprocess.Popen(list(command), stdin=subprocess.PIPE)
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def test_the_zygote_opens_the_stub_it_was_handed_and_nothing_else_of_its_pid():
    with _process("cat") as stub:
        pidfd = os.pidfd_open(stub.pid)
        handles = zygote.open_stub(stub.pid, pidfd)
        assert handles.joins == []  # a plain process here: the same namespaces as ours
        assert os.readlink(f"/proc/self/fd/{handles.root}") == "/"
        for descriptor in [handles.root, *handles.streams, pidfd]:
            os.close(descriptor)
    # A pidfd that names another running process than the PID in the request.
    with _process("cat") as stub, _process("cat") as other:
        pidfd = os.pidfd_open(other.pid)
        with pytest.raises(zygote.StubGone, match=f"names process {other.pid}, not the stub"):
            zygote.open_stub(stub.pid, pidfd)
        os.close(pidfd)
    # The stub ended but is not yet reaped, so its PID is still its own.
    with _process("cat") as stub:
        pidfd = os.pidfd_open(stub.pid)
        stub.stdin.close()
        assert _waits_for(lambda: not _alive(stub.pid))
        with pytest.raises(zygote.StubGone, match=f"the stub {stub.pid} has ended"):
            zygote.open_stub(stub.pid, pidfd)
        os.close(pidfd)
    # Not a pidfd at all.
    with (
        _process("cat") as stub,
        open(os.devnull) as not_a_pidfd,
        pytest.raises(zygote.StubGone, match="is not a pidfd"),
    ):
        zygote.open_stub(stub.pid, not_a_pidfd.fileno())


def test_a_zygote_never_joins_a_process_that_took_over_the_stubs_pid(tmp_path):
    """The race a PID alone loses: the stub ends, and its PID names another process."""
    spec = _spec(tmp_path)
    socket_path = spec.zygote
    warm_kernels.wait_until_ready(socket_path)
    with _process("cat") as ended:
        pidfd = os.pidfd_open(ended.pid)
    # ``ended`` is reaped: its pidfd names no process; ``newcomer`` stands for the process
    # that now has the stub's PID (the kernel would hand out the same number in time).
    with _process("cat") as newcomer:
        request = _request(newcomer.pid)
        stub = warm_kernels.Stub(newcomer.pid, pidfd)
        with pytest.raises(warm_kernels.ZygoteUnavailable, match="has ended"):
            warm_kernels.request_kernel(socket_path, request, stub)
        os.close(pidfd)
        # A request without the pidfd is refused too.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.connect(socket_path)
            connection.sendall(request.to_json().encode() + b"\n")
            reply = zygote.LaunchReply.from_json(zygote.read_line(connection))
        assert reply.pid == 0 and "with 0 descriptors, not one pidfd" in reply.error


def _request(stub_pid: int) -> zygote.LaunchRequest:
    return zygote.LaunchRequest(
        stub_pid=stub_pid,
        arguments=("-c", "import time; time.sleep(60)"),
        workdir="/",
        uid=SANDBOX_UID,
        cpu_seconds=10,
        memory_bytes=2**31,
        max_processes=64,
        max_file_bytes=2**20,
    )


def _waits_for(condition, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def _alive(pid: int) -> bool:
    state = _read(f"/proc/{pid}/stat")
    return bool(state) and state.rsplit(")", 1)[1].split()[0] != "Z"


def _read(path: str) -> str:
    with contextlib.suppress(OSError):
        return Path(path).read_text(errors="replace")
    return ""


# The uid the grader takes for the run as a user other than root; any uid but 0 will do.
OTHER_USER = 1000
# The tests that fork warm kernels into their sandboxes, which is where not being root differs.
FORKING_TESTS = (
    "test_a_warm_kernel_is_forked_with_tensorflow_imported_and_nothing_of_the_grader",
    "test_a_warm_kernel_holds_no_privilege_and_sees_only_its_sandbox",
    "test_nothing_one_kernel_leaves_reaches_the_next_one_forked_from_the_same_zygote",
    "test_a_warm_kernel_that_exits_ends_its_sandbox_and_killing_the_sandbox_ends_the_kernel",
)


@pytest.mark.slow
@pytest.mark.skipif(not runs_as_root(), reason="this run is already not root")
def test_warm_kernels_fork_the_same_way_for_a_grader_that_is_not_root():
    """Outside root, bubblewrap makes two user namespaces and the zygote joins both.

    The grader runs as uid 1000 in a user namespace of its own (``unshare
    --map-user``): no capability after its ``exec``, yet it still owns the
    checkout, as a teacher's account owns theirs. The tests above that fork
    a warm kernel into its sandbox run again.
    """
    if int(_read("/proc/sys/user/max_user_namespaces") or 0) == 0:
        pytest.skip("this kernel allows no user namespaces, so only root can sandbox")
    result = subprocess.run(
        [
            *("unshare", "--user", f"--map-user={OTHER_USER}", f"--map-group={OTHER_USER}", "--"),
            *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"),
            *("-m", "not slow", "-k", " or ".join(FORKING_TESTS), __file__),
        ],
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    summary = (result.stdout + result.stderr)[-4000:]
    assert result.returncode == 0, summary
    assert f"{len(FORKING_TESTS)} passed" in result.stdout, summary
