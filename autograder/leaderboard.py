"""``coursekit leaderboard``: a Kaggle-style leaderboard from teams' submission.csv files.

Each run takes in new uploads, then rewrites the tables:

- uploads are found as ``TIMESTAMP/TEAM.csv`` (timestamps like
  ``2026-11-12T20-00``), as a grading tree ``TEAM/ASSIGNMENT/submission.csv``,
  or as ``TEAM.csv``; the last two are timed by the file's modification time;
- each new upload is checked with the students' own checker
  (:func:`utilities.submission.validate_submission`), copied to
  ``uploads/TEAM/``, and scored for accuracy and macro F1 on the public and
  the private part of the hidden test split;
- a team may have ``daily_limit`` valid uploads per UTC day; further ones are
  kept in the history as "over the daily limit" and not scored;
- ``history.csv`` keeps every upload; ``leaderboard.csv`` ranks each team by
  its best upload by public score, and ``leaderboard.md`` is the page the
  course site includes. Before the deadline it shows public scores only;
  after it, the private scores of the same uploads decide the ranking;
- the BEAT ME row is the documented baseline model's predictions
  (:mod:`autograder.baseline`), scored like any upload.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import shutil
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from autograder.dataset import load_answer_key
from utilities._files import write_text_atomically
from utilities.errors import CourseKitError, SubmissionError
from utilities.submission import validate_submission

HISTORY_CSV = "history.csv"
LEADERBOARD_CSV = "leaderboard.csv"
LEADERBOARD_MD = "leaderboard.md"
DEFAULT_DAILY_LIMIT = 5
BEAT_ME = "BEAT ME"
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}[-:]\d{2}([-:]\d{2})?$")
_TEAM = re.compile(r"[^A-Za-z0-9_.-]+")


class LeaderboardError(CourseKitError):
    """The leaderboard's inputs or history cannot be used."""


@dataclass
class Upload:
    """One row of ``history.csv``."""

    team: str
    submitted_at: str  # ISO 8601, UTC
    sha256: str
    status: str  # "scored", "invalid", "over the daily limit", "late"
    reason: str = ""
    public_accuracy: str = ""
    public_f1: str = ""
    private_accuracy: str = ""
    private_f1: str = ""
    file: str = ""


@dataclass
class Standing:
    rank: int | str
    team: str
    entries: int
    public_accuracy: float
    public_f1: float
    private_accuracy: float
    private_f1: float
    best_submitted_at: str


@dataclass
class LeaderboardResult:
    folder: Path
    new: list[Upload]
    standings: list[Standing]
    baseline: Standing
    final: bool  # past the deadline: private scores decide

    @property
    def markdown(self) -> Path:
        return self.folder / LEADERBOARD_MD

    @property
    def table(self) -> Path:
        return self.folder / LEADERBOARD_CSV


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
) -> LeaderboardResult:
    """Take in new uploads from ``uploads_path`` and rewrite the leaderboard in ``folder``."""
    if daily_limit < 1:
        raise LeaderboardError(f"the daily limit must be at least 1, got {daily_limit}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    key = load_answer_key(answer_key)
    rows = len(key["Label"])
    history = read_history(folder / HISTORY_CSV)
    seen = {(u.team, u.submitted_at, u.sha256) for u in history}
    new: list[Upload] = []
    for team, when, path in sorted(_find_uploads(uploads_path, assignment), key=lambda t: t[1]):
        stamp = when.isoformat(timespec="seconds")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if (team, stamp, digest) in seen:
            continue
        seen.add((team, stamp, digest))
        upload = _judge(team, when, digest, path, history + new, key, rows, daily_limit, deadline)
        stored = folder / "uploads" / team / f"{stamp.replace(':', '-')}-{digest[:8]}.csv"
        stored.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, stored)
        upload.file = str(stored.relative_to(folder))
        new.append(upload)
    history += new
    _write_history(folder / HISTORY_CSV, history)
    baseline_scores = scores(validate_submission(baseline_csv, rows), key)
    baseline = Standing(
        BEAT_ME, f"{BEAT_ME} ({baseline_description})", 0, **baseline_scores, best_submitted_at=""
    )
    final = deadline is not None and (now or datetime.now(UTC)) >= deadline
    standings = _standings(history, final)
    result = LeaderboardResult(folder, new, standings, baseline, final)
    _write_table(result)
    _write_markdown(result, daily_limit, deadline)
    return result


def read_history(path: Path) -> list[Upload]:
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as stream:
        reader = csv.DictReader(stream)
        expected = [f.name for f in fields(Upload)]
        if reader.fieldnames != expected:
            raise LeaderboardError(
                f"{path}: expected the columns {','.join(expected)}, found "
                f"{','.join(reader.fieldnames or [])}; not overwriting it"
            )
        return [Upload(**row) for row in reader]


def _find_uploads(path: Path | None, assignment: str):
    if path is None:
        return
    path = Path(path)
    if not path.exists():
        raise LeaderboardError(f"{path}: no such folder")
    for item in sorted(path.rglob("*.csv")):
        parts = item.relative_to(path).parts
        if len(parts) == 2 and _TIMESTAMP.match(parts[0]):
            team, when = item.stem, _parse_stamp(parts[0])
        elif len(parts) >= 3 and parts[-2] == assignment and item.name == "submission.csv":
            team, when = parts[0], _mtime(item)
        elif len(parts) == 1:
            team, when = item.stem, _mtime(item)
        else:
            continue
        yield _TEAM.sub("_", team), when, item


def _parse_stamp(text: str) -> datetime:
    date, time_of_day = text.split("T")
    pieces = re.split("[-:]", time_of_day)
    return datetime.fromisoformat(f"{date}T{':'.join(pieces)}").replace(tzinfo=UTC)


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(int(path.stat().st_mtime), tz=UTC)


def _judge(team, when, digest, path, history, key, rows, daily_limit, deadline) -> Upload:
    upload = Upload(team, when.isoformat(timespec="seconds"), digest, "scored")
    if deadline is not None and when > deadline:
        upload.status, upload.reason = "late", f"after the deadline {deadline.isoformat()}"
        return upload
    same_day = [
        u
        for u in history
        if u.team == team
        and u.status == "scored"
        and u.submitted_at[:10] == upload.submitted_at[:10]
    ]
    if len(same_day) >= daily_limit:
        upload.status = "over the daily limit"
        upload.reason = f"{daily_limit} uploads already scored on {upload.submitted_at[:10]} (UTC)"
        return upload
    try:
        predictions = validate_submission(path, rows)
    except SubmissionError as error:
        upload.status, upload.reason = "invalid", str(error).replace(str(path), path.name)
        return upload
    for name, value in scores(predictions, key).items():
        setattr(upload, name, f"{value:.5f}")
    return upload


def _standings(history: list[Upload], final: bool) -> list[Standing]:
    best: dict[str, tuple[Upload, int]] = {}
    for upload in history:
        if upload.status != "scored":
            continue
        current = best.get(upload.team)
        entries = (current[1] if current else 0) + 1
        if current is None or float(upload.public_accuracy) > float(current[0].public_accuracy):
            best[upload.team] = (upload, entries)
        else:
            best[upload.team] = (current[0], entries)
    standings = [
        Standing(
            0,
            team,
            entries,
            float(u.public_accuracy),
            float(u.public_f1),
            float(u.private_accuracy),
            float(u.private_f1),
            u.submitted_at,
        )
        for team, (u, entries) in best.items()
    ]
    field = "private_accuracy" if final else "public_accuracy"
    standings.sort(key=lambda s: (-getattr(s, field), s.best_submitted_at, s.team))
    for rank, standing in enumerate(standings, start=1):
        standing.rank = rank
    return standings


def _write_history(path: Path, history: list[Upload]) -> None:
    stream = io.StringIO()
    writer = csv.DictWriter(stream, fieldnames=[f.name for f in fields(Upload)])
    writer.writeheader()
    writer.writerows(asdict(u) for u in history)
    write_text_atomically(path, stream.getvalue())


def _ranked_with_baseline(result: LeaderboardResult) -> list[Standing]:
    field = "private_accuracy" if result.final else "public_accuracy"
    rows = list(result.standings)
    position = sum(1 for s in rows if getattr(s, field) > getattr(result.baseline, field))
    return [*rows[:position], result.baseline, *rows[position:]]


def _write_table(result: LeaderboardResult) -> None:
    columns = ["rank", "team", "entries", "public_accuracy", "public_f1"]
    if result.final:
        columns += ["private_accuracy", "private_f1"]
    columns.append("best_submitted_at")
    stream = io.StringIO()
    writer = csv.writer(stream)
    writer.writerow(columns)
    for standing in _ranked_with_baseline(result):
        row = asdict(standing)
        writer.writerow([f"{row[c]:.5f}" if isinstance(row[c], float) else row[c] for c in columns])
    write_text_atomically(result.table, stream.getvalue())


def _write_markdown(result: LeaderboardResult, daily_limit: int, deadline) -> None:
    field = "private" if result.final else "public"
    lines = [
        f"*Updated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. "
        + (
            "Final standings: ranked by accuracy on the **private** part of the test set."
            if result.final
            else "Ranked by accuracy on the **public** part of the test set (30 % of the "
            "images); the private part decides the final ranking after the deadline."
        )
        + f" Each team may upload {daily_limit} times per day"
        + (f"; the deadline is {deadline:%Y-%m-%d %H:%M} UTC." if deadline else ".")
        + "*",
        "",
        f"| Rank | Team | Accuracy ({field}) | Macro F1 ({field}) | Entries | Best upload |",
        "|---:|:---|---:|---:|---:|:---|",
    ]
    for s in _ranked_with_baseline(result):
        accuracy, f1 = getattr(s, f"{field}_accuracy"), getattr(s, f"{field}_f1")
        cells = [
            str(s.rank) if s.rank != BEAT_ME else "",
            s.team,
            f"{accuracy:.2%}",
            f"{f1:.4f}",
            str(s.entries) if s.rank != BEAT_ME else "",
            s.best_submitted_at.replace("T", " ")[:16],
        ]
        if s.rank == BEAT_ME:
            cells = [f"**{cell}**" if cell else "" for cell in cells]
        lines.append("| " + " | ".join(cells) + " |")
    if not result.standings:
        lines.append("")
        lines.append("*No scored uploads yet.*")
    write_text_atomically(result.markdown, "\n".join(lines) + "\n")
