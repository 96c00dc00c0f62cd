"""A demo class: about 30 realistic submissions made from the release.

``coursekit demo-class`` writes, under OUT:

- ``submitted/STUDENT/cnn/``: each student's notebooks (and usually a
  ``submission.csv``), an nbgrader ``submitted/`` tree;
- ``leaderboard/TIMESTAMP/TEAM.csv``: leaderboard uploads over three days;
- ``expected.json``: for each student, what grading must find (the tests
  that fail, the status, whether a TA must review it), which the tests assert.

Every notebook starts as the released notebook with the source's solutions
filled in; each student then changes something: leaves work undone, gets the
architecture or the F1 wrong, crashes, hangs, floods its output, breaks the
file, or attacks the grader. Attack cells print ``ATTACK name: blocked`` or
``ATTACK name: SUCCEEDED``, so a test can read what each attempt achieved.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import nbformat
import numpy as np

from autograder.course.dataset import load_answer_key

ASSIGNMENT = "cnn"
PART1, PART2 = "1_lenet5_mnist", "2_fashion_cnn"
PART1_TESTS = (
    "test_preprocessing",
    "test_preprocessing_hidden",
    "test_lenet5_parameters",
    "test_lenet5_layers",
    "test_lenet5_hidden",
    "test_f1",
    "test_f1_hidden",
    "test_compile",
    "test_training_hidden",
)
PART2_TESTS = (
    "test_fashion_data",
    "test_fashion_model",
    "test_fashion_model_hidden",
    "test_submission",
    "test_submission_hidden",
)
_SOLUTION_MARK = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", re.MULTILINE)

WRONG_LENET5 = """\
def build_lenet5():
    # Padding left at its default ("valid"): 24x24 feature maps instead of 28x28.
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(6, kernel_size=5, activation="relu"),
            layers.MaxPooling2D(pool_size=2),
            layers.Conv2D(16, kernel_size=5, activation="relu"),
            layers.MaxPooling2D(pool_size=2),
            layers.Flatten(),
            layers.Dense(120, activation="relu"),
            layers.Dense(84, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
"""
BATCH_F1 = """\
def macro_f1(y_true, y_pred):
    # The classic snippet: round the probabilities and average per batch.
    y_pred = ops.round(y_pred)
    tp = ops.sum(y_true * y_pred, axis=0)
    fp = ops.sum((1 - y_true) * y_pred, axis=0)
    fn = ops.sum(y_true * (1 - y_pred), axis=0)
    precision = tp / (tp + fp + 1e-7)
    recall = tp / (tp + fn + 1e-7)
    return ops.mean(2 * precision * recall / (precision + recall + 1e-7))
"""
UNSCALED = """\
def preprocess_images(images):
    return images.astype("float32")[..., np.newaxis]  # forgot to divide by 255


def encode_labels(labels, num_classes=10):
    return keras.utils.to_categorical(labels, num_classes).astype("float32")
"""
BIG_FASHION_CNN = """\
def build_fashion_cnn():
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(inputs)
    x = layers.Flatten()(x)
    x = layers.Dense(64, activation="relu")(x)  # 50,176 x 64: far over the budget
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs)
"""


def _attack(name: str, body: str) -> str:
    """A cell that tries ``body`` and prints whether it got through."""
    return (
        f"try:\n{textwrap.indent(textwrap.dedent(body).strip(), '    ')}\n"
        f"    print('ATTACK {name}: SUCCEEDED')\n"
        f"except BaseException as error:\n"
        f"    print('ATTACK {name}: blocked', type(error).__name__, str(error)[:80])\n"
    )


@dataclass
class Student:
    """One demo student: how the notebooks differ from the solution, and what grading must find."""

    id: str
    story: str
    failed: list[str] = field(default_factory=list)  # tests that must fail; the rest must pass
    status: str = "graded"
    review: bool = False
    problems: list[str] = field(default_factory=list)  # substrings the record's problems contain
    part1: Callable | None = None  # edits the filled-in notebook in place
    part2: Callable | None = None
    files: dict[str, str] = field(default_factory=dict)  # notebook -> file name, or "" to omit
    raw: dict[str, bytes] = field(default_factory=dict)  # notebook -> bytes written as is
    accuracy: float | None = 0.9  # of submission.csv; None for no file
    bad_csv: str = ""
    team: str | None = None  # TEAM_NAME in Part 2 (default: the id, the team it uploads as)


def _replace(grade_id: str, source: str):
    def edit(nb):
        _cell(nb, grade_id).source = source

    return edit


def _stub(grade_id: str):
    def edit(nb):
        cell = _cell(nb, grade_id)
        cell.source = cell.metadata["coursekit_release_source"]

    return edit


def _insert_after(grade_id: str | None, source: str, before: bool = False):
    def edit(nb):
        if grade_id is None:
            index = 1
        else:
            index = nb.cells.index(_cell(nb, grade_id)) + (0 if before else 1)
        nb.cells.insert(index, nbformat.v4.new_code_cell(source))

    return edit


def _chain(*edits):
    def edit(nb):
        for one in edits:
            one(nb)

    return edit


def _cell(nb, grade_id: str):
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(grade_id)


def _delete(grade_id: str):
    def edit(nb):
        nb.cells.remove(_cell(nb, grade_id))

    return edit


def _duplicate(grade_id: str):
    def edit(nb):
        cell = _cell(nb, grade_id)
        nb.cells.insert(nb.cells.index(cell) + 1, nbformat.from_dict(json.loads(json.dumps(cell))))

    return edit


def _to_markdown(grade_id: str):
    def edit(nb):
        cell = _cell(nb, grade_id)
        index = nb.cells.index(cell)
        markdown = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata)
        nb.cells[index] = markdown

    return edit


def students(targets: dict[str, str]) -> list[Student]:
    """The demo class; ``targets`` names what the attacks try to reach (:func:`default_targets`)."""
    read_targets = "\n".join(
        _attack(f"read {label.split(':', 1)[1]}", f"open({path!r}, 'rb').read(1)")
        for label, path in targets.items()
        if label.startswith("file:")
    )
    write_targets = "\n".join(
        _attack(f"write {label.split(':', 1)[1]}", f"open({path!r}, 'a').write('pwned')")
        for label, path in targets.items()
        if label.startswith("write:")
    )
    port = int(targets.get("port", "9"))
    all_part1 = list(PART1_TESTS)
    all_part2 = list(PART2_TESTS)
    class_list = [
        Student("ada", "complete and correct", accuracy=0.93),
        Student("ben", "complete and correct", accuracy=0.915),
        Student("cleo", "complete and correct", accuracy=0.94),
        Student("dara", "complete and correct; no submission.csv handed in", accuracy=None),
        Student(
            "dev",
            "part 2 not started: its stubs are left as released",
            failed=all_part2,
            part2=_chain(_stub("fashion_data"), _stub("fashion_model")),
            accuracy=None,
        ),
        Student(
            "eve",
            "F1 left as the stub (so compiling with it earns nothing either)",
            failed=["test_f1", "test_f1_hidden", "test_compile", "test_training_hidden"],
            status="graded with problems",
            problems=["your solution cell macro_f1 is still the released stub"],
            part1=_stub("macro_f1"),
            accuracy=0.88,
        ),
        Student(
            "finn",
            "LeNet5 with valid padding (wrong architecture)",
            failed=["test_lenet5_parameters", "test_lenet5_layers"],
            part1=_replace("lenet5", WRONG_LENET5),
            accuracy=0.9,
        ),
        Student(
            "gus",
            "the batch-wise F1 snippet (wrong F1)",
            failed=["test_f1", "test_f1_hidden"],
            part1=_replace("macro_f1", BATCH_F1),
            accuracy=0.905,
        ),
        Student(
            "hana",
            "images not scaled to [0, 1]; a submission.csv with the wrong header",
            failed=["test_preprocessing", "test_preprocessing_hidden"],
            part1=_replace("preprocess", UNSCALED),
            bad_csv="header",
        ),
        Student(
            "ivy",
            "a Fashion-MNIST CNN far over the parameter budget",
            failed=["test_fashion_model", "test_fashion_model_hidden"],
            part2=_replace("fashion_model", BIG_FASHION_CNN + _fashion_training()),
            accuracy=0.89,
        ),
        Student(
            "jack",
            "the kernel crashes (segmentation fault) in part 1",
            failed=all_part1,
            status="graded with problems",
            review=True,
            problems=["the kernel stopped"],
            part1=_insert_after(None, "import ctypes\nctypes.string_at(0)"),
            accuracy=0.87,
        ),
        Student(
            "kim",
            "slow: a cell sleeps 20 s, everything else correct; names a team that never "
            "uploaded (no leaderboard points, and a note that says why)",
            part2=_insert_after("fashion_data", "import time\ntime.sleep(20)"),
            accuracy=0.925,
            team="Kim's Team",
        ),
        Student(
            "leo",
            "an infinite loop in the compile cell",
            failed=["test_compile", "test_training_hidden"],
            status="graded with problems",
            problems=["interrupted"],
            part1=_replace("compile", "while True:\n    pass"),
            accuracy=0.8,
        ),
        Student(
            "mia",
            "prints 20 MB of output in part 2",
            status="graded with problems",
            problems=["bytes of output"],
            part2=_insert_after("fashion_data", "for _ in range(20_000):\n    print('x' * 1000)"),
            accuracy=0.91,
        ),
        Student(
            "ned",
            "asks for 64 GB of memory in part 1 (the memory limit stops it)",
            status="graded with problems",
            problems=["ran out of memory"],
            part1=_insert_after(None, "import numpy\n\nhuge = numpy.ones(8 * 1024**3)  # 64 GB"),
            accuracy=0.9,
        ),
        Student(
            "olga",
            "part 1 is truncated, not valid JSON; the CSV is missing rows",
            failed=all_part1,
            status="graded with problems",
            problems=["not valid JSON"],
            raw={PART1: b'{"cells": [{"cell_type": "code", "source": "import ker'},
            bad_csv="rows",
        ),
        Student(
            "pat",
            "part 1 is an empty file",
            failed=all_part1,
            status="graded with problems",
            problems=["the file is empty"],
            raw={PART1: b""},
            accuracy=0.86,
        ),
        Student(
            "quinn",
            "both notebooks saved in the old nbformat 3",
            status="graded with problems",
            problems=["upgraded from nbformat 3"],
            part1=lambda nb: "v3",
            part2=lambda nb: "v3",
            accuracy=0.9,
        ),
        Student(
            "rae",
            "deleted a test cell, duplicated a graded cell, turned a test into markdown",
            status="graded with problems",
            problems=["deleted graded cells", "duplicated graded cells", "changed from code"],
            part1=_chain(
                _delete("test_lenet5_layers"), _duplicate("preprocess"), _to_markdown("test_f1")
            ),
            accuracy=0.9,
        ),
        Student(
            "sam",
            "wrong LeNet5, and the parameter test edited to `pass`",
            failed=["test_lenet5_parameters", "test_lenet5_layers"],
            status="graded with problems",
            problems=["read-only cell test_lenet5_parameters was edited"],
            part1=_chain(
                _replace("lenet5", WRONG_LENET5), _replace("test_lenet5_parameters", "pass")
            ),
            accuracy=0.9,
        ),
        Student(
            "tess",
            "notebooks renamed to lenet.ipynb and fashion (1).ipynb",
            status="graded with problems",
            problems=["was graded as 1_lenet5_mnist.ipynb", "was graded as 2_fashion_cnn.ipynb"],
            files={PART1: "lenet.ipynb", PART2: "fashion (1).ipynb"},
            accuracy=0.92,
        ),
        Student(
            "uma",
            "handed in part 1 only",
            failed=all_part2,
            status="graded with problems",
            problems=["not handed in"],
            files={PART2: ""},
            accuracy=None,
        ),
        Student(
            "xnet",
            "attack: connects to the internet and to the grading machine",
            review=True,
            part1=_insert_after(
                None,
                _attack(
                    "connect internet",
                    "import socket\nsocket.create_connection(('1.1.1.1', 80), 3)",
                )
                + _attack(
                    "connect host",
                    f"import socket\nsocket.create_connection(('127.0.0.1', {port}), 3)",
                )
                + _attack("resolve names", "import socket\nsocket.gethostbyname('pypi.org')"),
            ),
            accuracy=0.9,
        ),
        Student(
            "xread",
            "attack: reads the source notebook, answer key, gradebook and another student's work",
            review=False,
            part1=_insert_after(None, read_targets or "pass"),
            accuracy=0.9,
        ),
        Student(
            "xwrite",
            "attack: writes into the course, /tmp and the package it imports; floods the "
            "descriptors it inherits (their output is cut like any cell's) and fills /tmp",
            status="graded with problems",
            problems=["bytes of output"],
            part1=_chain(
                _insert_after(None, write_targets or "pass"),
                _insert_after(
                    None,
                    "import glob\nimport os\n\nfor _ in range(20):\n"
                    "    os.write(1, b'LOGFLOOD ' * 100_000)\n"
                    "    os.write(2, b'LOGFLOOD ' * 100_000)\n"
                    + _attack(
                        "fill /tmp past its cap",
                        "for i in range(3):\n"
                        "    with open(f'/tmp/fill{i}', 'wb') as sink:\n"
                        "        for _ in range(400):\n"
                        "            sink.write(b'x' * 2**20)",
                    )
                    + "for path in glob.glob('/tmp/fill*'):\n    os.remove(path)",
                ),
            ),
            accuracy=0.9,
        ),
        Student(
            "xtrace",
            "attack: silences IPython's tracebacks; wrong LeNet5",
            failed=["test_lenet5_parameters", "test_lenet5_layers"],
            status="held for review",
            review=True,
            problems=["IPython shell.showtraceback"],
            part1=_chain(
                _insert_after(None, "get_ipython().showtraceback = lambda *a, **k: None"),
                _replace("lenet5", WRONG_LENET5),
            ),
            accuracy=0.9,
        ),
        Student(
            "xrun",
            "attack: patches run_cell so that every cell reports success; wrong LeNet5",
            failed=["test_lenet5_parameters", "test_lenet5_layers"],
            status="held for review",
            review=True,
            problems=["IPython shell.run_cell"],
            part1=_chain(
                _insert_after(
                    None,
                    "_shell = get_ipython()\n_real_run_cell = _shell.run_cell\n\n\n"
                    "def _run_cell(*args, **kwargs):\n"
                    "    result = _real_run_cell(*args, **kwargs)\n"
                    "    result.error_in_exec = None\n"
                    "    result.error_before_exec = None\n"
                    "    return result\n\n\n"
                    "_shell.run_cell = _run_cell",
                ),
                _replace("lenet5", WRONG_LENET5),
            ),
            accuracy=0.9,
        ),
        Student(
            "xassert",
            "attack: rebinds AssertionError and replaces the checks' fail(); wrong LeNet5",
            failed=["test_lenet5_parameters", "test_lenet5_layers"],
            status="held for review",
            review=True,
            problems=["builtins.AssertionError", "utilities.checks.fail"],
            part1=_chain(
                _insert_after(
                    None,
                    "import builtins\nimport utilities.checks\n\n"
                    "builtins.AssertionError = type('Quiet', (Exception,), {})\n"
                    "utilities.checks.fail = lambda message: None",
                ),
                _replace("lenet5", WRONG_LENET5),
            ),
            accuracy=0.9,
        ),
        Student(
            "xhook",
            "attack: the empty release, plus an input transformer (reached with getattr) "
            "that turns every cell starting with `# Test` into `pass`",
            failed=all_part1,
            status="held for review",
            review=True,
            problems=["IPython shell.input_transformers_cleanup"],
            part1=_chain(
                *(_stub(cell) for cell in ("preprocess", "lenet5", "macro_f1", "compile")),
                _insert_after(
                    None,
                    "def _pass_tests(lines):\n"
                    "    return ['pass\\n'] if lines and lines[0].startswith('# Test') else lines\n"
                    "\n\ngetattr(get_ipython(), 'input_transformers_' + 'cleanup')"
                    ".append(_pass_tests)",
                ),
            ),
            accuracy=0.9,
        ),
        Student(
            "xeq",
            "attack: objects whose __eq__ is always True, and a model that lies about its size",
            failed=[
                "test_preprocessing",
                "test_preprocessing_hidden",
                "test_lenet5_parameters",
                "test_lenet5_layers",
                "test_lenet5_hidden",
                "test_compile",
                "test_training_hidden",
            ],
            review=True,
            part1=_chain(
                _insert_after(
                    "preprocess",
                    "class AlwaysEqual(np.ndarray):\n"
                    "    def __eq__(self, other):\n        return True\n\n\n"
                    "_real_preprocess = preprocess_images\n\n\n"
                    "def preprocess_images(images):\n"
                    "    return _real_preprocess(images).view(AlwaysEqual)\n",
                ),
                _replace(
                    "lenet5",
                    WRONG_LENET5.replace("def build_lenet5", "def _wrong_lenet5")
                    + "\n\nclass Liar(keras.Sequential):\n"
                    "    def count_params(self):\n        return 61706\n\n"
                    "    def __eq__(self, other):\n        return True\n\n\n"
                    "def build_lenet5():\n"
                    "    model = _wrong_lenet5()\n"
                    "    return Liar(model.layers)\n",
                ),
            ),
            accuracy=0.9,
        ),
        Student(
            "xexit",
            "attack: sys.exit() inside macro_f1, os._exit() before the part 2 submission tests",
            failed=[
                "test_f1",
                "test_f1_hidden",
                "test_training_hidden",
                "test_submission",
                "test_submission_hidden",
            ],
            status="graded with problems",
            review=True,
            problems=["the kernel stopped"],
            part1=_replace(
                "macro_f1",
                "import sys\n\n\ndef macro_f1(y_true, y_pred):\n    sys.exit('no tests today')\n",
            ),
            part2=_insert_after("test_submission", "import os\nos._exit(0)", before=True),
            accuracy=0.9,
        ),
        Student(
            "xleak",
            "attack: prints every cell the kernel runs, hoping to see the hidden tests",
            status="held for review",
            review=True,
            problems=["IPython events['pre_run_cell']"],
            part1=_insert_after(
                None,
                "def _show(info):\n    print('CELL SOURCE:', info.raw_cell)\n\n\n"
                "get_ipython().events.register('pre_run_cell', _show)",
            ),
            accuracy=0.9,
        ),
        Student(
            "xfork",
            "attack: starts processes until it cannot",
            review=True,
            part1=_insert_after(
                None,
                "import subprocess\n\nprocs = []\n"
                + _attack(
                    "start 5,000 processes",
                    "for _ in range(5000):\n    procs.append(subprocess.Popen(['sleep', '60']))",
                )
                + "print(f'started {len(procs)}')\nfor proc in procs:\n    proc.kill()\n"
                "    proc.wait()",
            ),
            accuracy=0.9,
        ),
    ]
    return [
        _part1_only(student) if student.id in PART1_ONLY_ATTACKERS else student
        for student in class_list
    ]


# Attackers whose attack is in Part 1 hand in only Part 1: the attack is what they show,
# and grading a second, ordinary notebook for each of them would only make the demo slower.
PART1_ONLY_ATTACKERS = (
    "xnet",
    "xread",
    "xwrite",
    "xtrace",
    "xrun",
    "xassert",
    "xhook",
    "xeq",
    "xleak",
    "xfork",
)


def _part1_only(student: Student) -> Student:
    """``student`` without Part 2: its tests fail and the record says it was not handed in."""
    return replace(
        student,
        story=student.story + "; hands in Part 1 only",
        files={**student.files, PART2: ""},
        failed=list(dict.fromkeys([*student.failed, *PART2_TESTS])),
        problems=[*student.problems, "not handed in"],
        status="graded with problems" if student.status == "graded" else student.status,
    )


def _fashion_training() -> str:
    return (
        '\n\nFASHION_TRAINING = {"epochs": 15, "batch_size": 128, "patience": 4}\n\n\n'
        "def compile_fashion_cnn(model, steps_per_epoch, epochs):\n"
        '    model.compile(optimizer="adam", loss="categorical_crossentropy", '
        'metrics=["accuracy"])\n'
    )


def filled_notebook(release: Path, source: Path) -> nbformat.NotebookNode:
    """The released notebook with every solution cell filled in from the source."""
    released = nbformat.read(release, 4)
    solutions = {
        cell.metadata["nbgrader"]["grade_id"]: _SOLUTION_MARK.sub("", cell.source)
        for cell in nbformat.read(source, 4).cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }
    for cell in released.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            cell.metadata["coursekit_release_source"] = cell.source
            cell.source = solutions[grade_id]
    return released


def _name_the_team(notebook, team: str) -> None:
    """Fill in ``TEAM_NAME = ""`` (Part 2) with the team the student uploads as."""
    for cell in notebook.cells:
        if cell.cell_type == "code" and 'TEAM_NAME = ""' in cell.source:
            cell.source = cell.source.replace('TEAM_NAME = ""', f"TEAM_NAME = {team!r}", 1)


def make_demo_class(
    course_root: Path, answer_key: Path, out: Path, targets: dict[str, str] | None = None
) -> list[Student]:
    """Write the demo class under ``out``; return its students."""
    release = Path(course_root) / "release" / ASSIGNMENT
    source = Path(course_root) / "source" / ASSIGNMENT
    if not release.is_dir():
        from autograder.course.folder import CourseError

        raise CourseError(f"{release}: no release yet; run `coursekit release {ASSIGNMENT}`")
    out = Path(out)
    submitted = out / "submitted"
    targets = targets or default_targets(Path(course_root), Path(answer_key), submitted)
    class_list = students(targets)
    key = load_answer_key(answer_key)
    for student in class_list:
        folder = submitted / student.id / ASSIGNMENT
        folder.mkdir(parents=True, exist_ok=True)
        for name, edit in ((PART1, student.part1), (PART2, student.part2)):
            filename = student.files.get(name, f"{name}.ipynb")
            if not filename:
                continue
            if name in student.raw:
                (folder / filename).write_bytes(student.raw[name])
                continue
            notebook = filled_notebook(release / f"{name}.ipynb", source / f"{name}.ipynb")
            _name_the_team(notebook, student.id if student.team is None else student.team)
            version = edit(notebook) if edit else None
            for index, cell in enumerate(notebook.cells):
                cell.metadata.pop("coursekit_release_source", None)
                cell["id"] = f"cell-{index}"  # the same bytes every time: reruns skip them
            if version == "v3":
                notebook = nbformat.convert(notebook, 3)
                nbformat.write(notebook, folder / filename, version=3)
            else:
                nbformat.write(notebook, folder / filename)
        if student.accuracy is not None or student.bad_csv:
            _write_csv(
                folder / "submission.csv",
                key,
                student.accuracy or 0.9,
                student.bad_csv,
                seed=sum(map(ord, student.id)),
            )
    _write_leaderboard_rounds(out / "leaderboard", class_list, key)
    expected = {s.id: {k: v for k, v in asdict(s).items() if k in _EXPECTED} for s in class_list}
    (out / "expected.json").write_text(json.dumps(expected, indent=1))
    return class_list


_EXPECTED = ("story", "failed", "status", "review", "problems", "accuracy", "bad_csv", "team")


def default_targets(course_root: Path, answer_key: Path, submitted: Path) -> dict[str, str]:
    """What the attack notebooks try to read and write: the instructor's secrets, and more."""
    course_root = course_root.resolve()
    return {
        "file:source notebook": str(course_root / "source" / ASSIGNMENT / f"{PART1}.ipynb"),
        "file:answer key": str(answer_key.resolve()),
        "file:gradebook": str(course_root / "gradebook.db"),
        "file:another student": str((submitted / "ada" / ASSIGNMENT / f"{PART1}.ipynb").resolve()),
        "file:autograded notebook": str(
            course_root / "autograded" / "ada" / ASSIGNMENT / f"{PART1}.ipynb"
        ),
        "file:/etc/shadow": "/etc/shadow",
        "write:course config": str(course_root / "nbgrader_config.py"),
        "write:/tmp": "/tmp/coursekit-demo-pwned",
        "write:utilities": str(Path(__import__("utilities").__file__).resolve()),
        "port": "9",
    }


def _predictions(key, accuracy: float, seed: int) -> np.ndarray:
    labels = np.asarray(key["Label"])
    rng = np.random.default_rng(seed)
    wrong = rng.random(len(labels)) >= accuracy
    predictions = labels.copy()
    predictions[wrong] = (labels[wrong] + rng.integers(1, 10, wrong.sum())) % 10
    return predictions


def _write_csv(path: Path, key, accuracy: float, bad: str, seed: int) -> None:
    predictions = _predictions(key, accuracy, seed)
    ids = np.asarray(key["ID"])
    header = "Id,Label" if bad == "header" else "ID,Prediction"
    rows = list(zip(ids, predictions, strict=True))
    if bad == "rows":
        rows = rows[:-100]
    path.write_text(header + "\n" + "".join(f"{i},{p}\n" for i, p in rows))


LEADERBOARD_DAYS = ("2026-11-10T20-00", "2026-11-11T20-00", "2026-11-12T20-00")


def _write_leaderboard_rounds(folder: Path, class_list: list[Student], key) -> None:
    """Three days of uploads: teams improve over time, and one team uploads too often."""
    for day_index, day in enumerate(LEADERBOARD_DAYS):
        for student in class_list:
            if student.accuracy is None and not student.bad_csv:
                continue
            accuracy = (student.accuracy or 0.9) - 0.02 * (len(LEADERBOARD_DAYS) - 1 - day_index)
            bad = student.bad_csv if day_index == len(LEADERBOARD_DAYS) - 1 else ""
            target = folder / day
            target.mkdir(parents=True, exist_ok=True)
            _write_csv(
                target / f"{student.id}.csv",
                key,
                accuracy,
                bad,
                seed=sum(map(ord, student.id)) + day_index,
            )
    # One team uploads seven times within an hour on the last day.
    for attempt in range(7):
        target = folder / f"2026-11-12T21-{attempt:02d}"
        target.mkdir(parents=True, exist_ok=True)
        _write_csv(target / "ben.csv", key, 0.90 + 0.005 * attempt, "", seed=100 + attempt)
