"""The theory chapters read as a course: each is in the table of contents, opens with the tasks it
prepares for, shows figures computed at build time and ends with exercises whose answers are
hidden; and no student page describes how the site is built."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from autograder.course.models import lenet5
from autograder.site import content
from autograder.site.chapters import (
    activations,
    arithmetic,
    augmentation,
    cost,
    evaluation,
    learned,
    optimisers,
    regularisation,
    softmax,
    spatial,
)
from conftest import REPO

BOOK = REPO / "book"
INCLUDE = re.compile(r"```\{include\} \.\./_generated/(\w+)\.md")
BUILD_TALK = re.compile(
    r"(when|while|each time) (this|the) site (is|was) (re)?built|computed when|run when this site"
    r"|the build (checks|stops|computes)",
    re.IGNORECASE,
)
# Pages for the teaching team, and pages other people write.
NOT_STUDENT_PAGES = {
    "instructors.md",
    "benchmarks.md",
    "README.md",
    "intro.md",
    "getting-started.md",
}


def _toc_files() -> list[str]:
    toc = yaml.safe_load((BOOK / "_toc.yml").read_text())
    return [chapter["file"] for part in toc["parts"] for chapter in part["chapters"]]


def _theory_parts() -> list[str]:
    toc = yaml.safe_load((BOOK / "_toc.yml").read_text())
    return [
        chapter["file"]
        for part in toc["parts"]
        if part["caption"].startswith("Theory")
        for chapter in part["chapters"]
    ]


def test_at_least_eight_theory_chapters_are_in_the_table_of_contents_in_order():
    assert len(content.CHAPTERS) >= 8
    assert _theory_parts() == [f"theory/{name}" for name in content.CHAPTERS]
    for name in content.CHAPTERS:
        assert (BOOK / "theory" / f"{name}.md").is_file(), name


def test_the_instructors_have_a_part_of_their_own():
    toc = yaml.safe_load((BOOK / "_toc.yml").read_text())
    parts = {part["caption"]: [c["file"] for c in part["chapters"]] for part in toc["parts"]}
    assert parts["For instructors"] == ["instructors", "benchmarks"]
    assert "benchmarks" not in [
        f for caption, files in parts.items() if caption != "For instructors" for f in files
    ]


@pytest.mark.parametrize("name", list(content.CHAPTERS))
def test_every_chapter_opens_with_its_tasks_and_ends_with_its_exercises(name):
    page = (BOOK / "theory" / f"{name}.md").read_text()
    included = INCLUDE.findall(page)
    assert included[0] == f"{name}_tasks"
    assert included[-1] == f"{name}_exercises"
    assert page.rstrip().endswith(f"```{{include}} ../_generated/{name}_exercises.md\n```")
    assert len(included) >= 3  # tasks, at least one computed section, exercises
    registry = content.fragments(content.SiteInputs(lambda: Path(), None, Path(), Path()))
    assert set(included) <= set(registry), set(included) - set(registry)


def test_no_student_page_talks_about_the_build():
    pages = [*BOOK.glob("*.md"), *BOOK.glob("theory/*.md")]
    students = [page for page in pages if page.name not in NOT_STUDENT_PAGES]
    assert len(students) >= 15
    assert {
        page.name: BUILD_TALK.findall(page.read_text())
        for page in students
        if BUILD_TALK.search(page.read_text())
    } == {}


@pytest.fixture
def untrained(monkeypatch, tmp_path):
    """The trained LeNet5 swapped for an untrained one: what is tested is the exercises' form."""
    model = learned._named(lenet5())
    trained = learned.TrainedModel(model, tmp_path / "site" / "untrained.weights.h5", False, 0.0)
    monkeypatch.setattr(learned, "trained_lenet5", lambda cache_dir: trained)
    learned._predictions.cache_clear()
    yield tmp_path
    learned._predictions.cache_clear()


def test_every_chapter_has_at_least_two_exercises_with_hidden_answers(untrained):
    made = {
        "convolutions": arithmetic.convolution_exercises(),
        "pooling": spatial.pooling_exercises(),
        "receptive_fields": spatial.receptive_field_exercises(),
        "cost": cost.cost_exercises(),
        "activations": activations.activation_exercises(),
        "softmax": softmax.softmax_exercises(untrained),
        "optimisers": optimisers.optimiser_exercises(),
        "regularisation": regularisation.regularisation_exercises(),
        "augmentation": augmentation.augmentation_exercises(),
        "f1": evaluation.evaluation_exercises(),
        "learned": learned.learned_exercises(untrained),
    }
    assert set(made) == set(content.CHAPTERS)
    for name, text in made.items():
        questions = re.findall(
            r"^::::\{admonition\} Exercise \d+ · .+\n:class: exercise$", text, re.M
        )
        answers = re.findall(r"^:::\{admonition\} Answer\n:class: dropdown$", text, re.M)
        assert len(questions) == len(answers) >= 2, name
        assert not BUILD_TALK.search(text), name
