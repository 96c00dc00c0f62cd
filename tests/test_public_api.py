"""What `from utilities import *` gives students: a small, documented surface."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import utilities


def test_star_import_gives_exactly_the_documented_names():
    namespace: dict = {}
    exec("from utilities import *", namespace)
    names = sorted(name for name in namespace if not name.startswith("__"))
    assert names == sorted(utilities.__all__)


def test_every_public_name_is_listed_in_the_package_docstring_and_documented():
    for name in utilities.__all__:
        assert name in utilities.__doc__, name
        value = getattr(utilities, name)
        if callable(value):
            assert inspect.getdoc(value), f"{name} has no docstring"


def test_the_main_functions_follow_numpydoc_sections():
    for name in ("load_mnist", "load_fashion_mnist", "make_submission", "validate_submission"):
        doc = inspect.getdoc(getattr(utilities, name))
        assert "Parameters\n----------" in doc, name
        assert "Returns\n-------" in doc, name


@pytest.mark.integration
def test_checking_a_submission_does_not_import_tensorflow():
    code = "import sys, utilities.submission; print('tensorflow' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_unknown_names_raise_attribute_error():
    try:
        utilities.load_cifar  # noqa: B018
    except AttributeError as error:
        assert "load_cifar" in str(error)
    else:
        raise AssertionError("utilities.load_cifar should not exist")
