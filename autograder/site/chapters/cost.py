"""Parameters versus multiply-adds: what a layer stores against what it computes per image."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .arithmetic import conv_parameters, dense_parameters
from .common import (
    Exercise,
    check,
    exercises,
    figure_block,
    markdown_table,
    new_figure,
    save,
    shape,
    tex,
)


def conv_multiply_adds(
    output: tuple[int, int], kernel: tuple[int, int], c_in: int, c_out: int
) -> int:
    """Multiply-adds of a convolution for one image: H_out · W_out · K_h · K_w · C_in · C_out."""
    return output[0] * output[1] * kernel[0] * kernel[1] * c_in * c_out


def dense_multiply_adds(units_in: int, units_out: int) -> int:
    """Multiply-adds of a dense layer for one input: n_in · n_out."""
    return units_in * units_out


def keras_example_convnet():
    """The "Simple MNIST convnet" of keras.io's code examples, for comparison with LeNet5."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(10, activation="softmax"),
        ],
        name="keras_example",
    )


def layer_costs(model) -> list[dict]:
    """Parameters and multiply-adds per image of every Conv2D and Dense layer, by formula."""
    from keras import layers

    costs = []
    for layer in model.layers:
        c_in = layer.input.shape[-1]
        out = tuple(layer.output.shape[1:])
        if isinstance(layer, layers.Conv2D):
            count = conv_parameters(layer.kernel_size, c_in, layer.filters)
            work = conv_multiply_adds(out[:2], layer.kernel_size, c_in, layer.filters)
            kind = f"Conv2D {layer.filters}, {layer.kernel_size[0]} × {layer.kernel_size[1]}"
        elif isinstance(layer, layers.Dense):
            count, work = (
                dense_parameters(c_in, layer.units),
                dense_multiply_adds(c_in, layer.units),
            )
            kind = f"Dense {layer.units}"
        else:
            continue
        check(
            count == layer.count_params(), f"{layer.name}: {count} but Keras {layer.count_params()}"
        )
        costs.append({"layer": kind, "shape": out, "parameters": count, "multiply_adds": work})
    return costs


def cost_figure(figures: Path) -> str:
    """Parameters against multiply-adds, layer by layer, for LeNet5 and keras.io's convnet."""
    from autograder.course.models import lenet5

    models = {"LeNet5": lenet5(), "keras.io's simple MNIST convnet": keras_example_convnet()}
    fig = new_figure(10, 3.4)
    sections = []
    for ax, (name, model) in zip(fig.subplots(1, 2, sharey=True), models.items(), strict=True):
        costs = layer_costs(model)
        positions = np.arange(len(costs))
        params = [cost["parameters"] for cost in costs]
        work = [cost["multiply_adds"] for cost in costs]
        ax.bar(positions - 0.2, params, width=0.4, label="parameters")
        ax.bar(positions + 0.2, work, width=0.4, label="multiply-adds per image")
        ax.set_yscale("log")
        ax.set_xticks(positions, [cost["layer"] for cost in costs], rotation=20, ha="right")
        ax.set_title(name, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        total_params = sum(params)
        check(total_params == model.count_params(), f"{name}: layers do not sum to the model")
        total_work = sum(work)
        rows = [
            [
                cost["layer"],
                shape(cost["shape"]),
                f"{cost['parameters']:,}",
                _share(cost["parameters"], total_params),
                f"{cost['multiply_adds']:,}",
                _share(cost["multiply_adds"], total_work),
            ]
            for cost in costs
        ]
        rows.append(["**Total**", "", f"**{total_params:,}**", "", f"**{total_work:,}**", ""])
        header = ["Layer", "Output", "Parameters", "share", "Multiply-adds per image", "share"]
        sections += [f"**{name}**", markdown_table(header, "llrrrr", rows)]
    fig.axes[0].legend(fontsize=8)
    save(fig, figures, "cost.svg")
    return "\n\n".join(
        [
            figure_block(
                "cost.svg",
                "Bar charts of parameters and multiply-adds per layer, on a log scale",
                "Parameters (what a layer stores) against multiply-adds (what it computes for one "
                "image), layer by layer, on a logarithmic scale. Pooling, flattening and dropout "
                "have neither.",
            ),
            *sections,
        ]
    )


def cost_exercises() -> str:
    """Same parameters, different work; what a stride saves; what batch normalisation stores."""
    import keras

    conv, dense = keras.layers.Conv2D(32, 3), keras.layers.Dense(32)
    conv.build((None, 28, 28, 1))
    dense.build((None, 9))
    check(conv.count_params() == dense.count_params(), "the 320-parameter pair")
    conv_work = conv_multiply_adds((26, 26), (3, 3), 1, 32)
    dense_work = dense_multiply_adds(9, 32)

    slow = keras.layers.Conv2D(64, 3, padding="same")
    fast = keras.layers.Conv2D(64, 3, strides=2, padding="same")
    feature_map = np.zeros((1, 16, 16, 32), dtype="float32")
    sizes = slow(feature_map).shape[1], fast(feature_map).shape[1]
    work = [conv_multiply_adds((size, size), (3, 3), 32, 64) for size in sizes]
    check(slow.count_params() == fast.count_params(), "a stride changes no parameter")

    norm = keras.layers.BatchNormalization()
    norm.build((None, 14, 14, 64))
    trained = sum(int(np.prod(w.shape)) for w in norm.trainable_weights)
    check(norm.count_params() == 4 * 64 and trained == 2 * 64, "batch normalisation: 4C, 2C")
    return exercises(
        Exercise(
            "Same size, different work",
            "`Conv2D(32, 3)` on a 28 × 28 × 1 image and `Dense(32)` on 9 inputs both have "
            f"{conv.count_params()} parameters. How many multiply-adds does each do per image?",
            f"The convolution: $26 \\cdot 26 \\cdot 3 \\cdot 3 \\cdot 1 \\cdot 32 = "
            f"{tex(conv_work)}$; the dense layer: $9 \\cdot 32 = {tex(dense_work)}$, "
            f"{conv_work // dense_work} times less, which is the number of positions "
            "($26 \\cdot 26$) the convolution applies its weights at. A parameter budget bounds "
            "a model's size, not its training time.",
        ),
        Exercise(
            "What a stride saves",
            '`Conv2D(64, 3, padding="same")` on a 16 × 16 × 32 map: how do its parameters and '
            "multiply-adds change with `strides=2`?",
            f"The parameters stay at {slow.count_params():,}. The output shrinks from "
            f"{sizes[0]} × {sizes[0]} to {sizes[1]} × {sizes[1]}, so the multiply-adds drop "
            f"from {work[0]:,} to {work[1]:,}, a factor {work[0] // work[1]}.",
        ),
        Exercise(
            "Batch normalisation's parameters",
            "How many parameters does `BatchNormalization()` after a 64-channel convolution "
            "have, and how many of them are trained by gradient descent?",
            f"{norm.count_params()}: a scale $\\gamma$, a shift $\\beta$, a moving mean and a "
            f"moving variance per channel. Only $\\gamma$ and $\\beta$ ({trained}) are trained; "
            "the moving statistics are updated as averages during training and used at "
            "inference. `model.summary()` lists the other "
            f"{norm.count_params() - trained} as non-trainable.",
        ),
    )


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if part < 0.1 * whole else f"{part / whole:.0%}"
