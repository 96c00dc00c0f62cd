"""The sandbox and the hardened executor, tested with small hostile notebooks.

Each test runs real kernels under bubblewrap (no TensorFlow, so they are
quick) and checks one guarantee that the README promises.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from pathlib import Path

import pytest
from notebook_runner import errors, run, text

from autograder.grading.sandbox import SandboxLimits, sandbox_problem

pytestmark = pytest.mark.integration  # kernels, sandboxes or processes

# The containment guarantees hold for kernels forked from a zygote (grading's default) and
# for kernels started from scratch (its fallback): these tests run on both.
BOTH_LAUNCHES = pytest.mark.parametrize("warm", [True, False], ids=["warm", "plain"])


@pytest.fixture(scope="module", autouse=True)
def bubblewrap_works():
    problem = sandbox_problem()
    assert problem is None, f"the sandbox must work wherever the tests run: {problem}"


@BOTH_LAUNCHES
def test_the_kernel_runs_as_an_unprivileged_user_in_its_own_working_folder(tmp_path, warm):
    (cell,) = run(
        tmp_path,
        "import os\nprint(os.getuid(), os.getcwd(), sorted(os.listdir('.')))",
        data={"Fashion_MNIST.h5": "data"},
        warm=warm,
    )[0]
    uid, cwd, listing = text(cell).split(" ", 2)
    assert uid != "0"
    assert cwd == "/home/student/work"
    assert listing.strip() == "['Fashion_MNIST.h5']"  # the data, never the notebooks


def test_a_deep_scratch_folder_still_gives_the_kernel_sockets_it_can_bind(tmp_path):
    deep = tmp_path / ("a-very-long-folder-name-" * 4) / "scratch"  # Unix sockets: 107 bytes
    deep.mkdir(parents=True)
    (cell,) = run(deep, "print(6 * 7)")[0]
    assert text(cell).strip() == "42"


@BOTH_LAUNCHES
def test_there_is_no_network_not_even_to_the_grading_machine(tmp_path, warm):
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    connections = []
    server.settimeout(15)
    listener = threading.Thread(target=lambda: _accept(server, connections), daemon=True)
    listener.start()
    cells, _ = run(
        tmp_path,
        f"import socket\nsocket.create_connection(('127.0.0.1', {port}), 3)",
        "socket.create_connection(('1.1.1.1', 53), 3)",
        "socket.gethostbyname('pypi.org')",
        warm=warm,
    )
    server.close()
    listener.join()
    assert connections == []
    assert errors(cells[0]) == ["ConnectionRefusedError"]
    assert errors(cells[1]) == ["OSError"]  # network unreachable
    assert errors(cells[2]) == ["gaierror"]


def _accept(server, connections):
    with contextlib.suppress(OSError):
        connections.append(server.accept())


@BOTH_LAUNCHES
def test_private_files_of_the_host_are_not_visible(tmp_path, warm):
    private = tmp_path.parent / f"{tmp_path.name}-private"
    private.mkdir()
    (private / "answer_key.csv").write_text("ID,Label\n")
    repository = Path(__file__).resolve().parents[1]
    cells, _ = run(
        tmp_path,
        f"open({str(private / 'answer_key.csv')!r}).read()",
        f"import os\nprint(sorted(os.listdir({str(repository)!r})))",
        "open('/etc/shadow').read()",
        f"open({str(repository / 'assignments' / 'nbgrader_config.py')!r}).read()",
        warm=warm,
    )
    assert errors(cells[0]) == ["FileNotFoundError"]
    assert text(cells[1]).strip() == str(sorted(["utilities", ".venv"]))  # only what it needs
    assert errors(cells[2]) == ["FileNotFoundError"]
    assert errors(cells[3]) == ["FileNotFoundError"]


@BOTH_LAUNCHES
def test_the_system_and_the_kit_are_read_only_and_tmp_does_not_outlive_the_kernel(tmp_path, warm):
    import utilities

    package = Path(utilities.__file__).resolve()
    before = package.read_bytes()
    marker = f"/tmp/coursekit-test-{os.getpid()}"
    cells, _ = run(
        tmp_path,
        f"open({str(package)!r}, 'a').write('pwned')",
        "open('/usr/lib/pwned', 'w')",
        f"open({marker!r}, 'w').write('x')\nprint('written')",
        warm=warm,
    )
    assert errors(cells[0])[0] in ("OSError", "PermissionError")  # read-only, and not theirs
    assert errors(cells[1]) == ["OSError"]
    assert text(cells[2]).strip() == "written"  # a private /tmp works...
    assert not Path(marker).exists()  # ...and is gone afterwards
    assert package.read_bytes() == before


@BOTH_LAUNCHES
def test_limits_on_memory_and_processes(tmp_path, warm):
    cells, events = run(
        tmp_path,
        "bytearray(16 * 1024**3)",
        "import subprocess\nprocs = []\n"
        "try:\n    for _ in range(3000):\n        procs.append(subprocess.Popen(['sleep', '20']))\n"
        "finally:\n    print(len(procs))",
        # 3 GiB: a kernel's address space holds 1.9 GB once TensorFlow is imported (warm or not),
        # and ipykernel's threads reserve more; under 2 GiB the kernel could die at start.
        limits=SandboxLimits(cell_timeout=30, memory_bytes=3 * 1024**3, max_processes=64),
        warm=warm,
    )
    assert errors(cells[0]) == ["MemoryError"]
    assert (events[0]["kind"], events[0]["detail"], events[0]["cell"]) == (
        "out_of_memory",
        "ran out of memory (limit 3 GiB)",
        0,
    )
    assert errors(cells[1]) == ["BlockingIOError"]
    assert int(text(cells[1]).split()[0]) < 64


def test_an_infinite_loop_is_interrupted_and_the_next_cells_still_run(tmp_path):
    cells, events = run(
        tmp_path, "while True:\n    pass", "print('after')", limits=SandboxLimits(cell_timeout=3)
    )
    assert "KeyboardInterrupt" in errors(cells[0])
    assert text(cells[1]).strip() == "after"
    assert events[0]["kind"] == "cell_timeout" and events[0]["cell"] == 0


def test_a_kernel_that_ignores_interrupts_is_stopped_and_later_tests_fail(tmp_path):
    cells, events = run(
        tmp_path,
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
        "print('still stuck')",
        "assert True",
        grade=(2,),
        solutions=(0, 1),  # the student's code: grading runs it
        limits=SandboxLimits(cell_timeout=3),
    )
    assert errors(cells[2]) == ["NotExecuted"]
    kinds = [e["kind"] for e in events]
    assert kinds[-1] == "kernel_stopped" and kinds.count("cell_timeout") >= 2, events


def test_os_exit_fails_that_cell_and_every_test_after_it(tmp_path):
    cells, events = run(
        tmp_path,
        "import os\nos._exit(0)",
        "assert True",
        "x = 1",
        "assert True",
        grade=(1, 3),
        solutions=(0, 2),
    )
    assert errors(cells[0]) == ["KernelDied"]
    assert [errors(cell) for cell in cells[1:]] == [["NotExecuted"]] * 3
    assert [(e["kind"], e["detail"], e["cell"]) for e in events] == [
        ("kernel_died", "the kernel stopped", 0)
    ]


def test_sys_exit_and_a_silenced_traceback_still_fail_the_test(tmp_path):
    cells, _ = run(
        tmp_path,
        "get_ipython().showtraceback = lambda *a, **k: None",
        "assert 1 == 2, 'wrong'",
        "import sys\nsys.exit('bye')",
        grade=(1, 2),
    )
    assert errors(cells[1]) == ["AssertionError"]
    assert errors(cells[2]) == ["SystemExit"]


def test_patching_how_the_kernel_reports_failures_changes_no_verdict(tmp_path):
    cells, events = run(
        tmp_path,
        "_shell = get_ipython()\n_real = _shell.run_cell\n"
        "def _quiet(*a, **k):\n    r = _real(*a, **k)\n    r.error_in_exec = None\n    return r\n"
        "_shell.run_cell = _quiet\nx = 41",
        "assert x + 1 == 42",
        "assert x == 42",
        grade=(1, 2),
    )
    assert errors(cells[1]) == []
    assert errors(cells[2]) == ["AssertionError"]
    assert events == []


def test_an_honest_notebook_gets_its_verdicts_without_an_event(tmp_path):
    cells, events = run(
        tmp_path, "x = 41", "assert x + 1 == 42", "assert x == 41", grade=(1, 2), solutions=(0,)
    )
    assert errors(cells[1]) == [] and errors(cells[2]) == []
    assert events == []


def test_the_checkers_start_is_the_kits_time_not_held_to_the_cell_timeout(tmp_path):
    """The checker imports TensorFlow and the course data; that is not the student's time."""
    cells, events = run(
        tmp_path,
        "x = 41",
        "assert x + 1 == 42",
        grade=(1,),
        solutions=(0,),
        limits=SandboxLimits(cell_timeout=2),
    )
    assert errors(cells[1]) == []
    assert events == []


def test_a_flood_of_output_is_cut_and_noted(tmp_path):
    cells, events = run(
        tmp_path,
        "for _ in range(3000):\n    print('y' * 1000)",
        limits=SandboxLimits(cell_timeout=30, max_cell_output_bytes=100_000),
    )
    kept = sum(len(o.get("text", "")) for o in cells[0].outputs)
    assert kept < 200_000
    assert "the rest of its output was dropped" in text(cells[0])
    assert events[0]["kind"] == "output_truncated"


def test_the_notebook_deadline_stops_a_slow_notebook(tmp_path):
    cells, events = run(
        tmp_path,
        "import time\ntime.sleep(2)",
        "time.sleep(2)",
        "time.sleep(2)",
        "assert True",
        grade=(3,),
        solutions=(0, 1, 2),
        limits=SandboxLimits(cell_timeout=30, notebook_timeout=3),
    )
    assert errors(cells[3]) == ["NotExecuted"]
    assert any(e["kind"] == "notebook_timeout" for e in events)


@BOTH_LAUNCHES
def test_tmp_and_the_working_folder_are_capped_and_the_data_is_read_only(tmp_path, warm):
    limits = SandboxLimits(cell_timeout=30, scratch_bytes=32 * 1024**2)
    fill = (
        "with open({path!r}, 'wb') as sink:\n"
        "    for _ in range(64):\n"
        "        sink.write(b'x' * 2**20)"
    )
    cells, _ = run(
        tmp_path,
        fill.format(path="/tmp/big"),
        fill.format(path="big"),
        "open('Fashion_MNIST.h5', 'a').write('pwned')",
        "import os\nos.remove('big')\nopen('notes.txt', 'w').write('fine')\n"
        "print(open('notes.txt').read())",
        data={"Fashion_MNIST.h5": "data"},
        limits=limits,
        warm=warm,
    )
    assert errors(cells[0]) == ["OSError"] and "No space left" in text(cells[0])
    assert errors(cells[1]) == ["OSError"] and "No space left" in text(cells[1])
    assert errors(cells[2]) in (["OSError"], ["PermissionError"])  # read-only, not the kernel's
    assert text(cells[3]).strip() == "fine"
    assert (tmp_path / "notebook" / "Fashion_MNIST.h5").read_text() == "data"


@BOTH_LAUNCHES
def test_the_kernel_sees_nothing_of_the_grader_environment_or_descriptors(
    tmp_path, monkeypatch, warm
):
    secret = tmp_path / "grader-secret.txt"
    secret.write_text("secret")
    handle = os.open(secret, os.O_RDONLY)
    os.set_inheritable(handle, True)  # a descriptor the grader left open, without CLOEXEC
    monkeypatch.setenv("COURSEKIT_GRADER_SECRET", "s3cret-value")
    try:
        cells, _ = run(
            tmp_path,
            "import os\nfor pid in os.listdir('/proc'):\n"
            "    if pid.isdigit():\n"
            "        try:\n"
            "            print(open(f'/proc/{pid}/environ', 'rb').read())\n"
            "        except OSError as error:\n"
            "            print(type(error).__name__)",
            "import os\nprint(sorted(os.readlink(f'/proc/self/fd/{fd}') "
            "for fd in os.listdir('/proc/self/fd') if os.path.exists(f'/proc/self/fd/{fd}')))",
            warm=warm,
        )
    finally:
        os.close(handle)
    assert "s3cret-value" not in text(cells[0]) and "COURSEKIT_GRADER_SECRET" not in text(cells[0])
    assert str(secret) not in text(cells[1])
    assert str(tmp_path / "scratch") not in text(cells[1])  # not even the grader's log files


def test_what_the_kernel_writes_to_its_descriptors_is_capped_and_stays_out_of_cells(tmp_path):
    cells, _ = run(
        tmp_path,
        "import os\nfor _ in range(50):\n    os.write(2, b'FLOOD ' * 100_000)",
    )
    assert "the rest of its output was dropped" in text(cells[0])
    assert text(cells[0]).count("FLOOD") * len("FLOOD ") <= 2 * 1024**2  # the per-cell cap


@BOTH_LAUNCHES
def test_without_control_groups_each_slot_keeps_to_its_own_cpus(tmp_path, monkeypatch, warm):
    import autograder.grading.sandbox.provisioner

    monkeypatch.setattr(
        autograder.grading.sandbox.provisioner, "kernel_group", lambda memory_bytes: None
    )
    cpus = sorted(os.sched_getaffinity(0))[-1:]
    cells, _ = run(
        tmp_path, "import os\nprint(sorted(os.sched_getaffinity(0)))", cpus=cpus, warm=warm
    )
    assert text(cells[0]).strip() == str(cpus)
