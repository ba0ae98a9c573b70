"""Grading a class: intake, a canary, then nbgrader's pipeline N submissions at a time.

The batch, in order (each step's reason in brackets):

1. **the assignment** is read from the gradebook (what notebooks and cells it has) [nbgrader's
   ``generate_assignment`` is the one source of tests];
2. **the canary**: the instructor's own solution notebook is graded first, in the same sandbox,
   with the same executor (:func:`grader.grading.batch.run_canary`); unless it earns every point the batch stops
   with an error and writes no grade [a batch that cannot grade -- no kernel starts, the
   sandbox lacks a package, a hidden test is broken -- must never hand out zeros];
3. **intake** per student (:mod:`grader.grading.intake`): the submission folder is read
   without following anything and within limits, and only the assignment's notebooks (and
   ``timestamp.txt``) are staged for nbgrader [nbgrader follows symbolic links];
4. **nbgrader's Autograde** per student, in a pool of threads
   (:class:`grader.grading.batch.Batch`): its sanitize pass, then
   :class:`~grader.grading.executor.TrustedExecute` (sandboxed kernel, verdicts made in this
   process), then ``SaveAutoGrades`` and the late penalties -- nbgrader's own code writes the
   gradebook, under :class:`~grader.grading.gradebook.GradebookLock`
   [:mod:`grader.grading.gradebook` explains the lock];
5. the scores are read back from the gradebook for the table and the JSON summary.

One submission's failure -- refused at intake, unreadable by nbgrader, a crash of the grader
itself -- is recorded with its reason and never stops the batch.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from grader.grading import accepted, fingerprint, inflight, insight, intake, scratch
from grader.grading.batch import (CANARY, AssignmentInfo, Batch, JobLogHandler, nbgrader_folder,
                                  run_canary)
from grader.grading.gradebook import shared_gradebook_engine, wal_gradebook
from grader.grading.hidden_process import Server
from grader.grading.results import BatchError, BatchResult, StudentResult, format_table
from grader.grading.sandbox import Sandbox, prepare_kit
from grader.grading.viewers import for_terminal

# What the command, the watcher and the tests use; the results and the table live in
# grader.grading.results, the worker side in grader.grading.batch.
__all__ = ["CANARY", "SUMMARY_NAME", "BatchError", "BatchResult", "StudentResult", "autograde",
           "format_table", "read_assignment"]

SUMMARY_NAME = "{assignment}-autograde-summary.json"


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

def _read_assignment(coursedir, assignment: str) -> AssignmentInfo:
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
        return AssignmentInfo(expected, len(a.notebooks) == 1, graded, fingerprint.source_hash(a))


def read_assignment(course_root: Path, assignment: str) -> AssignmentInfo:
    """:func:`_read_assignment` for a course folder (no nbgrader app needed)."""
    from types import SimpleNamespace

    db = Path(course_root).resolve() / "gradebook.db"
    return _read_assignment(SimpleNamespace(db_url=f"sqlite:///{db}", course_id="default_course"),
                            assignment)


def _plan(coursedir, assignment: str, students: list[str] | None, force: bool,
          info: AssignmentInfo, limits: intake.Limits
          ) -> tuple[dict[str, StudentResult], dict[str, intake.Inspection]]:
    """A result per student, and who to grade, with what intake read of each (the bytes that
    are staged and fingerprinted: each folder is read once): a submission refused at intake
    fails here (nothing to run); one graded before is graded again only when its fingerprint
    changed (:mod:`grader.grading.fingerprint`: submission, tests or grader), or with ``force``."""
    submitted = nbgrader_folder(coursedir, "submitted")
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
        if "[" in s or s != s.strip():   # nbgrader globs the id again, and strips it
            results[s].status = "failed"
            results[s].reason = ("refused: the student id (the folder's name) has "
                                 + ("a '['" if "[" in s else "spaces around it")
                                 + ", which nbgrader cannot grade; rename the folder")
            continue
        seen = intake.inspect(submitted / s / assignment, limits, info.expected, renames.get(s))
        if seen.refusal:
            results[s].status, results[s].reason = "failed", f"refused: {seen.refusal}"
            results[s].notes += seen.notes
            continue
        why = fingerprint.changes(
            fingerprint.read(nbgrader_folder(coursedir, "autograded") / s / assignment),
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
    start, wall_start = time.monotonic(), time.time()
    jobs = max(1, jobs)
    course_root = Path(course_root).resolve()
    old_cwd = os.getcwd()
    app = job_log = cluster = None
    base = scratch.base().resolve()
    if course_root == base or course_root in base.parents or base in course_root.parents:
        raise BatchError(f"the grader's scratch folder {base} (in $TMPDIR) and the course folder "
                         f"{course_root} overlap: point TMPDIR elsewhere")
    scratch.sweep()                       # what a killed batch left (only folders no one holds)
    batch_scratch = scratch.Scratch("batch")
    scratch_root = batch_scratch.path
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
        job_log = JobLogHandler()
        app.log.addHandler(job_log)
        box = Sandbox(parent=app)
        box.enabled = sandbox
        if sandbox:
            box.check_available()
            box.check_isolated(course_root)
        kit_dir = prepare_kit(scratch_root)
        Server.get().start()     # the hidden tests' server imports while kernels boot
        if scheduler:
            from grader.grading.cluster import Cluster

            cluster = Cluster(scheduler)
            jobs = max(jobs, 2 * cluster.threads())
        info = _read_assignment(app.coursedir, assignment)
        results, todo = _plan(app.coursedir, assignment, students, force, info,
                              intake.Limits(parent=app))
        # a killed batch's markers: those graded again now are replaced; the others' grade stands
        inflight.clear_interrupted(course_root, assignment,
                                   [s for s, r in results.items() if r.status == "skipped"])
        batch = Batch(app, course_root, assignment, info, box, jobs, scratch_root, kit_dir, job_log,
                       cluster)
        if todo and (problem := batch.disk_problem()):
            raise BatchError(f"{problem}: free space first. Nothing was graded or written.")
        batch.expect(len(todo))
        canary_seconds = 0.0
        canary_faults: list[str] = []
        try:
            if canary and todo:
                batch.boot_first_kernels()   # they boot while the canary runs
                canary_seconds = run_canary(app, course_root, assignment, box, kit_dir, scratch_root,
                                            cluster, canary_faults)
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
                            bar.set_postfix_str(for_terminal(f"{res.student}: {res.status}",
                                                             keep_newlines=False), refresh=False)
                            bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        batch.read_scores(results)
        out = BatchResult(assignment, str(course_root), sandbox, jobs, time.monotonic() - start,
                          [results[s] for s in sorted(results)], canary_seconds,
                          scheduler=scheduler or "", canary_errors=canary_faults)
        path = Path(summary_path) if summary_path else (
            nbgrader_folder(app.coursedir, "autograded") / SUMMARY_NAME.format(assignment=assignment))
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(_merge_summary(path, out.to_json()), indent=2, ensure_ascii=False) + "\n"
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        try:     # whole or not at all: a full disk keeps the previous summary intact
            partial.write_text(text, encoding="utf-8")
            os.replace(partial, path)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise BatchError(f"the grades are in the gradebook, but the summary {path} could not "
                             f"be written ({exc}): free space and run the batch again") from exc
        out.summary_path = str(path)
        # per student graded again: old and new score per question, and why (insight.py)
        report = insight.write_regrade_report(course_root, assignment, wall_start)
        out.regrade_report = str(report) if report else ""
        return out
    finally:
        os.chdir(old_cwd)
        batch_scratch.close()
        if cluster is not None:
            cluster.close()
        if job_log is not None:
            app.log.removeHandler(job_log)


