"""Grading a class: intake, a canary, then nbgrader's pipeline N submissions at a time.

The batch, in order (each step's reason in brackets):

1. **the assignment** is read from the gradebook (what notebooks and cells it has) [nbgrader's
   ``generate_assignment`` is the one source of tests];
2. **the canary**: the instructor's own solution notebook is graded first, in the same sandbox,
   with the same executor (:func:`run_canary`); unless it earns every point the batch stops
   with an error and writes no grade [a batch that cannot grade -- no kernel starts, the
   sandbox lacks a package, a hidden test is broken -- must never hand out zeros];
3. **intake** per student (:mod:`grader.grading.intake`): the submission folder is read
   without following anything and within limits, and only the assignment's notebooks (and
   ``timestamp.txt``) are staged for nbgrader [nbgrader follows symbolic links];
4. **nbgrader's Autograde** per student, in a pool of threads: its sanitize pass, then
   :class:`~grader.grading.executor.TrustedExecute` (sandboxed kernel, verdicts made in this
   process), then ``SaveAutoGrades`` and the late penalties -- nbgrader's own code writes the
   gradebook, under :class:`~grader.grading.gradebook.GradebookLock`
   [:mod:`grader.grading.gradebook` explains the lock];
5. the scores are read back from the gradebook for the table and the JSON summary.

One submission's failure -- refused at intake, unreadable by nbgrader, a crash of the grader
itself -- is recorded with its reason and never stops the batch.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import queue
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbgrader.converters import Autograde
from nbgrader.converters.base import BaseConverter, NbGraderException
from nbgrader.preprocessors import DeduplicateIds, Execute
from traitlets import import_item

from grader.grading import accepted, fingerprint, intake
from grader.grading.executor import Job, TrustedExecute, launch_kernel, set_current_job
from grader.grading.gradebook import GradebookLock, shared_gradebook_engine, wal_gradebook
from grader.grading.sandbox import Sandbox, prepare_kit

SUMMARY_NAME = "{assignment}-autograde-summary.json"
CANARY = "__canary__"


class BatchError(RuntimeError):
    """The batch cannot grade anyone (the canary failed, the assignment is unknown...)."""


@dataclass
class StudentResult:
    student: str
    status: str = "pending"          # graded, skipped, failed
    reason: str = ""
    score: float | None = None
    max_score: float | None = None
    scores: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)       # intake: files left out...
    incidents: list[str] = field(default_factory=list)   # crashes, timeouts, restarts
    nbgrader_warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    seconds_late: float = 0.0        # nbgrader's, from timestamp.txt and the due date
    late_penalty: float = 0.0        # nbgrader's, by the course's late policy

    @property
    def final(self) -> float | None:
        """The score minus the late penalty (what the reports and LMS exports give)."""
        return None if self.score is None else max(0.0, self.score - self.late_penalty)


@dataclass
class BatchResult:
    assignment: str
    course: str
    sandboxed: bool
    jobs: int
    seconds: float
    students: list[StudentResult]
    canary_seconds: float = 0.0
    summary_path: str = ""
    scheduler: str = ""              # the Dask scheduler the kernels ran on, if any

    @property
    def failures(self) -> list[StudentResult]:
        return [s for s in self.students if s.status == "failed"]

    def to_json(self) -> dict:
        return {
            "assignment": self.assignment, "course": self.course, "sandboxed": self.sandboxed,
            "jobs": self.jobs, "seconds": round(self.seconds, 2),
            "canary_seconds": round(self.canary_seconds, 2), "scheduler": self.scheduler,
            "graded": sum(s.status == "graded" for s in self.students),
            "skipped": sum(s.status == "skipped" for s in self.students),
            "failed": [{"student": s.student, "reason": s.reason} for s in self.failures],
            "students": [asdict(s) for s in self.students],
        }


class _JobLogHandler(logging.Handler):
    """Copies nbgrader's warnings about a submission into that submission's result."""

    def __init__(self) -> None:
        super().__init__()
        self.results: dict[int, StudentResult] = {}

    def emit(self, record: logging.LogRecord) -> None:
        import threading

        result = self.results.get(threading.get_ident())
        if result is not None and record.levelno >= logging.WARNING:
            if len(result.nbgrader_warnings) < 50:
                result.nbgrader_warnings.append(record.getMessage().splitlines()[0][:300])


class RobustDeduplicateIds(DeduplicateIds):
    """nbgrader's DeduplicateIds leaves ``"nbgrader": {}`` on the duplicates, which its later
    preprocessors reject as "an old version of the metadata format" and abort the *whole*
    batch; a duplicate is better an ordinary cell of the student's (no metadata at all)."""

    def preprocess_cell(self, cell, resources, cell_index):
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if cell.metadata.get("nbgrader", None) == {}:
            del cell.metadata["nbgrader"]
        return cell, resources


class ParallelAutograde(Autograde):
    """nbgrader's Autograde with :class:`TrustedExecute` (whatever the configuration lists),
    the reason of a failure kept, and no process-wide environment changes."""

    failure: str = ""

    def _init_preprocessors(self) -> None:
        self.exporter._preprocessors = []
        pps = self.sanitize_preprocessors if self._sanitizing else self.autograde_preprocessors
        for pp in pps:
            if isinstance(pp, str):
                pp = import_item(pp)
            if isinstance(pp, type) and issubclass(pp, Execute):
                pp = TrustedExecute
            elif pp is DeduplicateIds:
                pp = RobustDeduplicateIds
            self.exporter.register_preprocessor(pp)

    def init_assignment(self, assignment_id: str, student_id: str) -> None:
        try:
            super().init_assignment(assignment_id, student_id)
        except Exception as exc:
            self.failure = self.failure or _describe(exc)
            raise

    def convert_single_notebook(self, notebook_filename: str) -> None:
        """Autograde's two passes, as nbgrader does them, without its ``utils.setenv``:
        that helper deletes ``NBGRADER_EXECUTION`` from the process environment afterwards,
        which races between threads (the kernels get the variable from the sandbox's env)."""
        name = Path(notebook_filename).name
        try:
            self._sanitizing = True
            self._init_preprocessors()
            BaseConverter.convert_single_notebook(self, notebook_filename)
            notebook_filename = os.path.join(self.writer.build_directory, name)
            self._sanitizing = False
            self._init_preprocessors()
            try:
                BaseConverter.convert_single_notebook(self, notebook_filename)
            finally:
                self._sanitizing = True
        except Exception as exc:
            self.failure = self.failure or f"{name}: {_describe(exc)}"
            raise


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text.splitlines()[0][:400] if text else type(exc).__name__


def _ensure_path() -> None:
    """nbgrader runs ``alembic`` through PATH: our interpreter's bin/ first."""
    bindir = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bindir:
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def _quiet_known_warnings() -> None:
    """nbgrader's SQLAlchemy session warnings and nbformat's missing-cell-id warning are
    noise in every nbgrader run (plain ones too); the report says what matters."""
    import warnings

    from nbformat.warnings import MissingIDFieldWarning
    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning, module=r"nbgrader\.")
    warnings.filterwarnings("ignore", category=MissingIDFieldWarning)


# --------------------------------------------------------------------------------------
# The assignment, the plan
# --------------------------------------------------------------------------------------

@dataclass
class _Assignment:
    expected: dict[str, dict]        # notebook -> {"ids", "fixed"} (see intake.check_notebook)
    single_notebook: bool
    graded: dict[str, bool]          # student -> every grade of the submission is set
    source: str = ""                 # fingerprint.source_hash of the assignment


def _read_assignment(coursedir, assignment: str) -> _Assignment:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        try:
            a = gb.find_assignment(assignment)
        except MissingEntry:
            raise BatchError(f"assignment {assignment!r} is not in the gradebook: "
                             "register it first (nbgrader generate_assignment)") from None
        expected = {}
        for nb in a.notebooks:
            tests = {c.name for c in nb.grade_cells}
            expected[nb.name] = {
                "ids": tests | {c.name for c in nb.solution_cells} | {c.name for c in nb.source_cells},
                "fixed": {c.name: c.source for c in nb.source_cells
                          if c.locked and c.name not in tests and c.source.strip()}}
        graded = {sub.student.id: bool(sub.notebooks) and all(
                      g.auto_score is not None or g.manual_score is not None
                      for nb in sub.notebooks for g in nb.grades)
                  for sub in a.submissions}
        return _Assignment(expected, len(a.notebooks) == 1, graded, fingerprint.source_hash(a))


def read_assignment(course_root: Path, assignment: str) -> _Assignment:
    """:func:`_read_assignment` for a course folder (no nbgrader app needed)."""
    from types import SimpleNamespace

    db = Path(course_root).resolve() / "gradebook.db"
    return _read_assignment(SimpleNamespace(db_url=f"sqlite:///{db}", course_id="default_course"),
                            assignment)


def _folder(coursedir, kind: str) -> Path:
    """nbgrader's submitted/ or autograded/ folder (configurable, possibly absolute)."""
    return Path(coursedir.root) / getattr(coursedir, f"{kind}_directory")


def _plan(coursedir, assignment: str, students: list[str] | None, force: bool,
          info: _Assignment, limits: intake.Limits
          ) -> tuple[dict[str, StudentResult], dict[str, intake.Inspection]]:
    """A result per student, and who to grade, with what intake read of each (the bytes that
    are staged and fingerprinted: each folder is read once): a submission refused at intake
    fails here (nothing to run); one graded before is graded again only when its fingerprint
    changed (:mod:`grader.grading.fingerprint`: submission, tests or grader), or with ``force``."""
    submitted = _folder(coursedir, "submitted")
    found = sorted(p.parent.name for p in submitted.glob(f"*/{assignment}")
                   if p.parent.name != CANARY and (p.is_dir() or p.is_symlink()))
    wanted = [s for s in found if not students or s in students]
    results = {s: StudentResult(s) for s in wanted}
    for s in students or []:
        if s not in results:
            results[s] = StudentResult(s, status="failed",
                                       reason=f"no submission in submitted/{s}/{assignment}/")
    renames = accepted.load(Path(coursedir.root)).get(assignment, {})
    todo: dict[str, intake.Inspection] = {}
    for s in wanted:
        seen = intake.inspect(submitted / s / assignment, limits, info.expected, renames.get(s))
        if seen.refusal:
            results[s].status, results[s].reason = "failed", f"refused: {seen.refusal}"
            results[s].notes += seen.notes
            continue
        why = fingerprint.changes(
            fingerprint.read(_folder(coursedir, "autograded") / s / assignment),
            fingerprint.make(seen, info.source))
        if not why and info.graded.get(s, False) and not force:
            results[s].status = "skipped"
            results[s].reason = "already graded; submission, tests and grader unchanged (--force grades again)"
            results[s].notes += seen.notes
        else:
            if info.graded.get(s, False) and why:
                results[s].notes.append("graded again: " + ", ".join(why))
            todo[s] = seen
    return results, todo


def _merge_summary(path: Path, data: dict) -> dict:
    """This batch's summary, with the latest entry of students it did not see kept from the
    previous summary (a batch of one student, e.g. from ``watch``, keeps the class's)."""
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
        previous = {s["student"]: s for s in old.get("students", []) if isinstance(s, dict)}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        previous = {}
    seen = {s["student"] for s in data["students"]}
    data["students"] = sorted(data["students"] + [v for k, v in previous.items() if k not in seen],
                              key=lambda s: s["student"])
    return data


# --------------------------------------------------------------------------------------
# The canary
# --------------------------------------------------------------------------------------

def run_canary(app, course_root: Path, assignment: str, box: Sandbox, kit_dir: Path,
               scratch_root: Path, cluster=None) -> float:
    """Grade the instructor's solution notebooks in the batch's sandbox; raise
    :class:`BatchError` unless every test passes.  Writes nothing to the gradebook."""
    t0 = time.monotonic()
    source = Path(app.coursedir.format_path(app.coursedir.source_directory, ".", assignment))
    notebooks = sorted(source.glob("*.ipynb"))
    if not notebooks:
        raise BatchError(f"canary: no solution notebook in {source}")
    scratch = scratch_root / "canary"
    scratch.mkdir(mode=0o711)
    loop = asyncio.new_event_loop()
    try:
        for path in notebooks:
            nb = nbformat.read(path, as_version=4)
            job = Job(CANARY, assignment, course_root, scratch, kit_dir, 0, box, loop=loop,
                      cluster=cluster)
            executor = TrustedExecute(parent=app)
            resources = {"nbgrader": {"db_url": app.coursedir.db_url, "assignment": assignment,
                                      "notebook": path.stem, "student": CANARY},
                         "metadata": {"path": str(scratch)}}
            set_current_job(job)
            try:
                nb, _ = executor.preprocess(nb, resources)
            except Exception as exc:
                raise BatchError(f"canary: the instructor's solution {path.name} could not be "
                                 f"graded: {_describe(exc)}. No grade was written.") from exc
            finally:
                set_current_job(None)
            failed = []
            for cell in nb.cells:
                meta = cell.metadata.get("nbgrader", {})
                if cell.cell_type == "code" and meta.get("grade"):
                    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
                    if errors:
                        failed.append(f"{meta.get('grade_id')}: {errors[0].get('ename')}: "
                                      f"{str(errors[0].get('evalue'))[:300]}")
            if failed:
                raise BatchError(
                    f"canary: the instructor's solution {path.name} does not earn full marks in "
                    f"the sandbox, so no grade was written: " + " | ".join(failed[:5])
                    + (f" (+{len(failed) - 5} more)" if len(failed) > 5 else "")
                    + (f". Incidents: {'; '.join(job.incidents[:3])}" if job.incidents else ""))
    finally:
        loop.close()
    return time.monotonic() - t0


# --------------------------------------------------------------------------------------
# The batch
# --------------------------------------------------------------------------------------

class _Batch:
    """The worker side: one submission per thread, nbgrader code under the gradebook lock."""

    def __init__(self, app, course_root: Path, assignment: str, info: _Assignment,
                 box: Sandbox, jobs: int, scratch_root: Path, kit_dir: Path,
                 log: _JobLogHandler, cluster=None) -> None:
        self.app, self.course_root, self.assignment, self.info, self.box = \
            app, course_root, assignment, info, box
        self.db_path = Path(app.coursedir.db_url.replace("sqlite:///", ""))
        self.lock = GradebookLock(self.db_path)
        self.slots: queue.Queue[int] = queue.Queue()
        for i in range(jobs):
            self.slots.put(i)
        self.notebook_timeout = TrustedExecute(parent=app).notebook_timeout
        self.scratch_root, self.kit_dir, self.log = scratch_root, kit_dir, log
        self.cluster = cluster
        # One event loop per slot (kernels started on it are used on it), and per slot a
        # spare: the next student's kernel, booting while this student's notebook runs.
        self.loops = [asyncio.new_event_loop() for _ in range(jobs)]
        self.spares: dict[int, tuple[Path, Any, int]] = {}
        self._unclaimed = 0
        self._count_lock = threading.Lock()
        self.prestart = bool(info.single_notebook and cluster is None)

    def expect(self, n: int) -> None:
        """``n`` submissions will be graded: the spares stop when none is left to take one."""
        self._unclaimed = n

    def _claim(self) -> bool:
        with self._count_lock:
            self._unclaimed -= 1
            return self._unclaimed >= 0

    async def _launch(self, scratch: Path, uid_slot: int, number: int):
        return await launch_kernel(self.box, scratch=scratch, kit_dir=self.kit_dir, slot=uid_slot,
                                   number=number, notebook_timeout=self.notebook_timeout)

    async def _boot_spare(self, slot: int, parity: int) -> None:
        """Boot a kernel for the next student of ``slot``, in a scratch folder of its own and
        as the slot's uid of that ``parity`` (two students' kernels of one slot never share a
        uid, so a fork bomb spends only its own uid's process budget)."""
        if not self._claim():
            return
        scratch = self._scratch(slot)
        try:
            launched = await self._launch(scratch, 2 * slot + parity, 1)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            with self._count_lock:
                self._unclaimed += 1
            raise
        self.spares[slot] = (scratch, launched, parity)

    def boot_first_kernels(self) -> None:
        """Start each slot's first kernel now (as the slot's second uid: the canary runs as
        the first), so that the first students need not wait for one."""
        if not self.prestart:
            return
        for slot, loop in enumerate(self.loops):
            try:
                loop.run_until_complete(self._boot_spare(slot, 1))
            except Exception:
                return

    def _scratch(self, slot: int) -> Path:
        scratch = Path(tempfile.mkdtemp(prefix=f"{slot}-", dir=self.scratch_root))
        os.chmod(scratch, 0o711)
        return scratch

    def close(self) -> None:
        """Stop the spares nobody took, and the loops."""
        for slot, (scratch, launched, _) in list(self.spares.items()):
            with contextlib.suppress(Exception):
                self.loops[slot].run_until_complete(launched.km.shutdown_kernel(now=True))
            launched.log.close()
            shutil.rmtree(scratch, ignore_errors=True)
        self.spares.clear()
        for loop in self.loops:
            loop.close()

    def grade_one(self, result: StudentResult, seen: intake.Inspection) -> StudentResult:
        from nbgrader.coursedir import CourseDirectory

        t0 = time.monotonic()
        student = result.student
        slot = self.slots.get()
        spare = self.spares.pop(slot, None)
        if spare is not None:
            scratch, launched, parity = spare
        else:
            scratch, launched, parity = self._scratch(slot), None, 0
            if self.prestart:
                self._claim()
        job = Job(student, self.assignment, self.course_root, scratch, self.kit_dir,
                  2 * slot + parity, self.box, lock=self.lock, loop=self.loops[slot],
                  cluster=self.cluster)
        self.log.results[threading.get_ident()] = result
        try:
            result.notes += seen.notes
            staged_root = scratch / "submitted"
            intake.stage(seen, staged_root / student / self.assignment)
            set_current_job(job)
            if self.prestart:
                job.kernels += 1
                # once this kernel answers, the next student's boots meanwhile
                job.after_first_kernel = functools.partial(self._boot_spare, slot, 1 - parity)
                if launched is not None:
                    job.prestarted = launched
                else:
                    # the kernel boots (a second of imports) while nbgrader prepares the notebook
                    try:
                        job.prestarted = job.loop.run_until_complete(
                            self._launch(scratch, job.slot, job.kernels))
                    except Exception as exc:
                        result.incidents.append(f"kernel pre-start failed: {_describe(exc)}")
            with self.lock:
                cd = CourseDirectory(parent=self.app)
                cd.root = str(self.course_root)
                cd.submitted_directory = str(staged_root)
                cd.assignment_id = self.assignment
                cd.student_id = student
                converter = ParallelAutograde(coursedir=cd, parent=self.app, force=True)
                try:
                    converter.start()
                    result.status = "graded"
                    fingerprint.write(_folder(self.app.coursedir, "autograded") / student / self.assignment,
                                      fingerprint.make(seen, self.info.source))
                except Exception as exc:  # NbGraderException and anything nbgrader missed
                    result.status = "failed"
                    result.reason = converter.failure or _describe(exc)
        except Exception as exc:
            result.status, result.reason = "failed", f"grader error: {_describe(exc)}"
        finally:
            set_current_job(None)
            self.log.results.pop(threading.get_ident(), None)
            result.incidents += job.incidents
            leftover = job.take_prestarted()
            if leftover is not None:   # nbgrader failed before running it
                with contextlib.suppress(Exception):
                    job.loop.run_until_complete(leftover.km.shutdown_kernel(now=True))
                leftover.log.close()
            self.slots.put(slot)
            shutil.rmtree(scratch, ignore_errors=True)
            result.seconds = time.monotonic() - t0
        return result

    def read_scores(self, results: dict[str, StudentResult]) -> None:
        from nbgrader.api import Gradebook, MissingEntry

        cd = self.app.coursedir
        with self.lock, Gradebook(cd.db_url, cd.course_id) as gb:
            for s, res in results.items():
                if res.status not in ("graded", "skipped"):
                    continue
                try:
                    sub = gb.find_submission(self.assignment, s)
                except MissingEntry:
                    continue
                for nb in sub.notebooks:
                    for g in nb.grades:
                        if g.cell_type == "code" or g.max_score:
                            name = f"{nb.name}/{g.name}" if len(sub.notebooks) > 1 else g.name
                            res.scores[name] = float(g.score or 0.0)
                res.score, res.max_score = float(sub.score), float(sub.max_score)
                res.seconds_late = float(sub.total_seconds_late or 0.0)
                res.late_penalty = float(sum(nb.late_submission_penalty or 0.0
                                             for nb in sub.notebooks))


def autograde(course_root: Path, assignment: str, *, jobs: int = 2, force: bool = False,
              students: list[str] | None = None, sandbox: bool = True,
              summary_path: Path | None = None, progress: bool = True,
              config_overrides: list[str] | None = None, quiet: bool = True,
              canary: bool = True, scheduler: str | None = None) -> BatchResult:
    """Grade every submission of ``assignment`` in ``course_root``; never raises for one student.

    Raises :class:`~grader.grading.sandbox.SandboxUnavailable` when ``sandbox`` is asked for
    and cannot be had, and :class:`BatchError` when nobody can be graded (the assignment is
    not in the gradebook, the canary fails) -- before any grade is written.

    With ``scheduler`` (a Dask scheduler's address) the kernels run on that cluster's workers
    (:mod:`grader.grading.cluster`); everything else, the gradebook included, stays here, and
    at least twice as many submissions as the cluster has threads are in flight.
    """
    from nbgrader.apps import AutogradeApp

    _ensure_path()
    _quiet_known_warnings()
    start = time.monotonic()
    jobs = max(1, jobs)
    course_root = Path(course_root).resolve()
    old_cwd = os.getcwd()
    app = job_log = cluster = None
    scratch_root = Path(tempfile.mkdtemp(prefix="rnns-autograde-"))
    os.chmod(scratch_root, 0o711)
    os.chdir(course_root)   # nbgrader's converters chdir here; make every thread agree
    try:
        app = AutogradeApp()
        app.initialize([f"--CourseDirectory.root={course_root}", "--log-level=WARN",
                        *(config_overrides or [])], root=str(course_root))
        app.config.OverwriteCells.add_missing_cells = True
        if quiet:   # failures and warnings go to the report instead
            for handler in app.log.handlers:
                handler.setLevel(logging.CRITICAL)
        app.log.setLevel(logging.WARNING)
        job_log = _JobLogHandler()
        app.log.addHandler(job_log)
        box = Sandbox(parent=app)
        box.enabled = sandbox
        if sandbox:
            box.check_available()
            box.check_isolated(course_root)
        kit_dir = prepare_kit(scratch_root)
        if scheduler:
            from grader.grading.cluster import Cluster

            cluster = Cluster(scheduler)
            jobs = max(jobs, 2 * cluster.threads())
        info = _read_assignment(app.coursedir, assignment)
        results, todo = _plan(app.coursedir, assignment, students, force, info,
                              intake.Limits(parent=app))
        batch = _Batch(app, course_root, assignment, info, box, jobs, scratch_root, kit_dir, job_log,
                       cluster)
        batch.expect(len(todo))
        canary_seconds = 0.0
        try:
            if canary and todo:
                batch.boot_first_kernels()   # they boot while the canary runs
                canary_seconds = run_canary(app, course_root, assignment, box, kit_dir, scratch_root,
                                            cluster)
        except BaseException:
            batch.close()
            raise
        bar = None
        if progress and todo:
            from tqdm import tqdm

            bar = tqdm(total=len(todo), desc=f"autograde {assignment}", unit="nb", file=sys.stderr)
        try:
            with contextlib.ExitStack() as stack:
                if todo:
                    stack.enter_context(wal_gradebook(batch.db_path))
                    stack.enter_context(shared_gradebook_engine())
                stack.callback(batch.close)
                with ThreadPoolExecutor(max_workers=jobs) as pool:
                    futures = [pool.submit(batch.grade_one, results[s], seen)
                               for s, seen in todo.items()]
                    for fut in as_completed(futures):
                        res = fut.result()
                        if bar is not None:
                            bar.set_postfix_str(f"{res.student}: {res.status}", refresh=False)
                            bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        batch.read_scores(results)
        out = BatchResult(assignment, str(course_root), sandbox, jobs, time.monotonic() - start,
                          [results[s] for s in sorted(results)], canary_seconds,
                          scheduler=scheduler or "")
        path = Path(summary_path) if summary_path else (
            _folder(app.coursedir, "autograded") / SUMMARY_NAME.format(assignment=assignment))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(_merge_summary(path, out.to_json()), indent=2,
                                   ensure_ascii=False) + "\n",
                        encoding="utf-8")
        out.summary_path = str(path)
        return out
    finally:
        os.chdir(old_cwd)
        shutil.rmtree(scratch_root, ignore_errors=True)
        if cluster is not None:
            cluster.close()
        if job_log is not None:
            app.log.removeHandler(job_log)


def format_table(batch: BatchResult) -> str:
    """The class table: one line per student (a late one's penalty and final score
    first), then what went wrong, explained."""
    from grader.grading.report import late_text

    rows = [("student", "score", "status", "notes")]
    for s in batch.students:
        score = "" if s.score is None else f"{s.score:g}/{s.max_score:g}"
        notes = list(s.notes)
        if s.score is not None and s.seconds_late > 0:
            notes.insert(0, f"late by {late_text(s.seconds_late)}: penalty {s.late_penalty:g}, "
                            f"final {s.final:g}/{s.max_score:g}")
        if s.incidents:
            notes.append(f"{len(s.incidents)} incident(s)")
        if s.status == "failed":
            notes.append(s.reason)
        rows.append((s.student, score, s.status, "; ".join(notes)))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}".rstrip()
             for r in rows]
    lines.insert(1, "-" * min(100, sum(widths) + 6 + max(len(r[3]) for r in rows)))
    details = [f"  {s.student}: {inc}" for s in batch.students for inc in s.incidents]
    if details:
        lines += ["", "Details:"] + details[:200]
    graded = sum(s.status == "graded" for s in batch.students)
    lines += ["", f"{graded} graded, {sum(s.status == 'skipped' for s in batch.students)} skipped, "
                  f"{len(batch.failures)} failed in {batch.seconds:.1f} s "
                  f"(canary {batch.canary_seconds:.1f} s; "
                  f"{'sandboxed' if batch.sandboxed else 'NOT sandboxed'}, {batch.jobs} jobs"
                  f"{f', kernels on Dask at {batch.scheduler}' if batch.scheduler else ''}); "
                  f"summary: {batch.summary_path}"]
    return "\n".join(lines)
