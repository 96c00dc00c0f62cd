"""Fuzzing ingest: no file, name, link or byte can stop a grading run.

Mutated release notebooks, random bytes and hostile names go through
``collect`` and ``preflight``. The promises checked on every example:

- neither raises;
- every file, link and pipe below the submissions folder (or in the zip) is
  either mapped to a student or listed in ``unmapped`` with a reason, and
  no mapped path is a link;
- every message is printable (no escape, bidi or control character);
- ``preflight`` returns either ``usable=False`` with one problem ending in
  "this notebook scores 0", or a notebook that nbformat validates and that
  nbgrader 0.9.6's own autograde preprocessors (everything but running the
  kernel) process against a real gradebook.
"""

from __future__ import annotations

import copy
import json
import os
import re
import stat
import tempfile
import zipfile
from pathlib import Path

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder.grading.pipeline.ingest import collect, student_id
from autograder.grading.pipeline.preflight import SCORES_ZERO, preflight

SOURCE = Path(__file__).resolve().parents[1] / "assignments" / "source" / "cnn"
ASSIGNMENT = "cnn"
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
HUGE_INT = "HUGE-INT-MARKER"
DEEP = "DEEP-MARKER-"  # replaced by nested lists in the JSON text, json.dumps cannot nest so deep


# ---- an nbgrader course, built by nbgrader's own preprocessors ----------------------


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """Release notebooks and a gradebook, as ``nbgrader generate_assignment`` makes them."""
    import nbgrader.api
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearHiddenTests,
        ClearOutput,
        ClearSolutions,
        ComputeChecksums,
        LockCells,
        SaveCells,
    )

    folder = tmp_path_factory.mktemp("course")
    db_url = f"sqlite:///{folder / 'gradebook.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nbgrader.api, "get_alembic_version", lambda: "fuzz")  # no subprocess
        with nbgrader.api.Gradebook(db_url) as gradebook:
            gradebook.update_or_create_assignment(ASSIGNMENT)
    releases = {}
    for path in sorted(SOURCE.glob("*.ipynb")):
        notebook = nbformat.read(path, 4)
        resources = _resources(path.stem, db_url)
        for step in (LockCells, ClearSolutions, ClearOutput, CheckCellMetadata, ComputeChecksums):
            notebook, resources = step().preprocess(notebook, resources)
        for step in (SaveCells, ClearHiddenTests, ComputeChecksums, CheckCellMetadata):
            notebook, resources = step().preprocess(notebook, resources)
        releases[path.stem] = notebook
    return {"releases": releases, "db_url": db_url}


def _resources(name: str, db_url: str) -> dict:
    return {"nbgrader": {"notebook": name, "assignment": ASSIGNMENT, "db_url": db_url}}


def _autograde_without_the_kernel(path: Path, name: str, db_url: str) -> None:
    """nbgrader 0.9.6's autograde steps on a preflighted file, all but Execute and the grades."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.nbgraderformat import MetadataValidator
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearOutput,
        DeduplicateIds,
        IgnorePattern,
        LimitOutput,
        OverwriteCells,
        OverwriteKernelspec,
    )

    notebook = nbformat.read(path, 4)
    resources = _resources(name, db_url)
    steps = [
        ClearOutput(),
        DeduplicateIds(),
        OverwriteKernelspec(),
        OverwriteCells(add_missing_cells=True),
        CheckCellMetadata(),
        IgnorePattern(),
        ClearMetadataPreprocessor(),
        LimitOutput(),
        CheckCellMetadata(),
    ]
    for step in steps:
        notebook, resources = step.preprocess(notebook, resources)
    MetadataValidator().validate_nb(notebook)
    nbformat.validate(notebook)


def _check_preflight(path: Path, name: str, course, root: Path | None = None) -> None:
    release = course["releases"][name]
    result = preflight(path, release, f"{name}.ipynb", root=root)
    assert all(line.isprintable() for line in result.problems + result.review)
    if not result.usable:
        (problem,) = result.problems
        assert problem.startswith(f"{name}.ipynb: ") and problem.endswith(SCORES_ZERO)
        return
    nbformat.validate(result.notebook)
    with tempfile.TemporaryDirectory() as scratch:
        written = Path(scratch) / f"{name}.ipynb"
        nbformat.write(result.notebook, written)  # as the worker does
        _autograde_without_the_kernel(written, name, course["db_url"])


# ---- mutations ---------------------------------------------------------------------------

# Structural changes are drawn more often than the ones that only ever score 0.
MUTATIONS = ["cell", "cell", "nbgrader", "nbgrader", "grade_id", "duplicate", "drop", "delete"]
MUTATIONS += ["top", "deep", "huge"]
CELL_KEYS = ["cell_type", "source", "metadata", "outputs", "execution_count", "id", "attachments"]
NBGRADER_KEYS = ["grade_id", "points", "grade", "solution", "locked", "task", "schema_version"]
TOP_KEYS = ["cells", "metadata", "nbformat", "nbformat_minor"]
odd_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["\x00", "\ud800", "\x1b[2J", "\u202e", "\r", "", "code", "markdown", "raw"]),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | odd_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(odd_text, inner, max_size=3),
    max_leaves=6,
)


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


@st.composite
def mutation(draw, data: dict) -> None:
    """Apply one random change to the notebook dict ``data``, in place."""
    kind = draw(st.sampled_from(MUTATIONS))
    cells = data.get("cells")
    cell = draw(st.sampled_from(cells)) if isinstance(cells, list) and cells else None
    cell = cell if isinstance(cell, dict) else None
    metadata = cell.get("metadata") if cell else None
    nbgrader = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    nbgrader = nbgrader if isinstance(nbgrader, dict) else None
    if kind == "cell" and cell is not None:
        cell[draw(st.sampled_from(CELL_KEYS))] = draw(json_values)
    elif kind == "nbgrader" and nbgrader is not None:
        nbgrader[draw(st.sampled_from(NBGRADER_KEYS))] = draw(json_values)
    elif kind == "top":
        data[draw(st.sampled_from(TOP_KEYS))] = draw(json_values)
    elif kind == "delete" and cell is not None:
        target = draw(st.sampled_from([data, cell, nbgrader or cell]))
        if target:
            target.pop(draw(st.sampled_from(sorted(target))), None)
    elif kind == "deep":
        depth = draw(st.sampled_from([5, 60, 150, 3000, 100_000]))
        (cell if cell is not None else data)["metadata"] = {"deep": f"{DEEP}{depth}"}
    elif kind == "huge":
        (cell if cell is not None else data)["execution_count"] = HUGE_INT
    elif kind == "grade_id" and nbgrader is not None:
        grade_id = nbgrader.get("grade_id")
        nbgrader["grade_id"] = draw(
            st.sampled_from([[grade_id], {"id": grade_id}, 7, None, "", f"{grade_id}\x1b"])
        )
    elif kind == "duplicate" and cell is not None:
        cells.insert(draw(st.integers(0, len(cells))), copy.deepcopy(cell))
    elif kind == "drop" and cell is not None:
        cells.remove(cell)


@st.composite
def notebook_bytes(draw, release: nbformat.NotebookNode) -> bytes:
    """The release as JSON, changed a few times, then perhaps damaged as bytes."""
    data = json.loads(nbformat.writes(release))
    for _ in range(draw(st.integers(0, 4))):
        draw(mutation(data))
    text = json.dumps(data, ensure_ascii=draw(st.booleans()))
    text = text.replace(json.dumps(HUGE_INT), "9" * 5000)
    text = re.sub(rf'"{DEEP}(\d+)"', lambda match: _deep(int(match[1])), text)
    raw = text.encode("utf-8", errors="surrogatepass")
    damage = draw(st.sampled_from(["none"] * 8 + ["bom", "truncate", "flip", "nul"]))
    if damage == "bom":
        raw = b"\xef\xbb\xbf" + raw
    elif damage == "truncate":
        raw = raw[: draw(st.integers(0, len(raw)))]
    elif damage == "flip":
        at = draw(st.integers(0, len(raw) - 1))
        raw = raw[:at] + bytes([draw(st.integers(0, 255))]) + raw[at + 1 :]
    elif damage == "nul":
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + b"\x00" + raw[at:]
    return raw


# ---- preflight ---------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_preflight_passes_on_only_what_nbgrader_can_process(course, data):
    name = data.draw(st.sampled_from(sorted(course["releases"])))
    content = data.draw(notebook_bytes(course["releases"][name]))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "submitted.ipynb"
        path.write_bytes(content)
        _check_preflight(path, name, course, root=Path(folder))


@settings(FUZZ, max_examples=60)
@given(content=st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_preflight_never_raises_on_random_bytes(course, content):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "submitted.ipynb"
        path.write_bytes(content)
        _check_preflight(path, "1_lenet5_mnist", course)


# ---- collect -----------------------------------------------------------------------------

names = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"),
    min_size=1,
    max_size=12,
).filter(lambda name: name not in (".", ".."))
file_names = st.one_of(
    st.sampled_from(["1_lenet5_mnist.ipynb", "2_fashion_cnn.ipynb", "submission.csv"]),
    st.sampled_from(["renamed.ipynb", "lenet (2).ipynb", "x.txt", "1_lenet5_mnist-1.ipynb"]),
    names.map(lambda name: name + ".ipynb"),
    names,
)
KINDS = ["file", "file", "file", "link to a submission", "link outside", "link to a folder"]


@st.composite
def submissions_tree(draw, releases) -> list[tuple[str, str, bytes]]:
    """(relative path, kind, content) for each entry of a submissions folder."""
    entries = []
    for _ in range(draw(st.integers(1, 6))):
        layout = draw(st.sampled_from(["nbgrader", "folder", "flat"]))
        student, filename = draw(names), draw(file_names)
        relative = {
            "nbgrader": f"{student}/{ASSIGNMENT}/{filename}",
            "folder": f"{student}/{filename}",
            "flat": f"{student}_{filename}",
        }[layout]
        release = releases[draw(st.sampled_from(sorted(releases)))]
        content = draw(notebook_bytes(release) | st.binary(max_size=64))
        entries.append((relative, draw(st.sampled_from(KINDS)), content))
    return entries


def _visible(relative: str) -> bool:
    return not any(part.startswith(".") or part == "__MACOSX" for part in relative.split("/"))


def _build(root: Path, outside: Path, entries) -> set[str]:
    """Write ``entries`` below ``root``; the relative paths collect must account for."""
    expected, written = set(), [outside / "1_lenet5_mnist.ipynb"]
    for relative, kind, content in entries:
        path, parts = root / relative, relative.split("/")
        folders = [root.joinpath(*parts[:depth]) for depth in range(1, len(parts))]
        if not _visible(relative) or path.exists() or path.is_symlink():
            continue
        if any(f.is_symlink() or (f.exists() and not f.is_dir()) for f in folders):
            continue  # below a link, or a file has the name of this folder
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "file":
            path.write_bytes(content)
            written.append(path)
        elif kind == "link to a submission":
            path.symlink_to(written[-1])
        elif kind == "link outside":
            path.symlink_to(outside / "1_lenet5_mnist.ipynb")
        else:
            path.symlink_to(outside, target_is_directory=True)
        expected.add(relative)
    return expected


def _accounted(collected) -> tuple[set[str], set[str]]:
    mapped = set()
    for files in collected.students.values():
        paths = [*files.notebooks.values(), *([files.csv] if files.csv else [])]
        for path in paths:
            assert not path.is_symlink()
            assert path.resolve().is_relative_to(collected.root)
            mapped.add(str(path.relative_to(collected.root)))
    return mapped, {item.path for item in collected.unmapped}


def _check_collected(collected, course) -> None:
    messages = [str(item) for item in collected.unmapped]
    messages += [note for files in collected.students.values() for note in files.notes]
    assert all(message.isprintable() for message in messages)
    assert all(item.reason for item in collected.unmapped)
    for student, files in collected.students.items():
        assert student == student_id(student) and student not in (".", "..")
        files.fingerprint()
        for name, path in files.notebooks.items():
            result = preflight(path, course["releases"][name], f"{name}.ipynb", root=files.root)
            assert result.usable or result.problems[-1].endswith(SCORES_ZERO)


@FUZZ
@given(data=st.data())
def test_every_file_in_a_folder_is_mapped_or_listed_with_a_reason(course, data):
    entries = data.draw(submissions_tree(course["releases"]))
    with tempfile.TemporaryDirectory() as folder:
        root, outside = Path(folder) / "submitted", Path(folder) / "course"
        outside.mkdir()
        nbformat.write(course["releases"]["1_lenet5_mnist"], outside / "1_lenet5_mnist.ipynb")
        root.mkdir()
        expected = _build(root, outside, entries)
        collected = collect(root, ASSIGNMENT, _cells(course), Path(folder))
        mapped, unmapped = _accounted(collected)
        assert mapped | unmapped == expected
        assert not mapped & unmapped
        _check_collected(collected, course)


@FUZZ
@given(data=st.data())
def test_every_entry_of_a_zip_is_extracted_and_mapped_or_listed(course, data):
    entries = data.draw(submissions_tree(course["releases"]))
    unsafe = data.draw(
        st.lists(st.sampled_from(["../up.ipynb", "/abs.ipynb", "a/../../b"]), unique=True)
    )
    with tempfile.TemporaryDirectory() as folder:
        archive = Path(folder) / "handin.zip"
        expected = set()
        with zipfile.ZipFile(archive, "w") as bundle:
            for relative, kind, content in entries:
                if relative in expected or not _visible(relative):
                    continue
                info = zipfile.ZipInfo(relative)
                info.create_system = 3
                mode = stat.S_IFREG if kind == "file" else stat.S_IFLNK
                info.external_attr = (mode | 0o644) << 16
                bundle.writestr(info, content)
                expected.add(relative)
            for relative in unsafe:
                bundle.writestr(relative, b"{}")
                expected.add(relative)
        collected = collect(archive, ASSIGNMENT, _cells(course), Path(folder))
        mapped, unmapped = _accounted(collected)
        assert not any(path.is_symlink() for path in collected.root.rglob("*"))
        assert expected <= mapped | unmapped
        _check_collected(collected, course)


def _cells(course) -> dict[str, set[str]]:
    return {
        name: {cell.metadata["nbgrader"]["grade_id"] for cell in notebook.cells if _graded(cell)}
        for name, notebook in course["releases"].items()
    }


def _graded(cell) -> bool:
    return bool(cell.metadata.get("nbgrader", {}).get("grade_id"))


def test_the_release_itself_passes_preflight_without_findings(course):
    for name, release in course["releases"].items():
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{name}.ipynb"
            nbformat.write(release, path)
            result = preflight(path, release, f"{name}.ipynb")
            assert result.usable and result.problems == [] and result.review == []
            _check_preflight(path, name, course)


def test_nbgrader_itself_fails_where_preflight_repairs(course):
    """The crashes preflight exists to prevent are real: nbgrader 0.9.6 raises on each."""
    release = course["releases"]["1_lenet5_mnist"]
    deleted = copy.deepcopy(release)
    deleted.cells = [
        c for c in deleted.cells if _graded_id(c) not in ("preprocess", "test_preprocessing")
    ]
    flagged = copy.deepcopy(release)
    for cell in flagged.cells:
        if _graded_id(cell) == "test_lenet5_layers":
            cell.metadata.nbgrader["solution"] = True
    listed = copy.deepcopy(release)
    for cell in listed.cells:
        if _graded_id(cell) == "test_preprocessing":
            cell.metadata.nbgrader["grade_id"] = ["test_preprocessing"]
    for broken in (deleted, flagged, listed):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "1_lenet5_mnist.ipynb"
            path.write_text(json.dumps(broken))
            with pytest.raises(Exception):  # noqa: B017 (KeyError, RuntimeError, TypeError)
                _autograde_without_the_kernel(path, "1_lenet5_mnist", course["db_url"])
            _check_preflight(path, "1_lenet5_mnist", course)


def _graded_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


@pytest.mark.parametrize("depth", [2, 40])
def test_a_folder_nested_deep_is_walked_without_recursion(tmp_path, depth):
    folder = tmp_path.joinpath(*["d"] * depth)
    folder.mkdir(parents=True)
    (folder / "x.ipynb").write_bytes(b"{}")
    collected = collect(tmp_path, ASSIGNMENT, {"1_lenet5_mnist": set()}, tmp_path)
    assert len(collected.unmapped) == 1 and os.sep.join(["d"] * depth) in collected.unmapped[0].path
