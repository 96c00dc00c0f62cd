"""Student ids: from the LMS's own ids where there are some, never from a squeezed name.

Every id is safe as an nbgrader student id and a folder name, two different
people never share one, and the same input always gives the same id.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.grading.lms.identity import (
    Lms,
    StudentIdentity,
    is_safe_id,
    lms_of_student_id,
    lms_student_id,
    name_student_id,
    read_identities,
    write_identities,
)
from autograder.grading.pipeline.ingest import student_id

IDENTITIES_FILE = "identities.json"


def test_moodle_and_canvas_ids_come_from_the_lms_ids():
    ann = StudentIdentity.from_moodle("1234567", "Ann Lee")
    assert ann == StudentIdentity("moodle-1234567", Lms.MOODLE, "1234567", display_name="Ann Lee")
    jane = StudentIdentity.from_canvas("12345", "doejane")
    assert jane == StudentIdentity("canvas-12345", Lms.CANVAS, "12345", login="doejane")
    assert lms_of_student_id("moodle-1234567") is Lms.MOODLE
    assert lms_of_student_id("canvas-12345") is Lms.CANVAS
    assert lms_of_student_id("ada") is None


def test_two_moodle_participants_with_one_name_are_two_students():
    first = StudentIdentity.from_moodle("1001", "Ann Lee")
    second = StudentIdentity.from_moodle("1002", "Ann Lee")
    assert first.id != second.id
    assert first.display_name == second.display_name


@pytest.mark.parametrize("not_a_number", ["", "12a", "-1", "1" * 21, "١٢٣"])
def test_an_lms_id_must_be_a_number(not_a_number):
    with pytest.raises(ValueError, match="numeric id"):
        lms_student_id(Lms.CANVAS, not_a_number)


def test_accented_names_that_differ_get_different_ids_and_readable_slugs():
    zoe_diaeresis, zoe_acute = name_student_id("Zoë Li"), name_student_id("Zoé Li")
    assert zoe_diaeresis != zoe_acute
    assert zoe_diaeresis.startswith("zoe-li-") and zoe_acute.startswith("zoe-li-")


def test_a_name_id_is_stable_across_runs_and_versions():
    """Records are kept by id: changing how ids are made would regrade a whole class."""
    assert name_student_id("Zoë Li") == "zoe-li-b276f818"
    assert name_student_id("张伟") == "student-a3a0bafd"


def test_one_name_written_two_ways_in_unicode_is_one_student():
    composed, decomposed = "Zo\u00eb Li", "Zoe\u0308 Li"
    assert name_student_id(composed) == name_student_id(decomposed)
    assert name_student_id("  Zoë   Li ") == name_student_id("Zoë Li")


def test_case_and_punctuation_count():
    assert len({name_student_id(name) for name in ["Ada", "ada", "Ada.", "Ada-"]}) == 4


def test_non_latin_names_are_kept_distinct_and_never_unknown():
    names = ["张伟", "张伟伟", "Ольга", "Ольга Петрова", "محمد", "さくら", "Ørsted Straße"]
    ids = [name_student_id(name) for name in names]
    assert len(set(ids)) == len(names)
    assert "unknown" not in ids
    assert ids[-1].startswith("orsted-strasse-")


def test_an_nbgrader_folder_is_kept_when_safe_and_hashed_when_not():
    assert StudentIdentity.from_nbgrader("jane.doe").id == "jane.doe"
    assert StudentIdentity.from_nbgrader("s1234567").id == "s1234567"
    dotted = StudentIdentity.from_nbgrader("ada.")
    assert dotted.id == name_student_id("ada.") != "ada"
    assert dotted.login == "ada."


@pytest.mark.parametrize(
    "unsafe", [".", "..", "", "a/b", "a\\b", "-a", "a.", "\x1b[2J", "a b", "ü", "a" * 65]
)
def test_an_identity_refuses_an_unsafe_id(unsafe):
    assert not is_safe_id(unsafe)
    with pytest.raises(ValueError, match="not a safe student id"):
        StudentIdentity(unsafe, Lms.NBGRADER)


@given(st.text(max_size=80))
def test_every_name_gives_a_safe_id_the_same_every_time(name):
    made = name_student_id(name)
    assert is_safe_id(made) and made == name_student_id(name)
    assert made not in (".", "..") and "/" not in made and "\\" not in made
    assert made.isascii() and made.isprintable() and len(made) <= 64
    assert student_id(made) == made  # what the rest of the kit expects of a student id


@given(st.text(max_size=80))
def test_every_nbgrader_folder_gives_a_safe_id(folder):
    assert is_safe_id(StudentIdentity.from_nbgrader(folder).id)


def test_a_label_names_the_student_for_a_person():
    assert StudentIdentity.from_moodle("7", "Zoë Li").label == "Zoë Li (moodle-7)"
    assert StudentIdentity.from_canvas("7", "lizoe").label == "lizoe (canvas-7)"
    assert StudentIdentity.from_nbgrader("ada").label == "ada"


def test_identities_are_kept_beside_the_records_and_merged(tmp_path):
    path = tmp_path / IDENTITIES_FILE
    assert read_identities(path) == {}
    ann = StudentIdentity.from_moodle("1001", "Ann Lee")
    zoe = StudentIdentity.from_name("Zoë Li")
    write_identities(path, [ann])
    write_identities(path, [zoe])
    assert read_identities(path) == {ann.id: ann, zoe.id: zoe}
    renamed = StudentIdentity.from_moodle("1001", "Ann Lee-Park")
    write_identities(path, [renamed])
    assert read_identities(path)[ann.id] == renamed
    assert json.loads(path.read_text())["version"] == 1


@pytest.mark.parametrize(
    "content", ["not json", '{"version": 99, "students": []}', '{"version": 1, "students": 5}']
)
def test_an_unreadable_identities_file_warns_and_counts_as_none(tmp_path, content):
    path = tmp_path / IDENTITIES_FILE
    path.write_text(content)
    with pytest.warns(UserWarning, match="unreadable, ignored"):
        assert read_identities(path) == {}
