"""A controlled comparison of models: the same data, the same training, several seeds."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from .runmode import fast_subset


def compare_models(
    builders: Mapping[str, Callable],
    data: Sequence,
    *,
    seeds: Sequence[int] = (0, 1),
    epochs: int = 3,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
) -> pd.DataFrame:
    """Train every model the same way, once per seed, and tabulate how each did.

    Each model is built fresh for each seed (``builders`` maps a name to a
    function that returns an untrained Keras model), compiled the same way
    (Adam at ``learning_rate``, categorical cross-entropy, accuracy) and
    trained on the same data for the same number of epochs, so that only
    the architecture differs. In fast mode the data is cut to its first rows
    (:func:`~utilities.runmode.fast_subset`).

    Parameters
    ----------
    builders : mapping of str to callable
        Name -> a function that returns a new, untrained Keras model.
    data : (x_train, y_train, x_val, y_val)
        Images scaled to [0, 1] and one-hot labels.
    seeds : sequence of int
        One training run per seed; the spread between them says how large a
        difference must be to mean anything.
    epochs, batch_size, learning_rate
        The training every model gets.

    Returns
    -------
    pandas.DataFrame
        One row per model: its parameters, the validation accuracy of each
        seed's run, their mean and spread (largest minus smallest), and the
        seconds per epoch.

    Examples
    --------
    >>> compare_models({"MLP": build_mlp, "my CNN": build_fashion_cnn},
    ...                (x_train, y_train, x_val, y_val), seeds=(0, 1), epochs=3)
    """
    import keras

    x_train, y_train, x_val, y_val = data
    x_fit, y_fit = fast_subset(x_train, y_train)
    x_check, y_check = fast_subset(x_val, y_val)
    rows = []
    for name, build in builders.items():
        accuracies, seconds, parameters = [], [], 0
        for seed in seeds:
            keras.utils.set_random_seed(int(seed))
            model = build()
            model.compile(
                optimizer=keras.optimizers.Adam(learning_rate),
                loss="categorical_crossentropy",
                metrics=["accuracy"],
            )
            started = time.perf_counter()
            history = model.fit(
                x_fit,
                y_fit,
                batch_size=batch_size,
                epochs=epochs,
                validation_data=(x_check, y_check),
                verbose=0,
            )
            seconds.append((time.perf_counter() - started) / epochs)
            accuracies.append(float(history.history["val_accuracy"][-1]))
            parameters = model.count_params()
            print(f"{name}, seed {seed}: validation accuracy {accuracies[-1]:.2%}", flush=True)
        row = {"model": name, "parameters": parameters}
        row.update(
            {f"seed {seed}": accuracy for seed, accuracy in zip(seeds, accuracies, strict=True)}
        )
        row["mean"] = float(np.mean(accuracies))
        row["spread"] = float(np.max(accuracies) - np.min(accuracies))
        row["seconds per epoch"] = float(np.mean(seconds))
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")
