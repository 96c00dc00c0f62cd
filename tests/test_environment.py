"""The environment: pyproject.toml and environment.yml pin the same packages, and they install."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from conftest import REPO

NOT_PACKAGES = {"python", "pip"}


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _pyproject_requirements() -> dict[str, SpecifierSet]:
    """Every package of the base install and the extras (an extra naming the kit is followed)."""
    project = _pyproject()["project"]
    lines = project["dependencies"] + [
        line for extra in project["optional-dependencies"].values() for line in extra
    ]
    requirements = {}
    for requirement in map(Requirement, lines):
        name = canonicalize_name(requirement.name)
        if name == "coursekit":
            continue
        if name == "dask" and "distributed" in requirement.extras:
            requirements["distributed"] = requirement.specifier  # conda: a package of its own
        requirements[name] = requirement.specifier
    return requirements


def _environment_requirements() -> tuple[dict[str, SpecifierSet], SpecifierSet]:
    environment = yaml.safe_load((REPO / "environment.yml").read_text())
    assert environment["channels"] == ["conda-forge"]
    conda, pip = [], []
    for entry in environment["dependencies"]:
        if isinstance(entry, dict):
            pip += [line for line in entry["pip"] if not line.startswith("-e")]
        else:
            conda.append(entry)
    python = next(Requirement(e) for e in conda if Requirement(e).name == "python")
    packages = {}
    for line in conda + pip:
        requirement = Requirement(line)
        if requirement.name not in NOT_PACKAGES:
            name = canonicalize_name(requirement.name)
            assert name not in packages, f"{name} is listed twice in environment.yml"
            packages[name] = requirement.specifier
    return packages, python.specifier


def test_environment_yml_lists_the_same_packages_and_versions_as_pyproject():
    packages, _ = _environment_requirements()
    expected = _pyproject_requirements()
    assert sorted(packages) == sorted(expected)
    for name, specifier in expected.items():
        assert packages[name] == specifier, (
            f"{name}: environment.yml {packages[name]} != {specifier}"
        )


def test_environment_yml_uses_the_same_python_as_pyproject():
    _, python = _environment_requirements()
    assert python == SpecifierSet(_pyproject()["project"]["requires-python"])


def test_environment_yml_installs_the_kit_itself():
    environment = yaml.safe_load((REPO / "environment.yml").read_text())
    pip = next(entry["pip"] for entry in environment["dependencies"] if isinstance(entry, dict))
    assert "-e ." in pip


def test_pinned_core_versions_are_the_ones_the_kit_targets():
    pins = _pyproject_requirements()
    assert "2.21.0" in pins["tensorflow"] and "2.22.0" not in pins["tensorflow"]
    assert "3.15.1" in pins["keras"] and "4.0" not in pins["keras"]
    assert "0.9.6" in pins["nbgrader"] and "0.10.0" not in pins["nbgrader"]
    assert "1.0.4" in pins["jupyter-book"] and "2.0.0" not in pins["jupyter-book"]
    assert "4.2.0" in pins["jupyterlab"] and "5.0.0" not in pins["jupyterlab"]


def test_installed_packages_satisfy_every_pin():
    result = subprocess.run(
        [sys.executable, "-m", "pip", "check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_kit_exposes_the_coursekit_console_script():
    assert _pyproject()["project"]["scripts"] == {"coursekit": "autograder.cli.main:main"}
