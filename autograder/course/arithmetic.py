"""What a CNN costs, computed from a real Keras model: shapes, parameters, multiply-adds, reach.

The course teaches these by formula (Part 2's Task 2.3, the site's chapters);
:func:`layer_costs` computes them from the model itself, so the model answers
and pages that quote them can be checked against Keras.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from utilities import keras_compat


@dataclass(frozen=True)
class LayerCost:
    """One layer: its type, output shape (without the batch), parameters, multiply-adds."""

    kind: str
    shape: tuple[int, ...]
    parameters: int
    multiply_adds: int
    receptive_field: int  # input pixels along one axis that one output depends on


def layer_costs(model) -> list[LayerCost]:
    """The cost of every layer of a plain Keras model, in order (input layer left out)."""
    costs = []
    field, jump = 1, 1
    for layer in keras_compat.plain_layers(model):
        kind = type(layer).__name__
        shape = tuple(int(size) for size in layer.output.shape[1:])
        parameters = int(sum(np.prod(w.shape) for w in layer.weights))
        kernel, stride = _window(layer)
        if kernel:
            field += (kernel - 1) * jump
            jump *= stride
        costs.append(LayerCost(kind, shape, parameters, multiply_adds(layer), field))
    return costs


def multiply_adds(layer) -> int:
    """Multiply-adds of one layer for one image (convolutions and dense layers; 0 otherwise)."""
    kind = type(layer).__name__
    out = [int(size) for size in layer.output.shape[1:]]
    if kind == "Conv2D":
        kh, kw = layer.kernel_size
        channels_in = int(layer.input.shape[-1])
        return out[0] * out[1] * kh * kw * channels_in * out[2]
    if kind == "DepthwiseConv2D":
        kh, kw = layer.kernel_size
        return out[0] * out[1] * kh * kw * out[2]
    if kind == "SeparableConv2D":
        kh, kw = layer.kernel_size
        channels_in = int(layer.input.shape[-1])
        depth = channels_in * layer.depth_multiplier
        return out[0] * out[1] * (kh * kw * depth + depth * out[2])
    if kind == "Dense":
        return int(layer.input.shape[-1]) * out[-1]
    return 0


def _window(layer) -> tuple[int, int]:
    """The kernel size and stride along one axis of a convolution or pooling; (0, 1) otherwise."""
    if hasattr(layer, "kernel_size"):
        return int(layer.kernel_size[0]), int(layer.strides[0])
    if hasattr(layer, "pool_size"):
        return int(layer.pool_size[0]), int(layer.strides[0])
    return 0, 1
