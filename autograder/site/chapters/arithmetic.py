"""Convolution arithmetic: output sizes, padding, stride and the floor, and LeNet5 layer by layer.

The formulas here are the ones the pages teach; every figure and exercise
applies them and checks the result against a real Keras layer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

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
    shape,
    tex,
)


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output size along one axis: ⌊(W − K + 2P) / S⌋ + 1."""
    return (size - kernel + 2 * padding) // stride + 1


def same_output_size(size: int, stride: int) -> int:
    """Output size with ``padding="same"``: ⌈W / S⌉."""
    return -(-size // stride)


def conv_parameters(kernel: tuple[int, int], channels_in: int, filters: int) -> int:
    """Trainable parameters of a convolution: (k_h · k_w · C_in + 1) · C_out."""
    return (kernel[0] * kernel[1] * channels_in + 1) * filters


def dense_parameters(units_in: int, units_out: int) -> int:
    """Trainable parameters of a dense layer: in · out + out."""
    return units_in * units_out + units_out


def keras_output_size(size: int, kernel: int, stride: int, padding: int | str) -> int:
    """What a real Keras ``Conv2D`` gives along one axis (explicit padding with ZeroPadding2D)."""
    import keras

    image = np.zeros((1, size, size, 1), dtype="float32")
    if isinstance(padding, int):
        image = keras.layers.ZeroPadding2D(padding)(image) if padding else image
        padding = "valid"
    output = keras.layers.Conv2D(1, kernel, strides=stride, padding=padding)(image)
    return int(output.shape[1])


# -- Figures ---------------------------------------------------------------------------------------

SETTINGS = (  # (W, K, P, S, what it shows)
    (5, 3, 0, 1, '`padding="valid"`'),
    (5, 3, 1, 1, '`padding="same"`'),
    (7, 3, 0, 2, "stride 2"),
    (6, 3, 0, 2, "stride 2 and the floor"),
)


def convolution_figures(figures: Path) -> str:
    """Sliding-window diagrams for four settings, and a digit through three hand-set filters."""
    fig = new_figure(8, 5.6)
    axes = fig.subplots(2, 2).ravel()
    rows = []
    for ax, (size, kernel, padding, stride, label) in zip(axes, SETTINGS, strict=True):
        out = conv_output_size(size, kernel, stride, padding)
        real = keras_output_size(size, kernel, stride, padding)
        check(out == real, f"W={size} K={kernel} P={padding} S={stride}: {out} but Keras {real}")
        unseen = _draw_setting(ax, size, kernel, padding, stride)
        ax.set_title(f"W = {size}, K = {kernel}, P = {padding}, S = {stride} → {out}", fontsize=10)
        fraction = f"({size} − {kernel} + 2·{padding}) / {stride}"
        rows.append(
            [label, size, kernel, padding, stride, f"⌊{fraction}⌋ + 1 = {out}", real, unseen]
        )
    save(fig, figures, "conv_arithmetic.svg")
    table = markdown_table(
        ["Setting", "W", "K", "P", "S", "Formula", "Keras", "Input rows never seen"],
        "lrrrrlrr",
        rows,
    )
    return "\n\n".join(
        [
            figure_block(
                "conv_arithmetic.svg",
                "Four grids of input cells with the first two positions of a 3 × 3 window",
                "The first two positions of a 3 × 3 window (blue, then orange) on an input of "
                "size W with padding P (grey cells are zeros) and stride S, and the output "
                "(right of each grid). In the last setting the window never reaches the red "
                "row and column: the formula's floor drops them.",
            ),
            table,
            _edge_filters(figures),
        ]
    )


def _draw_setting(ax, size: int, kernel: int, padding: int, stride: int) -> int:
    """One diagram: padded input, two window positions, output grid; returns rows never seen."""
    from matplotlib.patches import Rectangle

    total = size + 2 * padding
    out = conv_output_size(size, kernel, stride, padding)
    seen = np.zeros(total, dtype=bool)
    for position in range(out):
        seen[position * stride : position * stride + kernel] = True
    for row in range(total):
        for column in range(total):
            pad = min(row, column) < padding or max(row, column) >= padding + size
            colour = "#d9d9d9" if pad else "white"
            if not (seen[row] and seen[column]) and not pad:
                colour = "#f4b6b6"
            ax.add_patch(Rectangle((column, total - 1 - row), 1, 1, fc=colour, ec="#888", lw=0.6))
    for step, (colour, style) in enumerate((("#1f77b4", "-"), ("#ff7f0e", "--"))):
        offset = step * stride if out > 1 else 0
        ax.add_patch(
            Rectangle(
                (offset, total - kernel), kernel, kernel, fill=False, ec=colour, lw=2.2, ls=style
            )
        )
    left = total + 1.2
    for row in range(out):
        for column in range(out):
            first = (row, column) == (0, 0)
            second = (row, column) == (0, 1)
            colour = "#aec7e8" if first else "#ffbb78" if second else "#f0f0f0"
            ax.add_patch(
                Rectangle((left + column, total - 1 - row), 1, 1, fc=colour, ec="#555", lw=0.8)
            )
    ax.set_xlim(-0.2, left + out + 0.2)
    ax.set_ylim(-0.2, total + 0.2)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return int(np.sum(~seen[padding : padding + size]))


def _edge_filters(figures: Path) -> str:
    """A test digit through a real Conv2D whose three filters are set by hand."""
    import keras
    from scipy.signal import convolve2d, correlate2d

    digit = scaled(load_raw("mnist")["X_test"][:1])
    kernels = {
        "vertical edges": np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype="float32"),
        "horizontal edges": np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], dtype="float32"),
        "blur": np.full((3, 3), 1 / 9, dtype="float32"),
    }
    layer = keras.layers.Conv2D(len(kernels), 3, padding="valid", use_bias=False)
    layer.build((None, 28, 28, 1))
    layer.set_weights([np.stack(list(kernels.values()), axis=-1)[:, :, np.newaxis, :]])
    maps = keras.ops.convert_to_numpy(layer(digit))[0]
    sobel = kernels["vertical edges"]
    correlation = float(np.abs(maps[..., 0] - correlate2d(digit[0, ..., 0], sobel, "valid")).max())
    flipped = float(np.abs(maps[..., 0] - convolve2d(digit[0, ..., 0], sobel, "valid")).max())
    check(correlation < 1e-5 < flipped, "Conv2D should compute a cross-correlation")

    fig = new_figure(10, 2.9)
    axes = fig.subplots(1, 1 + len(kernels))
    axes[0].imshow(digit[0, ..., 0], cmap="gray_r")
    axes[0].set_title(f"input, {shape(digit.shape[1:3])}", fontsize=9)
    for index, (name, kernel) in enumerate(kernels.items()):
        limit = float(np.abs(maps[..., index]).max()) or 1.0
        axes[index + 1].imshow(maps[..., index], cmap="RdBu_r", vmin=-limit, vmax=limit)
        axes[index + 1].set_title(f"{name}, {shape(maps.shape[:2])}", fontsize=9)
        inset = axes[index + 1].inset_axes((0.0, 0.0, 0.28, 0.28))
        inset.imshow(kernel, cmap="RdBu_r", vmin=-2, vmax=2)
        inset.set_xticks([])
        inset.set_yticks([])
    for ax in axes:
        ax.set_axis_off()
    save(fig, figures, "edge_filters.png")
    return "\n\n".join(
        [
            figure_block(
                "edge_filters.png",
                "A handwritten 7 and three feature maps: vertical edges, horizontal edges, blur",
                "A real `Conv2D(3, 3)` whose three filters were set by hand (bottom left of each "
                "map): red where the filter's response is positive, blue where it is negative.",
            ),
            "Keras's `Conv2D` slides the filter without flipping it: strictly speaking it "
            "computes a cross-correlation. Its vertical-edge map matches "
            "`scipy.signal.correlate2d` to within 10⁻⁵, while a textbook convolution, which "
            f"flips the kernel, differs from it by up to {flipped:.1f}. For learned filters "
            "the difference does not matter: the network "
            "learns the flipped filter instead.",
        ]
    )


# -- LeNet5 layer by layer -------------------------------------------------------------------------


def lenet5_table() -> str:
    """LeNet5 layer by layer: shapes and parameters by formula, checked against Keras."""
    from keras import layers

    from autograder.course.models import lenet5

    model = lenet5()
    current = tuple(model.input_shape[1:])
    rows = [["", "input", "", shape(current), "", ""]]
    total = 0
    for index, layer in enumerate(model.layers, start=1):
        current, working, count = _worked_layer(layer, current, layers)
        keras_shape = tuple(layer.output.shape[1:])
        check(
            current == keras_shape and count == layer.count_params(),
            f"LeNet5 layer {layer.name}: the formulas give {current} and {count} parameters, "
            f"Keras {keras_shape} and {layer.count_params()}",
        )
        total += count
        kind = f"`{type(layer).__name__}`"
        rows.append([index, kind, _settings(layer, layers), shape(current), working, f"{count:,}"])
    check(total == model.count_params(), f"LeNet5: {total:,} but Keras {model.count_params()}")
    rows.append(["", "**Total**", "", "", "", f"**{total:,}**"])
    convolutions = sum(layer.count_params() for layer in model.layers if "conv" in layer.name)
    largest = max(model.layers, key=lambda layer: layer.count_params())
    header = ["#", "Layer", "Settings", "Output shape", "Parameters: working", "Parameters"]
    return "\n".join(
        [
            markdown_table(header, "rllllr", rows),
            "",
            f"The two convolutions have {convolutions:,} parameters together, "
            f"{convolutions / total:.1%} of the model. The largest layer is "
            f"`{type(largest).__name__}({largest.units})` with {largest.count_params():,}: "
            "it connects every flattened feature to every unit.",
        ]
    )


def _worked_layer(layer, current: tuple, layers) -> tuple[tuple, str, int]:
    """The layer's output shape and parameter count, worked from the formulas."""
    if isinstance(layer, layers.Conv2D | layers.MaxPooling2D):
        kernel = layer.kernel_size if isinstance(layer, layers.Conv2D) else layer.pool_size
        stride = layer.strides
        height, width = (
            same_output_size(current[axis], stride[axis])
            if layer.padding == "same"
            else conv_output_size(current[axis], kernel[axis], stride[axis], 0)
            for axis in (0, 1)
        )
        if isinstance(layer, layers.MaxPooling2D):
            return (height, width, current[2]), "no weights", 0
        count = conv_parameters(kernel, current[2], layer.filters)
        working = f"({kernel[0]}·{kernel[1]}·{current[2]} + 1)·{layer.filters}"
        return (height, width, layer.filters), working, count
    if isinstance(layer, layers.Flatten):
        return (int(np.prod(current)),), f"{' · '.join(map(str, current))}: no weights", 0
    if isinstance(layer, layers.Dense):
        count = dense_parameters(current[0], layer.units)
        return (layer.units,), f"{current[0]}·{layer.units} + {layer.units}", count
    raise ValueError(f"LeNet5 table: no formula for layer type {type(layer).__name__}")


def _settings(layer, layers) -> str:
    if isinstance(layer, layers.Conv2D):
        k = layer.kernel_size
        activation = layer.activation.__name__
        return (
            f'{layer.filters} filters, {k[0]} × {k[1]}, `padding="{layer.padding}"`, {activation}'
        )
    if isinstance(layer, layers.MaxPooling2D):
        return f"{layer.pool_size[0]} × {layer.pool_size[1]}, stride {layer.strides[0]}"
    if isinstance(layer, layers.Dense):
        return f"{layer.units} units, {layer.activation.__name__}"
    return ""


# -- Exercises -------------------------------------------------------------------------------------


def convolution_exercises() -> str:
    """Shapes and counts the reader works out, each answer checked against a real Keras layer."""
    import keras

    colour = keras.layers.Conv2D(16, 5)
    colour_out = colour(np.zeros((1, 32, 32, 3), dtype="float32")).shape[1:]
    side = conv_output_size(32, 5, 1, 0)
    count = conv_parameters((5, 5), 3, 16)
    check(colour_out == (side, side, 16) and colour.count_params() == count, "exercise 1")

    valid, same = conv_output_size(28, 3, 2, 0), same_output_size(28, 2)
    last = (valid - 1) * 2  # where the last window starts
    real = keras_output_size(28, 3, 2, "valid"), keras_output_size(28, 3, 2, "same")
    check((valid, same) == real, f"exercise 2: {valid}, {same} but Keras {real}")

    outputs = 28 * 28 * 6
    conv_count = conv_parameters((5, 5), 1, 6)
    dense = keras.layers.Dense(outputs)
    dense.build((None, 28 * 28))
    dense_count = dense_parameters(28 * 28, outputs)
    check(dense.count_params() == dense_count, "exercise 3")
    return exercises(
        Exercise(
            "A colour image",
            "A 32 × 32 RGB image (3 channels) goes through `Conv2D(16, 5)` (stride 1, "
            '`padding="valid"`). What is the output shape, and how many parameters does the '
            "layer have?",
            f"$\\lfloor (32 - 5 + 0)/1 \\rfloor + 1 = {side}$, so the output is "
            f"{shape(colour_out)}. Each of the 16 filters has $5 \\cdot 5 \\cdot 3 = 75$ weights "
            "(one per position *and input channel*) and a bias: "
            f"$(75 + 1) \\cdot 16 = {tex(count)}$.",
        ),
        Exercise(
            "Stride 2",
            "A 28 × 28 feature map goes through a 3 × 3 convolution with stride 2. How large is "
            'the output with `padding="valid"`, and with `padding="same"`?',
            f"Valid: $\\lfloor (28 - 3)/2 \\rfloor + 1 = \\lfloor {(28 - 3) / 2:g} \\rfloor + 1 "
            f"= {valid}$: the last window covers rows {last} to {last + 2}, so row 27 (counting "
            "from 0) is never seen. Same: "
            f"$\\lceil 28 / 2 \\rceil = {same}$, Keras pads just enough for that. A stride-2 "
            "convolution halves the map like a pooling layer, but with learned weights.",
        ),
        Exercise(
            "Why weight sharing matters",
            "LeNet5's first layer turns a 28 × 28 image into 28 × 28 × 6 numbers with "
            f"{conv_count} parameters. How many would a `Dense` layer need to map the 784 pixels "
            "to the same number of outputs?",
            f"${28 * 28} \\cdot {tex(outputs)} + {tex(outputs)} = {tex(dense_count)}$ parameters, "
            "about "
            f"{dense_count // conv_count:,} times as many. The convolution reuses its 6 small "
            "filters at every position; the dense layer learns a separate weight for every "
            "(pixel, output) pair, including pairs far apart that have nothing to do with "
            "each other.",
        ),
    )
