"""Checks of the leaderboard file: valid, and predictions of the test images in their order."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from utilities.checks.base import fail
from utilities.checks.models import as_numbers
from utilities.labels import NUM_CLASSES
from utilities.submission import validate_submission


def check_submission(path: str | Path, rows: int, classes: int = NUM_CLASSES) -> None:
    """``path`` is a valid leaderboard submission with ``rows`` predictions."""
    validate_submission(path, n_rows=rows, num_classes=classes)


#: How many standard errors above chance a submission must agree with the model's own
#: predictions. Rows in another order, or predictions for other images, agree about as often
#: as chance (within a standard error or two); test-time augmentation or an ensemble built on
#: the model agrees far more, even when a model trained in fast mode answers mostly one class.
ALIGNMENT_STANDARD_ERRORS = 4.0
#: How many rows, evenly spread over the file, are compared.
AGREEMENT_SAMPLE_ROWS = 2_000


def check_predictions_line_up(path: str | Path, model, images, classes: int = NUM_CLASSES) -> None:
    """The rows of submission ``path`` are predictions for ``images``, in their order.

    Compares the file with ``model``'s own predictions for ``images`` on
    :data:`AGREEMENT_SAMPLE_ROWS` rows spread over the file. Rows that have
    nothing to do with the images agree as often as chance does (the sum over
    the classes of how often each side answers it); the file must agree more
    often by at least :data:`ALIGNMENT_STANDARD_ERRORS` standard errors. So
    test-time augmentation or an ensemble built on the model passes, while
    shuffled rows or predictions for other images do not.
    """
    submitted = validate_submission(path, n_rows=len(images), num_classes=classes)
    rows = np.unique(np.linspace(0, len(images) - 1, AGREEMENT_SAMPLE_ROWS).astype(int))
    predicted = as_numbers(
        model.predict(images[rows], batch_size=1024, verbose=0), "the model's predictions"
    ).argmax(axis=1)
    submitted = submitted[rows]
    if len(np.unique(predicted)) == 1:
        return  # the model answers one class for everything: agreement cannot tell anything
    agreement = float(np.mean(submitted == predicted))
    counts = np.bincount(predicted, minlength=classes), np.bincount(submitted, minlength=classes)
    chance = float(np.sum(counts[0] * counts[1])) / len(rows) ** 2
    standard_error = math.sqrt(chance * (1 - chance) / len(rows))
    if agreement < chance + ALIGNMENT_STANDARD_ERRORS * standard_error:
        fail(
            f"the rows of {Path(path).name} do not line up with the model's predictions for "
            f"the test images: {agreement:.1%} agree, about what chance gives ({chance:.1%} "
            "for rows that have nothing to do with the images). Predict the test images in "
            "their original order, not shuffled and not the validation images"
        )
