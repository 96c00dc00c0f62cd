"""Write files so that readers only ever see a complete one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged_file(target: Path, mode: int = 0o644) -> Iterator[Path]:
    """Yield a temporary sibling of ``target`` to write into.

    Rename it into place with ``os.replace(staged, target)`` once it is
    complete and checked; if that never happens (an error, a kill), it is
    removed and ``target`` keeps its previous content.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(handle)
    os.chmod(name, mode)
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def write_text_atomically(target: Path, text: str) -> None:
    """Write ``text`` (UTF-8, newlines as given) to ``target``; readers never see half of it."""
    with staged_file(target) as staged:
        staged.write_text(text, encoding="utf-8", newline="")
        os.replace(staged, target)
