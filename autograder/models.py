"""Reference models that the solutions, the benchmarks and the course site share.

The course site's LeNet5 table is computed from :func:`lenet5`, and
``tests/test_models.py`` checks that the solution notebook builds the same
layers, so the page, the benchmarks and the assignment cannot drift apart.
"""

from __future__ import annotations

import keras
from keras import layers

LENET5_PARAMETERS = 61_706


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
