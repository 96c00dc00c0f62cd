"""How long each course plot takes to draw as the PNG Jupyter shows: ``python bench/plot_speed.py``.

Graded notebooks draw every plot of the assignment, on one thread, for every
student; this prints the best of ``--runs`` for each plot, drawn as
:meth:`CourseFigure._repr_png_` does inline, and the sum.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np

from utilities import plots


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2000, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 2000)
    guesses = np.where(rng.random(2000) < 0.2, (labels + 1) % 10, labels)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(32, 3, padding="same")])
    history = {"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.6, 0.4]}
    figures = {
        "plot_sample_images (30)": lambda: plots.plot_sample_images(images, labels, n=30),
        "plot_class_distribution": lambda: plots.plot_class_distribution(labels),
        "plot_training_history": lambda: plots.plot_training_history(history),
        "plot_confusion_matrix": lambda: plots.plot_confusion_matrix(labels, guesses),
        "plot_error_matrix": lambda: plots.plot_error_matrix(labels, guesses),
        "plot_misclassified (16)": lambda: plots.plot_misclassified(images, labels, guesses),
        "plot_filters (32)": lambda: plots.plot_filters(model),
        "plot_feature_maps (32)": lambda: plots.plot_feature_maps(model, images[0, ..., None]),
    }
    total = 0.0
    print(f"| plot | seconds (best of {args.runs}) |\n|:---|---:|")
    for name, make in figures.items():
        best = min(_seconds(make) for _ in range(args.runs))
        total += best
        print(f"| {name} | {best:.2f} |")
    print(f"| all | {total:.2f} |")
    return 0


def _seconds(make) -> float:
    started = time.perf_counter()
    make()._repr_png_()
    return time.perf_counter() - started


if __name__ == "__main__":
    raise SystemExit(main())
