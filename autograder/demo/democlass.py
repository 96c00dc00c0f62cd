"""A demo class: about 35 realistic submissions made from the release.

``coursekit demo-class`` writes, under OUT:

- ``submitted/STUDENT/cnn/``: each student's notebooks (and usually a
  ``submission.csv``), an nbgrader ``submitted/`` tree;
- ``leaderboard/TIMESTAMP/TEAM.csv`` and ``teams.csv``: leaderboard uploads
  over three days and the registered teams (:mod:`autograder.demo.uploads`);
- ``expected.json``: for each student, what grading must find (the tests
  that fail with the words their messages contain, the status, whether a TA
  must review it, the late penalty), which the tests assert;
- ``extensions.csv``: one student's extension (``coursekit grades late
  --extensions``); each ``submitted/STUDENT/cnn/timestamp.txt`` says when they
  handed in (:mod:`autograder.demo.term`: some late, one without a time).

Every notebook starts as the released notebook with the source's solutions
filled in. Each student is then a list of :class:`~autograder.demo.variants.Variant`
names: zoo variants (:mod:`autograder.demo.zoo`, solutions in other styles,
right and wrong), attacks (:mod:`autograder.demo.attacks`) and the few
changes below (crashes, hangs, floods, broken files). A student's failing
tests are the union of its variants' ``fails`` and its :class:`Expect`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from autograder.demo.attacks import ASSIGNMENT, attack_variants, default_targets
from autograder.demo.copies import disguised_copy
from autograder.demo.term import expected_lateness, write_extensions, write_timestamps
from autograder.demo.uploads import write_uploads
from autograder.demo.variants import (
    PART1,
    PART2,
    RELEASED,
    AddToCell,
    CellToMarkdown,
    DeleteCell,
    DuplicateCell,
    InsertCell,
    Variant,
    apply_variant,
)
from autograder.demo.zoo import BY_NAME
from autograder.demo.zoo.lenet_code import VALID_PADDING

__all__ = ["PART1", "PART2", "STUDENTS", "Student", "default_targets", "make_demo_class"]

PART1_TESTS = (
    "test_preprocessing",
    "test_preprocessing_hidden",
    "test_lenet5_parameters",
    "test_lenet5_layers",
    "test_lenet5_hidden",
    "test_f1",
    "test_f1_hidden",
    "test_compile",
    "test_training_hidden",
)
PART2_TESTS = (
    "test_fashion_data",
    "test_fashion_model",
    "test_fashion_model_hidden",
    "test_submission",
    "test_submission_hidden",
)
TESTS = {PART1: PART1_TESTS, PART2: PART2_TESTS}
EXTENSIONS_FILE = "extensions.csv"
_SOLUTION_MARK = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", re.MULTILINE)

# The demo's own variants: what happens to a notebook rather than how a solution is written.
OWN = {
    variant.name: variant
    for variant in (
        Variant(
            "part2-not-started",
            PART2,
            "part 2 not started: its stubs are left as released",
            cells={"fashion_data": RELEASED, "fashion_model": RELEASED, "submission": RELEASED},
        ),
        Variant(
            "segfault",
            PART1,
            "the kernel crashes (segmentation fault) in part 1",
            changes=(AddToCell("preprocess", "import ctypes\n\nctypes.string_at(0)"),),
        ),
        Variant(
            "slow-cell",
            PART2,
            "slow: a cell no test depends on sleeps 20 s (grading does not re-run it)",
            changes=(InsertCell("import time\n\ntime.sleep(20)", after="fashion_data"),),
        ),
        Variant(
            "endless-compile",
            PART1,
            "an infinite loop in the compile cell",
            cells={"compile": "while True:\n    pass"},
        ),
        Variant(
            "output-flood",
            PART2,
            "prints 20 MB of output in part 2",
            changes=(
                AddToCell("fashion_data", "for _ in range(20_000):\n    print('x' * 1000)", False),
            ),
        ),
        Variant(
            "memory-hog",
            PART1,
            "asks for 64 GB of memory in part 1 (the memory limit stops it)",
            changes=(
                AddToCell("preprocess", "import numpy\n\nhuge = numpy.ones(8 * 1024**3)  # 64 GB"),
            ),
        ),
        Variant(
            "graded-cells-moved",
            PART1,
            "deleted a test cell, duplicated a graded cell, turned a test into markdown",
            changes=(
                DeleteCell("test_lenet5_layers"),
                DuplicateCell("preprocess"),
                CellToMarkdown("test_f1"),
            ),
        ),
        Variant(
            "edited-test",
            PART1,
            "wrong LeNet5, and the parameter test edited to `pass`",
            cells={"lenet5": VALID_PADDING, "test_lenet5_parameters": "pass"},
            fails=BY_NAME["valid-padding"].fails,
        ),
    )
}


@dataclass(frozen=True)
class Expect:
    """What grading must find beyond the variants' failing tests."""

    failed: tuple[str, ...] = ()  # more tests that earn 0 (a crash takes a notebook's tests)
    status: str = "graded"
    review: bool = False
    problems: tuple[str, ...] = ()  # words the record's problems contain


@dataclass(frozen=True)
class Student:
    """One demo student: the variants of their notebooks, and what grading must find."""

    id: str
    variants: tuple[str, ...] = ()  # zoo, attack or own variant names; none: the solutions
    expect: Expect = field(default_factory=Expect)
    story: str = ""  # default: the variants' stories
    files: Mapping[str, str] = field(default_factory=dict)  # notebook -> file name; "" omits it
    raw: Mapping[str, bytes] = field(default_factory=dict)  # notebook -> bytes written as is
    nbformat3: bool = False
    accuracy: float | None = 0.9  # of submission.csv; None: no file
    bad_csv: str = ""  # "header" or "rows"
    team: str = ""  # the registered team (default: the id); "-": registered in none
    model: bool = False  # hands in the demo's trained model (the leaderboard bonus's check)


ALL_PART1, ALL_PART2 = PART1_TESTS, PART2_TESTS
COPIED = ("separate-activation-layers", "nested-blocks-cnn")  # cleo's, which vic copies
PROBLEMS = "graded with problems"
# Attackers whose attack is in Part 1 hand in only Part 1: the attack is what they show,
# and grading a second, ordinary notebook for each of them would only make the demo slower.
PART1_ONLY = {PART2: ""}
NOT_HANDED_IN = "not handed in"
OUTPUT_CUT = ("bytes of output",)

STUDENTS: tuple[Student, ...] = (
    Student("ada", ("keras-ops-student", "subclassed-cnn-with-dropout"), team="Quota", model=True),
    Student("ben", ("numpy-student", "permutation-split-student"), accuracy=0.915),
    Student("cleo", ("separate-activation-layers", "nested-blocks-cnn"), team="Quota"),
    Student("dara", story="complete and correct; no submission.csv handed in", accuracy=None),
    Student("dev", ("part2-not-started",), Expect(failed=ALL_PART2), accuracy=None),
    Student(
        "eve",
        ("f1-left-undone",),
        Expect(status=PROBLEMS, problems=("solution cell macro_f1 is still the released stub",)),
        accuracy=0.88,
    ),
    # finn's SGD at 0.01 teaches nothing visible in grading's one short epoch (16 steps): the
    # model still guesses, but its weights have moved, which is what shows the training.
    Student("finn", ("valid-padding", "separable-cnn-without-input")),
    Student("gus", ("rounded-batch-f1", "test-time-augmentation-inside"), accuracy=0.905),
    Student("hana", ("unscaled-pixels",), bad_csv="header"),
    Student("ivy", ("conv-pool-relu", "over-budget"), accuracy=0.89),
    Student(
        "jack",
        ("segfault",),
        Expect(failed=ALL_PART1, status=PROBLEMS, review=True, problems=("the kernel stopped",)),
        accuracy=0.87,
    ),
    Student(
        "kim",
        ("slow-cell",),
        story="slow: a cell sleeps 20 s; the team uploads labels looked up in the public "
        "Fashion-MNIST files, which no member's model reproduces (no bonus; a TA reviews it)",
        team="Kim's Team",
        accuracy=0.925,
    ),
    Student(
        "leo",
        ("endless-compile",),
        Expect(("test_compile", "test_training_hidden"), PROBLEMS, problems=("interrupted",)),
        accuracy=0.8,
    ),
    Student("mia", ("output-flood",), Expect(status=PROBLEMS, problems=OUTPUT_CUT)),
    Student(
        "ned",
        ("memory-hog",),
        # the cell that asks for 64 GB is the preprocessing solution: the tests that need it
        # score 0 (a solution cell that raised), the rest of Part 1 and Part 2 earn theirs
        Expect(
            failed=(
                "test_preprocessing",
                "test_preprocessing_hidden",
                "test_f1",
                "test_f1_hidden",
                "test_compile",
                "test_training_hidden",
            ),
            status=PROBLEMS,
            problems=("ran out of memory",),
        ),
    ),
    Student(
        "olga",
        story="part 1 is truncated, not valid JSON; the CSV is missing rows",
        expect=Expect(ALL_PART1, PROBLEMS, problems=("not valid JSON",)),
        raw={PART1: b'{"cells": [{"cell_type": "code", "source": "import ker'},
        bad_csv="rows",
    ),
    Student(
        "pat",
        story="part 1 is an empty file",
        expect=Expect(ALL_PART1, PROBLEMS, problems=("the file is empty",)),
        raw={PART1: b""},
        accuracy=0.86,
    ),
    Student(
        "quinn",
        story="both notebooks saved in the old nbformat 3",
        expect=Expect(status=PROBLEMS, problems=("upgraded from nbformat 3",)),
        nbformat3=True,
    ),
    Student(
        "rae",
        ("graded-cells-moved",),
        Expect(
            status=PROBLEMS,
            problems=("deleted graded cells", "duplicated graded cells", "changed from code"),
        ),
    ),
    Student(
        "sam",
        ("edited-test",),
        Expect(status=PROBLEMS, problems=("read-only cell test_lenet5_parameters was edited",)),
    ),
    Student(
        "tess",
        story="notebooks renamed to lenet.ipynb and fashion (1).ipynb",
        expect=Expect(
            status=PROBLEMS,
            problems=("was graded as 1_lenet5_mnist.ipynb", "was graded as 2_fashion_cnn.ipynb"),
        ),
        files={PART1: "lenet.ipynb", PART2: "fashion (1).ipynb"},
        accuracy=0.92,
    ),
    Student(
        "uma",
        story="handed in part 1 only",
        expect=Expect(ALL_PART2, PROBLEMS, problems=(NOT_HANDED_IN,)),
        files=PART1_ONLY,
        accuracy=None,
    ),
    Student(
        "vic",
        tuple(f"copy-of-{name}" for name in COPIED),
        story="copied cleo's solutions, renamed the variables, reordered the functions and "
        "rewrote the comments (coursekit similarity flags the pair)",
    ),
    # Attacks. Grading's verdicts come from the checker, so no attack changes a score; the
    # interpreter attacks are marked for a TA's review by preflight.
    Student("xnet", ("attack-network",), Expect(review=True)),
    Student("xread", ("attack-read-secrets",)),
    Student("xwrite", ("attack-write-and-flood",), Expect(status=PROBLEMS, problems=OUTPUT_CUT)),
    Student("xtrace", ("attack-silence-tracebacks",), Expect(review=True)),
    Student("xrun", ("attack-run-cell",), Expect(review=True)),
    Student("xassert", ("attack-assert",), Expect(review=True)),
    Student("xhook", ("attack-input-transformer",), Expect(failed=ALL_PART1, review=True)),
    Student(
        "xeq",
        ("attack-always-equal",),
        Expect(
            failed=(
                "test_preprocessing",
                "test_preprocessing_hidden",
                "test_lenet5_parameters",
                "test_lenet5_layers",
                "test_lenet5_hidden",
                # its lying model defines __eq__ without __hash__: Keras cannot look it up
                "test_compile",
                "test_training_hidden",
            ),
            review=True,
        ),
    ),
    Student(
        "xexit",
        ("attack-exit", "attack-exit-part2"),
        Expect(
            failed=(  # compiling with a macro_f1 that exits is still the right compile
                "test_f1",
                "test_f1_hidden",
                "test_training_hidden",
                "test_submission",
                "test_submission_hidden",
            ),
            status=PROBLEMS,
            review=True,
            problems=("the kernel stopped",),
        ),
    ),
    Student("xleak", ("attack-leak-tests",), Expect(review=True)),
    Student("xfork", ("attack-fork",), Expect(review=True)),
    Student(
        "xforge",
        ("attack-forged-outputs",),
        # The forgery breaks Keras in the student's own kernel, so the F1 inside fit fails too,
        # and outputs that ignore the weights give fit no gradient: the model is never trained.
        Expect(
            failed=("test_f1", "test_f1_hidden", "test_training_hidden"),
            status="held for review",
            review=True,
            problems=("does not compute what",),
        ),
    ),
)
#: Attackers that hand in Part 1 only (their attack is there).
ATTACKERS_PART1_ONLY = ("xnet", "xread", "xwrite", "xtrace", "xrun", "xassert", "xhook", "xeq")
ATTACKERS_PART1_ONLY += ("xleak", "xfork", "xforge")


def variants_of(student: Student, catalogue: Mapping[str, Variant]) -> list[Variant]:
    return [catalogue[name] for name in student.variants]


def expected_failures(student: Student, catalogue: Mapping[str, Variant]) -> dict[str, str]:
    """Each test the student must fail, with the words its message must contain ("": any)."""
    failed: dict[str, str] = {}
    for variant in variants_of(student, catalogue):
        failed.update(variant.fails)
    for test in student.expect.failed:
        failed.setdefault(test, "")
    omitted = [name for name, file in _files(student).items() if not file]
    for name in omitted:
        failed.update(dict.fromkeys(TESTS[name], ""))
    return {test: failed[test] for test in (*PART1_TESTS, *PART2_TESTS) if test in failed}


def _files(student: Student) -> dict[str, str]:
    files = dict(student.files)
    if student.id in ATTACKERS_PART1_ONLY:
        files.update(PART1_ONLY)
    return files


def expectation(student: Student, catalogue: Mapping[str, Variant]) -> dict:
    """What ``expected.json`` says about ``student``."""
    expect = student.expect
    problems = list(expect.problems)
    status = expect.status
    if student.id in ATTACKERS_PART1_ONLY:
        problems.append(NOT_HANDED_IN)
        status = PROBLEMS if status == "graded" else status
    stories = [variant.story for variant in variants_of(student, catalogue)]
    return {
        "story": student.story or "; ".join(stories) or "complete and correct",
        "failed": expected_failures(student, catalogue),
        "status": status,
        "review": expect.review,
        "problems": problems,
        "variants": list(student.variants),
        "team": student.team or student.id,
        "accuracy": student.accuracy,
        "bad_csv": student.bad_csv,
    }


def filled_notebook(release: Path, source: Path) -> nbformat.NotebookNode:
    """The released notebook with every solution cell filled in from the source."""
    released = nbformat.read(release, 4)
    solutions = {
        cell.metadata["nbgrader"]["grade_id"]: _SOLUTION_MARK.sub("", cell.source)
        for cell in nbformat.read(source, 4).cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }
    for cell in released.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            cell.source = solutions[grade_id]
    return released


def released_stubs(release: Path) -> dict[str, str]:
    """Each solution cell's released source (the stub), by grade id."""
    return {
        cell.metadata["nbgrader"]["grade_id"]: cell.source
        for cell in nbformat.read(release, 4).cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }


def catalogue_for(targets: Mapping[str, str]) -> dict[str, Variant]:
    """Every variant a demo student may name: the zoo, the attacks, the demo's own, the copies."""
    catalogue = {**BY_NAME, **attack_variants(dict(targets)), **OWN}
    for name in COPIED:
        catalogue[f"copy-of-{name}"] = disguised_copy(f"copy-of-{name}", catalogue[name])
    return catalogue


def make_demo_class(
    course_root: Path,
    answer_key: Path,
    out: Path,
    targets: dict[str, str] | None = None,
    model: Path | None = None,
) -> list[Student]:
    """Write the demo class under ``out``; return its students.

    ``model`` is a trained Keras model file (:func:`autograder.demo.uploads.demo_model`):
    ada hands it in and team Quota uploads its predictions, so that the
    leaderboard bonus's reproduction check has something real to check.
    """
    release = Path(course_root) / "release" / ASSIGNMENT
    source = Path(course_root) / "source" / ASSIGNMENT
    if not release.is_dir():
        from autograder.course.folder import CourseError

        raise CourseError(f"{release}: no release yet; run `coursekit release {ASSIGNMENT}`")
    out = Path(out)
    submitted = out / "submitted"
    targets = targets or default_targets(Path(course_root), Path(answer_key), submitted)
    catalogue = catalogue_for(targets)
    stubs = {name: released_stubs(release / f"{name}.ipynb") for name in TESTS}
    for student in STUDENTS:
        folder = submitted / student.id / ASSIGNMENT
        folder.mkdir(parents=True, exist_ok=True)
        files = _files(student)
        for name in TESTS:
            filename = files.get(name, f"{name}.ipynb")
            if not filename:
                continue
            if name in student.raw:
                (folder / filename).write_bytes(student.raw[name])
                continue
            notebook = filled_notebook(release / f"{name}.ipynb", source / f"{name}.ipynb")
            for variant in variants_of(student, catalogue):
                if variant.notebook == name:
                    apply_variant(notebook, variant, stubs[name])
            for index, cell in enumerate(notebook.cells):
                cell["id"] = f"cell-{index}"  # the same bytes every time: reruns skip them
            if student.nbformat3:
                nbformat.write(nbformat.convert(notebook, 3), folder / filename, version=3)
            else:
                nbformat.write(notebook, folder / filename)
    write_uploads(out, submitted, STUDENTS, answer_key, model)
    write_timestamps(submitted)  # a few late hand-ins and one without a time
    write_extensions(out / EXTENSIONS_FILE)  # one student with an extension
    expected = {
        student.id: {
            **expectation(student, catalogue),
            "late": asdict(expected_lateness(student.id)),
        }
        for student in STUDENTS
    }
    (out / "expected.json").write_text(json.dumps(expected, indent=1))
    return list(STUDENTS)
