"""The student zoo: solutions written the way different students write them, each with its grade.

Every :class:`Variant` replaces solution cells of a source notebook (by
grade_id), and may edit a kit cell (found by a piece of its text), and
states what grading must give it: every test earns its points except those
in ``fails``, which earn 0 and whose message must contain the words given
(the likely cause, in plain words). tests/test_zoo.py (Part 1) and
tests/test_zoo_fashion.py (Part 2) grade them with tests/zoo_harness.py in fast mode.

The right ones cover every task in many styles (functional, Sequential,
subclassed, nested blocks; numpy or keras.ops preprocessing; losses and
metrics as strings or objects; different but equivalent F1 formulas). The
wrong ones each make one mistake that students make.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

PART1 = "1_lenet5_mnist"
PART2 = "2_fashion_cnn"


@dataclass(frozen=True)
class Variant:
    """One student's version of some cells, and the grade it must get."""

    name: str
    notebook: str
    story: str
    cells: Mapping[str, str] = field(default_factory=dict)  # solution grade_id -> source
    edits: Mapping[str, str] = field(default_factory=dict)  # text in a kit cell -> its source
    fails: Mapping[str, str] = field(default_factory=dict)  # test -> words in its message

    def expected(self, tests: Mapping[str, float]) -> dict[str, float]:
        """The points each test must earn: all of them, or 0 for a test in ``fails``."""
        return {test: 0.0 if test in self.fails else points for test, points in tests.items()}


# --- Part 1: preprocessing ---------------------------------------------------------------------

OPS_PREPROCESSING = '''\
def preprocess_images(images):
    """uint8 images (N, 28, 28) -> float32 array (N, 28, 28, 1) scaled to [0, 1]."""
    scaled = ops.divide(ops.cast(images, "float32"), 255.0)
    return ops.convert_to_numpy(ops.expand_dims(scaled, axis=-1))


def encode_labels(labels, num_classes=10):
    """Integer labels (N,) -> one-hot float32 array (N, num_classes)."""
    return ops.convert_to_numpy(ops.one_hot(ops.convert_to_tensor(labels), num_classes))
'''

EYE_PREPROCESSING = """\
def preprocess_images(images):
    n = images.shape[0]
    x = images.reshape(n, 28, 28, 1).astype(np.float32)
    return x / np.float32(255)


def encode_labels(labels, num_classes=10):
    identity = np.eye(num_classes, dtype=np.float32)
    return identity[np.asarray(labels, dtype=int)]
"""

LOOP_PREPROCESSING = """\
def preprocess_images(images):
    pixels = np.expand_dims(images, axis=3)
    return (pixels * (1 / 255)).astype("float32")


def encode_labels(labels, num_classes=10):
    one_hot = np.zeros((len(labels), num_classes), dtype="float32")
    for row, label in enumerate(labels):
        one_hot[row, label] = 1.0
    return one_hot
"""

TENSOR_PREPROCESSING = """\
def preprocess_images(images):
    return ops.expand_dims(ops.cast(images, "float32") / 255.0, -1)


def encode_labels(labels, num_classes=10):
    return ops.one_hot(labels, num_classes)
"""

UNSCALED = """\
def preprocess_images(images):
    return images.astype("float32")[..., np.newaxis]  # forgot to divide by 255


def encode_labels(labels, num_classes=10):
    return keras.utils.to_categorical(labels, num_classes).astype("float32")
"""

# --- Part 1: LeNet5 ----------------------------------------------------------------------------

FUNCTIONAL_LENET5 = """\
def build_lenet5():
    inputs = keras.Input(shape=(28, 28, 1), name="digits")
    x = layers.Conv2D(filters=6, kernel_size=(5, 5), padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D(pool_size=(2, 2), strides=2)(x)
    x = layers.Conv2D(filters=16, kernel_size=(5, 5), padding="valid", activation="relu")(x)
    x = layers.MaxPooling2D(pool_size=(2, 2), strides=2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(120, activation="relu")(x)
    x = layers.Dense(84, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="LeNet5")
"""

SEQUENTIAL_ADD_LENET5 = """\
def build_lenet5():
    model = keras.Sequential(name="my_lenet")
    model.add(keras.Input(shape=(28, 28, 1)))
    model.add(layers.Conv2D(6, (5, 5), padding="same", activation=keras.activations.relu))
    model.add(layers.MaxPool2D())
    model.add(layers.Conv2D(16, (5, 5), activation=keras.activations.relu))
    model.add(layers.MaxPool2D())
    model.add(layers.Flatten())
    for units in (120, 84):
        model.add(layers.Dense(units, activation="relu"))
    model.add(layers.Dense(10, activation=keras.activations.softmax))
    return model
"""

SEPARATE_ACTIVATIONS = """\
def build_lenet5():
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(6, 5, padding="same"),
            layers.Activation("relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(16, 5),
            layers.ReLU(),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(120),
            layers.Activation(keras.activations.relu),
            layers.Dense(84),
            layers.ReLU(),
            layers.Dense(10),
            layers.Softmax(),
        ]
    )
"""

CONV_POOL_RELU = """\
def build_lenet5():
    # Pool first, then ReLU: the same function (max and ReLU commute), a quarter of the work.
    inputs = keras.Input((28, 28, 1))
    x = layers.ReLU()(layers.MaxPooling2D()(layers.Conv2D(6, 5, padding="same")(inputs)))
    x = layers.ReLU()(layers.MaxPooling2D()(layers.Conv2D(16, 5, padding="valid")(x)))
    x = layers.Flatten()(x)
    x = layers.Dense(120, activation="relu")(x)
    x = layers.Dense(84, activation="relu")(x)
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(x))
"""

NESTED_LENET5 = """\
def conv_block(filters, padding):
    return keras.Sequential(
        [
            layers.Conv2D(filters, 5, padding=padding, activation="relu"),
            layers.MaxPooling2D(),
        ]
    )


def build_lenet5():
    features = keras.Sequential([conv_block(6, "same"), conv_block(16, "valid")], name="features")
    classifier = keras.Sequential(
        [
            layers.Flatten(),
            layers.Dense(120, activation="relu"),
            layers.Dense(84, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="classifier",
    )
    return keras.Sequential([keras.Input(shape=(28, 28, 1)), features, classifier])
"""

VALID_PADDING = """\
def build_lenet5():
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(6, kernel_size=5, activation="relu"),  # default padding: "valid"
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


def _lenet5(conv: str = "relu", dense_out: str = '"softmax"', pool: str = "MaxPooling2D") -> str:
    return f"""\
def build_lenet5():
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(6, 5, padding="same", activation="{conv}"),
            layers.{pool}(2),
            layers.Conv2D(16, 5, activation="{conv}"),
            layers.{pool}(2),
            layers.Flatten(),
            layers.Dense(120, activation="{conv}"),
            layers.Dense(84, activation="{conv}"),
            layers.Dense(10, activation={dense_out}),
        ]
    )
"""


SAME_MODEL_EVERY_CALL = """\
_lenet5 = keras.Sequential(
    [
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(6, 5, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(16, 5, activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(120, activation="relu"),
        layers.Dense(84, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ]
)


def build_lenet5():
    return _lenet5  # the same model every time
"""

SUBCLASSED_LENET5 = """\
class LeNet5(keras.Model):
    def __init__(self):
        super().__init__()
        self.conv1 = layers.Conv2D(6, 5, padding="same", activation="relu")
        self.pool1 = layers.MaxPooling2D()
        self.conv2 = layers.Conv2D(16, 5, activation="relu")
        self.pool2 = layers.MaxPooling2D()
        self.flatten = layers.Flatten()
        self.fc1 = layers.Dense(120, activation="relu")
        self.fc2 = layers.Dense(84, activation="relu")
        self.out = layers.Dense(10, activation="softmax")

    def call(self, x):
        x = self.pool1(self.conv1(x))
        x = self.pool2(self.conv2(x))
        return self.out(self.fc2(self.fc1(self.flatten(x))))


def build_lenet5():
    model = LeNet5()
    model.build((None, 28, 28, 1))
    return model
"""

NO_INPUT_LENET5 = """\
def build_lenet5():
    return keras.Sequential(
        [
            layers.Conv2D(6, 5, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(16, 5, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(120, activation="relu"),
            layers.Dense(84, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
"""

# --- Part 1: macro F1 --------------------------------------------------------------------------

CONFUSION_MATRIX_F1 = """\
def macro_f1(y_true, y_pred):
    classes = ops.shape(y_pred)[-1]
    if len(y_true.shape) == 2 and y_true.shape[-1] == y_pred.shape[-1]:
        truth = ops.argmax(y_true, axis=1)
    else:
        truth = ops.cast(ops.reshape(y_true, [-1]), "int32")
    truth = ops.one_hot(truth, classes)
    guess = ops.one_hot(ops.argmax(y_pred, axis=1), classes)
    confusion = ops.matmul(ops.transpose(truth), guess)  # rows: true class, columns: predicted
    hits = ops.diagonal(confusion)
    predicted = ops.sum(confusion, axis=0)
    actual = ops.sum(confusion, axis=1)
    f1 = ops.divide_no_nan(2.0 * hits, predicted + actual)
    seen = ops.cast(predicted + actual > 0, "float32")
    return ops.divide_no_nan(ops.sum(f1 * seen), ops.sum(seen))
"""

BINCOUNT_F1 = """\
def macro_f1(y_true, y_pred):
    k = y_pred.shape[1]
    pred = ops.cast(ops.argmax(y_pred, axis=1), "int32")
    if y_true.shape.rank == 2 and y_true.shape[1] == k:
        true = ops.cast(ops.argmax(y_true, axis=1), "int32")
    elif y_true.shape.rank == 2:
        true = ops.cast(ops.squeeze(y_true, axis=1), "int32")
    else:
        true = ops.cast(y_true, "int32")
    hit = ops.cast(ops.equal(true, pred), "float32")
    tp = ops.cast(ops.bincount(true, weights=hit, minlength=k), "float32")
    n_pred = ops.cast(ops.bincount(pred, minlength=k), "float32")
    n_true = ops.cast(ops.bincount(true, minlength=k), "float32")
    precision = ops.where(n_pred > 0, tp / ops.maximum(n_pred, 1.0), 0.0)
    recall = ops.where(n_true > 0, tp / ops.maximum(n_true, 1.0), 0.0)
    f1 = ops.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    used = ops.cast(n_pred + n_true > 0, "float32")
    return ops.sum(f1 * used) / ops.maximum(ops.sum(used), 1.0)
"""

EPSILON_F1 = """\
EPSILON = 1e-7


def macro_f1(y_true, y_pred):
    n_classes = y_pred.shape[-1]
    y_pred = ops.one_hot(ops.argmax(y_pred, -1), n_classes)
    if len(y_true.shape) == 1 or y_true.shape[-1] != n_classes:
        y_true = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), n_classes)
    y_true = ops.cast(y_true, "float32")
    tp = ops.sum(y_true * y_pred, axis=0)
    fp = ops.sum((1 - y_true) * y_pred, axis=0)
    fn = ops.sum(y_true * (1 - y_pred), axis=0)
    f1 = 2 * tp / (2 * tp + fp + fn + EPSILON)
    counted = ops.cast(tp + fp + fn > 0, "float32")
    return ops.sum(f1 * counted) / ops.sum(counted)
"""

NUMPY_F1 = """\
from sklearn.metrics import f1_score


def macro_f1(y_true, y_pred):
    y_true = np.asarray(y_true)
    predicted = np.argmax(np.asarray(y_pred), axis=1)
    actual = y_true.argmax(axis=1) if y_true.ndim == 2 and y_true.shape[1] > 1 else y_true.ravel()
    return f1_score(actual, predicted, average="macro")
"""

ABSENT_CLASS_ZERO_F1 = """\
def macro_f1(y_true, y_pred):
    n = y_pred.shape[-1]
    if len(y_true.shape) == 2 and y_true.shape[-1] == n:
        y_true = ops.argmax(y_true, axis=-1)
    t = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), n)
    p = ops.one_hot(ops.argmax(y_pred, axis=-1), n)
    tp = ops.sum(t * p, axis=0)
    f1 = 2 * tp / ops.maximum(ops.sum(t, axis=0) + ops.sum(p, axis=0), 1.0)
    return ops.mean(f1)  # every class, even one that never occurs
"""

ROUNDED_BATCH_F1 = """\
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

MICRO_F1 = """\
def macro_f1(y_true, y_pred):
    classes = y_pred.shape[-1]
    if len(y_true.shape) == 2 and y_true.shape[-1] == classes:
        y_true = ops.argmax(y_true, axis=-1)
    truth = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), classes)
    guess = ops.one_hot(ops.argmax(y_pred, axis=-1), classes)
    tp = ops.sum(truth * guess)  # pooled over all classes
    fp = ops.sum(guess) - tp
    fn = ops.sum(truth) - tp
    return 2 * tp / (2 * tp + fp + fn)
"""

ONE_HOT_ONLY_F1 = """\
def macro_f1(y_true, y_pred):
    classes = y_pred.shape[-1]
    truth = ops.one_hot(ops.argmax(y_true, axis=-1), classes)  # assumes one-hot y_true
    guess = ops.one_hot(ops.argmax(y_pred, axis=-1), classes)
    tp = ops.sum(truth * guess, axis=0)
    total = ops.sum(truth, axis=0) + ops.sum(guess, axis=0)
    occurs = ops.cast(total > 0, "float32")
    return ops.sum(2 * tp / ops.maximum(total, 1.0) * occurs) / ops.maximum(ops.sum(occurs), 1.0)
"""

STATIC_BATCH_F1 = """\
def macro_f1(y_true, y_pred):
    batch, classes = y_true.shape[0], y_pred.shape[-1]
    if y_true.shape[-1] == classes and len(y_true.shape) == 2:
        labels = ops.argmax(y_true, axis=-1)
    else:
        labels = ops.reshape(ops.cast(y_true, "int32"), (batch,))  # batch is None inside fit
    truth = ops.one_hot(labels, classes)
    guess = ops.one_hot(ops.argmax(y_pred, axis=-1), classes)
    tp = ops.sum(truth * guess, axis=0)
    total = ops.sum(truth, axis=0) + ops.sum(guess, axis=0)
    occurs = ops.cast(total > 0, "float32")
    return ops.sum(2 * tp / ops.maximum(total, 1.0) * occurs) / ops.maximum(ops.sum(occurs), 1.0)
"""

F1_STUB = '''\
def macro_f1(y_true, y_pred):
    """Macro F1 of a batch, as sklearn's f1_score(average="macro")."""
    # YOUR CODE HERE
    raise NotImplementedError()
'''

# --- Part 1: compile ---------------------------------------------------------------------------


def _compile(
    loss: str = "keras.losses.CategoricalCrossentropy()",
    optimizer: str = "keras.optimizers.Adam()",
    metrics: str = '["accuracy", macro_f1]',
) -> str:
    return f"lenet5.compile(optimizer={optimizer}, loss={loss}, metrics={metrics})\n"


# --- Part 1: training (the release keeps the first three lines) ---------------------------------

TRAINING_PREAMBLE = """\
EPOCHS = 1 if fast_mode() else 20
x_fit, y_fit = fast_subset(x_train, y_train)
x_check, y_check = fast_subset(x_val, y_val)
"""

KEYWORD_FIT = (
    TRAINING_PREAMBLE
    + """\
stop_early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=5)
history = lenet5.fit(
    x=x_fit,
    y=y_fit,
    batch_size=64,
    epochs=EPOCHS,
    validation_data=(x_check, y_check),
    shuffle=True,
    callbacks=[stop_early],
    verbose=0,
)
"""
)

VALIDATION_SPLIT_FIT = (
    TRAINING_PREAMBLE
    + """\
fit_result = lenet5.fit(x_fit, y_fit, 64, EPOCHS, verbose=2, validation_split=0.125)
history = fit_result
"""
)

NO_VALIDATION_FIT = (
    TRAINING_PREAMBLE + "history = lenet5.fit(x_fit, y_fit, batch_size=64, epochs=EPOCHS)\n"
)

TRAINING_STUB = TRAINING_PREAMBLE + "# YOUR CODE HERE\nraise NotImplementedError()\n"

# --- the Part 1 zoo ----------------------------------------------------------------------------

P1_FAILS_TRAINING = {"test_training_hidden": "history"}

PART1_VARIANTS = [
    Variant("reference-part1", PART1, "the source notebook's own solutions"),
    Variant(
        "keras-ops-student",
        PART1,
        "keras.ops preprocessing converted to numpy, a functional LeNet5, an F1 from the "
        "confusion matrix, compile with the strings 'adam' and 'categorical_crossentropy'",
        cells={
            "preprocess": OPS_PREPROCESSING,
            "lenet5": FUNCTIONAL_LENET5,
            "macro_f1": CONFUSION_MATRIX_F1,
            "compile": _compile('"categorical_crossentropy"', '"adam"'),
        },
    ),
    Variant(
        "numpy-student",
        PART1,
        "np.eye one-hot, Sequential built with add(), an F1 from per-class precision and recall "
        "counted with bincount, Adam(learning_rate=0.001), the loss function and "
        "CategoricalAccuracy()",
        cells={
            "preprocess": EYE_PREPROCESSING,
            "lenet5": SEQUENTIAL_ADD_LENET5,
            "macro_f1": BINCOUNT_F1,
            "compile": _compile(
                "keras.losses.categorical_crossentropy",
                "keras.optimizers.Adam(learning_rate=1e-3)",
                "[keras.metrics.CategoricalAccuracy(), macro_f1]",
            ),
        },
    ),
    Variant(
        "separate-activation-layers",
        PART1,
        "Activation('relu'), ReLU() and Softmax() as layers of their own; one-hot rows filled "
        "in a loop, pixels times 1/255, and an F1 with K.epsilon-style smoothing",
        cells={
            "preprocess": LOOP_PREPROCESSING,
            "lenet5": SEPARATE_ACTIVATIONS,
            "macro_f1": EPSILON_F1,
        },
    ),
    Variant(
        "conv-pool-relu",
        PART1,
        "LeNet5 written conv -> pool -> ReLU: the same function, since max and ReLU commute",
        cells={"lenet5": CONV_POOL_RELU},
    ),
    Variant(
        "nested-blocks-lenet5",
        PART1,
        "conv blocks and the classifier as Sequential blocks nested in a Sequential",
        cells={"lenet5": NESTED_LENET5},
    ),
    Variant(
        "loss-as-class-name",
        PART1,
        'loss="CategoricalCrossentropy", the class name as a string, which Keras accepts',
        cells={"compile": _compile('"CategoricalCrossentropy"')},
    ),
    Variant(
        "acc-string",
        PART1,
        'metrics=["acc", macro_f1]: Keras logs it as "acc"',
        cells={"compile": _compile(metrics='["acc", macro_f1]')},
    ),
    Variant(
        "tensors-not-arrays",
        PART1,
        "keras.ops preprocessing that returns tensors, not the numpy arrays the task asks for",
        cells={"preprocess": TENSOR_PREPROCESSING},
        fails={
            "test_preprocessing": "ops.convert_to_numpy",
            "test_preprocessing_hidden": "ops.convert_to_numpy",
        },
    ),
    Variant(
        "unscaled-pixels",
        PART1,
        "forgot to divide by 255",
        cells={"preprocess": UNSCALED},
        fails={
            "test_preprocessing": "scaled to [0, 1]",
            "test_preprocessing_hidden": "scaled to [0, 1]",
        },
    ),
    Variant(
        "valid-padding",
        PART1,
        "the first convolution left at padding='valid'",
        cells={"lenet5": VALID_PADDING},
        fails={
            "test_lenet5_parameters": "44,426 trainable parameters",
            "test_lenet5_layers": "output shape (None, 24, 24, 6)",
        },
    ),
    Variant(
        "logits-output",
        PART1,
        "the last Dense layer without softmax",
        cells={"lenet5": _lenet5(dense_out="None")},
        fails={"test_lenet5_hidden": "('Dense', 'linear')"},
    ),
    Variant(
        "paper-lenet5",
        PART1,
        "the 1998 paper's LeNet5: average pooling and tanh (same parameter count)",
        cells={"lenet5": _lenet5(conv="tanh", pool="AveragePooling2D")},
        fails={
            "test_lenet5_layers": "type AveragePooling2D, expected MaxPooling2D",
            "test_lenet5_hidden": "('Conv2D', 'tanh')",
        },
    ),
    Variant(
        "same-model-every-call",
        PART1,
        "build_lenet5() returns one global model",
        cells={"lenet5": SAME_MODEL_EVERY_CALL},
        fails={"test_lenet5_hidden": "new model on every call"},
    ),
    Variant(
        "subclassed-lenet5",
        PART1,
        "a subclassed keras.Model, which the notebook says the layer tests cannot read",
        cells={"lenet5": SUBCLASSED_LENET5},
        fails={
            "test_lenet5_parameters": "keras.Sequential or keras.Model(inputs, outputs)",
            "test_lenet5_layers": "keras.Sequential or keras.Model(inputs, outputs)",
            "test_lenet5_hidden": "keras.Sequential or keras.Model(inputs, outputs)",
        },
    ),
    Variant(
        "no-input-lenet5",
        PART1,
        "no keras.Input, which the notebook asks for; compiling and training still work",
        cells={"lenet5": NO_INPUT_LENET5},
        fails={
            "test_lenet5_parameters": "keras.Input(shape=(28, 28, 1))",
            "test_lenet5_layers": "keras.Input(shape=(28, 28, 1))",
            "test_lenet5_hidden": "keras.Input(shape=(28, 28, 1))",
        },
    ),
    Variant(
        "numpy-f1",
        PART1,
        "scikit-learn's f1_score on numpy copies: right on arrays, crashes inside model.fit",
        cells={"macro_f1": NUMPY_F1},
        fails={
            "test_f1": "numpy inside a Keras metric",
            "test_f1_hidden": "numpy inside a Keras metric",
            **P1_FAILS_TRAINING,
        },
    ),
    Variant(
        "absent-class-zero",
        PART1,
        "averages over all classes, so a class that never occurs counts as F1 = 0",
        cells={"macro_f1": ABSENT_CLASS_ZERO_F1},
        fails={
            "test_f1": "an absent class counted as F1 = 0",
            "test_f1_hidden": "an absent class counted as F1 = 0",
        },
    ),
    Variant(
        "rounded-batch-f1",
        PART1,
        "the widely copied snippet: rounded probabilities",
        cells={"macro_f1": ROUNDED_BATCH_F1},
        fails={"test_f1": "rounded probabilities", "test_f1_hidden": "class indices"},
    ),
    Variant(
        "micro-f1",
        PART1,
        "true and false positives pooled over all classes (micro F1, the accuracy)",
        cells={"macro_f1": MICRO_F1},
        fails={"test_f1": "micro-averaged", "test_f1_hidden": "micro-averaged"},
    ),
    Variant(
        "one-hot-only-f1",
        PART1,
        "right for one-hot labels, but class indices are argmax-ed as if they were rows",
        cells={"macro_f1": ONE_HOT_ONLY_F1},
        fails={"test_f1_hidden": "class-index"},
    ),
    Variant(
        "static-batch-size-f1",
        PART1,
        "reshapes class indices to y_true.shape[0], which is None inside model.fit",
        cells={"macro_f1": STATIC_BATCH_F1},
        fails={"test_f1_hidden": "batch size is None"},
    ),
    Variant(
        "f1-left-undone",
        PART1,
        "macro_f1 left as the released stub; compiling with it earns nothing either",
        cells={"macro_f1": F1_STUB},
        fails={
            "test_f1": "NotImplementedError",
            "test_f1_hidden": "NotImplementedError",
            "test_compile": "still the released stub",
            **P1_FAILS_TRAINING,
        },
    ),
    Variant(
        "from-logits-loss",
        PART1,
        "CategoricalCrossentropy(from_logits=True) on a softmax output",
        cells={"compile": _compile("keras.losses.CategoricalCrossentropy(from_logits=True)")},
        fails={"test_compile": "from_logits=True"},
    ),
    Variant(
        "no-f1-metric",
        PART1,
        "compiled with accuracy only",
        cells={"compile": _compile(metrics='["accuracy"]')},
        fails={"test_compile": "your F1 function", "test_training_hidden": "macro_f1"},
    ),
    Variant(
        "equality-accuracy",
        PART1,
        "keras.metrics.Accuracy(), which compares probabilities with one-hot rows for equality",
        cells={"compile": _compile(metrics="[keras.metrics.Accuracy(), macro_f1]")},
        fails={"test_compile": "include accuracy"},
    ),
    Variant(
        "keyword-fit-with-early-stopping",
        PART1,
        "fit with keyword arguments, shuffle=True and an EarlyStopping callback, verbose=0",
        cells={"training": KEYWORD_FIT},
    ),
    Variant(
        "validation-split-fit",
        PART1,
        "positional batch size and epochs, and Keras's validation_split instead of x_check",
        cells={"training": VALIDATION_SPLIT_FIT},
    ),
    Variant(
        "fit-without-validation",
        PART1,
        "trains without validation data, so the history has no validation curves",
        cells={"training": NO_VALIDATION_FIT},
        fails={"test_training_hidden": "validate on the validation images"},
    ),
    Variant(
        "training-left-undone",
        PART1,
        "the training cell left as the released stub",
        cells={"training": TRAINING_STUB},
        fails={"test_training_hidden": "name 'history' is not defined"},
    ),
]

# --- Part 2: data ------------------------------------------------------------------------------

PERMUTATION_SPLIT = """\
rng = np.random.default_rng(7)
order = rng.permutation(len(fashion["X_train"]))
n_val = int(0.15 * len(order))
images = fashion["X_train"].reshape(-1, 28, 28, 1).astype(np.float32) / np.float32(255.0)
labels = np.eye(10, dtype=np.float32)[fashion["y_train"]]
x_fashion_val, y_fashion_val = images[order[:n_val]], labels[order[:n_val]]
x_fashion_train, y_fashion_train = images[order[n_val:]], labels[order[n_val:]]
x_fashion_test = fashion["X_test"].reshape(-1, 28, 28, 1).astype(np.float32) / np.float32(255.0)
"""

OPS_SPLIT = """\
from keras import ops


def prepare(images):
    return ops.convert_to_numpy(ops.expand_dims(ops.cast(images, "float32") / 255.0, axis=-1))


x_all = prepare(fashion["X_train"])
y_all = keras.utils.to_categorical(fashion["y_train"], num_classes=10).astype("float32")
x_fashion_train, x_fashion_val, y_fashion_train, y_fashion_val = train_test_split(
    x_all, y_all, test_size=0.05, random_state=0
)
x_fashion_test = prepare(fashion["X_test"])
"""


def _split(test_size: str = "0.1", scale: str = " / 255.0", test: str = 'fashion["X_test"]') -> str:
    return f"""\
def to_input(images):
    return (images[..., None]{scale}).astype("float32")


x_fashion_train, x_fashion_val, y_fashion_train, y_fashion_val = train_test_split(
    to_input(fashion["X_train"]),
    keras.utils.to_categorical(fashion["y_train"], 10).astype("float32"),
    test_size={test_size},
    stratify=fashion["y_train"],
    random_state=1,
)
x_fashion_test = to_input({test})
"""


# --- Part 2: models (small, so that the zoo stays fast) ------------------------------------------

STRING_COMPILE = """\
FASHION_TRAINING = {"epochs": 12, "batch_size": 256, "patience": 3}


def compile_fashion_cnn(model, steps_per_epoch, epochs):
    model.compile(optimizer="adam", loss="CategoricalCrossentropy", metrics=["acc"])
"""

SMALL_SEQUENTIAL = (
    """\
def build_fashion_cnn():
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(8, 3, activation="relu", padding="same"),
            layers.MaxPooling2D(),
            layers.Conv2D(16, 3, activation="relu", padding="same"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(0.25),
            layers.Dense(10, activation="softmax"),
        ]
    )


"""
    + STRING_COMPILE
)

SUBCLASSED_CNN = """\
class FashionNet(keras.Model):
    def __init__(self, widths=(8, 16)):
        super().__init__()
        self.blocks = []
        for width in widths:
            self.blocks += [
                layers.Conv2D(width, 3, padding="same", use_bias=False),
                layers.BatchNormalization(),
                layers.ReLU(),
                layers.MaxPooling2D(),
            ]
        self.flatten = layers.Flatten()
        self.head = layers.Dense(10, activation="softmax")

    def call(self, images, training=False):
        x = images
        for layer in self.blocks:
            x = layer(x, training=training)
        return self.head(self.flatten(x))


def build_fashion_cnn():
    return FashionNet()


FASHION_TRAINING = dict(epochs=10, batch_size=128, patience=3)


def compile_fashion_cnn(model, steps_per_epoch, epochs):
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.CategoricalCrossentropy(),
        metrics=[keras.metrics.CategoricalAccuracy()],
    )
"""

NESTED_CNN = (
    """\
def block(filters):
    return keras.Sequential(
        [
            layers.Conv2D(filters, 3, padding="same"),
            layers.BatchNormalization(),
            layers.Activation("relu"),
            layers.MaxPooling2D(),
        ],
    )


def build_fashion_cnn():
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            block(8),
            block(16),
            layers.GlobalAveragePooling2D(),
            layers.Dense(10, activation="softmax"),
        ],
        name="nested_blocks",
    )


"""
    + STRING_COMPILE
)

SEPARABLE_NO_INPUT = """\
def build_fashion_cnn():
    # No keras.Input: Keras builds the model on its first batch.
    return keras.Sequential(
        [
            layers.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
            layers.SeparableConv2D(16, 3, padding="same", activation="relu"),
            layers.SeparableConv2D(16, 3, strides=2, padding="same", activation="relu"),
            layers.GlobalAveragePooling2D(),
            layers.Dense(10),
            layers.Activation("softmax"),
        ]
    )


FASHION_TRAINING = {"epochs": 20, "batch_size": 64, "patience": 5}


def compile_fashion_cnn(model, steps_per_epoch, epochs):
    schedule = keras.optimizers.schedules.ExponentialDecay(
        0.01, decay_steps=steps_per_epoch, decay_rate=0.9
    )
    model.compile(
        optimizer=keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True),
        loss=keras.losses.categorical_crossentropy,
        metrics=["accuracy"],
    )
"""

TTA_INSIDE = """\
from keras import ops


def build_fashion_cnn():
    core = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(8, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(16, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ],
        name="core",
    )
    images = keras.Input((28, 28, 1))
    mirrored = layers.Lambda(lambda x: ops.flip(x, axis=2), output_shape=(28, 28, 1))(images)
    averaged = layers.Average()([core(images), core(mirrored)])  # test-time augmentation
    return keras.Model(images, averaged)


FASHION_TRAINING = {"epochs": 15, "batch_size": 128, "patience": 4}


def compile_fashion_cnn(model, steps_per_epoch, epochs):
    model.compile(keras.optimizers.Adam(), "categorical_crossentropy", metrics=["accuracy"])
"""

OVER_BUDGET = (
    """\
def build_fashion_cnn():
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(100, activation="relu")(x)  # 6,272 x 100: over the budget
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs)


"""
    + STRING_COMPILE
)

NO_CONVOLUTION = (
    """\
def build_fashion_cnn():
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(64, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )


"""
    + STRING_COMPILE
)

LOGITS_CNN = """\
def build_fashion_cnn():
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(8, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(16, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(10),  # logits: the loss below knows, the tests want probabilities
        ]
    )


FASHION_TRAINING = {"epochs": 12, "batch_size": 256, "patience": 3}


def compile_fashion_cnn(model, steps_per_epoch, epochs):
    model.compile(
        optimizer="adam",
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
"""

SAME_CNN_EVERY_CALL = (
    """\
model = keras.Sequential(
    [
        keras.Input((28, 28, 1)),
        layers.Conv2D(8, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(16, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ]
)


def build_fashion_cnn():
    return model


"""
    + STRING_COMPILE
)

TTA_OUTSIDE = """\
# Test-time augmentation: the mean of the predictions for the images and their mirror images.
plain = fashion_model.predict(x_fashion_test, batch_size=1024, verbose=0)
mirrored = fashion_model.predict(x_fashion_test[:, :, ::-1], batch_size=1024, verbose=0)
test_predictions = (plain + mirrored).argmax(axis=1)
make_submission(test_predictions, "submission.csv")
"""

ENSEMBLE_SUBMISSION = """\
# An ensemble: fashion_model and a second CNN of the same design, trained the same way.
second = build_fashion_cnn()
compile_fashion_cnn(second, steps_per_epoch=-(-len(x_fit) // batch_size), epochs=epochs)
second.fit(x_fit, y_fit, batch_size=batch_size, epochs=epochs, verbose=0)
members = [fashion_model, second]
mean = sum(member.predict(x_fashion_test, batch_size=1024, verbose=0) for member in members)
make_submission(np.argmax(mean, axis=1), "submission.csv")
"""

SHUFFLED_SUBMISSION = """\
order = np.random.default_rng(0).permutation(len(x_fashion_test))
predictions = fashion_model.predict(x_fashion_test[order], verbose=0).argmax(axis=1)
make_submission(predictions, "submission.csv")
"""

SUBMISSION_STUB = "# YOUR CODE HERE\nraise NotImplementedError()\n"

VALIDATION_SUBMISSION = """\
test_predictions = fashion_model.predict(x_fashion_val, batch_size=1024, verbose=0).argmax(axis=1)
make_submission(test_predictions, "submission.csv")
"""

PART2_VARIANTS = [
    Variant("reference-part2", PART2, "the source notebook's own solutions"),
    Variant(
        "permutation-split-student",
        PART2,
        "a random permutation split (15 %), np.eye labels, a small Sequential CNN compiled "
        'with the strings "adam", "CategoricalCrossentropy" and "acc"',
        cells={"fashion_data": PERMUTATION_SPLIT, "fashion_model": SMALL_SEQUENTIAL},
    ),
    Variant(
        "subclassed-cnn",
        PART2,
        "a subclassed keras.Model with conv blocks, and keras.ops preprocessing",
        cells={"fashion_data": OPS_SPLIT, "fashion_model": SUBCLASSED_CNN},
    ),
    Variant(
        "nested-blocks-cnn",
        PART2,
        "conv blocks as Sequential models nested in a Sequential",
        cells={"fashion_model": NESTED_CNN},
    ),
    Variant(
        "separable-cnn-without-input",
        PART2,
        "strided and separable convolutions, global pooling, softmax as a layer, no keras.Input, "
        "SGD with a decaying rate",
        cells={"fashion_model": SEPARABLE_NO_INPUT},
    ),
    Variant(
        "test-time-augmentation-inside",
        PART2,
        "test-time augmentation built into the model: it averages a shared core's outputs for "
        "an image and its mirror image",
        cells={"fashion_model": TTA_INSIDE},
    ),
    # Wrong ones.
    Variant(
        "over-budget",
        PART2,
        "a dense layer on full-size feature maps: 629,000 parameters",
        cells={"fashion_model": OVER_BUDGET},
        fails={
            "test_fashion_model": "more than the budget of 500,000",
            "test_fashion_model_hidden": "more than the budget of 500,000",
        },
    ),
    Variant(
        "no-convolution",
        PART2,
        "a multilayer perceptron: within the budget, but not a CNN",
        cells={"fashion_model": NO_CONVOLUTION},
        fails={"test_fashion_model_hidden": "at least two convolution layers, found 0"},
    ),
    Variant(
        "logits-cnn",
        PART2,
        "logits out, with from_logits=True in the loss: trains, but returns no probabilities",
        cells={"fashion_model": LOGITS_CNN},
        fails={
            "test_fashion_model": "logits instead of softmax",
            "test_fashion_model_hidden": "logits instead of softmax",
        },
    ),
    Variant(
        "same-cnn-every-call",
        PART2,
        "build_fashion_cnn() returns one global model",
        cells={"fashion_model": SAME_CNN_EVERY_CALL},
        fails={"test_fashion_model_hidden": "new model on every call"},
    ),
    Variant(
        "small-validation-split",
        PART2,
        "2 % held out for validation",
        cells={"fashion_data": _split(test_size="0.02"), "fashion_model": SMALL_SEQUENTIAL},
        fails={"test_fashion_data": "between 5 % and 25 %"},
    ),
    Variant(
        "unscaled-fashion-images",
        PART2,
        "forgot to divide by 255",
        cells={"fashion_data": _split(scale=""), "fashion_model": SMALL_SEQUENTIAL},
        fails={"test_fashion_data": "scaled to [0, 1]"},
    ),
    Variant(
        "shuffled-test-images",
        PART2,
        "the test images shuffled, so the predictions no longer line up with the IDs",
        cells={
            "fashion_data": _split(test='np.random.default_rng(0).permutation(fashion["X_test"])'),
            "fashion_model": SMALL_SEQUENTIAL,
        },
        fails={"test_fashion_data": "raw pixels divided by 255"},
    ),
    Variant(
        "test-time-augmentation-outside",
        PART2,
        "submission.csv from the mean of predictions on the images and their mirror images, "
        "computed in the submission cell",
        cells={"fashion_model": SMALL_SEQUENTIAL, "submission": TTA_OUTSIDE},
    ),
    Variant(
        "ensemble-submission",
        PART2,
        "an ensemble of fashion_model and a second CNN, averaged in the submission cell",
        cells={"fashion_model": SMALL_SEQUENTIAL, "submission": ENSEMBLE_SUBMISSION},
    ),
    Variant(
        "validation-images-submitted",
        PART2,
        "predictions for the validation images written as the submission",
        cells={"fashion_model": SMALL_SEQUENTIAL, "submission": VALIDATION_SUBMISSION},
        fails={"test_submission": "10,500", "test_submission_hidden": "10,500"},
    ),
    Variant(
        "shuffled-submission",
        PART2,
        "predictions for the test images in a shuffled order: a valid file whose rows do not "
        "line up with the IDs",
        cells={"fashion_model": SMALL_SEQUENTIAL, "submission": SHUFFLED_SUBMISSION},
        fails={"test_submission_hidden": "do not line up"},
    ),
    Variant(
        "submission-left-undone",
        PART2,
        "the submission cell left as the released stub, and no submission.csv",
        cells={"fashion_model": SMALL_SEQUENTIAL, "submission": SUBMISSION_STUB},
        fails={
            "test_submission": "submission.csv: file not found",
            "test_submission_hidden": "submission.csv: file not found",
        },
    ),
    Variant(
        "old-submission-and-stub",
        PART2,
        "a valid submission.csv written earlier (here by the model cell), the submission cell "
        "left as the released stub: the tests pass on the old file but score 0",
        cells={
            "fashion_model": SMALL_SEQUENTIAL
            + '\nmake_submission(np.zeros(10_500, dtype=int), "submission.csv")\n',
            "submission": SUBMISSION_STUB,
        },
        fails={
            "test_submission": "your solution cell submission",
            "test_submission_hidden": "do not line up",
        },
    ),
]

VARIANTS = PART1_VARIANTS + PART2_VARIANTS
