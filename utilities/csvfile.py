"""Read small CSV files the way people save them: BOM, CRLF and blank lines allowed."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

NON_NEGATIVE_INTEGER = re.compile(r"[0-9]{1,9}")


def read_csv_rows(path: Path, error: type[Exception]) -> list[tuple[int, list[str]]]:
    """Non-blank rows as (1-based line number, stripped cells); the header comes first.

    Raises ``error`` naming ``path`` when the file is missing, not UTF-8, not
    CSV or empty.
    """
    if not path.is_file():
        raise error(f"{path}: file not found")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as problem:
        raise error(f"{path}: not UTF-8 text (byte {problem.start}); save it as UTF-8") from None
    if not text.strip():
        raise error(f"{path}: file is empty")
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    try:
        for cells in reader:
            stripped = [cell.strip() for cell in cells]
            if any(stripped):
                rows.append((reader.line_num, stripped))
    except csv.Error as problem:
        raise error(f"{path}: line {reader.line_num}: not valid CSV ({problem})") from None
    return rows


def header_error(path: Path, found: list[str], expected: tuple[str, ...]) -> str:
    """The message for a header that is not the expected one."""
    return f"{path}: line 1: header is {','.join(found)!r}, expected {','.join(expected)!r}"
