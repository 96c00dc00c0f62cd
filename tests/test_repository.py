"""The repository's contract: two README commands, and CI runs the README's test command."""

from __future__ import annotations

import re

from conftest import REPO


def test_readme_gives_exactly_two_setup_commands():
    readme = (REPO / "README.md").read_text()
    block = readme.split("## Two commands", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make demo", "make test"]


def test_ci_runs_the_readme_test_command_against_the_shared_mirror():
    script = (REPO / ".ci" / "run").read_text()
    assert re.search(r"^make test$", script, re.MULTILINE)
    assert 'COURSEKIT_DATA_MIRROR="$(cd .. && pwd)/shared/data"' in script


def test_both_commands_create_the_virtual_environment_when_missing():
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^demo: venv system-packages-demo$", makefile, re.MULTILINE)
    assert re.search(r"^test: lint system-packages-test$", makefile, re.MULTILINE)
    assert re.search(r"^lint: venv$", makefile, re.MULTILINE)
    assert "-m venv $(VENV)" in makefile


def test_both_commands_install_the_system_packages_they_need_when_missing():
    script = (REPO / "scripts" / "system-packages.sh").read_text()
    for package in ("bubblewrap", "npm", "chromium", "poppler-utils", "util-linux"):
        assert f"={package}" in script, package
    assert "apt-get install" in script and "sudo -n true" in script
    ci = (REPO / ".ci" / "run").read_text()
    assert "apt-get" not in ci and ci.rstrip().endswith("make test")


def test_make_clean_never_deletes_the_private_answer_key():
    makefile = (REPO / "Makefile").read_text()
    clean = makefile.split("\nclean:", 1)[1]
    assert "data" not in clean.split("\n", 2)[1]


def test_generated_private_files_are_git_ignored():
    ignored = (REPO / ".gitignore").read_text().splitlines()
    assert "/data/" in ignored and "private/" in ignored
    assert "/assignments/grading/" in ignored and "/assignments/gradebook.db" in ignored


def test_make_demo_ends_with_the_website_and_prints_where_everything_is():
    demo = (REPO / "Makefile").read_text().split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    steps = [line.split()[1] for line in demo.splitlines() if "/coursekit " in line]
    assert steps == [
        "data",
        "data",
        "release",
        "demo-class",
        "leaderboard",  # the three days of uploads
        "leaderboard",  # closed at the deadline: final.csv, so that grading adds BEAT ME points
        "grades",  # the due date and the extensions: late penalties
        "grade",
        "report",  # the teaching team's pages: the class report and the similarity page
        "similarity",
        "book",
    ]
    closing = [line for line in demo.splitlines() if "coursekit leaderboard" in line][1]
    assert "--deadline" in closing and "--submissions" not in closing
    printed = demo.split("Demo finished.", 1)[1]
    for where in ("grades_lms.csv", "feedback/STUDENT", "leaderboard.md", "book/_build/html"):
        assert where in printed
