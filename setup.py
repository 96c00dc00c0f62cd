"""Build hook: ship the course, the book's pages and the benchmark tables inside the wheel.

They live at the repository's top level (``assignments/``, ``book/``, ``bench/results.md``),
where instructors edit them. When a wheel is built, this copies what
``autograder.resources.SHIPPED`` lists into ``autograder/bundled/`` of the build, so an
installed kit finds them with importlib.resources. Everything else is in pyproject.toml.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithBundledFiles(build_py):
    """build_py, then the bundled files into the built package (never into the checkout)."""

    def run(self):
        super().run()
        if self.editable_mode:
            return  # an editable install reads the checkout's own folders
        import sys

        sys.path.insert(0, str(ROOT))
        from autograder.resources import BUNDLE_DIR, Bundled, copy_shipped

        for item in Bundled:
            target = Path(self.build_lib) / "autograder" / BUNDLE_DIR / item.value
            copy_shipped(item, ROOT / item.value, target, overwrite=True)


setup(cmdclass={"build_py": BuildWithBundledFiles})
