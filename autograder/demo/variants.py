"""A student's version of a notebook, as data: which cells change, and what grading must say.

A :class:`Variant` is the one form in which the kit describes how a student's
notebook differs from the model solution. The student zoo
(:mod:`autograder.demo.zoo`, solutions written in many styles, right and
wrong) and the demo class (:mod:`autograder.demo.democlass`, whose students
are zoo variants, attacks and broken files) are both lists of them:

- ``cells`` replaces solution cells by grade id (:data:`RELEASED` puts the
  released stub back: work left undone);
- ``edits`` replaces the one kit cell whose source contains a piece of text;
- ``changes`` are edits of the notebook's structure (:class:`InsertCell`,
  :class:`AddToCell`, :class:`DeleteCell`, :class:`DuplicateCell`,
  :class:`CellToMarkdown`);
- ``fails`` names the tests that must earn 0, each with words its message
  must contain (the likely cause, in plain words). Every other test earns
  its points.

:func:`apply_variant` makes the notebook; the zoo's fast harness and
``coursekit grade`` then grade it, and both must agree with ``fails``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import nbformat

PART1, PART2 = "1_lenet5_mnist", "2_fashion_cnn"
NOTEBOOKS = (PART1, PART2)
#: A solution cell's source that stands for "as released": the stub, left undone.
RELEASED = "<the released stub>"


def grade_id(cell) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id", "")


def find_cell(notebook, key: str):
    """The cell with grade id ``key``, or else the one kit code cell whose source contains it."""
    found = [cell for cell in notebook.cells if grade_id(cell) == key]
    found = found or [
        cell
        for cell in notebook.cells
        if cell.cell_type == "code" and not grade_id(cell) and key in cell.source
    ]
    if len(found) != 1:
        raise KeyError(f"{len(found)} cells match {key!r}")
    return found[0]


@dataclass(frozen=True)
class InsertCell:
    """A new code cell: first in the notebook, or just after (or before) a graded cell."""

    source: str
    after: str | None = None
    before: str | None = None

    def apply(self, notebook) -> None:
        if self.before is not None:
            index = notebook.cells.index(find_cell(notebook, self.before))
        elif self.after is not None:
            index = notebook.cells.index(find_cell(notebook, self.after)) + 1
        else:
            index = 1  # after the title, before the imports
        notebook.cells.insert(index, nbformat.v4.new_code_cell(self.source))


@dataclass(frozen=True)
class AddToCell:
    """Code added at the start (or the end) of a graded cell: it runs whenever that cell does."""

    grade_id: str
    source: str
    at_start: bool = True

    def apply(self, notebook) -> None:
        cell = find_cell(notebook, self.grade_id)
        parts = (
            [self.source.rstrip(), cell.source]
            if self.at_start
            else [cell.source.rstrip(), self.source]
        )
        cell.source = "\n\n".join(parts)


@dataclass(frozen=True)
class DeleteCell:
    grade_id: str

    def apply(self, notebook) -> None:
        notebook.cells.remove(find_cell(notebook, self.grade_id))


@dataclass(frozen=True)
class DuplicateCell:
    grade_id: str

    def apply(self, notebook) -> None:
        cell = find_cell(notebook, self.grade_id)
        notebook.cells.insert(notebook.cells.index(cell) + 1, copy.deepcopy(cell))


@dataclass(frozen=True)
class CellToMarkdown:
    grade_id: str

    def apply(self, notebook) -> None:
        cell = find_cell(notebook, self.grade_id)
        markdown = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata)
        notebook.cells[notebook.cells.index(cell)] = markdown


Change = InsertCell | AddToCell | DeleteCell | DuplicateCell | CellToMarkdown


@dataclass(frozen=True)
class Variant:
    """One student's version of one notebook, and the grade it must get."""

    name: str
    notebook: str  # PART1 or PART2
    story: str
    cells: Mapping[str, str] = field(default_factory=dict)  # solution grade_id -> source
    edits: Mapping[str, str] = field(default_factory=dict)  # text in a kit cell -> its source
    changes: Sequence[Change] = ()
    fails: Mapping[str, str] = field(default_factory=dict)  # test -> words in its message

    def expected(self, tests: Mapping[str, float]) -> dict[str, float]:
        """The points each test must earn: all of them, or 0 for a test in ``fails``."""
        return {test: 0.0 if test in self.fails else points for test, points in tests.items()}


def apply_variant(notebook, variant: Variant, stubs: Mapping[str, str]) -> None:
    """Change ``notebook`` (a filled-in release) in place as ``variant`` says.

    ``stubs`` are the released sources of the solution cells, for :data:`RELEASED`.
    """
    for key, source in variant.cells.items():
        cell = find_cell(notebook, key)
        cell.source = stubs[key] if source == RELEASED else source
    for text, source in variant.edits.items():
        find_cell(notebook, text).source = source
    for change in variant.changes:
        change.apply(notebook)
