"""What did a CNN learn? A briefly trained LeNet5's filters, feature maps and favourite patches.

Training is cheap (two epochs on a part of MNIST, a few seconds on two cores)
and happens once: the weights are cached in the kit's cache folder under a key
that hashes this module's training code, the model's code, Keras and the
training data, so a rebuild loads them instead of training again.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .common import (
    SEED,
    Exercise,
    check,
    exercises,
    figure_block,
    load_raw,
    new_figure,
    save,
    scaled,
    shape,
    tex,
)
from .spatial import LENET5_GEOMETRY, receptive_field

TRAIN_IMAGES, EPOCHS, BATCH_SIZE = 12_000, 2, 64
NAMES = ("conv1", "pool1", "conv2", "pool2", "flatten", "dense1", "dense2", "output")


@dataclass(frozen=True)
class TrainedModel:
    """The trained LeNet5, where its weights are cached, and whether this build trained it."""

    model: object
    weights: Path
    trained_now: bool
    seconds: float


def _named(model):
    """The same LeNet5 with its layers named as the pages call them (Keras numbers them)."""
    import keras

    names = iter(NAMES)

    def rename(layer):
        return type(layer).from_config({**layer.get_config(), "name": next(names)})

    return keras.models.clone_model(model, clone_function=rename)


def _train(model, images: np.ndarray, labels: np.ndarray) -> None:
    import keras

    keras.utils.set_random_seed(SEED)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    model.fit(images, labels, batch_size=BATCH_SIZE, epochs=EPOCHS, shuffle=True, verbose=0)


@functools.cache
def trained_lenet5(cache_dir: Path) -> TrainedModel:
    """LeNet5 after two epochs on the first MNIST training images, trained once and cached."""
    import keras

    from autograder.course import models

    started = time.perf_counter()
    data = load_raw("mnist")
    images, labels = data["X_train"][:TRAIN_IMAGES], data["y_train"][:TRAIN_IMAGES]
    key = hashlib.sha256()
    for part in (inspect.getsource(_train), inspect.getsource(models.lenet5), str(NAMES)):
        key.update(part.encode())
    key.update(f"{TRAIN_IMAGES} {EPOCHS} {BATCH_SIZE} {SEED} {keras.__version__}".encode())
    key.update(keras.backend.backend().encode() + images.tobytes() + labels.tobytes())
    path = Path(cache_dir) / "site" / f"lenet5-{key.hexdigest()[:16]}.weights.h5"
    model = _named(models.lenet5())
    if path.is_file():
        try:
            model.load_weights(path)
            return TrainedModel(model, path, False, time.perf_counter() - started)
        except (OSError, ValueError):
            pass  # a damaged file: train again and replace it
    _train(model, scaled(images), labels)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{os.getpid()}-{path.name}")  # Keras wants *.weights.h5
    model.save_weights(partial)
    os.replace(partial, path)
    return TrainedModel(model, path, True, time.perf_counter() - started)


def mnist_test_predictions(cache_dir: Path) -> np.ndarray:
    """The trained LeNet5's probabilities for the 10,000 MNIST test images."""
    return _predictions(Path(cache_dir))


@functools.cache
def _predictions(cache_dir: Path) -> np.ndarray:
    model = trained_lenet5(cache_dir).model
    return np.asarray(
        model.predict(scaled(load_raw("mnist")["X_test"]), batch_size=1000, verbose=0)
    )


def learned(figures: Path, cache_dir: Path) -> str:
    """Filters and feature maps of both convolutions, and the patches conv 2 likes best."""
    from utilities.plots import plot_feature_maps, plot_filters

    model = trained_lenet5(Path(cache_dir)).model
    test = load_raw("mnist")
    accuracy = float(np.mean(mnist_test_predictions(cache_dir).argmax(axis=1) == test["y_test"]))
    digit = scaled(test["X_test"][:1])[0]
    drawings = {
        "filters_conv1.png": plot_filters(model, layer=0, title="Filters"),
        "maps_conv1.png": plot_feature_maps(model, digit, layer=0, title="Feature maps of a 7"),
        "filters_conv2.png": plot_filters(model, layer=1, channel=0, title="Filters"),
        "maps_conv2.png": plot_feature_maps(model, digit, layer=1, title="Feature maps of a 7"),
    }
    for name, fig in drawings.items():
        save(fig, figures, name)
    patches = _favourite_patches(model, figures)
    intro = (
        f"The LeNet5 on this page was trained for {EPOCHS} epochs on the first "
        f"{TRAIN_IMAGES:,} MNIST training images and gets {accuracy:.1%} of the 10,000 test "
        "digits right: less than the model you train in Part 1, enough for clear filters."
    )
    return "\n\n".join(
        [
            intro,
            "## The first convolution",
            figure_block(
                "filters_conv1.png",
                "Six 5 × 5 filters in red and blue",
                "The six 5 × 5 filters of the first convolution (`plot_filters(model, layer=0)`): "
                "red weights add brightness, blue ones subtract it.",
            ),
            figure_block(
                "maps_conv1.png",
                "Six 28 × 28 feature maps of a handwritten 7",
                "Their feature maps for the first test digit (`plot_feature_maps(model, image, "
                "layer=0)`), after ReLU: bright where a filter found its pattern.",
            ),
            "## The second convolution",
            figure_block(
                "filters_conv2.png",
                "Sixteen 5 × 5 filters for input channel 0",
                "The 16 filters of the second convolution, each shown for input channel 0 "
                "(`plot_filters(model, layer=1, channel=0)`). Each filter has one such 5 × 5 "
                "slice for each of the six feature maps of the first convolution.",
            ),
            figure_block(
                "maps_conv2.png",
                "Sixteen 10 × 10 feature maps",
                "What the second convolution makes of the same 7 (`plot_feature_maps(model, "
                "image, layer=1)`): 16 maps of 10 × 10, each pixel summarising a "
                f"{patches['size']} × {patches['size']} patch of the digit.",
            ),
            "## What excites a filter of the second convolution",
            figure_block(
                "favourite_patches.png",
                "For each of 16 filters, the five image patches that excite it most",
                f"For each of the 16 filters of the second convolution, the "
                f"{patches['size']} × {patches['size']} patches of {patches['images']:,} test "
                "digits that excite it most (one patch per digit): the part of the image each "
                "output pixel sees, its receptive field.",
            ),
        ]
    )


def _favourite_patches(model, figures: Path, images: int = 2000, shown: int = 5) -> dict:
    """For each conv 2 filter, the input patches of its strongest responses."""
    import keras

    from utilities.plots import find_convolution

    geometry = [(kernel, stride) for _, kernel, stride, _ in LENET5_GEOMETRY[:3]]
    size, jump = receptive_field(geometry)[-1]
    offset = LENET5_GEOMETRY[0][1] // 2  # conv 1's "same" padding shifts the field by 2
    digits = scaled(load_raw("mnist")["X_test"][:images])
    conv2 = find_convolution(model, 1)
    (inputs,) = model.inputs
    responses = np.asarray(keras.Model(inputs, conv2.output)(digits))
    check(responses.shape[1:3] == (10, 10), f"conv 2 maps of {responses.shape}")
    padded = np.pad(digits[..., 0], ((0, 0), (offset, offset), (offset, offset)))
    cell, gap = size + 2, 28  # a patch in a thin grey frame; room for the second half's labels
    mosaic = np.zeros((8 * cell, 2 * shown * cell + gap))
    for index in range(16):
        per_image = responses[..., index].reshape(images, -1)
        best = np.argsort(per_image.max(axis=1))[::-1][:shown]
        row, half = index % 8, index // 8
        for rank, image in enumerate(best):
            i, j = np.unravel_index(per_image[image].argmax(), responses.shape[1:3])
            top, left = row * cell + 1, half * (shown * cell + gap) + rank * cell + 1
            patch = padded[image, i * jump : i * jump + size, j * jump : j * jump + size]
            mosaic[top - 1 : top + size + 1, left - 1 : left + size + 1] = 0.25
            mosaic[top : top + size, left : left + size] = patch
    fig = new_figure(7, 4.6)
    ax = fig.subplots()
    ax.imshow(mosaic, cmap="gray_r", vmin=0, vmax=1)
    for index in range(16):
        row, half = index % 8, index // 8
        x = half * (shown * cell + gap) - 1
        ax.text(x, row * cell + cell / 2, f"filter {index}", ha="right", va="center", fontsize=7)
    ax.set_axis_off()
    save(fig, figures, "favourite_patches.png")
    return {"size": size, "images": images}


def learned_exercises(cache_dir: Path) -> str:
    """Counting conv 2's weights, its map size, and doing the same for your own Part 2 model."""
    from utilities.plots import find_convolution

    model = trained_lenet5(Path(cache_dir)).model
    conv2 = find_convolution(model, 1)
    kernel = conv2.kernel.shape
    weights = int(np.prod(kernel))
    check(weights + kernel[-1] == conv2.count_params(), "conv 2's weights and biases")
    geometry = [(k, s) for _, k, s, _ in LENET5_GEOMETRY[:3]]
    size = receptive_field(geometry)[-1][0]
    return exercises(
        Exercise(
            "Counting what you see",
            "The figure of the second convolution's filters shows 16 pictures of 5 × 5. How "
            "many weights does that layer really have, and why does the figure show only part "
            "of them?",
            f"Its kernel has shape {shape(kernel)}: ${kernel[0]} \\cdot {kernel[1]} \\cdot "
            f"{kernel[2]} \\cdot {kernel[3]} = {tex(weights)}$ weights, plus {kernel[-1]} "
            "biases. Each filter has a 5 × 5 slice per input channel, one for each of the six "
            "maps of the first convolution; the figure shows channel 0 only. "
            "`plot_filters(model, layer=1, channel=c)` shows the others.",
        ),
        Exercise(
            "Why the second maps are blurrier",
            "The maps of the first convolution look like the digit; those of the second look "
            "like coarse blobs. Why?",
            f"Each pixel of a second-layer map summarises a {size} × {size} patch of the input "
            "(its receptive field), after one pooling has halved the resolution: it answers "
            "*is this part here?* (a stroke ending, a corner, a loop) rather than *is this "
            "pixel on an edge?*",
        ),
        Exercise(
            "Your own network",
            "In Part 2, draw the filters and feature maps of *every* convolution of your "
            "`fashion_model` for one shirt and one sneaker. What changes from layer to layer?",
            "A loop over the layers does it: `for layer in range(len(convolutions("
            "fashion_model))): display(plot_feature_maps(fashion_model, x_fashion_val[0], "
            "layer=layer))` (with `from utilities.plots import convolutions`). The first "
            "layer's maps still look like the garment; deeper maps get smaller and more "
            "abstract, and different garments light up different maps.",
        ),
    )
