"""No placeholder address anywhere a student or instructor reads: README, site, notebooks.

Every address that names the course repository is the one the course settings give
(``repository.url`` of ``book/_config.yml``), and the README states the same install lines the
site's Getting started page shows for those settings.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from autograder.site.downloads import (
    FRAGMENTS,
    CourseRepository,
    Download,
    StudentFiles,
    conda_environment,
    course_repository,
)
from conftest import REPO

ADDRESS = re.compile(r"(?:git\+)?https?://[^\s)\"'<>`\]|]+")
# Words that stand for an address someone forgot to fill in.
PLACEHOLDER = re.compile(
    r"\b(?:ORG|REPO|OWNER|USER|USERNAME|YOUR[-_]\w+)\b|example\.(?:com|org|net)|/your-|x{3,}"
)
VAGUE = ("gives you its address", "ask your instructor for the address", "github.com/ORG")


def _repository() -> CourseRepository:
    return course_repository(REPO / "book" / "_config.yml")


def _student_fragments() -> str:
    """The site's student fragments for the course settings (downloads described, not built)."""
    data = Download(
        "Fashion_MNIST.h5", "_generated/downloads/Fashion_MNIST.h5", "data", 1, "0" * 64
    )
    files = StudentFiles(_repository(), "cnn", (), data, None)
    return "\n".join(make(files) for make in FRAGMENTS.values())


def _documents() -> dict[str, str]:
    """What people read: README, every page and config of the book, the generated student
    fragments and conda file, and the source notebooks' cells."""
    texts = {"README.md": (REPO / "README.md").read_text(encoding="utf-8")}
    for path in sorted((REPO / "book").rglob("*")):
        parts = path.relative_to(REPO / "book").parts
        if path.suffix in (".md", ".yml") and parts[0] not in ("_build", "_generated"):
            texts[str(path.relative_to(REPO))] = path.read_text(encoding="utf-8")
    texts["student fragments"] = _student_fragments()
    texts["environment.yml for the site"] = conda_environment(
        REPO / "environment.yml", _repository()
    )
    for notebook in sorted((REPO / "assignments" / "source").rglob("*.ipynb")):
        cells = nbformat.read(notebook, as_version=4).cells
        texts[str(notebook.relative_to(REPO))] = "\n".join(cell.source for cell in cells)
    return texts


@pytest.fixture(scope="module")
def documents() -> dict[str, str]:
    return _documents()


def test_no_address_is_a_placeholder(documents):
    found = [
        f"{name}: {address}"
        for name, text in documents.items()
        for address in ADDRESS.findall(text)
        if PLACEHOLDER.search(address)
    ]
    assert found == []


def test_no_page_leaves_the_address_to_someone_else(documents):
    found = [
        f"{name}: {phrase!r}"
        for name, text in documents.items()
        for phrase in VAGUE
        if phrase in text
    ]
    assert found == []


def test_every_address_on_the_course_repositorys_host_and_owner_is_the_configured_one(documents):
    repository = _repository()
    owner = repository.url.rsplit("/", 1)[0] + "/"
    found = [
        f"{name}: {address}"
        for name, text in documents.items()
        for address in ADDRESS.findall(text)
        if owner in address and repository.url not in address
    ]
    assert found == []


def test_the_readme_states_the_install_lines_the_site_shows():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    fragments = _student_fragments()
    lines = [
        line.removeprefix("!")
        for line in fragments.splitlines()
        if line.startswith(("pip install", "!pip install", "!wget", "conda env create"))
    ]
    assert len(lines) >= 4
    missing = [line for line in lines if line not in readme]
    assert missing == []


def test_the_placeholder_patterns_catch_the_addresses_that_were_left_in():
    caught = [
        "git+https://github.com/ORG/REPO",
        "https://github.com/YOUR_ORG/cnn",
        "https://example.com/Fashion_MNIST.h5",
    ]
    assert all(PLACEHOLDER.search(address) for address in caught)
    assert not PLACEHOLDER.search(_repository().requirement())
