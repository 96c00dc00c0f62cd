"""Downloading, verifying, caching and parsing the raw IDX files."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import shutil
import struct
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from conftest import MNIST_FIRST_TRAIN_LABELS, MNIST_TEST_COUNTS, MNIST_TRAIN_COUNTS
from utilities.data import (
    FASHION_MNIST,
    MNIST,
    RAW_DATASETS,
    fetch_dataset,
    fetch_file,
    load_raw,
    read_idx,
    sha256_of,
    sources_for,
)
from utilities.errors import DatasetError, DownloadError

LABELS = MNIST.files["y_test"]  # small file: 4.5 kB


def _no_partial_files(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if p.name.endswith(".part")]


# --- checksums and the mirror --------------------------------------------------------


@pytest.mark.parametrize("dataset", [MNIST, FASHION_MNIST], ids=lambda d: d.name)
def test_every_file_in_the_mirror_matches_its_published_sha256(mirror_dir, dataset):
    for raw in dataset.files.values():
        path = mirror_dir / dataset.name / raw.name
        assert hashlib.sha256(path.read_bytes()).hexdigest() == raw.sha256


def test_fetch_dataset_copies_verified_files_into_the_cache(mirror_dir, tmp_path):
    paths = fetch_dataset("mnist", mirror=str(mirror_dir), cache_dir=tmp_path, offline=True)
    assert set(paths) == {"X_train", "y_train", "X_test", "y_test"}
    for key, path in paths.items():
        assert path.parent == tmp_path / "mnist"
        assert sha256_of(path) == MNIST.files[key].sha256


def test_a_cached_file_is_reused_without_touching_any_source(mirror_dir, tmp_path):
    folder = tmp_path / "mnist"
    fetch_file(LABELS, [str(mirror_dir / "mnist")], folder)
    assert fetch_file(LABELS, [], folder) == folder / LABELS.name


def test_a_corrupted_cached_file_is_replaced(mirror_dir, tmp_path, caplog):
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / LABELS.name).write_bytes(b"not the real file")
    path = fetch_file(LABELS, [str(mirror_dir / "mnist")], folder)
    assert sha256_of(path) == LABELS.sha256
    assert "expected " + LABELS.sha256 in caplog.text


def test_mirror_setting_accepts_several_locations_and_goes_before_the_official_urls(monkeypatch):
    monkeypatch.setenv("COURSEKIT_DATA_MIRROR", "/srv/a, http://127.0.0.1:9/b/")
    assert sources_for(MNIST, offline=False) == [
        "/srv/a/mnist/",
        "http://127.0.0.1:9/b/mnist/",
        *MNIST.urls,
    ]
    assert sources_for(MNIST, offline=True) == ["/srv/a/mnist/", "http://127.0.0.1:9/b/mnist/"]


def test_official_sources_come_first_without_a_mirror_and_have_fallbacks(monkeypatch):
    monkeypatch.delenv("COURSEKIT_DATA_MIRROR", raising=False)
    monkeypatch.delenv("COURSEKIT_OFFLINE", raising=False)
    assert sources_for(MNIST)[0] == "https://yann.lecun.com/exdb/mnist/"
    assert sources_for(FASHION_MNIST)[0].startswith("http://fashion-mnist.s3-website")
    assert all(len(dataset.urls) >= 3 for dataset in RAW_DATASETS.values())


def test_the_cache_dir_comes_from_the_setting(monkeypatch, tmp_path):
    from utilities.data import default_cache_dir

    monkeypatch.setenv("COURSEKIT_CACHE_DIR", str(tmp_path / "here"))
    assert default_cache_dir() == tmp_path / "here"
    monkeypatch.delenv("COURSEKIT_CACHE_DIR")
    assert default_cache_dir().name == "coursekit"


# --- bad files in a local mirror --------------------------------------------------------


@pytest.fixture
def broken_mirror(mirror_dir, tmp_path) -> Path:
    """A mirror whose labels file is truncated to half its size."""
    folder = tmp_path / "broken" / "mnist"
    folder.mkdir(parents=True)
    content = (mirror_dir / "mnist" / LABELS.name).read_bytes()
    (folder / LABELS.name).write_bytes(content[: len(content) // 2])
    return folder


def test_a_truncated_file_names_the_file_and_both_hashes(broken_mirror, tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError) as caught:
        fetch_file(LABELS, [str(broken_mirror)], cache)
    message = str(caught.value)
    assert LABELS.name in message
    assert LABELS.sha256 in message
    assert sha256_of(broken_mirror / LABELS.name) in message
    assert not (cache / LABELS.name).exists()
    assert _no_partial_files(cache)


def test_a_corrupted_file_falls_back_to_the_next_mirror(
    broken_mirror, mirror_dir, tmp_path, caplog
):
    cache = tmp_path / "cache"
    path = fetch_file(LABELS, [str(broken_mirror), str(mirror_dir / "mnist")], cache)
    assert sha256_of(path) == LABELS.sha256
    assert f"got {LABELS.name} from {mirror_dir / 'mnist' / LABELS.name} after:" in caplog.text
    assert "corrupted or truncated" in caplog.text
    assert _no_partial_files(cache)


def test_a_file_missing_from_every_source_lists_what_was_tried(tmp_path):
    with pytest.raises(DownloadError, match=r"could not fetch t10k-labels.*not found in mirror"):
        fetch_file(LABELS, [str(tmp_path / "empty")], tmp_path / "cache")


def test_without_any_source_the_error_says_so(tmp_path):
    with pytest.raises(DownloadError, match="no sources configured"):
        fetch_file(LABELS, [], tmp_path / "cache")


# --- HTTP against a real server on 127.0.0.1 ----------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests_seen: list[str]

    def log_message(self, format, *args):
        self.requests_seen.append(self.path)


@pytest.fixture
def http_mirror(mirror_dir, tmp_path):
    """Serves a mirror over HTTP with one good file, one corrupted file and one missing file."""
    root = tmp_path / "www"
    folder = root / "mnist"
    folder.mkdir(parents=True)
    shutil.copyfile(mirror_dir / "mnist" / LABELS.name, folder / LABELS.name)  # good
    corrupted = bytearray((mirror_dir / "mnist" / MNIST.files["y_train"].name).read_bytes())
    corrupted[100] ^= 0xFF
    (folder / MNIST.files["y_train"].name).write_bytes(bytes(corrupted))
    # t10k-images is missing from this server.
    handler = type("Handler", (_QuietHandler,), {"requests_seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=root))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/mnist/", handler.requests_seen, folder
    server.shutdown()
    server.server_close()


def test_http_download_of_a_good_file_is_verified_and_cached(http_mirror, tmp_path, capfd):
    url, seen, _ = http_mirror
    path = fetch_file(LABELS, [url], tmp_path / "cache", progress=True)
    assert sha256_of(path) == LABELS.sha256
    assert seen == [f"/mnist/{LABELS.name}"]
    assert "4.54k" in capfd.readouterr().err  # tqdm progress bar with the byte count


def test_http_corrupted_file_is_rejected_with_both_hashes(http_mirror, mirror_dir, tmp_path):
    url, _, served = http_mirror
    raw = MNIST.files["y_train"]
    with pytest.raises(DownloadError) as caught:
        fetch_file(raw, [url], tmp_path / "cache", progress=False)
    message = str(caught.value)
    assert raw.name in message and url in message
    assert f"expected {raw.sha256}, got {sha256_of(served / raw.name)}" in message
    assert not list((tmp_path / "cache").iterdir())


def test_http_corrupted_file_falls_back_to_the_next_source(http_mirror, mirror_dir, tmp_path):
    url, _, _ = http_mirror
    raw = MNIST.files["y_train"]
    path = fetch_file(raw, [url, str(mirror_dir / "mnist")], tmp_path / "cache", progress=False)
    assert sha256_of(path) == raw.sha256
    assert read_idx(path)[:10].tolist() == MNIST_FIRST_TRAIN_LABELS


def test_http_missing_file_reports_404_and_falls_back(http_mirror, mirror_dir, tmp_path, caplog):
    url, seen, _ = http_mirror
    raw = MNIST.files["X_test"]
    path = fetch_file(raw, [url, str(mirror_dir / "mnist")], tmp_path / "cache", progress=False)
    assert sha256_of(path) == raw.sha256
    assert f"/mnist/{raw.name}" in seen
    assert f"{url}{raw.name}: HTTP 404" in caplog.text
    assert _no_partial_files(tmp_path / "cache")


def test_unreachable_server_is_reported_briefly_with_a_hint_to_use_a_mirror(tmp_path):
    with pytest.raises(DownloadError) as caught:
        fetch_file(LABELS, ["http://127.0.0.1:9/mnist/"], tmp_path / "cache", progress=False)
    message = str(caught.value)
    assert f"http://127.0.0.1:9/mnist/{LABELS.name}: cannot connect" in message
    assert "point COURSEKIT_DATA_MIRROR (or --mirror) at a local copy" in message
    assert "HTTPConnectionPool" not in message


# --- IDX parsing -----------------------------------------------------------------------


def test_mnist_parses_to_the_documented_shapes_and_label_counts(mirror_dir):
    raw = load_raw("mnist")
    assert raw["X_train"].shape == (60_000, 28, 28) and raw["X_train"].dtype == np.uint8
    assert raw["X_test"].shape == (10_000, 28, 28)
    assert np.bincount(raw["y_train"]).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(raw["y_test"]).tolist() == MNIST_TEST_COUNTS
    assert raw["y_train"][:10].tolist() == MNIST_FIRST_TRAIN_LABELS
    assert raw["X_train"].max() == 255 and raw["X_train"].min() == 0


def test_fashion_mnist_has_6000_train_and_1000_test_images_per_class(fashion_raw):
    assert fashion_raw["X_train"].shape == (60_000, 28, 28)
    assert fashion_raw["X_test"].shape == (10_000, 28, 28)
    assert np.bincount(fashion_raw["y_train"]).tolist() == [6000] * 10
    assert np.bincount(fashion_raw["y_test"]).tolist() == [1000] * 10


def _idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize(
    ("dtype", "code"),
    [(np.uint8, 0x08), (np.int8, 0x09), (np.int16, 0x0B), (np.int32, 0x0C), (np.float32, 0x0D)],
)
def test_read_idx_handles_every_type_and_plain_or_gzip_files(tmp_path, dtype, code):
    array = np.arange(24, dtype=dtype).reshape(2, 3, 4)
    (tmp_path / "a.idx").write_bytes(_idx_bytes(array, code))
    (tmp_path / "a.idx.gz").write_bytes(gzip.compress(_idx_bytes(array, code)))
    for name in ("a.idx", "a.idx.gz"):
        parsed = read_idx(tmp_path / name)
        np.testing.assert_array_equal(parsed, array)
        assert parsed.dtype == np.dtype(dtype)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not an IDX file"),
        (b"\x01\x02\x08\x01", "not an IDX file"),
        (b"\x00\x00\x42\x01\x00\x00\x00\x01x", "unknown IDX type code 0x42"),
        (b"\x00\x00\x08\x03\x00\x00", "header is truncated"),
        (
            b"\x00\x00\x08\x01\x00\x00\x00\x05abc",
            r"promises shape \(5,\) \(5 bytes\) but the file holds 3",
        ),
    ],
)
def test_read_idx_rejects_malformed_files_by_name(tmp_path, content, message):
    path = tmp_path / "bad.idx"
    path.write_bytes(content)
    with pytest.raises(DatasetError, match=message) as caught:
        read_idx(path)
    assert str(path) in str(caught.value)


def test_read_idx_reports_a_truncated_gzip_stream(mirror_dir, tmp_path):
    content = (mirror_dir / "mnist" / LABELS.name).read_bytes()
    path = tmp_path / "short.gz"
    path.write_bytes(content[:-100])
    with pytest.raises(DatasetError, match="cannot read IDX file"):
        read_idx(path)


def test_unknown_dataset_name_lists_the_known_ones():
    with pytest.raises(DatasetError, match="expected one of: mnist, fashion-mnist"):
        fetch_dataset("cifar10")
