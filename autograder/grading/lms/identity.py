"""Who a submission belongs to: one stable, safe student id per person.

The id is the nbgrader student id and the name of the student's folders, so
it must be safe on a file system and must never put two people together:

- Moodle's folder ``Full Name_1234567_assignsubmission_file_`` gives
  ``moodle-1234567`` (the participant id);
- Canvas's file ``login_12345_678901_FILE`` gives ``canvas-12345`` (the user id);
- an nbgrader ``submitted/STUDENT/`` folder keeps its name when that is
  already a safe id;
- only a name (a folder or file prefix) gives a readable ASCII slug of it
  plus a short hash of the exact name: "Zoë Li" is ``zoe-li-…`` with one
  hash and "Zoé Li" another; "张伟" and "Ольга" are ``student-…``.

Display names alone never decide an id when the LMS gave its own. The same
input always gives the same id. Ids only hold ASCII letters, digits, ``_``,
``.`` and ``-``, start and end with a letter or digit (so are never ``.`` or
``..``) and are at most :data:`MAX_ID_LENGTH` characters.

:func:`write_identities` keeps who is behind each id next to the grading
records, so that a grade export can match students by name when a roster
has no LMS ids.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path

from utilities.files import write_text_atomically

MAX_ID_LENGTH = 64
NAME_HASH_LENGTH = 8  # hex digits of SHA-256: 32 bits, for names whose slugs are equal
MAX_SLUG_LENGTH = 40
IDENTITIES_VERSION = 1
_SAFE_ID = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9])?")
_LMS_ID = re.compile(r"[0-9]{1,20}")
_LMS_STUDENT_ID = re.compile(r"(?P<lms>canvas|moodle)-(?P<lms_id>[0-9]{1,20})")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
# Latin letters that have no decomposition into a base letter and a mark.
_LATIN_LETTERS = str.maketrans(
    {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ł": "l", "þ": "th", "ð": "d", "ı": "i"}
)


class Lms(StrEnum):
    """Where a student's files came from, and so what their id is made of."""

    MOODLE = "moodle"  # id from the participant id
    CANVAS = "canvas"  # id from the user id
    NBGRADER = "nbgrader"  # the submitted/STUDENT folder's name
    FOLDER = "folder"  # a folder per student, named after them
    FLAT = "flat"  # files named STUDENT_FILE


@dataclass(frozen=True)
class StudentIdentity:
    """One student, as the submissions name them.

    ``id`` is the stable, safe student id; ``lms_id`` the LMS's own id
    (Moodle's participant id, Canvas's user id) or ``""``; ``display_name``
    the name as shown (NFC), ``login`` Canvas's login part of a file name or
    an nbgrader folder's name.
    """

    id: str
    lms: Lms
    lms_id: str = ""
    display_name: str = ""
    login: str = ""

    def __post_init__(self) -> None:
        if not is_safe_id(self.id):
            raise ValueError(f"not a safe student id: {self.id!r}")
        object.__setattr__(self, "lms", Lms(self.lms))

    @classmethod
    def from_moodle(cls, participant_id: str, full_name: str) -> StudentIdentity:
        """A student in Moodle's "Download all submissions", by participant id."""
        student = lms_student_id(Lms.MOODLE, participant_id)
        return cls(student, Lms.MOODLE, participant_id, display_name=normalise_name(full_name))

    @classmethod
    def from_canvas(cls, user_id: str, login: str) -> StudentIdentity:
        """A student in Canvas's "Download Submissions", by user id."""
        student = lms_student_id(Lms.CANVAS, user_id)
        return cls(student, Lms.CANVAS, user_id, login=normalise_name(login))

    @classmethod
    def from_nbgrader(cls, folder: str) -> StudentIdentity:
        """The student of an nbgrader ``submitted/FOLDER``: the name as is when it is safe."""
        if is_safe_id(folder):
            return cls(folder, Lms.NBGRADER, login=folder)
        return cls(name_student_id(folder), Lms.NBGRADER, login=normalise_name(folder))

    @classmethod
    def from_name(cls, name: str, lms: Lms = Lms.FOLDER) -> StudentIdentity:
        """A student known only by a name (a folder, or a file-name prefix)."""
        return cls(name_student_id(name), lms, display_name=normalise_name(name))

    @property
    def label(self) -> str:
        """How to name the student to a person: ``Zoë Li (moodle-1234567)``."""
        name = self.display_name or self.login
        return f"{name} ({self.id})" if name and name != self.id else self.id


def is_safe_id(text: str) -> bool:
    """Whether ``text`` can be a student id and a folder name as it is."""
    return len(text) <= MAX_ID_LENGTH and _SAFE_ID.fullmatch(text) is not None


def lms_student_id(lms: Lms, lms_id: str) -> str:
    """The student id of the LMS's own id: ``moodle-1234567``, ``canvas-12345``.

    Raises :class:`ValueError` unless ``lms_id`` is a number of 1 to 20 digits.
    """
    if _LMS_ID.fullmatch(lms_id) is None:
        raise ValueError(f"expected {lms}'s numeric id, got {lms_id!r}")
    return f"{Lms(lms)}-{lms_id}"


def lms_of_student_id(student: str) -> Lms | None:
    """The LMS a student id was made from (``canvas-12345``: Canvas), if it looks made so."""
    made = _LMS_STUDENT_ID.fullmatch(student)
    return Lms(made["lms"]) if made else None


def normalise_name(name: str) -> str:
    """``name`` in Unicode NFC, with runs of white space as one space and none at the ends."""
    return " ".join(unicodedata.normalize("NFC", name).split())


def name_student_id(name: str) -> str:
    """A safe id for a person known only by ``name``: a slug and a hash of the exact name.

    The name is compared after :func:`normalise_name` only: case, accents and
    punctuation all count, so two different names never share an id (short
    of a 32-bit hash collision among names with the same slug).
    """
    exact = normalise_name(name)
    digest = hashlib.sha256(exact.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{_slug(exact) or 'student'}-{digest[:NAME_HASH_LENGTH]}"


def _slug(name: str) -> str:
    """Lower-case ASCII letters and digits of ``name``, in words joined by ``-``."""
    letters = unicodedata.normalize("NFKD", name.casefold().translate(_LATIN_LETTERS))
    base_letters = letters.encode("ascii", "ignore").decode()  # the accents are left behind
    slug = _NOT_SLUG.sub("-", base_letters).strip("-")
    return slug[:MAX_SLUG_LENGTH].rstrip("-")


def write_identities(path: Path, identities: Iterable[StudentIdentity]) -> None:
    """Add ``identities`` to the JSON file ``path``; an id already there is replaced."""
    known = read_identities(path)
    known.update((identity.id, identity) for identity in identities)
    data = {
        "version": IDENTITIES_VERSION,
        "students": [asdict(known[student]) for student in sorted(known)],
    }
    write_text_atomically(Path(path), json.dumps(data, indent=1, ensure_ascii=False) + "\n")


def read_identities(path: Path) -> dict[str, StudentIdentity]:
    """Student id -> identity, from a file :func:`write_identities` wrote.

    A missing file is no identities; an unreadable one is reported with a
    warning and counts as none (matching by name then finds nobody).
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("version") != IDENTITIES_VERSION:
            raise ValueError(f"format {data.get('version')}, expected {IDENTITIES_VERSION}")
        identities = [StudentIdentity(**entry) for entry in data["students"]]
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
        warnings.warn(f"{path}: unreadable, ignored ({error})", stacklevel=2)
        return {}
    return {identity.id: identity for identity in identities}
