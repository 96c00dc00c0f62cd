"""The BEAT ME baseline: a documented model whose predictions set the leaderboard's bar.

The baseline is a small multilayer perceptron, deliberately without
convolutions, so that any sensible CNN beats it:

    Flatten -> Dense(128, ReLU) -> Dense(10, softmax)
    Adam (learning rate 1e-3), categorical cross-entropy, batch 128,
    3 epochs on all training images of the course dataset, pixels / 255,
    Keras seed 0.

:func:`baseline_predictions` trains it once and keeps the predictions (and
this description) next to the answer key; the leaderboard scores those
predictions like any team's, so the BEAT ME line is never typed in.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

BASELINE_CSV = "baseline_predictions.csv"
BASELINE_JSON = "baseline.json"
DESCRIPTION = (
    "MLP baseline: Flatten → Dense(128, ReLU) → Dense(10, softmax), Adam 1e-3, "
    "batch 128, 3 epochs, seed 0"
)


def baseline_predictions(dataset_file: Path, private_dir: Path) -> tuple[Path, dict]:
    """The baseline's predictions CSV in ``private_dir``, trained now if it is missing."""
    csv_path = Path(private_dir) / BASELINE_CSV
    json_path = Path(private_dir) / BASELINE_JSON
    if csv_path.is_file() and json_path.is_file():
        return csv_path, json.loads(json_path.read_text())
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # no CUDA probing noise on CPU machines
    import keras

    from utilities.loaders import load_fashion_mnist
    from utilities.submission import make_submission

    started = time.perf_counter()
    data = load_fashion_mnist(dataset_file)
    x_train = data["X_train"].astype("float32") / 255.0
    x_test = data["X_test"].astype("float32") / 255.0
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    labels = keras.utils.to_categorical(np.asarray(data["y_train"]), 10)
    model.fit(x_train, labels, batch_size=128, epochs=3, verbose=0)
    make_submission(model.predict(x_test, batch_size=1024, verbose=0), csv_path)
    info = {"description": DESCRIPTION, "seconds": round(time.perf_counter() - started, 1)}
    json_path.write_text(json.dumps(info, indent=1))
    return csv_path, info
