"""``coursekit leaderboard``: a Kaggle-style leaderboard from teams' submission.csv files.

Each run takes in new uploads, then rewrites the tables:

- uploads are found as ``TEAM.csv``, ``GROUP/TEAM.csv`` (any folder name:
  it groups, it never dates) or a grading tree ``TEAM/ASSIGNMENT/submission.csv``;
- an upload is *received* when a run first takes it in: its time is that
  run's clock (``now``), kept in ``history.csv``, never read from a name or a
  file's modification time. An upload is known by its team and its SHA-256,
  so a rerun takes nothing in twice and never re-stamps an upload;
- teams are known by their name's Unicode confusable skeleton
  (:mod:`autograder.leaderboard.names`): ``Quota``, ``quota.``, ``ＱＵＯＴＡ`` and
  ``Ԛuota`` are one team, with one daily limit and one row;
- when ``teams.csv`` registers the teams (:mod:`autograder.leaderboard.teams`),
  an upload from any other team is refused;
- an upload is refused, with a reason, when its team name is unsafe or looks
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
  after it, the private scores of the same uploads decide the ranking, and
  ``final.csv`` names each team's picked upload (for the bonus points and the
  check that a member's model reproduces it). Both CSV files are safe to open
  in a spreadsheet (:mod:`autograder.spreadsheet`);
- the BEAT ME row is the documented baseline model's predictions
  (:mod:`autograder.leaderboard.baseline`), scored like any upload.

:func:`replay_rounds` takes in recorded rounds at the times their folder names
give; it exists for demos and tests, never for a course's real uploads.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from autograder.course.dataset import load_answer_key
from autograder.leaderboard.history import (
    HISTORY_CSV,
    LeaderboardError,
    Upload,
    UploadStatus,
    read_history,
    write_history,
)
from autograder.leaderboard.intake import Limits, find_uploads, judge, receive, scores
from autograder.leaderboard.names import BEAT_ME, printable, team_key
from autograder.leaderboard.teams import read_teams
from autograder.spreadsheet import csv_text, plain_cell
from utilities.files import write_text_atomically
from utilities.submission import validate_submission

LEADERBOARD_CSV = "leaderboard.csv"
SELECTIONS_CSV = "selections.csv"  # the instructor's record of each team's final choices
FINAL_CSV = "final.csv"  # after the deadline: each team's private result, for the grades
MAX_FINAL_SELECTIONS = 2  # as on Kaggle
LEADERBOARD_MD = "leaderboard.md"
_ROUND_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2})[-:](\d{2})(?:[-:](\d{2}))?")


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
    file: str = ""  # the picked upload's stored copy, relative to the leaderboard folder


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


def update_leaderboard(
    uploads_path: Path | None,
    folder: Path,
    answer_key: Path,
    baseline_csv: Path,
    baseline_description: str,
    *,
    assignment: str = "cnn",
    daily_limit: int,
    max_upload_bytes: int,
    deadline: datetime | None = None,
    now: datetime | None = None,
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
    limits = Limits(daily_limit, deadline and _utc(deadline), max_upload_bytes)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    key = load_answer_key(answer_key)
    teams = read_teams(folder)
    history = read_history(folder / HISTORY_CSV)
    seen = {upload.identity for upload in history}
    new: list[Upload] = []
    for found in find_uploads(uploads_path, assignment, skip=folder):
        upload, data = receive(found, received_at, limits.max_upload_bytes)
        if upload.identity in seen:
            continue
        seen.add(upload.identity)
        registered = not teams.registry or upload.team_key in teams.names
        if upload.status is not UploadStatus.REFUSED and not registered:
            upload.status = UploadStatus.REFUSED
            upload.reason = f"{upload.team!r} is not a registered team (teams.csv)"
        if upload.status is not UploadStatus.REFUSED:
            judge(upload, data, found.path.name, folder, history + new, key, limits)
        new.append(upload)
    history += new
    write_history(folder / HISTORY_CSV, history)
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
            u.file,
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
                f"{path}: line {line}: no scored upload of team {printable(cells[0])!r} "
                f"has SHA-256 {printable(digest)!r}"
            )
            continue
        if len(chosen.get(team, [])) >= MAX_FINAL_SELECTIONS:
            problems.append(
                f"{path}: line {line}: team {printable(cells[0])!r} already chose "
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
    columns = ["team", "team_key", "private_accuracy", "private_f1", "beats_beat_me", "file"]
    rows = [
        [
            plain_cell(s.team),
            team_key(s.team),
            f"{s.private_accuracy:.5f}",
            f"{s.private_f1:.5f}",
            "yes" if s.private_accuracy > result.baseline.private_accuracy else "no",
            plain_cell(s.file),
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
            if name != "file"
        }
        when = standing.best_received_at
        cells["best_received_at"] = when.isoformat(timespec="seconds") if when else ""
        rows.append([cells[c] for c in columns])
    write_text_atomically(result.table, csv_text(columns, rows))


def _write_markdown(result: LeaderboardResult, limits: Limits, now: datetime) -> None:
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
