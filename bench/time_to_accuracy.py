"""Time-to-accuracy of the reference models on this machine, and what moves it.

Each run trains one model in a fresh Python process (so thread settings and
mixed precision apply cleanly) and reports the wall time of ``model.fit``
and the test accuracy:

* ``lenet5``: LeNet5 on MNIST's 52,500 training images (``load_mnist``),
  checking the 7,500 validation images after every epoch as Part 1 does,
  scored on the 10,000 official test images. Goal: ≥ 99.0 % within Part 1's
  specification (Adam, batch 64, 20 epochs).
* ``fashion``: the reference CNN on the course's 59,500 training images,
  scored on the hidden test split with the private answer key. Goal:
  ≥ 94.0 % within 180 s of ``fit`` on 2 idle CPU cores.

Variants change one thing against the reference (width, batch size,
schedule, label smoothing, augmentation, precision, threads, XLA, oneDNN,
input pipeline). ``--runs N`` repeats each with seeds 0..N-1 and reports the
median and range over the runs on an idle host: each run records the load
average before and after and the CPU that other processes used meanwhile
(:mod:`bench.host_load`); a busy run is kept in the record, marked, and left
out of the medians. Results are merged into ``bench/results.json`` (one entry
per machine, model and variant) and rendered as ``bench/results.md``.

Only the ``tf.data`` variants need TensorFlow; everything else runs through
Keras 3 on any backend (``KERAS_BACKEND=jax`` on a GPU machine without
TensorFlow).

    python bench/time_to_accuracy.py [--model lenet5|fashion] [--variant NAME ...] [--runs N]
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before anything imports TensorFlow

import argparse
import json
import subprocess
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder.course.models import FASHION_RECIPE, LENET5_RECIPE, Recipe  # noqa: E402
from bench import host_load  # noqa: E402
from bench.results import RESULTS_JSON, goal_met, machine, record, spread  # noqa: E402

#: Throughput-only variants change no arithmetic, only how fast it runs: they train this
#: many epochs and report the time per epoch, not an accuracy.
THROUGHPUT_EPOCHS = 3


@dataclass(frozen=True)
class Variant:
    """One training configuration: the reference recipe with some things changed."""

    model: str
    name: str
    note: str
    recipe: Recipe
    widths: tuple[int, ...] = (32, 64, 128)
    dense_units: int = 256
    pool_first: bool = True
    separable: bool = False
    flip: bool = True
    #: Score with test-time flip augmentation (the mean of the image's and its mirror's
    #: prediction); the submission rules allow it (see the leaderboard page).
    flip_tta: bool = False
    crop: bool = False
    pipeline: str = "numpy"  # or "tf.data"
    precision: str = "float32"  # or "mixed_bfloat16"
    jit_compile: bool | str = "auto"  # Keras's default: no XLA on CPUs, XLA on GPUs
    environment: dict[str, str] = field(default_factory=dict)  # threads, oneDNN
    throughput_only: bool = False


def _lenet(name: str, note: str, **changes) -> Variant:
    return Variant("lenet5", name, note, replace(LENET5_RECIPE, **changes))


def _lenet_cycle(epochs: int, batch_size: int, start: float, peak: float) -> Variant:
    """LeNet5 with a one-cycle rate: ``start`` up to ``peak``, then down to peak / 100."""
    return _lenet(
        f"one-cycle {epochs} ep, batch {batch_size}",
        f"one cycle {start:g} → {peak:g} → {peak / 100:g}, batch {batch_size}, {epochs} epochs",
        epochs=epochs,
        batch_size=batch_size,
        initial_learning_rate=start,
        peak_learning_rate=peak,
        alpha=0.01,
    )


def _fashion(name: str, note: str, recipe: dict | None = None, **options) -> Variant:
    """Part 2's reference CNN and recipe with ``recipe`` and ``options`` changed."""
    return Variant("fashion", name, note, replace(FASHION_RECIPE, **(recipe or {})), **options)


def _two_blocks(name: str, note: str, **options) -> Variant:
    """The first reference: two blocks (32-64) in the textbook order and 128 dense units."""
    first = {"widths": (32, 64), "dense_units": 128, "pool_first": False}
    return _fashion(name, note, **(first | options))


VARIANTS = [
    _lenet("reference", "Part 1's solution: Adam, batch 64, 20 epochs; cosine decay from 1e-3"),
    # Within Part 1's specification (Adam, batch 64, 20 epochs): only the rate changes.
    _lenet(
        "constant 1e-3",
        "Adam's default constant rate 1e-3 (the solution before the schedule)",
        peak_learning_rate=None,
    ),
    # Outside the specification: fewer epochs at a larger batch.
    _lenet_cycle(epochs=8, batch_size=128, start=3e-4, peak=3e-3),
    _lenet_cycle(epochs=6, batch_size=128, start=3e-4, peak=3e-3),
    _lenet_cycle(epochs=8, batch_size=256, start=5e-4, peak=5e-3),
    _fashion(
        "reference",
        "Part 2's solution: blocks of 32-64-128 filters, each conv → pool → BN → ReLU; "
        "dense 256; batch 128, one cycle to 3e-3, 15 epochs",
    ),
    # One change against the reference.
    _fashion("12 epochs", "12 epochs instead of 15", {"epochs": 12}),
    _fashion("mixed bfloat16", "mixed precision (bfloat16 on CPU)", precision="mixed_bfloat16"),
    _fashion("batch 256", "batch 256, peak 4e-3", {"batch_size": 256, "peak_learning_rate": 4e-3}),
    _fashion("label smoothing 0.1", "label smoothing 0.1", {"label_smoothing": 0.1}),
    _fashion(
        "flips + crops",
        "random 2-pixel shifts (pad and crop) in tf.data",
        crop=True,
        pipeline="tf.data",
    ),
    _fashion("cosine, no warm-up", "cosine from 3e-3", {"initial_learning_rate": 3e-3}),
    _fashion("constant 1e-3", "Adam 1e-3, no schedule", {"peak_learning_rate": None}),
    _fashion("flip TTA", "scored with test-time flip augmentation", flip_tta=True),
    _fashion("10 epochs", "10 epochs instead of 15", {"epochs": 10}),
    _fashion(
        "10 epochs, flip TTA",
        "10 epochs, scored with test-time flip augmentation",
        {"epochs": 10},
        flip_tta=True,
    ),
    _fashion(
        "8 epochs, batch 256",
        "fewer, larger steps: batch 256, peak 4e-3, 8 epochs",
        {"epochs": 8, "batch_size": 256, "peak_learning_rate": 4e-3},
    ),
    # Throughput only: the same arithmetic (or nearly), run differently.
    _fashion(
        "XLA",
        "jit_compile=True: XLA compiles the training step (Keras's default on a CPU is off)",
        jit_compile=True,
        throughput_only=True,
    ),
    _fashion(
        "oneDNN off",
        "TF_ENABLE_ONEDNN_OPTS=0 (TensorFlow's default on x86 is on)",
        environment={"TF_ENABLE_ONEDNN_OPTS": "0"},
        throughput_only=True,
    ),
    _fashion(
        "reference speed",
        "the reference, 3 epochs (timing twin of the throughput rows)",
        throughput_only=True,
    ),
    _fashion(
        "separable convs",
        "depthwise-separable 3×3 convolutions after the first block",
        separable=True,
        throughput_only=True,
    ),
    _fashion(
        "narrow (24-48-96)",
        "blocks of 24-48-96 filters, dense 256",
        widths=(24, 48, 96),
        throughput_only=True,
    ),
    _fashion(
        "pool last",
        "the textbook order conv → BN → ReLU → pool: four times the normalisation work",
        pool_first=False,
    ),
    # The way here, from the first reference (two blocks, conv → BN → ReLU → pool, dense 128).
    _two_blocks(
        "two blocks (first reference)",
        "the first reference: blocks of 32-64 filters, conv → BN → ReLU → pool; dense 128",
    ),
    _two_blocks(
        "two blocks, wide (48-96)",
        "blocks of 48 and 96 filters: 646k parameters, over Part 2's 500k budget",
        widths=(48, 96),
        throughput_only=True,
    ),
    _two_blocks(
        "two blocks, dense 256, flips + crops",
        "256 dense units; random 2-pixel shifts (pad and crop) in tf.data",
        dense_units=256,
        crop=True,
        pipeline="tf.data",
    ),
    # Throughput on the two-block model: these change no arithmetic.
    _two_blocks(
        "tf.data input",
        "tf.data pipeline (shuffle, batch, prefetch) instead of numpy arrays",
        pipeline="tf.data",
        throughput_only=True,
    ),
    _two_blocks("numpy input", "numpy arrays (timing twin of tf.data input)", throughput_only=True),
    _two_blocks(
        "1 intra-op thread",
        "TF_NUM_INTRAOP_THREADS=1 (default: one per core)",
        environment={"TF_NUM_INTRAOP_THREADS": "1"},
        throughput_only=True,
    ),
    _two_blocks(
        "1 inter-op thread",
        "TF_NUM_INTEROP_THREADS=1 (default: one per core)",
        environment={"TF_NUM_INTEROP_THREADS": "1"},
        throughput_only=True,
    ),
    _two_blocks(
        "4 intra-op threads",
        "TF_NUM_INTRAOP_THREADS=4: more threads than cores",
        environment={"TF_NUM_INTRAOP_THREADS": "4"},
        throughput_only=True,
    ),
]


#: The order of the rows in ``bench/results.json`` and the table.
VARIANT_ORDER = [(v.model, v.name) for v in VARIANTS]


def find_variant(model: str, name: str) -> Variant:
    for variant in VARIANTS:
        if variant.model == model and variant.name == name:
            return variant
    known = [v.name for v in VARIANTS if v.model == model]
    raise SystemExit(f"no variant {name!r} for {model}; known: {', '.join(known)}")


# -- One run, in its own process ---------------------------------------------------------------


def run_one(variant: Variant, seed: int, course_data: Path) -> dict:
    """Train once and return accuracy and times; called in a fresh process."""
    import time

    import keras
    import numpy as np

    if variant.precision != "float32":
        keras.mixed_precision.set_global_policy(variant.precision)
    keras.utils.set_random_seed(seed)
    started = time.perf_counter()
    x_train, y_train, validation, x_test, y_test = _data(variant.model, course_data)
    load_seconds = time.perf_counter() - started

    model = _model(variant)
    recipe = variant.recipe
    steps = -(-len(x_train) // recipe.batch_size)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=recipe.learning_rate(steps)),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing),
        metrics=["accuracy"],
        jit_compile=variant.jit_compile,
    )
    labels = keras.utils.to_categorical(y_train, 10)
    if validation is not None:
        validation = (validation[0], keras.utils.to_categorical(validation[1], 10))
    inputs = _inputs(variant, x_train, labels, seed)
    epoch_ends = []
    timer = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: epoch_ends.append(time.perf_counter())
    )
    started = time.perf_counter()
    history = model.fit(
        *inputs,
        batch_size=None if variant.pipeline == "tf.data" else recipe.batch_size,
        epochs=THROUGHPUT_EPOCHS if variant.throughput_only else recipe.epochs,
        callbacks=[timer],
        validation_data=validation,
        verbose=0,
    )
    fit_seconds = time.perf_counter() - started
    probabilities = model.predict(x_test, batch_size=1024, verbose=0)
    epoch_seconds = np.diff([started, *epoch_ends])
    plain_accuracy = float(np.mean(probabilities.argmax(axis=1) == y_test))
    result = {
        "seed": seed,
        "accuracy": plain_accuracy,
        "fit_seconds": fit_seconds,
        # The first epoch also traces the graph: leave it out when there are others.
        "epoch_seconds": float(
            np.median(epoch_seconds[1:] if len(epoch_seconds) > 1 else epoch_seconds)
        ),
        "each_epoch_seconds": [round(float(t), 2) for t in epoch_seconds],
        "load_seconds": load_seconds,
        "epochs": len(epoch_ends),
        "parameters": int(model.count_params()),
    }
    if validation is not None:
        # What Task 1.5 (overfitting) has to find: where the validation loss turned, and by how
        # much it rose again while the training loss kept falling.
        val_loss = np.asarray(history.history["val_loss"])
        result["val_loss_best_epoch"] = int(val_loss.argmin()) + 1
        result["val_loss_rise"] = float(val_loss[-1] - val_loss.min())
        result["train_loss_last"] = float(history.history["loss"][-1])
    if variant.model == "fashion":
        # Test-time augmentation: average with the prediction for the mirrored images.
        mirrored = model.predict(x_test[:, :, ::-1], batch_size=1024, verbose=0)
        tta = (probabilities + mirrored).argmax(axis=1)
        result["accuracy_with_flip_tta"] = float(np.mean(tta == y_test))
        if variant.flip_tta:
            result["accuracy"] = result["accuracy_with_flip_tta"]
            result["accuracy_without_tta"] = plain_accuracy
    return result


def _data(model: str, course_data: Path):
    import numpy as np

    from autograder.course.dataset import ANSWER_KEY_FILE, STUDENT_FILE, load_answer_key
    from utilities import load_fashion_mnist, load_mnist

    scale = np.float32(1 / 255)
    if model == "lenet5":
        data = load_mnist()
        validation = (data["X_val"][..., None] * scale, data["y_val"])
        x_train, y_train, x_test, y_test = (
            data["X_train"], data["y_train"], data["X_test"], data["y_test"]
        )  # fmt: skip
    else:
        data = load_fashion_mnist(course_data / STUDENT_FILE)
        key = load_answer_key(course_data / ANSWER_KEY_FILE)
        x_train, y_train, x_test = data["X_train"], data["y_train"], data["X_test"]
        y_test = np.asarray(key["Label"])
        validation = None
    return x_train[..., None] * scale, y_train, validation, x_test[..., None] * scale, y_test


def _model(variant: Variant):
    import keras

    from autograder.course.models import fashion_cnn, lenet5

    if variant.model == "lenet5":
        return lenet5()
    model = fashion_cnn(
        widths=variant.widths,
        dense_units=variant.dense_units,
        pool_first=variant.pool_first,
        separable=variant.separable,
    )
    if variant.flip and not variant.crop:
        return model
    # Augmentation moves into the input pipeline: drop the model's own RandomFlip layer.
    layers = [layer for layer in model.layers[1:] if not isinstance(layer, keras.layers.RandomFlip)]
    inputs = keras.Input(shape=(28, 28, 1))
    x = inputs
    for layer in layers:
        x = layer(x)
    return keras.Model(inputs, x, name=model.name)


def _inputs(variant: Variant, x, labels, seed: int):
    if variant.pipeline != "tf.data":
        return x, labels
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((x, labels)).shuffle(len(x), seed=seed)
    if variant.crop:

        def augment(image, label):
            image = tf.image.random_flip_left_right(image)
            image = tf.image.pad_to_bounding_box(image, 2, 2, 32, 32)
            return tf.image.random_crop(image, (28, 28, 1)), label

        dataset = dataset.map(augment, num_parallel_calls=tf.data.AUTOTUNE)
    return (dataset.batch(variant.recipe.batch_size).prefetch(tf.data.AUTOTUNE),)


# -- Orchestration ----------------------------------------------------------------------------


def measure(variant: Variant, runs: int, course_data: Path) -> dict:
    """Run ``variant`` ``runs`` times, each in a fresh process; median and range."""
    results = []
    for seed in range(runs):
        environment = {**os.environ, **variant.environment, "TF_CPP_MIN_LOG_LEVEL": "3"}
        command = [
            sys.executable, __file__, "--run-one", variant.model, variant.name,
            "--seed", str(seed), "--course-data", str(course_data),
        ]  # fmt: skip
        before = host_load.sample()
        output = subprocess.run(
            command, capture_output=True, text=True, env=environment, check=False
        )
        load = host_load.between(before, host_load.sample())
        lines = [line for line in output.stdout.splitlines() if line.startswith("RESULT ")]
        if output.returncode != 0 or not lines:
            raise SystemExit(f"{variant.model}/{variant.name} seed {seed} failed:\n{output.stderr}")
        result = json.loads(lines[-1].removeprefix("RESULT ")) | {"host": load.as_dict()}
        busy = f" (busy host: others used {load.other_cores:.2f} cores)" if load.busy else ""
        print(
            f"  {variant.model:<8} {variant.name:<28} seed {seed}: "
            f"{result['accuracy']:.2%} in {result['fit_seconds']:.0f} s{busy}",
            flush=True,
        )
        results.append(result)
    # Times: medians over the runs on an idle host (over all of them only when every run was
    # busy). A neighbour slows a run down but does not change what it learns: accuracy is the
    # median over every run.
    idle = [r for r in results if not r["host"]["busy"]] or results
    accuracy = spread([r["accuracy"] for r in results])
    seconds = spread([r["fit_seconds"] for r in idle])
    return {
        "model": variant.model,
        "variant": variant.name,
        "note": variant.note,
        "recipe": asdict(variant.recipe),
        "settings": {
            k: v for k, v in asdict(variant).items() if k not in ("model", "name", "note", "recipe")
        },
        "throughput_only": variant.throughput_only,
        "runs": results,
        "accuracy": accuracy,
        "fit_seconds": seconds,
        "epoch_seconds": spread([r["epoch_seconds"] for r in idle]),
        "busy_runs": sum(r["host"]["busy"] for r in results),
        "goal_met": not variant.throughput_only
        and within_specification(variant)
        and goal_met(variant.model, accuracy["median"], seconds["median"]),
    }


def within_specification(variant: Variant) -> bool:
    """LeNet5's goal counts only within Part 1's specification: batch 64, 20 epochs."""
    if variant.model != "lenet5":
        return True
    return (variant.recipe.batch_size, variant.recipe.epochs) == (
        LENET5_RECIPE.batch_size,
        LENET5_RECIPE.epochs,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("lenet5", "fashion", "all"), default="all")
    parser.add_argument("--variant", nargs="*", default=["reference"], help="'all' for every one")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--course-data",
        type=Path,
        default=Path(os.environ.get("COURSEKIT_COURSE_DATA", "data/course")),
    )
    parser.add_argument(
        "--out", type=Path, default=RESULTS_JSON, help="(default: bench/results.json)"
    )
    parser.add_argument("--run-one", nargs=2, metavar=("MODEL", "VARIANT"), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.run_one:
        result = run_one(find_variant(*args.run_one), args.seed, args.course_data)
        print("RESULT " + json.dumps(result), flush=True)
        return 0

    models = ["lenet5", "fashion"] if args.model == "all" else [args.model]
    chosen = [
        v for v in VARIANTS
        if v.model in models and ("all" in args.variant or v.name in args.variant)
    ]  # fmt: skip
    if not chosen:
        raise SystemExit(f"no variant matches {args.variant}")
    where = machine()
    print(f"Time to accuracy on {where['name']} ({len(chosen)} variants × {args.runs} runs)")
    for variant in chosen:
        # Saved after every variant: an interrupted run keeps what it measured.
        measured = measure(variant, args.runs, args.course_data)
        record("time_to_accuracy", [measured], where, args.out, order=VARIANT_ORDER)
    print(args.out.with_suffix(".md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
