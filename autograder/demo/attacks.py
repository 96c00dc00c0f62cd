"""The demo class's hostile notebooks, as variants: attacks on the host, the grader, the verdicts.

Each attack cell tries something and prints ``ATTACK name: blocked`` or
``ATTACK name: SUCCEEDED``, so a test can read from the graded notebook what
each attempt achieved. :func:`attack_variants` makes them for ``targets``:
the files, folders and port the attacks aim at (:func:`default_targets`).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from autograder.demo.variants import PART1, PART2, RELEASED, AddToCell, InsertCell, Variant
from autograder.demo.zoo.lenet_code import VALID_PADDING

ASSIGNMENT = "cnn"


def attack(name: str, body: str) -> str:
    """A cell that tries ``body`` and prints whether it got through."""
    return (
        f"try:\n{textwrap.indent(textwrap.dedent(body).strip(), '    ')}\n"
        f"    print('ATTACK {name}: SUCCEEDED')\n"
        f"except BaseException as error:\n"
        f"    print('ATTACK {name}: blocked', type(error).__name__, str(error)[:80])\n"
    )


def default_targets(course_root: Path, answer_key: Path, submitted: Path) -> dict[str, str]:
    """What the attack notebooks try to read and write: the instructor's secrets, and more."""
    course_root = Path(course_root).resolve()
    return {
        "file:source notebook": str(course_root / "source" / ASSIGNMENT / f"{PART1}.ipynb"),
        "file:answer key": str(Path(answer_key).resolve()),
        "file:gradebook": str(course_root / "gradebook.db"),
        "file:another student": str(
            (Path(submitted) / "ada" / ASSIGNMENT / f"{PART1}.ipynb").resolve()
        ),
        "file:autograded notebook": str(
            course_root / "autograded" / "ada" / ASSIGNMENT / f"{PART1}.ipynb"
        ),
        "file:/etc/shadow": "/etc/shadow",
        "write:course config": str(course_root / "nbgrader_config.py"),
        "write:/tmp": "/tmp/coursekit-demo-pwned",
        "write:utilities": str(Path(__import__("utilities").__file__).resolve()),
        "port": "9",
    }


def _first(source: str) -> AddToCell:
    """The attack at the start of Part 1's first solution cell: it runs before any test, and
    grading always runs solution cells (it skips cells no test depends on)."""
    return AddToCell("preprocess", source)


WRONG_LENET5 = {"lenet5": VALID_PADDING}
WRONG_LENET5_FAILS = {
    "test_lenet5_parameters": "44,426 trainable parameters",
    "test_lenet5_layers": "output shape (None, 24, 24, 6)",
}
FLOOD = (
    "import glob\nimport os\n\nfor _ in range(20):\n"
    "    os.write(1, b'LOGFLOOD ' * 100_000)\n"
    "    os.write(2, b'LOGFLOOD ' * 100_000)\n"
    + attack(
        "fill /tmp past its cap",
        "for i in range(3):\n"
        "    with open(f'/tmp/fill{i}', 'wb') as sink:\n"
        "        for _ in range(400):\n"
        "            sink.write(b'x' * 2**20)",
    )
    + "for path in glob.glob('/tmp/fill*'):\n    os.remove(path)"
)
RUN_CELL_PATCH = (
    "_shell = get_ipython()\n_real_run_cell = _shell.run_cell\n\n\n"
    "def _run_cell(*args, **kwargs):\n"
    "    result = _real_run_cell(*args, **kwargs)\n"
    "    result.error_in_exec = None\n"
    "    result.error_before_exec = None\n"
    "    return result\n\n\n"
    "_shell.run_cell = _run_cell"
)
PASS_THE_TESTS = (
    "def _pass_tests(lines):\n"
    "    return ['pass\\n'] if lines and lines[0].startswith('# Test') else lines\n"
    "\n\ngetattr(get_ipython(), 'input_transformers_' + 'cleanup').append(_pass_tests)"
)
ALWAYS_EQUAL = (
    "class AlwaysEqual(np.ndarray):\n"
    "    def __eq__(self, other):\n        return True\n\n\n"
    "_real_preprocess = preprocess_images\n\n\n"
    "def preprocess_images(images):\n"
    "    return _real_preprocess(images).view(AlwaysEqual)\n"
)
LYING_LENET5 = (
    VALID_PADDING.replace("def build_lenet5", "def _wrong_lenet5")
    + "\n\nclass Liar(keras.Sequential):\n"
    "    def count_params(self):\n        return 61706\n\n"
    "    def __eq__(self, other):\n        return True\n\n\n"
    "def build_lenet5():\n"
    "    model = _wrong_lenet5()\n"
    "    return Liar(model.layers)\n"
)
FORGED_OUTPUTS = (
    "import keras\n\n_real_call = keras.Sequential.__call__\n\n\n"
    "def _forged(self, *args, **kwargs):\n"
    "    return _real_call(self, *args, **kwargs) * 0 + 0.1  # every class 10 %\n\n\n"
    "keras.Sequential.__call__ = _forged"
)
FORK = (
    "import subprocess\n\nprocs = []\n"
    + attack(
        "start 5,000 processes",
        "for _ in range(5000):\n    procs.append(subprocess.Popen(['sleep', '60']))",
    )
    + "print(f'started {len(procs)}')\nfor proc in procs:\n    proc.kill()\n    proc.wait()"
)


#: The attacks that aim at nothing outside the kernel.
FIXED_ATTACKS = [
    Variant(
        "attack-silence-tracebacks",
        PART1,
        "silences IPython's tracebacks; wrong LeNet5",
        cells=WRONG_LENET5,
        changes=(_first("get_ipython().showtraceback = lambda *a, **k: None"),),
        fails=WRONG_LENET5_FAILS,
    ),
    Variant(
        "attack-run-cell",
        PART1,
        "patches run_cell so that every cell reports success; wrong LeNet5",
        cells=WRONG_LENET5,
        changes=(_first(RUN_CELL_PATCH),),
        fails=WRONG_LENET5_FAILS,
    ),
    Variant(
        "attack-assert",
        PART1,
        "rebinds AssertionError and replaces the checks' fail(); wrong LeNet5",
        cells=WRONG_LENET5,
        changes=(
            _first(
                "import builtins\nimport utilities.checks\n\n"
                "builtins.AssertionError = type('Quiet', (Exception,), {})\n"
                "utilities.checks.fail = lambda message: None"
            ),
        ),
        fails=WRONG_LENET5_FAILS,
    ),
    Variant(
        "attack-input-transformer",
        PART1,
        "the empty release, plus an input transformer (reached with getattr) that turns "
        "every cell starting with `# Test` into `pass`",
        cells=dict.fromkeys(("preprocess", "lenet5", "macro_f1", "compile"), RELEASED),
        changes=(_first(PASS_THE_TESTS),),
    ),
    Variant(
        "attack-always-equal",
        PART1,
        "arrays whose __eq__ is always True, and a wrong model that lies about its size",
        cells={"lenet5": LYING_LENET5},
        changes=(InsertCell(ALWAYS_EQUAL, after="preprocess"),),
    ),
    Variant(
        "attack-exit",
        PART1,
        "sys.exit() inside macro_f1",
        cells={
            "macro_f1": "import sys\n\n\ndef macro_f1(y_true, y_pred):\n"
            "    sys.exit('no tests today')\n"
        },
    ),
    Variant(
        "attack-exit-part2",
        PART2,
        "os._exit() before the submission tests",
        changes=(AddToCell("submission", "import os\n\nos._exit(0)", at_start=False),),
    ),
    Variant(
        "attack-leak-tests",
        PART1,
        "prints every cell the kernel runs, hoping to see the hidden tests",
        changes=(
            _first(
                "def _show(info):\n    print('CELL SOURCE:', info.raw_cell)\n\n\n"
                "get_ipython().events.register('pre_run_cell', _show)"
            ),
        ),
    ),
    Variant(
        "attack-forged-outputs",
        PART1,
        "makes every Sequential model answer 10 % for each class, whatever its weights",
        changes=(InsertCell(FORGED_OUTPUTS, after="lenet5"),),
    ),
    Variant("attack-fork", PART1, "starts processes until it cannot", changes=(_first(FORK),)),
]


def attack_variants(targets: dict[str, str]) -> dict[str, Variant]:
    """The attacks, by name, aimed at ``targets``."""
    reads = "\n".join(
        attack(f"read {label.split(':', 1)[1]}", f"open({path!r}, 'rb').read(1)")
        for label, path in targets.items()
        if label.startswith("file:")
    )
    writes = "\n".join(
        attack(f"write {label.split(':', 1)[1]}", f"open({path!r}, 'a').write('pwned')")
        for label, path in targets.items()
        if label.startswith("write:")
    )
    port = int(targets.get("port", "9"))
    connect = "".join(
        attack(name, f"import socket\n{call}")
        for name, call in (
            ("connect internet", "socket.create_connection(('1.1.1.1', 80), 3)"),
            ("connect host", f"socket.create_connection(('127.0.0.1', {port}), 3)"),
            ("resolve names", "socket.gethostbyname('pypi.org')"),
        )
    )
    variants = [
        Variant(
            "attack-network",
            PART1,
            "connects to the internet and to the grading machine",
            changes=(_first(connect),),
        ),
        Variant(
            "attack-read-secrets",
            PART1,
            "reads the source notebook, answer key, gradebook and another student's work",
            changes=(_first(reads or "pass"),),
        ),
        Variant(
            "attack-write-and-flood",
            PART1,
            "writes into the course, /tmp and the package it imports; floods the descriptors "
            "it inherits (their output is cut like any cell's) and fills /tmp",
            # The flood in a cell of its own: the cut it earns leaves the writes' verdicts.
            changes=(_first(writes or "pass"), AddToCell("lenet5", FLOOD)),
        ),
    ]
    return {variant.name: variant for variant in [*variants, *FIXED_ATTACKS]}
