"""Team names: which spellings are one team, and which names are refused.

Two names are the same team when they look the same: :func:`team_key` is the
Unicode confusable *skeleton* of UTS #39, computed by ICU's SpoofChecker
(PyICU), of the name after NFKC and case folding, with accents, spaces and
punctuation dropped. So ``Quota``, ``quota.``, ``ＱＵＯＴＡ``, ``Ԛuota`` (a
Cyrillic letter) and ``ꓚlever``/``Clever`` (Lisu) are one team each, with one
daily limit and one row; and a name that looks like BEAT ME in any script
(``ᏴᎬᎪᎢ ᎷᎬ``, in Cherokee letters) is refused. The daily limit, the BEAT ME
protection and the uniqueness of registered teams all use this key.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

BEAT_ME = "BEAT ME"
MAX_TEAM_NAME_LENGTH = 40


class UploadRefused(ValueError):
    """An upload the leaderboard will not take in; the message says why, in plain words."""


@dataclass(frozen=True)
class TeamName:
    """A team's name as shown, and the key that identifies the team."""

    display: str  # the spelling as sent, tidied (NFKC, single spaces)
    key: str  # the confusable skeleton, letters and digits only


@functools.cache
def _spoof_checker():
    import icu

    return icu.SpoofChecker()


def skeleton(text: str) -> str:
    """The UTS #39 confusable skeleton of ``text`` (ICU), the same for look-alike strings."""
    return _spoof_checker().getSkeleton(0, text)


def team_key(text: str) -> str:
    """The identity of a team name: look-alike letters, case, accents, punctuation ignored."""
    folded = unicodedata.normalize("NFKC", text)
    for _ in range(2):  # case folding can make new look-alikes: a second skeleton takes them
        folded = skeleton(folded).casefold()
    letters = unicodedata.normalize("NFKD", folded)
    return "".join(c for c in letters if c.isalnum() and not unicodedata.combining(c))


def team_name(raw: str) -> TeamName:
    """The team a name stands for, or :class:`UploadRefused` saying why it cannot be one."""
    named = f"the team name '{printable(raw)}'"
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


def printable(text: str, limit: int = 80) -> str:
    """``text`` with control and invisible characters written as escapes, cut to ``limit``."""
    shown = "".join(
        c if not unicodedata.category(c).startswith("C") else ascii(c)[1:-1] for c in text
    )
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"
