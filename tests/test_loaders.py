"""`load_mnist` and `load_fashion_mnist`: what students get, and the errors they see."""

from __future__ import annotations

import hashlib

import h5py
import numpy as np
import pytest

from conftest import MNIST_TEST_COUNTS, MNIST_TRAIN_COUNTS, image_label_counts
from utilities import (
    FASHION_MNIST_CLASSES,
    MNIST_CLASSES,
    DatasetError,
    load_fashion_mnist,
    load_mnist,
)
from utilities.data import load_raw

VALIDATION_SPLIT_SHA256 = "135c55eb02b8315daeca26a89efa26115b52775ea45b67efac63a911dc6502a0"


@pytest.fixture(scope="module")
def mnist(mirror_dir):
    return load_mnist()


def test_load_mnist_returns_train_validation_and_test_arrays(mnist):
    assert list(mnist) == ["X_train", "y_train", "X_val", "y_val", "X_test", "y_test"]
    assert mnist["X_train"].shape == (52_500, 28, 28)
    assert mnist["X_val"].shape == (7_500, 28, 28)
    assert mnist["X_test"].shape == (10_000, 28, 28)
    for name, array in mnist.items():
        assert array.dtype == np.uint8, name
    assert len(mnist["y_train"]) == 52_500 and len(mnist["y_val"]) == 7_500


def test_validation_split_is_stratified_and_uses_every_training_image_once(mnist):
    counts = np.bincount(mnist["y_train"]) + np.bincount(mnist["y_val"])
    assert counts.tolist() == MNIST_TRAIN_COUNTS
    shares = np.bincount(mnist["y_val"]) / np.array(MNIST_TRAIN_COUNTS)
    assert np.allclose(shares, 1 / 8, atol=0.001)
    raw = load_raw("mnist")
    together = image_label_counts(
        np.concatenate([mnist["X_train"], mnist["X_val"]]),
        np.concatenate([mnist["y_train"], mnist["y_val"]]),
    )
    assert together == image_label_counts(raw["X_train"], raw["y_train"])


def test_the_test_set_is_the_official_one(mnist):
    assert np.bincount(mnist["y_test"]).tolist() == MNIST_TEST_COUNTS


def test_validation_split_is_the_same_for_every_student(mnist):
    again = load_mnist()
    for name in mnist:
        np.testing.assert_array_equal(mnist[name], again[name])


def test_validation_split_is_pinned_across_machines_and_library_versions(mnist):
    # If scikit-learn or numpy ever changes how the seeded split is drawn, this
    # fails, and the README's promise of one split for every student is broken.
    digest = hashlib.sha256(mnist["y_val"].tobytes() + mnist["X_val"].tobytes()).hexdigest()
    assert digest == VALIDATION_SPLIT_SHA256


def test_verbose_prints_every_shape(mirror_dir, capsys):
    load_mnist(verbose=1)
    printed = capsys.readouterr().out
    assert "MNIST" in printed and "(52500, 28, 28)" in printed and "y_val" in printed


def test_class_names_for_both_datasets():
    assert tuple("0123456789") == MNIST_CLASSES
    assert len(FASHION_MNIST_CLASSES) == 10
    assert FASHION_MNIST_CLASSES[0] == "T-shirt/top" and FASHION_MNIST_CLASSES[9] == "Ankle boot"


def test_load_fashion_mnist_reads_the_course_file(course_build, capsys):
    data = load_fashion_mnist(course_build.student_file, verbose=1)
    assert sorted(data) == ["X_test", "X_train", "y_train"]
    assert data["X_train"].shape == (59_500, 28, 28) and data["X_train"].dtype == np.uint8
    assert data["y_train"].shape == (59_500,) and data["y_train"].dtype == np.uint8
    assert data["X_test"].shape == (10_500, 28, 28)
    assert "Fashion-MNIST" in capsys.readouterr().out


def _h5(path, **datasets):
    with h5py.File(path, "w") as h5:
        for name, array in datasets.items():
            h5[name] = array
    return path


GOOD = {
    "X_train": np.zeros((4, 28, 28), np.uint8),
    "y_train": np.array([0, 1, 2, 9], np.uint8),
    "X_test": np.zeros((3, 28, 28), np.uint8),
}


def test_a_well_formed_small_file_loads(tmp_path):
    data = load_fashion_mnist(_h5(tmp_path / "ok.h5", **GOOD))
    assert data["y_train"].tolist() == [0, 1, 2, 9]


def test_a_missing_file_names_the_path_and_what_to_do(tmp_path):
    with pytest.raises(DatasetError, match=r"nope\.h5: file not found; put Fashion_MNIST\.h5"):
        load_fashion_mnist(tmp_path / "nope.h5")


def test_a_file_that_is_not_hdf5_is_reported(tmp_path):
    path = tmp_path / "Fashion_MNIST.h5"
    path.write_text("<html>404</html>")
    with pytest.raises(DatasetError, match="not an HDF5 file"):
        load_fashion_mnist(path)


ORIGINAL = {
    "train_images": GOOD["X_train"],
    "train_labels": GOOD["y_train"],
    "test_images": GOOD["X_test"],
}


def test_the_original_assignments_layout_loads_under_the_same_names(tmp_path):
    data = load_fashion_mnist(_h5(tmp_path / "original.h5", **ORIGINAL))
    assert list(data) == ["X_train", "y_train", "X_test"]
    assert data["y_train"].tolist() == [0, 1, 2, 9]
    assert data["X_test"].shape == (3, 28, 28)


def test_missing_datasets_are_named(tmp_path):
    path = _h5(tmp_path / "f.h5", X_train=GOOD["X_train"])
    with pytest.raises(DatasetError, match=r"missing dataset.*y_train, X_test.*found X_train"):
        load_fashion_mnist(path)


def test_a_file_with_neither_layout_lists_what_it_found_and_both_layouts(tmp_path):
    path = _h5(tmp_path / "f.h5", images=GOOD["X_train"], labels=GOOD["y_train"])
    with pytest.raises(DatasetError) as caught:
        load_fashion_mnist(path)
    assert str(caught.value) == (
        f"{path}: missing dataset(s) X_train, y_train, X_test; found images, labels; "
        "expected X_train, y_train and X_test (the kit's layout) or train_images, "
        "train_labels and test_images (the original assignment's)"
    )


def test_a_half_original_file_names_what_the_original_layout_lacks(tmp_path):
    path = _h5(tmp_path / "f.h5", train_images=GOOD["X_train"], train_labels=GOOD["y_train"])
    with pytest.raises(DatasetError, match=r"missing dataset\(s\) test_images; found train_"):
        load_fashion_mnist(path)


def test_errors_in_the_original_layout_use_its_own_names(tmp_path):
    path = _h5(tmp_path / "f.h5", **{**ORIGINAL, "train_labels": np.array([0, 1], np.uint8)})
    with pytest.raises(DatasetError, match=r"train_labels has shape \(2,\), expected \(4,\)"):
        load_fashion_mnist(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"X_train": np.zeros((4, 28, 27), np.uint8)}, r"X_train has shape \(4, 28, 27\)"),
        ({"X_test": np.zeros((3, 784), np.uint8)}, r"X_test has shape \(3, 784\)"),
        (
            {"X_train": np.zeros((4, 28, 28), np.float32)},
            "X_train has dtype float32, expected uint8",
        ),
        ({"y_train": np.array([0, 1, 2], np.uint8)}, r"y_train has shape \(3,\), expected \(4,\)"),
        ({"y_train": np.array([0, 1, 2, 3], np.int64)}, "y_train has dtype int64"),
        ({"y_train": np.array([0, 1, 2, 10], np.uint8)}, "y_train holds label 10, expected 0..9"),
    ],
)
def test_wrong_shapes_dtypes_and_labels_are_reported(tmp_path, change, message):
    path = _h5(tmp_path / "f.h5", **{**GOOD, **change})
    with pytest.raises(DatasetError, match=message) as caught:
        load_fashion_mnist(path)
    assert str(path) in str(caught.value)


def test_a_truncated_file_says_to_download_it_again(course_build, tmp_path):
    path = tmp_path / "Fashion_MNIST.h5"
    path.write_bytes(course_build.student_file.read_bytes()[:5_000_000])
    with pytest.raises(
        DatasetError, match=r"cannot read the HDF5 file.*download it again"
    ) as caught:
        load_fashion_mnist(path)
    assert str(path) in str(caught.value)


def test_a_group_where_an_array_belongs_is_reported(tmp_path):
    path = _h5(tmp_path / "f.h5", X_train=GOOD["X_train"], y_train=GOOD["y_train"])
    with h5py.File(path, "a") as h5:
        h5.create_group("X_test")
    with pytest.raises(DatasetError, match="X_test is a group, expected an array"):
        load_fashion_mnist(path)
