"""Part 1 solutions written the way different students write them: the code of the zoo.

Each constant is the source of one solution cell (by its task), in one style
or with one mistake; :mod:`autograder.demo.zoo.lenet` says which variant uses
which, and what grading must give it.
"""

from __future__ import annotations

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


def lenet5_source(
    conv: str = "relu", dense_out: str = '"softmax"', pool: str = "MaxPooling2D"
) -> str:
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

# --- Part 1: compile ---------------------------------------------------------------------------


def compile_call(
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
