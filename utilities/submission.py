"""Write and check leaderboard submissions.

A submission is a CSV file with the header ``ID,Prediction`` and one row per
test image: ``ID`` runs over 0..N-1 (the row of ``X_test``) and
``Prediction`` is the predicted class 0..9. Students and the leaderboard use
the same checker, so a file that passes here is scored there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .csvfile import NON_NEGATIVE_INTEGER, header_error, read_csv_rows
from .errors import SubmissionError
from .files import write_text_atomically
from .labels import NUM_CLASSES, as_class_indices

HEADER = ("ID", "Prediction")
_MAX_LISTED = 5


def make_submission(
    predictions, path: str | Path = "submission.csv", *, num_classes: int = NUM_CLASSES
) -> Path:
    """Write ``predictions`` for ``X_test`` as a leaderboard CSV.

    Parameters
    ----------
    predictions : array-like
        Class indices of shape (N,), or probability rows of shape (N, C) such
        as ``model.predict(X_test)``; row ``i`` is the prediction for
        ``X_test[i]``.
    path : path
        Where to write; an existing file is replaced only once the new one is
        complete.
    num_classes : int
        Number of classes; predictions must lie in 0..num_classes-1.

    Returns
    -------
    pathlib.Path
        The written file, already checked with :func:`validate_submission`.

    Examples
    --------
    >>> make_submission(model.predict(X_test), "submission.csv")
    PosixPath('submission.csv')
    """
    try:
        classes = as_class_indices(predictions, name="predictions")
    except ValueError as error:
        raise SubmissionError(str(error)) from None
    if classes.size == 0:
        raise SubmissionError("predictions: empty; expected one prediction per test image")
    if classes.max() >= num_classes:
        bad = int(np.flatnonzero(classes >= num_classes)[0])
        raise SubmissionError(
            f"predictions[{bad}] = {classes[bad]} is not a class; expected 0..{num_classes - 1}"
        )
    path = Path(path)
    if path.is_dir():
        raise SubmissionError(f"{path} is a folder; give a file name such as submission.csv")
    rows = "".join(f"{index},{label}\n" for index, label in enumerate(classes.tolist()))
    write_text_atomically(path, ",".join(HEADER) + "\n" + rows)
    validate_submission(path, n_rows=len(classes), num_classes=num_classes)
    return path


def validate_submission(
    path: str | Path, n_rows: int, *, num_classes: int = NUM_CLASSES
) -> np.ndarray:
    """Check a submission file and return its predictions ordered by ID.

    Accepts CRLF line endings, a UTF-8 byte-order mark, blank lines and rows
    in any order. Rejects, naming the line and column: an empty file, a
    header other than ``ID,Prediction`` (an unnamed first column is taken for
    the index that pandas' ``to_csv`` writes without ``index=False``, and the
    message says so), IDs that are missing, duplicated,
    not integers or outside 0..n_rows-1, and predictions that are missing,
    not integers or outside 0..num_classes-1.

    Parameters
    ----------
    path : path
        The CSV file.
    n_rows : int
        Number of test images, i.e. ``len(X_test)``.
    num_classes : int
        Number of classes.

    Returns
    -------
    numpy.ndarray
        int64 array of length ``n_rows``; entry ``i`` is the prediction for ID ``i``.

    Raises
    ------
    SubmissionError
        With a one-line reason that starts with the file name.
    """
    if int(n_rows) < 1:
        raise ValueError(f"n_rows must be at least 1, got {n_rows}")
    path = Path(path)
    rows = read_csv_rows(path, SubmissionError)
    if tuple(rows[0][1]) != HEADER:
        raise SubmissionError(_header_problem(path, rows[0][1]))
    predictions = np.full(n_rows, -1, dtype=np.int64)
    first_seen: dict[int, int] = {}
    for line, cells in rows[1:]:
        if len(cells) != 2:
            raise SubmissionError(
                f"{path}: line {line}: expected 2 columns (ID,Prediction), found {len(cells)}"
            )
        id_text, prediction_text = cells
        if not NON_NEGATIVE_INTEGER.fullmatch(id_text):
            raise SubmissionError(
                f"{path}: line {line}, column ID: {id_text!r} is not an ID; "
                f"expected an integer 0..{n_rows - 1}"
            )
        image_id = int(id_text)
        if image_id >= n_rows:
            raise SubmissionError(
                f"{path}: line {line}, column ID: ID {image_id} is out of range; "
                f"expected 0..{n_rows - 1}"
            )
        if image_id in first_seen:
            raise SubmissionError(
                f"{path}: line {line}, column ID: duplicate ID {image_id} "
                f"(first on line {first_seen[image_id]})"
            )
        first_seen[image_id] = line
        if not prediction_text:
            raise SubmissionError(
                f"{path}: line {line}, column Prediction: missing prediction for ID {image_id}"
            )
        if (
            not NON_NEGATIVE_INTEGER.fullmatch(prediction_text)
            or int(prediction_text) >= num_classes
        ):
            raise SubmissionError(
                f"{path}: line {line}, column Prediction: {prediction_text!r} for ID {image_id} "
                f"is not a class; expected an integer 0..{num_classes - 1}"
            )
        predictions[image_id] = int(prediction_text)
    if len(first_seen) != n_rows:
        missing = np.flatnonzero(predictions < 0)
        listed = ", ".join(str(i) for i in missing[:_MAX_LISTED])
        more = f" and {missing.size - _MAX_LISTED:,} more" if missing.size > _MAX_LISTED else ""
        raise SubmissionError(
            f"{path}: has {len(first_seen):,} rows, expected {n_rows:,} (one per test image); "
            f"missing ID(s) {listed}{more}"
        )
    return predictions


def _header_problem(path: Path, header: list[str]) -> str:
    """Why ``header`` is not ``ID,Prediction``, with the likely fix for a pandas index column."""
    if len(header) > len(HEADER) and (not header[0] or header[0].startswith("Unnamed:")):
        return (
            f"{path}: line 1: the first column has no name: was it written with pandas' "
            "to_csv without index=False? Write it with make_submission(predictions, path) "
            f"or df.to_csv(path, index=False); expected the header {','.join(HEADER)!r}, "
            f"found {','.join(header)!r}"
        )
    return header_error(path, header, HEADER)
