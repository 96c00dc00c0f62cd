"""Adopt an existing course: its own ``Fashion_MNIST.h5`` and its Kaggle answer key.

``coursekit data build`` draws a new split, so a course that already ran a
Kaggle leaderboard would lose its answer key and its scores. ``coursekit data
import`` takes the course's student file and its Kaggle solution file instead
and writes the same three files as the build, so the leaderboard, the release
and grading work unchanged::

    OUT/public/Fashion_MNIST.h5     the course's three arrays, under the course's own names
    OUT/private/answer_key.csv      ID, Label, Usage, SourceIndex (here: the ID again)
    OUT/private/manifest.json       origin "imported", counts, public fraction, SHA-256s

What is accepted
----------------
The student file
    The kit's layout (``X_train``, ``y_train``, ``X_test``) or the original
    assignment's (``train_images``, ``train_labels``, ``test_images``) and
    nothing else; test labels (``y_test``, ``test_labels``) are refused, since
    they would hand students the answers. Images are uint8, (N, 28, 28) or
    flattened (N, 784), which is written back as (N, 28, 28) because every
    tool of the kit and :func:`utilities.load_fashion_mnist` expect it.
    Labels are integers 0..9 (any integer dtype, written as uint8), one per
    training image. The file is rewritten, not copied, so nothing but the
    three arrays (no attributes, no leftover bytes of deleted datasets)
    reaches students; the dataset names stay, so the course's own h5py code
    keeps working.
The solution file
    Three columns in any order: the ID (``ID``, ``Id``), the label
    (``Label``, ``Category``, ``Expected``...) and ``Usage``. One row per test
    image, rows in any order; ID ``i`` is row ``i`` of the test images,
    counted from 0 as in submission files. Usage is ``Public`` or
    ``Private``, and both occur; the public share goes into the manifest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from autograder.course.dataset import (
    BuildResult,
    answer_key_text,
    file_entries,
    load_answer_key,
    publish_course_files,
    write_student_file,
)
from utilities.csvfile import NON_NEGATIVE_INTEGER, read_csv_rows
from utilities.data import sha256_of
from utilities.errors import DatasetError
from utilities.labels import NUM_CLASSES
from utilities.loaders import IMAGE_SHAPE, H5Layout, find_layout, load_fashion_mnist

#: Dataset names that hold test labels; a student file with one is refused.
TEST_LABEL_NAMES = ("y_test", "test_labels", "test_y")
#: Accepted names (any case) of each column of a Kaggle solution file.
ID_COLUMNS = ("id",)
LABEL_COLUMNS = ("label", "category", "expected", "class", "prediction", "predicted", "target")
USAGE_COLUMNS = ("usage",)
_FLAT_PIXELS = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]


@dataclass(frozen=True)
class CourseFile:
    """The three arrays of a course's student file, in the kit's shapes and dtypes."""

    layout: H5Layout
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray


@dataclass(frozen=True)
class Solution:
    """A Kaggle solution file, ordered by ID: entry ``i`` belongs to test image ``i``."""

    labels: np.ndarray
    is_public: np.ndarray


def import_course_dataset(
    student_file: str | Path, solution_file: str | Path, out_dir: str | Path, *, force: bool = False
) -> BuildResult:
    """Write a course's own student file and Kaggle answer key in the kit's format.

    Both inputs are checked first (see the module docstring); the output is
    written like ``build_course_dataset``'s: staged, verified and swapped in
    together, with an existing answer key that differs replaced only with
    ``force`` (and kept as a backup). The same inputs give the same bytes.
    """
    student_file, solution_file = Path(student_file), Path(solution_file)
    course = read_course_file(student_file)
    solution = read_kaggle_solution(solution_file, len(course.X_test), student_file)
    test_ids = np.arange(len(course.X_test))
    description = (
        "Fashion-MNIST of an existing course, imported with coursekit data import: "
        f"labelled {course.layout.train_images}/{course.layout.train_labels} and "
        f"unlabelled {course.layout.test_images} for the leaderboard."
    )

    def verify(student: Path, key: Path) -> None:
        written, answers = load_fashion_mnist(student), load_answer_key(key)
        for name in ("X_train", "y_train", "X_test"):
            if not np.array_equal(written[name], getattr(course, name)):
                raise DatasetError(f"{student}: {name} did not survive writing unchanged")
        if not (
            np.array_equal(answers["Label"], solution.labels)
            and np.array_equal(answers["is_public"], solution.is_public)
        ):
            raise DatasetError(f"{key}: does not match {solution_file}")

    def manifest(staged: dict[Path, Path]) -> dict:
        return {
            "dataset": "fashion-mnist",
            "origin": "imported",
            "layout": list(course.layout),
            "imported_from": {
                "student_file": {"name": student_file.name, "sha256": sha256_of(student_file)},
                "answer_key": {"name": solution_file.name, "sha256": sha256_of(solution_file)},
            },
            "train_size": len(course.X_train),
            "test_size": len(course.X_test),
            "public_fraction": float(solution.is_public.mean()),
            "public_test_images": int(solution.is_public.sum()),
            "train_per_class": np.bincount(course.y_train, minlength=NUM_CLASSES).tolist(),
            "test_per_class": np.bincount(solution.labels, minlength=NUM_CLASSES).tolist(),
            "source_index": "the row of the imported test images, the same as ID",
            "files": file_entries(staged),
        }

    return publish_course_files(
        Path(out_dir),
        write_student=lambda part: write_student_file(
            part, course.layout, course.X_train, course.y_train, course.X_test, description
        ),
        key_text=answer_key_text(solution.labels, solution.is_public, test_ids),
        verify=verify,
        manifest=manifest,
        force=force,
    )


def read_course_file(path: Path) -> CourseFile:
    """Read and check a course's student file; flattened images come back as (N, 28, 28)."""
    if not path.is_file():
        raise DatasetError(f"{path}: student file not found")
    if not h5py.is_hdf5(path):
        raise DatasetError(f"{path}: not an HDF5 file")
    try:
        return _read_checked(path)
    except OSError as error:
        raise DatasetError(f"{path}: cannot read the HDF5 file ({error})") from None


def _read_checked(path: Path) -> CourseFile:
    with h5py.File(path, "r") as h5:
        names: list[str] = list(h5)
        h5.visit(names.append)
        leaks = sorted({n for n in names if n.rsplit("/", 1)[-1].lower() in TEST_LABEL_NAMES})
        if leaks:
            raise DatasetError(
                f"{path}: holds test labels ({', '.join(leaks)}); a student file must not, "
                "it would hand students the answers. Remove them: the labels belong in the "
                "answer key"
            )
        layout = find_layout(h5, path)
        extra = sorted(set(h5) - set(layout))
        if extra:
            raise DatasetError(
                f"{path}: holds {', '.join(extra)} besides {layout}; expected only those "
                "three. Remove the rest, so that nothing unchecked reaches students"
            )
        X_train, y_train, X_test = (h5[name][()] for name in layout)
    X_train = _images(path, layout.train_images, X_train)
    X_test = _images(path, layout.test_images, X_test)
    y_train = _labels(path, layout, y_train, len(X_train))
    return CourseFile(layout, X_train, y_train, X_test)


def read_kaggle_solution(path: Path, test_images: int, student_file: Path) -> Solution:
    """Read a Kaggle solution file for ``test_images`` test images of ``student_file``."""
    rows = read_csv_rows(path, DatasetError)
    header = rows[0][1]
    id_column, label_column, usage_column = _solution_columns(path, header)
    labels = np.full(test_images, -1, dtype=np.int64)
    is_public = np.zeros(test_images, dtype=bool)
    first_seen: dict[int, int] = {}
    for line, cells in rows[1:]:
        if len(cells) != 3:
            raise DatasetError(f"{path}: line {line}: expected 3 columns, found {len(cells)}")
        id_text, label, usage = cells[id_column], cells[label_column], cells[usage_column]
        where = f"{path}: line {line}"
        if not NON_NEGATIVE_INTEGER.fullmatch(id_text):
            raise DatasetError(
                f"{where}, column {header[id_column]}: {id_text!r} is not a non-negative integer"
            )
        image_id = int(id_text)
        if image_id in first_seen:
            raise DatasetError(
                f"{where}, column {header[id_column]}: duplicate ID {image_id} "
                f"(first on line {first_seen[image_id]})"
            )
        first_seen[image_id] = line
        if not NON_NEGATIVE_INTEGER.fullmatch(label) or int(label) >= NUM_CLASSES:
            raise DatasetError(
                f"{where}, column {header[label_column]}: {label!r} is not a class; "
                f"expected an integer 0..{NUM_CLASSES - 1}"
            )
        if usage.lower() not in ("public", "private"):
            raise DatasetError(
                f"{where}, column {header[usage_column]}: {usage!r} is not Public or Private; "
                "every test image must be scored on one of the two leaderboards"
            )
        if image_id < test_images:
            labels[image_id] = int(label)
            is_public[image_id] = usage.lower() == "public"
    _check_ids(path, first_seen, test_images, student_file)
    for usage, rows_of_usage in (("Public", is_public), ("Private", ~is_public)):
        if not rows_of_usage.any():
            raise DatasetError(
                f"{path}: no {usage} rows; expected both Public rows (the leaderboard before "
                "the deadline) and Private rows (the final ranking)"
            )
    return Solution(labels.astype(np.uint8), is_public)


def _solution_columns(path: Path, header: list[str]) -> tuple[int, int, int]:
    """Positions of the ID, label and Usage columns in ``header``."""
    expected = (
        "expected a Kaggle solution file with three columns: the ID (ID or Id), the label "
        "(Label, Category or Expected) and Usage"
    )
    names = [name.lower() for name in header]
    positions = [
        [i for i, name in enumerate(names) if name in accepted]
        for accepted in (ID_COLUMNS, LABEL_COLUMNS, USAGE_COLUMNS)
    ]
    if len(header) != 3 or any(len(found) != 1 for found in positions):
        raise DatasetError(f"{path}: line 1: header is {','.join(header)!r}; {expected}")
    id_column, label_column, usage_column = (found[0] for found in positions)
    return id_column, label_column, usage_column


def _check_ids(path: Path, first_seen: dict[int, int], count: int, student_file: Path) -> None:
    """The IDs must be exactly 0..count-1, one per test image."""
    numbering = f"ID i is row i of the test images in {student_file}, as in submission files"
    if len(first_seen) != count:
        raise DatasetError(
            f"{path}: has {len(first_seen):,} rows but {student_file} has {count:,} test "
            "images; expected one row per test image"
        )
    if sorted(first_seen) == list(range(1, count + 1)):
        raise DatasetError(
            f"{path}: IDs run 1..{count}; the kit numbers test images from 0 ({numbering}). "
            "Subtract 1 from every ID if ID 1 is the first test image"
        )
    beyond = [(line, image_id) for image_id, line in first_seen.items() if image_id >= count]
    if beyond:
        line, image_id = min(beyond)
        raise DatasetError(
            f"{path}: line {line}, column ID: ID {image_id} is out of range; expected "
            f"0..{count - 1} ({numbering})"
        )


def _images(path: Path, name: str, images: np.ndarray) -> np.ndarray:
    if images.dtype != np.uint8:
        raise DatasetError(
            f"{path}: {name} has dtype {images.dtype}, expected uint8 pixel values 0..255"
        )
    if images.ndim == 2 and images.shape[1] == _FLAT_PIXELS:
        images = images.reshape(len(images), *IMAGE_SHAPE)
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE or len(images) == 0:
        raise DatasetError(
            f"{path}: {name} has shape {images.shape}, expected (N, 28, 28) or flattened "
            "(N, 784) with N at least 1"
        )
    return images


def _labels(path: Path, layout: H5Layout, labels: np.ndarray, count: int) -> np.ndarray:
    name = layout.train_labels
    if labels.dtype.kind not in "iu":
        raise DatasetError(f"{path}: {name} has dtype {labels.dtype}, expected integers 0..9")
    if labels.shape != (count,):
        raise DatasetError(
            f"{path}: {name} has shape {labels.shape}, expected ({count},): one label per "
            f"image of {layout.train_images}"
        )
    if labels.min() < 0 or labels.max() >= NUM_CLASSES:
        bad = labels.min() if labels.min() < 0 else labels.max()
        raise DatasetError(f"{path}: {name} holds label {bad}, expected 0..{NUM_CLASSES - 1}")
    return labels.astype(np.uint8)
