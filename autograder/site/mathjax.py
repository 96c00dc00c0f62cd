"""MathJax for the course site, bundled so that math renders without a CDN.

The npm package ``mathjax@3.2.2`` is fetched once with ``npm pack`` (the npm
registry is its official source), checked against a pinned SHA-256 and kept
in the kit's cache. ``COURSEKIT_MATHJAX`` may name a local copy of the same
tarball instead, for machines without npm. The ``es5/`` folder is unpacked
next to the site's static files and Sphinx is pointed at it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from autograder.settings import Env
from utilities.data import sha256_of
from utilities.errors import CourseKitError

MATHJAX_VERSION = "3.2.2"
MATHJAX_SHA256 = "1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09"
MATHJAX_ENV = Env.MATHJAX
TARBALL = f"mathjax-{MATHJAX_VERSION}.tgz"
ENTRY_POINT = "tex-chtml.js"
_BUNDLED = "package/es5/"


class MathJaxError(CourseKitError):
    """MathJax could not be fetched or is not the pinned release."""


def mathjax_tarball(cache_dir: Path) -> Path:
    """The verified ``mathjax-3.2.2.tgz`` in ``cache_dir``, fetched now if it is missing."""
    target = Path(cache_dir) / TARBALL
    if target.is_file() and sha256_of(target) == MATHJAX_SHA256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".mathjax-") as staging:
        local = os.environ.get(MATHJAX_ENV)
        fetched = _copy(Path(local), Path(staging)) if local else _npm_pack(Path(staging))
        digest = sha256_of(fetched)
        if digest != MATHJAX_SHA256:
            raise MathJaxError(
                f"{local or 'npm pack mathjax@' + MATHJAX_VERSION}: SHA-256 {digest} is not the "
                f"pinned MathJax {MATHJAX_VERSION} ({MATHJAX_SHA256})"
            )
        os.replace(fetched, target)
    return target


def install_mathjax(cache_dir: Path, static_dir: Path) -> str:
    """Unpack MathJax into ``static_dir/mathjax``; return the entry point relative to it."""
    folder = Path(static_dir) / "mathjax"
    marker = folder / f".version-{MATHJAX_VERSION}"
    if not marker.is_file():
        tarball = mathjax_tarball(cache_dir)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        with tarfile.open(tarball) as archive:
            members = [
                m for m in archive.getmembers() if m.name.startswith(_BUNDLED) and m.isfile()
            ]
            for member in members:
                member.name = member.name.removeprefix(_BUNDLED)
            archive.extractall(folder, members=members, filter="data")
        marker.touch()
    return f"mathjax/{ENTRY_POINT}"


def _copy(source: Path, folder: Path) -> Path:
    if not source.is_file():
        raise MathJaxError(f"{source}: no such file ({MATHJAX_ENV} must name {TARBALL})")
    return Path(shutil.copy2(source, folder / TARBALL))


def _npm_pack(folder: Path) -> Path:
    if not shutil.which("npm"):
        raise MathJaxError(
            f"npm is not installed: install Node.js/npm, or set {MATHJAX_ENV} to a local {TARBALL}"
        )
    result = subprocess.run(
        ["npm", "pack", f"mathjax@{MATHJAX_VERSION}", "--pack-destination", str(folder)],
        capture_output=True,
        text=True,
    )
    tarball = folder / TARBALL
    if result.returncode != 0 or not tarball.is_file():
        reason = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise MathJaxError(
            f"npm pack mathjax@{MATHJAX_VERSION} failed ({reason[0]}); "
            f"set {MATHJAX_ENV} to a local {TARBALL} to build offline"
        )
    return tarball
