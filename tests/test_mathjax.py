"""MathJax for the site: fetched with npm, checked against the pinned SHA-256, unpacked locally."""

from __future__ import annotations

import os

import pytest

from autograder.site.mathjax import (
    MATHJAX_ENV,
    MATHJAX_SHA256,
    TARBALL,
    MathJaxError,
    install_mathjax,
    mathjax_tarball,
)
from utilities.data import sha256_of


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    """The real tarball, fetched once with ``npm pack`` from the npm registry."""
    return mathjax_tarball(tmp_path_factory.mktemp("mathjax-cache"))


def test_npm_pack_gives_the_pinned_release(tarball):
    assert tarball.name == TARBALL
    assert sha256_of(tarball) == MATHJAX_SHA256


def test_a_cached_tarball_is_used_without_fetching(tarball, monkeypatch):
    monkeypatch.setenv("PATH", "")  # no npm: the cache must be enough
    assert mathjax_tarball(tarball.parent) == tarball


def test_a_local_copy_is_verified_before_it_is_cached(tarball, tmp_path, monkeypatch):
    monkeypatch.setenv(MATHJAX_ENV, str(tarball))
    copied = mathjax_tarball(tmp_path / "cache")
    assert sha256_of(copied) == MATHJAX_SHA256


def test_a_tampered_copy_is_refused_and_not_cached(tarball, tmp_path, monkeypatch):
    tampered = tmp_path / TARBALL
    tampered.write_bytes(tarball.read_bytes()[:-10] + b"0123456789")
    monkeypatch.setenv(MATHJAX_ENV, str(tampered))
    with pytest.raises(MathJaxError, match=r"SHA-256 .* is not the pinned MathJax 3\.2\.2"):
        mathjax_tarball(tmp_path / "cache")
    assert os.listdir(tmp_path / "cache") == []


def test_a_missing_copy_names_the_setting(tmp_path, monkeypatch):
    monkeypatch.setenv(MATHJAX_ENV, str(tmp_path / "nowhere.tgz"))
    with pytest.raises(MathJaxError, match=f"nowhere.tgz: no such file.*{MATHJAX_ENV}"):
        mathjax_tarball(tmp_path / "cache")


def test_without_npm_the_error_says_what_to_install_or_set(tmp_path, monkeypatch):
    monkeypatch.delenv(MATHJAX_ENV, raising=False)
    monkeypatch.setenv("PATH", "")
    with pytest.raises(MathJaxError, match=f"npm is not installed.*{MATHJAX_ENV}"):
        mathjax_tarball(tmp_path / "cache")


def test_install_unpacks_the_browser_build_with_its_fonts(tarball, tmp_path):
    entry = install_mathjax(tarball.parent, tmp_path)
    assert entry == "mathjax/tex-chtml.js"
    assert (tmp_path / entry).stat().st_size > 100_000
    assert list((tmp_path / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    assert not (tmp_path / "mathjax" / "package.json").exists()  # only es5/, flattened
