"""Load the course datasets as dictionaries of numpy arrays."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import h5py
import numpy as np
from sklearn.model_selection import train_test_split

from .data import load_raw
from .errors import DatasetError
from .labels import NUM_CLASSES

#: Class names of MNIST, by label: ``"0"`` to ``"9"``.
MNIST_CLASSES: tuple[str, ...] = tuple(str(digit) for digit in range(10))
#: Class names of Fashion-MNIST, by label: ``"T-shirt/top"`` (0) to ``"Ankle boot"`` (9).
FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

MNIST_VALIDATION_SIZE = 7_500  # 1/8 of the 60,000 training images
MNIST_VALIDATION_SEED = 42
FASHION_MNIST_FILE = "Fashion_MNIST.h5"
IMAGE_SHAPE = (28, 28)


class H5Layout(NamedTuple):
    """The names of the three datasets in a Fashion-MNIST HDF5 file."""

    train_images: str
    train_labels: str
    test_images: str

    def __str__(self) -> str:
        return f"{self.train_images}, {self.train_labels} and {self.test_images}"


#: The kit's own file, written by ``coursekit data build``.
KIT_LAYOUT = H5Layout("X_train", "y_train", "X_test")
#: The original assignment's file; ``coursekit data import`` keeps its names.
ORIGINAL_LAYOUT = H5Layout("train_images", "train_labels", "test_images")
#: Every layout ``load_fashion_mnist`` reads, tried in this order.
FASHION_MNIST_LAYOUTS = (KIT_LAYOUT, ORIGINAL_LAYOUT)


def load_mnist(verbose: int = 0) -> dict[str, np.ndarray]:
    """Load MNIST with a fixed validation split carved out of the training set.

    The 60,000 official training images are split, stratified by digit and
    with seed ``MNIST_VALIDATION_SEED`` (42), into 52,500 training and
    ``MNIST_VALIDATION_SIZE`` (7,500, one eighth) validation images, so every student
    gets the same split. The 10,000 official test images are the test set.
    Files are downloaded once, checked against their SHA-256 and cached.

    Parameters
    ----------
    verbose : int
        ``0`` is silent; ``1`` prints the shape of every array.

    Returns
    -------
    dict
        ``X_train``, ``X_val``, ``X_test``: uint8 arrays of shape (N, 28, 28)
        with pixel values 0..255; ``y_train``, ``y_val``, ``y_test``: uint8
        digit labels 0..9.

    Examples
    --------
    >>> data = load_mnist()
    >>> data["X_train"].shape, data["X_val"].shape, data["X_test"].shape
    ((52500, 28, 28), (7500, 28, 28), (10000, 28, 28))
    """
    raw = load_raw("mnist")
    X_train, X_val, y_train, y_val = train_test_split(
        raw["X_train"],
        raw["y_train"],
        test_size=MNIST_VALIDATION_SIZE,
        stratify=raw["y_train"],
        random_state=MNIST_VALIDATION_SEED,
    )
    data = {
        "X_train": X_train,
        "y_train": y_train,
        "X_val": X_val,
        "y_val": y_val,
        "X_test": raw["X_test"],
        "y_test": raw["y_test"],
    }
    if verbose:
        _print_shapes("MNIST", data)
    return data


def load_fashion_mnist(path: str | Path = FASHION_MNIST_FILE, verbose: int = 0) -> dict:
    """Load the course's Fashion-MNIST file.

    The file holds labelled training images and unlabelled test images,
    whose predictions go to the leaderboard. Two layouts are read, with the
    same result:

    - the kit's: datasets ``X_train``, ``y_train`` and ``X_test``;
    - the original assignment's: ``train_images``, ``train_labels`` and
      ``test_images``.

    Parameters
    ----------
    path : path
        The ``Fashion_MNIST.h5`` file handed out with the assignment.
    verbose : int
        ``0`` is silent; ``1`` prints the shape of every array.

    Returns
    -------
    dict
        ``X_train`` (uint8, N×28×28), ``y_train`` (uint8 labels 0..9, length
        N) and ``X_test`` (uint8, M×28×28), whichever layout the file has.

    Raises
    ------
    DatasetError
        When the file is missing or is not HDF5; when it has neither layout
        (the message lists the datasets it found); or when a dataset has the
        wrong shape, dtype or label values.

    Examples
    --------
    >>> data = load_fashion_mnist("Fashion_MNIST.h5")
    >>> data["X_train"].shape, data["y_train"].shape, data["X_test"].shape
    ((59500, 28, 28), (59500,), (10500, 28, 28))
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(
            f"{path}: file not found; put {FASHION_MNIST_FILE} in {path.absolute().parent} "
            "(download it from the Getting started page of the course site, or fetch the "
            "assignment on the course JupyterHub) or pass its path"
        )
    if not h5py.is_hdf5(path):
        raise DatasetError(f"{path}: not an HDF5 file (is the download complete?)")
    try:
        with h5py.File(path, "r") as h5:
            layout = find_layout(h5, path)
            data = {
                "X_train": h5[layout.train_images][()],
                "y_train": h5[layout.train_labels][()],
                "X_test": h5[layout.test_images][()],
            }
    except OSError as error:
        raise DatasetError(
            f"{path}: cannot read the HDF5 file ({error}); it may be truncated, download it again"
        ) from None
    _check_images(path, layout.train_images, data["X_train"])
    _check_images(path, layout.test_images, data["X_test"])
    _check_labels(path, layout.train_labels, data["y_train"], len(data["X_train"]))
    if verbose:
        _print_shapes("Fashion-MNIST", data)
    return data


def find_layout(h5: h5py.File, path: Path) -> H5Layout:
    """The first of ``FASHION_MNIST_LAYOUTS`` whose three names are all in ``h5``.

    Raises ``DatasetError`` naming ``path``, the datasets found and the
    layouts expected, or the name that is a group where an array belongs.
    """
    for layout in FASHION_MNIST_LAYOUTS:
        if all(name in h5 for name in layout):
            for name in layout:
                if not isinstance(h5[name], h5py.Dataset):
                    raise DatasetError(f"{path}: {name} is a group, expected an array")
            return layout
    closest = max(FASHION_MNIST_LAYOUTS, key=lambda layout: sum(name in h5 for name in layout))
    missing = [name for name in closest if name not in h5]
    found = ", ".join(sorted(h5)) or "none"
    raise DatasetError(
        f"{path}: missing dataset(s) {', '.join(missing)}; found {found}; expected "
        f"{KIT_LAYOUT} (the kit's layout) or {ORIGINAL_LAYOUT} (the original assignment's)"
    )


def _check_images(path: Path, name: str, images: np.ndarray) -> None:
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise DatasetError(f"{path}: {name} has shape {images.shape}, expected (N, 28, 28)")
    if images.dtype != np.uint8:
        raise DatasetError(f"{path}: {name} has dtype {images.dtype}, expected uint8")


def _check_labels(path: Path, name: str, labels: np.ndarray, count: int) -> None:
    if labels.shape != (count,):
        raise DatasetError(
            f"{path}: {name} has shape {labels.shape}, expected ({count},), one label per image"
        )
    if labels.dtype != np.uint8:
        raise DatasetError(f"{path}: {name} has dtype {labels.dtype}, expected uint8")
    if count and labels.max() >= NUM_CLASSES:
        raise DatasetError(f"{path}: {name} holds label {labels.max()}, expected 0..9")


def _print_shapes(title: str, data: dict[str, np.ndarray]) -> None:
    print(f"{title}:")
    for name, array in data.items():
        print(f"  {name:<8} {array.dtype!s:<6} {array.shape}")
