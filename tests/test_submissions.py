"""Mapping downloaded files to students: nbgrader trees, LMS folders, flat names and zips."""

from __future__ import annotations

import json
import re
import zipfile

import pytest

from autograder.submissions import SubmissionsError, collect, student_id

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
        "smithj": (["1_lenet5_mnist", "2_fashion_cnn"], False),
        "lee": (["1_lenet5_mnist"], True),
    }


def test_a_zip_with_one_folder_per_student_moodle_style(tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr(
            "Ada Lovelace_4711_assignsubmission_file_/1_lenet5_mnist.ipynb",
            json.dumps({"cells": [], "nbformat": 4}),
        )
        bundle.writestr("__MACOSX/._junk", "x")
    collected = collect(archive, "cnn", CELLS, tmp_path)
    assert _files(collected) == {"Ada_Lovelace": (["1_lenet5_mnist"], False)}


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
    reasons = sorted(collected.unmapped)
    assert reasons[0].startswith("orphan.ipynb: cannot tell whose file this is")
    assert "uma/cnn/1_lenet5_mnist.ipynb: a second 1_lenet5_mnist.ipynb for uma" in reasons
    assert any(r.startswith("uma/cnn/notes.txt: not a notebook") for r in reasons)
    assert any(r.startswith("uma/cnn/predictions.csv: not submission.csv") for r in reasons)
    assert any(
        r.startswith("uma/cnn/scratch.ipynb: cannot tell which notebook this is") for r in reasons
    )


def test_an_unsafe_zip_is_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("../../etc/escape.ipynb", "{}")
    with pytest.raises(SubmissionsError, match=re.escape("unsafe path '../../etc/escape.ipynb'")):
        collect(archive, "cnn", CELLS, tmp_path)
    assert not (tmp_path.parent.parent / "etc" / "escape.ipynb").exists()


def test_a_missing_path_or_a_file_that_is_not_a_zip_is_a_clear_error(tmp_path):
    with pytest.raises(SubmissionsError, match="no such file or folder"):
        collect(tmp_path / "nope", "cnn", CELLS, tmp_path)
    (tmp_path / "grades.txt").write_text("x")
    with pytest.raises(SubmissionsError, match=r"expected a folder or a \.zip"):
        collect(tmp_path / "grades.txt", "cnn", CELLS, tmp_path)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("ada", "ada"), ("Ada Lovelace", "Ada_Lovelace"), ("../../root", "root"), ("", "unknown")],
)
def test_student_ids_are_safe_for_nbgrader_and_the_file_system(raw, clean):
    assert student_id(raw) == clean
