"""The environment: environment.yml is the student install of pyproject.toml, for conda and Binder.

``environment.yml`` is what the course site's conda way and Binder's launch buttons build: the
packages of ``pip install "coursekit[student]"`` at the same versions, the kit itself from
the repository. Where conda is installed, ``tests/test_student_path.py`` also follows the
site's conda instructions for real.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from autograder.site.downloads import LOCAL_KIT, CourseRepository, conda_environment
from conftest import REPO

NOT_PACKAGES = {"python", "pip"}
# How repo2docker (Binder) reads the Python version: only from `python=X.Y` (its PYTHON_REGEX).
BINDER_PYTHON = re.compile(r"python\s*=+\s*([\d\.]*)")


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _requirements(extra: str | None) -> dict[str, SpecifierSet]:
    """Every package of the base install and of ``extra``, following extras that name the kit."""
    project = _pyproject()["project"]
    lines = list(project["dependencies"])
    pending = [extra] if extra else []
    while pending:
        for line in project["optional-dependencies"][pending.pop()]:
            requirement = Requirement(line)
            if canonicalize_name(requirement.name) == "coursekit":
                pending += sorted(requirement.extras)
            else:
                lines.append(line)
    return {canonicalize_name(r.name): r.specifier for r in map(Requirement, lines)}


def _conda_requirement(line: str) -> tuple[str, SpecifierSet]:
    """A conda or pip line as (name, versions); conda's ``NAME=X.Y`` means X.Y.*."""
    conda_pin = re.fullmatch(r"([\w.-]+)=([\d.]+)", line)
    if conda_pin:
        return conda_pin.group(1), SpecifierSet(f"=={conda_pin.group(2)}.*")
    requirement = Requirement(line)
    return requirement.name, requirement.specifier


def _environment() -> dict:
    return yaml.safe_load((REPO / "environment.yml").read_text())


def _environment_lines() -> tuple[list[str], list[str]]:
    """The conda packages and the pip lines of environment.yml."""
    conda, pip = [], []
    for entry in _environment()["dependencies"]:
        if isinstance(entry, dict):
            pip += entry["pip"]
        else:
            conda.append(entry)
    return conda, pip


def test_environment_yml_installs_exactly_the_student_install_at_the_same_versions():
    conda, pip = _environment_lines()
    packages = {}
    for line in conda + [line for line in pip if not line.startswith("-e ")]:
        name, specifier = _conda_requirement(line)
        if name not in NOT_PACKAGES:
            name = canonicalize_name(name)
            assert name not in packages, f"{name} is listed twice in environment.yml"
            packages[name] = specifier
    expected = _requirements("student")
    assert sorted(packages) == sorted(expected)
    for name, specifier in expected.items():
        assert packages[name] == specifier, (
            f"{name}: environment.yml {packages[name]} != {specifier}"
        )


def test_environment_yml_installs_the_kit_from_the_repository_with_the_student_extra():
    _, pip = _environment_lines()
    assert LOCAL_KIT in pip
    assert "student" in _pyproject()["project"]["optional-dependencies"]
    assert _environment()["channels"] == ["conda-forge"]


def test_environment_yml_pins_one_python_that_the_kit_supports_in_the_form_binder_reads():
    conda, _ = _environment_lines()
    (python,) = [line for line in conda if _conda_requirement(line)[0] == "python"]
    match = BINDER_PYTHON.match(python)
    assert match and match.group(1).count(".") == 1, f"Binder cannot read {python!r}"
    assert match.group(1) in SpecifierSet(_pyproject()["project"]["requires-python"])


def test_binder_reads_environment_yml_at_the_top_of_the_repository():
    # repo2docker prefers binder/ or .binder/ when one exists; neither may shadow the top file.
    assert not (REPO / "binder").exists() and not (REPO / ".binder").exists()
    assert (REPO / "environment.yml").is_file()


def test_the_sites_conda_file_differs_only_in_where_the_kit_comes_from(tmp_path):
    repository = CourseRepository("https://github.com/coursekit-org/cnn-assignment", "main")
    offered = yaml.safe_load(conda_environment(REPO / "environment.yml", repository))
    repository_file = _environment()
    *conda, offered_pip = offered["dependencies"]
    *repository_conda, repository_pip = repository_file["dependencies"]
    assert conda == repository_conda and offered["name"] == repository_file["name"]
    changed = [
        (ours, theirs)
        for ours, theirs in zip(offered_pip["pip"], repository_pip["pip"], strict=True)
        if ours != theirs
    ]
    assert changed == [(repository.requirement(), LOCAL_KIT)]


def test_the_instructor_install_includes_the_student_install():
    student, instructor = _requirements("student"), _requirements("instructor")
    assert {name: instructor.get(name) for name in student} == student


def test_pinned_core_versions_are_the_ones_the_kit_targets():
    pins = _requirements("dev")
    assert "2.21.0" in pins["tensorflow"] and "2.22.0" not in pins["tensorflow"]
    assert "3.15.1" in pins["keras"] and "4.0" not in pins["keras"]
    assert "0.9.6" in pins["nbgrader"] and "0.10.0" not in pins["nbgrader"]
    assert "1.0.4" in pins["jupyter-book"] and "2.0.0" not in pins["jupyter-book"]
    assert "4.2.0" in pins["jupyterlab"] and "5.0.0" not in pins["jupyterlab"]


@pytest.mark.integration
def test_installed_packages_satisfy_every_pin():
    result = subprocess.run(
        [sys.executable, "-m", "pip", "check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_kit_exposes_the_coursekit_console_script():
    assert _pyproject()["project"]["scripts"] == {"coursekit": "autograder.cli.main:main"}
