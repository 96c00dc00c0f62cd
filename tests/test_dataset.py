"""`coursekit data build`: the course split of Fashion-MNIST and its private answer key."""

from __future__ import annotations

import json
import shutil
import stat

import h5py
import numpy as np
import pytest

from autograder.course import dataset as course
from autograder.course.dataset import (
    build_course_dataset,
    load_answer_key,
    split_course_data,
    verify_course_dataset,
)
from autograder.settings import DEFAULTS
from conftest import image_label_counts
from utilities.data import sha256_of
from utilities.errors import DatasetError

DEFAULT_KEY_SHA256 = "eeef8fa00219f50cdf69d95de530102bf110caffeedf241c4c5cd284b9f39aa0"


def test_student_file_holds_exactly_train_images_labels_and_unlabelled_test_images(course_build):
    with h5py.File(course_build.student_file, "r") as h5:
        assert sorted(h5) == ["X_test", "X_train", "y_train"]
        assert h5["X_train"].shape == (59_500, 28, 28) and h5["X_train"].dtype == np.uint8
        assert h5["y_train"].shape == (59_500,) and h5["y_train"].dtype == np.uint8
        assert h5["X_test"].shape == (10_500, 28, 28) and h5["X_test"].dtype == np.uint8
        assert "seed" not in h5.attrs and "y_test" not in h5.attrs
        assert np.bincount(h5["y_train"][()]).tolist() == [5950] * 10


def test_only_the_student_file_is_public(course_build):
    public = course_build.student_file.parent
    assert [p.name for p in public.iterdir()] == ["Fashion_MNIST.h5"]
    assert course_build.answer_key.parent.name == "private"
    assert course_build.manifest.parent.name == "private"


def test_private_files_are_readable_by_the_owner_only(course_build):
    private = course_build.answer_key.parent
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    assert stat.S_IMODE(course_build.answer_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(course_build.manifest.stat().st_mode) == 0o600


def test_answer_key_labels_every_test_image_and_splits_public_from_private(course_build):
    key = load_answer_key(course_build.answer_key)
    assert key["ID"].tolist() == list(range(10_500))
    assert np.bincount(key["Label"]).tolist() == [1050] * 10
    assert key["is_public"].sum() == 3150
    assert np.bincount(key["Label"][key["is_public"]]).tolist() == [315] * 10
    assert len(np.unique(key["SourceIndex"])) == 10_500


def test_train_and_test_together_are_exactly_the_original_70000_images(course_build, fashion_raw):
    with h5py.File(course_build.student_file, "r") as h5:
        X_train, y_train, X_test = (h5[name][()] for name in ("X_train", "y_train", "X_test"))
    key = load_answer_key(course_build.answer_key)
    built = image_label_counts(
        np.concatenate([X_train, X_test]), np.concatenate([y_train, key["Label"]])
    )
    original = image_label_counts(
        np.concatenate([fashion_raw["X_train"], fashion_raw["X_test"]]),
        np.concatenate([fashion_raw["y_train"], fashion_raw["y_test"]]),
    )
    assert sum(built.values()) == 70_000
    assert built == original


def test_the_key_points_every_test_row_at_its_source_image(course_build, fashion_raw):
    images = np.concatenate([fashion_raw["X_train"], fashion_raw["X_test"]])
    with h5py.File(course_build.student_file, "r") as h5:
        X_test = h5["X_test"][()]
    key = load_answer_key(course_build.answer_key)
    np.testing.assert_array_equal(images[key["SourceIndex"]], X_test)


def test_manifest_records_seed_counts_and_checksums(course_build):
    manifest = json.loads(course_build.manifest.read_text())
    assert manifest["seed"] == DEFAULTS.seed
    assert (manifest["train_size"], manifest["test_size"]) == (59_500, 10_500)
    assert manifest["test_per_class"] == [1050] * 10
    root = course_build.manifest.parent.parent
    for relative, entry in manifest["files"].items():
        assert sha256_of(root / relative) == entry["sha256"]
        assert (root / relative).stat().st_size == entry["bytes"]
    assert len(manifest["source_files"]) == 4


@pytest.mark.slow
def test_same_seed_gives_byte_identical_files(course_build, tmp_path):
    again = build_course_dataset(tmp_path)
    for first, second in [
        (course_build.student_file, again.student_file),
        (course_build.answer_key, again.answer_key),
        (course_build.manifest, again.manifest),
    ]:
        assert sha256_of(first) == sha256_of(second), first.name


def test_the_default_split_is_pinned_across_machines_and_library_versions(course_build):
    # The leaderboard of a running course depends on this key. If scikit-learn or
    # numpy ever draws the seeded split differently, this fails before a rebuild
    # silently changes it.
    assert sha256_of(course_build.answer_key) == DEFAULT_KEY_SHA256


def test_another_seed_gives_another_split(fashion_raw):
    labels = np.concatenate([fashion_raw["y_train"], fashion_raw["y_test"]])
    first = split_course_data(labels, seed=1)
    second = split_course_data(labels, seed=2)
    assert not np.array_equal(first.test_source, second.test_source)
    assert np.bincount(labels[second.test_source]).tolist() == [1050] * 10


@pytest.mark.slow
def test_rebuilding_with_the_same_seed_changes_nothing(course_build, tmp_path):
    out = tmp_path / "course"
    shutil.copytree(course_build.manifest.parent.parent, out)
    result = build_course_dataset(out)
    assert result.changed is False


@pytest.mark.slow
def test_a_different_key_is_not_overwritten_without_force(course_build, tmp_path):
    out = tmp_path / "course"
    shutil.copytree(course_build.manifest.parent.parent, out)
    before = sha256_of(out / course.ANSWER_KEY_FILE)
    with pytest.raises(DatasetError, match=r"already exists and differs.*--force"):
        build_course_dataset(out, seed=7)
    assert sha256_of(out / course.ANSWER_KEY_FILE) == before
    replaced = build_course_dataset(out, seed=7, force=True)
    assert replaced.changed and sha256_of(replaced.answer_key) != before
    backup = out / "private" / f"answer_key.{before[:12]}.csv"
    assert sha256_of(backup) == before, "the replaced key is kept"
    assert (out / "private" / f"manifest.{before[:12]}.json").exists()
    assert json.loads(replaced.manifest.read_text())["seed"] == 7


@pytest.mark.slow
def test_two_builds_never_write_into_the_same_folder_at_once(course_build, tmp_path):
    import fcntl

    out = tmp_path / "course"
    shutil.copytree(course_build.manifest.parent.parent, out)
    with open(out / ".build.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(DatasetError, match="another build is writing here"):
            build_course_dataset(out)
    assert build_course_dataset(out).changed is False


@pytest.mark.slow
def test_a_failed_build_keeps_the_previous_one_and_leaves_no_partial_files(
    course_build, tmp_path, monkeypatch
):
    out = tmp_path / "course"
    shutil.copytree(course_build.manifest.parent.parent, out)
    before = {p: sha256_of(p) for p in out.rglob("*") if p.is_file()}

    def broken_verification(*args):
        raise DatasetError("simulated failure during verification")

    monkeypatch.setattr(course, "verify_course_dataset", broken_verification)
    with pytest.raises(DatasetError, match="simulated"):
        build_course_dataset(out, seed=7, force=True)
    after = {p: sha256_of(p) for p in out.rglob("*") if p.is_file()}
    assert after == before


def test_a_build_without_any_good_source_writes_nothing(tmp_path):
    from utilities.errors import DownloadError

    with pytest.raises(DownloadError):
        build_course_dataset(
            tmp_path / "out", mirror=str(tmp_path / "empty"), cache_dir=tmp_path / "c", offline=True
        )
    assert not (tmp_path / "out").exists()


def test_verification_catches_a_duplicated_image(course_build, fashion_raw, tmp_path):
    tampered = tmp_path / "Fashion_MNIST.h5"
    shutil.copyfile(course_build.student_file, tampered)
    with h5py.File(tampered, "r+") as h5:
        h5["X_train"][1] = h5["X_train"][0]
        h5["y_train"][1] = h5["y_train"][0]
    images = np.concatenate([fashion_raw["X_train"], fashion_raw["X_test"]])
    labels = np.concatenate([fashion_raw["y_train"], fashion_raw["y_test"]])
    with pytest.raises(DatasetError, match="not exactly the original 70,000 images"):
        verify_course_dataset(tampered, course_build.answer_key, images, labels)


def test_verification_catches_a_relabelled_test_image(course_build, fashion_raw, tmp_path):
    key = tmp_path / "answer_key.csv"
    lines = course_build.answer_key.read_text().splitlines()
    image_id, label, usage, source = lines[1].split(",")
    lines[1] = ",".join([image_id, str((int(label) + 1) % 10), usage, source])
    key.write_text("\n".join(lines) + "\n")
    images = np.concatenate([fashion_raw["X_train"], fashion_raw["X_test"]])
    labels = np.concatenate([fashion_raw["y_train"], fashion_raw["y_test"]])
    with pytest.raises(DatasetError, match="do not match their source images"):
        verify_course_dataset(course_build.student_file, key, images, labels)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "file is empty"),
        ("ID,Label\n0,1\n", "line 1: header is 'ID,Label', expected 'ID,Label,Usage,SourceIndex'"),
        ("ID,Label,Usage,SourceIndex\n0,1,Secret,5\n", "line 2, column Usage: 'Secret'"),
        ("ID,Label,Usage,SourceIndex\n0,x,Public,5\n", "line 2, column Label: 'x' is not"),
        (
            "ID,Label,Usage,SourceIndex\n0,300,Public,5\n",
            "line 2, column Label: 300 is not a class",
        ),
        ("ID,Label,Usage,SourceIndex\n0,1,Public,-5\n", "line 2, column SourceIndex: '-5'"),
        ("ID,Label,Usage,SourceIndex\n0,1,Public\n", "line 2: expected 4 columns"),
        ("ID,Label,Usage,SourceIndex\n\n1,1,Public,5\n", r"IDs must run 0\.\.0 in order"),
    ],
)
def test_a_malformed_answer_key_is_reported_by_line(tmp_path, content, message):
    path = tmp_path / "answer_key.csv"
    path.write_text(content)
    with pytest.raises(DatasetError, match=message) as caught:
        load_answer_key(path)
    assert str(path) in str(caught.value)


def test_verification_catches_a_source_index_beyond_the_dataset(
    course_build, fashion_raw, tmp_path
):
    key = tmp_path / "answer_key.csv"
    lines = course_build.answer_key.read_text().splitlines()
    lines[1] = ",".join([*lines[1].split(",")[:3], "70000"])
    key.write_text("\n".join(lines) + "\n")
    images = np.concatenate([fashion_raw["X_train"], fashion_raw["X_test"]])
    labels = np.concatenate([fashion_raw["y_train"], fashion_raw["y_test"]])
    with pytest.raises(DatasetError, match="SourceIndex 70000 is beyond the 70,000"):
        verify_course_dataset(course_build.student_file, key, images, labels)


def test_a_missing_answer_key_says_how_to_make_one(tmp_path):
    with pytest.raises(DatasetError, match="coursekit data build"):
        load_answer_key(tmp_path / "nope.csv")


def test_public_fraction_must_be_a_proper_fraction(fashion_raw):
    with pytest.raises(DatasetError, match="between 0 and 1"):
        split_course_data(fashion_raw["y_test"], test_size=1000, public_fraction=1.5)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"seed": -1}, "seed must be between 0 and 2"),
        ({"seed": 2**32}, "seed must be between 0 and 2"),
        ({"test_size": 0}, "cannot split 10,000 images into 0 test images"),
        ({"test_size": 1000, "public_fraction": 0.001}, "cannot split"),
    ],
)
def test_impossible_split_settings_are_explained(fashion_raw, settings, message):
    with pytest.raises(DatasetError, match=message):
        split_course_data(fashion_raw["y_test"], **{"test_size": 1000, **settings})
