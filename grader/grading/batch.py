"""The worker side of a grading batch: the canary, then one submission per thread.

:func:`grader.grading.autograde.autograde` plans the batch; this module runs it.
:func:`run_canary` grades the instructor's solution first and stops everything unless it
earns full marks; :class:`Batch` grades each student with nbgrader's own Autograde
(:class:`ParallelAutograde`: our executor in place of nbgrader's, no process-wide
environment changes), holding the gradebook lock around nbgrader's code and keeping, per
slot, the next student's kernel booting while the current one runs.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import glob
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbgrader.converters import Autograde
from nbgrader.converters.base import BaseConverter
from nbgrader.preprocessors import DeduplicateIds, Execute
from traitlets import import_item

from grader.grading import fingerprint, inflight, insight, intake
from grader.grading.executor import TrustedExecute
from grader.grading.gradebook import GradebookLock
from grader.grading.job import Job, set_current_job
from grader.grading.results import BatchError, StudentResult, describe
from grader.grading.sandbox import Sandbox, launch_kernel
from grader.grading.verdicts import GraderFault
from grader.grading.scratch import disk_problem

CANARY = "__canary__"
_DISK_FULL = ("No space left on device", "Disk quota exceeded", "database or disk is full",
              "grades not saved: only")


def _disk_error(text: str) -> bool:
    return any(marker in text for marker in _DISK_FULL)


@dataclass
class AssignmentInfo:
    expected: dict[str, dict]        # notebook -> {"ids", "fixed"} (see intake.check_notebook)
    single_notebook: bool
    graded: dict[str, bool]          # student -> every grade of the submission is set
    source: str = ""                 # fingerprint.source_hash of the assignment


def nbgrader_folder(coursedir, kind: str) -> Path:
    """nbgrader's submitted/ or autograded/ folder (configurable, possibly absolute)."""
    return Path(coursedir.root) / getattr(coursedir, f"{kind}_directory")


class JobLogHandler(logging.Handler):
    """Copies nbgrader's warnings about a submission into that submission's result."""

    def __init__(self) -> None:
        super().__init__()
        self.results: dict[int, StudentResult] = {}

    def emit(self, record: logging.LogRecord) -> None:
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
            self.failure = self.failure or describe(exc)
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
            self.failure = self.failure or f"{name}: {describe(exc)}"
            raise


# --------------------------------------------------------------------------------------
# The canary
# --------------------------------------------------------------------------------------

def run_canary(app, course_root: Path, assignment: str, box: Sandbox, kit_dir: Path,
               scratch_root: Path, cluster=None, faults: list[str] | None = None) -> float:
    """Grade the instructor's solution notebooks in the batch's sandbox; raise
    :class:`BatchError` unless every test passes.  Writes nothing to the gradebook.  A
    failure of the grader's own machinery (:class:`GraderFault`) is tried again (and
    recorded in ``faults``), up to three times."""
    t0 = time.monotonic()
    source = Path(app.coursedir.format_path(app.coursedir.source_directory, ".", assignment))
    notebooks = sorted(source.glob("*.ipynb"))
    if not notebooks:
        raise BatchError(f"canary: no solution notebook in {source}")
    scratch = scratch_root / "canary"
    scratch.mkdir(mode=0o711)
    loop = asyncio.new_event_loop()
    faults = faults if faults is not None else []
    try:
        for path in notebooks:
            for attempt in range(1, 4):
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
                    break
                except GraderFault as exc:
                    faults.append(f"attempt {attempt}: {describe(exc)}")
                    if attempt == 3:
                        raise BatchError(f"canary: the instructor's solution {path.name} could not be "
                                         f"graded: {describe(exc)}. No grade was written.") from exc
                except Exception as exc:
                    raise BatchError(f"canary: the instructor's solution {path.name} could not be "
                                     f"graded: {describe(exc)}. No grade was written.") from exc
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

class Batch:
    """The worker side: one submission per thread, nbgrader code under the gradebook lock."""

    def __init__(self, app, course_root: Path, assignment: str, info: AssignmentInfo,
                 box: Sandbox, jobs: int, scratch_root: Path, kit_dir: Path,
                 log: JobLogHandler, cluster=None) -> None:
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
        self.attempts = 3                      # nbgrader runs per student, grader faults only
        self.min_free_mb = float(intake.Limits(parent=app).min_free_mb)

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
        """Grade one student: nbgrader's pipeline, again (up to ``attempts`` times) when the
        grader's own machinery failed (:class:`~grader.grading.verdicts.GraderFault`), never
        when the submission did.  A student the grader could not grade is ``error``: nothing
        of theirs stays in the gradebook, and the next batch grades them."""
        t0 = time.monotonic()
        result.notes += seen.notes
        try:
            marker = inflight.Marker(self.course_root, self.assignment, result.student)
        except OSError as exc:   # a full disk, a read-only course: grade nobody half-way
            result.status = "error"
            result.reason = f"not graded: the course folder cannot be written ({describe(exc)}); run again"
            result.seconds = time.monotonic() - t0
            return result
        parity = None
        try:
            for attempt in range(1, self.attempts + 1):
                problem = self.disk_problem()
                if problem:
                    result.status, result.reason = "error", f"not graded: {problem}; free space and run again"
                    break
                result.status, result.reason, result.incidents = "pending", "", []
                result.attempts = attempt
                job, parity = self._grade_once(result, seen, parity)
                if job.grader_faults:
                    result.grader_errors += [f"attempt {attempt}: {f}" for f in job.grader_faults]
                    if attempt < self.attempts:
                        continue
                    result.status = "error"
                    result.reason = (f"not graded: the grader failed {attempt} times "
                                     f"({job.grader_faults[-1][:300]}); run the batch again")
                elif result.status == "failed" and (job.disk_problem or _disk_error(result.reason)):
                    result.status = "error"
                    result.reason = f"not graded: {job.disk_problem or result.reason}; free space and run again"
                if result.status != "graded" and job.executed:
                    # nbgrader may have saved some grades before failing: none may stay
                    self._forget_grades(result)
                break
        finally:
            marker.done()
            result.seconds = time.monotonic() - t0
        return result

    def disk_problem(self) -> str:
        return disk_problem({"the gradebook": self.db_path,
                                     "the autograded folder": nbgrader_folder(self.app.coursedir, "autograded"),
                                     "the grader's scratch": self.scratch_root}, self.min_free_mb)

    def _grade_once(self, result: StudentResult, seen: intake.Inspection,
                    parity: int | None) -> tuple[Job, int]:
        """One run of nbgrader's pipeline for ``result.student``; ``parity`` is the uid
        parity of a previous attempt (None: the first; it may take the slot's spare)."""
        from nbgrader.coursedir import CourseDirectory

        student = result.student
        first = parity is None
        slot = self.slots.get()
        spare = self.spares.pop(slot, None) if first else None
        if spare is not None:
            scratch, launched, parity = spare
        else:
            scratch, launched, parity = self._scratch(slot), None, (parity or 0)
            if self.prestart and first:
                self._claim()
        job = Job(student, self.assignment, self.course_root, scratch, self.kit_dir,
                  2 * slot + parity, self.box, lock=self.lock, loop=self.loops[slot],
                  cluster=self.cluster)

        def before_saving() -> None:
            problem = self.disk_problem()
            if problem:
                job.disk_problem = problem
                raise OSError(f"grades not saved: {problem}")

        job.before_saving = before_saving
        self.log.results[threading.get_ident()] = result
        try:
            staged_root = scratch / "submitted"
            intake.stage(seen, staged_root / student / self.assignment)
            set_current_job(job)
            if self.prestart:
                job.kernels += 1
                if first:   # once this kernel answers, the next student's boots meanwhile
                    job.after_first_kernel = functools.partial(self._boot_spare, slot, 1 - parity)
                if launched is not None:
                    job.prestarted = launched
                else:
                    # the kernel boots (a second of imports) while nbgrader prepares the notebook
                    try:
                        job.prestarted = job.loop.run_until_complete(
                            self._launch(scratch, job.slot, job.kernels))
                    except Exception as exc:
                        result.incidents.append(f"kernel pre-start failed: {describe(exc)}")
            with self.lock:
                cd = CourseDirectory(parent=self.app)
                cd.root = str(self.course_root)
                cd.submitted_directory = str(staged_root)
                cd.assignment_id = self.assignment
                cd.student_id = glob.escape(student)   # nbgrader globs it: "[" in an id is a letter
                converter = ParallelAutograde(coursedir=cd, parent=self.app, force=True)
                folder = nbgrader_folder(self.app.coursedir, "autograded") / student / self.assignment
                before = insight.read(folder)   # nbgrader empties the folder when it regrades
                try:
                    converter.start()
                    result.status = "graded"
                    graded_with = fingerprint.make(seen, self.info.source)
                    fingerprint.write(folder, graded_with)
                    try:   # why questions failed, the regrade and its policy (insight.py)
                        insight.after_grading(self.app, folder, student, self.assignment, job,
                                              graded_with, before)
                    except Exception as exc:
                        result.incidents.append(f"verdicts sidecar not written: {describe(exc)}")
                except Exception as exc:  # NbGraderException and anything nbgrader missed
                    result.status = "failed"
                    result.reason = converter.failure or describe(exc)
        except Exception as exc:
            result.status, result.reason = "failed", f"grader error: {describe(exc)}"
            if not isinstance(exc, OSError):
                job.grader_faults.append(f"the batch itself: {describe(exc)}")
            elif _disk_error(str(exc)):
                job.disk_problem = job.disk_problem or describe(exc)
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
        return job, parity

    def _forget_grades(self, result: StudentResult) -> None:
        """Every grade of the student's submission back to "not graded", in one transaction
        (nbgrader commits cell by cell: a failure part-way would leave some)."""
        from nbgrader.api import Gradebook, MissingEntry

        cd = self.app.coursedir
        try:
            with self.lock, Gradebook(cd.db_url, cd.course_id) as gb:
                try:
                    submission = gb.find_submission(self.assignment, result.student)
                except MissingEntry:
                    return
                for nb in submission.notebooks:
                    for grade in nb.grades:
                        grade.auto_score = None
                    for comment in nb.comments:
                        comment.auto_comment = None
                gb.db.commit()
        except Exception as exc:
            result.incidents.append(f"the gradebook could not be reset ({describe(exc)}); the "
                                    "report and exports show the student as not graded")

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
