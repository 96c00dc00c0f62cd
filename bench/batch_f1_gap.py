"""How far the batch-wise F1 falls from the true macro F1 on a real model.

Trains LeNet5 on MNIST and on the course's Fashion-MNIST training set and,
after each stage, compares the teaching example ``batch_f1`` (as Keras
averages it over batches) with the true macro F1: in the training log (both
metrics over the same epoch) and on held-out images (``model.evaluate`` at
several batch sizes against scikit-learn on the same predictions; the
streaming ``MacroF1Score`` is checked to equal scikit-learn there).

    python bench/batch_f1_gap.py [--stages 1 3]
"""

from __future__ import annotations

import argparse
import tempfile

import keras
import numpy as np
from sklearn.metrics import f1_score

from autograder.course.dataset import build_course_dataset
from autograder.course.models import lenet5
from utilities import MacroF1Score, batch_f1, load_fashion_mnist, load_mnist

BATCH_SIZES = (32, 64, 256)


def measure(name: str, X_train, y_train, X_held, y_held, stages: list[int]) -> list[dict]:
    """Train in stages; after each, compare the F1 variants on the held-out images."""
    keras.utils.set_random_seed(0)
    model = lenet5()
    model.compile(
        optimizer="adam", loss="categorical_crossentropy", metrics=[batch_f1, MacroF1Score(10)]
    )
    rows, trained = [], 0
    for epochs in stages:
        history = model.fit(
            _images(X_train), _one_hot(y_train), batch_size=64, epochs=epochs - trained, verbose=0
        )
        trained = epochs
        predicted = model.predict(_images(X_held), batch_size=512, verbose=0).argmax(axis=1)
        true_f1 = f1_score(y_held, predicted, average="macro")
        during = history.history
        rows.append(
            {
                "dataset": name,
                "epochs": epochs,
                "set": "training log",
                "batch": 64,
                "accuracy": None,
                "sklearn": during["macro_f1"][-1],
                "batch_f1": during["batch_f1"][-1],
            }
        )
        for batch_size in BATCH_SIZES:
            scores = model.evaluate(
                _images(X_held),
                _one_hot(y_held),
                batch_size=batch_size,
                verbose=0,
                return_dict=True,
            )
            assert abs(scores["macro_f1"] - true_f1) < 1e-5, (scores["macro_f1"], true_f1)
            rows.append(
                {
                    "dataset": name,
                    "epochs": epochs,
                    "set": "held out",
                    "batch": batch_size,
                    "accuracy": float((predicted == y_held).mean()),
                    "sklearn": true_f1,
                    "batch_f1": scores["batch_f1"],
                }
            )
    return rows


def _images(X: np.ndarray) -> np.ndarray:
    return (X[..., None] / 255.0).astype("float32")


def _one_hot(y: np.ndarray) -> np.ndarray:
    return keras.utils.to_categorical(y, 10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--stages", type=int, nargs="+", default=[1, 3], help="epochs after which to measure"
    )
    args = parser.parse_args()

    mnist = load_mnist()
    rows = measure(
        "MNIST", mnist["X_train"], mnist["y_train"], mnist["X_val"], mnist["y_val"], args.stages
    )
    with tempfile.TemporaryDirectory() as out:
        build = build_course_dataset(out)
        fashion = load_fashion_mnist(build.student_file)
    X, y = fashion["X_train"], fashion["y_train"]
    held = np.arange(len(X)) % 8 == 0  # every 8th image held out: 7,438 images
    rows += measure("Fashion-MNIST", X[~held], y[~held], X[held], y[held], args.stages)

    print("LeNet5 at batch 64. 'training log': both metrics over the last training epoch;")
    print("'held out': model.evaluate at the given batch size; macro F1 from scikit-learn.")
    print(
        f"{'dataset':<14} {'epochs':>6} {'set':<13} {'batch':>5} {'accuracy':>8} "
        f"{'macro F1':>8} {'batch_f1':>8} {'gap (pts)':>9}"
    )
    for row in rows:
        gap = 100 * (row["sklearn"] - row["batch_f1"])
        accuracy = f"{row['accuracy']:.4f}" if row["accuracy"] is not None else "-"
        print(
            f"{row['dataset']:<14} {row['epochs']:>6} {row['set']:<13} {row['batch']:>5} "
            f"{accuracy:>8} {row['sklearn']:>8.4f} {row['batch_f1']:>8.4f} {gap:>9.2f}"
        )


if __name__ == "__main__":
    main()
