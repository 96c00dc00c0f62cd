"""Reading what students hand in, safely: never through a link, never past a size cap.

:func:`read_submission_bytes` opens a submitted file (and, with a root, every folder on
the way) without following links, refuses anything but a regular file, and reads at
most its limit; :func:`printable` makes any file name safe to show in a terminal, a log
or a CSV cell.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from utilities.errors import CourseKitError

LINK_REFUSED = "a symbolic link; submissions must be files, not links (not followed)"
NOT_A_FILE = "not a regular file (a device, pipe or socket)"
_SHORT_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class UnreadableSubmission(CourseKitError):
    """One submitted file cannot be read; the message says why, in plain words."""


def printable(text: str | os.PathLike[str]) -> str:
    """``text`` safe to show in a terminal, a log or a CSV cell.

    Every character that is not printable (control characters such as ESC or
    CR, bidi overrides and other format characters, lone surrogates from
    undecodable file names) and the backslash are escaped as ``repr`` writes
    them, without the quotes.
    """
    text = os.fspath(text)
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(_escaped(character) for character in text)


def _escaped(character: str) -> str:
    if character == "\\":
        return "\\\\"
    if character.isprintable():
        return character
    if character in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[character]
    code = ord(character)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def read_submission_bytes(path: Path, limit: int, *, root: Path | None = None) -> bytes:
    """The bytes of the submitted file ``path``, read without following any link.

    With ``root``, ``path`` must lie below it and every folder in between is
    opened without following links too. Raises :class:`UnreadableSubmission`
    for a link, anything but a regular file (a pipe never blocks), a file
    over ``limit`` bytes, or one that cannot be opened.
    """
    try:
        descriptor = _open_without_links(Path(path), root)
    except OSError as error:
        raise UnreadableSubmission(why_unreadable(error)) from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableSubmission("not a regular file (a folder, device, pipe or socket)")
        if info.st_size > limit:
            raise UnreadableSubmission(_too_big(info.st_size, limit))
        with os.fdopen(descriptor, "rb", closefd=False) as stream:
            data = stream.read(limit + 1)
    except OSError as error:
        raise UnreadableSubmission(why_unreadable(error)) from None
    finally:
        os.close(descriptor)
    if len(data) > limit:
        raise UnreadableSubmission(_too_big(len(data), limit))
    return data


def _open_without_links(path: Path, root: Path | None) -> int:
    if root is None:
        return os.open(path, _READ_FLAGS)
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        parts = ()
    if not parts or ".." in parts:
        raise UnreadableSubmission("not inside the submissions folder")
    folder = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            try:
                inner = os.open(part, _FOLDER_FLAGS, dir_fd=folder)
            except NotADirectoryError:  # what Linux says for a link opened as a folder
                if stat.S_ISLNK(os.stat(part, dir_fd=folder, follow_symlinks=False).st_mode):
                    raise OSError(errno.ELOOP, "a folder on the way is a link") from None
                raise
            os.close(folder)
            folder = inner
        return os.open(parts[-1], _READ_FLAGS, dir_fd=folder)
    finally:
        os.close(folder)


def why_unreadable(error: BaseException) -> str:
    """A plain-words reason why a file cannot be read, safe to print."""
    if isinstance(error, OSError) and error.errno == errno.ELOOP:
        return LINK_REFUSED
    return f"cannot be read ({describe_error(error)})"


def describe_error(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return f"{type(error).__name__}: {printable(str(error))[:200]}"


def _too_big(size: int, limit: int) -> str:
    return f"the file is {_size(size)}, over the {_size(limit)} limit"


def _size(count: int) -> str:
    return f"{count / 1024**2:.0f} MB" if count >= 1024**2 else f"{count:,} bytes"
