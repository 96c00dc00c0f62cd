"""``coursekit``: the instructor's command line, a thin layer over the products."""

from autograder.cli.main import main

__all__ = ["main"]
