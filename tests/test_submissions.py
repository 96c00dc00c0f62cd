"""Mapping downloaded files to students: nbgrader trees, LMS folders, flat names and zips.

No file can stop a run, every file is either mapped or listed with the reason,
submissions are files and never links, and names are shown safely.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
import zipfile

import pytest

from autograder.grading.lms.identity import Lms, StudentIdentity, name_student_id
from autograder.grading.pipeline import ingest as submissions
from autograder.grading.pipeline.ingest import (
    LINK_REFUSED,
    StudentFiles,
    SubmissionsError,
    UnreadableSubmission,
    collect,
    printable,
    read_submission_bytes,
    student_id,
)

CELLS = {"1_lenet5_mnist": {"lenet5", "test_lenet5"}, "2_fashion_cnn": {"fashion_model"}}


def _notebook(path, grade_ids=("lenet5",)):
    path.parent.mkdir(parents=True, exist_ok=True)
    cells = [{"metadata": {"nbgrader": {"grade_id": grade_id}}} for grade_id in grade_ids]
    path.write_text(json.dumps({"cells": cells, "nbformat": 4}))
    return path


def _files(collected):
    return {
        student: (sorted(files.notebooks), files.csv is not None)
        for student, files in collected.students.items()
    }


def _reasons(collected) -> dict[str, str]:
    return {item.path: item.reason for item in collected.unmapped}


def _zip_entry(bundle, name, content, mode):
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix, so the mode bits count
    info.external_attr = mode << 16
    bundle.writestr(info, content)


def test_an_nbgrader_submitted_tree(tmp_path):
    _notebook(tmp_path / "ada" / "cnn" / "1_lenet5_mnist.ipynb")
    _notebook(tmp_path / "ada" / "cnn" / "2_fashion_cnn.ipynb", ["fashion_model"])
    (tmp_path / "ada" / "cnn" / "submission.csv").write_text("ID,Prediction\n")
    _notebook(tmp_path / "ben" / "cnn" / "1_lenet5_mnist.ipynb")
    collected = collect(tmp_path, "cnn", CELLS, tmp_path)
    assert _files(collected) == {
        "ada": (["1_lenet5_mnist", "2_fashion_cnn"], True),
        "ben": (["1_lenet5_mnist"], False),
    }
    assert collected.unmapped == []


def test_canvas_and_flat_names_with_late_markers_and_duplicate_suffixes(tmp_path):
    _notebook(tmp_path / "smithj_12345_678_1_lenet5_mnist.ipynb")
    _notebook(tmp_path / "smithj_late_12345_679_2_fashion_cnn-1.ipynb", ["fashion_model"])
    _notebook(tmp_path / "lee-1_lenet5_mnist.ipynb")
    (tmp_path / "lee_submission.csv").write_text("ID,Prediction\n")
    collected = collect(tmp_path, "cnn", CELLS, tmp_path)
    assert _files(collected) == {
        "canvas-12345": (["1_lenet5_mnist", "2_fashion_cnn"], False),
        name_student_id("lee"): (["1_lenet5_mnist"], True),
    }
    assert collected.students["canvas-12345"].identity == StudentIdentity(
        "canvas-12345", Lms.CANVAS, lms_id="12345", login="smithj"
    )


def test_a_zip_with_one_folder_per_student_moodle_style(tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr(
            "Ada Lovelace_4711_assignsubmission_file_/1_lenet5_mnist.ipynb",
            json.dumps({"cells": [], "nbformat": 4}),
        )
        bundle.writestr("__MACOSX/._junk", "x")
    collected = collect(archive, "cnn", CELLS, tmp_path)
    assert _files(collected) == {"moodle-4711": (["1_lenet5_mnist"], False)}
    assert collected.students["moodle-4711"].identity.display_name == "Ada Lovelace"
    assert collected.unmapped == []


def test_a_renamed_notebook_is_identified_by_its_graded_cells(tmp_path):
    _notebook(tmp_path / "tess" / "cnn" / "lenet (2).ipynb", ["lenet5", "test_lenet5"])
    collected = collect(tmp_path, "cnn", CELLS, tmp_path)
    files = collected.students["tess"]
    assert sorted(files.notebooks) == ["1_lenet5_mnist"]
    assert files.notes == [
        "tess/cnn/lenet (2).ipynb was graded as 1_lenet5_mnist.ipynb (its graded cells match)"
    ]


def test_what_cannot_be_mapped_is_listed_with_the_reason(tmp_path):
    _notebook(tmp_path / "uma" / "cnn" / "scratch.ipynb", ["nothing_known"])
    (tmp_path / "uma" / "cnn" / "notes.txt").write_text("hi")
    (tmp_path / "uma" / "cnn" / "predictions.csv").write_text("ID,Prediction\n")
    _notebook(tmp_path / "uma" / "cnn" / "1_lenet5_mnist.ipynb")
    _notebook(tmp_path / "uma" / "cnn" / "1_lenet5_mnist-2.ipynb")
    _notebook(tmp_path / "orphan.ipynb")
    collected = collect(tmp_path, "cnn", CELLS, tmp_path)
    reasons = sorted(str(item) for item in collected.unmapped)
    assert reasons[0].startswith("orphan.ipynb: cannot tell whose file this is")
    assert "uma/cnn/1_lenet5_mnist.ipynb: a second 1_lenet5_mnist.ipynb for uma" in reasons
    assert any(r.startswith("uma/cnn/notes.txt: not a notebook") for r in reasons)
    assert any(r.startswith("uma/cnn/predictions.csv: not submission.csv") for r in reasons)
    assert any(
        r.startswith("uma/cnn/scratch.ipynb: cannot tell which notebook this is") for r in reasons
    )


def test_a_missing_path_or_a_file_that_is_not_a_zip_is_a_clear_error(tmp_path):
    with pytest.raises(SubmissionsError, match="no such file or folder"):
        collect(tmp_path / "nope", "cnn", CELLS, tmp_path)
    (tmp_path / "grades.txt").write_text("x")
    with pytest.raises(SubmissionsError, match=r"expected a folder or a \.zip"):
        collect(tmp_path / "grades.txt", "cnn", CELLS, tmp_path)


# ---- no single file stops a run ---------------------------------------------------

HOSTILE_CONTENTS = {
    "deep nesting": b'{"cells": ' + b"[" * 100_000 + b"]" * 100_000 + b', "nbformat": 4}',
    "a grade_id that is a list": json.dumps(
        {"cells": [{"metadata": {"nbgrader": {"grade_id": ["lenet5"]}}}], "nbformat": 4}
    ).encode(),
    "a grade_id that is a dict": json.dumps(
        {"cells": [{"metadata": {"nbgrader": {"grade_id": {"a": 1}}}}], "nbformat": 4}
    ).encode(),
    "cells that are a number": b'{"cells": 5, "nbformat": 4}',
    "nbgrader metadata that is a list": b'{"cells": [{"metadata": {"nbgrader": [1]}}]}',
    "metadata that is a string": b'{"cells": [{"metadata": "x"}]}',
    "a huge integer": b'{"cells": [], "x": ' + b"9" * 100_000 + b"}",
    "a top-level array": b"[1, 2, 3]",
    "invalid UTF-8": b'{"cells": [\xff\xfe]}',
    "NUL bytes": b"\x00" * 100,
    "nothing at all": b"",
}


@pytest.mark.parametrize("content", HOSTILE_CONTENTS.values(), ids=HOSTILE_CONTENTS.keys())
def test_a_renamed_notebook_that_cannot_be_read_is_listed_and_the_rest_go_on(tmp_path, content):
    (tmp_path / "tess" / "cnn").mkdir(parents=True)
    (tmp_path / "tess" / "cnn" / "my work.ipynb").write_bytes(content)
    _notebook(tmp_path / "ada" / "cnn" / "1_lenet5_mnist.ipynb")
    collected = collect(tmp_path, "cnn", CELLS, tmp_path)
    assert _files(collected) == {"ada": (["1_lenet5_mnist"], False)}
    reason = _reasons(collected)["tess/cnn/my work.ipynb"]
    assert reason.startswith("cannot tell which notebook this is")


def test_a_string_grade_id_next_to_broken_ones_still_identifies_the_notebook(tmp_path):
    cells = [
        {"metadata": {"nbgrader": {"grade_id": ["lenet5"]}}},
        {"metadata": {"nbgrader": "broken"}},
        "not a cell",
        {"metadata": {"nbgrader": {"grade_id": "test_lenet5"}}},
    ]
    (tmp_path / "tess").mkdir()
    (tmp_path / "tess" / "renamed.ipynb").write_text(json.dumps({"cells": cells}))
    collected = collect(tmp_path, "cnn", CELLS, tmp_path)
    assert _files(collected) == {name_student_id("tess"): (["1_lenet5_mnist"], False)}


def test_any_error_while_mapping_one_file_becomes_an_unmapped_line(tmp_path, monkeypatch):
    _notebook(tmp_path / "ada" / "cnn" / "1_lenet5_mnist.ipynb")
    _notebook(tmp_path / "ben" / "cnn" / "1_lenet5_mnist.ipynb")

    def fails_for_ben(relative, *arguments):
        if relative.parts[0] == "ben":
            raise MemoryError("out of memory")
        return original(relative, *arguments)

    original = submissions._map
    monkeypatch.setattr(submissions, "_map", fails_for_ben)
    collected = collect(tmp_path, "cnn", CELLS, tmp_path)
    assert _files(collected) == {"ada": (["1_lenet5_mnist"], False)}
    assert _reasons(collected) == {
        "ben/cnn/1_lenet5_mnist.ipynb": "cannot be read (MemoryError: out of memory)"
    }


# ---- submissions are files, never links ----------------------------------------------


@pytest.fixture
def instructor_source(tmp_path):
    """The instructor's source notebook, outside the submissions folder."""
    return _notebook(tmp_path / "course" / "source" / "cnn" / "1_lenet5_mnist.ipynb")


def test_a_symlink_to_the_source_notebook_is_refused(tmp_path, instructor_source):
    root = tmp_path / "submitted"
    (root / "eve" / "cnn").mkdir(parents=True)
    (root / "eve" / "cnn" / "1_lenet5_mnist.ipynb").symlink_to(instructor_source)
    collected = collect(root, "cnn", CELLS, tmp_path)
    assert collected.students == {}
    assert _reasons(collected) == {"eve/cnn/1_lenet5_mnist.ipynb": LINK_REFUSED}


def test_a_symlink_to_another_students_notebook_is_refused(tmp_path):
    ada = _notebook(tmp_path / "ada" / "cnn" / "1_lenet5_mnist.ipynb")
    (tmp_path / "eve" / "cnn").mkdir(parents=True)
    (tmp_path / "eve" / "cnn" / "1_lenet5_mnist.ipynb").symlink_to(ada)
    (tmp_path / "eve" / "cnn" / "submission.csv").symlink_to("../../ada/cnn/submission.csv")
    collected = collect(tmp_path, "cnn", CELLS, tmp_path)
    assert _files(collected) == {"ada": (["1_lenet5_mnist"], False)}
    assert _reasons(collected) == {
        "eve/cnn/1_lenet5_mnist.ipynb": LINK_REFUSED,
        "eve/cnn/submission.csv": LINK_REFUSED,
    }


def test_a_symlinked_folder_is_refused_and_never_followed(tmp_path, instructor_source):
    root = tmp_path / "submitted"
    (root / "eve").mkdir(parents=True)
    (root / "eve" / "cnn").symlink_to(instructor_source.parent, target_is_directory=True)
    (root / "mallory").symlink_to(root / "eve", target_is_directory=True)
    (root / "loop").symlink_to(root, target_is_directory=True)
    collected = collect(root, "cnn", CELLS, tmp_path)
    assert collected.students == {}
    assert _reasons(collected) == {
        "eve/cnn": LINK_REFUSED,
        "mallory": LINK_REFUSED,
        "loop": LINK_REFUSED,
    }


def test_a_pipe_among_the_submissions_is_listed_and_never_opened(tmp_path):
    (tmp_path / "eve" / "cnn").mkdir(parents=True)
    os.mkfifo(tmp_path / "eve" / "cnn" / "1_lenet5_mnist.ipynb")
    os.mkfifo(tmp_path / "eve" / "cnn" / "renamed.ipynb")
    collected = collect(tmp_path, "cnn", CELLS, tmp_path)
    assert collected.students == {}
    assert set(_reasons(collected)) == {
        "eve/cnn/1_lenet5_mnist.ipynb",
        "eve/cnn/renamed.ipynb",
    }
    assert all("not a regular file" in item.reason for item in collected.unmapped)


def test_the_submissions_folder_itself_may_be_a_link(tmp_path):
    _notebook(tmp_path / "real" / "ada" / "cnn" / "1_lenet5_mnist.ipynb")
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    collected = collect(tmp_path / "link", "cnn", CELLS, tmp_path)
    assert _files(collected) == {"ada": (["1_lenet5_mnist"], False)}
    assert collected.root == (tmp_path / "real").resolve()


def test_read_submission_bytes_never_follows_a_link(tmp_path, instructor_source):
    root = tmp_path / "submitted"
    (root / "eve").mkdir(parents=True)
    (root / "eve" / "work.ipynb").symlink_to(instructor_source)
    with pytest.raises(UnreadableSubmission, match="symbolic link"):
        read_submission_bytes(root / "eve" / "work.ipynb", 1000)
    (root / "mallory").symlink_to(instructor_source.parent, target_is_directory=True)
    linked = root / "mallory" / instructor_source.name
    with pytest.raises(UnreadableSubmission, match="symbolic link"):
        read_submission_bytes(linked, 1000, root=root)
    with pytest.raises(UnreadableSubmission, match="not inside the submissions folder"):
        read_submission_bytes(instructor_source, 1000, root=root)
    with pytest.raises(UnreadableSubmission, match="not inside the submissions folder"):
        read_submission_bytes(root / "eve" / ".." / ".." / "course" / "x", 1000, root=root)


def test_read_submission_bytes_refuses_pipes_without_blocking_and_big_files(tmp_path):
    os.mkfifo(tmp_path / "pipe.ipynb")
    outcome = []

    def read_pipe():
        with pytest.raises(UnreadableSubmission, match="not a regular file") as error:
            read_submission_bytes(tmp_path / "pipe.ipynb", 1000, root=tmp_path)
        outcome.append(error)

    reader = threading.Thread(target=read_pipe, daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert outcome, "reading a pipe blocked"
    (tmp_path / "big.ipynb").write_bytes(b"x" * 1001)
    with pytest.raises(UnreadableSubmission, match="the file is 1,001 bytes, over the 1,000"):
        read_submission_bytes(tmp_path / "big.ipynb", 1000, root=tmp_path)
    assert read_submission_bytes(tmp_path / "big.ipynb", 1001, root=tmp_path) == b"x" * 1001


def test_a_fingerprint_never_follows_a_link_and_never_raises(tmp_path, instructor_source):
    notebook = _notebook(tmp_path / "ada" / "cnn" / "1_lenet5_mnist.ipynb")
    files = collect(tmp_path, "cnn", CELLS, tmp_path).students["ada"]
    before = files.fingerprint()
    notebook.unlink()
    notebook.symlink_to(instructor_source)  # swapped after collect
    after = files.fingerprint()
    assert after != before
    assert after != StudentFiles("ada", {"1_lenet5_mnist": instructor_source}).fingerprint()


def test_a_fingerprint_covers_the_csv(tmp_path):
    _notebook(tmp_path / "ada" / "cnn" / "1_lenet5_mnist.ipynb")
    csv = tmp_path / "ada" / "cnn" / "submission.csv"
    csv.write_text("ID,Prediction\n1,2\n")
    before = collect(tmp_path, "cnn", CELLS, tmp_path).students["ada"].fingerprint()
    csv.write_text("ID,Prediction\n1,3\n")
    assert collect(tmp_path, "cnn", CELLS, tmp_path).students["ada"].fingerprint() != before


# ---- zips ------------------------------------------------------------------------------


def test_a_zip_entry_that_is_a_symlink_is_not_extracted(tmp_path, instructor_source):
    archive = tmp_path / "handin.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        _zip_entry(bundle, "eve/1_lenet5_mnist.ipynb", str(instructor_source), stat.S_IFLNK | 0o777)
        _zip_entry(bundle, "eve/cnn", str(instructor_source.parent), stat.S_IFLNK | 0o777)
    collected = collect(archive, "cnn", CELLS, tmp_path / "work")
    assert collected.students == {}
    assert set(_reasons(collected)) == {"eve/1_lenet5_mnist.ipynb", "eve/cnn"}
    assert all("symbolic link" in item.reason for item in collected.unmapped)
    assert not any(path.is_symlink() for path in collected.root.rglob("*"))
    assert not (collected.root / "eve" / "1_lenet5_mnist.ipynb").exists()


def test_unsafe_zip_entries_are_refused_and_the_rest_extracted(tmp_path):
    archive = tmp_path / "evil.zip"
    notebook = json.dumps({"cells": [], "nbformat": 4})
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("../../etc/escape.ipynb", "{}")
        bundle.writestr("/abs/1_lenet5_mnist.ipynb", "{}")
        _zip_entry(bundle, "eve/null.ipynb", "", stat.S_IFCHR | 0o666)
        _zip_entry(bundle, "eve/pipe.ipynb", "", stat.S_IFIFO | 0o666)
        bundle.writestr("ada/1_lenet5_mnist.ipynb", notebook)
    collected = collect(archive, "cnn", CELLS, tmp_path / "work")
    assert _files(collected) == {name_student_id("ada"): (["1_lenet5_mnist"], False)}
    reasons = _reasons(collected)
    assert reasons["../../etc/escape.ipynb"].startswith("an unsafe path in the zip")
    assert reasons["/abs/1_lenet5_mnist.ipynb"].startswith("an unsafe path in the zip")
    assert reasons["eve/null.ipynb"].startswith("not a regular file in the zip")
    assert reasons["eve/pipe.ipynb"].startswith("not a regular file in the zip")
    assert (
        not (tmp_path / "etc").exists() and not (tmp_path.parent / "etc" / "escape.ipynb").exists()
    )


def test_a_zip_entry_repeated_keeps_the_first_copy(tmp_path):
    archive = tmp_path / "twice.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("ada/1_lenet5_mnist.ipynb", json.dumps({"cells": [], "nbformat": 4}))
        with pytest.warns(UserWarning, match="Duplicate name"):
            bundle.writestr("ada/1_lenet5_mnist.ipynb", "second")
        bundle.writestr("ada/1_lenet5_mnist.ipynb/inside.ipynb", "under a file")
    collected = collect(archive, "cnn", CELLS, tmp_path / "work")
    files = collected.students[name_student_id("ada")]
    assert b"second" not in files.notebooks["1_lenet5_mnist"].read_bytes()
    reasons = _reasons(collected)
    assert reasons["ada/1_lenet5_mnist.ipynb"].startswith("a second entry with this name")
    assert reasons["ada/1_lenet5_mnist.ipynb/inside.ipynb"].startswith("could not be extracted")


def test_a_zip_with_too_many_entries_or_bytes_is_refused_whole(tmp_path, monkeypatch):
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for number in range(4):
            bundle.writestr(f"s{number}_1_lenet5_mnist.ipynb", "0" * 10_000)
    monkeypatch.setattr(submissions, "MAX_ZIP_ENTRIES", 3)
    with pytest.raises(SubmissionsError, match="4 entries, over the 3 limit"):
        collect(archive, "cnn", CELLS, tmp_path)
    monkeypatch.setattr(submissions, "MAX_ZIP_ENTRIES", 100)
    monkeypatch.setattr(submissions, "MAX_ZIP_BYTES", 30_000)
    with pytest.raises(SubmissionsError, match="over the"):
        collect(archive, "cnn", CELLS, tmp_path)


def test_a_corrupt_zip_entry_is_listed_and_the_rest_extracted(tmp_path):
    archive = tmp_path / "corrupt.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as bundle:
        bundle.writestr("ben/1_lenet5_mnist.ipynb", "B" * 64)
        bundle.writestr("ada/1_lenet5_mnist.ipynb", json.dumps({"cells": [], "nbformat": 4}))
    data = archive.read_bytes()
    archive.write_bytes(data.replace(b"B" * 64, b"C" * 64, 1))  # the CRC no longer matches
    collected = collect(archive, "cnn", CELLS, tmp_path / "work")
    assert _files(collected) == {name_student_id("ada"): (["1_lenet5_mnist"], False)}
    assert _reasons(collected)["ben/1_lenet5_mnist.ipynb"].startswith("could not be extracted")


def test_a_file_that_is_not_a_readable_zip_is_a_clear_error(tmp_path):
    archive = tmp_path / "broken.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("ada/1_lenet5_mnist.ipynb", "{}")
    data = archive.read_bytes()
    archive.write_bytes(data.replace(b"PK\x01\x02", b"XX\x01\x02"))  # no central directory
    with pytest.raises(SubmissionsError):
        collect(archive, "cnn", CELLS, tmp_path)


# ---- names are shown safely ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("lenet (2).ipynb", "lenet (2).ipynb"),
        ("Übung-ü.ipynb", "Übung-ü.ipynb"),
        ("\x1b[2Jclear", "\\x1b[2Jclear"),
        ("line\rover", "line\\rover"),
        ("bell\x07", "bell\\x07"),
        ("evil\u202egnp.ipynb", "evil\\u202egnp.ipynb"),
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("back\\slash", "back\\\\slash"),
        (os.fsdecode(b"bad\xffbyte"), "bad\\udcffbyte"),
        ("tab\tnew\nline", "tab\\tnew\\nline"),
    ],
)
def test_printable_escapes_what_a_terminal_would_act_on_like_repr(raw, shown):
    assert printable(raw) == shown
    assert printable(raw).isprintable()


def test_control_characters_in_file_and_folder_names_never_reach_a_message(tmp_path):
    hostile = ["\x1b[2J\x1b[31mada", "ben\r\x1b[K", "cy\u202ekcatta", "dee\x07"]
    for name in hostile:
        _notebook(tmp_path / name / "cnn" / f"renamed{name}.ipynb", ["lenet5"])
        _notebook(tmp_path / name / "cnn" / f"junk{name}.ipynb", ["nothing"])
        (tmp_path / name / "cnn" / f"note{name}.txt").write_text("x")
    os.symlink("nowhere", os.path.join(os.fsencode(tmp_path), b"link\xff\x1b.ipynb"))
    collected = collect(tmp_path, "cnn", CELLS, tmp_path)
    messages = [str(item) for item in collected.unmapped]
    messages += [note for files in collected.students.values() for note in files.notes]
    assert len(messages) == 3 * len(hostile) + 1
    for message in messages:
        assert message.isprintable(), message
        message.encode("utf-8")  # no lone surrogates from undecodable names
    assert sorted(collected.students) == sorted(name_student_id(name) for name in hostile)


# ---- student ids ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("ada", "ada"),
        ("Ada Lovelace", "Ada_Lovelace"),
        ("../../root", "root"),
        ("", "unknown"),
        (".", "unknown"),
        ("..", "unknown"),
        ("...", "unknown"),
        ("-", "unknown"),
        ("a/b", "a_b"),
        ("a\\b", "a_b"),
        ("\x1b[31mred\x1b[0m", "31mred_0m"),
        ("\u202eevil", "evil"),
        ("a" * 63 + "." + "b", "a" * 63),
    ],
)
def test_student_ids_are_safe_for_nbgrader_and_the_file_system(raw, clean):
    assert student_id(raw) == clean


def test_a_student_id_is_never_a_path_or_a_control_character(tmp_path):
    for raw in [".", "..", "/", "a/../b", "\x00", "\x1b", "\u202e", "CON", "a" * 500, " .. "]:
        cleaned = student_id(raw)
        assert cleaned not in (".", "..")
        assert "/" not in cleaned and "\\" not in cleaned
        assert cleaned.isascii() and cleaned.isprintable() and len(cleaned) <= 64
        assert (tmp_path / cleaned).resolve().parent == tmp_path.resolve()


def test_the_collected_root_and_every_path_are_free_of_links(tmp_path):
    _notebook(tmp_path / "ada" / "cnn" / "1_lenet5_mnist.ipynb")
    collected = collect(tmp_path, "cnn", CELLS, tmp_path)
    path = collected.students["ada"].notebooks["1_lenet5_mnist"]
    assert path == path.resolve()
    assert collected.students["ada"].root == collected.root
    digest = hashlib.sha256(read_submission_bytes(path, 10_000, root=collected.root))
    assert digest.hexdigest() == hashlib.sha256(path.read_bytes()).hexdigest()


# ---- whose files: ids from the LMS's own ids ------------------------------------------------


def test_moodle_homonyms_stay_two_students_by_participant_id(tmp_path):
    _notebook(tmp_path / "Ann Lee_1001_assignsubmission_file_" / "1_lenet5_mnist.ipynb")
    _notebook(tmp_path / "Ann Lee_1002_assignsubmission_file_" / "1_lenet5_mnist.ipynb")
    (tmp_path / "Ann Lee_1002_assignsubmission_onlinetext_").mkdir()
    (tmp_path / "Ann Lee_1002_assignsubmission_onlinetext_" / "onlinetext.html").write_text("hi")
    collected = collect(tmp_path, "cnn", CELLS, tmp_path)
    assert _files(collected) == {
        "moodle-1001": (["1_lenet5_mnist"], False),
        "moodle-1002": (["1_lenet5_mnist"], False),
    }
    assert {files.identity.display_name for files in collected.students.values()} == {"Ann Lee"}
    assert _reasons(collected) == {
        "Ann Lee_1002_assignsubmission_onlinetext_/onlinetext.html": (
            "not a notebook, submission.csv or a .keras model"
        )
    }


def test_moodle_accents_non_latin_names_and_subfolders_keep_every_student(tmp_path):
    folders = {
        "Zoë Li_2001_assignsubmission_file_": "moodle-2001",
        "Zoé Li_2002_assignsubmission_file_": "moodle-2002",
        "张伟_2003_assignsubmission_file_": "moodle-2003",
        "Ольга Петрова_2004_assignsubmission_file_": "moodle-2004",
    }
    for folder in folders:
        _notebook(tmp_path / folder / "work" / "1_lenet5_mnist.ipynb")
    collected = collect(tmp_path, "cnn", CELLS, tmp_path)
    assert sorted(collected.students) == sorted(folders.values())
    assert collected.students["moodle-2003"].identity.display_name == "张伟"


def test_moodle_files_without_a_folder_per_student(tmp_path):
    _notebook(tmp_path / "Ada Lovelace_4711_assignsubmission_file_1_lenet5_mnist.ipynb")
    (tmp_path / "Ada Lovelace_4711_assignsubmission_file_submission.csv").write_text("ID\n")
    collected = collect(tmp_path, "cnn", CELLS, tmp_path)
    assert _files(collected) == {"moodle-4711": (["1_lenet5_mnist"], True)}


def test_canvas_homonyms_late_files_and_duplicate_uploads(tmp_path):
    _notebook(tmp_path / "leeann_30001_900001_1_lenet5_mnist.ipynb")
    _notebook(tmp_path / "leeann_30002_900002_1_lenet5_mnist-1.ipynb")
    _notebook(tmp_path / "leeann_late_30002_900003_2_fashion_cnn-2.ipynb", ["fashion_model"])
    _notebook(tmp_path / "_30003_900004_1_lenet5_mnist.ipynb")  # a name Canvas squeezed away
    collected = collect(tmp_path, "cnn", CELLS, tmp_path)
    assert _files(collected) == {
        "canvas-30001": (["1_lenet5_mnist"], False),
        "canvas-30002": (["1_lenet5_mnist", "2_fashion_cnn"], False),
        "canvas-30003": (["1_lenet5_mnist"], False),
    }


def test_names_alone_give_distinct_ids_never_unknown(tmp_path):
    names = ["Zoë Li", "Zoé Li", "张伟", "Ольга", "Ada", "Ada."]
    for name in names:
        _notebook(tmp_path / name / "1_lenet5_mnist.ipynb")
    collected = collect(tmp_path, "cnn", CELLS, tmp_path)
    assert sorted(collected.students) == sorted(name_student_id(name) for name in names)
    assert len(collected.students) == len(names)
    assert "unknown" not in collected.students
    assert all(files.identity.lms is Lms.FOLDER for files in collected.students.values())


def test_a_trailing_dot_never_puts_a_notebook_under_another_students_id(tmp_path):
    _notebook(tmp_path / "ada" / "cnn" / "1_lenet5_mnist.ipynb")
    _notebook(tmp_path / "ada." / "cnn" / "1_lenet5_mnist.ipynb")
    collected = collect(tmp_path, "cnn", CELLS, tmp_path)
    assert sorted(collected.students) == sorted(["ada", name_student_id("ada.")])
    assert collected.unmapped == []


def test_an_nbgrader_folder_name_is_kept_when_safe(tmp_path):
    for folder in ["s1234567", "jane.doe", "Ada_Lovelace"]:
        _notebook(tmp_path / folder / "cnn" / "1_lenet5_mnist.ipynb")
    _notebook(tmp_path / "ada" / "cnn" / "extra" / "2_fashion_cnn.ipynb", ["fashion_model"])
    collected = collect(tmp_path, "cnn", CELLS, tmp_path)
    assert sorted(collected.students) == ["Ada_Lovelace", "ada", "jane.doe", "s1234567"]
    assert collected.students["jane.doe"].identity == StudentIdentity(
        "jane.doe", Lms.NBGRADER, login="jane.doe"
    )


def test_two_people_with_one_id_are_never_merged(tmp_path):
    _notebook(tmp_path / "Ann Lee_1001_assignsubmission_file_" / "1_lenet5_mnist.ipynb")
    _notebook(tmp_path / "Bo Wu_1001_assignsubmission_file_" / "2_fashion_cnn.ipynb")
    collected = collect(tmp_path, "cnn", CELLS, tmp_path)
    assert _files(collected) == {"moodle-1001": (["1_lenet5_mnist"], False)}
    assert _reasons(collected) == {
        "Bo Wu_1001_assignsubmission_file_/2_fashion_cnn.ipynb": (
            "cannot tell whose file this is: Bo Wu (moodle-1001) has the student id of "
            "Ann Lee (moodle-1001), a different student"
        )
    }


def test_student_files_without_an_identity_are_an_nbgrader_folder():
    files = StudentFiles("ada")
    assert files.identity == StudentIdentity.from_nbgrader("ada")
    with pytest.raises(ValueError, match="not the id of"):
        StudentFiles("ada", identity=StudentIdentity.from_moodle("7", "Ada"))
