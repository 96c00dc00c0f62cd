"""CSV files that are safe to open in a spreadsheet.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a
tab, a carriage return or a line feed) as a formula, so a team name such as
``=HYPERLINK(...)`` in a CSV file could act when a TA opens it (CSV injection,
see OWASP's "CSV Injection" page). Every CSV file the kit writes goes through
:func:`csv_text`, which writes such text with a leading apostrophe: the
spreadsheet then shows the text as it was, and runs nothing.

- :func:`safe_cell` turns one value into the text of its cell;
- :func:`plain_cell` undoes it, so a file the kit reads back (``history.csv``)
  round-trips exactly and a rerun never adds a second apostrophe;
- :func:`csv_text` is the text of a whole file, to be written with
  :func:`utilities.files.write_text_atomically`.

Numbers stay numbers: ``int`` and ``float`` values, and text that is a plain
decimal number such as ``-0.50000``, are written as they are, since a number
cannot start a formula.

Example::

    text = csv_text(["student", "points"], [["=cmd|' /C calc'!A0", 12.5]])
    # student,points
    # '=cmd|' /C calc'!A0,12.5
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
"""First characters that make a spreadsheet read a cell as a formula (the full-width
forms too, which some spreadsheets fold to the ASCII ones)."""
TEXT_MARK = "'"
"""The prefix that tells a spreadsheet "this cell is text"."""
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")

Cell = str | int | float | None


def safe_cell(value: Cell) -> str:
    """The text of a CSV cell for ``value`` that a spreadsheet never runs as a formula.

    ``None`` is an empty cell; ``int`` and ``float`` are written with ``str``.
    Text that starts with one of :data:`FORMULA_STARTS` (after any leading
    spaces) gets a leading apostrophe, unless it is a plain decimal number; so
    does text that already starts with an apostrophe, so that
    :func:`plain_cell` can undo every prefix exactly.
    """
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    if _PLAIN_NUMBER.fullmatch(text):
        return text
    if text.startswith((*FORMULA_STARTS, TEXT_MARK)) or text.lstrip().startswith(FORMULA_STARTS):
        return TEXT_MARK + text
    return text


def plain_cell(text: str) -> str:
    """The value :func:`safe_cell` wrote as ``text``: one leading apostrophe removed."""
    return text[len(TEXT_MARK) :] if text.startswith(TEXT_MARK) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    """A whole CSV file (``\\r\\n`` line ends, quoted where needed), every cell through
    :func:`safe_cell`."""
    stream = io.StringIO()
    writer = csv.writer(stream)
    writer.writerow([safe_cell(cell) for cell in header])
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return stream.getvalue()
