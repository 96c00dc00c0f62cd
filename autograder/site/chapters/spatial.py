"""Pooling and receptive fields: what each position of a feature map sees, measured by autodiff."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .arithmetic import conv_output_size, conv_parameters, dense_parameters
from .common import (
    Exercise,
    check,
    exercises,
    figure_block,
    load_raw,
    markdown_table,
    new_figure,
    save,
    scaled,
    tex,
)

#: LeNet5's layers that move across the image: (name, kernel, stride, padding)
LENET5_GEOMETRY = (
    ("conv 1", 5, 1, "same"),
    ("pool 1", 2, 2, "valid"),
    ("conv 2", 5, 1, "valid"),
    ("pool 2", 2, 2, "valid"),
)


def receptive_field(layers: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """(r, j) after each (kernel, stride) layer: r ← r + (K − 1)·j, then j ← j·S."""
    r, j, steps = 1, 1, []
    for kernel, stride in layers:
        r, j = r + (kernel - 1) * j, j * stride
        steps.append((r, j))
    return steps


def measured_receptive_fields(geometry: Sequence[tuple], size: int) -> list[np.ndarray]:
    """|∂ output / ∂ input| for the centre output of each layer of a linear probe.

    The probe has the geometry of the real layers (kernel, stride, padding), all
    weights 1 and average instead of max pooling, so that every input inside a
    window gets gradient and no other input does.
    """
    import keras
    import tensorflow as tf

    image = tf.constant(np.zeros((1, size, size, 1), dtype="float32"))
    probe = []
    for _, kernel, stride, padding in geometry:
        if stride == kernel:
            probe.append(keras.layers.AveragePooling2D(kernel, padding=padding))
        else:
            conv = keras.layers.Conv2D(1, kernel, strides=stride, padding=padding, use_bias=False)
            conv.build((None, None, None, 1))
            conv.set_weights([np.ones((kernel, kernel, 1, 1), dtype="float32")])
            probe.append(conv)
    maps = []
    for depth in range(1, len(probe) + 1):
        with tf.GradientTape() as tape:
            tape.watch(image)
            x = image
            for layer in probe[:depth]:
                x = layer(x)
            centre = x[0, (x.shape[1] - 1) // 2, (x.shape[2] - 1) // 2, 0]
        maps.append(np.abs(tape.gradient(centre, image).numpy()[0, ..., 0]))
    return maps


def _extent(gradient: np.ndarray) -> int:
    rows = np.flatnonzero(gradient.sum(axis=1) > 0)
    return int(rows[-1] - rows[0] + 1)


def receptive_field_figure(figures: Path) -> str:
    """LeNet5's receptive fields by the formula and by autodiff, drawn over a test digit."""
    from matplotlib.patches import Rectangle

    steps = receptive_field([(kernel, stride) for _, kernel, stride, _ in LENET5_GEOMETRY])
    maps = measured_receptive_fields(LENET5_GEOMETRY, 28)
    digit = load_raw("mnist")["X_test"][1]
    fig = new_figure(10, 2.9)
    rows = []
    r_before, j_before = 1, 1
    for ax, (name, kernel, stride, _), (r, j), gradient in zip(
        fig.subplots(1, len(maps)), LENET5_GEOMETRY, steps, maps, strict=True
    ):
        measured = _extent(gradient)
        check(measured == r, f"{name}: the formula gives r = {r}, autodiff {measured}")
        ax.imshow(digit, cmap="gray_r", alpha=0.35)
        ax.imshow(np.ma.masked_equal(gradient, 0), cmap="viridis", alpha=0.8)
        top = int(np.flatnonzero(gradient.sum(axis=1))[0])
        left = int(np.flatnonzero(gradient.sum(axis=0))[0])
        ax.add_patch(Rectangle((left - 0.5, top - 0.5), r, r, fill=False, ec="red", lw=1.5))
        ax.set_title(f"after {name}: {r} × {r}", fontsize=9)
        ax.set_axis_off()
        rows.append(
            [
                name,
                kernel,
                stride,
                f"{r_before} + ({kernel} − 1)·{j_before} = {r}",
                f"{j_before}·{stride} = {j}",
                f"{measured} × {measured}",
            ]
        )
        r_before, j_before = r, j
    save(fig, figures, "receptive_fields.png")
    table = markdown_table(
        ["Layer", "K", "S", "r ← r + (K − 1)·j", "j ← j·S", "Measured by autodiff"],
        "lrrllr",
        rows,
    )
    return "\n\n".join(
        [
            figure_block(
                "receptive_fields.png",
                "Four copies of a digit, each with a growing coloured square: the receptive field",
                "Which input pixels the centre output of each LeNet5 stage depends on, found by "
                "differentiating that output with respect to the image. Brighter pixels reach "
                "the output along more paths.",
            ),
            table,
        ]
    )


def pooling_figure(figures: Path) -> str:
    """A feature map before and after pooling, and how much a one-pixel shift changes each."""
    import keras

    images = scaled(load_raw("mnist")["X_test"][:1000])
    sobel = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype="float32")
    conv = keras.layers.Conv2D(2, 3, padding="same", use_bias=False, activation="relu")
    conv.build((None, 28, 28, 1))
    conv.set_weights([np.stack([sobel, sobel.T], axis=-1)[:, :, np.newaxis, :]])
    stages = {
        "feature map": lambda x: conv(x),
        "after 2 × 2 max pooling": lambda x: keras.layers.MaxPooling2D(2)(conv(x)),
        "after 2 × 2 average pooling": lambda x: keras.layers.AveragePooling2D(2)(conv(x)),
        "after two 2 × 2 max poolings": lambda x: keras.layers.MaxPooling2D(2)(
            keras.layers.MaxPooling2D(2)(conv(x))
        ),
    }
    outputs = {name: keras.ops.convert_to_numpy(stage(images)) for name, stage in stages.items()}
    fig = new_figure(10, 2.9)
    for ax, (name, maps) in zip(fig.subplots(1, len(outputs)), outputs.items(), strict=True):
        ax.imshow(maps[0, ..., 0], cmap="viridis")
        ax.set_title(f"{name}\n{maps.shape[1]} × {maps.shape[2]}", fontsize=9)
        ax.set_axis_off()
    save(fig, figures, "pooling.png")

    shifts = (1, 2, 3)
    changes = {name: [] for name in stages}
    for pixels in shifts:
        moved = np.roll(images, pixels, axis=2)
        for name, stage in stages.items():
            before = outputs[name].reshape(len(images), -1)
            after = keras.ops.convert_to_numpy(stage(moved)).reshape(len(images), -1)
            change = np.linalg.norm(after - before, axis=1) / np.linalg.norm(before, axis=1)
            changes[name].append(float(np.median(change)))
    names = list(stages)
    check(
        changes[names[0]][0] > changes[names[1]][0] > changes[names[3]][0],
        f"pooling should make a 1-pixel shift matter less: {changes}",
    )
    rows = [[name, *(f"{value:.0%}" for value in values)] for name, values in changes.items()]
    header = ["Representation", *(f"shift by {p} pixel{'s' * (p > 1)}" for p in shifts)]
    return "\n\n".join(
        [
            figure_block(
                "pooling.png",
                "A vertical-edge feature map of a digit, then the same map max- and average-pooled",
                "The vertical-edge map of a test digit (a real `Conv2D` with a hand-set filter "
                "and ReLU), then pooled by real Keras pooling layers.",
            ),
            f"How much the representation of {len(images):,} test digits changes when every "
            "digit moves a few pixels to the right (median of "
            "‖after − before‖ / ‖before‖, the same two edge filters):",
            markdown_table(header, "l" + "r" * len(shifts), rows),
        ]
    )


def pooling_exercises() -> str:
    """Pooling shapes, its gradient and global average pooling, checked on real layers."""
    import keras
    import tensorflow as tf

    features = np.zeros((1, 7, 7, 64), dtype="float32")
    valid = keras.layers.MaxPooling2D(2)(features).shape[1:]
    same = keras.layers.MaxPooling2D(2, padding="same")(features).shape[1:]
    side = conv_output_size(7, 2, 2, 0)
    check(valid == (side, side, 64) and same[0] == -(-7 // 2), "pooling exercise 1")

    window = tf.constant([[[[1.0], [3.0]], [[2.0], [0.0]]]])
    gradients = {}
    for name, layer in (
        ("max", keras.layers.MaxPooling2D(2)),
        ("average", keras.layers.AveragePooling2D(2)),
    ):
        with tf.GradientTape() as tape:
            tape.watch(window)
            pooled = layer(window)
        gradients[name] = tape.gradient(pooled, window).numpy()[0, ..., 0]
    check(gradients["max"].sum() == 1 and gradients["max"][0, 1] == 1, "max pooling gradient")

    flat = keras.Sequential(
        [keras.Input((7, 7, 64)), keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    pooled = keras.Sequential(
        [keras.Input((7, 7, 64)), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10)]
    )
    counts = dense_parameters(7 * 7 * 64, 10), dense_parameters(64, 10)
    check((flat.count_params(), pooled.count_params()) == counts, "global pooling exercise")
    return exercises(
        Exercise(
            "An odd size",
            "A 7 × 7 × 64 feature map goes through `MaxPooling2D(2)`. What comes out, how many "
            'parameters does the layer have, and what changes with `padding="same"`?',
            f"$\\lfloor (7 - 2)/2 \\rfloor + 1 = {side}$: the output is {side} × {side} × 64 and "
            "the last row and column of the input are dropped. Pooling has no parameters and "
            f'keeps the number of channels. With `padding="same"` it is '
            f"$\\lceil 7/2 \\rceil = {same[0]}$: Keras pads so that every input is in a window.",
        ),
        Exercise(
            "What pooling passes back",
            "During backpropagation, what gradient does each of the four inputs of one 2 × 2 "
            "window get when the window holds 1, 3, 2, 0 (row by row) and the gradient from "
            "above is 1? Answer for max and for average pooling.",
            "Max pooling sends the whole gradient to the input that won: "
            f"{_numbers(gradients['max'])}. Average pooling shares it out evenly: "
            f"{_numbers(gradients['average'])}. So under max pooling only the strongest "
            "response in each window learns from that example.",
        ),
        Exercise(
            "Global average pooling",
            "A network ends its convolutions with a 7 × 7 × 64 map and then `Dense(10)`. How "
            "many parameters does the dense layer have after `Flatten()`, and after "
            "`GlobalAveragePooling2D()`, which averages each channel to one number?",
            f"After `Flatten()`: $7 \\cdot 7 \\cdot 64 \\cdot 10 + 10 = {tex(counts[0])}$. After "
            f"global average pooling: $64 \\cdot 10 + 10 = {tex(counts[1])}$. Most modern "
            "classification networks end this way: the dense layer no longer grows with the "
            "size of the map, and the model cares less where in the image a feature is.",
        ),
    )


def receptive_field_exercises() -> str:
    """Receptive fields of other stacks, and two 3 × 3 against one 5 × 5."""
    stack = (("conv", 3, 1, "valid"), ("conv", 3, 1, "valid"), ("pool", 2, 2, "valid"))
    stack += (("conv", 3, 1, "valid"),)
    steps = receptive_field([(kernel, stride) for _, kernel, stride, _ in stack])
    measured = [_extent(gradient) for gradient in measured_receptive_fields(stack, 40)]
    check([r for r, _ in steps] == measured, f"exercise 1: {steps} but autodiff {measured}")
    working = " → ".join(str(r) for r, _ in steps)

    channels = 32
    two = 2 * conv_parameters((3, 3), channels, channels)
    one = conv_parameters((5, 5), channels, channels)
    pair = receptive_field([(3, 1), (3, 1)])[-1][0]
    check(pair == receptive_field([(5, 1)])[-1][0], "two 3 × 3 see what one 5 × 5 sees")

    lenet = receptive_field([(kernel, stride) for _, kernel, stride, _ in LENET5_GEOMETRY])
    r, j = lenet[-1]
    span = r + (5 - 1) * j  # the 5 × 5 positions of pool 2 that Flatten hands to the first Dense
    return exercises(
        Exercise(
            "Follow the recursion",
            "Work out the receptive field after each layer of conv 3 × 3 → conv 3 × 3 → "
            "max pooling 2 × 2 → conv 3 × 3 (stride 1 for the convolutions).",
            f"$r$ goes 1 → {working}, and the jump $j$ becomes 2 at the pooling, so the last "
            f"3 × 3 convolution adds $(3 - 1) \\cdot 2$ instead of 2. One of its outputs sees a "
            f"{steps[-1][0]} × {steps[-1][0]} patch.",
        ),
        Exercise(
            "Two small kernels or one big one",
            f"Compare two stacked 3 × 3 convolutions with {channels} channels in and out with one "
            "5 × 5 convolution: receptive field, parameters, and what else differs?",
            f"Both see a {pair} × {pair} patch. The pair has $2 \\cdot (3 \\cdot 3 \\cdot "
            f"{channels} + 1) \\cdot {channels} = {tex(two)}$ parameters, the single layer "
            f"$(5 \\cdot 5 \\cdot {channels} + 1) \\cdot {channels} = {tex(one)}$, "
            f"{one / two - 1:.0%} more than the pair. The pair also has a ReLU in between, so "
            "it can compute things one linear filter cannot. This is why VGG-style networks use "
            "3 × 3 kernels throughout.",
        ),
        Exercise(
            "What the first dense layer sees",
            "LeNet5's last pooling output is 5 × 5 × 16, with receptive field "
            f"{r} and jump {j}. `Flatten` hands all 25 positions to the first `Dense` layer. "
            "How much of the image does one of its units see?",
            f"The 5 positions along one axis start {j} pixels apart, so together they span "
            f"${r} + (5 - 1) \\cdot {j} = {span}$ pixels, more than the 28 of the image (the "
            'first convolution\'s `padding="same"` adds a border). Every dense unit sees the '
            "whole digit: this is where the network puts the parts together.",
        ),
    )


def _numbers(matrix: np.ndarray) -> str:
    return ", ".join(f"{value:g}" for value in matrix.ravel())
