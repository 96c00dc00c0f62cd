"""nbgrader's region markers (``### BEGIN SOLUTION`` and friends), in one place.

The delimiters are nbgrader's own configurable traits
(``ClearSolutions.begin_solution_delimeter``, ``ClearHiddenTests.begin_test_delimeter``,
``ClearMarkingScheme.begin_mark_scheme_delimeter`` and their ``end_`` pairs).
:func:`course_markers` reads them from a course's ``nbgrader_config.py``, so
the release's leak check, the feedback's redaction and the demo class use
the markers the course actually configured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

CONFIG_FILE = "nbgrader_config.py"


@dataclass(frozen=True)
class Markers:
    """The six delimiters; a line holding one of them opens or closes a region."""

    begin_solution: str = "BEGIN SOLUTION"
    end_solution: str = "END SOLUTION"
    begin_hidden_tests: str = "BEGIN HIDDEN TESTS"
    end_hidden_tests: str = "END HIDDEN TESTS"
    begin_mark_scheme: str = "BEGIN MARK SCHEME"
    end_mark_scheme: str = "END MARK SCHEME"

    def all(self) -> tuple[str, ...]:
        return (
            self.begin_solution,
            self.end_solution,
            self.begin_hidden_tests,
            self.end_hidden_tests,
            self.begin_mark_scheme,
            self.end_mark_scheme,
        )

    def hidden_region(self) -> re.Pattern[str]:
        """Whole hidden-test regions, from the begin line to the end line (included)."""
        begin, end = map(re.escape, (self.begin_hidden_tests, self.end_hidden_tests))
        return re.compile(
            rf"^[^\n]*{begin}[^\n]*\n.*?^[^\n]*{end}[^\n]*\n?|^[^\n]*{begin}[^\n]*\n.*\Z",
            re.DOTALL | re.MULTILINE,
        )

    def secret_regions(self) -> re.Pattern[str]:
        """The body of every solution and hidden-test region (group ``body``)."""
        pairs = (
            (self.begin_solution, self.end_solution),
            (self.begin_hidden_tests, self.end_hidden_tests),
        )
        alternatives = "|".join(
            rf"{re.escape(begin)}[^\n]*\n(?P<body{index}>.*?)^[^\n]*{re.escape(end)}"
            for index, (begin, end) in enumerate(pairs)
        )
        return re.compile(alternatives, re.DOTALL | re.MULTILINE)

    def secret_bodies(self, text: str) -> list[str]:
        """The text inside every solution and hidden-test region of ``text``."""
        return [
            next(body for body in match.groups() if body is not None)
            for match in self.secret_regions().finditer(text)
        ]


DEFAULT_MARKERS = Markers()


def course_markers(course_root: Path) -> Markers:
    """The markers a course's ``nbgrader_config.py`` sets (nbgrader's defaults otherwise)."""
    from traitlets.config.loader import PyFileConfigLoader

    path = Path(course_root) / CONFIG_FILE
    if not path.is_file():
        return DEFAULT_MARKERS
    return markers_from_config(PyFileConfigLoader(CONFIG_FILE, path=str(path.parent)).load_config())


def markers_from_config(config) -> Markers:
    """The markers a traitlets ``Config`` sets (nbgrader's defaults where it sets none)."""

    def trait(section: str, name: str, default: str) -> str:
        value = config.get(section, {}).get(name, default)
        return value if isinstance(value, str) and value.strip() else default

    return Markers(
        trait("ClearSolutions", "begin_solution_delimeter", DEFAULT_MARKERS.begin_solution),
        trait("ClearSolutions", "end_solution_delimeter", DEFAULT_MARKERS.end_solution),
        trait("ClearHiddenTests", "begin_test_delimeter", DEFAULT_MARKERS.begin_hidden_tests),
        trait("ClearHiddenTests", "end_test_delimeter", DEFAULT_MARKERS.end_hidden_tests),
        trait(
            "ClearMarkingScheme", "begin_mark_scheme_delimeter", DEFAULT_MARKERS.begin_mark_scheme
        ),
        trait("ClearMarkingScheme", "end_mark_scheme_delimeter", DEFAULT_MARKERS.end_mark_scheme),
    )
