"""How far the batch-wise F1 falls from the true macro F1 on a real model.

Trains LeNet5 briefly on MNIST and on the course's Fashion-MNIST training
set, then evaluates a held-out set three ways: the teaching example
``batch_f1`` as Keras averages it over batches, the streaming
``MacroF1Score``, and scikit-learn's ``f1_score(average="macro")`` on the
same predictions. Prints the gap in points for several batch sizes.

    python bench/batch_f1_gap.py [--epochs 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import keras
import numpy as np
from sklearn.metrics import f1_score

from autograder.dataset import build_course_dataset
from utilities import MacroF1Score, batch_f1, load_fashion_mnist, load_mnist

BATCH_SIZES = (32, 64, 256)


def lenet5() -> keras.Model:
    """LeNet5 as the assignment specifies it (61,706 parameters)."""
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(6, 5, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(16, 5, padding="valid", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(120, activation="relu"),
            keras.layers.Dense(84, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def measure(name: str, X_train, y_train, X_held, y_held, epochs: int) -> list[dict]:
    keras.utils.set_random_seed(0)
    model = lenet5()
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    started = time.perf_counter()
    model.fit(_images(X_train), _one_hot(y_train), batch_size=64, epochs=epochs, verbose=0)
    seconds = time.perf_counter() - started
    predicted = model.predict(_images(X_held), batch_size=512, verbose=0).argmax(axis=1)
    true_f1 = f1_score(y_held, predicted, average="macro")
    rows = []
    for batch_size in BATCH_SIZES:
        model.compile(metrics=[batch_f1, MacroF1Score(10)], loss="categorical_crossentropy")
        scores = model.evaluate(
            _images(X_held), _one_hot(y_held), batch_size=batch_size, verbose=0, return_dict=True
        )
        rows.append(
            {
                "dataset": name,
                "batch": batch_size,
                "sklearn": true_f1,
                "streaming": scores["macro_f1"],
                "batch_f1": scores["batch_f1"],
                "accuracy": float((predicted == y_held).mean()),
                "train_s": seconds,
            }
        )
    return rows


def _images(X: np.ndarray) -> np.ndarray:
    return (X[..., None] / 255.0).astype("float32")


def _one_hot(y: np.ndarray) -> np.ndarray:
    return keras.utils.to_categorical(y, 10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()

    mnist = load_mnist()
    rows = measure(
        "MNIST", mnist["X_train"], mnist["y_train"], mnist["X_val"], mnist["y_val"], args.epochs
    )
    with tempfile.TemporaryDirectory() as out:
        build = build_course_dataset(out)
        fashion = load_fashion_mnist(build.student_file)
    X, y = fashion["X_train"], fashion["y_train"]
    held = np.arange(len(X)) % 8 == 0  # every 8th image held out: 7,438 images
    rows += measure("Fashion-MNIST", X[~held], y[~held], X[held], y[held], args.epochs)

    print(f"LeNet5, {args.epochs} epochs at batch 64, evaluated on held-out images")
    print(
        f"{'dataset':<14} {'batch':>5} {'accuracy':>8} {'sklearn':>8} {'stream':>8} "
        f"{'batch_f1':>8} {'gap (pts)':>9}"
    )
    for row in rows:
        gap = 100 * (row["sklearn"] - row["batch_f1"])
        print(
            f"{row['dataset']:<14} {row['batch']:>5} {row['accuracy']:>8.4f} "
            f"{row['sklearn']:>8.4f} {row['streaming']:>8.4f} {row['batch_f1']:>8.4f} {gap:>9.2f}"
        )


if __name__ == "__main__":
    main()
