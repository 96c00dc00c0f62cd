"""Taking uploads in: finding them, reading them safely, storing them, and their status.

An upload is received when a run first takes it in: named (:mod:`autograder.leaderboard.names`),
read with its size checked first and never through a link, hashed, stored in
``uploads/team-KEY/``, then judged: refused, late, over the daily limit,
invalid, or scored on the public and private parts of the test split.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from autograder.leaderboard.history import LeaderboardError, Upload, UploadStatus
from autograder.leaderboard.names import UploadRefused, printable, team_name
from utilities.errors import SubmissionError
from utilities.files import staged_file
from utilities.submission import validate_submission

UPLOADS = "uploads"


@dataclass(frozen=True)
class Limits:
    daily_limit: int
    deadline: datetime | None
    max_upload_bytes: int


@dataclass(frozen=True)
class Found:
    """A file that looks like an upload, not yet trusted in any way."""

    path: Path
    team: str  # the name as written: the file's stem, or a grading tree's top folder
    source: str  # the path relative to the uploads folder, printable


def scores(predictions: np.ndarray, key: dict) -> dict[str, float]:
    """Accuracy and macro F1 on the public and the private part of the test split."""
    labels = np.asarray(key["Label"])
    public = np.asarray(key["is_public"], dtype=bool)
    result = {}
    for part, mask in (("public", public), ("private", ~public)):
        result[f"{part}_accuracy"] = float(np.mean(predictions[mask] == labels[mask]))
        result[f"{part}_f1"] = float(
            f1_score(labels[mask], predictions[mask], average="macro", labels=range(10))
        )
    return result


def find_uploads(root: Path | None, assignment: str, *, skip: Path) -> list[Found]:
    """Files named ``*.csv`` in the places uploads go, in path order; links are not followed."""
    if root is None:
        return []
    root = Path(root)
    if not root.is_dir():
        raise LeaderboardError(f"{root}: no such folder")
    own = os.path.realpath(skip)  # unlike Path.resolve, never raises on a loop of links
    found = []
    for here, folders, files in os.walk(root):
        folders[:] = [f for f in folders if os.path.realpath(Path(here) / f) != own]
        for name in files + folders:  # a folder named TEAM.csv is refused, not skipped
            if not name.lower().endswith(".csv"):
                continue
            path = Path(here) / name
            parts = path.relative_to(root).parts
            if len(parts) <= 2:
                team = name[: -len(".csv")]
            elif parts[-2] == assignment and name == "submission.csv":
                team = parts[0]
            else:
                continue
            found.append(Found(path, team, printable("/".join(parts))))
    return sorted(found, key=lambda f: f.source)


def receive(found: Found, received_at: datetime, max_bytes: int) -> tuple[Upload, bytes]:
    """The upload's row and content as received: named and hashed, or refused with the reason."""
    upload = Upload(printable(found.team), "", received_at, "", UploadStatus.SCORED)
    upload.source = found.source
    try:
        name = team_name(found.team)
        upload.team, upload.team_key = name.display, name.key
        data = _read_capped(found.path, max_bytes)
    except UploadRefused as refusal:
        upload.status, upload.reason = UploadStatus.REFUSED, str(refusal)
        return upload, b""
    upload.sha256 = hashlib.sha256(data).hexdigest()
    return upload, data


def _read_capped(path: Path, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``, its size checked before reading."""
    try:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            raise UploadRefused(f"{path.name} is a link, not a file")
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise UploadRefused(f"{path.name} is {kind}, not an uploaded file")
        if info.st_size > max_bytes:
            raise UploadRefused(_too_big(path, max_bytes, f" ({info.st_size:,} bytes)"))
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(descriptor, "rb") as stream:
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                raise UploadRefused(f"{path.name} is not a regular file")
            data = stream.read(max_bytes + 1)  # it may have grown since the check
    except OSError as error:
        raise UploadRefused(f"{path.name} cannot be read ({error.strerror or error})") from None
    if len(data) > max_bytes:
        raise UploadRefused(_too_big(path, max_bytes))
    return data


def _too_big(path: Path, max_bytes: int, size: str = "") -> str:
    return f"{path.name} is over the upload size cap of {max_bytes:,} bytes{size}; not read"


def judge(
    upload: Upload,
    data: bytes,
    file_name: str,
    folder: Path,
    earlier: list[Upload],
    key: dict,
    limits: Limits,
) -> None:
    """Store a received upload and decide its status: late, over the limit, invalid or scored."""
    when = upload.received_at
    if limits.deadline is not None and when > limits.deadline:
        upload.status = UploadStatus.LATE
        upload.reason = f"received after the deadline {limits.deadline:%Y-%m-%d %H:%M} UTC"
    elif _scored_on(earlier, upload.team_key, when) >= limits.daily_limit:
        upload.status = UploadStatus.OVER_DAILY_LIMIT
        upload.reason = f"{limits.daily_limit} uploads already scored on {when:%Y-%m-%d} (UTC)"
    try:
        stored = _store(data, upload, folder)
    except UploadRefused as refusal:
        upload.status, upload.reason = UploadStatus.REFUSED, str(refusal)
        return
    upload.file = stored.relative_to(Path(os.path.realpath(folder))).as_posix()
    if upload.status is not UploadStatus.SCORED:
        return
    try:
        predictions = validate_submission(stored, len(key["Label"]))
    except SubmissionError as error:
        upload.status = UploadStatus.INVALID
        upload.reason = str(error).replace(str(stored), file_name)
        return
    for name, value in scores(predictions, key).items():
        setattr(upload, name, value)


def _scored_on(history: list[Upload], key: str, when: datetime) -> int:
    return sum(
        1
        for u in history
        if u.team_key == key
        and u.status is UploadStatus.SCORED
        and u.received_at.date() == when.date()
    )


def _store(data: bytes, upload: Upload, folder: Path) -> Path:
    """Keep the upload as received in ``uploads/team-KEY/``, and nowhere else."""
    # "team-" keeps a key such as "con" or "nul" a valid folder name on Windows too.
    uploads = Path(os.path.realpath(folder)) / UPLOADS
    stored = (
        uploads
        / f"team-{upload.team_key}"
        / (f"{upload.received_at:%Y-%m-%dT%H-%M-%S}-{upload.sha256[:12]}.csv")
    )
    stored.parent.mkdir(parents=True, exist_ok=True)
    if not Path(os.path.realpath(stored)).is_relative_to(uploads):
        raise UploadRefused(f"its copy would land outside {uploads}; not stored")
    with staged_file(stored) as staged:
        staged.write_bytes(data)
        os.replace(staged, stored)
    return stored
