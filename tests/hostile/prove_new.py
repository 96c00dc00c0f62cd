"""Run hostile wave 3 (wave3.py) against the CURRENT grading code; print what each attack did.

Usage, in this tree (its venv, the dataset mirror, a course data build)::

    cd /work/main && export PATH=/work/main/.venv/bin:$PATH COURSEKIT_DATA_MIRROR=/work/shared/data
    python tests/hostile/prove_new.py [--course-data data/course] [--workdir DIR] \\
        [--only ID,ID] [--phases leaderboard,grade,kernel] [--workers 1] [--protections-off]

The same three phases as ``prove_old.py``, one attack at a time, and the same
measurements, through this tree's ``coursekit`` and executor:

1. ``leaderboard``: teams registered as a course would (``--register``:
   ``ADAM``, ``Lookup`` and ``Honest``, each with one member), then the uploads
   of the leaderboard attacks, one ``coursekit leaderboard`` run per upload
   time, and a final run past the deadline. ``Lookup``'s member and
   ``Honest``'s member hand in a real trained ``fashion_model.keras`` (the demo
   class's model) with Part 2 in phase 2; Honest uploads that model's own
   predictions (the control: the bonus must be paid there);
2. ``grade``: one student per notebook attack of ``WAVE`` and ``EXTRAS``, and
   the controls, made from this tree's release (with the source's solutions
   where the attack says so), graded by ``coursekit grade --workers 1`` (every
   kernel as grading slot 0's user, as the old run did). Points come from the
   gradebook, leaks from the students' own feedback pages, the bonus from
   ``grades_lms.csv``;
3. ``kernel``: the small notebooks through this tree's ``SandboxedExecute`` in
   the real sandbox, each attack in a process of its own (its peak memory, and
   for ``o6-sockets`` the private capped tmpfs that a grading worker makes for
   its kernel folders). ``--protections-off`` runs each again with the
   protection that should stop it switched off (seccomp, the notebook output
   cap, the kernel-folder cap), to show that the attack itself works.

It prints one line per attack and writes ``results.json`` in the work folder.
It is the evidence for README.md's "after" table; it is not part of the test suite.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path[:0] = [str(HERE), str(REPO / "tests"), str(REPO)]
import wave3  # noqa: E402
from prove_old import (  # noqa: E402
    KEYRING_CLEANUP,
    Watcher,
    check_sources,
    feedback_text,
    lookup_labels,
    noisy_labels,
    read_csv,
    say,
    students_of,
    write_upload,
)

ASSIGNMENT = "cnn"
ATTACKS = {**wave3.BY_ID, **wave3.EXTRA_BY_ID}
#: Registered teams (name -> member) and the students who hand in a model for the bonus check.
LOOKUP_MEMBER, HONEST_MEMBER, ADAM_MEMBER = "lookup-member", "honest-member", "adam-member"
HONEST_TEAM = "Honest"
TEAMS = {"ADAM": ADAM_MEMBER, wave3.LOOKUP_TEAM: LOOKUP_MEMBER, HONEST_TEAM: HONEST_MEMBER}
HONEST_UPLOAD_AT = wave3.DAY.format(21)
CONTROL_OF = {**wave3.CONTROL_OF, "h3-cache-solutions": "c-empty"}
# The students of the bonus check: Part 2 with the source's solutions, and the demo model.
MODEL_STUDENTS = (LOOKUP_MEMBER, HONEST_MEMBER)


# ---- shared ------------------------------------------------------------------------------------


def coursekit(*args: str, log: Path) -> float:
    """Run this tree's ``coursekit``; its output goes to ``log``; the seconds it took."""
    command = [str(Path(sys.executable).parent / "coursekit"), *args]
    started = time.monotonic()
    with open(log, "ab") as stream:
        stream.write(f"\n$ {' '.join(command)}\n".encode())
        stream.flush()
        result = subprocess.run(command, stdout=stream, stderr=subprocess.STDOUT, cwd=REPO)
    if result.returncode:
        raise SystemExit(f"coursekit {args[0]} failed ({result.returncode}); see {log}")
    return time.monotonic() - started


def course_copy(work: Path) -> Path:
    """This tree's course (source, nbgrader config) released by nbgrader in ``work/course``.

    A leaderboard already there (an earlier run's phase 1) is kept, for the grade phase.
    """
    from autograder.course.folder import DEFAULT_COURSE_ROOT, run_nbgrader, scratch_course

    course = work / "course"
    course.mkdir(parents=True, exist_ok=True)
    for entry in course.iterdir():
        if entry.name != "leaderboard":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    scratch_course(DEFAULT_COURSE_ROOT, ASSIGNMENT, course)
    run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    return course


def demo_model(course_data: Path):
    """The demo class's trained Fashion-MNIST model (trained once, about 20 s, then cached)."""
    from autograder.demo.uploads import demo_model as trained
    from utilities.data import default_cache_dir

    return trained(course_data / "public" / "Fashion_MNIST.h5", default_cache_dir())


# ---- phase 1: the leaderboard ------------------------------------------------------------------


def leaderboard_phase(work: Path, course: Path, data: Path, attacks, results: dict) -> None:
    from autograder.course.dataset import load_answer_key

    key = load_answer_key(data / "private" / "answer_key.csv")
    log = work / "leaderboard.log"
    uploads_root = work / "uploads"
    shutil.rmtree(uploads_root, ignore_errors=True)
    lookup, unmatched = lookup_labels(data / "public" / "Fashion_MNIST.h5")
    model = demo_model(data)
    times: dict[str, Path] = {}

    def upload(team: str, predictions, at: str) -> None:
        folder = uploads_root / at.replace(":", "-").replace("+00-00", "")
        write_upload(folder / f"{team}.csv", list(predictions))
        times[at] = folder

    for attack in attacks:
        for number, one in enumerate(attack.uploads):
            if one.predictions == "lookup":
                predictions = lookup
            else:
                percent = int(one.predictions.split(":")[1])
                predictions = noisy_labels(key["Label"], percent, seed=number + percent)
            upload(one.team, predictions, one.at)
    upload(HONEST_TEAM, model.predictions.tolist(), HONEST_UPLOAD_AT)  # the control
    board = course / "leaderboard" / ASSIGNMENT
    shutil.rmtree(board, ignore_errors=True)
    started = time.monotonic()
    common = ["--course-root", str(course), "--course-data", str(data)]
    for team, member in TEAMS.items():
        coursekit(
            "leaderboard", ASSIGNMENT, *common, "--register", team, "--members", member, log=log
        )
    for at in sorted(times):
        folder = times[at]
        coursekit(
            "leaderboard", ASSIGNMENT, "--submissions", str(folder), *common, "--now", at, log=log
        )
    coursekit(
        "leaderboard",
        ASSIGNMENT,
        *common,
        "--deadline",
        wave3.DEADLINE,
        "--now",
        wave3.FINAL_RUN,
        log=log,
    )
    seconds = time.monotonic() - started
    history = read_csv(board / "history.csv")
    table = read_csv(board / "leaderboard.csv")
    final = read_csv(board / "final.csv")
    beat_me = next(row for row in table if row["team"].lstrip("'").startswith("BEAT ME"))
    for attack in attacks:
        effect = {"seconds": round(seconds, 1), "phase": "leaderboard"}
        teams = {one.team for one in attack.uploads}
        rows = [row for row in history if row["team"].lstrip("'") in teams]
        if attack.id == "l7-beatme-lookalike":
            row = rows[0]
            effect.update(
                status=row["status"],
                reason=row["reason"],
                earned=row["status"] == "scored",
                layer="team names by ICU confusable skeleton (leaderboard/names.py)",
                summary=f"{row['team']!r} {row['status']}: {row['reason']}",
            )
        elif attack.id == "l7-twins":
            keys = {row["team_key"] for row in rows}
            scored = sum(row["status"] == "scored" for row in rows)
            over = [row["reason"] for row in rows if row["status"] != "scored"]
            standing = [row for row in table if row.get("team_key", "") in keys] or [
                row for row in table if row["team"].lstrip("'") in teams
            ]
            effect.update(
                team_keys=sorted(keys),
                scored_same_day=scored,
                rows_on_board=len(standing),
                earned=scored > 5,
                layer="one team key for both spellings: one daily limit (leaderboard/names.py)",
                summary=(
                    f"{len(rows)} uploads as {sorted(teams)} count as {len(keys)} team "
                    f"(key {sorted(keys)}): {scored} scored on one day (limit 5), "
                    f"{len(over)} not ({over[0] if over else ''}); {len(standing)} row(s) "
                    "on the board"
                ),
            )
        elif attack.id == "l7-lookup":
            row = next(r for r in table if r["team"].lstrip("'") == wave3.LOOKUP_TEAM)
            mine = next(r for r in final if r["team"].lstrip("'") == wave3.LOOKUP_TEAM)
            effect.update(
                unmatched_images=unmatched,
                rank=row["rank"],
                private_accuracy=float(row["private_accuracy"]),
                beat_me_private=float(beat_me["private_accuracy"]),
                beats_beat_me=mine["beats_beat_me"],
                board_summary=(
                    f"on the board: rank {row['rank']}, private accuracy "
                    f"{float(row['private_accuracy']):.2%} (BEAT ME "
                    f"{float(beat_me['private_accuracy']):.2%}); {unmatched} of 10,500 test "
                    "images not found"
                ),
                summary="(the bonus is read in the grade phase)",
            )
        results[attack.id] = effect
    honest = next(r for r in table if r["team"].lstrip("'") == HONEST_TEAM)
    results["c-honest"] = {
        "phase": "leaderboard",
        "rank": honest["rank"],
        "private_accuracy": float(honest["private_accuracy"]),
        "summary": (
            f"its model's own predictions: rank {honest['rank']}, private accuracy "
            f"{float(honest['private_accuracy']):.2%}"
        ),
    }
    for name in ("history.csv", "leaderboard.csv", "final.csv", "leaderboard.md", "teams.csv"):
        shutil.copy(board / name, work / f"leaderboard-{name}")


# ---- phase 2: coursekit grade ------------------------------------------------------------------


def apply_edit(notebook, edit: wave3.NotebookEdit) -> None:
    """As prove_old.apply_edit; a team is claimed in a cell of its own (TEAM_NAME is gone)."""
    import nbformat

    from autograder.demo.variants import find_cell

    for grade_id, source in edit.cells.items():
        find_cell(notebook, grade_id).source = source
    first_code = next(i for i, c in enumerate(notebook.cells) if c.cell_type == "code")
    for grade_id, source in edit.insert_before:
        index = (
            first_code + 1
            if grade_id is None
            else notebook.cells.index(find_cell(notebook, grade_id))
        )
        notebook.cells.insert(index, nbformat.v4.new_code_cell(source))
    for grade_id, source in edit.insert_after:
        index = (
            len(notebook.cells)
            if grade_id is None
            else notebook.cells.index(find_cell(notebook, grade_id)) + 1
        )
        notebook.cells.insert(index, nbformat.v4.new_code_cell(source))
    if edit.team is not None:
        claim = f"TEAM_NAME = {edit.team!r}  # my team on the leaderboard\n"
        notebook.cells.insert(first_code + 1, nbformat.v4.new_code_cell(claim))


def write_student(course: Path, submitted: Path, attack: wave3.Attack, student: str) -> None:
    import nbformat

    from autograder.demo.democlass import filled_notebook

    folder = submitted / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    for name, edit in ((wave3.PART1, attack.part1), (wave3.PART2, attack.part2)):
        if edit is None:
            continue
        release = course / "release" / ASSIGNMENT / f"{name}.ipynb"
        if attack.base == "solutions":
            notebook = filled_notebook(release, course / "source" / ASSIGNMENT / f"{name}.ipynb")
        else:
            notebook = nbformat.read(release, 4)
        apply_edit(notebook, edit)
        for index, cell in enumerate(notebook.cells):
            cell.metadata.pop("coursekit_release_source", None)
            cell["id"] = f"cell-{index}"
        nbformat.write(notebook, folder / f"{name}.ipynb")


def model_student(member: str) -> wave3.Attack:
    """A team member who hands in Part 2 with the solutions (and, beside it, the model file)."""
    return wave3.Attack(
        member, 0, "a team member", "", "grade", "", base="solutions", part2=wave3.NotebookEdit()
    )


def hidden_lines_of(course: Path) -> set[str]:
    """The hidden-test lines of both parts that the release does not show anyway.

    A hidden test may repeat a visible line (``check_images(x_test, ...)``):
    finding that one in a feedback page proves nothing.
    """
    import nbformat

    from autograder.grading.pipeline.feedback import hidden_lines

    lines: set[str] = set()
    visible: set[str] = set()
    for name in (wave3.PART1, wave3.PART2):
        source = nbformat.read(course / "source" / ASSIGNMENT / f"{name}.ipynb", 4)
        lines |= hidden_lines(source.cells)
        release = nbformat.read(course / "release" / ASSIGNMENT / f"{name}.ipynb", 4)
        visible |= {line.strip() for cell in release.cells for line in cell.source.splitlines()}
    return lines - visible


def recovered_text(text: str) -> str:
    """What a feedback page's text gives back once decoded (base64 blobs, reversed lines)."""
    import base64
    import binascii

    recovered = []
    for blob in re.findall(r"(?:my notes:|found file: \S+) ([A-Za-z0-9+/=]{40,})", text):
        try:
            recovered.append(base64.b64decode(blob).decode("utf-8", "replace"))
        except (binascii.Error, ValueError):
            continue
    for line in re.findall(r"reversed: (.*)", text):
        recovered.append(line.replace("\\n", "\n")[::-1])
    return "\n".join(recovered).replace("\\n", "\n")


def attack_cells_ran(course: Path, student: str, attack: wave3.Attack) -> dict[str, bool]:
    """For each cell the attack added or replaced in Part 1, whether grading ran it."""
    import nbformat

    from autograder.grading.pipeline.own_outputs import NOT_RERUN, NOT_RUN

    edit = attack.part1
    if edit is None:
        return {}
    path = course / "autograded" / student / ASSIGNMENT / f"{wave3.PART1}.ipynb"
    notebook = nbformat.read(path, 4)
    added = [*edit.cells.values(), *(source for _, source in edit.insert_before)]
    added += [source for _, source in edit.insert_after]
    ran = {}
    for source in added:
        cell = next((c for c in notebook.cells if c.source.strip() == source.strip()), None)
        if cell is None:
            continue
        first = cell.outputs[0].get("text", "") if cell.outputs else ""
        name = next((line for line in source.splitlines() if line.strip()), "")[:40]
        ran[name] = not (NOT_RUN in first or NOT_RERUN in first)
    return ran


def grade_phase(work: Path, course: Path, data: Path, attacks, results: dict, workers: int):
    from nbgrader.api import Gradebook

    submitted = work / "submitted"
    shutil.rmtree(submitted, ignore_errors=True)
    for attack in attacks:
        for student in students_of(attack):
            write_student(course, submitted, attack, student)
    model = demo_model(data)
    for member in MODEL_STUDENTS:
        write_student(course, submitted, model_student(member), member)
        shutil.copyfile(model.path, submitted / member / ASSIGNMENT / "fashion_model.keras")
    log = work / "grade.log"
    seconds = coursekit(
        "grade",
        ASSIGNMENT,
        "--submissions",
        str(submitted),
        "--course-root",
        str(course),
        "--course-data",
        str(data),
        "--workers",
        str(workers),
        "--no-progress",
        "--force",
        log=log,
    )
    grading = course / "grading" / ASSIGNMENT
    records = grading / "records"
    lms = {row["student_id"]: row for row in read_csv(grading / "grades_lms.csv")}
    hidden = hidden_lines_of(course)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for attack in attacks:
            student = students_of(attack)[0]
            record = json.loads((records / f"{student}.json").read_text())
            per_test = {}
            for name, part_tests in (
                (wave3.PART1, wave3.PART1_TESTS),
                (wave3.PART2, wave3.PART2_TESTS),
            ):
                for test in part_tests:
                    try:
                        grade = gradebook.find_grade(test, name, ASSIGNMENT, student)
                    except Exception:
                        continue
                    per_test[test] = (float(grade.auto_score or 0), float(grade.max_score))
            targets = [t for t in attack.target_tests if t in per_test]
            earned = sum(per_test[t][0] for t in targets)
            possible = sum(per_test[t][1] for t in targets)
            effect = {
                "phase": "grade",
                "student": student,
                "status": record.get("status"),
                "held": bool(record.get("held")),
                "needs_review": bool(record.get("review")),
                "review": record.get("review", [])[:3],
                "problems": record.get("problems", [])[:5],
                "autograded_score": record.get("autograded_score"),
                "autograded_max": record.get("autograded_max"),
                "per_test": per_test,
                "target_tests": {t: per_test[t] for t in targets},
                "target_earned": earned,
                "target_max": possible,
                "deserved": attack.deserved,
                "student_seconds": record.get("seconds"),
                "class_seconds": round(seconds, 1),
            }
            flags = (
                f"status {record.get('status')!r}, held: {effect['held']}, "
                f"needs review: {effect['needs_review']}"
            )
            if targets:
                effect["earned"] = earned > attack.deserved and not effect["held"]
                effect["summary"] = (
                    f"{earned:g} of {possible:g} points on its target tests (deserved "
                    f"{attack.deserved:g}); autograded {record.get('autograded_score'):g}"
                    f"/{record.get('autograded_max'):g}; {flags}"
                )
            text, pages = feedback_text(course, student)
            (work / "feedback-text").mkdir(exist_ok=True)
            (work / "feedback-text" / f"{student}.txt").write_text(text, encoding="utf-8")
            if attack.klass == 3:
                effect["cells_ran"] = attack_cells_ran(course, student, attack)
                recovered = recovered_text(text)
                leaked = {line for line in hidden if line in recovered}
                (work / f"{attack.id}-recovered.txt").write_text(recovered, encoding="utf-8")
                heard = re.search(r"my notes: ([A-Za-z0-9+/=]+)", text)
                files = re.findall(r"found file: (\S+)", text)
                searched = re.search(r"searched (\d+) readable files", text)
                entries = len(re.findall(r"reversed: ", text))
                effect.update(
                    hidden_lines=len(hidden),
                    hidden_lines_in_feedback=len(leaked),
                    earned=bool(leaked) or bool(effect.get("earned")),
                    example=sorted(leaked)[:3],
                    heard_bytes=len(heard.group(1)) if heard else None,
                    files_found=files,
                    files_searched=int(searched.group(1)) if searched else None,
                    reversed_entries=entries,
                    summary=(
                        (effect["summary"].split("; status")[0] + "; " if targets else "")
                        + f"{len(leaked)} of {len(hidden)} hidden-test lines (both parts) read "
                        f"back from its own feedback ({', '.join(p.name for p in pages)}); "
                        + "its cells ran: "
                        + ", ".join(
                            f"{name!r} {'yes' if ran else 'NO'}"
                            for name, ran in effect["cells_ran"].items()
                        )
                        + "; "
                        + (f"heard {len(heard.group(1)):,} base64 characters; " if heard else "")
                        + (
                            f"{entries} linecache entries printed; "
                            if "linecache" in attack.id
                            else ""
                        )
                        + (
                            f"searched {searched.group(1)} files, found {files or 'none'}; "
                            if searched
                            else ""
                        )
                        + flags
                    ),
                )
            if attack.id == "k5-keyring-class":
                seen = {}
                for one in students_of(attack):
                    page, _ = feedback_text(course, one)
                    found = re.search(r"KEYRING found: (.*)", page)
                    left = re.search(r"KEYRING left: (.*)", page)
                    seen[one] = (
                        found.group(1).strip() if found else "",
                        left.group(1).strip() if left else "",
                    )
                notes = {
                    one: re.search(r"'(note [0-9a-f]+)'", left) for one, (_, left) in seen.items()
                }
                passed = [
                    (reader, writer)
                    for reader, (found, _) in seen.items()
                    for writer, note in notes.items()
                    if writer != reader and note and note.group(1) in found
                ]
                effect.update(
                    feedback=seen,
                    earned=bool(passed),
                    layer="seccomp: keyctl/add_key refused (sandbox/seccomp.py)",
                    summary="; ".join(
                        f"{one}: found {f!r}, left {lf!r}" for one, (f, lf) in seen.items()
                    )
                    + f"; {flags}",
                )
            if attack.id == "l7-claim":
                row = lms.get(student, {})
                points = float(row.get("leaderboard_points") or 0)
                effect.update(
                    leaderboard_points=points,
                    team=row.get("team"),
                    note=row.get("leaderboard_note"),
                    earned=points > 0,
                    layer="registered teams (leaderboard/teams.py, points.py)",
                    summary=(
                        f"grades_lms.csv: {points:g} leaderboard points, team "
                        f"{row.get('team')!r}, note {row.get('leaderboard_note')!r}; {flags}"
                    ),
                )
            results[attack.id] = {**results.get(attack.id, {}), **effect}
        for member in MODEL_STUDENTS:
            row = lms.get(member, {})
            check = grading / "models" / f"{member}.json"
            results[f"bonus:{member}"] = {
                "leaderboard_points": float(row.get("leaderboard_points") or 0),
                "team": row.get("team"),
                "note": row.get("leaderboard_note"),
                "needs_review": row.get("needs_review"),
                "model_check": check.is_file(),
            }
    lookup = results.setdefault("l7-lookup", {})
    bonus = results[f"bonus:{LOOKUP_MEMBER}"]
    honest = results[f"bonus:{HONEST_MEMBER}"]
    lookup.update(
        bonus=bonus,
        honest_bonus=honest,
        earned=bonus["leaderboard_points"] > 0,
        layer="bonus only when a member's handed-in model reproduces the upload (points.py)",
        summary=(
            f"{lookup.get('board_summary', '')}; bonus in grades_lms.csv: "
            f"{bonus['leaderboard_points']:g} points ({bonus['note']!r}, needs review "
            f"{bonus['needs_review']}); control team {HONEST_TEAM!r} (its model's own "
            f"predictions): {honest['leaderboard_points']:g} points"
        ),
    )
    results["c-honest"] = {
        **results.get("c-honest", {}),
        "bonus": honest,
        "summary": f"{results.get('c-honest', {}).get('summary', '')}; bonus "
        f"{honest['leaderboard_points']:g} points ({honest['note'] or 'earned'!r})",
    }
    for student in [s for a in attacks for s in students_of(a)] + list(MODEL_STUDENTS):
        feedback = course / "feedback" / student / ASSIGNMENT
        if feedback.is_dir():
            shutil.copytree(feedback, work / "feedback" / student, dirs_exist_ok=True)
    shutil.copytree(records, work / "records", dirs_exist_ok=True)
    shutil.copy(grading / "grades_lms.csv", work / "grades_lms.csv")
    if (grading / "models").is_dir():
        shutil.copytree(grading / "models", work / "models", dirs_exist_ok=True)


# ---- phase 3: small notebooks in the sandbox ---------------------------------------------------

CONTROL = 'print("hello")\n'
#: What each kernel attack's protection is, and how ``--protections-off`` switches it off.
PROTECTION = {
    "k5-keyring": "seccomp filter",
    "k5-userns": "seccomp filter",
    "k5-syscalls": "seccomp filter",
    "o6-cells": "the notebook output cap",
    "o6-sockets": "the kernel-folder tmpfs cap",
    "o6-one-message": "the message size cap (zmq MAXMSGSIZE)",
}


def one_kernel_attack(attack_id: str, work: Path, protections_off: bool) -> dict:
    """Run one kernel attack in this process (started for it alone); what it achieved."""
    from autograder.grading.sandbox import FIRST_SLOT_UID, SandboxLimits
    from autograder.grading.sandbox.mounts import cap_kernel_folders

    folder = work / "kernels" / (attack_id + ("-off" if protections_off else ""))
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    kernels_folder = folder / "kernel-folders"  # what a grading worker caps (spec.scratch)
    capped = False
    if attack_id == "o6-sockets" and not protections_off:
        # As pipeline/worker.py's main() does, first thing, while this process has no threads.
        capped = cap_kernel_folders(kernels_folder, SandboxLimits().kernel_folder_bytes)
    from sandboxed import kept_bytes, printed, run_cells

    cache = folder / "cache"
    cache.mkdir()
    cache.chmod(0o755)
    limits = SandboxLimits(cell_timeout=120)
    seccomp = True
    if protections_off and attack_id.startswith("k5-"):
        seccomp = False
    if protections_off and attack_id == "o6-cells":
        limits = replace(limits, max_notebook_output_bytes=1 << 40)

    def run(name: str, cells, **kwargs):
        return run_cells(
            folder / name,
            cells,
            cache=cache,
            uid=FIRST_SLOT_UID,
            seccomp=seccomp,
            limits=limits,
            warm=False,
            scratch=kernels_folder,
            **kwargs,
        )

    started = time.monotonic()
    rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if attack_id == "cleanup":  # the keys the attacks left for the slot's user, if any
        cleaned = []
        for name in ("coursekit-wave3", "coursekit-wave3-class"):
            seccomp = False
            cells, _ = run(name, [KEYRING_CLEANUP.replace("coursekit-wave3", name)])
            cleaned.append(f"{name}: {printed(cells).strip()}")
        return {"summary": "; ".join(cleaned)}
    if attack_id == "control":
        run("k0", [CONTROL])
        return {
            "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "rss_at_start_mib": rss_start,
            "seconds": round(time.monotonic() - started, 1),
        }
    attack = wave3.BY_ID[attack_id]
    outputs, all_events, notebooks = [], [], []
    watcher = Watcher(folder)
    watcher.start()
    try:
        for number, cells in enumerate(attack.kernels):
            notebook_cells, events = run(f"k{number}", cells)
            notebooks.append(notebook_cells)
            outputs.append(printed(notebook_cells))
            all_events += events
    finally:
        watcher.stop.set()
        watcher.join()
    effect = {
        "phase": "kernel",
        "protections": "off: " + PROTECTION[attack_id] if protections_off else "all on",
        "seconds": round(time.monotonic() - started, 1),
        "events": [f"{e['kind']}: {e['detail'][:120]}" for e in all_events],
        "outputs": [kernel[:600] for kernel in outputs],
        "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_at_start_mib": rss_start,
    }
    joined = "\n".join(outputs)
    if attack_id == "k5-keyring":
        stored = re.search(r"KEYRING stored: (.*)", joined)
        read = re.search(r"KEYRING read: (.*)", joined)
        users = Path("/proc/key-users").read_text().splitlines()
        effect["host_key_users"] = [
            u.strip() for u in users if u.strip().startswith(f"{FIRST_SLOT_UID}:")
        ]
        passed = bool(read) and "from the student graded before you" in read.group(1)
        effect.update(
            earned=passed,
            summary=(
                f"kernel 1 {stored.group(1) if stored else '?'}; kernel 2 (a new sandbox, same "
                f"slot user) {read.group(1)[:140] if read else '?'}"
            ),
        )
    elif attack_id == "k5-userns":
        line = re.search(r"USERNS (.*)", joined)
        effect.update(
            earned=bool(line) and " ok " in line.group(1).split(";")[0] + " ",
            summary=line.group(1) if line else joined[:200],
        )
    elif attack_id == "k5-syscalls":
        lines = re.findall(r"SYSCALL (.*)", joined)
        effect.update(earned=any(": ok" in line for line in lines), summary="; ".join(lines))
    elif attack_id == "o6-cells":
        kept = kept_bytes(notebooks[0])
        truncated = [e for e in effect["events"] if e.startswith("output_truncated")]
        effect.update(
            kept_bytes=kept,
            earned=kept > 17 * 2**20,
            summary=(
                f"{kept / 2**20:.1f} MiB of output kept for one notebook of "
                f"{len(notebooks[0])} cells of 1.9 MiB (notebook cap 16 MiB); "
                f"events: {truncated or 'none'}"
            ),
        )
    elif attack_id == "o6-sockets":
        tmp = re.search(r"TMP (.*)", joined)
        sock = re.search(r"SOCKETS (.*)", joined)
        effect.update(
            capped=capped,
            seen_by_the_worker=watcher.most,
            summary=(
                f"{tmp.group(1) if tmp else '?'}; {sock.group(1) if sock else '?'}; kernel folders "
                + ("a private 16 MiB tmpfs of the worker" if capped else "on the host's disk")
                + f", where the worker saw {watcher.most / 2**20:.1f} MiB"
            ),
        )
    elif attack_id == "o6-one-message":
        kept = kept_bytes(notebooks[0])
        effect.update(kept_bytes=kept, summary=f"kept {kept / 2**20:.2f} MiB of a 256 MiB message")
    return effect


def one_kernel_attack_in_a_process(attack_id: str, work: Path, protections_off: bool) -> dict:
    """:func:`one_kernel_attack` in a Python process started for it alone (its peak memory)."""
    name = attack_id + ("-off" if protections_off else "")
    out = work / "kernels" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    log = work / "kernels" / f"{name}.log"
    command = [sys.executable, __file__, "--workdir", str(work), "--kernel-attack", attack_id]
    command += ["--result", str(out)] + (["--protections-off"] if protections_off else [])
    with open(log, "wb") as stream:
        subprocess.run(command, stdout=stream, stderr=subprocess.STDOUT, check=False)
    return json.loads(out.read_text()) if out.exists() else {"summary": f"failed; see {log}"}


def kernel_phase(work: Path, attacks, results: dict, protections_off: bool) -> None:
    def child(attack_id: str, off: bool = False) -> dict:
        return one_kernel_attack_in_a_process(attack_id, work, off)

    control = None
    for attack in attacks:
        host = Watcher(work / "kernels")  # the host's side of any kernel folder
        host.start()
        try:
            effect = child(attack.id)
        finally:
            host.stop.set()
            host.join()
        if attack.id == "o6-sockets":
            effect.update(
                host_bytes_seen=host.most,
                host_folder=host.where,
                earned=host.most > 2**30,
                summary=f"{effect.get('summary', '')}; the host's disk saw "
                f"{host.most / 2**20:.1f} MiB",
            )
        if attack.id == "o6-one-message":
            control = control or child("control")
            grew = effect.get("maxrss_mib", 0) - control["maxrss_mib"]
            effect.update(
                control_maxrss_mib=control["maxrss_mib"],
                grader_extra_mib=round(grew),
                earned=grew > 256,
                summary=(
                    f"{effect.get('summary', '')}; the grader's peak memory was "
                    f"{effect.get('maxrss_mib', 0):.0f} MiB against "
                    f"{control['maxrss_mib']:.0f} MiB for a notebook that prints one line "
                    f"(+{grew:.0f} MiB)"
                ),
            )
        if protections_off and attack.id != "o6-one-message":
            host = Watcher(work / "kernels")
            host.start()
            try:
                off = child(attack.id, off=True)
            finally:
                host.stop.set()
                host.join()
            if attack.id == "o6-sockets":
                off["summary"] += f"; the host's disk saw {host.most / 2**20:.1f} MiB"
                off["earned"] = host.most > 2**30
            effect["with_protection_off"] = {
                "protection": PROTECTION[attack.id],
                "earned": off.get("earned"),
                "summary": off.get("summary"),
            }
        results[attack.id] = effect
    if protections_off:
        results["keyring-cleanup"] = child("cleanup")


# ---- main --------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course-data", type=Path, default=REPO / "data" / "course")
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "hostile-wave3-new"
    )
    parser.add_argument("--only", default="", help="comma-separated attack ids")
    parser.add_argument("--phases", default="leaderboard,grade,kernel")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--protections-off", action="store_true")
    parser.add_argument("--kernel-attack", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    if args.kernel_attack:
        effect = one_kernel_attack(args.kernel_attack, work, args.protections_off)
        args.result.write_text(json.dumps(effect, indent=1))
        return 0
    data = args.course_data.resolve()
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    everything = wave3.WAVE + wave3.EXTRAS
    chosen = [a for a in everything if not args.only or a.id in args.only.split(",")]
    check_sources(everything + wave3.CONTROLS)
    phases = args.phases.split(",")
    results_file = work / "results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    diff = subprocess.run(["git", "-C", str(REPO), "diff", "HEAD"], capture_output=True).stdout
    changed = subprocess.run(
        ["git", "-C", str(REPO), "diff", "HEAD", "--name-only"], capture_output=True, text=True
    ).stdout.split()
    results["tree"] = {
        "commit": commit,
        "uncommitted_files": changed,
        "uncommitted_diff_sha256": hashlib.sha256(diff).hexdigest(),
    }
    say(
        f"hostile wave 3 against {REPO} at {commit} + {len(changed)} files changed in the "
        f"working tree (diff sha256 {results['tree']['uncommitted_diff_sha256'][:12]}); work {work}"
    )
    started = time.monotonic()
    course = course_copy(work)
    say(f"course released in {time.monotonic() - started:.0f} s")
    board = [a for a in chosen if a.kind == "leaderboard"]
    if "leaderboard" in phases and board:
        say(f"leaderboard: {len(board)} attacks ...")
        leaderboard_phase(work, course, data, board, results)
    graded = [a for a in chosen if a.kind == "grade"]
    controls = [wave3.BY_ID[c] for c in dict.fromkeys(CONTROL_OF.get(a.id) for a in graded) if c]
    graded += controls
    if "grade" in phases and graded:
        count = sum(a.students for a in graded) + len(MODEL_STUDENTS)
        say(f"grade: {count} students, coursekit grade --workers {args.workers} ...")
        grade_phase(work, course, data, graded, results, args.workers)
    kernels = [a for a in chosen if a.kind == "kernel"]
    if "kernel" in phases and kernels:
        say(f"kernel: {len(kernels)} attacks, one process each ...")
        kernel_phase(work, kernels, results, args.protections_off)
    results_file.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    say(f"\n{'attack':<22}{'class':<7}{'got through':<13}effect on the new code ({commit})")
    for attack in chosen:
        effect = results.get(attack.id, {})
        through = {True: "YES", False: "no"}.get(effect.get("earned"), "?")
        say(f"{attack.id:<22}{attack.klass:<7}{through:<13}{effect.get('summary', '(not run)')}")
        off = effect.get("with_protection_off")
        if off:
            say(f"{'':<42}with {off['protection']} off: {off['summary']}")
    if controls:
        say("\ncontrols (the same work without the trick):")
        for control in [*controls, wave3.Attack("c-honest", 0, "", "", "", "")]:
            effect = results.get(control.id, {})
            say(f"{control.id:<22}{'':<7}{'':<13}{effect.get('summary', '(not run)')}")
    total = sum(1 for a in chosen if results.get(a.id, {}).get("earned"))
    say(
        f"\n{total} of {len(chosen)} attacks got through; {time.monotonic() - started:.0f} s; "
        f"details in {results_file}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
