"""Overfitting and regularisation: a real overfitting run, and what the regularisers really do."""

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
)

VARIANTS = {  # name: (dropout rate, L2 factor)
    "no regularisation": (0.0, 0.0),
    "Dropout(0.5)": (0.5, 0.0),
    "weight decay (L2 1e-3)": (0.0, 1e-3),
}


def overfitting(figures: Path, epochs: int = 40) -> str:
    """A small dense network on 1,000 MNIST images, plain, with dropout and with weight decay."""
    import keras

    mnist = load_raw("mnist")
    x = mnist["X_train"][:3000].reshape(-1, 784).astype("float32") / 255.0
    y = mnist["y_train"][:3000]
    train, held = slice(0, 1000), slice(1000, 3000)
    # Independent networks in one model: they share only the input, so each learns as if
    # trained alone (Adam works per weight), and one training loop yields every curve.
    keras.utils.set_random_seed(SEED)
    inputs = keras.Input((784,))
    outputs, hidden_layers = {}, {}
    for index, (rate, l2) in enumerate(VARIANTS.values()):
        regulariser = keras.regularizers.L2(l2) if l2 else None
        hidden_layers[index] = keras.layers.Dense(
            256, activation="relu", kernel_regularizer=regulariser
        )
        hidden = keras.layers.Dropout(rate)(hidden_layers[index](inputs))
        outputs[f"v{index}"] = keras.layers.Dense(10, activation="softmax", name=f"v{index}")(
            hidden
        )
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer="adam", loss={name: "sparse_categorical_crossentropy" for name in outputs}
    )
    # train_on_batch/test_on_batch: the same updates as fit(), without its per-epoch overhead.
    rng = np.random.default_rng(SEED)
    x_train, y_train = x[train], y[train]
    histories = {name: {"loss": [], "val_loss": []} for name in outputs}
    for _ in range(epochs):
        order = rng.permutation(len(x_train))
        for start in range(0, len(order), 100):
            batch = order[start : start + 100]
            model.train_on_batch(x_train[batch], {name: y_train[batch] for name in outputs})
        for key, (images, labels) in {
            "loss": (x_train, y_train),
            "val_loss": (x[held], y[held]),
        }.items():
            result = model.test_on_batch(
                images, {name: labels for name in outputs}, return_dict=True
            )
            for name in outputs:
                histories[name][key].append(float(result[f"{name}_loss"]))
    norms = [float(np.linalg.norm(layer.kernel.numpy())) for layer in hidden_layers.values()]

    fig = new_figure(10, 3.3)
    axes = fig.subplots(1, len(VARIANTS), sharey=True)
    rows = []
    for ax, label, history, norm in zip(axes, VARIANTS, histories.values(), norms, strict=True):
        numbers = np.arange(1, epochs + 1)
        ax.plot(numbers, history["loss"], label="training loss")
        ax.plot(numbers, history["val_loss"], label="validation loss")
        best = int(np.argmin(history["val_loss"]))
        ax.axvline(best + 1, color="grey", linestyle=":", label=f"best epoch ({best + 1})")
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
        rows.append(
            [
                label,
                best + 1,
                f"{history['val_loss'][best]:.3f}",
                f"{history['loss'][-1]:.3f}",
                f"{history['val_loss'][-1]:.3f}",
                f"{norm:.1f}",
            ]
        )
    axes[0].set_ylabel("cross-entropy")
    save(fig, figures, "overfitting.svg")
    plain = histories["v0"]
    check(
        plain["val_loss"][-1] > min(plain["val_loss"]) and plain["loss"][-1] < plain["loss"][0],
        "the unregularised network should overfit: validation loss up, training loss down",
    )
    check(norms[2] < norms[0], f"weight decay should shrink the weights: {norms}")
    finals = [history["val_loss"][-1] for history in histories.values()]
    check(min(finals[1:]) > 0 and max(finals[1:]) < finals[0], f"regularisers help: {finals}")
    header = ["Regulariser", "Best epoch", "Best validation loss", "Final training loss"]
    header += ["Final validation loss", "Size of the hidden weights ‖W‖"]
    return "\n\n".join(
        [
            figure_block(
                "overfitting.svg",
                "Training and validation loss of three dense networks over 40 epochs",
                f"A dense network (784 → 256 → 10) trained for {epochs} epochs on only "
                f"{len(x_train):,} MNIST images and validated on {held.stop - held.start:,} "
                "others: plain, with dropout, and with weight decay.",
            ),
            markdown_table(header, "lrrrrr", rows),
        ]
    )


def regularisers() -> str:
    """What Dropout, BatchNormalization and EarlyStopping actually do, run on real Keras layers."""
    import keras

    rng = np.random.default_rng(SEED)
    ones = np.ones((1, 10_000), dtype="float32")
    dropped = keras.layers.Dropout(0.5, seed=SEED)(ones, training=True).numpy()
    inference = keras.layers.Dropout(0.5)(ones, training=False).numpy()
    kept = dropped[dropped != 0]

    means, stds = np.array([5.0, -2.0, 10.0]), np.array([3.0, 1.0, 0.5])
    maps = (rng.normal(size=(32, 6, 6, 3)) * stds + means).astype("float32")
    norm = keras.layers.BatchNormalization()
    trained = norm(maps, training=True).numpy()
    served = norm(maps, training=False).numpy()
    per_channel = trained.mean(axis=(0, 1, 2)), trained.std(axis=(0, 1, 2))
    check(np.allclose(per_channel[0], 0, atol=1e-3), "BN: each channel's mean over N, H, W is 0")
    check(np.allclose(per_channel[1], 1, atol=1e-2), "BN: each channel's std over N, H, W is 1")

    losses = [0.62, 0.44, 0.37, 0.34, 0.35, 0.33, 0.36, 0.38, 0.41, 0.45, 0.49, 0.52]
    stopped, best = early_stopping(losses, patience=3)
    channels = ", ".join(f"{round(m, 3) + 0.0:.3f}" for m in per_channel[0])  # no "-0.000"
    spreads = ", ".join(f"{s:.3f}" for s in per_channel[1])
    rows = [
        [
            "`Dropout(0.5)`, training",
            "10,000 inputs equal to 1",
            f"{np.mean(dropped == 0):.1%} set to 0, the rest scaled to {kept.min():g}; "
            f"mean {dropped.mean():.3f}",
        ],
        [
            "`Dropout(0.5)`, inference",
            "the same inputs",
            f"unchanged: mean {inference.mean():g}, {np.mean(inference == 0):.0%} zeros",
        ],
        [
            "`BatchNormalization`, training",
            f"a batch of {shape_text(maps.shape)} feature maps whose 3 channels have means "
            f"{', '.join(f'{m:g}' for m in means)} and standard deviations "
            f"{', '.join(f'{s:g}' for s in stds)}",
            f"per channel, over the batch and the 6 × 6 positions: means {channels}, standard "
            f"deviations {spreads}",
        ],
        [
            "`BatchNormalization`, inference after one step",
            "the same batch",
            f"channel means {', '.join(f'{m:.2f}' for m in served.mean(axis=(0, 1, 2)))}: the "
            "moving averages (momentum 0.99) have barely moved yet",
        ],
        [
            "`EarlyStopping(patience=3, restore_best_weights=True)`",
            f"validation losses {', '.join(f'{v:.2f}' for v in losses)}",
            f"stops after epoch {stopped}, restores the weights of epoch {best}",
        ],
    ]
    return markdown_table(["Layer", "Input", "What comes out"], "lll", rows)


def shape_text(dimensions) -> str:
    return " × ".join(str(size) for size in dimensions)


def early_stopping(losses: list[float], patience: int) -> tuple[int, int]:
    """Feed ``losses`` to Keras's real EarlyStopping; return (last epoch run, restored epoch)."""
    import keras

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    callback = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=patience, restore_best_weights=True
    )
    callback.set_model(model)
    model.stop_training = False  # what fit() sets before the first epoch
    callback.on_train_begin()
    for epoch, loss in enumerate(losses):
        model.layers[0].kernel.assign([[float(epoch)]])  # the weights remember their epoch
        callback.on_epoch_end(epoch, {"val_loss": loss})
        if model.stop_training:
            break
    callback.on_train_end()
    return epoch + 1, int(model.layers[0].kernel.numpy()[0, 0]) + 1


def regularisation_exercises() -> str:
    """Dropout's scale, batch normalisation's statistics, early stopping and weight decay."""
    import keras
    import tensorflow as tf

    rate = 0.3
    out = keras.layers.Dropout(rate, seed=1)(np.ones((1, 1000), dtype="float32"), training=True)
    scale = float(np.max(out))
    check(abs(scale - 1 / (1 - rate)) < 1e-5, "dropout scales the kept values by 1/(1 - p)")

    norm = keras.layers.BatchNormalization()
    norm.build((None, 14, 14, 64))
    check(tuple(norm.moving_mean.shape) == (64,), "one mean per channel")

    losses = [0.50, 0.41, 0.39, 0.40, 0.38, 0.42, 0.43, 0.44, 0.45]
    stopped, best = early_stopping(losses, patience=2)
    rise = next(i for i in range(1, len(losses)) if losses[i] > losses[i - 1]) + 1
    check(rise < best, "the example has a rise before its best epoch")

    eta, lam = 0.1, 1e-3
    weight = keras.Variable(np.array([2.0], dtype="float32"))
    sgd = keras.optimizers.SGD(eta)
    penalty = keras.regularizers.L2(lam)
    with tf.GradientTape() as tape:
        loss = penalty(weight)
    sgd.apply([tape.gradient(loss, weight)], [weight])
    factor = float(weight.numpy()[0]) / 2.0
    check(abs(factor - (1 - 2 * eta * lam)) < 1e-6, "an L2 step multiplies w by 1 − 2ηλ")
    return exercises(
        Exercise(
            "Dropout's scale",
            f"During training, `Dropout({rate:g})` keeps about {1 - rate:.0%} of its inputs. "
            "By what does it multiply the inputs it keeps, and why?",
            f"By $1/(1 - {rate:g}) \\approx {scale:.3f}$ (Keras's layer returns exactly that). "
            "The expected value of each output then equals its input, so the next layer sees "
            "the same scale in training, where units are dropped, and at inference, where "
            "dropout does nothing.",
        ),
        Exercise(
            "Batch normalisation's statistics",
            "`BatchNormalization()` follows a convolution whose output is a batch of shape "
            "(N, 14, 14, 64). How many means does it compute per training step, and over how "
            "many numbers each?",
            f"One mean (and one variance) per channel, {norm.moving_mean.shape[0]} in all, each "
            "over all $N \\cdot 14 \\cdot 14$ numbers of its channel: every image of the batch "
            "*and* every position. A filter's response is treated the same wherever it is in "
            "the image, just as the filter itself is shared across positions.",
        ),
        Exercise(
            "When does early stopping stop?",
            f"`EarlyStopping(patience=2, restore_best_weights=True)` sees the validation losses "
            f"{', '.join(f'{v:.2f}' for v in losses)}. After which epoch does training stop, "
            "and which epoch's weights does the model end with?",
            f"The best loss, {min(losses):.2f}, comes at epoch {best}; two epochs without "
            f"improvement follow, so training stops after epoch {stopped} and the weights of "
            f"epoch {best} are restored (Keras's callback, fed these losses, does exactly this). "
            f"The rise at epoch {rise} used up only one epoch of patience, and the new best "
            f"at epoch {best} reset the count.",
        ),
        Exercise(
            "Weight decay in one step",
            f"An L2 penalty $\\lambda \\lVert w \\rVert^2$ with $\\lambda = {lam:g}$ is added to "
            f"the loss, and SGD runs with learning rate $\\eta = {eta:g}$. Ignoring the rest of "
            "the loss, what does one step do to a weight?",
            "The penalty's gradient is $2 \\lambda w$, so $w \\leftarrow w - 2 \\eta \\lambda w = "
            f"(1 - 2 \\eta \\lambda)\\,w$: every step multiplies each weight by {factor:.4f}, "
            "hence *decay*. Weights that the data does not keep pushing up fade away. (With "
            "Adam, use `AdamW`'s `weight_decay`, which applies this shrinking directly rather "
            "than through Adam's rescaled gradients.)",
        ),
    )
