"""How grading learns what your notebook computed: questions in, data out.

When your notebook is graded, its tests do not run in your notebook's kernel.
A separate checker, which never runs your code, runs them. Whenever a test
needs something of yours (``x_train``, ``build_lenet5()``, ``macro_f1`` on
some labels), the checker asks your kernel, and :func:`answer` replies with
*data only*: arrays as ``.npy`` (no pickles), a Keras model as its config and
weights, a training history as numbers. The checker rebuilds your model from
that data and runs it itself, so a test's verdict never depends on anything
your kernel says about itself. The inputs your functions get are chosen when
grading starts, so a right answer can only come from working code.

The package holds both halves of that conversation:

- :mod:`~utilities.evidence.format`: the format's version and limits, and
  arrays as text;
- :mod:`~utilities.evidence.kernel`, the kernel's half: :func:`answer`
  (installed as ``__coursekit_answer__`` by :func:`install`) and
  :class:`Encoder`, which turns objects into data;
- :mod:`~utilities.evidence.checker`, the shapes that data takes on the
  checker's side when it cannot simply be rebuilt: :class:`ArraySketch` for
  arrays too big to send whole, :class:`RemoteFunction` and
  :class:`RemoteModel` for code that can only run where it was written (your
  functions; a subclassed ``keras.Model``), and :class:`Foreign` for anything
  else.

You never need to call anything here yourself.
"""

from utilities.evidence.checker import (
    ArraySketch,
    Channel,
    Foreign,
    RemoteFunction,
    RemoteModel,
    encode_argument,
    foreign,
    is_remote,
    run_in_kernel_of,
)
from utilities.evidence.format import (
    FILE_BYTES,
    FULL_ARRAY_BYTES,
    MODEL_WEIGHT_BYTES,
    PROBE_IMAGES,
    PROTOCOL,
    SAMPLE_ROWS,
    EvidenceError,
    array_from_text,
    array_to_text,
    row_digests,
    sample_positions,
)
from utilities.evidence.kernel import Encoder, answer, install, layer_facts, probe_batch

__all__ = [
    "FILE_BYTES",
    "FULL_ARRAY_BYTES",
    "MODEL_WEIGHT_BYTES",
    "PROBE_IMAGES",
    "PROTOCOL",
    "SAMPLE_ROWS",
    "ArraySketch",
    "Channel",
    "Encoder",
    "EvidenceError",
    "Foreign",
    "RemoteFunction",
    "RemoteModel",
    "answer",
    "array_from_text",
    "array_to_text",
    "encode_argument",
    "foreign",
    "install",
    "is_remote",
    "layer_facts",
    "probe_batch",
    "row_digests",
    "run_in_kernel_of",
    "sample_positions",
]
