"""Plots for training runs, predictions and datasets.

Every function builds a :class:`matplotlib.figure.Figure` without pyplot and
returns it: nothing blocks, nothing needs a display, and figures don't pile
up in pyplot's global state. In Jupyter, a figure that is the last
expression of a cell is drawn inline (``display(fig)`` shows one anywhere);
elsewhere call ``fig.savefig(path)``.
Labels may be class indices or one-hot / probability rows.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np
import seaborn as sns
from matplotlib.figure import Figure
from sklearn.metrics import confusion_matrix

from .labels import as_class_indices, check_same_length, class_names_for


class CourseFigure(Figure):
    """A Figure that Jupyter draws inline even when pyplot was never imported."""

    # Crop to what was drawn (one extra drawing pass); galleries lay themselves out exactly.
    crop_to_content = True

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", bbox_inches="tight" if self.crop_to_content else None)
        return buffer.getvalue()


def plot_training_history(history, *, title: str = "Training history") -> Figure:
    """Loss and every metric per epoch, training against validation.

    Parameters
    ----------
    history : keras.callbacks.History or dict
        ``model.fit(...)`` returns a History; its ``.history`` dict (or any
        dict of per-epoch lists such as ``{"loss": [...], "val_loss": [...]}``)
        works too.
    """
    logs = _history_dict(history)
    metrics = [name for name in logs if not name.startswith("val_")]
    metrics.sort(key=lambda name: (name != "loss", name))
    fig = CourseFigure(figsize=(4.5 * len(metrics), 3.6), layout="constrained")
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, metric in zip(axes, metrics, strict=True):
        epochs = np.arange(1, len(logs[metric]) + 1)
        ax.plot(epochs, logs[metric], marker="o", markersize=3, label="training")
        if f"val_{metric}" in logs:
            val_epochs = np.arange(1, len(logs[f"val_{metric}"]) + 1)
            ax.plot(val_epochs, logs[f"val_{metric}"], marker="o", markersize=3, label="validation")
        ax.set_title(metric)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    return fig


def plot_confusion_matrix(
    y_true, y_pred, class_names: Sequence[str] | None = None, *, title: str = "Confusion matrix"
) -> Figure:
    """Confusion matrix twice: raw counts, and rows normalised to recall per true class."""
    counts, names = _confusion(y_true, y_pred, class_names)
    row_totals = counts.sum(axis=1, keepdims=True)
    normalised = np.divide(counts, row_totals, out=np.zeros(counts.shape), where=row_totals > 0)
    fig = CourseFigure(figsize=(15, 6.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    _heatmap(left, counts, names, fmt="d", cmap="Blues", title="counts")
    _heatmap(right, normalised, names, fmt=".2f", cmap="Blues", title="share of each true class")
    fig.suptitle(title)
    return fig


def plot_error_matrix(
    y_true, y_pred, class_names: Sequence[str] | None = None, *, title: str = "Error matrix"
) -> Figure:
    """Confusion counts with the diagonal zeroed, so only the mistakes stand out."""
    counts, names = _confusion(y_true, y_pred, class_names)
    errors = counts.copy()
    np.fill_diagonal(errors, 0)
    fig = CourseFigure(figsize=(8, 6.5), layout="constrained")
    ax = fig.subplots()
    _heatmap(ax, errors, names, fmt="d", cmap="Reds", title=f"{title} (correct predictions hidden)")
    return fig


def plot_sample_images(
    images,
    labels,
    class_names: Sequence[str] | None = None,
    *,
    n: int = 25,
    seed: int | None = 0,
    title: str = "Sample images",
) -> Figure:
    """A grid of ``n`` images (random with ``seed``; first ``n`` when ``seed`` is None)."""
    pictures = _as_images(images)
    classes = as_class_indices(labels, name="labels")
    check_same_length(pictures, classes, "images", "labels")
    names = class_names_for({"labels": classes}, class_names)
    chosen = _choose(len(pictures), n, seed)
    return _gallery(pictures[chosen], [names[classes[i]] for i in chosen], title)


def plot_class_distribution(
    labels, class_names: Sequence[str] | None = None, *, title: str = "Class distribution"
) -> Figure:
    """Bar chart of images per class.

    ``labels`` is one label array, or a dict such as ``{"train": y_train,
    "validation": y_val}`` for grouped bars, one colour per split.
    """
    splits = dict(labels) if isinstance(labels, Mapping) else {"images": labels}
    if not splits:
        raise ValueError("labels: expected a label array or a non-empty dict of them")
    classes = {split: as_class_indices(y, name=split) for split, y in splits.items()}
    names = class_names_for(classes, class_names)
    n_classes = len(names)
    fig = CourseFigure(figsize=(max(6.0, 0.9 * n_classes), 4), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / len(classes)
    for offset, (split, y) in enumerate(classes.items()):
        counts = np.bincount(y, minlength=n_classes)[:n_classes]
        positions = np.arange(n_classes) + (offset - (len(classes) - 1) / 2) * width
        bars = ax.bar(positions, counts, width=width, label=f"{split} ({len(y):,})")
        ax.bar_label(bars, fontsize=7, padding=1)
    ax.set_xticks(np.arange(n_classes), names, rotation=30, ha="right")
    ax.set_ylabel("images")
    ax.set_title(title)
    if len(classes) > 1:
        ax.legend()
    return fig


def plot_misclassified(
    images,
    y_true,
    y_pred,
    class_names: Sequence[str] | None = None,
    *,
    n: int = 16,
    seed: int | None = 0,
    title: str = "Misclassified examples",
) -> Figure:
    """Gallery of wrongly classified images captioned "predicted Coat, true Shirt"."""
    pictures = _as_images(images)
    truth = as_class_indices(y_true, name="y_true")
    guess = as_class_indices(y_pred, name="y_pred")
    check_same_length(pictures, truth, "images", "y_true")
    check_same_length(truth, guess, "y_true", "y_pred")
    names = class_names_for({"y_true": truth, "y_pred": guess}, class_names)
    wrong = np.flatnonzero(truth != guess)
    if wrong.size == 0:
        fig = CourseFigure(figsize=(5, 2), layout="constrained")
        ax = fig.subplots()
        ax.axis("off")
        ax.text(0.5, 0.5, "No misclassified images", ha="center", va="center", fontsize=13)
        fig.suptitle(title)
        return fig
    chosen = wrong[_choose(len(wrong), n, seed)]
    captions = [f"predicted {names[guess[i]]},\ntrue {names[truth[i]]}" for i in chosen]
    return _gallery(pictures[chosen], captions, f"{title}: {wrong.size:,} of {len(truth):,}")


def plot_filters(
    model,
    *,
    layer: int | str | None = None,
    channel: int = 0,
    max_filters: int = 32,
    title: str | None = None,
) -> Figure:
    """The kernels of one ``Conv2D`` of the model, one small picture per filter.

    Each picture is the filter's weights for one input channel (``channel``;
    a grey image has only channel 0): red where the filter adds brightness,
    blue where it subtracts it. Edge and stroke detectors show up as a bright
    and a dark band.

    Parameters
    ----------
    layer : int, str or None
        Which convolution: ``None`` (the first), its position among the
        model's ``Conv2D`` layers (0 is the first, -1 the last) or its name.
    channel : int
        The input channel whose weights are drawn. A later convolution has
        one input channel per filter of the layer before it.
    """
    import keras

    conv = find_convolution(model, layer)
    kernel = np.asarray(keras.ops.convert_to_numpy(conv.kernel))  # (rows, columns, in, filters)
    if not 0 <= int(channel) < kernel.shape[2]:
        raise ValueError(
            f"channel: {conv.name} has input channels 0..{kernel.shape[2] - 1}, got {channel}"
        )
    shown = min(kernel.shape[-1], int(max_filters))
    pictures = np.moveaxis(kernel[:, :, int(channel), :shown], -1, 0)
    captions = [f"filter {index}" for index in range(shown)]
    limit = float(np.abs(pictures).max()) or 1.0
    size = f"{kernel.shape[0]}×{kernel.shape[1]}"
    where = f"{conv.name}, {size}" + (f", input channel {channel}" if kernel.shape[2] > 1 else "")
    default = "First-layer filters" if layer is None else "Filters"
    return _gallery(
        pictures,
        captions,
        f"{title or default}: {shown} of {kernel.shape[-1]} ({where})",
        cmap="RdBu_r",
        limits=(-limit, limit),
    )


def plot_feature_maps(
    model,
    image,
    *,
    layer: int | str | None = None,
    max_maps: int = 32,
    title: str = "Feature maps of one image",
) -> Figure:
    """What one ``Conv2D`` of the model makes of ``image``: one map per filter.

    ``image`` is one model input, shape (H, W) or (H, W, C), preprocessed as
    for training. The maps are that layer's output (after its own activation)
    for this image; bright where the filter found its pattern. ``layer``
    chooses the convolution as in :func:`plot_filters`: the first one by
    default, which is applied to the image directly; a later one sees what
    the layers before it make of the image.
    """
    import keras

    conv = find_convolution(model, layer)
    picture = np.asarray(image, dtype="float32")
    if picture.ndim == 2:
        picture = picture[..., np.newaxis]
    if picture.ndim != 3:
        raise ValueError(
            f"image: expected one image of shape (H, W) or (H, W, C), got {picture.shape}"
        )
    batch = picture[np.newaxis]
    first = conv is first_convolution(model)  # applied to the image itself, as always
    output = conv(batch) if first else _output_of(model, conv, batch)
    maps = np.asarray(keras.ops.convert_to_numpy(output))[0]
    shown = min(maps.shape[-1], int(max_maps))
    pictures = np.moveaxis(maps[..., :shown], -1, 0)
    captions = [f"map {index}" for index in range(shown)]
    return _gallery(
        pictures,
        captions,
        f"{title}: {shown} of {maps.shape[-1]} ({conv.name}, {maps.shape[0]}×{maps.shape[1]})",
        cmap="viridis",
    )


def convolutions(model) -> list:
    """Every ``keras.layers.Conv2D`` of ``model`` in order, looking inside nested blocks too."""
    import keras

    found = []

    def walk(layer):
        for inner in getattr(layer, "layers", []):
            if isinstance(inner, keras.layers.Conv2D):
                found.append(inner)
            walk(inner)

    walk(model)
    return found


def first_convolution(model):
    """The first ``keras.layers.Conv2D`` of ``model``, looking inside nested blocks too."""
    return find_convolution(model)


def find_convolution(model, layer: int | str | None = None):
    """One ``Conv2D`` of ``model``: the first (``None``), the n-th (an int) or the one named."""
    found = convolutions(model)
    if not found:
        raise ValueError("model: no Conv2D layer found; filters and feature maps need one")
    if layer is None:
        conv = found[0]
    elif isinstance(layer, str):
        named = [conv for conv in found if conv.name == layer]
        if not named:
            names = ", ".join(conv.name for conv in found)
            raise ValueError(f"layer: no Conv2D named {layer!r}; the model has {names}")
        conv = named[0]
    elif isinstance(layer, int | np.integer) and -len(found) <= int(layer) < len(found):
        conv = found[int(layer)]
    else:
        raise ValueError(
            f"layer: expected None, a Conv2D's name or its position 0..{len(found) - 1} "
            f"among the model's {len(found)} convolutions, got {layer!r}"
        )
    if not conv.built:
        raise ValueError(f"{conv.name}: not built yet; call the model on data or train it first")
    return conv


def _output_of(model, conv, batch):
    """``conv``'s output when ``model`` sees ``batch``: through the model's own graph, or by
    calling a chain of layers (nested ``Sequential`` blocks) one after the other."""
    import keras

    try:
        (inputs,) = model.inputs  # one input: the image
        return keras.Model(inputs, conv.output)(batch, training=False)
    except (AttributeError, ValueError, TypeError):
        pass  # no graph to cut (a subclassed model), or the layer is inside a nested block

    def chain(layer, x):
        if layer is conv:
            return layer(x), True
        if isinstance(layer, keras.Sequential):
            for inner in layer.layers:
                x, done = chain(inner, x)
                if done:
                    return x, True
            return x, False
        return layer(x, training=False), False

    if isinstance(model, keras.Sequential):
        output, done = chain(model, batch)
        if done:
            return output
    raise ValueError(
        f"{conv.name}: cannot reach this layer from the model's input; feature maps of a later "
        "convolution need a Sequential or functional model (the first convolution works always)"
    )


def _history_dict(history) -> dict[str, list[float]]:
    logs = getattr(history, "history", history)
    if not isinstance(logs, Mapping) or not any(not str(k).startswith("val_") for k in logs):
        raise ValueError(
            "history: expected the History returned by model.fit() or a dict of per-epoch "
            f"values with at least one training metric such as 'loss', got {logs!r:.80}"
        )
    try:
        return {str(name): [float(v) for v in values] for name, values in logs.items()}
    except (TypeError, ValueError):
        message = f"history: every metric must be a list of numbers, got {logs!r:.80}"
        raise ValueError(message) from None


def _confusion(y_true, y_pred, class_names):
    truth = as_class_indices(y_true, name="y_true")
    guess = as_class_indices(y_pred, name="y_pred")
    check_same_length(truth, guess, "y_true", "y_pred")
    names = class_names_for({"y_true": truth, "y_pred": guess}, class_names)
    return confusion_matrix(truth, guess, labels=np.arange(len(names))), names


def _heatmap(ax, matrix, names, *, fmt: str, cmap: str, title: str) -> None:
    sns.heatmap(
        matrix,
        ax=ax,
        annot=True,
        fmt=fmt,
        cmap=cmap,
        xticklabels=names,
        yticklabels=names,
        cbar=False,
        square=True,
        annot_kws={"fontsize": 8},
    )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)


# A gallery's cell for one picture, in inches: the picture, and a band above it for a
# caption of up to two lines; and the band at the top for the figure's title.
_CELL_WIDTH, _CELL_HEIGHT, _CAPTION_BAND, _TITLE_BAND = 1.6, 1.9, 0.4, 0.4


def _gallery(
    pictures: np.ndarray,
    captions: list[str],
    title: str,
    *,
    cmap: str = "gray_r",
    limits: tuple[float, float] | None = None,
) -> Figure:
    """One captioned picture per Axes, in rows of up to eight, placed on a fixed grid.

    A layout engine measured every Axes' (hidden) ticks, twice, to place what a
    fixed grid places exactly: this draws a 32-picture gallery in about half the
    time (``bench/plot_speed.py``), which graded notebooks feel most.
    """
    columns = min(len(pictures), 8)
    rows = int(np.ceil(len(pictures) / columns))
    grid_width = _CELL_WIDTH * columns
    # Wide enough for the title too (about 0.11 inch a character at its size).
    width, height = max(grid_width, 0.11 * len(title) + 0.4), _CELL_HEIGHT * rows + _TITLE_BAND
    fig = CourseFigure(figsize=(width, height))
    fig.crop_to_content = False
    margin = 0.05  # inches around each picture
    box = (_CELL_WIDTH - 2 * margin, _CELL_HEIGHT - _CAPTION_BAND - margin)
    for index, (picture, caption) in enumerate(zip(pictures, captions, strict=False)):
        row, column = divmod(index, columns)
        left = (width - grid_width) / 2 + column * _CELL_WIDTH + margin
        bottom = height - _TITLE_BAND - (row + 1) * _CELL_HEIGHT + margin
        ax = fig.add_axes((left / width, bottom / height, box[0] / width, box[1] / height))
        ax.set_axis_off()
        if limits is None:
            ax.imshow(picture, cmap=cmap)
        else:
            ax.imshow(picture, cmap=cmap, vmin=limits[0], vmax=limits[1])
        ax.set_title(caption, fontsize=8)
    fig.suptitle(title, y=1 - 0.06 / height, va="top")
    return fig


def _as_images(images) -> np.ndarray:
    array = np.asarray(images)
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 3:
        raise ValueError(f"images: expected shape (N, H, W) or (N, H, W, 1), got {array.shape}")
    return array


def _choose(total: int, n: int, seed: int | None) -> np.ndarray:
    if int(n) < 1 or total < 1:
        raise ValueError(f"nothing to show: n={n} and {total} images; expected at least one")
    count = min(int(n), total)
    if seed is None:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(total, size=count, replace=False))
