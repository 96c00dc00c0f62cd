"""Pairs of students whose solution cells are unusually alike: evidence for a person, never a grade.

Built on `copydetect <https://github.com/blingenf/copydetect>`_ (MIT), which
implements Winnowing, the fingerprinting behind MOSS: code is tokenized with
Pygments, every name becomes one letter (``V``, ``F``, ``O``) and every string
``S``, comments and whitespace are dropped, and a sample of the hashes of all
``NOISE``-character runs is kept (any shared run of ``GUARANTEE`` characters is
sampled). So renamed variables, reordered functions and rewritten comments leave
the fingerprints of copied code as they were.

Only the students' own code counts: the code cells nbgrader marks as solutions,
with the release's stubs in them (signatures, docstrings, given lines) removed as
boilerplate. A pair's *shares* are the parts of each student's fingerprinted code
found in the other's; its score is the larger share. A pair is flagged when the
score reaches ``threshold`` and at least ``min_shared`` normalized characters are
shared, so two students who each wrote a few lines are not flagged for them.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from copydetect import CodeFingerprint, compare_files

from autograder.report import MIN_SHARED, THRESHOLD
from autograder.report.sources import (
    CourseFiles,
    release_solution_cells,
    student_solutions,
)

NOISE = 25  # k: shared runs shorter than this many normalized characters are ignored
GUARANTEE = 30  # shared runs this long are always found (copydetect's defaults, as MOSS's)
SHOWN = 50  # flagged pairs shown side by side on the page; the CSV lists every pair
_CODE_NAME = "solution.py"  # tells copydetect the language


@dataclass(frozen=True)
class Solution:
    """One student's solution cells, joined into one document with each cell's place."""

    student: str
    text: str
    cells: list[tuple[str, int, int]]  # (notebook · grade id, start, end) in ``text``


@dataclass(slots=True)
class Pair:
    """Two students and how much of their code they share."""

    a: str
    b: str
    share_a: float  # of a's fingerprinted code, found in b's
    share_b: float
    shared: int  # normalized characters
    flagged: bool = False
    slices_a: list[tuple[int, int]] = field(default_factory=list)  # shared parts of a's text
    slices_b: list[tuple[int, int]] = field(default_factory=list)

    @property
    def score(self) -> float:
        return max(self.share_a, self.share_b)


@dataclass
class SimilarityResult:
    """Every pair compared, ranked by score; the students compared and those left out."""

    solutions: dict[str, Solution]
    pairs: list[Pair]  # ranked; only pairs that share something
    skipped: list[str]  # "student: why not compared"
    threshold: float
    min_shared: int
    scores: np.ndarray  # every pair's score, for the histogram
    unread: list[str] = field(default_factory=list)  # files that could not be read, and why

    @property
    def flagged(self) -> list[Pair]:
        return [pair for pair in self.pairs if pair.flagged]

    def groups(self) -> list[list[str]]:
        """Students linked by flagged pairs (connected groups of two or more), largest first."""
        parent = {student: student for pair in self.flagged for student in (pair.a, pair.b)}

        def root(student: str) -> str:
            while parent[student] != student:
                parent[student] = parent[parent[student]]
                student = parent[student]
            return student

        for pair in self.flagged:
            parent[root(pair.a)] = root(pair.b)
        members: dict[str, list[str]] = {}
        for student in sorted(parent):
            members.setdefault(root(student), []).append(student)
        return sorted(members.values(), key=lambda group: (-len(group), group))


def solution_document(student: str, cells: list[tuple[str, str]]) -> Solution:
    """``cells`` (label, source) joined, each under a comment naming it (comments never count)."""
    text, spans = "", []
    for label, source in cells:
        text += f"# ── {label} ──\n"
        spans.append((label, len(text), len(text) + len(source)))
        text += source + "\n\n"
    return Solution(student, text, spans)


def compare(
    solutions: list[Solution],
    boilerplate: list[str],
    threshold: float = THRESHOLD,
    min_shared: int = MIN_SHARED,
) -> SimilarityResult:
    """Every pair of ``solutions`` compared, ``boilerplate`` code set aside."""
    stubs = np.unique(
        np.array(
            [h for code in boilerplate for h in _fingerprint(code, window=1).hashes], dtype=np.int64
        )
    )
    prints, skipped = {}, []
    for solution in solutions:
        fingerprint = _fingerprint(solution.text, window=GUARANTEE - NOISE + 1, boilerplate=stubs)
        if fingerprint.hashes:
            prints[solution.student] = fingerprint
        else:
            skipped.append(f"{solution.student}: no code of their own beyond the release")
    pairs, scores = [], []
    for a, b in itertools.combinations(sorted(prints), 2):
        shared, (share_a, share_b), (slices_a, slices_b) = compare_files(prints[a], prints[b])
        scores.append(max(share_a, share_b))
        if not shared:
            continue
        pair = Pair(a, b, float(share_a), float(share_b), int(shared))
        pair.flagged = pair.score >= threshold and pair.shared >= min_shared
        if pair.flagged:
            pair.slices_a, pair.slices_b = _spans(slices_a), _spans(slices_b)
        pairs.append(pair)
    pairs.sort(key=lambda pair: (-pair.score, -pair.shared, pair.a, pair.b))
    kept = {student: s for s in solutions if (student := s.student) in prints}
    return SimilarityResult(kept, pairs, skipped, threshold, min_shared, np.asarray(scores))


def _fingerprint(code: str, window: int, boilerplate=None) -> CodeFingerprint:
    return CodeFingerprint(_CODE_NAME, NOISE, window, boilerplate=boilerplate, fp=io.StringIO(code))


def _spans(slices: np.ndarray) -> list[tuple[int, int]]:
    return [(int(start), int(end)) for start, end in zip(*slices, strict=True)]


def find_similar(
    files: CourseFiles,
    submissions: Path | None = None,
    threshold: float = THRESHOLD,
    min_shared: int = MIN_SHARED,
) -> SimilarityResult:
    """Compare the solution cells of every student of ``files.assignment``.

    From the autograded notebooks, or from ``submissions`` (any layout ``coursekit grade``
    reads); the release's solution cells are the boilerplate.
    """
    release = release_solution_cells(files)
    order = [(notebook, cell) for notebook, cells in release.items() for cell in cells]
    by_student, notes = student_solutions(files, release, submissions)
    stubs = solution_document("(release)", _cells_in_order(release, order))
    solutions = [
        solution_document(student, _cells_in_order(notebooks, order))
        for student, notebooks in sorted(by_student.items())
    ]
    # The stubs as a whole too: a run of code across two untouched stubs is theirs as well.
    boilerplate = [stubs.text, *(code for cells in release.values() for code in cells.values())]
    result = compare(solutions, boilerplate, threshold, min_shared)
    result.unread = notes
    return result


def _cells_in_order(notebooks: dict[str, dict[str, str]], order) -> list[tuple[str, str]]:
    return [
        (f"{notebook} · {cell}", notebooks[notebook][cell])
        for notebook, cell in order
        if cell in notebooks.get(notebook, {})
    ]


CSV_HEADER = ["rank", "student_a", "student_b", "score", "share_a", "share_b", "shared", "flagged"]


def csv_rows(result: SimilarityResult) -> list[list]:
    """One row per pair that shares any code, most alike first."""
    return [
        [
            rank,
            pair.a,
            pair.b,
            round(pair.score, 4),
            round(pair.share_a, 4),
            round(pair.share_b, 4),
            pair.shared,
            "yes" if pair.flagged else "no",
        ]
        for rank, pair in enumerate(result.pairs, start=1)
    ]
