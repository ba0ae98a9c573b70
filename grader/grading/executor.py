"""nbgrader's ``Execute`` step, done safely: the sandboxed kernel, and verdicts made here.

:class:`TrustedExecute` replaces nbgrader's ``Execute`` preprocessor (``nbgrader_config.py``
puts it in ``Autograde.autograde_preprocessors``, so plain ``nbgrader autograde`` and the
formgrader use it too; :mod:`grader.grading.autograde` runs it in parallel).  Per notebook:

1. the source of every locked cell and test cell is taken from the gradebook (what
   ``nbgrader generate_assignment`` stored), never from the submitted notebook;
2. one kernel starts in the sandbox (:mod:`grader.grading.sandbox`) with the student kit
   only, and runs the cells in order: the student's cells as submitted, locked cells as in
   the gradebook, and of each test cell only its *visible* part (what students see);
3. after a test cell's visible part, its hidden part runs on the grader's side, in a bounded
   process of its own (:mod:`grader.grading.verdicts`, :mod:`grader.grading.hidden_process`;
   its calls into the kernel are relayed here), calling the student's code in the kernel with
   inputs it chose and comparing the results itself.  The cell earns its points when both
   passed; the
   grader writes the verdict into the cell's outputs in the one form nbgrader reads: an
   ``error`` output for a failure, none for a pass (a kernel's ``execute_result`` or stderr,
   which nbgrader would also read as a score, are turned into display output first).

Limits and crashes: a per-cell time limit (nbgrader's ``Execute.timeout``, an interrupt sent
as a message), a wall-time limit per notebook, an output budget, and a kernel that dies or
stops answering is restarted, the cells before replayed silently, and grading goes on after
the cell that crashed.  A cell that crashed or could not run gets an error output, so nothing
that did not run is ever counted as passed.

A failure of the grader's own machinery (a kernel that does not start, a hidden tests'
process that dies of something other than its limits, the interpreter's ``SystemError``) is
a :class:`~grader.grading.verdicts.GraderFault`: recorded in the job and raised, so that
nbgrader saves nothing for the notebook and the batch grades the student again.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader.preprocessors import Execute
from traitlets import Int

from grader.grading import insight, intake, misconceptions, scratch, verdicts
from grader.grading.channel import ChannelError
from grader.grading.job import Job, course_secret, current_job
from grader.grading.kernel import SandboxedKernel
from grader.grading.hidden_process import HiddenRun, Server
from grader.grading.remote import StudentCrash, StudentError, StudentTimeout
from grader.grading.sandbox import Sandbox, SandboxUnavailable, prepare_kit

# A test cell's standard error, kept as display output so that nbgrader does not read it as a
# failure (the verdict is the grader's); feedback scrubs it like standard error.
STDERR_KEY = "rnns_stderr"


def _error_output(ename: str, evalue: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                  traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


def trusted_cells(db_url: str, assignment: str, notebook: str,
                  order: list[str]) -> tuple[dict, list[str]]:
    """From the gradebook: ``{grade_id: (source, locked, graded)}`` and the sources of the
    locked cells that are not tests, in the order of ``order`` (grade ids)."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        nb = gb.find_notebook(notebook, assignment)
        graded = {c.name for c in nb.grade_cells}
        rank = {name: i for i, name in enumerate(order)}
        cells = sorted(nb.source_cells, key=lambda c: rank.get(c.name, len(rank)))
        table = {c.name: (c.source, bool(c.locked), c.name in graded) for c in cells}
        helpers = [c.source for c in cells
                   if c.locked and c.cell_type == "code" and c.name not in graded]
    return table, helpers


def source_order(course_root: Path, source_directory: str, assignment: str, notebook: str,
                 fallback) -> list[str]:
    """The grade ids of the instructor's notebook in order (the gradebook keeps no order);
    ``fallback``'s order (the notebook being graded) when that file is missing."""
    path = Path(course_root) / source_directory / assignment / f"{notebook}.ipynb"
    try:
        cells = nbformat.read(path, as_version=4).cells
    except Exception:
        cells = fallback.cells
    return [c.metadata.get("nbgrader", {}).get("grade_id", "") for c in cells]


@dataclass
class _Cell:
    index: int
    name: str
    kernel_source: str      # what the kernel runs
    trusted_source: str     # the gradebook's full source (tests: visible and hidden)
    graded: bool


class TrustedExecute(SandboxedKernel, Execute):
    """nbgrader's ``Execute``, with the sandbox, crash recovery, limits and trusted verdicts."""

    notebook_timeout = Int(900, help="wall-time limit per notebook, seconds").tag(config=True)
    max_output_bytes = Int(2_000_000, help="output kept per notebook, bytes (errors always "
                                           "kept, shortened)").tag(config=True)
    max_restarts = Int(3, help="kernel restarts per notebook after crashes or hangs").tag(config=True)
    hidden_memory_mb = Int(1024, help="memory a test cell's hidden part may use in its own "
                                      "process, on top of what it starts with, MiB (a stand-in "
                                      "called with huge arrays fails that question)").tag(config=True)

    # -- entry point (nbgrader's exporter calls it; in a batch, with the gradebook lock held)
    def preprocess(self, nb, resources=None, km=None):
        info = (resources or {}).get("nbgrader", {})
        job = current_job()
        own_job = job is None
        if own_job:   # plain `nbgrader autograde`: one submission at a time, made safe here
            job = self._standalone_job(info)
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        job.notebook = info.get("notebook", "")
        source_dir = self.config.get("CourseDirectory", {}).get("source_directory", "source")
        order = source_order(job.course_root, source_dir, info["assignment"], job.notebook, nb)
        table, helpers = trusted_cells(info["db_url"], info["assignment"], job.notebook, order)
        secret = course_secret(job.course_root)
        key = verdicts.submission_key(secret, info["assignment"], info["student"])
        insight.start(nb, secret, info["assignment"])   # only the grader writes this metadata
        try:
            with job.unlocked():
                if job.cluster is not None:   # the same _execute_all, on a Dask worker
                    self.nb = job.cluster.execute(self, job, table, helpers, key)
                else:
                    job.loop.run_until_complete(self._execute_all(job, table, helpers, key))
            # why each failed question failed (and behaviour digests), for the class report
            job.insight[job.notebook] = self.nb.metadata.pop(insight.NB_KEY, {})
            if job.before_saving is not None:   # e.g. the disk is full now: save nothing
                job.before_saving()
            job.executed = True
        except verdicts.GraderFault as exc:   # the grader's failure: the batch grades again
            job.grader_faults.append(f"{job.notebook}: {exc}")
            raise
        finally:
            if own_job:
                job.loop.close()
                self._own_scratch.close()
        return self.nb, self.resources

    def _standalone_job(self, info: dict) -> Job:
        course_root = Path(os.getcwd())
        sandbox = Sandbox(parent=self)
        if not sandbox.enabled:
            raise SandboxUnavailable("this course grades only in the sandbox "
                                     "(Sandbox.enabled is False in the configuration)")
        sandbox.check_available()
        sandbox.check_isolated(course_root)
        problem = intake.inspect(course_root / "submitted" / info["student"] / info["assignment"],
                                 intake.Limits())
        if problem.refusal:
            raise intake.Refused(problem.refusal)
        scratch.sweep()
        Server.get().start()     # the hidden tests' server imports while the kernel boots
        self._own_scratch = scratch.Scratch("grade")
        folder = self._own_scratch.path
        return Job(info["student"], info["assignment"], course_root, folder,
                   prepare_kit(folder), 0, sandbox, loop=asyncio.new_event_loop())

    # -- helpers -----------------------------------------------------------------------
    def _remaining(self) -> float:
        return self._deadline - time.monotonic()

    def _get_timeout(self, cell) -> int | None:
        limit = self.timeout if self.timeout and self.timeout > 0 else math.inf
        return max(1, int(math.ceil(min(limit, self._remaining()))))

    def _incident(self, text: str) -> None:
        self._job.incidents.append(f"{self._job.notebook}: {text}")

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        if msg.get("msg_type") == "error":
            content["evalue"] = str(content.get("evalue", ""))[:10_000]
            content["traceback"] = [str(t)[:10_000] for t in content.get("traceback", [])[:200]]
            return super().output(outs, msg, display_id, cell_index)
        size = len(json.dumps(content.get("data", content.get("text", "")), default=str))
        self._output_bytes += size
        if self._output_bytes > self.max_output_bytes:
            if cell_index not in self._truncated:
                self._truncated.add(cell_index)
                outs.append(nbformat.v4.new_output(
                    "stream", name="stdout",
                    text=f"\n[grader: more than {self.max_output_bytes} bytes of output; "
                         "the rest was dropped]\n"))
                self._incident(f"cell {cell_index}: output limit reached, output dropped")
            return None
        return super().output(outs, msg, display_id, cell_index)

    # -- calls from the hidden tests (relayed by a worker thread; served on the kernel's loop)
    async def _serve_request(self, request: dict, what: str, timeout: float,
                             answer: Callable[[str], str]) -> dict:
        if self._kernel_suspect:   # an earlier call is still running there, or crashed it
            raise StudentError(f"{what} was not run: an earlier call of this test did not finish")
        if self._channel is None or not await self._alive():
            raise StudentCrash(f"the kernel had died before {what} could run")
        try:
            reply = await self._channel.call(request, timeout, answer, self._alive)
        except ChannelError as exc:
            self._kernel_suspect = True
            raise StudentError(f"the kernel's answer to {what} could not be read ({exc}: "
                               "was the kernel's machinery changed?)") from None
        if reply is None:
            # its state is unknown now (the call may still be running): the kernel is
            # restarted, and the cells before replayed, before the next cell
            self._kernel_suspect = True
            if not await self._alive():
                raise StudentCrash(f"the kernel died while running {what} "
                                   "(a crash, os._exit, or a resource limit)")
            raise StudentTimeout(f"{what} did not finish within the time limit of this test")
        return reply

    def _link(self, loop, cell_deadline: float, answer: Callable[[str], str]):
        def link(request: dict, what: str) -> dict:
            left = min(cell_deadline, self._deadline) - time.monotonic()
            if left <= 0:
                raise StudentTimeout(f"the time limit of this test ran out before {what}")
            future = asyncio.run_coroutine_threadsafe(
                self._serve_request(request, what, left, answer), loop)
            return future.result()
        return link

    # -- replay after a crash ------------------------------------------------------------
    async def _restart(self, executed: list[int]) -> bool:
        while self._restarts < self.max_restarts:
            self._restarts += 1
            await self._stop_kernel()
            try:
                await self._start_kernel()
            except Exception as exc:
                self._incident(f"kernel restart failed: {exc}")
                continue
            for j in list(executed):
                if self._remaining() <= 0:
                    return False
                reply = await self._request_reply(
                    self.kc.execute(self._plan[j].kernel_source, store_history=True,
                                    allow_stdin=False, stop_on_error=False),
                    self._get_timeout(None))
                if reply is None:   # it crashes or hangs now: leave it out and start again
                    executed.remove(j)
                    self._incident(f"cell {self._plan[j].name} failed when replayed; left out")
                    break
            else:
                self._incident(f"kernel restarted ({self._restarts}), {len(executed)} cells replayed")
                return True
        return False

    # -- the notebook --------------------------------------------------------------------
    def _make_plan(self, table: dict) -> dict[int, _Cell]:
        plan = {}
        for i, cell in enumerate(self.nb.cells):
            if cell.cell_type != "code":
                continue
            name = cell.metadata.get("nbgrader", {}).get("grade_id", "")
            trusted = table.get(name)
            if trusted and (trusted[1] or trusted[2]):   # locked or a test: the gradebook's
                source, _locked, graded = trusted
                cell.source = source
                kernel_source = verdicts.split(source)[0] if graded else source
            else:
                graded, kernel_source, source = False, cell.source, cell.source
            if not kernel_source.strip() and not graded:
                continue
            plan[i] = _Cell(i, name or f"cell {i}", kernel_source, source, graded)
        return plan

    async def _execute_all(self, job: Job, table: dict, helpers: list[str], key: int) -> None:
        self._job = job
        self._deadline = time.monotonic() + self.notebook_timeout
        self._restarts = 0
        self._output_bytes = 0
        self._truncated: set[int] = set()
        self._zmq_contexts: list = []
        self._log = None
        self.kc = self.km = self._channel = None
        self._plan = self._make_plan(table)
        self._kernel_suspect = False
        loop = asyncio.get_running_loop()
        self._helpers, self._key = list(helpers), key
        self._language = verdicts.notebook_language(self.nb)   # of the hidden tests' messages
        executed: list[int] = []
        self._failures: dict[str, dict] = {}
        self._known = misconceptions.Known(helpers + [c.trusted_source for c in self._plan.values()
                                                      if c.graded])
        try:
            try:
                await self._start_kernel()
                broken = False
            except Exception as exc:   # before any student code ran: the grader's failure
                raise verdicts.GraderFault(f"the sandboxed kernel did not start: {str(exc)[:600]}") from exc
            for index, info in self._plan.items():
                cell = self.nb.cells[index]
                if self._remaining() <= 0:
                    self._not_run(cell, f"the notebook's time limit ({self.notebook_timeout} s) "
                                        "was reached before this cell")
                    continue
                if broken or not await self._alive():
                    if not await self._restart(executed):
                        self._not_run(cell, "the kernel kept crashing; this cell was not run")
                        broken = True
                        continue
                    broken = False
                crashed = await self._run_in_kernel(cell, info)
                if crashed:
                    broken = True
                else:
                    executed.append(index)
                if info.graded and await self._verdict(cell, info, crashed, loop):
                    broken = True
            await insight.probe_failed(self, loop)
        finally:
            self.nb.metadata[insight.NB_KEY] = insight.notebook_entry(self)
            await self._stop_kernel()
            for ctx in self._zmq_contexts:
                with contextlib.suppress(Exception):
                    ctx.destroy(linger=0)

    async def _run_in_kernel(self, cell, info: _Cell) -> bool:
        """Run ``info.kernel_source`` as ``cell``; True when the kernel crashed or hung."""
        await self._drain_iopub()
        shown = cell.source
        cell.source = info.kernel_source
        try:
            await self.async_execute_cell(cell, info.index, execution_count=self.code_cells_executed + 1,
                                          store_history=True)
        except DeadKernelError:
            self._append(cell, "DeadKernelError", "the kernel died while running this cell "
                         "(a crash, os._exit, or a resource limit)")
            self._incident(f"{info.name}: kernel died")
            return True
        except CellTimeoutError:
            self._append(cell, "CellTimeoutError", "the cell did not finish in time and the "
                         "kernel did not respond to an interrupt")
            self._incident(f"{info.name}: timed out, kernel unresponsive")
            return True
        except Exception as exc:
            self._append(cell, type(exc).__name__, str(exc)[:500])
            self._incident(f"{info.name}: {type(exc).__name__}: {str(exc)[:200]}")
            return True
        finally:
            cell.source = shown
        if self._timed_out(cell):
            self._incident(f"{info.name}: timed out (interrupted)")
            if not await self._probe():
                return True
        return False

    async def _verdict(self, cell, info: _Cell, crashed: bool, loop) -> bool:
        """Decide the test cell here; leave exactly the outputs nbgrader should score.
        True when the kernel may be left stuck (a hidden call crashed or timed out)."""
        kernel_failed = crashed or any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        outputs = []
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "execute_result":          # nbgrader would read it as a partial score
                out = nbformat.v4.new_output("display_data", data=out.get("data", {}),
                                             metadata=out.get("metadata", {}))
            elif kind == "stream" and out.get("name") == "stderr":   # and this as a failure
                out = nbformat.v4.new_output("display_data", data={"text/plain": out.get("text", "")},
                                             metadata={STDERR_KEY: True})
            elif kind == "error":
                continue
            outputs.append(out)
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if kernel_failed:
            cell.outputs = errors[:1] + outputs if errors else \
                [_error_output("KernelError", "this test did not run to its end")] + outputs
            first = cell.outputs[0]
            self._failures[info.name] = misconceptions.from_kernel_error(
                first.get("ename", ""), first.get("evalue", ""), self._known,
                misconceptions.Known([info.trusted_source]))
            return False
        deadline = min(self._deadline, time.monotonic()
                       + (self.timeout if self.timeout and self.timeout > 0 else 3600))
        passed, ename, message, found = await self._run_hidden(info, self._key, deadline, loop)
        if not passed:   # the mistake named, no hidden expected value (misconceptions.py)
            self._failures[info.name] = found["failure"]
        cell.outputs = outputs if passed else [_error_output(ename, message[:10_000])] + outputs
        stuck, self._kernel_suspect = self._kernel_suspect, False
        if stuck:
            self._incident(f"{info.name}: hidden tests: {ename}")
        return stuck

    async def _run_hidden(self, info: _Cell, key: int, deadline: float,
                          loop) -> tuple[bool, str, str, dict]:
        """Run a test cell's hidden part, with the hidden inputs of ``key``, in a bounded
        process of its own (:class:`HiddenRun`; its calls into the kernel relayed here), under
        the notebook's language: (passed, error name, the message the student sees, findings).

        ``findings`` (``failure``: the misconception record, ``behaviour``: the digest of the
        first wrong value) are plain data that the process computed from the exception,
        which never leaves it (:func:`grader.grading.insight.findings`); the message names the
        mistake without a hidden expected value.  The verdicts and the behaviour probes
        (:func:`grader.grading.insight.probe_failed`) both come this way."""
        code = verdicts.hidden_code(info.trusted_source)    # GraderFault: the grader's failure
        if not code:
            return True, "", "", {}
        run = HiddenRun({"helpers": self._helpers, "key": str(key), "code": code,
                         "memory_mb": self.hidden_memory_mb, "language": self._language}, deadline)
        passed, ename, message = await loop.run_in_executor(
            None, run.run, self._link(loop, deadline, run.ask))
        return passed, ename, message, ({} if passed else insight.plain_findings(run.findings, ename))

    def _timed_out(self, cell) -> bool:
        ename = self.error_on_timeout.get("ename") if self.error_on_timeout else "CellTimeoutError"
        return any(o.get("output_type") == "error" and o.get("ename") == ename
                   for o in cell.get("outputs", []))

    @staticmethod
    def _append(cell, ename: str, evalue: str) -> None:
        cell.setdefault("outputs", []).append(_error_output(ename, evalue))

    def _not_run(self, cell, why: str) -> None:
        cell.outputs = [_error_output("NotExecuted", why)]
        self._incident(f"cell not run: {why}")
