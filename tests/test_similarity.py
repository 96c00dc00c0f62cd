"""``coursekit similarity``: a copy is found through its disguises; independent work is not.

The class is made from copies of the demo class (``coursekit demo-class``), whose correct
students all hand in the source's solutions. Five students wrote theirs independently: one
is the demo's correct student, and four are copies of her notebooks with every solution
cell in a style of the student zoo (``autograder/demo/zoo``). A sixth copied one of the
four and disguised the copy: every name the code binds renamed, the functions of each cell
in another order, and every comment rewritten. A seventh handed in the release untouched.
Nothing is graded.
"""

from __future__ import annotations

import ast
import io
import itertools
import json
import os
import re
import shutil
import tokenize
from pathlib import Path

import pytest

from autograder.cli.main import main
from autograder.demo.democlass import make_demo_class
from autograder.demo.zoo.fashion_code import (
    ENSEMBLE_SUBMISSION,
    NESTED_CNN,
    OPS_SPLIT,
    PERMUTATION_SPLIT,
    SEPARABLE_NO_INPUT,
    SHUFFLED_SUBMISSION,
    SUBCLASSED_CNN,
    TTA_INSIDE,
    TTA_OUTSIDE,
    VALIDATION_SUBMISSION,
    split_source,
)
from autograder.demo.zoo.lenet_code import (
    BINCOUNT_F1,
    CONFUSION_MATRIX_F1,
    EPSILON_F1,
    EYE_PREPROCESSING,
    FUNCTIONAL_LENET5,
    KEYWORD_FIT,
    LOOP_PREPROCESSING,
    NESTED_LENET5,
    NO_VALIDATION_FIT,
    NUMPY_F1,
    OPS_PREPROCESSING,
    SEPARATE_ACTIVATIONS,
    SEQUENTIAL_ADD_LENET5,
    TENSOR_PREPROCESSING,
    TRAINING_PREAMBLE,
    VALIDATION_SPLIT_FIT,
    compile_call,
)
from autograder.report import THRESHOLD
from autograder.report.similarity import find_similar
from autograder.report.sources import CourseFiles, solution_cells
from conftest import REPO, released_course

# A released course and a demo class, made with nbgrader.
pytestmark = pytest.mark.integration

ARTIFACTS = Path(os.environ.get("COURSEKIT_TEST_ARTIFACTS", REPO / "test-artifacts"))
NOTEBOOKS = ("1_lenet5_mnist", "2_fashion_cnn")

# Written independently: each student solves every task in a style of their own.
INDEPENDENT = {
    "ana": {
        "preprocess": OPS_PREPROCESSING,
        "lenet5": FUNCTIONAL_LENET5,
        "macro_f1": CONFUSION_MATRIX_F1,
        "compile": compile_call('"categorical_crossentropy"', '"adam"'),
        "training": KEYWORD_FIT,
        "fashion_data": PERMUTATION_SPLIT,
        "fashion_model": SUBCLASSED_CNN,
        "submission": TTA_OUTSIDE,
    },
    "bea": {
        "preprocess": EYE_PREPROCESSING,
        "lenet5": SEQUENTIAL_ADD_LENET5,
        "macro_f1": BINCOUNT_F1,
        "compile": compile_call(
            "keras.losses.categorical_crossentropy",
            "keras.optimizers.Adam(learning_rate=1e-3)",
            "[keras.metrics.CategoricalAccuracy(), macro_f1]",
        ),
        "training": VALIDATION_SPLIT_FIT,
        "fashion_data": OPS_SPLIT,
        "fashion_model": NESTED_CNN,
        "submission": ENSEMBLE_SUBMISSION,
    },
    "cai": {
        "preprocess": LOOP_PREPROCESSING,
        "lenet5": SEPARATE_ACTIVATIONS,
        "macro_f1": EPSILON_F1,
        "compile": compile_call(),
        "training": NO_VALIDATION_FIT,
        "fashion_data": split_source(),
        "fashion_model": SEPARABLE_NO_INPUT,
        "submission": SHUFFLED_SUBMISSION,
    },
    "dan": {
        "preprocess": TENSOR_PREPROCESSING,
        "lenet5": NESTED_LENET5,
        "macro_f1": NUMPY_F1,
        "compile": compile_call('"CategoricalCrossentropy"'),
        "training": TRAINING_PREAMBLE + "history = lenet5.fit(x_fit, y_fit, 64, EPOCHS, "
        "validation_data=(x_check, y_check))\n",
        "fashion_data": split_source(test_size="0.2"),
        "fashion_model": TTA_INSIDE,
        "submission": VALIDATION_SUBMISSION,
    },
    # "eli" hands in the source notebooks' own solutions (below).
}
COPIED, COPIER = "bea", "zed"
TESTED_NAMES = {  # names the notebooks and their tests use: a student cannot rename these
    "preprocess_images",
    "encode_labels",
    "build_lenet5",
    "macro_f1",
    "lenet5",
    "history",
    "build_fashion_cnn",
    "compile_fashion_cnn",
    "FASHION_TRAINING",
    "EPOCHS",
    "x_fit",
    "y_fit",
    "x_check",
    "y_check",
    "fashion_model",
    "x_fashion_train",
    "x_fashion_val",
    "y_fashion_train",
    "y_fashion_val",
    "x_fashion_test",
}


# ---- three disguises ---------------------------------------------------------------------------


def renamed(source: str) -> str:
    """Every name the code binds (variables, arguments, helpers) renamed; keywords stay."""
    tree = ast.parse(source)
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            bound.add(node.name)
    new = {name: f"thing_{index}" for index, name in enumerate(sorted(bound - TESTED_NAMES))}
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    edits, depth = [], 0
    for index, token in enumerate(tokens):
        depth += token.string in "([{" if token.type == tokenize.OP else 0
        depth -= token.string in ")]}" if token.type == tokenize.OP else 0
        after = next((t for t in tokens[index + 1 :] if t.type != tokenize.NL), token)
        keyword = depth > 0 and after.type == tokenize.OP and after.string == "="
        attribute = index > 0 and tokens[index - 1].string == "."
        if token.type == tokenize.NAME and token.string in new and not keyword and not attribute:
            edits.append((token.start, token.end[1], new[token.string]))
    lines = source.splitlines(keepends=True)
    for (row, start), end, name in sorted(edits, reverse=True):  # right to left on each line
        lines[row - 1] = lines[row - 1][:start] + name + lines[row - 1][end:]
    return "".join(lines)


def reordered(source: str) -> str:
    """The cell's top-level functions and classes in reverse order, the rest where it was."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    starts = [node.lineno - 1 for node in tree.body] + [len(lines)]
    chunks = ["".join(lines[a:b]).rstrip("\n") + "\n\n\n" for a, b in itertools.pairwise(starts)]
    defs = [
        i for i, node in enumerate(tree.body) if isinstance(node, ast.FunctionDef | ast.ClassDef)
    ]
    moved = list(chunks)
    for slot, i in zip(defs, reversed(defs), strict=True):
        moved[slot] = chunks[i]
    return "".join(lines[: starts[0]]) + "".join(moved).rstrip("\n") + "\n"


def recommented(source: str) -> str:
    """Every comment removed, and new ones written before each function and return."""
    comments = {
        (t.start[0], t.start[1])
        for t in tokenize.generate_tokens(io.StringIO(source).readline)
        if t.type == tokenize.COMMENT
    }
    out = []
    for number, line in enumerate(source.splitlines(), start=1):
        cut = min((col for row, col in comments if row == number), default=None)
        code = line if cut is None else line[:cut].rstrip()
        if cut is not None and not code.strip():
            continue
        indent = code[: len(code) - len(code.lstrip())]
        if code.lstrip().startswith("def "):
            out.append(f"{indent}# my own helper, written for this task")
        if code.lstrip().startswith("return "):
            out.append(f"{indent}# hand the answer back")
        out.append(code)
    return "\n".join(out) + "\n"


DISGUISES = {"renamed": renamed, "reordered": reordered, "recommented": recommented}


def disguised(cells: dict[str, str], *how) -> dict[str, str]:
    for disguise in how:
        cells = {cell: disguise(source) for cell, source in cells.items()}
    return cells


def test_the_disguises_change_the_code_but_not_what_it_does():
    source = INDEPENDENT["bea"]["fashion_model"]
    for name, disguise in DISGUISES.items():
        changed = disguise(source)
        assert changed != source, name
        ast.parse(changed)  # still Python
    assert "thing_" in renamed(source) and "def block(" not in renamed(source)
    assert "padding=" in renamed(source)  # keyword arguments keep their names
    assert reordered(source).index("def compile_fashion_cnn") < reordered(source).index("def block")
    assert "# my own helper" in recommented(source)


# ---- the class ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return released_course(tmp_path_factory.mktemp("similarity-course"))


@pytest.fixture(scope="module")
def demo(course, tmp_path_factory) -> Path:
    """The demo class's submissions (its leaderboard uploads made for a 100-image key)."""
    folder = tmp_path_factory.mktemp("demo")
    key = folder / "answer_key.csv"
    key.write_text(
        "ID,Label,Usage,SourceIndex\n"
        + "".join(f"{i},{i % 10},{'Public' if i < 30 else 'Private'},{i}\n" for i in range(100))
    )
    make_demo_class(course, key, folder / "class")
    return folder / "class" / "submitted"


def write_student(template: Path, folder: Path, student: str, cells: dict[str, str]) -> None:
    """``student``'s notebooks: copies of ``template``'s with ``cells`` (grade id -> source)."""
    for notebook in NOTEBOOKS:
        data = json.loads((template / "cnn" / f"{notebook}.ipynb").read_text())
        for cell in data["cells"]:
            grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
            if grade_id in cells:
                cell["source"] = cells[grade_id]
        path = folder / student / "cnn" / f"{notebook}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data))


def make_class(course: Path, demo: Path, folder: Path, copier: dict[str, str] | None) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    for student, cells in INDEPENDENT.items():
        write_student(demo / "dara", folder, student, cells)
    shutil.copytree(demo / "dara", folder / "eli")  # the source's solutions, as the demo has them
    stubs = {
        cell: source
        for notebook in NOTEBOOKS
        for cell, source in solution_cells(
            json.loads((course / "release" / "cnn" / f"{notebook}.ipynb").read_text())["cells"]
        ).items()
    }
    write_student(demo / "dara", folder, "kim", stubs)  # handed in the release as it was
    if copier is not None:
        write_student(demo / "dara", folder, COPIER, copier)
    return folder


def test_independent_solutions_are_not_flagged(course, demo, tmp_path):
    result = find_similar(CourseFiles(course, "cnn"), make_class(course, demo, tmp_path, None))
    assert sorted(result.solutions) == ["ana", "bea", "cai", "dan", "eli"]
    assert result.flagged == []
    assert max(pair.score for pair in result.pairs) < THRESHOLD - 0.15  # a clear margin
    assert result.skipped == ["kim: no code of their own beyond the release"]


@pytest.mark.parametrize("disguise", [*DISGUISES, "all three"])
def test_a_disguised_copy_is_flagged_and_ranked_first(course, demo, tmp_path, disguise):
    how = DISGUISES.values() if disguise == "all three" else [DISGUISES[disguise]]
    copy = disguised(INDEPENDENT[COPIED], *how)
    result = find_similar(CourseFiles(course, "cnn"), make_class(course, demo, tmp_path, copy))
    first = result.pairs[0]
    assert {first.a, first.b} == {COPIED, COPIER}
    assert first.score >= 0.8, first
    assert result.flagged == [first]
    assert result.groups() == [[COPIED, COPIER]]


@pytest.mark.integration
def test_the_command_writes_the_ranked_pairs_and_the_page_side_by_side(
    course, demo, tmp_path, capsys
):
    copy = disguised(INDEPENDENT[COPIED], *DISGUISES.values())
    submitted = make_class(course, demo, tmp_path / "submitted", copy)
    out = tmp_path / "out"
    code = main(
        ["similarity", "cnn", "--course-root", str(course), "--submissions", str(submitted),
         "--out", str(out)]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    assert "6 students compared, 1 of 15 pairs flagged" in printed
    assert "not compared: kim: no code of their own beyond the release" in printed
    rows = (out / "similarity.csv").read_text().splitlines()
    assert rows[0] == "rank,student_a,student_b,score,share_a,share_b,shared,flagged"
    assert rows[1].startswith(f"1,{COPIED},{COPIER},") and rows[1].endswith(",yes")
    assert all(row.endswith(",no") for row in rows[2:])
    page = (out / "similarity.html").read_text()
    assert not re.search(r"(src|href)=\"(?!data:|#)", page)  # nothing outside the page
    assert "default-src 'none'" in page
    assert page.count('<section class="pair"') == 1 and "<mark>" in page
    assert "thing_" in page and "# my own helper" in page  # the copy, shown as handed in
    _screenshot(out / "similarity.html", "similarity-pair.png", "#pair-1")


def test_without_submissions_the_autograded_notebooks_are_read(course, demo, tmp_path):
    copy = disguised(INDEPENDENT[COPIED], renamed)
    make_class(course, demo, course / "autograded", copy)
    try:
        result = find_similar(CourseFiles(course, "cnn"))
    finally:
        shutil.rmtree(course / "autograded")
    assert [(pair.a, pair.b) for pair in result.flagged] == [(COPIED, COPIER)]


def test_the_demo_classs_shared_solutions_and_copy_are_found_and_broken_files_listed(course, demo):
    result = find_similar(CourseFiles(course, "cnn"), demo)
    groups = [set(group) for group in result.groups()]
    # dara, quinn (nbformat 3) and tess (renamed files) hand in the source's solutions
    assert any({"dara", "quinn", "tess"} <= group for group in groups)
    assert any({"cleo", "vic"} <= group for group in groups)  # vic's disguised copy
    assert not any("ada" in group or "ben" in group for group in groups)  # their own styles
    assert any(
        line.startswith("pat: 1_lenet5_mnist.ipynb: the file is empty") for line in result.unread
    )
    assert any(
        line.startswith("olga: 1_lenet5_mnist.ipynb: not valid JSON") for line in result.unread
    )


def test_the_command_says_in_one_line_what_is_missing(tmp_path, capsys):
    assert main(["similarity", "cnn", "--course-root", str(tmp_path)]) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "coursekit release cnn" in error
    with pytest.raises(SystemExit) as exit_:
        main(["similarity", "cnn", "--threshold", "2"])
    assert exit_.value.code == 2


def _screenshot(page: Path, name: str, selector: str) -> None:
    """Open ``page`` in headless Chromium, note each request, keep a picture of ``selector``."""
    from playwright.sync_api import sync_playwright

    from utilities.handin import find_chromium

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    requests = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.route("**/*", lambda route: (requests.append(route.request.url), route.continue_()))
        view = context.new_page()
        view.goto(page.as_uri())
        view.locator(selector).first.screenshot(path=ARTIFACTS / name)
        browser.close()
    assert requests == [page.as_uri()]
