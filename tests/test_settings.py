"""One settings object: every default once, every variable named once and documented."""

from __future__ import annotations

import re
from pathlib import Path

from autograder.settings import DEFAULTS, INTERNAL_VARIABLES, Env, Settings
from utilities.data import CACHE_ENV, MIRROR_ENV, OFFLINE_ENV
from utilities.handin import CHROMIUM_ENV
from utilities.runmode import FAST_MODE_ENV

REPO = Path(__file__).resolve().parents[1]


def test_the_students_variables_are_the_ones_utilities_reads():
    assert Env.DATA_MIRROR == MIRROR_ENV
    assert Env.CACHE_DIR == CACHE_ENV
    assert Env.OFFLINE == OFFLINE_ENV
    assert Env.FAST_MODE == FAST_MODE_ENV
    assert Env.CHROMIUM == CHROMIUM_ENV


def test_every_variable_the_kit_reads_is_named_in_settings_and_nowhere_else():
    literal = re.compile(r"""["'](COURSEKIT_[A-Z_]+)["']""")
    found: dict[str, list[str]] = {}
    for folder in ("autograder", "utilities"):
        for path in (REPO / folder).rglob("*.py"):
            if path == REPO / "autograder" / "settings.py":
                continue
            for name in literal.findall(path.read_text(encoding="utf-8")):
                found.setdefault(name, []).append(str(path.relative_to(REPO)))
    known = {*Env, *INTERNAL_VARIABLES}
    assert not {name: where for name, where in found.items() if name not in known}
    students = {MIRROR_ENV, CACHE_ENV, OFFLINE_ENV, FAST_MODE_ENV, CHROMIUM_ENV}
    # Only utilities (which students install without autograder) spells a variable out.
    assert all(
        all(where.startswith("utilities/") for where in found[name])
        for name in found
        if name not in INTERNAL_VARIABLES
    )
    assert set(found) - set(INTERNAL_VARIABLES) <= students


def test_the_readme_documents_exactly_the_settings():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("### Settings") :]
    table = table[: table.index("\n## ")]
    documented = set(re.findall(r"^\| `(COURSEKIT_[A-Z_]+)` \|", table, re.M))
    assert documented == {str(variable) for variable in Env}


def test_the_environment_changes_the_defaults_and_empty_values_do_not():
    settings = Settings.from_environment(
        {
            Env.COURSE_DATA: "/srv/course-data",
            Env.COURSE_ROOT: "",
            Env.GRADEBOOK_URL: "postgresql://grader@db/course",
            Env.DASK_SCHEDULER: "tcp://10.0.0.5:8786",
            Env.DEBUG: "1",
        }
    )
    assert settings.course_data == Path("/srv/course-data")
    assert settings.course_root == DEFAULTS.course_root
    assert settings.gradebook_url == "postgresql://grader@db/course"
    assert settings.scheduler == "tcp://10.0.0.5:8786"
    assert settings.debug is True
    assert Settings.from_environment({Env.DEBUG: "0"}).debug is False
    assert Settings.from_environment({}) == DEFAULTS


def test_the_split_defaults_add_up():
    assert 0 < DEFAULTS.test_size < DEFAULTS.total_images == 70_000
    assert 0 < DEFAULTS.public_fraction < 1
