"""The Part 2 zoo (a CNN of your own on Fashion-MNIST): right solutions in many styles, and the
mistakes students make.

Every variant states the tests it must fail and the words each message must
contain; every other test must earn its points.
"""

from __future__ import annotations

from autograder.demo.variants import PART2, RELEASED, Variant
from autograder.demo.zoo.fashion_code import (
    ENSEMBLE_SUBMISSION,
    LOGITS_CNN,
    NESTED_CNN,
    NO_CONVOLUTION,
    OPS_SPLIT,
    OVER_BUDGET,
    PERMUTATION_SPLIT,
    SAME_CNN_EVERY_CALL,
    SEPARABLE_NO_INPUT,
    SHUFFLED_SUBMISSION,
    SMALL_SEQUENTIAL,
    SUBCLASSED_CNN,
    SUBCLASSED_DROPOUT_CNN,
    TTA_INSIDE,
    TTA_OUTSIDE,
    VALIDATION_SUBMISSION,
    split_source,
)

PART2_VARIANTS = [
    Variant("reference-part2", PART2, "the source notebook's own solutions"),
    Variant(
        "permutation-split-student",
        PART2,
        "a random permutation split (15 %), np.eye labels, a small Sequential CNN compiled "
        'with the strings "adam", "CategoricalCrossentropy" and "acc"',
        cells={"fashion_data": PERMUTATION_SPLIT, "fashion_model": SMALL_SEQUENTIAL},
    ),
    Variant(
        "subclassed-cnn",
        PART2,
        "a subclassed keras.Model with conv blocks, and keras.ops preprocessing",
        cells={"fashion_data": OPS_SPLIT, "fashion_model": SUBCLASSED_CNN},
    ),
    Variant(
        "subclassed-cnn-with-dropout",
        PART2,
        "a subclassed keras.Model with its layers as attributes, dropout and a call(x, training)",
        cells={"fashion_model": SUBCLASSED_DROPOUT_CNN},
    ),
    Variant(
        "nested-blocks-cnn",
        PART2,
        "conv blocks as Sequential models nested in a Sequential",
        cells={"fashion_model": NESTED_CNN},
    ),
    Variant(
        "separable-cnn-without-input",
        PART2,
        "strided and separable convolutions, global pooling, softmax as a layer, no keras.Input, "
        "SGD with a decaying rate",
        cells={"fashion_model": SEPARABLE_NO_INPUT},
    ),
    Variant(
        "test-time-augmentation-inside",
        PART2,
        "test-time augmentation built into the model: it averages a shared core's outputs for "
        "an image and its mirror image",
        cells={"fashion_model": TTA_INSIDE},
    ),
    # Wrong ones.
    Variant(
        "over-budget",
        PART2,
        "a dense layer on full-size feature maps: 629,000 parameters",
        cells={"fashion_model": OVER_BUDGET},
        fails={
            "test_fashion_model": "more than the budget of 500,000",
            "test_fashion_model_hidden": "more than the budget of 500,000",
        },
    ),
    Variant(
        "no-convolution",
        PART2,
        "a multilayer perceptron: within the budget, but not a CNN",
        cells={"fashion_model": NO_CONVOLUTION},
        fails={"test_fashion_model": "at least 2 convolution layers, found 0"},
    ),
    Variant(
        "logits-cnn",
        PART2,
        "logits out, with from_logits=True in the loss: trains, but returns no probabilities",
        cells={"fashion_model": LOGITS_CNN},
        fails={
            "test_fashion_model": "logits instead of softmax",
            "test_fashion_model_hidden": "logits instead of softmax",
        },
    ),
    Variant(
        "same-cnn-every-call",
        PART2,
        "build_fashion_cnn() returns one global model",
        cells={"fashion_model": SAME_CNN_EVERY_CALL},
        fails={"test_fashion_model_hidden": "new model on every call"},
    ),
    Variant(
        "small-validation-split",
        PART2,
        "2 % held out for validation",
        cells={"fashion_data": split_source(test_size="0.02"), "fashion_model": SMALL_SEQUENTIAL},
        fails={"test_fashion_data": "between 5% and 25%"},
    ),
    Variant(
        "unscaled-fashion-images",
        PART2,
        "forgot to divide by 255",
        cells={"fashion_data": split_source(scale=""), "fashion_model": SMALL_SEQUENTIAL},
        fails={"test_fashion_data": "scaled to [0, 1]"},
    ),
    Variant(
        "shuffled-test-images",
        PART2,
        "the test images shuffled, so the predictions no longer line up with the IDs",
        cells={
            "fashion_data": split_source(
                test='np.random.default_rng(0).permutation(fashion["X_test"])'
            ),
            "fashion_model": SMALL_SEQUENTIAL,
        },
        fails={
            "test_fashion_data": "raw pixels divided by 255",
            "test_submission_hidden": "do not line up",
        },
    ),
    Variant(
        "test-time-augmentation-outside",
        PART2,
        "submission.csv from the mean of predictions on the images and their mirror images, "
        "computed in the submission cell",
        cells={"fashion_model": SMALL_SEQUENTIAL, "submission": TTA_OUTSIDE},
    ),
    Variant(
        "ensemble-submission",
        PART2,
        "an ensemble of fashion_model and a second CNN, averaged in the submission cell",
        cells={"fashion_model": SMALL_SEQUENTIAL, "submission": ENSEMBLE_SUBMISSION},
    ),
    Variant(
        "validation-images-submitted",
        PART2,
        "predictions for the validation images written as the submission",
        cells={"fashion_model": SMALL_SEQUENTIAL, "submission": VALIDATION_SUBMISSION},
        fails={"test_submission": "10,500", "test_submission_hidden": "10,500"},
    ),
    Variant(
        "shuffled-submission",
        PART2,
        "predictions for the test images in a shuffled order: a valid file whose rows do not "
        "line up with the IDs",
        cells={"fashion_model": SMALL_SEQUENTIAL, "submission": SHUFFLED_SUBMISSION},
        fails={"test_submission_hidden": "do not line up"},
    ),
    Variant(
        "submission-left-undone",
        PART2,
        "the submission cell left as the released stub, and no submission.csv",
        cells={"fashion_model": SMALL_SEQUENTIAL, "submission": RELEASED},
        fails={
            "test_submission": "submission.csv: file not found",
            "test_submission_hidden": "submission.csv: file not found",
        },
    ),
    Variant(
        "old-submission-and-stub",
        PART2,
        "a valid submission.csv written earlier (here by the model cell), the submission cell "
        "left as the released stub: the tests pass on the old file but score 0",
        cells={
            "fashion_model": SMALL_SEQUENTIAL
            + '\nmake_submission(np.zeros(10_500, dtype=int), "submission.csv")\n',
            "submission": RELEASED,
        },
        fails={
            "test_submission": "your solution cell submission",
            "test_submission_hidden": "do not line up",
        },
    ),
]
