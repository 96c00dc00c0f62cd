"""Checks behind the assignment's tests.

The test cells in the notebooks call these functions, and students can call
them too. Each check raises ``AssertionError`` with a message that says what
was expected and what was found; it returns ``None`` when all is well.

The checks are strict on purpose, so that a test cannot pass by accident:
arrays must be real ``numpy.ndarray`` objects, a model checked layer by layer
(LeNet5) must be a plain Keras ``Sequential`` or functional model, and every
number is recomputed from the object itself (weights, outputs) rather than
taken from what it reports. Nothing here compares a student's object with
``==``.

They check behaviour, not spelling: a model is any Keras model that maps
images to probabilities (Sequential, functional, subclassed, with nested
blocks), activations may be arguments or layers of their own, and the loss,
the accuracy metric and the F1 function are run on known inputs, the F1 also
the way ``model.fit`` runs it (in Keras's compiled graph, batch by batch).
When a result is wrong, the message names the likely cause.

When a notebook is graded, the same functions run in the grader's checker,
never in the notebook's own kernel: see :mod:`utilities.evidence`.

- :mod:`~utilities.checks.arrays`: images, one-hot labels, a training/validation split;
- :mod:`~utilities.checks.models`: LeNet5 layer by layer, any classifier within a budget;
- :mod:`~utilities.checks.training`: compile settings, and whether ``fit`` trained the model;
- :mod:`~utilities.checks.f1`: a macro F1 function against scikit-learn;
- :mod:`~utilities.checks.submission`: the leaderboard file;
- :mod:`~utilities.checks.running`: running a loss or metric as ``fit`` does.
"""

from utilities.checks.arrays import check_images, check_one_hot, check_split
from utilities.checks.base import fail, grading_rng
from utilities.checks.f1 import check_f1_function
from utilities.checks.models import (
    activations,
    check_activations,
    check_classifier,
    check_convolutions,
    check_keras_model,
    check_layers,
    check_model,
    check_new_model_each_call,
    check_parameter_budget,
    check_parameter_count,
    convolution_layers,
    layer_table,
    parameter_count,
)
from utilities.checks.submission import (
    AGREEMENT_SAMPLE_ROWS,
    ALIGNMENT_STANDARD_ERRORS,
    check_predictions_line_up,
    check_submission,
)
from utilities.checks.training import (
    check_compiled,
    check_trained,
    check_training_history,
    compiled_with,
)

__all__ = [
    "AGREEMENT_SAMPLE_ROWS",
    "ALIGNMENT_STANDARD_ERRORS",
    "activations",
    "check_activations",
    "check_classifier",
    "check_compiled",
    "check_convolutions",
    "check_f1_function",
    "check_images",
    "check_keras_model",
    "check_layers",
    "check_model",
    "check_new_model_each_call",
    "check_one_hot",
    "check_parameter_budget",
    "check_parameter_count",
    "check_predictions_line_up",
    "check_split",
    "check_submission",
    "check_trained",
    "check_training_history",
    "compiled_with",
    "convolution_layers",
    "fail",
    "grading_rng",
    "layer_table",
    "parameter_count",
]
