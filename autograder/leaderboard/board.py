"""``coursekit leaderboard``: a Kaggle-style leaderboard from teams' submission.csv files.

Each run takes in new uploads, then rewrites the tables:

- uploads are found as ``TEAM.csv``, ``GROUP/TEAM.csv`` (any folder name:
  it groups, it never dates) or a grading tree ``TEAM/ASSIGNMENT/submission.csv``;
- an upload is *received* when a run first takes it in: its time is that
  run's clock (``now``), kept in ``history.csv``, never read from a name or a
  file's modification time. An upload is known by its team and its SHA-256,
  so a rerun takes nothing in twice and never re-stamps an upload;
- teams are known by a normalised name (:func:`team_name`): ``Quota``,
  ``quota.`` and ``ＱＵＯＴＡ`` are one team, with one daily limit and one row;
- an upload is refused, with a reason, when its team name is unsafe or reads
  like the BEAT ME row, or when it is a link, a folder, unreadable or larger
  than ``max_upload_bytes`` (checked before reading);
- each upload taken in is copied to ``uploads/team-KEY/``, checked with the
  students' own checker (:func:`utilities.submission.validate_submission`) and
  scored for accuracy and macro F1 on the public and the private part of the
  hidden test split;
- a team may have ``daily_limit`` scored uploads per UTC day of receipt;
  further ones are kept as "over the daily limit" and not scored; uploads
  received after the deadline are "late";
- ``history.csv`` keeps every upload; ``leaderboard.csv`` ranks each team by
  its best upload by public score, and ``leaderboard.md`` is the page the
  course site includes. Before the deadline it shows public scores only;
  after it, the private scores of the same uploads decide the ranking. Both
  CSV files are safe to open in a spreadsheet (:mod:`autograder.spreadsheet`);
- the BEAT ME row is the documented baseline model's predictions
  (:mod:`autograder.leaderboard.baseline`), scored like any upload.

:func:`replay_rounds` takes in recorded rounds at the times their folder names
give; it exists for demos and tests, never for a course's real uploads.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import stat
import unicodedata
from collections import Counter
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from autograder.course.dataset import load_answer_key
from autograder.spreadsheet import csv_text, plain_cell
from utilities.files import staged_file, write_text_atomically
from utilities.errors import CourseKitError, SubmissionError
from utilities.submission import validate_submission

HISTORY_CSV = "history.csv"
LEADERBOARD_CSV = "leaderboard.csv"
SELECTIONS_CSV = "selections.csv"  # the instructor's record of each team's final choices
FINAL_CSV = "final.csv"  # after the deadline: each team's private result, for the grades
MAX_FINAL_SELECTIONS = 2  # as on Kaggle
LEADERBOARD_MD = "leaderboard.md"
UPLOADS = "uploads"
DEFAULT_DAILY_LIMIT = 5
MAX_UPLOAD_BYTES = 1 << 20  # 1 MiB; a full submission (10,500 rows of ID,Prediction) is ~90 kB
MAX_TEAM_NAME_LENGTH = 40
BEAT_ME = "BEAT ME"
_ROUND_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2})[-:](\d{2})(?:[-:](\d{2}))?")
# Cyrillic and Greek letters that look like Latin ones once casefolded, so that "ВЕАТ МЕ"
# in Cyrillic letters is the same name as "BEAT ME".
_LOOK_ALIKES = str.maketrans(
    "авеіјкмнорстухѕһԁԛԝүӏαβεηικμνορτυχγω",
    "abeijkmhopctyxshdqwylabenikmvoptuxyw",
)


class LeaderboardError(CourseKitError):
    """The leaderboard's inputs or history cannot be used."""


class UploadRefused(ValueError):
    """An upload the leaderboard will not take in; the message says why, in plain words."""


class UploadStatus(StrEnum):
    """What became of an upload; the value is the word in ``history.csv``."""

    SCORED = "scored"
    INVALID = "invalid"  # the checker rejected the file
    OVER_DAILY_LIMIT = "over the daily limit"
    LATE = "late"
    REFUSED = "refused"  # unsafe name, BEAT ME impostor, too big, not a readable file


@dataclass(frozen=True)
class TeamName:
    """A team's name as shown, and the key that identifies the team."""

    display: str  # the spelling as sent, tidied (NFKC, single spaces)
    key: str  # NFKC, casefolded, accents and look-alikes folded, letters and digits only


@dataclass
class Upload:
    """One row of ``history.csv``."""

    team: str  # the team's spelling on this upload (printable), or the refused name
    team_key: str  # empty when the name was refused
    received_at: datetime  # UTC, when a run first took the file in
    sha256: str  # empty when the file was refused before reading
    status: UploadStatus
    reason: str = ""
    public_accuracy: float | None = None
    public_f1: float | None = None
    private_accuracy: float | None = None
    private_f1: float | None = None
    file: str = ""  # the stored copy, relative to the leaderboard folder
    source: str = ""  # where it was found, relative to the uploads folder

    @property
    def identity(self) -> tuple[str, str]:
        """What makes an upload "already taken in": its team and content, or its place."""
        return (self.team_key or self.team, self.sha256 or f"@{self.source}")


HISTORY_COLUMNS = tuple(f.name for f in fields(Upload))


@dataclass
class Standing:
    """One row of ``leaderboard.csv``: a team's best upload, or the BEAT ME row."""

    rank: int | str
    team: str
    entries: int
    public_accuracy: float
    public_f1: float
    private_accuracy: float
    private_f1: float
    best_received_at: datetime | None  # None for the BEAT ME row


@dataclass
class LeaderboardResult:
    """What a run took in and the tables it wrote."""

    folder: Path
    new: list[Upload]
    standings: list[Standing]
    baseline: Standing
    final: bool  # past the deadline: private scores decide
    public_share: float = 0.3  # of the test images, from the answer key
    selection_problems: list[str] = field(default_factory=list)  # rows of selections.csv

    @property
    def markdown(self) -> Path:
        return self.folder / LEADERBOARD_MD

    @property
    def table(self) -> Path:
        return self.folder / LEADERBOARD_CSV


@dataclass(frozen=True)
class _Limits:
    daily_limit: int
    deadline: datetime | None
    max_upload_bytes: int


@dataclass(frozen=True)
class _Found:
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


def team_key(text: str) -> str:
    """The identity of a team name: spelling, case, accents, punctuation and spaces ignored."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    letters = "".join(c for c in folded if not unicodedata.combining(c))
    return "".join(c for c in letters.translate(_LOOK_ALIKES) if c.isalnum())


def team_name(raw: str) -> TeamName:
    """The team a name stands for, or :class:`UploadRefused` saying why it cannot be one."""
    named = f"the team name '{_printable(raw)}'"
    if any(unicodedata.category(c).startswith("C") for c in raw):
        raise UploadRefused(f"{named} contains control or invisible characters")
    text = unicodedata.normalize("NFKC", raw)
    if "/" in text or "\\" in text:
        raise UploadRefused(f"{named} contains a path separator")
    if len(text) > MAX_TEAM_NAME_LENGTH:
        raise UploadRefused(f"{named} is longer than {MAX_TEAM_NAME_LENGTH} characters")
    key = team_key(text)
    if not key:
        raise UploadRefused(f"{named} has no letters or digits")
    if key.startswith(team_key(BEAT_ME)):
        raise UploadRefused(f"{named} reads like the {BEAT_ME} baseline row")
    return TeamName(" ".join(text.split()), key)


def update_leaderboard(
    uploads_path: Path | None,
    folder: Path,
    answer_key: Path,
    baseline_csv: Path,
    baseline_description: str,
    *,
    assignment: str = "cnn",
    daily_limit: int = DEFAULT_DAILY_LIMIT,
    deadline: datetime | None = None,
    now: datetime | None = None,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
) -> LeaderboardResult:
    """Take in new uploads from ``uploads_path`` and rewrite the leaderboard in ``folder``.

    ``now`` is the time the new uploads are received (default: the clock;
    naive times are UTC); give it only to replay past rounds or in tests.
    """
    if daily_limit < 1:
        raise LeaderboardError(f"the daily limit must be at least 1, got {daily_limit}")
    if max_upload_bytes < 1:
        raise LeaderboardError(
            f"the upload size cap must be at least 1 byte, got {max_upload_bytes}"
        )
    received_at = _utc(now or datetime.now(UTC)).replace(microsecond=0)
    limits = _Limits(daily_limit, deadline and _utc(deadline), max_upload_bytes)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    key = load_answer_key(answer_key)
    history = read_history(folder / HISTORY_CSV)
    seen = {upload.identity for upload in history}
    new: list[Upload] = []
    for found in _find_uploads(uploads_path, assignment, skip=folder):
        upload, data = _receive(found, received_at, limits.max_upload_bytes)
        if upload.identity in seen:
            continue
        seen.add(upload.identity)
        if upload.status is not UploadStatus.REFUSED:
            _judge(upload, data, found.path.name, folder, history + new, key, limits)
        new.append(upload)
    history += new
    write_text_atomically(
        folder / HISTORY_CSV, csv_text(HISTORY_COLUMNS, [_history_row(u) for u in history])
    )
    baseline_scores = scores(validate_submission(baseline_csv, len(key["Label"])), key)
    baseline = Standing(
        BEAT_ME, f"{BEAT_ME} ({baseline_description})", 0, **baseline_scores, best_received_at=None
    )
    final = limits.deadline is not None and received_at >= limits.deadline
    selections, problems = read_selections(folder / SELECTIONS_CSV, history)
    result = LeaderboardResult(
        folder,
        new,
        _standings(history, final, selections),
        baseline,
        final,
        public_share=float(np.mean(np.asarray(key["is_public"], dtype=bool))),
        selection_problems=problems,
    )
    _write_table(result)
    _write_markdown(result, limits, received_at)
    _write_final(result)
    return result


def replay_rounds(
    rounds_path: Path,
    folder: Path,
    answer_key: Path,
    baseline_csv: Path,
    description: str,
    **options,
) -> LeaderboardResult:
    """Take in each subfolder of ``rounds_path`` as one run at the time its name gives.

    Names are UTC times like ``2026-11-12T20-00``; the rounds run in time
    order. This is for demos and tests only: in a course, a folder's name is
    never a time source. Every name is checked before anything is taken in.
    """
    rounds_path = Path(rounds_path)
    if not rounds_path.is_dir():
        raise LeaderboardError(f"{rounds_path}: no such folder")
    rounds = sorted(
        (_round_time(path), path)
        for path in rounds_path.iterdir()
        if path.is_dir() and not path.is_symlink()
    )
    result = None
    new: list[Upload] = []
    for when, path in rounds:
        result = update_leaderboard(
            path, folder, answer_key, baseline_csv, description, now=when, **options
        )
        new += result.new
    if result is None:
        return update_leaderboard(None, folder, answer_key, baseline_csv, description, **options)
    return replace(result, new=new)


def read_history(path: Path) -> list[Upload]:
    """The uploads in ``history.csv``; :class:`LeaderboardError` (never a guess) if unusable."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        with open(path, newline="", encoding="utf-8") as stream:
            lines = list(csv.reader(stream))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise LeaderboardError(f"{path}: cannot be read ({error}); not overwriting it") from None
    header = [plain_cell(cell) for cell in lines[0]] if lines else []
    if tuple(header) != HISTORY_COLUMNS:
        raise LeaderboardError(
            f"{path}: expected the columns {','.join(HISTORY_COLUMNS)}, found "
            f"{','.join(header)}; not overwriting it"
        )
    history = []
    for number, cells in enumerate(lines[1:], start=2):
        try:
            history.append(_upload_from_row([plain_cell(cell) for cell in cells]))
        except ValueError as error:
            raise LeaderboardError(f"{path}: row {number}: {error}; not overwriting it") from None
    return history


def _upload_from_row(cells: list[str]) -> Upload:
    if len(cells) != len(HISTORY_COLUMNS):
        raise ValueError(f"{len(cells)} cells, expected {len(HISTORY_COLUMNS)}")
    row = dict(zip(HISTORY_COLUMNS, cells, strict=True))
    received_at = datetime.fromisoformat(row.pop("received_at"))
    if received_at.tzinfo is None:
        raise ValueError(f"received_at {received_at.isoformat()!r} has no time zone")
    texts = {name: row.pop(name) for name in _SCORE_COLUMNS}
    scores_ = {name: float(text) if text else None for name, text in texts.items()}
    status = UploadStatus(row.pop("status"))
    return Upload(**row, received_at=received_at, status=status, **scores_)


_SCORE_COLUMNS = ("public_accuracy", "public_f1", "private_accuracy", "private_f1")


def _history_row(upload: Upload) -> list[str]:
    values = {
        "received_at": upload.received_at.isoformat(timespec="seconds"),
        "status": upload.status.value,
        **{name: _score_text(getattr(upload, name)) for name in _SCORE_COLUMNS},
    }
    return [values.get(name, getattr(upload, name)) for name in HISTORY_COLUMNS]


def _score_text(value: float | None) -> str:
    return "" if value is None else f"{value:.5f}"


def _find_uploads(root: Path | None, assignment: str, *, skip: Path) -> list[_Found]:
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
            found.append(_Found(path, team, _printable("/".join(parts))))
    return sorted(found, key=lambda f: f.source)


def _receive(found: _Found, received_at: datetime, max_bytes: int) -> tuple[Upload, bytes]:
    """The upload's row and content as received: named and hashed, or refused with the reason."""
    upload = Upload(_printable(found.team), "", received_at, "", UploadStatus.SCORED)
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


def _judge(
    upload: Upload,
    data: bytes,
    file_name: str,
    folder: Path,
    earlier: list[Upload],
    key: dict,
    limits: _Limits,
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


def _standings(
    history: list[Upload], final: bool, selections: dict[str, list[str]] | None = None
) -> list[Standing]:
    """One row per team, ranked.

    Before the deadline a team's row is its best scored upload by public
    accuracy (the earliest of equals). After it, as on Kaggle, a team's
    private score is the best private score among its final selections: the
    uploads it chose in ``selections.csv`` (at most two), or else its two best
    public uploads.
    """
    names: dict[str, str] = {}
    scored: dict[str, list[tuple[int, Upload]]] = {}
    entries: Counter[str] = Counter()
    for order, upload in enumerate(history):
        if not upload.team_key:
            continue
        names.setdefault(upload.team_key, upload.team)  # the first spelling seen
        if upload.status is not UploadStatus.SCORED:
            continue
        entries[upload.team_key] += 1
        scored.setdefault(upload.team_key, []).append((order, upload))
    best: dict[str, tuple[int, Upload]] = {}
    for team, uploads in scored.items():
        by_public = sorted(uploads, key=lambda item: (-item[1].public_accuracy, item[0]))
        if not final:
            best[team] = by_public[0]
            continue
        chosen = (selections or {}).get(team)
        pool = [item for item in uploads if item[1].sha256 in (chosen or [])] or by_public[
            :MAX_FINAL_SELECTIONS
        ]
        best[team] = min(pool, key=lambda item: (-item[1].private_accuracy, item[0]))
    field_ = "private_accuracy" if final else "public_accuracy"
    ranked = sorted(
        best.items(),
        key=lambda item: (-getattr(item[1][1], field_), item[1][1].received_at, item[1][0]),
    )
    return [
        Standing(
            rank,
            names[team],
            entries[team],
            u.public_accuracy,
            u.public_f1,
            u.private_accuracy,
            u.private_f1,
            u.received_at,
        )
        for rank, (team, (_, u)) in enumerate(ranked, start=1)
    ]


def read_selections(path: Path, history: list[Upload]) -> tuple[dict[str, list[str]], list[str]]:
    """Each team's final choices from ``selections.csv`` (``team,sha256``), and what is wrong.

    A row names a team as it uploads and the SHA-256 (or its first 12 or more
    characters, as ``history.csv`` shows them) of one of its scored uploads. A
    row that names no such upload, or a team's third choice, is reported with
    its line number and ignored; that team keeps its default (its two best
    public uploads) only if none of its rows is usable.
    """
    if not path.is_file():
        return {}, []
    scored = {
        (u.team_key, u.sha256): u for u in history if u.status is UploadStatus.SCORED and u.sha256
    }
    chosen: dict[str, list[str]] = {}
    problems: list[str] = []
    with open(path, newline="", encoding="utf-8-sig") as stream:
        rows = list(csv.reader(stream))
    if not rows or [cell.strip().lower() for cell in rows[0]] != ["team", "sha256"]:
        return {}, [f"{path}: the first line must be the header team,sha256"]
    for line, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != 2:
            problems.append(f"{path}: line {line}: expected 2 columns (team,sha256)")
            continue
        team, digest = team_key(cells[0]), cells[1].strip().lower()
        matches = [
            sha
            for (key, sha) in scored
            if key == team and len(digest) >= 12 and sha.startswith(digest)
        ]
        if len(matches) != 1:
            problems.append(
                f"{path}: line {line}: no scored upload of team {_printable(cells[0])!r} "
                f"has SHA-256 {_printable(digest)!r}"
            )
            continue
        if len(chosen.get(team, [])) >= MAX_FINAL_SELECTIONS:
            problems.append(
                f"{path}: line {line}: team {_printable(cells[0])!r} already chose "
                f"{MAX_FINAL_SELECTIONS} uploads; this one is ignored"
            )
            continue
        chosen.setdefault(team, []).append(matches[0])
    return chosen, problems


def _write_final(result: LeaderboardResult) -> None:
    """After the deadline: each team's private result and whether it beat BEAT ME."""
    path = result.folder / FINAL_CSV
    if not result.final:
        path.unlink(missing_ok=True)
        return
    columns = ["team", "team_key", "private_accuracy", "private_f1", "beats_beat_me"]
    rows = [
        [
            plain_cell(s.team),
            team_key(s.team),
            f"{s.private_accuracy:.5f}",
            f"{s.private_f1:.5f}",
            "yes" if s.private_accuracy > result.baseline.private_accuracy else "no",
        ]
        for s in result.standings
    ]
    write_text_atomically(path, csv_text(columns, rows))


def _ranked_with_baseline(result: LeaderboardResult) -> list[Standing]:
    field_ = "private_accuracy" if result.final else "public_accuracy"
    rows = list(result.standings)
    position = sum(1 for s in rows if getattr(s, field_) > getattr(result.baseline, field_))
    return [*rows[:position], result.baseline, *rows[position:]]


def _write_table(result: LeaderboardResult) -> None:
    columns = ["rank", "team", "entries", "public_accuracy", "public_f1"]
    if result.final:
        columns += ["private_accuracy", "private_f1"]
    columns.append("best_received_at")
    rows = []
    for standing in _ranked_with_baseline(result):
        cells = {
            name: f"{value:.5f}" if isinstance(value, float) else value
            for name, value in vars(standing).items()
        }
        when = standing.best_received_at
        cells["best_received_at"] = when.isoformat(timespec="seconds") if when else ""
        rows.append([cells[c] for c in columns])
    write_text_atomically(result.table, csv_text(columns, rows))


def _write_markdown(result: LeaderboardResult, limits: _Limits, now: datetime) -> None:
    part = "private" if result.final else "public"
    deadline = limits.deadline
    lines = [
        f"*Updated {now:%Y-%m-%d %H:%M} UTC. "
        + (
            "Final standings: ranked by accuracy on the **private** part of the test set, "
            f"each team's best among its {MAX_FINAL_SELECTIONS} final selections (by default "
            "its best public uploads)."
            if result.final
            else "Ranked by accuracy on the **public** part of the test set "
            f"({result.public_share * 100:.0f} % of the images); the private part decides "
            f"the final ranking after the deadline, from each team's {MAX_FINAL_SELECTIONS} final "
            "selections (by default its best public uploads)."
        )
        + f" Each team may upload {limits.daily_limit} times per day (UTC, by when the "
        "leaderboard received the upload)"
        + (f"; the deadline is {deadline:%Y-%m-%d %H:%M} UTC." if deadline else ".")
        + "*",
        "",
        f"| Rank | Team | Accuracy ({part}) | Macro F1 ({part}) | Entries | Best upload |",
        "|---:|:---|---:|---:|---:|:---|",
    ]
    for s in _ranked_with_baseline(result):
        accuracy, f1 = getattr(s, f"{part}_accuracy"), getattr(s, f"{part}_f1")
        is_baseline = s.rank == BEAT_ME
        cells = [
            "" if is_baseline else str(s.rank),
            s.team if is_baseline else _markdown_text(s.team),
            f"{accuracy:.2%}",
            f"{f1:.4f}",
            "" if is_baseline else str(s.entries),
            f"{s.best_received_at:%Y-%m-%d %H:%M}" if s.best_received_at else "",
        ]
        if is_baseline:
            cells = [f"**{cell}**" if cell else "" for cell in cells]
        lines.append("| " + " | ".join(cells) + " |")
    if not result.standings:
        lines.append("")
        lines.append("*No scored uploads yet.*")
    write_text_atomically(result.markdown, "\n".join(lines) + "\n")


def _markdown_text(text: str) -> str:
    """``text`` shown as typed in a Markdown table: every ASCII punctuation mark escaped."""
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", text)


def _printable(text: str, limit: int = 80) -> str:
    """``text`` with control and invisible characters written as escapes, cut to ``limit``."""
    shown = "".join(
        c if not unicodedata.category(c).startswith("C") else ascii(c)[1:-1] for c in text
    )
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _round_time(path: Path) -> datetime:
    match = _ROUND_TIME.fullmatch(path.name)
    try:
        if match is None:
            raise ValueError
        return datetime(*(int(part or 0) for part in match.groups()), tzinfo=UTC)
    except ValueError:
        raise LeaderboardError(
            f"{path}: a replayed round's folder is named by its UTC time, like "
            f"2026-11-12T20-00; {path.name!r} is not a time"
        ) from None


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
