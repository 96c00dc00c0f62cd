"""Data augmentation: Keras's augmentation layers on real images, and why LeNet5 needs them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .common import (
    SEED,
    Exercise,
    check,
    exercises,
    figure_block,
    load_raw,
    markdown_table,
    new_figure,
    save,
    scaled,
)
from .learned import mnist_test_predictions, trained_lenet5

SHIFTS = (0, 1, 2, 3, 4)
ANGLES = (0, 10, 20, 30)


def augmentations() -> dict:
    """The augmentation layers shown, each seeded, filling new pixels with black."""
    import keras
    from keras import layers

    fill = {"fill_mode": "constant", "seed": SEED}
    return {
        'RandomFlip("horizontal")': layers.RandomFlip("horizontal", seed=SEED),
        "RandomTranslation(0.1, 0.1)": layers.RandomTranslation(0.1, 0.1, **fill),
        "RandomRotation(0.05)": layers.RandomRotation(0.05, **fill),
        "RandomZoom(0.15)": layers.RandomZoom(0.15, **fill),
        "all four": keras.Sequential(
            [
                layers.RandomFlip("horizontal", seed=SEED),
                layers.RandomTranslation(0.1, 0.1, **fill),
                layers.RandomRotation(0.05, **fill),
                layers.RandomZoom(0.15, **fill),
            ]
        ),
    }


def augmentation_figure(figures: Path) -> str:
    """Four Fashion-MNIST images through each augmentation layer, in training mode."""
    from utilities.loaders import FASHION_MNIST_CLASSES

    data = load_raw("fashion-mnist")
    picks = [int(np.flatnonzero(data["y_train"] == label)[0]) for label in (0, 3, 7, 9)]
    images = scaled(data["X_train"][picks])
    columns = {"original": images}
    for name, layer in augmentations().items():
        columns[name] = np.asarray(layer(images, training=True))
        if name.startswith("RandomFlip"):  # each image is flipped with probability 1/2:
            columns[name] = _some_flipped(images)  # show a draw in which some are
        check(np.allclose(layer(images, training=False), images), f"{name} is off at inference")
    fig = new_figure(1.45 * len(columns), 1.5 * len(picks) + 0.3)
    grid = fig.subplots(len(picks), len(columns))
    for column, (name, pictures) in enumerate(columns.items()):
        grid[0, column].set_title(name, fontsize=7)
        for row in range(len(picks)):
            grid[row, column].imshow(pictures[row, ..., 0], cmap="gray_r", vmin=0, vmax=1)
            grid[row, column].set_xticks([])
            grid[row, column].set_yticks([])
    for row, index in enumerate(picks):
        grid[row, 0].set_ylabel(FASHION_MNIST_CLASSES[data["y_train"][index]], fontsize=8)
    save(fig, figures, "augmentation.png")
    return figure_block(
        "augmentation.png",
        "Four clothing images, each shown original and after five random augmentations",
        "Fashion-MNIST training images through Keras's augmentation layers in training mode. "
        "Each call draws new random changes; at inference (`training=False`, as in "
        "`model.predict`) the layers return their input unchanged.",
    )


def _some_flipped(images: np.ndarray) -> np.ndarray:
    """A draw of ``RandomFlip("horizontal")`` that flips the last image and keeps another."""
    import keras

    for seed in range(100):
        drawn = np.asarray(keras.layers.RandomFlip("horizontal", seed=seed)(images, training=True))
        flipped = [not np.array_equal(a, b) for a, b in zip(drawn, images, strict=True)]
        if flipped[-1] and not all(flipped):  # the last one (a shoe) shows it best
            return drawn
    raise ValueError("RandomFlip never flipped some images and kept others")


def _shift(images: np.ndarray, pixels: int) -> np.ndarray:
    """Move every image ``pixels`` to the right, filling with black."""
    moved = np.zeros_like(images)
    moved[:, :, pixels:] = images[:, :, : images.shape[2] - pixels]
    return moved


def robustness(figures: Path, cache_dir: Path, count: int = 2000) -> str:
    """How the trained LeNet5 copes with shifted, rotated and mirrored test digits."""
    from scipy.ndimage import rotate

    model = trained_lenet5(Path(cache_dir)).model
    data = load_raw("mnist")
    digits, labels = scaled(data["X_test"][:count]), data["y_test"][:count]
    baseline = float(np.mean(mnist_test_predictions(cache_dir)[:count].argmax(1) == labels))

    def accuracy(images: np.ndarray) -> float:
        return float(np.mean(model.predict(images, batch_size=1000, verbose=0).argmax(1) == labels))

    shifted = [accuracy(_shift(digits, pixels)) for pixels in SHIFTS]
    check(abs(shifted[0] - baseline) < 1e-9, "a shift of 0 pixels changes nothing")
    rotated = [
        accuracy(rotate(digits, angle, axes=(1, 2), reshape=False, order=1)) for angle in ANGLES
    ]
    mirrored = accuracy(digits[:, :, ::-1])
    check(shifted[-1] < shifted[0] and mirrored < baseline, "LeNet5 is not invariant to these")

    fig = new_figure(9, 3.0)
    left, right = fig.subplots(1, 2, sharey=True)
    left.plot(SHIFTS, np.array(shifted) * 100, "o-")
    left.set_xlabel("shift to the right (pixels)")
    left.set_ylabel("test accuracy (%)")
    right.plot(ANGLES, np.array(rotated) * 100, "o-")
    right.set_xlabel("rotation (degrees)")
    for ax in (left, right):
        ax.axhline(mirrored * 100, color="grey", linestyle=":", label="mirrored digits")
        ax.grid(alpha=0.3)
    right.legend(fontsize=8)
    save(fig, figures, "robustness.svg")
    rows = [[f"shifted {p} px", f"{a:.1%}"] for p, a in zip(SHIFTS[1:], shifted[1:], strict=True)]
    rows += [[f"rotated {d}°", f"{a:.1%}"] for d, a in zip(ANGLES[1:], rotated[1:], strict=True)]
    rows.append(["mirrored left to right", f"{mirrored:.1%}"])
    return "\n\n".join(
        [
            figure_block(
                "robustness.svg",
                "Test accuracy falling as digits are shifted further and rotated more",
                f"The LeNet5 of *What did a CNN learn?*, trained without augmentation, on "
                f"{count:,} test digits moved, rotated or mirrored. Unchanged, it gets "
                f"{baseline:.1%} right.",
            ),
            markdown_table(
                ["Test digits", "Accuracy"], "lr", [["unchanged", f"{baseline:.1%}"], *rows]
            ),
        ]
    )


def augmentation_exercises() -> str:
    """How far a translation goes, what a layer does at inference, which changes keep the label."""
    import keras

    size, factor = 28, 0.1
    most = factor * size
    layer = keras.layers.RandomTranslation(factor, factor, seed=SEED)
    check(float(np.max(np.abs(layer.height_factor))) * size == most, "the largest shift")
    image = np.random.default_rng(SEED).random((1, size, size, 1)).astype("float32")
    flip = keras.layers.RandomFlip("horizontal", seed=SEED)
    unchanged = bool(np.array_equal(np.asarray(flip(image, training=False)), image))
    check(unchanged, "augmentation layers do nothing at inference")
    return exercises(
        Exercise(
            "How far is 0.1?",
            f"`RandomTranslation({factor:g}, {factor:g})` on a {size} × {size} image: by how "
            "many pixels can it move the image?",
            f"By up to {factor:g} of the height and width, ${factor:g} \\cdot {size} = "
            f"{most:g}$ pixels, in either direction, a different random amount for every image "
            "and every epoch. The figure above shows how much accuracy a shift of that size "
            "costs a network that never saw one.",
        ),
        Exercise(
            "Augmentation in `predict`",
            'Your model starts with `layers.RandomFlip("horizontal")`. Does `model.predict` '
            "flip the test images?",
            "No: augmentation layers are active only when the model is called with "
            "`training=True`, which `fit` does and `predict` and `evaluate` do not. Called "
            "with `training=False`, `RandomFlip` returns its input unchanged. "
            "So the augmentation can live inside the model, and it is saved with it.",
        ),
        Exercise(
            "Which changes keep the label?",
            "Is a horizontal flip a good augmentation for MNIST? For Fashion-MNIST? What about "
            "a vertical flip?",
            "For digits, no: a mirrored 2, 3, 4, 5 or 7 is not that digit any more, and the "
            "table above shows what the network makes of mirrored digits. For clothes, yes: a "
            "mirrored shirt is still a shirt. A vertical flip turns shoes upside down, which "
            "never happens in the data: the model would spend capacity on images it will never "
            "be asked about. An augmentation should produce images that could have been in "
            "the data with the same label.",
        ),
        Exercise(
            "Test-time augmentation",
            "Part 2 allows averaging your model's predictions for each test image and its "
            "mirror image. Why can that help, and when does it not?",
            "Two views of the same garment give two somewhat independent guesses; averaging "
            "their probabilities cancels part of the noise, so it helps most on images the "
            "model is unsure about. It only helps with changes the model was trained to "
            "handle (it saw mirrored clothes during training) and that keep the label, and it "
            "doubles the cost of prediction.",
        ),
    )
