"""Reference models that the solutions, the benchmarks and the course site share.

The course site's LeNet5 table is computed from :func:`lenet5`; the
benchmarks train :func:`lenet5` and :func:`fashion_cnn` with their
:class:`Recipe`. ``tests/test_models.py`` checks that the solution notebooks
build the same layers and train with the same recipe, so the page, the
benchmarks and the assignment cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import layers

LENET5_PARAMETERS = 61_706
FASHION_CNN_PARAMETERS = 391_082


@dataclass(frozen=True)
class Recipe:
    """How a reference model is trained: epochs, batch size and a one-cycle learning rate.

    With ``peak_learning_rate`` set, the learning rate warms up linearly from
    ``initial_learning_rate`` to the peak over ``warmup_fraction`` of the steps,
    then follows a cosine down to ``alpha`` times the peak; with no warm-up
    (``warmup_fraction=0``) the cosine starts at the peak. Without a peak, the
    constant ``initial_learning_rate`` is used.
    """

    epochs: int
    batch_size: int
    initial_learning_rate: float = 1e-3
    peak_learning_rate: float | None = None
    warmup_fraction: float = 0.3
    alpha: float = 0.01
    label_smoothing: float = 0.0
    patience: int | None = None

    def learning_rate(self, steps_per_epoch: int):
        """A constant rate, or the one-cycle schedule for ``steps_per_epoch`` × ``epochs`` steps."""
        if self.peak_learning_rate is None:
            return self.initial_learning_rate
        total_steps = steps_per_epoch * self.epochs
        warmup_steps = int(self.warmup_fraction * total_steps)
        if warmup_steps == 0:
            return keras.optimizers.schedules.CosineDecay(
                initial_learning_rate=self.peak_learning_rate,
                decay_steps=total_steps,
                alpha=self.alpha,
            )
        return keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=self.initial_learning_rate,
            decay_steps=total_steps - warmup_steps,
            alpha=self.alpha,
            warmup_target=self.peak_learning_rate,
            warmup_steps=warmup_steps,
        )


#: Part 1's solution: Adam, batch 64, 20 epochs, the rate decaying along a cosine from Adam's
#: default 1e-3 to 1e-5 (a constant 1e-3 stops short of 99 %: see bench/results.md).
LENET5_RECIPE = Recipe(
    epochs=20,
    batch_size=64,
    initial_learning_rate=1e-3,
    peak_learning_rate=1e-3,
    warmup_fraction=0.0,
    alpha=0.01,
)
#: Part 2's solution: one cycle from 3e-4 up to 3e-3 (30 % of the steps) and down to 3e-5.
FASHION_RECIPE = Recipe(
    epochs=15,
    batch_size=128,
    initial_learning_rate=3e-4,
    peak_learning_rate=3e-3,
    warmup_fraction=0.3,
    alpha=0.01,
    patience=4,
)


def lenet5() -> keras.Model:
    """LeNet5 for 28×28×1 images and 10 classes, exactly as Task 1.2 specifies it."""
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(6, kernel_size=5, padding="same", activation="relu"),
            layers.MaxPooling2D(pool_size=2),
            layers.Conv2D(16, kernel_size=5, padding="valid", activation="relu"),
            layers.MaxPooling2D(pool_size=2),
            layers.Flatten(),
            layers.Dense(120, activation="relu"),
            layers.Dense(84, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="lenet5",
    )


def fashion_cnn(
    widths: tuple[int, ...] = (32, 64, 128),
    dense_units: int = 256,
    dropout: float = 0.3,
    pool_first: bool = True,
    separable: bool = False,
) -> keras.Model:
    """The reference CNN for Fashion-MNIST, as Part 2's solution builds it.

    Random horizontal flips, then one block per entry of ``widths`` (its
    number of filters): a 3×3 convolution (no bias), 2×2 max pooling, batch
    normalisation and ReLU. Then dropout, a dense layer and the softmax;
    ``FASHION_CNN_PARAMETERS`` parameters in all with the defaults.

    Pooling first gives the same kind of block as the textbook order (batch
    norm, ReLU, then pooling) for a quarter of the normalisation work, which
    is what pays for the third block on two CPU cores (see ``bench/``).
    ``pool_first=False`` builds the textbook order, ``widths=(32, 64),
    dense_units=128`` the first, two-block reference (421,930 parameters).
    ``separable=True`` makes every block after the first a depthwise-separable
    convolution (a benchmark variant, not the solution).
    """

    def conv_block(x, filters):
        if separable and x.shape[-1] > 1:
            x = layers.SeparableConv2D(filters, kernel_size=3, padding="same", use_bias=False)(x)
        else:
            x = layers.Conv2D(filters, kernel_size=3, padding="same", use_bias=False)(x)
        if pool_first:
            x = layers.MaxPooling2D(pool_size=2)(x)
            x = layers.BatchNormalization()(x)
            return layers.ReLU()(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        return layers.MaxPooling2D(pool_size=2)(x)

    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.RandomFlip("horizontal")(inputs)
    for filters in widths:
        x = conv_block(x, filters)
    x = layers.Flatten()(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(dense_units, activation="relu")(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="fashion_cnn")
