"""Download, verify and parse the raw MNIST and Fashion-MNIST files.

Every file is checked against its published SHA-256 before it enters the
cache, so a cached file is always a good one. Sources are tried in order: the
mirrors named by ``COURSEKIT_DATA_MIRROR`` (directories or URLs, separated by
commas), then the official location, then public fallbacks. With
``COURSEKIT_OFFLINE=1`` only the mirrors are used.
"""

from __future__ import annotations

import gzip
import logging
import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pooch

from .errors import DatasetError, DownloadError
from .files import staged_file

MIRROR_ENV = "COURSEKIT_DATA_MIRROR"
CACHE_ENV = "COURSEKIT_CACHE_DIR"
OFFLINE_ENV = "COURSEKIT_OFFLINE"
HTTP_TIMEOUT_S = 30

logger = logging.getLogger("coursekit")


@dataclass(frozen=True)
class RawFile:
    """One IDX file of a dataset, with its published checksum."""

    name: str
    sha256: str


@dataclass(frozen=True)
class RawDataset:
    """A dataset's folder name, where to get it, and its four files."""

    name: str
    urls: tuple[str, ...]
    files: dict[str, RawFile]


MNIST = RawDataset(
    name="mnist",
    urls=(
        "https://yann.lecun.com/exdb/mnist/",
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    files={
        "X_train": RawFile(
            "train-images-idx3-ubyte.gz",
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        ),
        "y_train": RawFile(
            "train-labels-idx1-ubyte.gz",
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        ),
        "X_test": RawFile(
            "t10k-images-idx3-ubyte.gz",
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        ),
        "y_test": RawFile(
            "t10k-labels-idx1-ubyte.gz",
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        ),
    },
)

FASHION_MNIST = RawDataset(
    name="fashion-mnist",
    urls=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/fashion-mnist/",
        "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
    ),
    files={
        "X_train": RawFile(
            "train-images-idx3-ubyte.gz",
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        ),
        "y_train": RawFile(
            "train-labels-idx1-ubyte.gz",
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        ),
        "X_test": RawFile(
            "t10k-images-idx3-ubyte.gz",
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        ),
        "y_test": RawFile(
            "t10k-labels-idx1-ubyte.gz",
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        ),
    },
)

RAW_DATASETS: dict[str, RawDataset] = {d.name: d for d in (MNIST, FASHION_MNIST)}


def default_cache_dir() -> Path:
    """Per-user cache folder: ``COURSEKIT_CACHE_DIR`` or the OS cache (``~/.cache/coursekit``)."""
    configured = os.environ.get(CACHE_ENV, "").strip()
    return Path(configured).expanduser() if configured else Path(pooch.os_cache("coursekit"))


def configured_mirrors(mirror: str | None = None) -> list[str]:
    """The mirrors to try first: the argument, else ``COURSEKIT_DATA_MIRROR``, split on commas."""
    value = os.environ.get(MIRROR_ENV, "") if mirror is None else mirror
    return [item.strip() for item in value.split(",") if item.strip()]


def sources_for(
    dataset: RawDataset, mirror: str | None = None, *, offline: bool | None = None
) -> list[str]:
    """Base locations to try for ``dataset``: mirrors, then (unless offline) official URLs."""
    if offline is None:
        offline = os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes")
    mirrors = [_join(base, dataset.name) + "/" for base in configured_mirrors(mirror)]
    return mirrors if offline else mirrors + list(dataset.urls)


def fetch_dataset(
    name: str,
    *,
    mirror: str | None = None,
    cache_dir: str | Path | None = None,
    offline: bool | None = None,
    progress: bool = True,
) -> dict[str, Path]:
    """Make sure the four files of dataset ``name`` are cached and verified.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist"}
    mirror : str, optional
        Directory or URL (comma-separated for several) tried before the
        official sources. Defaults to ``COURSEKIT_DATA_MIRROR``.
    cache_dir : path, optional
        Defaults to :func:`default_cache_dir`.
    offline : bool, optional
        Use only the mirrors. Defaults to ``COURSEKIT_OFFLINE``.
    progress : bool
        Show a progress bar while downloading over HTTP.

    Returns
    -------
    dict
        Maps ``X_train``, ``y_train``, ``X_test``, ``y_test`` to cached paths.
    """
    dataset = _dataset(name)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    sources = sources_for(dataset, mirror, offline=offline)
    return {
        key: fetch_file(raw, sources, cache / dataset.name, progress=progress)
        for key, raw in dataset.files.items()
    }


def fetch_file(raw: RawFile, sources: list[str], folder: Path, *, progress: bool = True) -> Path:
    """Return ``folder/raw.name``, fetching it from the first source that has a good copy.

    A file enters ``folder`` only after its SHA-256 matched, by an atomic
    rename, so an interrupted or corrupted download never leaves a partial
    file behind. A cached file with the wrong checksum is replaced.
    """
    target = folder / raw.name
    if target.exists():
        actual = sha256_of(target)
        if actual == raw.sha256:
            return target
        logger.warning(
            "cached %s has SHA-256 %s, expected %s; fetching it again", target, actual, raw.sha256
        )
        target.unlink()

    folder.mkdir(parents=True, exist_ok=True)
    failures = []
    for base in sources:
        location = _join(base, raw.name)
        try:
            _fetch_verified(location, raw, target, progress=progress)
        except DownloadError as error:
            failures.append(str(error))
            continue
        if failures:
            logger.warning("got %s from %s after: %s", raw.name, location, "; ".join(failures))
        return target
    tried = "; ".join(failures) or "no sources configured"
    hint = ""
    if all(_is_url(base) for base in sources):
        hint = f"; if this machine is offline, point {MIRROR_ENV} (or --mirror) at a local copy"
    raise DownloadError(f"could not fetch {raw.name} from any source: {tried}{hint}")


def sha256_of(path: str | Path) -> str:
    """Hex SHA-256 of a file."""
    return pooch.file_hash(str(path), alg="sha256")


def read_idx(path: str | Path) -> np.ndarray:
    """Parse an IDX file (optionally gzip-compressed) into a numpy array.

    The IDX header is two zero bytes, a type code, the number of dimensions,
    then one big-endian uint32 per dimension; the data follows in C order.
    """
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as stream:
            content = stream.read()
    except (OSError, EOFError) as error:
        raise DatasetError(f"{path}: cannot read IDX file ({error})") from error

    if len(content) < 4 or content[:2] != b"\x00\x00":
        raise DatasetError(f"{path}: not an IDX file (expected magic bytes 00 00 <type> <ndim>)")
    type_code, ndim = content[2], content[3]
    if type_code not in _IDX_TYPES:
        raise DatasetError(f"{path}: unknown IDX type code 0x{type_code:02x}")
    header_size = 4 + 4 * ndim
    if len(content) < header_size:
        raise DatasetError(f"{path}: IDX header is truncated")
    shape = struct.unpack(f">{ndim}I", content[4:header_size])
    dtype = np.dtype(_IDX_TYPES[type_code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    body = content[header_size:]
    if len(body) != expected:
        raise DatasetError(
            f"{path}: IDX header promises shape {shape} ({expected} bytes) "
            f"but the file holds {len(body)} bytes of data"
        )
    return np.frombuffer(body, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def load_raw(
    name: str,
    *,
    mirror: str | None = None,
    cache_dir: str | Path | None = None,
    offline: bool | None = None,
) -> dict[str, np.ndarray]:
    """Fetch (if needed) and parse a dataset's official train and test split."""
    paths = fetch_dataset(name, mirror=mirror, cache_dir=cache_dir, offline=offline)
    arrays = {key: read_idx(path) for key, path in paths.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"X_{split}"], arrays[f"y_{split}"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DatasetError(
                f"{name} {split}: expected N×28×28 images and N labels, "
                f"got {images.shape} and {labels.shape}"
            )
    return arrays


_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _dataset(name: str) -> RawDataset:
    try:
        return RAW_DATASETS[name]
    except KeyError:
        known = ", ".join(RAW_DATASETS)
        raise DatasetError(f"unknown dataset {name!r}; expected one of: {known}") from None


def _join(base: str, name: str) -> str:
    return base.rstrip("/") + "/" + name


def _is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def _fetch_verified(location: str, raw: RawFile, target: Path, *, progress: bool) -> None:
    """Copy or download ``location`` next to ``target``, verify it, then rename it into place."""
    with staged_file(target) as part:
        _copy_to(location, part, progress=progress)
        actual = sha256_of(part)
        if actual != raw.sha256:
            raise DownloadError(
                f"{raw.name} from {location} is corrupted or truncated: "
                f"SHA-256 expected {raw.sha256}, got {actual}"
            )
        os.replace(part, target)


def _copy_to(location: str, destination: Path, *, progress: bool) -> None:
    if _is_url(location):
        import requests  # pooch's own HTTP client

        downloader = pooch.HTTPDownloader(progressbar=progress, timeout=HTTP_TIMEOUT_S)
        try:
            downloader(location, str(destination), None)
        except requests.RequestException as error:
            raise DownloadError(f"{location}: {_describe(error)}") from error
        return
    source = Path(location.removeprefix("file://")).expanduser()
    if not source.is_file():
        raise DownloadError(f"{source.name} not found in mirror {source.parent}")
    try:
        shutil.copyfile(source, destination)
    except OSError as error:
        raise DownloadError(f"{source}: {error.strerror or error}") from error


def _describe(error: Exception) -> str:
    """A short reason for a failed HTTP request, without the library's internals."""
    import requests

    response = getattr(error, "response", None)
    if response is not None:
        return f"HTTP {response.status_code} {response.reason}"
    if isinstance(error, requests.Timeout):
        return f"no answer within {HTTP_TIMEOUT_S} s"
    if "NameResolutionError" in str(error) or "Name or service not known" in str(error):
        return "cannot resolve the host name (no network?)"
    if isinstance(error, requests.ConnectionError):
        return "cannot connect"
    return type(error).__name__
