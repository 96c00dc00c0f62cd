"""The course site: a real Jupyter Book build (warnings are errors), checked in a real Chromium.

The site is built once from a copy of ``book/`` with a real leaderboard, then
served on 127.0.0.1 and crawled with Playwright driving Debian's Chromium.
Every request that leaves 127.0.0.1 is blocked and recorded. Screenshots of
the home, assignment and leaderboard pages are saved to
``$COURSEKIT_TEST_ARTIFACTS`` (default ``test-artifacts/``) for people to look at.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import threading
from collections import deque
from pathlib import Path
from urllib.parse import urldefrag, urlparse

import nbformat
import numpy as np
import pytest

from autograder.course.release import MARKERS, secret_lines
from autograder.leaderboard.board import update_leaderboard
from autograder.settings import DEFAULTS
from autograder.site.book import BookError, build_book
from conftest import REPO

pytestmark = pytest.mark.slow

ARTIFACTS = Path(os.environ.get("COURSEKIT_TEST_ARTIFACTS", REPO / "test-artifacts"))
SOURCE = REPO / "assignments" / "source" / "cnn"
SCREENSHOTS = {
    "home": "intro.html",
    "assignment": "cnn/1_lenet5_mnist.html",
    "leaderboard": "leaderboard.html",
    "convolutions": "theory/convolutions.html",
    "receptive-fields": "theory/receptive_fields.html",
    "optimisers": "theory/optimisers.html",
    "learned": "theory/learned.html",
}
THEORY = (
    "convolutions", "pooling", "receptive_fields", "cost", "activations", "softmax",
    "optimisers", "regularisation", "augmentation", "f1", "learned",
)  # fmt: skip
INSTRUCTOR_PAGES = {"instructors.html", "benchmarks.html"}
# Console noise from the theme's own scripts, harmless for a site without live code:
# sphinx-thebe 0.3.1 declares its settings twice under Jupyter Book 1, and the
# pydata theme logs an empty stored theme mode on a first visit.
KNOWN_CONSOLE_NOISE = ("Identifier 'THEBE_JS_URL' has already been declared", "invalid theme mode")
ALL = "[...document.querySelectorAll"
MATH_PAGES = tuple(f"theory/{name}.html" for name in THEORY)


def copy_book(target: Path) -> Path:
    shutil.copytree(
        REPO / "book", target, ignore=shutil.ignore_patterns("_build", "_generated", "cnn")
    )
    return target


@pytest.fixture(scope="session")
def leaderboard_dir(tmp_path_factory) -> Path:
    """A real leaderboard: three teams and a baseline scored by ``update_leaderboard``."""
    folder = tmp_path_factory.mktemp("leaderboard")
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 300)
    key = folder / "answer_key.csv"
    key.write_text(
        "ID,Label,Usage,SourceIndex\n"
        + "".join(f"{i},{y},{'Public' if i % 3 else 'Private'},{i}\n" for i, y in enumerate(labels))
    )

    def upload(stamp: str, team: str, accuracy: float) -> Path:
        guesses = np.where(rng.random(len(labels)) < accuracy, labels, (labels + 1) % 10)
        path = folder / "uploads" / stamp / f"{team}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("ID,Prediction\n" + "".join(f"{i},{p}\n" for i, p in enumerate(guesses)))
        return path

    baseline = upload("2026-01-01T00-00", "baseline", 0.8)
    shutil.move(baseline, folder / "baseline.csv")
    for team, accuracy in (("owls", 0.95), ("larks", 0.9), ("moles", 0.6)):
        upload("2026-11-20T10-00", team, accuracy)
    update_leaderboard(
        folder / "uploads", folder / "board", key, folder / "baseline.csv", "a test baseline",
        daily_limit=DEFAULTS.leaderboard.daily_limit,
        max_upload_bytes=DEFAULTS.leaderboard.max_upload_bytes,
    )  # fmt: skip
    return folder / "board"


@pytest.fixture(scope="session")
def site(tmp_path_factory, course_build, leaderboard_dir):
    """The built site and how long the build took."""
    book = copy_book(tmp_path_factory.mktemp("site") / "book")
    result = build_book(
        book,
        REPO / "assignments",
        "cnn",
        course_build.student_file,
        leaderboard_dir,
        Path(os.environ["COURSEKIT_CACHE_DIR"]),
        report=lambda message: None,
    )
    print(f"site built in {result.seconds:.1f} s ({result.pages} pages)")
    return result


@pytest.fixture(scope="session")
def server(site):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(site.html_dir))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()


@pytest.fixture(scope="session")
def crawl(server):
    """Every page reachable from the home page, loaded in Chromium with math typeset."""
    from playwright.sync_api import sync_playwright

    from utilities.handin import find_chromium

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    external, console, pages = [], [], {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=find_chromium(),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})

        def only_loopback(route):
            if route.request.url.startswith(server):
                route.continue_()
            else:
                external.append(route.request.url)
                route.abort()

        context.route("**/*", only_loopback)
        page = context.new_page()
        page.on("pageerror", lambda error: console.append(f"{page.url}: {error}"))
        page.on(
            "console",
            lambda message: (
                console.append(f"{page.url}: {message.text}") if message.type == "error" else None
            ),
        )
        queue, seen = deque(["index.html"]), {"index.html"}
        while queue:
            name = queue.popleft()
            response = page.goto(server + name, wait_until="networkidle")
            page.evaluate("() => window.MathJax?.startup?.promise ?? null")
            pages[page.url.removeprefix(server)] = {
                "requested": name,
                "status": response.status if response else None,
                "text": page.inner_text("body"),
                "math": page.locator("mjx-container").count(),
                "broken_images": page.evaluate(
                    "() => [...document.images].filter(i => !i.complete || i.naturalWidth === 0)"
                    ".map(i => i.src)"
                ),
                "ids": set(page.evaluate(f"() => {ALL}('[id]')].map(e => e.id)")),
                "links": page.evaluate(f"() => {ALL}('a[href]')].map(a => a.href)"),
                "html": page.content(),
            }  # fmt: skip
            for shot, shot_page in SCREENSHOTS.items():
                if page.url.removeprefix(server) == shot_page:
                    page.screenshot(path=ARTIFACTS / f"site-{shot}.png", full_page=True)
            for link in pages[page.url.removeprefix(server)]["links"]:
                target = urldefrag(link).url
                if target.startswith(server) and target.endswith(".html"):
                    relative = target.removeprefix(server)
                    if relative not in seen:
                        seen.add(relative)
                        queue.append(relative)
        browser.close()
    return {"pages": pages, "external": external, "console": console, "server": server}


def test_the_site_builds_with_warnings_as_errors(site):
    # Build time is a goal for people (≤ 30 s), measured by `coursekit book`, not asserted here.
    assert site.pages >= 13
    assert (site.html_dir / "mathjax" / "tex-chtml.js").is_file()


def test_every_page_in_the_table_of_contents_loads(crawl, site):
    pages = crawl["pages"]
    expected = {
        "intro.html", "assignment.html", "cnn/1_lenet5_mnist.html", "cnn/2_fashion_cnn.html",
        "rules.html", "leaderboard.html", "data.html", "api.html", *INSTRUCTOR_PAGES,
        *(f"theory/{name}.html" for name in THEORY),
    }  # fmt: skip
    assert expected <= set(pages)
    assert {name: p["status"] for name, p in pages.items() if p["status"] != 200} == {}


def test_no_page_asks_for_anything_outside_the_site(crawl):
    assert crawl["external"] == []


def test_no_page_logs_a_script_error(crawl):
    errors = [line for line in crawl["console"] if not any(n in line for n in KNOWN_CONSOLE_NOISE)]
    assert errors == []


def test_internal_links_and_anchors_resolve(crawl, site):
    pages, server = crawl["pages"], crawl["server"]
    broken = []
    for name, page in pages.items():
        for link in page["links"]:
            if not link.startswith(server):
                continue
            url, fragment = urldefrag(link)
            path = urlparse(url).path.lstrip("/") or "index.html"
            if not (site.html_dir / path).is_file():
                broken.append(f"{name} -> {link}")
            elif fragment and path in pages and fragment not in pages[path]["ids"]:
                broken.append(f"{name} -> {link} (no such anchor)")
    assert broken == []


def test_every_image_loads(crawl):
    broken = {name: page["broken_images"] for name, page in crawl["pages"].items()}
    assert {name: images for name, images in broken.items() if images} == {}
    assert len(crawl["pages"]["data.html"]["html"].split("<img")) - 1 >= 4


def test_math_is_typeset_by_the_bundled_mathjax(crawl):
    pages = crawl["pages"]
    for name in MATH_PAGES:
        assert pages[name]["math"] > 0, name
    raw = [name for name, page in pages.items() if "\\(" in page["text"] or "$$" in page["text"]]
    assert raw == []
    assert "mathjax/tex-chtml.js" in pages["theory/convolutions.html"]["html"]


def test_the_assignment_pages_show_the_release_without_solutions(crawl):
    pages = crawl["pages"]
    for notebook in ("1_lenet5_mnist", "2_fashion_cnn"):
        text = pages[f"cnn/{notebook}.html"]["text"]
        secrets = secret_lines(nbformat.read(SOURCE / f"{notebook}.ipynb", as_version=4))
        assert secrets, "the source notebook must have solutions to hide"
        lines = {line.strip() for line in text.splitlines()}
        # Whole lines, as the release check compares them; long lines anywhere in the text
        # (rendered Markdown joins wrapped lines into paragraphs).
        assert [
            line for line in secrets if line in lines or (len(line) > 40 and line in text)
        ] == []
        assert [marker for marker in MARKERS if marker in text] == []
        assert "raise NotImplementedError" in text  # the student's stubs are there


def test_the_assignment_pages_offer_download_and_launch_buttons(crawl):
    page = crawl["pages"]["cnn/1_lenet5_mnist.html"]
    links = page["links"]
    assert any(link.endswith("_sources/cnn/1_lenet5_mnist.ipynb") for link in links)
    assert any(
        "mybinder.org/v2/gh/" in link and "cnn/1_lenet5_mnist.ipynb" in link for link in links
    )
    assert any("colab.research.google.com/github/" in link for link in links)
    overview = crawl["pages"]["assignment.html"]["links"]
    assert sum(link.endswith(".ipynb") and "_downloads" in link for link in overview) == 2


def test_the_leaderboard_page_shows_the_scored_teams_and_beat_me(crawl):
    page = crawl["pages"]["leaderboard.html"]["text"]
    text = page[page.index("Rank") :]  # the table, ranked from the top
    assert "owls" in text and "larks" in text and "moles" in text and "BEAT ME" in text
    assert text.index("owls") < text.index("larks") < text.index("BEAT ME") < text.index("moles")


def test_the_pages_show_computed_content(crawl):
    pages = crawl["pages"]
    assert "61,706" in pages["theory/convolutions.html"]["text"]
    assert "59,500 labelled training images" in pages["data.html"]["text"]
    assert (
        "CC BY-SA 3.0" in pages["data.html"]["text"]
        or "Attribution-Share Alike 3.0" in (pages["data.html"]["text"])
    )
    assert "MIT License" in pages["data.html"]["text"]
    assert re.search(r"It scores \d+\.\d\d% on the public part", pages["rules.html"]["text"])
    assert "load_fashion_mnist" in pages["api.html"]["text"]
    assert "MacroF1Score" in pages["api.html"]["text"]


def test_the_benchmarks_page_shows_what_make_bench_stored(crawl):
    page = crawl["pages"]["benchmarks.html"]["text"]
    stored = REPO / "bench" / "results.json"
    if not stored.is_file():
        assert "Not measured yet" in page
        return
    entries = json.loads(stored.read_text())["time_to_accuracy"]
    assert entries
    for entry in entries:
        assert entry["variant"] in page
        if not entry["throughput_only"]:
            assert f"{entry['accuracy']['median']:.2%}" in page, entry["variant"]


def test_every_theory_chapter_links_its_tasks_shows_figures_and_hides_its_answers(crawl):
    pages = crawl["pages"]
    for name in THEORY:
        page = pages[f"theory/{name}.html"]
        tasks = [link for link in page["links"] if "/cnn/" in link and "#task-" in link]
        assert tasks or name == "learned", name
        assert any("/cnn/" in link and "#" in link for link in page["links"]), name
        assert page["html"].count('src="../_images/') >= 1, name  # figures computed at build time
        boxes = [set(c.split()) for c in re.findall(r'class="([^"]*)"', page["html"])]
        boxes = [box for box in boxes if "admonition" in box]
        exercises = sum("exercise" in box for box in boxes)
        answers = [box for box in boxes if "dropdown" in box]
        assert exercises >= 2 and len(answers) == exercises, (name, exercises, len(answers))
        assert all("toggle-hidden" in box for box in answers), name  # closed until clicked


def test_student_pages_teach_instead_of_describing_the_build(crawl):
    talk = re.compile(r"(when|while) (this|the) site (is|was) built|computed when", re.IGNORECASE)
    pages = crawl["pages"]
    described = [
        name for name, page in pages.items()
        if name not in INSTRUCTOR_PAGES and name != "intro.html" and talk.search(page["text"])
    ]  # fmt: skip
    assert described == []
    assert "How this site is built" in pages["instructors.html"]["text"]


def test_screenshots_are_saved_as_artifacts(crawl):
    for shot in SCREENSHOTS:
        assert (ARTIFACTS / f"site-{shot}.png").stat().st_size > 20_000, shot


def test_a_broken_reference_fails_the_build_and_names_the_page(tmp_path, course_build):
    book = copy_book(tmp_path / "book")
    # Two pages are enough (the whole book is built above): rules, and the page it links to.
    toc = "format: jb-book\nroot: rules\nchapters:\n  - file: leaderboard\n"
    (book / "_toc.yml").write_text(toc)
    page = book / "rules.md"
    page.write_text(page.read_text() + "\nSee [the missing page](no-such-page.md).\n")
    with pytest.raises(BookError, match=r"rules\.md.*no-such-page"):
        build_book(
            book,
            REPO / "assignments",
            "cnn",
            course_build.student_file,
            tmp_path / "no-leaderboard",
            Path(os.environ["COURSEKIT_CACHE_DIR"]),
            report=lambda message: None,
        )


def test_a_folder_without_config_is_refused(tmp_path):
    with pytest.raises(BookError, match=r"_config\.yml"):
        build_book(tmp_path, REPO / "assignments", "cnn", None, tmp_path, tmp_path)
