"""The class report's numbers: the class at a glance, each test and task, the leaderboard, time.

:func:`gather` reads a graded assignment into :class:`ClassData` (one
:class:`StudentResult` per grading record); :func:`summarize` computes every number the
page and its CSV show, from that alone, so a synthetic class is a :class:`ClassData` built
in memory. Statistics count the students whose grade is final (``graded`` and ``graded
with problems``): held points stand at 0 until a TA releases them, and a student who was
not graded has no points yet.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from autograder.report.sources import (
    CourseFiles,
    Item,
    ItemKind,
    LeaderboardData,
    Status,
    failure_messages,
    read_gradebook,
    read_leaderboard,
    read_records,
)

FINAL = (Status.GRADED, Status.GRADED_WITH_PROBLEMS)  # whose points the statistics count
TOP_MESSAGES = 3
SLOWEST = 5
NO_NOTEBOOK = "(no autograded notebook)"
NO_MESSAGE = "(no error message)"


@dataclass
class StudentResult:
    """One student as the report sees them."""

    student: str
    status: Status
    seconds: float = 0.0  # of grading
    profile: dict[str, float] = field(default_factory=dict)  # seconds per grading phase
    points: dict[str, float | None] = field(default_factory=dict)  # item key -> points
    messages: dict[str, str] = field(default_factory=dict)  # item key -> why points were lost

    def earned(self, item: Item) -> float:
        """Points on ``item``, 0 where there are none (yet)."""
        return self.points.get(item.key) or 0.0


@dataclass
class ClassData:
    """Everything the report is computed from."""

    assignment: str
    items: list[Item]
    students: list[StudentResult]
    leaderboard: LeaderboardData | None = None


def gather(files: CourseFiles) -> ClassData:
    """The records, the gradebook, the autograded notebooks' messages and the leaderboard."""
    records = read_records(files)
    scores = read_gradebook(files)
    students = []
    for student, record in sorted(records.items()):
        result = StudentResult(
            student,
            record.status,
            record.seconds,
            dict(record.profile),
            dict(scores.points.get(student, {})),
        )
        if record.status in FINAL:
            result.messages = _messages(files, scores.items, result, scores.comments)
        students.append(result)
    return ClassData(files.assignment, scores.items, students, read_leaderboard(files))


def _messages(files: CourseFiles, items: list[Item], result: StudentResult, comments) -> dict:
    """Why ``result`` lost points: the failing test's error, or the grader's comment."""
    lost = [
        item
        for item in items
        if result.points.get(item.key) is not None and result.earned(item) < item.max_points
    ]
    messages = {}
    for notebook in sorted({item.notebook for item in lost if item.kind is ItemKind.TEST}):
        path = files.autograded(result.student, notebook)
        tests = [i for i in lost if i.notebook == notebook and i.kind is ItemKind.TEST]
        found = failure_messages(path, [item.cell for item in tests]) if path.is_file() else {}
        for item in tests:
            messages[item.key] = found.get(item.cell) or (
                NO_MESSAGE if path.is_file() else NO_NOTEBOOK
            )
    said = comments.get(result.student, {})
    for item in lost:
        if item.kind is ItemKind.MANUAL and said.get(item.key):
            messages[item.key] = said[item.key]
    return messages


# ---- the numbers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    """Median, quartiles, range and mean of some values."""

    count: int
    median: float
    q1: float
    q3: float
    low: float
    high: float
    mean: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread | None:
        if len(values) == 0:
            return None
        data = np.asarray(values, dtype=float)
        q1, median, q3 = np.percentile(data, [25, 50, 75])
        return cls(len(data), *map(float, (median, q1, q3, data.min(), data.max(), data.mean())))


@dataclass(frozen=True)
class ItemStats:
    """How the class did on one test or task."""

    item: Item
    students: int  # counted: final grades, and for a task, graded by hand
    waiting: int  # final grades whose answer is not graded by hand yet
    mean: float | None
    full: float  # shares of ``students``
    partial: float
    zero: float
    discrimination: float | None
    messages: list[tuple[str, int]]  # the commonest reasons for lost points, and how many


@dataclass(frozen=True)
class TeamRow:
    """One team's public and private standing."""

    team: str
    public_accuracy: float
    public_rank: int
    private_accuracy: float | None
    private_rank: int | None

    @property
    def shake_up(self) -> int | None:
        """Places gained from the public to the private ranking (negative: lost)."""
        return None if self.private_rank is None else self.public_rank - self.private_rank


@dataclass(frozen=True)
class TimeRow:
    """One student's grading time and its longest phases."""

    student: str
    status: Status
    seconds: float
    phases: list[tuple[str, float]]


@dataclass
class ClassReport:
    """Every number of the class report."""

    assignment: str
    generated_at: datetime
    counts: dict[Status, int]
    max_total: float
    totals: list[float]  # of the students counted
    histogram: list[tuple[float, float, int]]  # bins: from, to, students
    total: Spread | None
    parts: dict[str, tuple[float, Spread | None]]  # notebook -> (max points, spread)
    items: list[ItemStats]
    teams: list[TeamRow]
    leaderboard_final: bool
    beat_me: tuple[float | None, float | None]
    seconds: dict[str, float]  # student -> grading seconds
    time: Spread | None
    slowest: list[TimeRow]

    @property
    def counted(self) -> int:
        return len(self.totals)


def summarize(data: ClassData, now: datetime | None = None) -> ClassReport:
    """Every number the page and the CSV show, from ``data`` alone."""
    final = [s for s in data.students if s.status in FINAL]
    totals = [sum(s.earned(item) for item in data.items) for s in final]
    max_total = sum(item.max_points for item in data.items)
    parts = {}
    for notebook in dict.fromkeys(item.notebook for item in data.items):
        mine = [item for item in data.items if item.notebook == notebook]
        points = [sum(s.earned(item) for item in mine) for s in final]
        parts[notebook] = (sum(item.max_points for item in mine), Spread.of(points))
    board = data.leaderboard
    timed = {s.student: s.seconds for s in data.students if s.seconds > 0}
    slowest = sorted((s for s in data.students if s.seconds > 0), key=lambda s: -s.seconds)
    return ClassReport(
        assignment=data.assignment,
        generated_at=now or datetime.now(UTC),
        counts={status: sum(s.status is status for s in data.students) for status in Status},
        max_total=max_total,
        totals=totals,
        histogram=histogram(totals, max_total),
        total=Spread.of(totals),
        parts=parts,
        items=[item_stats(item, final, totals) for item in data.items],
        teams=team_rows(board) if board else [],
        leaderboard_final=bool(board and board.final is not None),
        beat_me=board.beat_me if board else (None, None),
        seconds=timed,
        time=Spread.of(list(timed.values())),
        slowest=[
            TimeRow(s.student, s.status, s.seconds, _longest(s.profile)) for s in slowest[:SLOWEST]
        ],
    )


def item_stats(item: Item, final: list[StudentResult], totals: list[float]) -> ItemStats:
    """``item``'s mean, shares, discrimination and commonest messages over ``final``."""
    graded = [(s, total) for s, total in zip(final, totals, strict=True) if _graded(s, item)]
    points = np.asarray([s.earned(item) for s, _ in graded], dtype=float)
    count = len(points)
    full = float(np.mean(points >= item.max_points)) if count else 0.0
    zero = float(np.mean(points <= 0)) if count else 0.0
    messages = Counter(s.messages[item.key] for s, _ in graded if item.key in s.messages)
    return ItemStats(
        item=item,
        students=count,
        waiting=len(final) - count,
        mean=float(points.mean()) if count else None,
        full=full,
        partial=max(0.0, 1.0 - full - zero) if count else 0.0,
        zero=zero,
        discrimination=discrimination(points, [total for _, total in graded]),
        messages=messages.most_common(TOP_MESSAGES),
    )


def _graded(student: StudentResult, item: Item) -> bool:
    return not (item.key in student.points and student.points[item.key] is None)


def discrimination(points: Sequence[float], totals: Sequence[float]) -> float | None:
    """Point-biserial (item-rest) correlation: Pearson's r between each student's points on
    an item and the rest of their total (the total minus this item); None when fewer than
    three students count or either side is the same for everyone."""
    x = np.asarray(points, dtype=float)
    rest = np.asarray(totals, dtype=float) - x
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(rest) == 0:
        return None
    return float(np.corrcoef(x, rest)[0, 1])


def histogram(totals: Sequence[float], max_total: float) -> list[tuple[float, float, int]]:
    """Students per bin of points, from 0 to ``max_total`` in about 20 round-width bins."""
    if max_total <= 0:
        return []
    width = _round_width(max_total / 20)
    edges = np.arange(0, max_total + width, width)
    if edges[-1] < max(max_total, *totals, 0):
        edges = np.append(edges, edges[-1] + width)
    counts, _ = np.histogram(np.clip(totals, 0, None), bins=edges)
    return [(float(a), float(b), int(n)) for a, b, n in zip(edges, edges[1:], counts, strict=False)]


def _round_width(raw: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least ``raw``."""
    power = 10 ** math.floor(math.log10(raw))
    return next(power * step for step in (1, 2, 2.5, 5, 10) if power * step >= raw)


def team_rows(board: LeaderboardData) -> list[TeamRow]:
    """Each team with its public rank, and its private rank once the leaderboard is final."""
    by_public = sorted(
        board.teams,
        key=lambda k: (-board.teams[k].public_accuracy, board.teams[k].public_received_at),
    )
    public_rank = {key: rank for rank, key in enumerate(by_public, start=1)}
    private_rank = {key: rank for rank, key in enumerate(board.final or [], start=1)}
    order = list(board.final or []) + [k for k in by_public if k not in private_rank]
    return [
        TeamRow(
            board.teams[key].team,
            board.teams[key].public_accuracy,
            public_rank[key],
            board.teams[key].private_accuracy,
            private_rank.get(key),
        )
        for key in order
    ]


def _longest(profile: dict[str, float], count: int = 4) -> list[tuple[str, float]]:
    return sorted(profile.items(), key=lambda item: -item[1])[:count]


# ---- the CSV ----------------------------------------------------------------------------------

CSV_HEADER = ["section", "name", "statistic", "value"]


def csv_rows(report: ClassReport) -> list[list]:
    """The report's numbers as ``section, name, statistic, value`` rows."""
    name = report.assignment
    rows: list[list] = [["class", name, "students", sum(report.counts.values())]]
    rows += [["class", name, str(status), n] for status, n in report.counts.items()]
    rows.append(["class", name, "counted in the statistics", report.counted])
    rows += _spread_rows("total", name, report.max_total, report.total)
    rows += [["histogram", f"{a:g}-{b:g}", "students", n] for a, b, n in report.histogram]
    for notebook, (most, spread) in report.parts.items():
        rows += _spread_rows("part", notebook, most, spread)
    for stats in report.items:
        key = stats.item.key
        rows += [
            ["item", key, "kind", str(stats.item.kind)],
            ["item", key, "max points", stats.item.max_points],
            ["item", key, "students", stats.students],
            ["item", key, "waiting for a grader", stats.waiting],
            ["item", key, "mean", _round(stats.mean)],
            ["item", key, "share full", _round(stats.full)],
            ["item", key, "share partial", _round(stats.partial)],
            ["item", key, "share zero", _round(stats.zero)],
            ["item", key, "discrimination", _round(stats.discrimination)],
        ]
        for rank, (message, n) in enumerate(stats.messages, start=1):
            rows += [
                ["item", key, f"message {rank}", message],
                ["item", key, f"message {rank} students", n],
            ]
    for team in report.teams:
        rows += [
            ["team", team.team, "public accuracy", _round(team.public_accuracy, 5)],
            ["team", team.team, "public rank", team.public_rank],
            ["team", team.team, "private accuracy", _round(team.private_accuracy, 5)],
            ["team", team.team, "private rank", team.private_rank],
            ["team", team.team, "shake-up", team.shake_up],
        ]
    rows += _spread_rows("grading seconds", name, None, report.time)
    rows += [
        ["grading seconds", row.student, "seconds", _round(row.seconds, 1)]
        for row in report.slowest
    ]
    return rows


def _spread_rows(section: str, name: str, most: float | None, spread: Spread | None) -> list[list]:
    rows = [] if most is None else [[section, name, "max points", most]]
    if spread is not None:
        for statistic in ("count", "median", "q1", "q3", "low", "high", "mean"):
            rows.append([section, name, statistic, _round(getattr(spread, statistic))])
    return rows


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)
