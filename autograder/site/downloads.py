"""What the course site's Getting started page offers students: downloads and install lines.

Every address and number here comes from the course's own settings and files when the site
is built, never from a copy in a page:

- the downloads (the released notebooks, the course's ``Fashion_MNIST.h5`` and a conda
  ``environment.yml``), each with its size and SHA-256;
- the Pythons that work, from ``requires-python``;
- one install line per way of working (pip on a laptop, conda, Colab, a JupyterHub image),
  all pointing at the course repository: ``repository.url`` and ``repository.branch`` of
  ``book/_config.yml``, or ``coursekit book --repository-url``.

The fragments are written to ``book/_generated/`` as ``student_*.md`` and included by
``book/getting-started.md``; paths in them are as seen from that page, at the book's root.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import urlparse

import h5py
import yaml
from packaging.specifiers import SpecifierSet

from autograder.resources import in_checkout
from utilities.errors import CourseKitError
from utilities.loaders import FASHION_MNIST_FILE, FASHION_MNIST_LAYOUTS

DOWNLOADS = "downloads"  # under book/_generated/
ENVIRONMENT_FILE = "environment.yml"
STUDENT_EXTRA = "student"
# The kit line of environment.yml, for a checkout of the course repository (and Binder).
LOCAL_KIT = f"-e .[{STUDENT_EXTRA}]"
_CHECKOUT = Path(__file__).resolve().parents[2]


class DownloadsError(CourseKitError):
    """A file the students would download is missing, unsafe, or the settings are unusable."""


@dataclass(frozen=True)
class CourseRepository:
    """Where the course publishes the kit and the student release (``cnn/`` with the data)."""

    url: str
    branch: str = "main"

    def requirement(self, extra: str | None = STUDENT_EXTRA) -> str:
        """The kit as a pip requirement: ``coursekit[student] @ git+URL@BRANCH``."""
        name = f"coursekit[{extra}]" if extra else "coursekit"
        return f"{name} @ git+{self.url}@{self.branch}"

    def raw_url(self, path: str) -> str:
        """The address of one file of the repository (GitHub's form; GitLab's on GitLab)."""
        marker = "-/raw" if "gitlab" in urlparse(self.url).netloc else "raw"
        return f"{self.url}/{marker}/{self.branch}/{path}"


@dataclass(frozen=True)
class Download:
    """One file the page offers, by its path from the book's root."""

    name: str
    link: str
    what: str
    size: int
    sha256: str


def course_repository(config: Path, override: str | None = None) -> CourseRepository:
    """The repository of ``_config.yml`` (``repository.url``, ``.branch``), or ``override``."""
    settings = yaml.safe_load(Path(config).read_text(encoding="utf-8")) or {}
    repository = settings.get("repository") or {}
    url = (override or repository.get("url") or "").strip().rstrip("/").removesuffix(".git")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or parsed.path.count("/") < 2:
        raise DownloadsError(
            f"the course repository {url!r} is not an address like https://github.com/OWNER/NAME; "
            "set repository.url in book/_config.yml or pass --repository-url"
        )
    return CourseRepository(url, str(repository.get("branch") or "main"))


def supported_pythons() -> list[str]:
    """The Python versions ``requires-python`` admits, e.g. ``["3.11", "3.12", "3.13"]``."""
    if in_checkout():
        project = tomllib.loads((_CHECKOUT / "pyproject.toml").read_text(encoding="utf-8"))
        requires = project["project"]["requires-python"]
    else:
        requires = metadata.metadata("coursekit")["Requires-Python"]
    specifier = SpecifierSet(requires)
    return [f"3.{minor}" for minor in range(50) if f"3.{minor}" in specifier]


def in_words(items: Sequence[str]) -> str:
    """``a, b or c``."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def describe(path: Path, link: str, what: str) -> Download:
    """A :class:`Download` of ``path`` with its size and SHA-256."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return Download(Path(path).name, link, what, Path(path).stat().st_size, digest.hexdigest())


def stage_dataset(student_dataset: Path, target: Path) -> Path:
    """Put the course's student file in ``target``, refusing one with anything but its 3 arrays."""
    with h5py.File(student_dataset, "r") as h5:
        names = set(h5)
    if not any(names == set(layout) for layout in FASHION_MNIST_LAYOUTS):
        raise DownloadsError(
            f"{student_dataset}: holds {', '.join(sorted(names)) or 'nothing'}; the file students "
            f"download must hold exactly one of {' / '.join(map(str, FASHION_MNIST_LAYOUTS))}"
        )
    target.mkdir(parents=True, exist_ok=True)
    staged = target / FASHION_MNIST_FILE
    staged.unlink(missing_ok=True)
    try:
        os.link(student_dataset, staged)  # 31 MB: a second name, not a second copy
    except OSError:
        shutil.copyfile(student_dataset, staged)
    return staged


def conda_environment(repository_environment: Path, repository: CourseRepository) -> str:
    """The repository's ``environment.yml`` with the kit installed from the course repository."""
    lines = Path(repository_environment).read_text(encoding="utf-8").splitlines()
    body = lines[next(n for n, line in enumerate(lines) if not line.startswith("#")) :]
    text = "\n".join(body) + "\n"
    if f"- {LOCAL_KIT}\n" not in text:
        raise DownloadsError(f"{repository_environment}: no `- {LOCAL_KIT}` line to point at")
    header = (
        f"# The course's conda environment, the kit from {repository.url}\n"
        f"#   conda env create -f {ENVIRONMENT_FILE} && conda activate coursekit && jupyter lab\n"
    )
    return header + text.replace(f"- {LOCAL_KIT}\n", f'- "{repository.requirement()}"\n')


@dataclass(frozen=True)
class StudentFiles:
    """What the fragments describe: the downloads, by role, and the course repository."""

    repository: CourseRepository
    assignment: str
    notebooks: tuple[Download, ...]
    dataset: Download | None
    environment: Download | None


def stage_student_files(
    book_dir: Path,
    generated: Path,
    assignment: str,
    release_dir: Path,
    student_dataset: Path | None,
    repository_url: str | None = None,
) -> StudentFiles:
    """Stage the downloads under ``generated/downloads/`` and describe them."""
    book_dir = Path(book_dir).resolve()
    repository = course_repository(book_dir / "_config.yml", repository_url)
    target = Path(generated) / DOWNLOADS
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)

    def link(path: Path) -> str:
        return Path(path).resolve().relative_to(book_dir).as_posix()

    notebooks = tuple(
        describe(path, link(path), "the notebook")
        for path in sorted(Path(release_dir).glob("*.ipynb"))
    )
    dataset = None
    if student_dataset is not None and Path(student_dataset).is_file():
        staged = stage_dataset(Path(student_dataset), target)
        dataset = describe(staged, link(staged), "the data of Part 2")
    environment = None
    # The course folder's (beside book/: a checkout, or `coursekit init`'s), else the checkout's.
    sources = [
        book_dir.parent / ENVIRONMENT_FILE,
        *([_CHECKOUT / ENVIRONMENT_FILE] * in_checkout()),
    ]
    source = next((path for path in sources if path.is_file()), None)
    if source is not None:
        staged = target / ENVIRONMENT_FILE
        staged.write_text(conda_environment(source, repository), encoding="utf-8")
        environment = describe(staged, link(staged), "the conda environment")
    return StudentFiles(repository, assignment, notebooks, dataset, environment)


# -- The fragments ---------------------------------------------------------------------------


def downloads_table(files: StudentFiles) -> str:
    """The downloads with size and SHA-256, or a note for each one this build lacks."""
    rows = [
        f"| {{download}}`{item.name} <{item.link}>` | {item.what} | {_size(item.size)} | "
        f"`{item.sha256}` |"
        for item in (*files.notebooks, files.dataset, files.environment)
        if item is not None
    ]
    lines = ["| File | What it is | Size | SHA-256 |", "|:---|:---|---:|:---|", *rows]
    if files.dataset is None:
        lines += ["", _missing(f"`{FASHION_MNIST_FILE}`", "coursekit book --course-data DIR")]
    if files.environment is None:
        lines += ["", _missing(f"`{ENVIRONMENT_FILE}`", "an environment.yml next to book/")]
    return "\n".join(lines)


def python_versions() -> str:
    """One sentence: the Pythons that work."""
    versions = supported_pythons()
    return (
        f"You need **Python {in_words(versions)}**: `python3 --version` says which one you "
        "have. The kit and TensorFlow do not install on other versions."
    )


def pip_commands(files: StudentFiles) -> str:
    """A laptop with pip: a virtual environment with the student install, then JupyterLab."""
    return _code(
        "bash",
        [
            "python3 -m venv .venv",
            "source .venv/bin/activate",
            f'pip install "{files.repository.requirement()}"',
            "jupyter lab",
        ],
    )


def conda_commands(files: StudentFiles) -> str:
    """A laptop with conda: the downloaded environment file, then JupyterLab."""
    return _code(
        "bash",
        [
            f"conda env create -f {ENVIRONMENT_FILE}",
            "conda activate coursekit",
            "jupyter lab",
        ],
    )


def colab_cell(files: StudentFiles) -> str:
    """Colab's first cell: the kit from the course repository, and the checked data file."""
    lines = [f'!pip install --quiet "{files.repository.requirement(extra=None)}"']
    if files.dataset is not None:
        address = files.repository.raw_url(f"{files.assignment}/{FASHION_MNIST_FILE}")
        lines += [
            f"!wget --quiet --no-clobber {address}",
            f'!echo "{files.dataset.sha256}  {FASHION_MNIST_FILE}" | sha256sum --check',
        ]
    return _code("ipython", lines)  # IPython's lexer knows `!command`


def jupyterhub_image(files: StudentFiles) -> str:
    """What the course's JupyterHub image installs (the student install, nbgrader included)."""
    return _code("bash", [f'pip install "{files.repository.requirement()}"'])


FRAGMENTS: dict[str, Callable[[StudentFiles], str]] = {
    "student_downloads": downloads_table,
    "student_python": lambda files: python_versions(),
    "student_pip": pip_commands,
    "student_conda": conda_commands,
    "student_colab": colab_cell,
    "student_jupyterhub": jupyterhub_image,
}


def write_student_fragments(
    files: StudentFiles, out_dir: Path, report: Callable[[str], None] = print
) -> list[Path]:
    """Write each of :data:`FRAGMENTS` to ``out_dir/NAME.md``; return the files written."""
    written = []
    for name, make in FRAGMENTS.items():
        path = Path(out_dir) / f"{name}.md"
        path.write_text(make(files).rstrip() + "\n", encoding="utf-8")
        written.append(path)
    if files.dataset is None:
        report(f"  warning: no {FASHION_MNIST_FILE} to offer (coursekit book --course-data DIR)")
    report(f"  student pages: downloads and install lines for {files.repository.url}")
    return written


def _code(language: str, lines: Sequence[str]) -> str:
    return "\n".join([f"```{language}", *lines, "```"])


def _size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.0f} kB"


def _missing(name: str, how: str) -> str:
    return (
        "```{admonition} Not offered by this build\n:class: warning\n"
        f"This site was built without {name}; ask your instructor for it (instructors: "
        f"`{how}`).\n```"
    )
