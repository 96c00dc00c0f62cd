"""``coursekit grade``: sandboxed, parallel, incremental autograding of a class.

The flow for one run::

    submissions (nbgrader tree, folder or zip)
      -> collect: files mapped to students           (autograder.grading.pipeline.ingest)
      -> template course: source + release + gradebook, built once per run
      -> one worker process per student, N at a time  (autograder.grading.pipeline.worker)
           preflight -> nbgrader autograde with SandboxedExecute -> feedback
      -> merge, one student at a time, into the course:
           autograded/ and feedback/ folders swapped in whole,
           the gradebook updated in one transaction,
           then the student's record (the proof that the rest is complete)
      -> grades.csv (nbgrader's export) and grades_lms.csv

Records live in ``COURSE_ROOT/grading/ASSIGNMENT/records/STUDENT.json`` with
the student's status, scores, problems, review notes and log. A rerun skips
students whose files and grader are unchanged since their record.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import nbformat

import autograder
import utilities
from autograder.course.folder import (
    CONFIG_FILE,
    CourseError,
    run_nbgrader,
    scratch_course,
    source_notebooks,
)
from autograder.grading.checker.plan import plan_assignment
from autograder.grading.lms.export import GradeFile, StudentGrade, write_grade_file
from autograder.grading.lms.identity import IDENTITIES_FILE, read_identities, write_identities
from autograder.grading.lms.roster import read_roster
from autograder.grading.pipeline.ingest import (
    StudentFiles,
    SubmissionsError,
    Unmapped,
    collect,
    printable,
)
from autograder.grading.pipeline.events import NotebookEvents
from autograder.grading.pipeline.records import Job, Status, StudentRecord, WorkerResult
from autograder.grading.pipeline.runner import JobOutcome, open_runner
from autograder.grading.sandbox import SandboxLimits, default_spec, sandbox_problem
from autograder.leaderboard.points import (
    LEADERBOARD_POINTS,
    TEAM_NOTEBOOK,
    leaderboard_grade,
    read_final,
)
from autograder.spreadsheet import csv_text, plain_cell
from utilities.files import staged_file, write_text_atomically
from utilities.data import sha256_of

GRADING_DIR = "grading"
RECORDS_DIR = "records"
LOGS_DIR = "logs"
LMS_CSV = "grades_lms.csv"
NBGRADER_CSV = "grades.csv"
GRADING_PLAN = "grading_plan.json"
LEADERBOARD_DIR = (
    "leaderboard"  # COURSE_ROOT/leaderboard/ASSIGNMENT, as `coursekit leaderboard` writes
)
LIMITS_FILE = "limits.json"
TEMPLATE_DIR = ".template"  # in the grading folder: the course as graded (hidden tests included)
TEMPLATE_KEY = "template.key"
MAX_LOG_BYTES = 1024**2  # of one student's grading log


@dataclass
class ClassReport:
    records: list[StudentRecord]
    skipped: list[str]  # unchanged since the last run
    unmapped: list[Unmapped]
    grading_dir: Path
    feedback_dir: Path
    lms_csv: Path
    nbgrader_csv: Path
    seconds: float
    lms_file: GradeFile | None = None  # with --roster: the grades in the LMS's import format
    where: str = ""  # "with 2 workers", or the Dask cluster's address

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for record in self.records:
            counts[record.status] = counts.get(record.status, 0) + 1
        return counts


@dataclass(frozen=True)
class GradeSettings:
    assignment: str
    submissions: Path
    course_root: Path
    dataset_file: Path
    cache_dir: Path
    workers: int = os.cpu_count() or 1
    force: bool = False
    db_url: str | None = None
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    progress: bool = True
    roster: Path | None = None  # the class list an LMS exported (autograder.grading.lms.roster)
    scheduler: str | None = None  # a Dask scheduler's address (autograder.grading.pipeline.runner)
    warm_kernels: bool = True  # kernels forked from a zygote (autograder.grading.sandbox.zygote)

    @property
    def gradebook_url(self) -> str:
        return self.db_url or f"sqlite:///{Path(self.course_root).resolve() / 'gradebook.db'}"


def grade_class(settings: GradeSettings) -> ClassReport:
    """Grade every submission under ``settings.submissions``; see the module docstring."""
    started = time.perf_counter()
    problem = sandbox_problem()
    if problem:
        raise CourseError(f"cannot sandbox student code: {problem}")
    course_root = Path(settings.course_root).resolve()
    source_notebooks(course_root, settings.assignment)
    if not Path(settings.dataset_file).is_file():
        raise CourseError(
            f"{settings.dataset_file}: the course dataset is missing; run `coursekit data build`"
        )
    roster = read_roster(settings.roster) if settings.roster else None  # bad input fails now
    if not Path(settings.submissions).exists():  # before the template's 14 s, not after
        raise SubmissionsError(f"{printable(Path(settings.submissions))}: no such file or folder")
    grading_dir = course_root / GRADING_DIR / settings.assignment
    (grading_dir / RECORDS_DIR).mkdir(parents=True, exist_ok=True)
    # The limits in force, for the course site's rules page (autograder.site.content).
    write_text_atomically(grading_dir / LIMITS_FILE, json.dumps(asdict(settings.limits), indent=1))
    (grading_dir / LOGS_DIR).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="coursekit-grade-") as temporary:
        work = Path(temporary)  # 0700: solutions, hidden tests and notebooks live here
        template = _template_course(settings, work / "template", grading_dir)
        fingerprint = _grader_fingerprint(settings, template)
        cells = _grade_ids(template / "release" / settings.assignment)
        collected = collect(settings.submissions, settings.assignment, cells, work)
        identities = [files.identity for files in collected.students.values()]
        write_identities(grading_dir / IDENTITIES_FILE, identities)
        _sync_assignment(template, settings)
        todo, skipped = _plan(collected.students, grading_dir, fingerprint, settings.force)
        records, where = _grade_all(todo, settings, template, work, grading_dir, fingerprint)
    report = ClassReport(
        records=sorted(records, key=lambda record: record.student),
        skipped=skipped,
        unmapped=collected.unmapped,
        grading_dir=grading_dir,
        feedback_dir=course_root / "feedback",
        lms_csv=grading_dir / LMS_CSV,
        nbgrader_csv=grading_dir / NBGRADER_CSV,
        seconds=time.perf_counter() - started,
        where=where,
    )
    _write_unmapped(grading_dir, collected.unmapped)
    export_grades(settings, grading_dir)
    if roster is not None:
        report.lms_file = write_grade_file(
            grading_dir / f"grades_{roster.format.lms}.csv",
            student_grades(course_root, settings.assignment, load_records(grading_dir).values()),
            roster,
            settings.assignment,
            read_identities(grading_dir / IDENTITIES_FILE),
        )
    return report


def load_records(grading_dir: Path) -> dict[str, StudentRecord]:
    """Every student's record from a grading folder; an unreadable one counts as none."""
    records = {}
    for path in sorted((Path(grading_dir) / RECORDS_DIR).glob("*.json")):
        try:
            records[path.stem] = StudentRecord(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError) as error:
            message = f"{path}: unreadable record, the student is graded again ({error})"
            warnings.warn(message, stacklevel=2)
    return records


# ---- preparation -------------------------------------------------------------


def _template_course(settings: GradeSettings, folder: Path, grading_dir: Path) -> Path:
    """A course with the grading config, the sources, the release, a gradebook and the plan.

    nbgrader's ``generate_assignment`` takes about 14 s, so the template is
    kept in ``grading_dir/.template`` and rebuilt only when the sources, the
    config, the dataset or the kit's own code change. Workers only read it.
    """
    key = _template_key(settings)
    kept = grading_dir / TEMPLATE_DIR
    with contextlib.suppress(OSError):
        if (kept / TEMPLATE_KEY).read_text() == key:
            return kept
    scratch_course(Path(settings.course_root), settings.assignment, folder)
    source = folder / "source" / settings.assignment
    shutil.copy2(settings.dataset_file, source / Path(settings.dataset_file).name)
    run_nbgrader(folder, "generate_assignment", settings.assignment, "--force")
    plan = plan_assignment(source, folder / "release" / settings.assignment)
    (folder / GRADING_PLAN).write_text(plan.to_json())
    (folder / TEMPLATE_KEY).write_text(key)
    staged = grading_dir / f".template-{os.getpid()}"
    shutil.rmtree(staged, ignore_errors=True)
    shutil.copytree(folder, staged)
    old = grading_dir / f".template-old-{os.getpid()}"
    if kept.exists():
        os.replace(kept, old)
    os.replace(staged, kept)
    shutil.rmtree(old, ignore_errors=True)
    return kept


def _template_key(settings: GradeSettings) -> str:
    """What the template is made of: the course's config and sources, the dataset, the kit."""
    course = Path(settings.course_root)
    digest = hashlib.sha256((course / CONFIG_FILE).read_bytes())
    source = course / "source" / settings.assignment
    for path in sorted(source.rglob("*")):
        if path.is_file() and ".ipynb_checkpoints" not in path.parts:
            digest.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes())
    digest.update(sha256_of(settings.dataset_file).encode())
    digest.update(_kit_digest().encode())
    return digest.hexdigest()


def _kit_digest() -> str:
    digest = hashlib.sha256()
    for package in (autograder, utilities):
        folder = Path(package.__file__).parent
        for path in sorted(folder.rglob("*.py")):
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _grade_ids(release: Path) -> dict[str, set[str]]:
    cells = {}
    for path in sorted(release.glob("*.ipynb")):
        notebook = nbformat.read(path, 4)
        cells[path.stem] = {
            cell.metadata["nbgrader"]["grade_id"]
            for cell in notebook.cells
            if cell.metadata.get("nbgrader", {}).get("grade_id")
        }
    return cells


def _grader_fingerprint(settings: GradeSettings, template: Path) -> str:
    """Everything that can change a grade: limits, sources, config, dataset and the kit's code."""
    digest = hashlib.sha256(f"{asdict(settings.limits)}".encode())
    digest.update(_kit_digest().encode())
    for path in sorted((template / "source" / settings.assignment).glob("*.ipynb")):
        digest.update(path.read_bytes())
    digest.update((template / CONFIG_FILE).read_bytes())
    digest.update(sha256_of(settings.dataset_file).encode())
    return digest.hexdigest()


def _plan(students: dict[str, StudentFiles], grading_dir: Path, grader: str, force: bool):
    records = load_records(grading_dir)
    todo, skipped = [], []
    for student, files in sorted(students.items()):
        fingerprint = _fingerprint(files, grader)
        previous = records.get(student)
        if not force and previous is not None and previous.fingerprint == fingerprint:
            skipped.append(student)
        else:
            todo.append((files, fingerprint))
    return todo, skipped


def _fingerprint(files: StudentFiles, grader: str) -> str:
    return hashlib.sha256(f"{grader}\0{files.fingerprint()}".encode()).hexdigest()


# ---- running the workers -----------------------------------------------------


def _grade_all(todo, settings: GradeSettings, template: Path, work: Path, grading_dir, grader):
    cache = _readable_copy(Path(settings.cache_dir), work / "cache")
    spec = default_spec(work / "kernels", Path(), settings.limits, cache, settings.warm_kernels)
    (work / "kernels").mkdir(mode=0o711)
    records: list[StudentRecord] = []
    if not todo:
        return records, "with no worker"
    runner = open_runner(settings.workers, settings.scheduler)
    bar = _progress(len(todo), settings.progress)
    futures = {}
    try:
        for files, fingerprint in todo:
            job_file, budget = _write_job(files, settings, template, work, spec)
            futures[runner.submit(job_file, budget)] = (files, fingerprint)
        for future in runner.as_completed(futures):
            files, fingerprint = futures[future]
            log_path = Path(grading_dir) / LOGS_DIR / f"{files.student}.log"
            try:
                outcome: JobOutcome = future.result()
                result = outcome.result
                _write_log(log_path, outcome.output)
            except Exception as error:  # this student's record says so; the rest go on
                crashed = f"the grader failed: {type(error).__name__}: {error}"
                result = WorkerResult(files.student, crashed=printable(crashed))
                _write_log(log_path, b"")
            record = _merge(files, result, log_path, settings, work, fingerprint)
            records.append(record)
            bar.set_postfix_str(f"{record.student}: {record.status}", refresh=False)
            bar.update()
    except BaseException:
        runner.close(cancel=True)
        raise
    else:
        runner.close()
    finally:
        bar.close()
    return records, runner.where


def _readable_copy(cache: Path, folder: Path) -> Path:
    """The dataset cache, readable by the sandbox user, without touching the cache itself.

    Links in the cache are skipped, never followed. A file that others may
    already read is hard-linked; any other is copied, so that no mode of the
    instructor's own files changes.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for root, directories, files in os.walk(cache, followlinks=False):
        here = folder / Path(root).relative_to(cache)
        here.mkdir(parents=True, exist_ok=True)
        here.chmod(0o755)
        directories[:] = [d for d in directories if not (Path(root) / d).is_symlink()]
        for name in files:
            path = Path(root) / name
            info = path.lstat()
            if not path.is_file() or path.is_symlink():
                continue
            target = here / name
            if info.st_mode & 0o004:
                with contextlib.suppress(OSError):
                    os.link(path, target)
            if not target.exists():
                shutil.copyfile(path, target)
                target.chmod(0o644)
    return folder


def _write_job(files: StudentFiles, settings, template, work, spec) -> tuple[Path, float]:
    """The job file for one student, and the seconds its worker may take."""
    folder = work / "students" / files.student
    folder.mkdir(parents=True)
    spec_file = folder / "sandbox.json"
    events = folder / "course" / "events.jsonl"
    spec_file.write_text(replace(spec, events_file=str(events)).to_json())
    job = Job(
        student=files.student,
        assignment=settings.assignment,
        template=str(template),
        scratch=str(folder),
        notebooks={name: str(path) for name, path in files.notebooks.items()},
        sandbox_spec=str(spec_file),
        result_file=str(folder / "result.json"),
        root=str(files.root),
        grading_plan=str(template / GRADING_PLAN),
    )
    job_file = folder / "job.json"
    job_file.write_text(json.dumps(asdict(job)))
    budget = settings.limits.notebook_timeout * max(1, len(files.notebooks)) + 180
    return job_file, budget


def _write_log(path: Path, output: bytes) -> None:
    """The worker's output (kernel output is capped inside it), at most MAX_LOG_BYTES of it."""
    text = output[:MAX_LOG_BYTES].decode("utf-8", errors="replace")
    if len(output) > MAX_LOG_BYTES:
        text += f"\n[coursekit] {len(output) - MAX_LOG_BYTES:,} more bytes were dropped\n"
    write_text_atomically(path, text)


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="student", desc="Grading", disable=not enabled, smoothing=0.1)


# ---- merging into the course -------------------------------------------------


def _merge(files, result: WorkerResult, log_path, settings: GradeSettings, work, fingerprint):
    """Move one student's results into the course; the record is written last."""
    student = files.student
    course_root = Path(settings.course_root).resolve()
    scratch = work / "students" / student / "course"
    record = StudentRecord(
        student=student,
        status=Status.GRADED,
        problems=list(files.notes) + result.problems,
        review=list(result.review),
        log=str(log_path),
        fingerprint=fingerprint,
        graded_at=datetime.now(UTC).isoformat(timespec="seconds"),
        seconds=result.seconds,
        profile=dict(result.profile),
    )
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(result.log)
    notebooks = [NotebookEvents.from_dict(entry) for entry in result.events]
    broken_kernel = [
        f"{entry.notebook}: {event.detail}"
        for entry in notebooks
        for event in entry.events
        if event.kind.is_graders_fault
    ]
    if broken_kernel and not result.crashed:  # the grader's fault, never the student's
        result.crashed = "the grading could not finish: " + "; ".join(broken_kernel)
    if result.crashed:
        record.status = Status.NOT_GRADED
        record.reason = printable(result.crashed)
        record.fingerprint = ""  # always retried
        _write_record(course_root, settings.assignment, record)
        return record
    for entry in notebooks:
        for event in entry.events:
            text = f"{event.where(entry.notebook)}: {printable(event.detail)}"
            if event.kind.is_problem:
                record.problems.append(text)
            else:
                record.notes.append(text)
            if event.kind.holds_points:
                record.review.append(text)
                record.held.append(text)
    if result.error:
        # nbgrader could not process a notebook that passed preflight: it scores 0 (kept,
        # not retried on every run), and a TA should look at it.
        note = f"nbgrader could not grade this submission; it scores 0 ({result.error})"
        record.problems.append(note)
        record.review.append(note)
    assignment = settings.assignment
    if result.autograded:
        for folder in ("autograded", "feedback"):
            _swap_in(
                scratch / folder / student / assignment,
                course_root / folder / student / assignment,
            )
    _save_grades(settings, scratch, student, record, result)
    if record.held:
        record.status = Status.HELD_FOR_REVIEW
    elif record.problems:
        record.status = Status.GRADED_WITH_PROBLEMS
    _write_record(course_root, assignment, record)
    return record


def _swap_in(source: Path, destination: Path) -> None:
    """Replace ``destination`` by a copy of ``source`` (notebooks and HTML only) in one rename."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    for path in sorted(source.glob("*")):
        if path.suffix in (".ipynb", ".html") and path.is_file():
            shutil.copy2(path, staged / path.name)
    old = None
    if destination.exists():
        old = destination.parent / f".{destination.name}.old-{os.getpid()}"
        os.replace(destination, old)
    os.replace(staged, destination)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _save_grades(settings, scratch: Path, student: str, record: StudentRecord, result) -> None:
    """Copy the scratch gradebook's grades for ``student`` into the course gradebook.

    When the record holds the points for review, the autograded cells are
    stored as 0 and their scores are kept in ``record.held_scores`` until
    :func:`release_held` puts them in.
    """
    from nbgrader.api import Gradebook, MissingEntry
    from sqlalchemy.exc import SAWarning

    assignment = settings.assignment
    scratch_url = f"sqlite:///{scratch / 'gradebook.db'}"
    with (
        warnings.catch_warnings(),  # nbgrader's own autoflush noise when it creates rows
        Gradebook(settings.gradebook_url) as main,
        Gradebook(scratch_url) as local,
    ):
        warnings.simplefilter("ignore", SAWarning)
        main.update_or_create_student(student)
        submission = main.update_or_create_submission(assignment, student)
        try:
            graded = local.find_submission(assignment, student) if result.autograded else None
        except MissingEntry:
            graded = None
        scores = {}
        if graded is not None:
            for notebook in graded.notebooks:
                for grade in notebook.grades:
                    scores[(notebook.name, grade.name)] = (
                        grade.auto_score,
                        grade.needs_manual_grade,
                    )
                for comment in notebook.comments:
                    target = main.find_comment(comment.name, notebook.name, assignment, student)
                    target.auto_comment = comment.auto_comment
        record.held_scores = {}
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                auto, manual = scores.get((notebook.name, grade.name), (0.0, False))
                if record.held and grade.cell_type == "code":
                    record.held_scores.setdefault(notebook.name, {})[grade.name] = auto or 0.0
                    auto = 0.0
                grade.auto_score = auto
                grade.needs_manual_grade = manual
        main.db.commit()
        for notebook in sorted(submission.notebooks, key=lambda item: item.name):
            auto = [g for g in notebook.grades if g.cell_type == "code"]
            held = record.held_scores.get(notebook.name, {})
            earned = {g.name: held.get(g.name, g.auto_score or 0) for g in auto}
            record.notebooks[notebook.name] = {
                "score": float(notebook.score),
                "max_score": float(notebook.max_score),
                "autograded_score": float(sum(g.auto_score or 0 for g in auto)),
                "autograded_max": float(sum(g.max_score for g in auto)),
                "held_score": float(sum(held.values())),
                "tests_failed": sorted(g.name for g in auto if earned[g.name] < g.max_score),
            }
        record.score = float(submission.score)
        record.max_score = float(submission.max_score)
        record.autograded_score = sum(n["autograded_score"] for n in record.notebooks.values())
        record.autograded_max = sum(n["autograded_max"] for n in record.notebooks.values())


def _write_record(course_root: Path, assignment: str, record: StudentRecord) -> None:
    path = course_root / GRADING_DIR / assignment / RECORDS_DIR / f"{record.student}.json"
    write_text_atomically(path, json.dumps(asdict(record), indent=1))


def _write_unmapped(grading_dir: Path, unmapped: list[str]) -> None:
    write_text_atomically(grading_dir / "unmapped.txt", "".join(f"{line}\n" for line in unmapped))


def _sync_assignment(template: Path, settings: GradeSettings) -> None:
    """Give the course gradebook the assignment's notebooks and cells, as the template has them."""
    from nbgrader.api import Gradebook

    assignment = settings.assignment
    with (
        Gradebook(f"sqlite:///{template / 'gradebook.db'}") as source,
        Gradebook(settings.gradebook_url) as target,
    ):
        target.update_or_create_assignment(assignment)
        for notebook in source.find_assignment(assignment).notebooks:
            target.update_or_create_notebook(notebook.name, assignment)
            for cell in notebook.grade_cells:
                target.update_or_create_grade_cell(
                    cell.name,
                    notebook.name,
                    assignment,
                    max_score=cell.max_score,
                    cell_type=cell.cell_type,
                )
            for cell in notebook.solution_cells:
                target.update_or_create_solution_cell(cell.name, notebook.name, assignment)
            for cell in notebook.task_cells:
                target.update_or_create_task_cell(
                    cell.name,
                    notebook.name,
                    assignment,
                    max_score=cell.max_score,
                    cell_type=cell.cell_type,
                )
            for cell in notebook.source_cells:
                target.update_or_create_source_cell(
                    cell.name,
                    notebook.name,
                    assignment,
                    cell_type=cell.cell_type,
                    locked=cell.locked,
                    source=cell.source,
                    checksum=cell.checksum,
                )


# ---- exports ------------------------------------------------------------------


def export_grades(settings: GradeSettings, grading_dir: Path) -> None:
    """nbgrader's grades.csv and an LMS-friendly grades_lms.csv, both from the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.plugins.export import CsvExportPlugin

    nbgrader_csv = grading_dir / NBGRADER_CSV
    with staged_file(nbgrader_csv) as staged, Gradebook(settings.gradebook_url) as gradebook:
        # What `nbgrader export` writes, in this process (a subprocess cost 5 s).
        plugin = CsvExportPlugin(to=str(staged), assignment=[settings.assignment])
        plugin.log.setLevel(logging.WARNING)
        plugin.export(gradebook)
        os.replace(staged, nbgrader_csv)
    records = load_records(grading_dir)
    assignment = settings.assignment
    course_root = Path(settings.course_root)
    final = read_final(course_root / LEADERBOARD_DIR / assignment)
    with Gradebook(settings.gradebook_url) as gradebook:
        notebooks = sorted(n.name for n in gradebook.find_assignment(assignment).notebooks)
        rows = []
        for student in sorted(s.id for s in gradebook.students):
            try:
                submission = gradebook.find_submission(assignment, student)
            except MissingEntry:  # a student of another assignment
                continue
            by_name = {n.name: n for n in submission.notebooks}
            record = records.get(student)
            total, max_total = submission.score, submission.max_score
            board: list = []
            if final is not None:
                earned = student_leaderboard_grade(course_root, assignment, student, final)
                total += earned.points
                max_total += LEADERBOARD_POINTS
                board = [plain_cell(earned.team), f"{earned.points:g}", earned.note]
            rows.append(
                [student, f"{total:g}", f"{max_total:g}"]
                + [f"{by_name[name].score:g}" for name in notebooks]
                + board
                + [
                    sum(1 for n in submission.notebooks for g in n.grades if g.needs_manual_grade),
                    str(record.status) if record else "",
                    "yes" if record and record.needs_review else "no",
                ]
            )
    header = (
        ["student_id", "total", "max_total"]
        + [f"points_{name}" for name in notebooks]
        + (["team", "leaderboard_points", "leaderboard_note"] if final is not None else [])
        + ["cells_to_grade_by_hand", "status", "needs_review"]
    )
    write_text_atomically(grading_dir / LMS_CSV, csv_text(header, rows))


def student_leaderboard_grade(course_root: Path, assignment: str, student: str, final):
    """A student's leaderboard points, read from their autograded Part 2 notebook."""
    notebook = Path(course_root) / "autograded" / student / assignment / TEAM_NOTEBOOK
    return leaderboard_grade(notebook if notebook.is_file() else None, final)


def student_grades(course_root: Path, assignment: str, records) -> list[StudentGrade]:
    """Each record's total for an LMS, with the leaderboard points once the leaderboard is final."""
    final = read_final(Path(course_root) / LEADERBOARD_DIR / assignment)
    grades = []
    for record in records:
        grade = StudentGrade.from_record(record)
        if final is not None:
            earned = student_leaderboard_grade(course_root, assignment, record.student, final)
            grade = replace(
                grade,
                points=grade.points + earned.points,
                max_points=grade.max_points + LEADERBOARD_POINTS,
            )
        grades.append(grade)
    return grades


# ---- review ---------------------------------------------------------------------


def release_held(settings: GradeSettings, student: str, by: str) -> StudentRecord:
    """A TA has reviewed ``student``: put the held autograded points into the gradebook."""
    from nbgrader.api import Gradebook

    grading_dir = Path(settings.course_root).resolve() / GRADING_DIR / settings.assignment
    record = load_records(grading_dir).get(student)
    if record is None:
        raise CourseError(f"no grading record for {printable(student)!s} in {grading_dir}")
    if not record.is_held:
        raise CourseError(f"{student}: nothing is held (status: {record.status})")
    with Gradebook(settings.gradebook_url) as gradebook:
        submission = gradebook.find_submission(settings.assignment, student)
        for notebook in submission.notebooks:
            held = record.held_scores.get(notebook.name, {})
            for grade in notebook.grades:
                if grade.name in held:
                    grade.auto_score = held[grade.name]
            entry = record.notebooks.get(notebook.name)
            if entry is not None:
                entry["autograded_score"] = entry.pop("held_score", 0.0)
                entry["held_score"] = 0.0
        gradebook.db.commit()
        record.score = float(submission.score)
    record.autograded_score = sum(n["autograded_score"] for n in record.notebooks.values())
    record.held_scores = {}
    record.released_by = by
    record.status = Status.GRADED_WITH_PROBLEMS if record.problems else Status.GRADED
    _write_record(Path(settings.course_root).resolve(), settings.assignment, record)
    export_grades(settings, grading_dir)
    return record
