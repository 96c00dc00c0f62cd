"""`coursekit data import`: an existing course adopts the kit with its own file and Kaggle key."""

from __future__ import annotations

import json
import stat

import h5py
import numpy as np
import pytest

from autograder.cli.main import main
from autograder.course.adopt import import_course_dataset
from autograder.course.dataset import ANSWER_KEY_FILE, MANIFEST_FILE, STUDENT_FILE, load_answer_key
from autograder.leaderboard.board import scores
from utilities import DatasetError, load_fashion_mnist, make_submission, validate_submission
from utilities.data import sha256_of

TRAIN, TEST = 20, 10
PUBLIC_IDS = {1, 4, 7}  # 30 % of the test IDs
_pixels = np.random.default_rng(0)
X_TRAIN = _pixels.integers(0, 256, (TRAIN, 28, 28), dtype=np.uint8)
Y_TRAIN = (np.arange(TRAIN) % 10).astype(np.uint8)
X_TEST = _pixels.integers(0, 256, (TEST, 28, 28), dtype=np.uint8)
Y_TEST = (3 * np.arange(TEST) % 10).astype(np.uint8)
ORIGINAL = {"train_images": X_TRAIN, "train_labels": Y_TRAIN, "test_images": X_TEST}
KIT = {"X_train": X_TRAIN, "y_train": Y_TRAIN, "X_test": X_TEST}


def _h5(path, **datasets):
    with h5py.File(path, "w") as h5:
        for name, array in datasets.items():
            h5[name] = array
    return path


def _solution(path, header="ID,Label,Usage", rows=None):
    if rows is None:
        rows = [
            (i, int(Y_TEST[i]), "Public" if i in PUBLIC_IDS else "Private") for i in range(TEST)
        ]
    path.write_text(header + "\n" + "".join(",".join(map(str, row)) + "\n" for row in rows))
    return path


@pytest.fixture
def course(tmp_path):
    """An original-layout student file and its Kaggle solution file, as the course has them."""
    return _h5(tmp_path / "Fashion_MNIST.h5", **ORIGINAL), _solution(tmp_path / "solution.csv")


def _import(tmp_path, student, solution, **options):
    return import_course_dataset(student, solution, tmp_path / "course", **options)


def _refused(tmp_path, student, solution, message):
    with pytest.raises(DatasetError, match=message) as caught:
        _import(tmp_path, student, solution)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "course").exists(), "a refused import writes nothing"
    return str(caught.value)


# What an import writes


def test_an_original_course_is_written_where_the_build_writes_its_files(tmp_path, course):
    result = _import(tmp_path, *course)
    out = tmp_path / "course"
    assert (result.student_file, result.answer_key, result.manifest) == (
        out / STUDENT_FILE,
        out / ANSWER_KEY_FILE,
        out / MANIFEST_FILE,
    )
    assert stat.S_IMODE(result.answer_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(result.answer_key.parent.stat().st_mode) == 0o700


def test_the_student_file_keeps_the_courses_names_and_arrays(tmp_path, course):
    result = _import(tmp_path, *course)
    with h5py.File(result.student_file, "r") as h5:
        assert sorted(h5) == ["test_images", "train_images", "train_labels"]
        np.testing.assert_array_equal(h5["train_images"][()], X_TRAIN)
    data = load_fashion_mnist(result.student_file)
    np.testing.assert_array_equal(data["X_test"], X_TEST)
    np.testing.assert_array_equal(data["y_train"], Y_TRAIN)


def test_the_answer_key_is_the_courses_key_in_the_kits_format(tmp_path, course):
    key = load_answer_key(_import(tmp_path, *course).answer_key)
    assert key["ID"].tolist() == list(range(TEST))
    np.testing.assert_array_equal(key["Label"], Y_TEST)
    assert set(np.flatnonzero(key["is_public"]).tolist()) == PUBLIC_IDS
    assert key["SourceIndex"].tolist() == list(range(TEST)), "the row of the imported test images"


def test_the_manifest_records_the_origin_and_the_public_fraction_of_the_usage_column(
    tmp_path, course
):
    result = _import(tmp_path, *course)
    manifest = json.loads(result.manifest.read_text())
    assert manifest["origin"] == "imported"
    assert manifest["layout"] == ["train_images", "train_labels", "test_images"]
    assert (manifest["train_size"], manifest["test_size"]) == (TRAIN, TEST)
    assert (manifest["public_fraction"], manifest["public_test_images"]) == (0.3, 3)
    assert manifest["imported_from"]["answer_key"]["sha256"] == sha256_of(course[1])
    for relative, entry in manifest["files"].items():
        assert sha256_of(tmp_path / "course" / relative) == entry["sha256"]


def test_the_kits_own_layout_is_imported_too(tmp_path):
    student = _h5(tmp_path / "kit.h5", **KIT)
    result = _import(tmp_path, student, _solution(tmp_path / "solution.csv"))
    with h5py.File(result.student_file, "r") as h5:
        assert sorted(h5) == ["X_test", "X_train", "y_train"]


def test_flattened_images_are_written_as_28_by_28(tmp_path):
    flat = {"train_images": X_TRAIN.reshape(TRAIN, 784), "test_images": X_TEST.reshape(TEST, 784)}
    student = _h5(tmp_path / "flat.h5", **{**ORIGINAL, **flat})
    result = _import(tmp_path, student, _solution(tmp_path / "solution.csv"))
    data = load_fashion_mnist(result.student_file)
    np.testing.assert_array_equal(data["X_train"], X_TRAIN)
    np.testing.assert_array_equal(data["X_test"], X_TEST)


def test_labels_of_any_integer_type_are_written_as_uint8(tmp_path):
    student = _h5(tmp_path / "f.h5", **{**ORIGINAL, "train_labels": Y_TRAIN.astype(np.int64)})
    result = _import(tmp_path, student, _solution(tmp_path / "solution.csv"))
    assert load_fashion_mnist(result.student_file)["y_train"].dtype == np.uint8


def test_only_the_three_arrays_reach_students_not_attributes_or_deleted_data(tmp_path):
    secret = np.frombuffer(b"THE-ANSWERS:0123456789" * 8, dtype=np.uint8)
    student = _h5(tmp_path / "f.h5", test_labels=secret, **ORIGINAL)
    with h5py.File(student, "a") as h5:
        del h5["test_labels"]  # HDF5 keeps the bytes of a deleted dataset in the file
        h5.attrs["note"] = "answers are in test_labels"
    assert secret.tobytes() in student.read_bytes()
    result = _import(tmp_path, student, _solution(tmp_path / "solution.csv"))
    assert secret.tobytes() not in result.student_file.read_bytes()
    with h5py.File(result.student_file, "r") as h5:
        assert "note" not in h5.attrs


def test_a_kaggle_key_with_rows_in_any_order_is_ordered_by_id(tmp_path):
    rows = [(i, int(Y_TEST[i]), "Public" if i in PUBLIC_IDS else "Private") for i in range(TEST)]
    solution = _solution(tmp_path / "solution.csv", rows=rows[::-1])
    key = load_answer_key(
        _import(tmp_path, _h5(tmp_path / "f.h5", **ORIGINAL), solution).answer_key
    )
    np.testing.assert_array_equal(key["Label"], Y_TEST)


@pytest.mark.parametrize(
    "header", ["Id,Expected,Usage", "Id,Category,Usage", "id,label,usage", "Usage,Label,ID"]
)
def test_the_common_kaggle_column_names_and_orders_are_accepted(tmp_path, header):
    rows = [(i, int(Y_TEST[i]), "Public" if i in PUBLIC_IDS else "Private") for i in range(TEST)]
    if header.startswith("Usage"):
        rows = [(usage, label, image_id) for image_id, label, usage in rows]
    solution = _solution(tmp_path / "solution.csv", header, rows)
    key = load_answer_key(
        _import(tmp_path, _h5(tmp_path / "f.h5", **ORIGINAL), solution).answer_key
    )
    np.testing.assert_array_equal(key["Label"], Y_TEST)
    assert set(np.flatnonzero(key["is_public"]).tolist()) == PUBLIC_IDS


# What an import refuses: the student file


@pytest.mark.parametrize("name", ["test_labels", "y_test", "Y_test", "extra/test_labels"])
def test_a_student_file_with_test_labels_is_refused(tmp_path, name):
    student = _h5(tmp_path / "f.h5", **ORIGINAL, **{name: Y_TEST})
    message = _refused(tmp_path, student, _solution(tmp_path / "s.csv"), "holds test labels")
    assert message.startswith(f"{student}: ")
    assert "would hand students the answers" in message


def test_any_other_extra_dataset_is_refused_by_name(tmp_path):
    student = _h5(tmp_path / "f.h5", **ORIGINAL, val_images=X_TEST)
    _refused(
        tmp_path,
        student,
        _solution(tmp_path / "s.csv"),
        "holds val_images besides train_images, train_labels and test_images; expected only",
    )


def test_a_file_with_neither_layout_lists_what_it_found_and_both_layouts(tmp_path):
    student = _h5(tmp_path / "f.h5", images=X_TRAIN, labels=Y_TRAIN)
    _refused(
        tmp_path,
        student,
        _solution(tmp_path / "s.csv"),
        r"found images, labels; expected X_train, y_train and X_test \(the kit's layout\) or "
        r"train_images, train_labels and test_images \(the original assignment's\)",
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"train_images": X_TRAIN.astype(np.float32) / 255},
            "train_images has dtype float32, expected uint8 pixel values 0..255",
        ),
        (
            {"test_images": X_TEST.reshape(TEST, 28, 28, 1)},
            r"test_images has shape \(10, 28, 28, 1\), expected \(N, 28, 28\) or flattened",
        ),
        (
            {"train_labels": Y_TRAIN[:-1]},
            r"train_labels has shape \(19,\), expected \(20,\): one label per image of "
            "train_images",
        ),
        ({"train_labels": Y_TRAIN.astype(np.float64)}, "train_labels has dtype float64"),
        ({"train_labels": np.full(TRAIN, 10)}, "train_labels holds label 10, expected 0..9"),
        ({"train_labels": np.full(TRAIN, -1)}, "train_labels holds label -1, expected 0..9"),
    ],
)
def test_bad_images_and_labels_are_named_with_what_was_expected(tmp_path, change, message):
    student = _h5(tmp_path / "f.h5", **{**ORIGINAL, **change})
    assert _refused(tmp_path, student, _solution(tmp_path / "s.csv"), message).startswith(
        f"{student}: "
    )


def test_a_file_that_is_not_hdf5_is_refused(tmp_path):
    student = tmp_path / "Fashion_MNIST.h5"
    student.write_text("not hdf5")
    _refused(tmp_path, student, _solution(tmp_path / "s.csv"), "not an HDF5 file")


# What an import refuses: the Kaggle solution file


def _rows(usage=lambda i: "Public" if i in PUBLIC_IDS else "Private", ids=range(TEST)):
    return [(i, int(Y_TEST[i % TEST]), usage(i)) for i in ids]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (_rows(ids=range(TEST - 1)), "has 9 rows but .* has 10 test images; expected one row per"),
        (_rows(ids=range(TEST + 1)), "has 11 rows but .* has 10 test images"),
        (
            _rows(ids=range(1, TEST + 1)),
            r"IDs run 1\.\.10; the kit numbers test images from 0 .*Subtract 1 from every ID",
        ),
        (
            _rows(ids=[*range(TEST - 1), 15]),
            r"line 11, column ID: ID 15 is out of range; expected 0\.\.9 \(ID i is row i",
        ),
        (_rows(ids=[0, 1, 1]), r"line 4, column ID: duplicate ID 1 \(first on line 3\)"),
        ([(-1, 0, "Public")], "line 2, column ID: '-1' is not a non-negative integer"),
        ([(0, 10, "Public")], "line 2, column Label: '10' is not a class; expected an integer"),
        ([(0, "Coat", "Public")], "line 2, column Label: 'Coat' is not a class"),
        (
            _rows(usage=lambda i: "Ignored" if i == 2 else "Public"),
            "line 4, column Usage: 'Ignored' is not Public or Private; every test image must be",
        ),
        (_rows(usage=lambda i: "Secret"), "line 2, column Usage: 'Secret' is not Public"),
        (_rows(usage=lambda i: "Public"), "no Private rows; expected both Public rows"),
        (_rows(usage=lambda i: "Private"), "no Public rows; expected both"),
        ([(0, 1, "Public", 5)], "line 2: expected 3 columns, found 4"),
    ],
)
def test_a_solution_that_does_not_fit_the_test_images_is_refused(tmp_path, rows, message):
    solution = _solution(tmp_path / "solution.csv", rows=rows)
    student = _h5(tmp_path / "f.h5", **ORIGINAL)
    assert _refused(tmp_path, student, solution, message).startswith(f"{solution}: ")


@pytest.mark.parametrize(
    "header", ["ID,Label", "ID,Label,Usage,SourceIndex", "ID,Label,Category", "Row,Label,Usage"]
)
def test_a_header_that_is_not_a_kaggle_solution_says_what_is_accepted(tmp_path, header):
    solution = _solution(tmp_path / "solution.csv", header, rows=[])
    _refused(
        tmp_path,
        _h5(tmp_path / "f.h5", **ORIGINAL),
        solution,
        f"line 1: header is '{header}'; expected a Kaggle solution file with three columns: "
        r"the ID \(ID or Id\), the label \(Label, Category or Expected\) and Usage",
    )


# Writing over an earlier import


def test_importing_the_same_files_again_changes_nothing(tmp_path, course):
    first = _import(tmp_path, *course)
    again = _import(tmp_path, *course)
    assert again.changed is False
    assert sha256_of(again.student_file) == sha256_of(first.student_file)


def test_a_different_key_replaces_the_old_one_only_with_force_and_keeps_a_backup(tmp_path, course):
    before = sha256_of(_import(tmp_path, *course).answer_key)
    other = _solution(
        tmp_path / "other.csv", rows=_rows(usage=lambda i: "Public" if i else "Private")
    )
    with pytest.raises(DatasetError, match=r"already exists and differs.*--force"):
        _import(tmp_path, course[0], other)
    replaced = _import(tmp_path, course[0], other, force=True)
    assert sha256_of(replaced.answer_key) != before
    assert sha256_of(tmp_path / "course" / "private" / f"answer_key.{before[:12]}.csv") == before


# Downstream: the leaderboard reads the imported key like a built one


@pytest.mark.filterwarnings("ignore:F-score is ill-defined")  # 3 public images, not 10 classes
def test_submissions_are_checked_and_scored_against_the_imported_key(tmp_path, course):
    result = _import(tmp_path, *course)
    test_images = len(load_fashion_mnist(result.student_file)["X_test"])
    predictions = Y_TEST.copy()
    predictions[0] = (predictions[0] + 1) % 10  # a wrong answer on private ID 0
    submitted = validate_submission(make_submission(predictions, tmp_path / "s.csv"), test_images)
    board = scores(submitted, load_answer_key(result.answer_key))
    assert board["public_accuracy"] == 1.0
    assert board["private_accuracy"] == pytest.approx(6 / 7)


# The command line


def test_coursekit_data_import_writes_the_course_and_says_what_it_did(tmp_path, course, capsys):
    argv = ["data", "import", "--h5", str(course[0]), "--answer-key", str(course[1])]
    assert main([*argv, "--out", str(tmp_path / "course")]) == 0
    printed = capsys.readouterr().out
    assert "Course dataset written from Fashion_MNIST.h5 and solution.csv" in printed
    assert "(20 train, 10 test, 3 public = 30.0%)" in printed
    assert "never hand this out" in printed


def test_coursekit_data_import_reports_bad_input_in_one_line(tmp_path, capsys):
    student = _h5(tmp_path / "f.h5", **ORIGINAL, y_test=Y_TEST)
    argv = ["data", "import", "--h5", str(student), "--answer-key", str(tmp_path / "s.csv")]
    assert main([*argv, "--out", str(tmp_path / "course")]) == 1
    error = capsys.readouterr().err
    assert error.startswith("coursekit: error: ") and "holds test labels (y_test)" in error
    assert error.count("\n") == 1


def test_coursekit_data_import_needs_both_files(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["data", "import", "--h5", "Fashion_MNIST.h5"])
    assert exit_.value.code == 2
    assert "--answer-key" in capsys.readouterr().err
