"""What the student tests read: the Getting started page as the site builds it, and its commands.

The page's own Markdown (``book/getting-started.md``) with the fragments that
:mod:`autograder.site.downloads` writes at build time put in place of its ``{include}``s: the
same text Sphinx renders, without a whole site build. The commands come from here, never from
a copy in a test.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

from autograder.site.book import stage_release
from autograder.site.downloads import StudentFiles, stage_student_files, write_student_fragments
from conftest import REPO

PAGE = "getting-started.md"
_INCLUDE = re.compile(r"```\{include\} (\S+)\n```\n")
_DOWNLOAD = re.compile(r"\{download\}`([^`<]+) <([^>]+)>` \| [^|]+ \| [^|]+ \| `([0-9a-f]{64})`")


def build_student_pages(book: Path, student_dataset: Path | None) -> StudentFiles:
    """Copy ``book/`` to ``book``, stage the release and write the student fragments there."""
    shutil.copytree(
        REPO / "book", book, ignore=shutil.ignore_patterns("_build", "_generated", "cnn")
    )
    release = stage_release(REPO / "assignments", "cnn", book / "cnn")
    files = stage_student_files(book, book / "_generated", "cnn", release, student_dataset)
    write_student_fragments(files, book / "_generated", report=lambda message: None)
    return files


def page_text(book: Path) -> str:
    """The Getting started page with every ``{include}`` replaced by the fragment it names."""
    text = (book / PAGE).read_text(encoding="utf-8")
    return _INCLUDE.sub(lambda match: (book / match.group(1)).read_text(encoding="utf-8"), text)


def section(text: str, heading: str) -> str:
    """The Markdown under one ``## heading``, up to the next one."""
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


def tab(text: str, title: str) -> str:
    """The Markdown of the tab called ``title`` in the page's tab-set."""
    match = re.search(rf":::\{{tab-item\}} {re.escape(title)}\n(.*?)\n:::\n", text, re.S)
    assert match, f"the page has no tab {title!r}"
    return match.group(1)


def code_lines(markdown: str, language: str = "bash") -> list[str]:
    """The lines of the first ``language`` code block in ``markdown``."""
    match = re.search(rf"```{language}\n(.*?)```", markdown, re.S)
    assert match, f"no {language} code block in:\n{markdown}"
    return match.group(1).strip().splitlines()


def downloads(text: str) -> dict[str, tuple[str, str]]:
    """The page's downloads: file name -> (path from the book's root, SHA-256 the page shows)."""
    return {name: (link, sha) for name, link, sha in _DOWNLOAD.findall(text)}


@contextlib.contextmanager
def served_repository(folder: Path, branch: str) -> Iterator[str]:
    """The working tree's files (tracked or not ignored) as a git repository on 127.0.0.1.

    It stands in for the course repository, whose address this machine cannot reach: a bare
    repository served over HTTP (git's "dumb" protocol), as ``http://127.0.0.1:PORT/kit.git``.
    """
    work, bare = folder / "work", folder / "kit.git"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (entry.decode() for entry in listed)):
        if (REPO / name).is_file():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, work / name)
    git = ["git", "-c", "user.name=student", "-c", "user.email=student@localhost"]
    for command in (["init", "-q", "-b", branch], ["add", "-A"], ["commit", "-q", "-m", "kit"]):
        subprocess.run([*git, *command], cwd=work, check=True, capture_output=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    subprocess.run(["git", "update-server-info"], cwd=bare, check=True)
    with serving(folder) as address:
        yield f"{address}kit.git"


@contextlib.contextmanager
def serving(folder: Path) -> Iterator[str]:
    """A static HTTP server for ``folder`` on 127.0.0.1, as ``http://127.0.0.1:PORT/``."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
