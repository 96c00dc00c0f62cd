"""The student's path, tried as a new student would: from the course site to a packed hand-in.

The Getting started page (``book/getting-started.md`` with the fragments the site build writes:
``tests/student_site.py``) is followed to the letter on this machine. Its commands are read
from the page, never copied here. The one thing replaced is the course repository's address,
which this machine cannot reach: a local git repository of the working tree stands in for it.

1. The page's downloads go into an empty folder, each checked against the SHA-256 it shows.
2. The pip tab's lines run in bash, from ``python3`` on a PATH without the kit's own venv.
3. JupyterLab starts as the tab says (headless, on 127.0.0.1), Debian's Chromium (driven by
   Playwright) opens Part 1 and runs its first cells through the UI, and Part 2 before its
   data file is there, which shows the sentence that says where to put it.
4. The student completes both notebooks (the source's solutions, run in fast mode by their own
   environment) and runs the page's ``coursekit submit-check``, which packs the zip.

A fresh venv takes minutes (TensorFlow), so the student's folder and its ``.venv`` are kept
(``tests/student_shell.py``): each run empties the folder but the venv, and the page's pip line
reinstalls the kit. ``COURSEKIT_FRESH_STUDENT_VENV=1`` starts from nothing.
"""

from __future__ import annotations

import ast
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
import tomllib
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest
from student_shell import (
    Student,
    api,
    disk_size,
    free_port,
    stop,
    student_environment,
    student_folder,
    tail,
    wait_for,
)
from student_site import (
    build_student_pages,
    code_lines,
    downloads,
    page_text,
    section,
    served_repository,
    tab,
)

import utilities
from conftest import REPO
from utilities.handin import HAND_IN_NOTEBOOKS, MODEL_FILE, SUBMISSION_FILE
from utilities.loaders import FASHION_MNIST_FILE

ARTIFACTS = Path(os.environ.get("COURSEKIT_TEST_ARTIFACTS", REPO / "test-artifacts"))
SCREENSHOT = "student-path-jupyterlab.png"
PART1, PART2 = HAND_IN_NOTEBOOKS
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
STATED_SIZE_TOLERANCE = 0.25  # the page's "about N GB" against the venv measured here


# -- The page and its downloads ------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory, course_build):
    book = tmp_path_factory.mktemp("site") / "book"
    files = build_student_pages(book, course_build.student_file)
    return book, files, page_text(book)


@pytest.mark.slow
def test_the_page_offers_both_notebooks_and_the_data_file_with_their_sha256(site, course_build):
    book, _, text = site
    offered = downloads(text)
    assert {PART1, PART2, FASHION_MNIST_FILE} <= set(offered)
    for name, (link, sha256) in offered.items():
        assert hashlib.sha256((book / link).read_bytes()).hexdigest() == sha256, name
    assert (book / offered[FASHION_MNIST_FILE][0]).read_bytes() == (
        course_build.student_file.read_bytes()
    )
    size = course_build.student_file.stat().st_size
    assert f"| {size / 1e6:.1f} MB |" in text


# -- A student with pip --------------------------------------------------------------------


@pytest.fixture(scope="module")
def repository(site, tmp_path_factory):
    """The course repository's stand-in: the working tree, served by git on 127.0.0.1."""
    with served_repository(tmp_path_factory.mktemp("repository"), site[1].repository.branch) as url:
        yield url


@pytest.fixture(scope="module")
def pip_student(site, repository, tmp_path_factory):
    """The pip tab followed in the student's folder, with the downloaded notebooks in it."""
    book, files, text = site
    env = student_environment(tmp_path_factory.mktemp("home"))
    lock = Path(tempfile.gettempdir()) / "coursekit-pip-path.lock"
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # one student at a time in the kept folder
        folder = student_folder(env, "pip")
        for name in (PART1, PART2):
            shutil.copy(book / downloads(text)[name][0], folder / name)
        lines = [
            line.replace(files.repository.url, repository) for line in code_lines(tab(text, "pip"))
        ]
        student = Student(folder, env, lines)
        assert lines[-1] == "jupyter lab", "the pip tab ends by starting JupyterLab"
        started = time.perf_counter()
        result = student.shell(lines[:-1])
        student.seconds = time.perf_counter() - started
        assert result.returncode == 0, tail(result)
        (student.venv / ".complete").touch()
        yield student


@pytest.mark.slow
def test_the_pip_tab_installs_the_student_install_and_its_size_is_as_the_page_says(
    pip_student, site
):
    packages = pip_student.shell(["source .venv/bin/activate", "python -m pip list --format=json"])
    names = {entry["name"].lower() for entry in json.loads(packages.stdout)}
    assert {"coursekit", "tensorflow", "jupyterlab", "ipykernel", "nbgrader"} <= names
    assert not {"jupyter-book", "distributed", "nh3", "playwright"} & names, "instructor packages"
    size = disk_size(pip_student.venv)
    print(f"pip student install: {size / 1e9:.2f} GB, {pip_student.seconds:.0f} s")
    row = next(line for line in site[2].splitlines() if line.startswith("| pip |"))
    stated = float(re.search(r"about ([\d.]+) GB", row).group(1)) * 1e9
    assert abs(size - stated) <= STATED_SIZE_TOLERANCE * stated, (
        f"the page says about {stated / 1e9:.1f} GB, the venv has {size / 1e9:.2f} GB"
    )


@pytest.fixture
def jupyterlab(pip_student):
    """JupyterLab started by the tab's last two lines, headless on 127.0.0.1: its base URL."""
    port, token = free_port(), secrets.token_hex(16)
    headless = (
        f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} "
        f"--ServerApp.port_retries=0 --IdentityProvider.token={token}"
    ) + (" --allow-root" if os.geteuid() == 0 else "")  # the suite runs as root; students do not
    start = [pip_student.activate, f"exec {pip_student.lines[-1]} {headless}"]
    log = (pip_student.folder / ".." / f"jupyterlab-{port}.log").resolve()
    with log.open("w") as output:
        server = subprocess.Popen(
            ["bash", "-c", "\n".join(start)],
            cwd=pip_student.folder,
            env=pip_student.env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}/"
    try:
        wait_for(lambda: api(base, token, "api/status") is not None, 120, server, log)
        yield base, token
    finally:
        for kernel in api(base, token, "api/kernels") or []:
            api(base, token, f"api/kernels/{kernel['id']}", method="DELETE")
        stop(server)
        log.unlink(missing_ok=True)


def run_first_cells(page, notebook: str, count: int) -> None:
    """In ``notebook``'s tab, once its kernel is idle, Shift+Enter ``count`` times from the first
    code cell. A key pressed while the kernel is still starting can be lost: then again."""
    from playwright.sync_api import expect

    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current", has_text=notebook)
    expect(tab).to_be_visible(timeout=120_000)
    prompt = shown_notebook(page).locator(".jp-CodeCell").first.locator(".jp-InputArea-prompt")
    for _ in range(3):
        idle = page.locator(".jp-StatusBar-TextItem", has_text="Idle").first  # "Python 3 | Idle"
        expect(idle).to_be_visible(timeout=180_000)
        prompt.click()
        for _ in range(count):
            page.keyboard.press("Shift+Enter")
        try:
            expect(prompt).not_to_have_text("[ ]:", timeout=15_000)  # queued or run
            return
        except AssertionError:
            continue
    pytest.fail(f"{notebook}: Shift+Enter did not run the first cell")


def shown_notebook(page):
    """The notebook in the tab on show (JupyterLab keeps the other tabs' notebooks, hidden)."""
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")


def cell_output(page, index: int):
    """The output area of the shown notebook's cell ``index`` (counting every cell from 0)."""
    return shown_notebook(page).locator(".jp-Cell").nth(index).locator(".jp-OutputArea")


@pytest.mark.slow
def test_jupyterlab_opens_part_1_in_a_browser_and_runs_its_first_cells(pip_student, jupyterlab):
    from playwright.sync_api import expect, sync_playwright

    from utilities.handin import find_chromium

    base, token = jupyterlab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (pip_student.folder / FASHION_MNIST_FILE).unlink(missing_ok=True)  # not downloaded yet
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{base}lab/tree/{PART1}?reset&token={token}")  # a first visit: no layout
        run_first_cells(page, PART1, 4)  # imports, a Markdown cell, load_mnist, sample images
        expect(cell_output(page, 3)).to_contain_text("X_train", timeout=300_000)
        expect(cell_output(page, 4).locator("img")).to_be_visible(timeout=120_000)
        news = page.get_by_role("button", name="No", exact=True)  # JupyterLab asks about news
        if news.count():
            news.first.click()
        shown_notebook(page).locator(".jp-Cell").nth(1).evaluate("cell => cell.scrollIntoView()")
        page.screenshot(path=ARTIFACTS / SCREENSHOT)
        shown = cell_output(page, 3).inner_text()
        assert re.search(r"X_train\s+uint8\s+\(52500, 28, 28\)", shown), shown
        for index in (1, 3, 4):
            assert "Traceback" not in cell_output(page, index).inner_text(), index

        # Part 2 from the file browser, before its data file is in the folder
        page.locator(".jp-DirListing-item", has_text=PART2).dblclick()
        run_first_cells(page, PART2, 3)  # imports, a Markdown cell, load_fashion_mnist
        expect(cell_output(page, 3)).to_contain_text(
            f"{FASHION_MNIST_FILE}: file not found; put {FASHION_MNIST_FILE} in "
            f"{pip_student.folder}",
            timeout=300_000,
        )
        browser.close()
    assert (ARTIFACTS / SCREENSHOT).stat().st_size > 20_000


def grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def complete(notebook: Path) -> None:
    """Answer every task of the released ``notebook`` as the source notebook's solution does."""
    source = nbformat.read(REPO / "assignments" / "source" / "cnn" / notebook.name, as_version=4)
    answers = {grade_id(cell): cell.source for cell in source.cells if grade_id(cell)}
    released = nbformat.read(notebook, as_version=4)
    for cell in released.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            cell.source = answers[grade_id(cell)]
    nbformat.write(released, notebook)


@pytest.mark.slow
def test_submit_check_packs_the_completed_notebooks_and_what_they_saved(pip_student, site):
    book, _, text = site
    shutil.copy(book / downloads(text)[FASHION_MNIST_FILE][0], pip_student.folder)
    for name in (PART1, PART2):
        complete(pip_student.folder / name)
    activate = pip_student.activate
    run = pip_student.shell(
        [
            activate,
            "export COURSEKIT_FAST_MODE=1",  # the short training run; a student takes the full one
            f"jupyter nbconvert --to notebook --execute --inplace {PART1} {PART2}",
        ]
    )
    assert run.returncode == 0, tail(run)
    assert (pip_student.folder / MODEL_FILE).is_file()

    (command,) = code_lines(section(text, "Before you hand in"))
    assert command == "coursekit submit-check --name YOUR_NAME"
    checked = pip_student.shell([activate, command.replace("YOUR_NAME", "ada")])
    assert checked.returncode == 0, tail(checked, 60)
    with zipfile.ZipFile(pip_student.folder / "cnn_ada.zip") as packed:
        names = sorted(packed.namelist())
    pdfs = [name.replace(".ipynb", ".pdf") for name in (PART1, PART2)]
    assert names == sorted([PART1, PART2, *pdfs, SUBMISSION_FILE, MODEL_FILE])


# -- A student with conda ------------------------------------------------------------------


CONDA = next((shutil.which(name) for name in ("conda", "mamba") if shutil.which(name)), None)


@pytest.mark.slow
@pytest.mark.skipif(
    CONDA is None,
    reason="no conda here: tests/test_environment.py checks environment.yml against the pip "
    "student install instead",
)
def test_a_student_with_conda_follows_the_conda_tab(site, repository, tmp_path):
    book, files, text = site
    folder = tmp_path / "student"
    folder.mkdir()
    for name in (PART1, PART2, "environment.yml"):
        shutil.copy(book / downloads(text)[name][0], folder / name)
    environment = folder / "environment.yml"
    environment.write_text(environment.read_text().replace(files.repository.url, repository))
    env = student_environment(tmp_path / "home")
    env["CONDA_ENVS_PATH"] = str(tmp_path / "envs")  # the named env, out of the user's own
    del env["PIP_REQUIRE_VIRTUALENV"]  # conda's pip installs into the conda environment
    lines = code_lines(tab(text, "conda"))
    assert lines[-1] == "jupyter lab"
    hook = f'eval "$({CONDA} shell.bash hook)"'  # what `conda init` puts in a student's shell
    checks = [
        "jupyter lab --version",
        "python -c 'from utilities import *; print(load_mnist()[\"X_train\"].shape)'",
        "coursekit submit-check --help",
    ]
    result = Student(folder, env, lines).shell([hook, *lines[:-1], *checks], timeout=3600)
    assert result.returncode == 0, tail(result)
    assert "(52500, 28, 28)" in result.stdout


# -- The Python check, and the README's example ------------------------------------------


def test_the_kits_python_check_admits_exactly_what_pyproject_requires():
    from packaging.specifiers import SpecifierSet

    requires = SpecifierSet(tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "requires-python"
    ])  # fmt: skip
    admitted = [f"3.{minor}" for minor in range(30) if f"3.{minor}" in requires]
    assert admitted == utilities._VERSIONS


def readme_example() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index("```python\n", readme.index("## For students")) + len("```python\n")
    return readme[start : readme.index("\n```", start)]


def test_the_readme_example_scales_images_before_every_fit_and_predict():
    tree = ast.parse(readme_example())
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("fit", "predict")
    ]
    assert len(calls) >= 3
    for call in calls:
        first = call.args[0]
        assert isinstance(first, ast.Call) and getattr(first.func, "id", "") == "to_model_input", (
            ast.unparse(call)
        )
    namespace: dict = {}
    definitions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    exec(compile(ast.Module(definitions, []), "README", "exec"), namespace)
    images = np.array([[[0, 255], [128, 64]]], dtype=np.uint8)
    scaled = namespace["to_model_input"](images)
    assert scaled.dtype == np.float32 and scaled.shape == (1, 2, 2, 1)
    assert scaled.min() == 0.0 and scaled.max() == 1.0


# -- What the site may offer, and from where -------------------------------------------------


def test_the_site_refuses_to_offer_a_data_file_that_holds_test_labels(tmp_path):
    import h5py

    from autograder.site.downloads import DownloadsError, stage_dataset

    leaky = tmp_path / FASHION_MNIST_FILE
    with h5py.File(leaky, "w") as h5:
        for name in ("X_train", "y_train", "X_test", "y_test"):
            h5[name] = np.zeros((2, 28, 28) if name.startswith("X") else 2, dtype=np.uint8)
    with pytest.raises(DownloadsError, match=r"holds X_test, X_train, y_test, y_train"):
        stage_dataset(leaky, tmp_path / "downloads")
    assert not (tmp_path / "downloads").exists()


def test_every_install_line_follows_the_repository_the_course_settings_name(tmp_path):
    from autograder.site.downloads import DownloadsError, course_repository

    config = tmp_path / "_config.yml"
    config.write_text("repository:\n  url: https://github.com/uni/cnn-2027\n  branch: term2\n")
    github = course_repository(config)
    assert github.requirement() == "coursekit[student] @ git+https://github.com/uni/cnn-2027@term2"
    assert github.raw_url("cnn/x.h5") == "https://github.com/uni/cnn-2027/raw/term2/cnn/x.h5"
    gitlab = course_repository(config, "https://gitlab.com/uni/cnn-2027.git/")
    assert gitlab.requirement(extra=None) == "coursekit @ git+https://gitlab.com/uni/cnn-2027@term2"
    assert gitlab.raw_url("cnn/x.h5") == "https://gitlab.com/uni/cnn-2027/-/raw/term2/cnn/x.h5"
    with pytest.raises(DownloadsError, match="not an address like"):
        course_repository(config, "git@github.com:uni/cnn-2027.git")
