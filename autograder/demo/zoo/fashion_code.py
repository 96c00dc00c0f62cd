"""Part 2 solutions written the way different students write them: the code of the zoo.

Each constant is the source of one solution cell (by its task), in one style
or with one mistake; :mod:`autograder.demo.zoo.fashion` says which variant uses
which, and what grading must give it.
"""

from __future__ import annotations

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


def split_source(
    test_size: str = "0.1", scale: str = " / 255.0", test: str = 'fashion["X_test"]'
) -> str:
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

SUBCLASSED_DROPOUT_CNN = """\
class ClothesNet(keras.Model):
    \"\"\"Layers as attributes, dropout that only acts while training.\"\"\"

    def __init__(self):
        super().__init__(name="clothes_net")
        self.conv1 = layers.Conv2D(8, 3, padding="same", activation="relu")
        self.pool1 = layers.MaxPooling2D()
        self.conv2 = layers.Conv2D(16, 3, padding="same", activation="relu")
        self.pool2 = layers.MaxPooling2D()
        self.flatten = layers.Flatten()
        self.dropout = layers.Dropout(0.4)
        self.hidden = layers.Dense(32, activation="relu")
        self.out = layers.Dense(10, activation="softmax")

    def call(self, x, training=None):
        x = self.pool1(self.conv1(x))
        x = self.pool2(self.conv2(x))
        x = self.dropout(self.flatten(x), training=training)
        return self.out(self.hidden(x))


def build_fashion_cnn():
    model = ClothesNet()
    model.build((None, 28, 28, 1))
    return model


FASHION_TRAINING = {"epochs": 10, "batch_size": 128, "patience": 3}


def compile_fashion_cnn(model, steps_per_epoch, epochs):
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=2e-3),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
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

VALIDATION_SUBMISSION = """\
test_predictions = fashion_model.predict(x_fashion_val, batch_size=1024, verbose=0).argmax(axis=1)
make_submission(test_predictions, "submission.csv")
"""
