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
    assert settings.grading.gradebook_url == "postgresql://grader@db/course"
    assert settings.grading.scheduler == "tcp://10.0.0.5:8786"
    assert settings.debug is True
    assert Settings.from_environment({Env.DEBUG: "0"}).debug is False
    assert Settings.from_environment({}) == DEFAULTS


def test_the_split_defaults_add_up():
    assert 0 < DEFAULTS.test_size < DEFAULTS.total_images == 70_000
    assert 0 < DEFAULTS.public_fraction < 1


# Each command-line flag with a default, and where the settings object holds that default.
CLI_DEFAULTS = {
    ("data", "build", "--out"): lambda s: s.course_data,
    ("data", "build", "--seed"): lambda s: s.seed,
    ("data", "build", "--public-fraction"): lambda s: s.public_fraction,
    ("data", "import", "--out"): lambda s: s.course_data,
    ("submission", "check", "--rows"): lambda s: s.test_size,
    ("grade", "--course-root"): lambda s: s.course_root,
    ("grade", "--course-data"): lambda s: s.course_data,
    ("grade", "--workers"): lambda s: s.grading.workers,
    ("grade", "--force"): lambda s: s.grading.force,
    ("grade", "--db"): lambda s: s.grading.gradebook_url,
    ("grade", "--cell-timeout"): lambda s: s.grading.limits.cell_timeout,
    ("grade", "--notebook-timeout"): lambda s: s.grading.limits.notebook_timeout,
    ("grade", "--progress"): lambda s: s.grading.progress,
    ("grade", "--scheduler"): lambda s: s.grading.scheduler,
    ("grade", "--warm-kernels"): lambda s: s.grading.warm_kernels,
    ("review", "--db"): lambda s: s.grading.gradebook_url,
    ("grades", "late", "--grace-minutes"): lambda s: s.late.grace_minutes,
    ("grades", "late", "--per-day"): lambda s: s.late.percent_per_day,
    ("grades", "late", "--cap"): lambda s: s.late.cap_percent,
    ("grades", "late", "--timezone"): lambda s: s.late.timezone,
    ("grades", "late", "--trust-file-times"): lambda s: s.late.trust_file_times,
    ("leaderboard", "--daily-limit"): lambda s: s.leaderboard.daily_limit,
    ("leaderboard", "--max-upload-bytes"): lambda s: s.leaderboard.max_upload_bytes,
    ("book", "--book-dir"): lambda s: s.book_dir,
    ("book", "--repository-url"): lambda s: s.book_repository,
    ("release", "--course-root"): lambda s: s.course_root,
}


def _option(parser, path: tuple[str, ...]):
    """The argparse action of option ``path[-1]`` under the subcommands ``path[:-1]``."""
    import argparse

    for name in path[:-1]:
        (choices,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        parser = choices.choices[name]
    (action,) = [a for a in parser._actions if path[-1] in a.option_strings]
    return action


def test_every_command_line_default_is_the_settings_objects_own():
    """Defaults are written once: in Settings (and the sandbox's limits), never in the CLI."""
    from dataclasses import replace

    from autograder.cli.main import build_parser
    from autograder.grading.sandbox import SandboxLimits
    from autograder.settings import GradingOptions, LatePolicy, LeaderboardOptions

    odd = Settings(
        course_data=Path("/odd/data"),
        course_root=Path("/odd/course"),
        book_dir=Path("/odd/book"),
        book_repository="https://example.org/odd",
        seed=7,
        public_fraction=0.25,
        test_size=1234,
        grading=GradingOptions(
            workers=13,
            limits=replace(SandboxLimits(), cell_timeout=77, notebook_timeout=777),
            gradebook_url="sqlite:///odd.db",
            scheduler="tcp://odd:1",
            warm_kernels=False,
            progress=False,
        ),
        leaderboard=LeaderboardOptions(daily_limit=9, max_upload_bytes=4321),
        late=LatePolicy(
            grace_minutes=3,
            percent_per_day=7.5,
            cap_percent=33.0,
            timezone="Europe/Oslo",
            trust_file_times=True,
        ),
    )
    for settings in (DEFAULTS, odd):
        parser = build_parser(settings)
        for path, wanted in CLI_DEFAULTS.items():
            assert _option(parser, path).default == wanted(settings), path


def test_no_command_line_module_writes_a_default_number_of_its_own():
    """The timeouts, worker counts and limits appear as numbers only in settings and limits."""
    cli = REPO / "autograder" / "cli"
    for path in cli.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for number in ("120", "900", "cpu_count", "1 << 20", "default=5"):
            assert number not in text, (path.name, number)
