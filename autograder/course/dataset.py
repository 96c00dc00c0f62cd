"""Build the course's Fashion-MNIST dataset and its private answer key.

All 70,000 Fashion-MNIST images (official train and test together) are split
again, stratified by class and with a seed, into 59,500 labelled training
images and 10,500 unlabelled test images for the leaderboard::

    OUT/public/Fashion_MNIST.h5     X_train, y_train, X_test   -> students
    OUT/private/answer_key.csv      ID, Label, Usage, SourceIndex  -> instructors only
    OUT/private/manifest.json       seed, counts and SHA-256 of every file

``Usage`` splits the test IDs into a Public part (scored on the leaderboard
before the deadline) and a Private part (the final ranking). The manifest is
private too: with the seed and the public dataset, anyone could rebuild the
key. ``SourceIndex`` is the test image's index among the 70,000 originals.

``coursekit data import`` (:mod:`autograder.course.adopt`) writes the same
three files from an existing course's own student file and Kaggle solution
file; ``publish_course_files`` does the writing for both.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
from sklearn.model_selection import train_test_split

from autograder.settings import DEFAULTS
from utilities.csvfile import NON_NEGATIVE_INTEGER, header_error, read_csv_rows
from utilities.data import RAW_DATASETS, load_raw, sha256_of
from utilities.errors import DatasetError
from utilities.files import staged_file
from utilities.labels import NUM_CLASSES
from utilities.loaders import (
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_FILE,
    KIT_LAYOUT,
    H5Layout,
    load_fashion_mnist,
)

PUBLIC_DIR = Path("public")  # what students get
PRIVATE_DIR = Path("private")  # instructors only: the answer key, the manifest, BEAT ME
STUDENT_FILE = PUBLIC_DIR / FASHION_MNIST_FILE
ANSWER_KEY_FILE = PRIVATE_DIR / "answer_key.csv"
MANIFEST_FILE = PRIVATE_DIR / "manifest.json"
KEY_COLUMNS = ("ID", "Label", "Usage", "SourceIndex")
_CHUNK_ROWS = 1024
_BUILT_DESCRIPTION = (
    "Course split of Fashion-MNIST (Zalando Research, MIT license): "
    "labelled X_train/y_train and unlabelled X_test for the leaderboard."
)


@dataclass(frozen=True)
class CourseSplit:
    """Which original images go where. Source index i < 60,000 is official train image i;
    i ≥ 60,000 is official test image i - 60,000."""

    train_source: np.ndarray
    test_source: np.ndarray
    test_is_public: np.ndarray


@dataclass(frozen=True)
class BuildResult:
    """What ``build_course_dataset`` wrote, and whether anything changed."""

    student_file: Path
    answer_key: Path
    manifest: Path
    changed: bool
    manifest_data: dict


def split_course_data(
    labels: np.ndarray,
    *,
    seed: int = DEFAULTS.seed,
    test_size: int = DEFAULTS.test_size,
    public_fraction: float = DEFAULTS.public_fraction,
) -> CourseSplit:
    """Stratified, seeded split of all images into train/test, and of test into public/private."""
    if not 0 <= seed < 2**32:
        raise DatasetError(f"seed must be between 0 and 2**32 - 1, got {seed}")
    if not 0 < public_fraction < 1:
        raise DatasetError(f"public fraction must be between 0 and 1, got {public_fraction}")
    everything = np.arange(len(labels))
    try:
        train_source, test_source = train_test_split(
            everything, test_size=test_size, stratify=labels, random_state=seed
        )
        public_ids, _ = train_test_split(
            np.arange(len(test_source)),
            train_size=public_fraction,
            stratify=labels[test_source],
            random_state=seed,
        )
    except ValueError as error:
        raise DatasetError(
            f"cannot split {len(labels):,} images into {test_size:,} test images with a "
            f"public fraction of {public_fraction}: {error}"
        ) from None
    is_public = np.zeros(len(test_source), dtype=bool)
    is_public[public_ids] = True
    split = CourseSplit(train_source, test_source, is_public)
    _check_partition(split, len(labels))
    return split


def build_course_dataset(
    out_dir: str | Path,
    *,
    seed: int = DEFAULTS.seed,
    test_size: int = DEFAULTS.test_size,
    public_fraction: float = DEFAULTS.public_fraction,
    mirror: str | None = None,
    cache_dir: str | Path | None = None,
    offline: bool | None = None,
    force: bool = False,
) -> BuildResult:
    """Write the student file, the answer key and the manifest under ``out_dir``.

    The output is byte-for-byte the same for the same seed. All three files
    are written next to their destinations and renamed into place together
    only after the whole build has been verified, so a failed build leaves
    the previous one intact. An existing answer key that differs from the new
    one (another seed, say) is kept unless ``force`` is set, because scores
    already on the leaderboard were computed against it; even then it is
    kept as ``answer_key.<sha256 prefix>.csv`` beside its manifest.
    """
    out_dir = Path(out_dir)
    raw = load_raw("fashion-mnist", mirror=mirror, cache_dir=cache_dir, offline=offline)
    images = np.concatenate([raw["X_train"], raw["X_test"]])
    labels = np.concatenate([raw["y_train"], raw["y_test"]])
    split = split_course_data(
        labels, seed=seed, test_size=test_size, public_fraction=public_fraction
    )

    train, test = split.train_source, split.test_source
    return publish_course_files(
        out_dir,
        write_student=lambda part: write_student_file(
            part, KIT_LAYOUT, images[train], labels[train], images[test], _BUILT_DESCRIPTION
        ),
        key_text=answer_key_text(labels[test], split.test_is_public, test),
        verify=lambda student, key: verify_course_dataset(student, key, images, labels),
        manifest=lambda staged: _manifest(staged, split, labels, seed, test_size, public_fraction),
        force=force,
    )


def publish_course_files(
    out_dir: Path,
    *,
    write_student: Callable[[Path], None],
    key_text: str,
    verify: Callable[[Path, Path], None],
    manifest: Callable[[dict[Path, Path]], dict],
    force: bool,
) -> BuildResult:
    """Stage, verify and swap in the student file, answer key and manifest together.

    ``write_student(staged_path)`` writes the student file; ``verify(student,
    key)`` checks the staged pair; ``manifest(staged)`` describes the staged
    files (``{relative path: staged path}``). Nothing replaces the files under
    ``out_dir`` until all three have succeeded, a lock keeps two writers out,
    and a differing answer key is replaced only with ``force``, after a backup.
    """
    key_path, student_path = out_dir / ANSWER_KEY_FILE, out_dir / STUDENT_FILE
    manifest_path = out_dir / MANIFEST_FILE
    student_path.parent.mkdir(parents=True, exist_ok=True)
    key_path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(key_path.parent, 0o700)

    with (
        _exclusive(out_dir),
        staged_file(student_path) as student_part,
        staged_file(key_path, mode=0o600) as key_part,
        staged_file(manifest_path, mode=0o600) as manifest_part,
    ):
        replaces_key = key_path.exists() and key_path.read_text() != key_text
        if replaces_key and not force:
            raise DatasetError(
                f"{key_path} already exists and differs from the key that would be written; "
                "leaderboard scores depend on it. Pass --force to replace it (the old key is "
                "kept as a backup), or --out elsewhere."
            )
        write_student(student_part)
        key_part.write_text(key_text)
        verify(student_part, key_part)
        staged = {STUDENT_FILE: student_part, ANSWER_KEY_FILE: key_part}
        manifest_data = manifest(staged)
        manifest_part.write_text(json.dumps(manifest_data, indent=2) + "\n")
        changed = any(
            not (out_dir / relative).exists()
            or sha256_of(out_dir / relative) != manifest_data["files"][str(relative)]["sha256"]
            for relative in staged
        )
        if replaces_key:
            _back_up(key_path, manifest_path)
        # Swapped in together, only after everything above has succeeded.
        os.replace(student_part, student_path)
        os.replace(key_part, key_path)
        os.replace(manifest_part, manifest_path)
    return BuildResult(student_path, key_path, manifest_path, changed, manifest_data)


def load_answer_key(path: str | Path) -> dict[str, np.ndarray]:
    """Read an answer key: ``ID`` (0..N-1 in order), ``Label``, ``is_public``, ``SourceIndex``."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: answer key not found; run `coursekit data build` first")
    rows = read_csv_rows(path, DatasetError)
    if tuple(rows[0][1]) != KEY_COLUMNS:
        raise DatasetError(header_error(path, rows[0][1], KEY_COLUMNS))
    ids, labels, public, sources = [], [], [], []
    for line, cells in rows[1:]:
        if len(cells) != len(KEY_COLUMNS):
            raise DatasetError(
                f"{path}: line {line}: expected {len(KEY_COLUMNS)} columns "
                f"({','.join(KEY_COLUMNS)}), found {len(cells)}"
            )
        image_id, label, usage, source = cells
        for column, text in (("ID", image_id), ("Label", label), ("SourceIndex", source)):
            if not NON_NEGATIVE_INTEGER.fullmatch(text):
                raise DatasetError(
                    f"{path}: line {line}, column {column}: {text!r} is not a non-negative integer"
                )
        if int(label) >= NUM_CLASSES:
            raise DatasetError(
                f"{path}: line {line}, column Label: {label} is not a class 0..{NUM_CLASSES - 1}"
            )
        if usage not in ("Public", "Private"):
            raise DatasetError(
                f"{path}: line {line}, column Usage: {usage!r} is not Public or Private"
            )
        ids.append(int(image_id))
        labels.append(int(label))
        public.append(usage == "Public")
        sources.append(int(source))
    if ids != list(range(len(ids))):
        raise DatasetError(f"{path}: IDs must run 0..{len(ids) - 1} in order")
    return {
        "ID": np.array(ids, dtype=np.int64),
        "Label": np.array(labels, dtype=np.uint8),
        "is_public": np.array(public, dtype=bool),
        "SourceIndex": np.array(sources, dtype=np.int64),
    }


def verify_course_dataset(
    student_file: str | Path, answer_key: str | Path, images: np.ndarray, labels: np.ndarray
) -> None:
    """Check that train plus test is exactly the original image set, each image once.

    Compares the multiset of (image, label) records of the course files with
    that of the original dataset, so no image is lost, duplicated or
    relabelled; also checks that each test row is the source image its key
    names.
    """
    course = load_fashion_mnist(student_file)
    key = load_answer_key(answer_key)
    if len(key["ID"]) != len(course["X_test"]):
        raise DatasetError(
            f"{answer_key}: has {len(key['ID'])} IDs but {student_file} has "
            f"{len(course['X_test'])} test images"
        )
    if key["SourceIndex"].size and key["SourceIndex"].max() >= len(images):
        raise DatasetError(
            f"{answer_key}: SourceIndex {key['SourceIndex'].max()} is beyond the "
            f"{len(images):,} original images"
        )
    if len(np.unique(key["SourceIndex"])) != len(key["SourceIndex"]):
        raise DatasetError(f"{answer_key}: a source image appears twice in the test set")
    if not (
        np.array_equal(images[key["SourceIndex"]], course["X_test"])
        and np.array_equal(labels[key["SourceIndex"]], key["Label"])
    ):
        raise DatasetError(f"{answer_key}: test rows do not match their source images")
    built = _records(
        np.concatenate([course["X_train"], course["X_test"]]),
        np.concatenate([course["y_train"], key["Label"]]),
    )
    original = _records(images, labels)
    if len(built) != len(original) or not np.array_equal(built, original):
        raise DatasetError(
            f"{student_file}: train + test ({len(built):,} images) is not exactly the "
            f"original {len(original):,} images"
        )


def _records(images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Sorted (pixels + label) byte records, for multiset comparison."""
    flat = np.concatenate([images.reshape(len(images), -1), labels.reshape(-1, 1)], axis=1)
    flat = np.ascontiguousarray(flat, dtype=np.uint8)
    return np.sort(flat.view(np.dtype((np.void, flat.shape[1]))).ravel())


def _check_partition(split: CourseSplit, total: int) -> None:
    together = np.concatenate([split.train_source, split.test_source])
    if len(together) != total or not np.array_equal(np.sort(together), np.arange(total)):
        raise DatasetError("course split does not use every original image exactly once")


def answer_key_text(labels: np.ndarray, is_public: np.ndarray, source_index: np.ndarray) -> str:
    """The answer key CSV: row ``i`` is test ID ``i`` with its label, usage and source."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(KEY_COLUMNS)
    rows = zip(labels.tolist(), is_public.tolist(), source_index.tolist(), strict=True)
    for image_id, (label, public, source) in enumerate(rows):
        writer.writerow([image_id, label, "Public" if public else "Private", source])
    return buffer.getvalue()


def write_student_file(
    path: Path,
    layout: H5Layout,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    description: str,
) -> None:
    """Write the three arrays, and nothing else, under the names of ``layout``."""
    options = {"compression": "gzip", "compression_opts": 4, "shuffle": True, "track_times": False}
    with h5py.File(path, "w") as h5:
        h5.create_dataset(layout.train_images, data=X_train, chunks=_chunks(X_train), **options)
        h5.create_dataset(layout.train_labels, data=y_train, track_times=False)
        h5.create_dataset(layout.test_images, data=X_test, chunks=_chunks(X_test), **options)
        h5.attrs["description"] = description
        h5.attrs["class_names"] = list(FASHION_MNIST_CLASSES)


def _chunks(images: np.ndarray) -> tuple[int, ...]:
    """HDF5 chunks of up to ``_CHUNK_ROWS`` whole images (never more rows than there are)."""
    return (max(1, min(_CHUNK_ROWS, len(images))), *images.shape[1:])


def file_entries(staged: dict[Path, Path]) -> dict[str, dict]:
    """The manifest's ``files``: SHA-256 and size of each staged file, by relative path."""
    return {
        str(relative): {"sha256": sha256_of(part), "bytes": part.stat().st_size}
        for relative, part in staged.items()
    }


def _manifest(staged: dict[Path, Path], split, labels, seed, test_size, public_fraction) -> dict:
    """Seed, counts and checksums; computed from the staged files before they go live."""
    raw = RAW_DATASETS["fashion-mnist"]
    return {
        "dataset": "fashion-mnist",
        "seed": seed,
        "train_size": len(split.train_source),
        "test_size": test_size,
        "public_fraction": public_fraction,
        "public_test_images": int(split.test_is_public.sum()),
        "train_per_class": np.bincount(labels[split.train_source], minlength=NUM_CLASSES).tolist(),
        "test_per_class": np.bincount(labels[split.test_source], minlength=NUM_CLASSES).tolist(),
        "source_files": {f"{raw.name}/{f.name}": f.sha256 for f in raw.files.values()},
        "files": file_entries(staged),
    }


def _back_up(key_path: Path, manifest_path: Path) -> None:
    """Keep the key (and its manifest) that a forced build replaces, named by its hash."""
    tag = sha256_of(key_path)[:12]
    shutil.copy2(key_path, key_path.with_name(f"answer_key.{tag}.csv"))
    if manifest_path.exists():
        shutil.copy2(manifest_path, manifest_path.with_name(f"manifest.{tag}.json"))


@contextmanager
def _exclusive(out_dir: Path) -> Iterator[None]:
    """Hold a lock on ``out_dir`` so that two builds never write into it at once."""
    with open(out_dir / ".build.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatasetError(f"{out_dir}: another build is writing here; try again") from None
        yield
