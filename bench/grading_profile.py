"""Where a grading run's seconds went, per student: ``python bench/grading_profile.py GRADING_DIR``.

Reads the records ``coursekit grade`` wrote (``COURSE_ROOT/grading/ASSIGNMENT``)
and prints, for each phase of grading one student (preparing the scratch
course, preflight, nbgrader's start, autograde, and within it each notebook's
kernel start, guard install, cells and tests; feedback), the median and the
slowest, over the students graded in that run.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from autograder.grading.pipeline.records import load_records
from autograder.layout import GradingFolder


def profile_table(grading_dir: Path) -> str:
    """The per-phase median and maximum, as a Markdown table."""
    records = [r for r in load_records(GradingFolder(grading_dir)).values() if r.profile]
    if not records:
        return f"{grading_dir}: no records with a profile (graded before profiles were kept?)"
    phases = list(dict.fromkeys(phase for record in records for phase in record.profile))
    lines = [
        f"{len(records)} students; seconds per student",
        "",
        "| phase | median | slowest | slowest student |",
        "|:---|---:|---:|:---|",
    ]
    for phase in [*phases, "whole student"]:
        values = {
            record.student: record.seconds if phase == "whole student" else record.profile[phase]
            for record in records
            if phase == "whole student" or phase in record.profile
        }
        slowest = max(values, key=values.get)
        lines.append(
            f"| {phase} | {statistics.median(values.values()):.1f} | "
            f"{values[slowest]:.1f} | {slowest} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("grading_dir", type=Path, help="COURSE_ROOT/grading/ASSIGNMENT")
    print(profile_table(parser.parse_args().grading_dir))


if __name__ == "__main__":
    main()
