"""Run hostile wave 3 (wave3.py) against the OLD grading code and print what each attack achieved.

Usage, with the old tree's own Python (its editable install maps ``autograder``
and ``utilities`` to the old tree)::

    cd /work/main && git worktree add /work/old b2d1491
    cd /work/old && python3.11 -m venv .venv && .venv/bin/pip install -e ".[dev]"
    export PATH=/work/old/.venv/bin:$PATH COURSEKIT_DATA_MIRROR=/work/shared/data
    coursekit data fetch && coursekit data build --out data/course
    coursekit release cnn --course-data data/course
    python /work/main/tests/hostile/prove_old.py --old-tree /work/old \\
        [--only ID,ID] [--phases leaderboard,grade,kernel] [--workdir DIR]

Three phases, one attack at a time (the machine is shared):

1. ``leaderboard``: the uploads of the leaderboard attacks go through
   ``coursekit leaderboard`` (one run per upload time), then a final run past
   the deadline writes ``final.csv``;
2. ``grade``: one student per notebook attack (the old release notebooks, with
   the source's solutions filled in where the attack says so, as the demo class
   does), graded by ``coursekit grade --workers 1`` in a copy of the old course
   folder; points are read from the gradebook and the records, leaks from the
   students' own feedback pages;
3. ``kernel``: small notebooks through the old ``SandboxedExecute`` in the real
   sandbox, each attack in a process of its own (its zygote, its peak memory),
   all kernels as grading slot 0's user.

It prints one line per attack and writes ``results.json`` in the work folder.
It is the evidence for README.md; it is not part of the test suite.
"""

from __future__ import annotations

import argparse
import base64
import csv
import gzip
import hashlib
import html
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import wave3  # noqa: E402

ASSIGNMENT = "cnn"
PUBLIC_FASHION = Path("/work/shared/data/fashion-mnist")


# ---- shared ------------------------------------------------------------------------------------


def say(*parts) -> None:
    print(*parts, flush=True)


def coursekit(old: Path, *args: str, log: Path) -> float:
    """Run the old tree's ``coursekit`` command; its output goes to ``log``; the seconds it took."""
    command = [str(old / ".venv" / "bin" / "coursekit"), *args]
    env = {**os.environ, "PATH": f"{old / '.venv' / 'bin'}:{os.environ['PATH']}"}
    started = time.monotonic()
    with open(log, "ab") as stream:
        stream.write(f"\n$ {' '.join(command)}\n".encode())
        stream.flush()
        result = subprocess.run(command, stdout=stream, stderr=subprocess.STDOUT, env=env, cwd=old)
    if result.returncode:
        raise SystemExit(f"coursekit {args[0]} failed ({result.returncode}); see {log}")
    return time.monotonic() - started


def course_copy(old: Path, work: Path) -> Path:
    """A fresh copy of the old course folder (source, release, nbgrader config), no gradebook.

    A leaderboard already there (an earlier run's phase 1) is kept, for the grade phase.
    """
    course = work / "course"
    course.mkdir(parents=True, exist_ok=True)
    for entry in course.iterdir():
        if entry.name != "leaderboard":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    shutil.copytree(old / "assignments" / "source", course / "source")
    shutil.copytree(old / "assignments" / "release", course / "release")
    shutil.copy(old / "assignments" / "nbgrader_config.py", course)
    return course


def check_sources(attacks) -> None:
    """Every cell an attack hands in must be valid Python (a typo would fail for another reason)."""
    for attack in attacks:
        sources = [source for kernel in attack.kernels for source in kernel]
        for edit in (attack.part1, attack.part2):
            if edit is not None:
                sources += list(edit.cells.values())
                sources += [source for _, source in (*edit.insert_before, *edit.insert_after)]
        for source in sources:
            try:
                compile(source, attack.id, "exec")
            except SyntaxError as error:
                raise SystemExit(f"{attack.id}: a cell is not valid Python: {error}") from None


# ---- phase 1: the leaderboard ------------------------------------------------------------------


def _idx(path: Path) -> bytes:
    with gzip.open(path, "rb") as stream:
        return stream.read()


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def lookup_labels(student_h5: Path) -> tuple[list[int], int]:
    """Each course test image's label, found by its pixels in the public Fashion-MNIST files."""
    import h5py

    labels_by_pixels: dict[bytes, int] = {}
    for images, labels in (("train-images", "train-labels"), ("t10k-images", "t10k-labels")):
        pixels = _idx(PUBLIC_FASHION / f"{images}-idx3-ubyte.gz")[16:]
        answers = _idx(PUBLIC_FASHION / f"{labels}-idx1-ubyte.gz")[8:]
        for index, label in enumerate(answers):
            digest = hashlib.sha1(pixels[784 * index : 784 * (index + 1)]).digest()
            labels_by_pixels.setdefault(digest, label)
    with h5py.File(student_h5, "r") as stream:
        test = stream["X_test"][()]
    found = [labels_by_pixels.get(hashlib.sha1(image.tobytes()).digest()) for image in test]
    return [label if label is not None else 0 for label in found], sum(x is None for x in found)


def noisy_labels(key_labels, percent: int, seed: int) -> list[int]:
    """Predictions of a model that gets ``percent`` % right (the demo class's way to make them)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    labels = np.asarray(key_labels)
    wrong = rng.random(len(labels)) >= percent / 100
    predictions = labels.copy()
    predictions[wrong] = (labels[wrong] + rng.integers(1, 10, wrong.sum())) % 10
    return predictions.tolist()


def write_upload(path: Path, predictions: list[int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = ["ID,Prediction"] + [f"{i},{p}" for i, p in enumerate(predictions)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def leaderboard_phase(old: Path, work: Path, course: Path, attacks, results: dict) -> None:
    from autograder.course.dataset import load_answer_key

    data = old / "data" / "course"
    key = load_answer_key(data / "private" / "answer_key.csv")
    log = work / "leaderboard.log"
    uploads_root = work / "uploads"
    shutil.rmtree(uploads_root, ignore_errors=True)
    lookup, unmatched = lookup_labels(data / "public" / "Fashion_MNIST.h5")
    times: dict[str, list] = {}
    for attack in attacks:
        for number, upload in enumerate(attack.uploads):
            if upload.predictions == "lookup":
                predictions = lookup
            else:
                percent = int(upload.predictions.split(":")[1])
                predictions = noisy_labels(key["Label"], percent, seed=number + percent)
            folder = uploads_root / upload.at.replace(":", "-").replace("+00-00", "")
            write_upload(folder / f"{upload.team}.csv", predictions)
            times.setdefault(upload.at, []).append(folder)
    board = course / "leaderboard" / ASSIGNMENT
    shutil.rmtree(board, ignore_errors=True)
    started = time.monotonic()
    common = ["--course-root", str(course), "--course-data", str(data)]
    for at in sorted(times):
        folder = times[at][0]
        coursekit(
            old,
            "leaderboard",
            ASSIGNMENT,
            "--submissions",
            str(folder),
            *common,
            "--now",
            at,
            log=log,
        )
    coursekit(
        old,
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
        teams = {upload.team for upload in attack.uploads}
        rows = [row for row in history if row["team"].lstrip("'") in teams]
        standing = [row for row in table if row["team"].lstrip("'") in teams]
        if attack.id == "l7-beatme-lookalike":
            row = rows[0]
            effect.update(
                status=row["status"],
                reason=row["reason"],
                team_key=row["team_key"],
                rank=standing[0]["rank"] if standing else None,
                earned=row["status"] == "scored",
                summary=(
                    f"{row['team']!r} (reads 'BEAT ME') was {row['status']}"
                    + (f", ranked {standing[0]['rank']} on the board" if standing else "")
                    + f"; team key {row['team_key']!r}"
                ),
            )
        elif attack.id == "l7-twins":
            day = {row["team"].lstrip("'"): 0 for row in rows}
            for row in rows:
                if row["status"] == "scored":
                    day[row["team"].lstrip("'")] += 1
            scored = sum(day.values())
            effect.update(
                scored_per_name=day,
                scored_same_day=scored,
                rows_on_board=len(standing),
                earned=scored > 5,
                summary=(
                    f"{scored} uploads scored on one day for 'ADAM' as shown (limit 5): "
                    f"{len(day)} teams, {len(standing)} rows on the board"
                ),
            )
        elif attack.id == "l7-lookup":
            row = standing[0]
            mine = next(r for r in final if r["team"].lstrip("'") == wave3.LOOKUP_TEAM)
            effect.update(
                unmatched_images=unmatched,
                rank=row["rank"],
                public_accuracy=float(row["public_accuracy"]),
                private_accuracy=float(row["private_accuracy"]),
                beat_me_private=float(beat_me["private_accuracy"]),
                beats_beat_me=mine["beats_beat_me"],
                earned=mine["beats_beat_me"] == "yes",
                summary=(
                    f"rank {row['rank']}, private accuracy {float(row['private_accuracy']):.2%} "
                    f"(BEAT ME {float(beat_me['private_accuracy']):.2%}), beats BEAT ME: "
                    f"{mine['beats_beat_me']}; {unmatched} of 10,500 test images not found"
                ),
            )
        results[attack.id] = effect
    for name in ("history.csv", "leaderboard.csv", "final.csv", "leaderboard.md"):
        shutil.copy(board / name, work / f"leaderboard-{name}")


# ---- phase 2: coursekit grade ------------------------------------------------------------------


def _cell(notebook, grade_id: str):
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(grade_id)


def apply_edit(notebook, edit: wave3.NotebookEdit) -> None:
    """The edit, in the way the zoo variants and the demo class change notebooks."""
    import nbformat

    for grade_id, source in edit.cells.items():
        _cell(notebook, grade_id).source = source
    first_code = next(i for i, c in enumerate(notebook.cells) if c.cell_type == "code")
    for grade_id, source in edit.insert_before:
        index = (
            first_code + 1 if grade_id is None else notebook.cells.index(_cell(notebook, grade_id))
        )
        notebook.cells.insert(index, nbformat.v4.new_code_cell(source))
    for grade_id, source in edit.insert_after:
        index = (
            len(notebook.cells)
            if grade_id is None
            else notebook.cells.index(_cell(notebook, grade_id)) + 1
        )
        notebook.cells.insert(index, nbformat.v4.new_code_cell(source))
    if edit.team is not None:
        cells = [
            c for c in notebook.cells if c.cell_type == "code" and 'TEAM_NAME = ""' in c.source
        ]
        if not cells:
            raise SystemExit('this notebook has no line TEAM_NAME = "" to name a team in')
        cells[0].source = cells[0].source.replace('TEAM_NAME = ""', f"TEAM_NAME = {edit.team!r}", 1)


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


def hidden_lines_of(course: Path, notebook: str) -> set[str]:
    import nbformat

    from autograder.grading.feedback import hidden_lines

    source = nbformat.read(course / "source" / ASSIGNMENT / f"{notebook}.ipynb", 4)
    return hidden_lines(source.cells)


def leaked_from_feedback(text: str, hidden: set[str]) -> tuple[set[str], str]:
    """Hidden lines that can be read back from a feedback page's text, decoded."""
    recovered = []
    for blob in re.findall(r"my notes: ([A-Za-z0-9+/=]{40,})", text):
        recovered.append(base64.b64decode(blob).decode("utf-8", "replace"))
    for line in re.findall(r"reversed: (.*)", text):
        recovered.append(line.replace("\\n", "\n")[::-1])
    joined = "\n".join(recovered).replace("\\n", "\n")
    return {line for line in hidden if line in joined}, joined


def students_of(attack: wave3.Attack) -> list[str]:
    if attack.students == 1:
        return [attack.id]
    return [f"{attack.id}-{number}" for number in range(1, attack.students + 1)]


def feedback_text(course: Path, student: str) -> tuple[str, list[Path]]:
    pages = sorted((course / "feedback" / student / ASSIGNMENT).glob("*.html"))
    page = "\n".join(p.read_text(encoding="utf-8") for p in pages)
    return html.unescape(re.sub(r"<[^>]+>", "", page)), pages


def grade_phase(old: Path, work: Path, course: Path, attacks, results: dict, workers: int) -> None:
    from nbgrader.api import Gradebook

    submitted = work / "submitted"
    shutil.rmtree(submitted, ignore_errors=True)
    for attack in attacks:
        for student in students_of(attack):
            write_student(course, submitted, attack, student)
    log = work / "grade.log"
    seconds = coursekit(
        old,
        "grade",
        ASSIGNMENT,
        "--submissions",
        str(submitted),
        "--course-root",
        str(course),
        "--course-data",
        str(old / "data" / "course"),
        "--workers",
        str(workers),
        "--no-progress",
        "--force",
        log=log,
    )
    if any(attack.id == "k5-keyring-class" for attack in attacks):
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--old-tree",
                str(old),
                "--workdir",
                str(work),
                "--kernel-attack",
                "cleanup",
                "--result",
                str(work / "keyring-cleanup.json"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
    records = course / "grading" / ASSIGNMENT / "records"
    lms = {
        row["student_id"]: row
        for row in read_csv(course / "grading" / ASSIGNMENT / "grades_lms.csv")
    }
    hidden = hidden_lines_of(course, wave3.PART1)
    gradebook = Gradebook(f"sqlite:///{course / 'gradebook.db'}")
    try:
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
                "autograded_score": record.get("autograded_score"),
                "autograded_max": record.get("autograded_max"),
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
            if attack.klass == 3:
                text, pages = feedback_text(course, student)
                leaked, recovered = leaked_from_feedback(text, hidden)
                (work / f"{attack.id}-recovered.txt").write_text(recovered, encoding="utf-8")
                effect.update(
                    hidden_lines=len(hidden),
                    hidden_lines_in_feedback=len(leaked),
                    earned=bool(leaked),
                    example=sorted(leaked)[:3],
                    summary=(
                        f"{len(leaked)} of {len(hidden)} hidden-test lines of Part 1 read back "
                        f"from its own feedback page ({', '.join(p.name for p in pages)}); {flags}"
                    ),
                )
            if attack.id == "k5-keyring-class":
                seen = {}
                for one in students_of(attack):
                    text, _ = feedback_text(course, one)
                    found = re.search(r"KEYRING found: (.*)", text)
                    left = re.search(r"KEYRING left: '(note [0-9a-f]+)'", text)
                    seen[one] = (
                        found.group(1).strip() if found else "",
                        left.group(1) if left else "",
                    )
                passed = [
                    (reader, writer)
                    for reader, (found, _) in seen.items()
                    for writer, (_, left) in seen.items()
                    if writer != reader and left and left in found
                ]
                cleanup = work / "keyring-cleanup.json"
                effect.update(
                    feedback=seen,
                    earned=bool(passed),
                    cleanup=json.loads(cleanup.read_text()).get("summary")
                    if cleanup.exists()
                    else "",
                    summary=(
                        "; ".join(
                            f"{reader}'s feedback shows {seen[writer][1]!r}, "
                            f"left by {writer}'s kernel"
                            for reader, writer in passed
                        )
                        or f"no note passed: {seen}"
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
                    summary=(
                        f"grades_lms.csv gives {points:g} leaderboard points for team "
                        f"{row.get('team')!r}, which this student never uploaded for; {flags}"
                    ),
                )
            results[attack.id] = effect
    finally:
        gradebook.close()
    for attack in attacks:
        for student in students_of(attack):
            feedback = course / "feedback" / student / ASSIGNMENT
            if feedback.is_dir():
                shutil.copytree(feedback, work / "feedback" / student, dirs_exist_ok=True)
    shutil.copytree(records, work / "records", dirs_exist_ok=True)
    shutil.copy(course / "grading" / ASSIGNMENT / "grades_lms.csv", work / "grades_lms.csv")


# ---- phase 3: small notebooks in the sandbox ---------------------------------------------------

KEYRING_CLEANUP = (
    wave3.SYSCALLS
    + r"""
_id = _sys(250, ctypes.c_int(10), ctypes.c_int(-4), b"user", b"coursekit-wave3", ctypes.c_int(0))
_done = _sys(250, ctypes.c_int(21), ctypes.c_int(_id)) if _id > 0 else _id
print("cleanup: invalidate", _said(_done))
"""
)
CONTROL = 'print("hello")\n'


def run_kernel(folder: Path, sources, *, zygote_slot: str = "wave3"):
    """``sources`` as one notebook through the old SandboxedExecute, as grading slot 0's user."""
    from nbformat.v4 import new_code_cell, new_notebook

    from autograder.grading.execute import SandboxedExecute
    from autograder.grading.integrity import IntegrityPlan, NotebookPlan
    from autograder.grading.sandbox import FIRST_SLOT_UID, SandboxLimits, default_spec
    from autograder.grading.warm_kernels import zygote_for

    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    scratch = folder / "scratch"
    scratch.mkdir(exist_ok=True)
    cache = folder.parent / "cache"
    cache.mkdir(exist_ok=True)
    cache.chmod(0o755)
    events = scratch / "events.jsonl"
    spec = default_spec(scratch, events, SandboxLimits(cell_timeout=120), cache)
    spec = replace(spec, uid=FIRST_SLOT_UID, zygote=zygote_for(zygote_slot, spec.environment))
    (folder / "spec.json").write_text(spec.to_json())
    (folder / "plan.json").write_text(IntegrityPlan({"demo": NotebookPlan()}).to_json())
    notebook_dir = folder / "notebook"
    notebook_dir.mkdir(exist_ok=True)
    notebook = new_notebook(
        cells=[new_code_cell(source) for source in sources],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    executor = SandboxedExecute(
        sandbox_spec=str(folder / "spec.json"), integrity_plan=str(folder / "plan.json")
    )
    executor.preprocess(
        notebook, {"metadata": {"path": str(notebook_dir)}, "nbgrader": {"notebook": "demo"}}
    )
    found = (
        [json.loads(line) for line in events.read_text().splitlines()] if events.exists() else []
    )
    return notebook, (found[-1]["events"] if found else []), scratch


def text_of(cell) -> str:
    parts = []
    for output in cell.outputs:
        parts.append(output.get("text", ""))
        if output.output_type == "error":
            parts.append(f"{output.ename}: {output.evalue}")
        if output.output_type in ("display_data", "execute_result"):
            parts.append(str(output.get("data", {}).get("text/plain", ""))[:200])
    return "".join(parts)


class Watcher(threading.Thread):
    """The largest total size of ``blob-*`` files seen under ``root`` on the host."""

    def __init__(self, root: Path):
        super().__init__(daemon=True)
        self.root, self.most, self.where, self.stop = root, 0, "", threading.Event()

    def run(self):
        while not self.stop.is_set():
            total, where = 0, ""
            for path in self.root.rglob("blob-*"):
                try:
                    total += path.stat().st_size
                    where = str(path.parent)
                except OSError:
                    pass
            if total > self.most:
                self.most, self.where = total, where
            time.sleep(0.2)


def one_kernel_attack(attack_id: str, work: Path) -> dict:
    """Run one kernel attack in this process; what it achieved."""
    folder = work / "kernels" / attack_id
    shutil.rmtree(folder, ignore_errors=True)
    started = time.monotonic()
    if attack_id == "cleanup":  # the keys k5-keyring-class left for the slot's user
        notebook, _, _ = run_kernel(
            folder / "k0", [KEYRING_CLEANUP.replace("coursekit-wave3", "coursekit-wave3-class")]
        )
        return {"summary": text_of(notebook.cells[0]).strip()}
    if attack_id == "control":
        notebook, events, _ = run_kernel(folder / "k0", [CONTROL])
        return {
            "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "seconds": round(time.monotonic() - started, 1),
        }
    attack = wave3.BY_ID[attack_id]
    outputs, all_events, notebooks = [], [], []
    watcher = Watcher(folder)
    watcher.start()
    try:
        for number, cells in enumerate(attack.kernels):
            notebook, events, _ = run_kernel(folder / f"k{number}", cells)
            notebooks.append(notebook)
            outputs.append([text_of(cell) for cell in notebook.cells])
            all_events += events
    finally:
        watcher.stop.set()
        watcher.join()
    effect = {
        "phase": "kernel",
        "seconds": round(time.monotonic() - started, 1),
        "events": [f"{e['kind']}: {e['detail'][:80]}" for e in all_events],
        "outputs": [[o[:300] for o in kernel] for kernel in outputs],
        "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    joined = "\n".join(o for kernel in outputs for o in kernel)
    if attack_id == "k5-keyring":
        stored = re.search(r"KEYRING stored: (.*)", joined)
        read = re.search(r"KEYRING read: (.*)", joined)
        from autograder.grading.sandbox import FIRST_SLOT_UID

        users = Path("/proc/key-users").read_text().splitlines()
        effect["host_key_users"] = [
            u.strip() for u in users if u.strip().startswith(f"{FIRST_SLOT_UID}:")
        ]
        cleanup, _, _ = run_kernel(folder / "cleanup", [KEYRING_CLEANUP])
        effect["cleanup"] = text_of(cleanup.cells[0]).strip()
        passed = bool(read) and "from the student graded before you" in read.group(1)
        effect.update(
            earned=passed,
            summary=(
                f"kernel 1 {stored.group(1) if stored else '?'}; kernel 2 (a new sandbox, same "
                f"slot) {read.group(1)[:140] if read else '?'}; after both kernels ended "
                "the host's "
                f"/proc/key-users still lists {effect['host_key_users']}"
            ),
        )
    elif attack_id == "k5-userns":
        line = re.search(r"USERNS (.*)", joined)
        effect.update(
            earned=bool(line) and "ok" in line.group(1).split(";")[0],
            summary=line.group(1) if line else joined[:200],
        )
    elif attack_id == "k5-syscalls":
        lines = re.findall(r"SYSCALL (.*)", joined)
        effect.update(earned=any(": ok" in line for line in lines), summary="; ".join(lines))
    elif attack_id == "o6-cells":
        notebook = notebooks[0]
        kept = sum(len(json.dumps(output)) for cell in notebook.cells for output in cell.outputs)
        truncated = [e for e in all_events if e.startswith("output_truncated")]
        effect.update(
            kept_bytes=kept,
            earned=kept > 8 * 2**20 and not truncated,
            summary=(
                f"{kept / 2**20:.1f} MiB of output kept for one notebook of {len(notebook.cells)} "
                f"cells (per-cell cap 2 MiB); truncation events: {len(truncated)}"
            ),
        )
    elif attack_id == "o6-sockets":
        tmp = re.search(r"TMP (.*)", joined)
        sock = re.search(r"SOCKETS (.*)", joined)
        effect.update(
            host_bytes_seen=watcher.most,
            host_folder=watcher.where,
            earned=watcher.most > 2**30,
            summary=(
                f"{tmp.group(1) if tmp else '?'}; {sock.group(1) if sock else '?'}; the host saw "
                f"{watcher.most / 2**30:.2f} GiB in {watcher.where or '?'}"
            ),
        )
    elif attack_id == "o6-one-message":
        kept = sum(
            len(json.dumps(output)) for cell in notebooks[0].cells for output in cell.outputs
        )
        effect.update(kept_bytes=kept, summary=f"kept {kept / 2**20:.2f} MiB of a 256 MiB message")
    return effect


def kernel_phase(old: Path, work: Path, attacks, results: dict) -> None:
    def child(attack_id: str) -> dict:
        out = work / "kernels" / f"{attack_id}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        log = work / "kernels" / f"{attack_id}.log"
        with open(log, "wb") as stream:
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--old-tree",
                    str(old),
                    "--workdir",
                    str(work),
                    "--kernel-attack",
                    attack_id,
                    "--result",
                    str(out),
                ],
                stdout=stream,
                stderr=subprocess.STDOUT,
                check=False,
            )
        return json.loads(out.read_text()) if out.exists() else {"summary": f"failed; see {log}"}

    control = None
    for attack in attacks:
        effect = child(attack.id)
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
                    f"{control['maxrss_mib']:.0f} MiB "
                    f"for a notebook that prints one line (+{grew:.0f} MiB)"
                ),
            )
        results[attack.id] = effect


# ---- main --------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old-tree", type=Path, required=True)
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "hostile-wave3-old"
    )
    parser.add_argument("--only", default="", help="comma-separated attack ids")
    parser.add_argument("--phases", default="leaderboard,grade,kernel")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--kernel-attack", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    old = args.old_tree.resolve()
    sys.path.insert(0, str(old))
    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    if args.kernel_attack:
        effect = one_kernel_attack(args.kernel_attack, work)
        args.result.write_text(json.dumps(effect, indent=1))
        return 0
    import autograder

    if Path(autograder.__file__).resolve().parent.parent != old:
        raise SystemExit(f"autograder comes from {autograder.__file__}, not from {old}")
    commit = subprocess.run(
        ["git", "-C", str(old), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    chosen = [a for a in wave3.WAVE if not args.only or a.id in args.only.split(",")]
    check_sources(wave3.WAVE + wave3.CONTROLS)
    phases = args.phases.split(",")
    results_file = work / "results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    say(f"hostile wave 3 against {old} ({commit}); work folder {work}")
    course = course_copy(old, work)
    started = time.monotonic()
    board = [a for a in chosen if a.kind == "leaderboard"]
    if "leaderboard" in phases and board:
        say(f"leaderboard: {len(board)} attacks ...")
        leaderboard_phase(old, work, course, board, results)
    graded = [a for a in chosen if a.kind == "grade"]
    controls = [
        wave3.BY_ID[c] for c in dict.fromkeys(wave3.CONTROL_OF.get(a.id) for a in graded) if c
    ]
    graded += controls
    if "grade" in phases and graded:
        count = sum(a.students for a in graded)
        say(f"grade: {count} students, coursekit grade --workers {args.workers} ...")
        grade_phase(old, work, course, graded, results, args.workers)
    kernels = [a for a in chosen if a.kind == "kernel"]
    if "kernel" in phases and kernels:
        say(f"kernel: {len(kernels)} attacks, one process each ...")
        kernel_phase(old, work, kernels, results)
    results_file.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    say(f"\n{'attack':<22}{'class':<7}{'got through':<13}effect on the old code ({commit})")
    for attack in chosen:
        effect = results.get(attack.id, {})
        through = {True: "YES", False: "no"}.get(effect.get("earned"), "?")
        say(f"{attack.id:<22}{attack.klass:<7}{through:<13}{effect.get('summary', '(not run)')}")
    if controls:
        say("\ncontrols (the same work without the trick; each must earn 0):")
        for control in controls:
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
