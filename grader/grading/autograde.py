"""Parallel, sandboxed autograding through nbgrader's own pipeline.

What runs, per submission
-------------------------
nbgrader's ``Autograde`` converter, unchanged except for its ``Execute`` preprocessor:

1. ``init_assignment`` -- student and submission rows in the gradebook, the instructor's
   extra files copied over;
2. the *sanitize* pass -- ``ClearOutput``, ``DeduplicateIds``, ``OverwriteKernelspec``,
   ``OverwriteCells`` (locked cells and hidden tests restored from the gradebook, checksums
   checked, missing test cells added back: ``add_missing_cells`` is switched on because the
   exercises promise it), ``CheckCellMetadata``;
3. the *autograde* pass -- :class:`SandboxedExecute` instead of ``Execute``, then
   ``IgnorePattern``, ``ClearMetadata``, ``LimitOutput``, ``SaveAutoGrades`` (the scores go
   into the gradebook), ``AssignLatePenalties``, ``CheckCellMetadata``.

So checksums, restored cells and scores are nbgrader's, and ``nbgrader export`` and the
formgrader keep working on the gradebook we write.

How the gradebook stays consistent
----------------------------------
nbgrader opens the SQLite gradebook in many places of that pipeline (steps 1 and 2, and
``SaveAutoGrades`` in 3); only the kernel execution touches no database and takes time.
One grader process grades the batch with a pool of threads, one submission per thread, and
a single :class:`GradebookLock` (a thread lock plus an ``flock`` on ``gradebook.db``, so two
grader processes also take turns) is **held whenever a thread runs nbgrader code** and
released only inside :meth:`SandboxedExecute.preprocess`, around the kernel's work.  Every
gradebook read and write therefore happens in one thread at a time, in nbgrader's own order,
through nbgrader's own code, while up to ``--jobs`` kernels run at once.  (The alternatives --
one ``nbgrader autograde`` process per student with a file lock, or a private database per
worker merged afterwards -- pay nbgrader's start-up per student, or re-implement what
nbgrader writes.)  A submission that fails makes nbgrader remove its partial output; the
thread records why, and the batch goes on.

Two things shorten the time a thread holds the lock or waits: the kernel of a submission is
started *before* the thread queues for the lock (it boots while nbgrader sanitizes the
notebook), and for the batch the gradebook runs in SQLite's WAL mode with
``synchronous=NORMAL`` (:func:`wal_gradebook`: nbgrader commits once per scored cell, and each
rollback-journal commit waits for the disk); its journal mode is restored afterwards.

The kernel
----------
Each kernel runs in the bubblewrap sandbox of :mod:`grader.grading.sandbox` (one uid per job
slot), with BLAS/OpenMP pinned to one thread.  :class:`SandboxedExecute` drives nbclient cell
by cell and adds:

* **time**: nbgrader's per-cell ``Execute.timeout`` (an interrupt, sent as a message because
  a signal would reach ``bwrap``), and a wall-time limit per notebook
  (``SandboxedExecute.notebook_timeout``);
* **crashes**: a kernel that dies (``os._exit``, a segfault, a resource limit) or stops
  answering after an interrupt is killed and restarted, the cells that ran before are replayed
  silently to rebuild the state, and grading continues after the cell that crashed.  The
  cell that crashed gets an error output, and so does every cell that could not be run (the
  wall-time limit, too many restarts): nbgrader gives a test cell without an error full marks,
  so nothing that crashed or did not run is ever counted as passed;
* **output**: beyond ``max_output_bytes`` per notebook outputs are dropped (errors are kept,
  shortened), before nbgrader's ``LimitOutput`` trims what is left;
* **integrity**: a static scan of the answer cells, and the in-kernel guard of
  :mod:`grader.grading.sandbox` (audit hook, reference wrappers, snapshots of numpy, the test
  helpers and IPython's machinery), queried before and after each locked cell (the query
  after rides on the cell's own execute request, as ``user_expressions``).  A finding of
  the kind *cheat* (reading or importing the reference or the solutions, touching the course
  folder, replacing a test helper or a numpy function, tampering with the kernel or the
  guard) costs the first graded test cell that runs at or after it: that cell gets a
  ``GradingIntegrityError`` output, so it earns no points, and the student is flagged in
  the report.  *Notices* (network, subprocesses) are reported only.
"""
from __future__ import annotations

import ast
import asyncio
import base64
import contextlib
import fcntl
import hashlib
import hmac
import io
import json
import logging
import math
import os
import queue
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
import tokenize
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from queue import Empty
from typing import Any

import nbformat
import zmq
import zmq.asyncio
from jupyter_client import AsyncKernelClient, AsyncKernelManager
from jupyter_client.kernelspec import KernelSpec
from jupyter_core.utils import ensure_async
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader import utils as nbg_utils
from nbgrader.converters import Autograde
from nbgrader.converters.base import BaseConverter, NbGraderException
from nbgrader.preprocessors import DeduplicateIds, Execute
from traitlets import Int, import_item

from grader.grading.sandbox import GUARD_EXPRESSION, Sandbox, python_roots

CHEAT_KINDS = {"reference", "course", "guard", "introspection", "tamper", "static"}
NOTICE_KINDS = {"network", "process"}
SUMMARY_NAME = "{assignment}-autograde-summary.json"
MAX_NOTEBOOK_BYTES = 64 * 2**20
MAX_MESSAGE_BYTES = 64 * 2**20   # a kernel message larger than this is dropped by ZeroMQ


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------

@dataclass
class Violation:
    kind: str            # reference, course, guard, introspection, tamper, static, network, process
    detail: str
    where: str = ""      # the cell whose code did it, when known
    penalised: str = ""  # the graded cell that lost its points
    notebook: str = ""

    @property
    def cheat(self) -> bool:
        return self.kind in CHEAT_KINDS

    @property
    def costs_points(self) -> bool:
        return self.kind in CHEAT_KINDS or self.kind == "unverified"


@dataclass
class StudentResult:
    student: str
    status: str = "pending"          # graded, skipped, failed
    reason: str = ""
    score: float | None = None
    max_score: float | None = None
    scores: dict[str, float] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    incidents: list[str] = field(default_factory=list)   # crashes, timeouts, restarts
    nbgrader_warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def flagged(self) -> bool:
        return any(v.cheat for v in self.violations)


@dataclass
class BatchResult:
    assignment: str
    course: str
    sandboxed: bool
    jobs: int
    seconds: float
    students: list[StudentResult]
    summary_path: str = ""

    @property
    def failures(self) -> list[StudentResult]:
        return [s for s in self.students if s.status == "failed"]

    def to_json(self) -> dict:
        return {
            "assignment": self.assignment, "course": self.course, "sandboxed": self.sandboxed,
            "jobs": self.jobs, "seconds": round(self.seconds, 2),
            "graded": sum(s.status == "graded" for s in self.students),
            "skipped": sum(s.status == "skipped" for s in self.students),
            "failed": [{"student": s.student, "reason": s.reason} for s in self.failures],
            "flagged": [s.student for s in self.students if s.flagged],
            "students": [{**asdict(s), "flagged": s.flagged} for s in self.students],
        }


# --------------------------------------------------------------------------------------
# Per-thread job context and the gradebook lock
# --------------------------------------------------------------------------------------

class GradebookLock:
    """One holder at a time, across threads (a lock) and processes (``flock`` on the db)."""

    def __init__(self, db_path: Path) -> None:
        self._lock = threading.Lock()
        self._db_path = db_path
        self._fd: int | None = None

    def acquire(self) -> None:
        self._lock.acquire()
        try:
            if self._db_path.exists():
                self._fd = os.open(self._db_path, os.O_RDONLY)
                fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._lock.release()
            raise

    def release(self) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
                self._fd = None
        finally:
            self._lock.release()

    def __enter__(self) -> "GradebookLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


@dataclass
class Job:
    """What a worker thread needs while nbgrader runs its submission."""
    student: str
    assignment: str
    course_root: Path
    scratch: Path
    slot: int
    sandbox: Sandbox
    lock: GradebookLock
    result: StudentResult
    notebook: str = ""
    loop: Any = None                 # this thread's event loop (kernels live on it)
    prestarted: Any = None           # a kernel started before nbgrader's first pass
    kernels: int = 0

    @property
    def work_dir(self) -> Path:
        return self.scratch / "work"

    def take_prestarted(self):
        launched, self.prestarted = self.prestarted, None
        return launched

    @contextlib.contextmanager
    def unlocked(self):
        self.lock.release()
        try:
            yield
        finally:
            self.lock.acquire()


_local = threading.local()


def current_job() -> Job:
    job = getattr(_local, "job", None)
    if job is None:
        raise RuntimeError("SandboxedExecute runs only inside grader.grading.autograde")
    return job


class _JobLogHandler(logging.Handler):
    """Copies nbgrader's warnings about a submission into that submission's result."""

    def emit(self, record: logging.LogRecord) -> None:
        job = getattr(_local, "job", None)
        if job is not None and record.levelno >= logging.WARNING:
            warnings = job.result.nbgrader_warnings
            if len(warnings) < 50:
                warnings.append(record.getMessage().splitlines()[0][:300])


# --------------------------------------------------------------------------------------
# Static scan of the answer cells
# --------------------------------------------------------------------------------------

_STATIC_PATTERNS = [
    (re.compile(r"grader\s*\.\s*reference|from\s+grader\s+import\s[^\n]*\breference\b"
                r"|['\"]grader\.reference"), "imports the reference implementation"),
    (re.compile(r"grader\s*\.\s*grading|from\s+grader\s+import\s[^\n]*\bgrading\b"),
     "touches the grader's guard"),
    (re.compile(r"grader\s*\.\s*checks\s*\.\s*\w+\s*=(?!=)|setattr\(\s*grader\s*\.\s*checks"),
     "replaces a test helper in grader.checks"),
    (re.compile(r"^\s*(?:def\s+(?:check_close|check_equal|check_raises|check_shape)\s*\("
                r"|(?:check_close|check_equal|check_raises|check_shape)\s*=(?!=))", re.M),
     "redefines a test helper"),
    (re.compile(r"\b(?:np|numpy)(?:\s*\.\s*\w+)+\s*(?:[-+*/|&]?=)(?!=)|setattr\(\s*(?:np|numpy)\b"),
     "replaces a numpy function"),
    (re.compile(r"\bgc\s*\.\s*get_(?:referrers|referents|objects)\b|\bsys\s*\.\s*set(?:trace|profile)\b"),
     "uses introspection that can defeat the grader"),
    (re.compile(r"set_custom_exc|\.events\s*\.\s*register|input_transformers_(?:cleanup|post)"
                r"|ast_transformers|\.shell_handlers\b|\.do_execute\b|\.run_cell\s*="),
     "tampers with the kernel's execution machinery"),
]


def _code_without_comments(source: str) -> str:
    """The cell's code with comments removed (strings kept); IPython magics left as is."""
    lines = [ln if not ln.lstrip().startswith(("%", "!")) else "" for ln in source.splitlines()]
    text = "\n".join(lines) + "\n"
    try:
        out = []
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type != tokenize.COMMENT:
                out.append((tok.type, tok.string))
        return tokenize.untokenize(out)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return re.sub(r"#[^\n]*", "", text)


def static_scan(source: str) -> list[str]:
    code = _code_without_comments(source)
    return [why for pattern, why in _STATIC_PATTERNS if pattern.search(code)]


# --------------------------------------------------------------------------------------
# The kernel manager and the executor
# --------------------------------------------------------------------------------------

def cell_hash(source: str) -> str:
    """The name ipykernel gives a cell's code (``/tmp/ipykernel_<pid>/<hash>.py``)."""
    from ipykernel.compiler import get_tmp_hash_seed, murmur2_x86

    return str(murmur2_x86(source, get_tmp_hash_seed()))


class GuardedKernelClient(AsyncKernelClient):
    """A kernel client that can add the guard's expression to the next cell's request."""

    piggyback: dict | None = None

    def execute(self, code, silent=False, store_history=True, user_expressions=None, **kwargs):
        if self.piggyback and not silent:
            user_expressions = {**(user_expressions or {}), **self.piggyback}
            self.piggyback = None
        return super().execute(code, silent=silent, store_history=store_history,
                               user_expressions=user_expressions, **kwargs)


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose kernelspec is the sandbox command (``kernel_cmd`` is ignored by
    current jupyter_client, so the spec itself carries the bwrap argv)."""

    def __init__(self, *, sandbox_argv: list[str], uid: int | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client_factory = GuardedKernelClient
        self._sandbox_argv = sandbox_argv
        self._uid = uid

    @property
    def kernel_spec(self) -> KernelSpec:
        if self._kernel_spec is None:
            self._kernel_spec = KernelSpec(argv=self._sandbox_argv, display_name="Python 3 (sandboxed)",
                                           language="python", interrupt_mode="message",
                                           env={}, metadata={})
        return self._kernel_spec

    def write_connection_file(self, **kwargs: Any) -> None:
        super().write_connection_file(**kwargs)
        if self._uid is not None and os.path.exists(self.connection_file):
            os.chown(self.connection_file, self._uid, self._uid)


@dataclass
class LaunchedKernel:
    km: SandboxKernelManager
    key: bytes
    log: Any


def _chown_tree(path: Path, uid: int) -> None:
    os.chown(path, uid, uid)
    for p in path.rglob("*"):
        os.lchown(p, uid, uid)


async def launch_kernel(job: "Job", number: int, preload: list[str],
                        notebook_timeout: float) -> LaunchedKernel:
    """Start one sandboxed kernel process for ``job`` (its working copy is ``job.work_dir``,
    which may still be filled after the start: it is a bind mount).  Returns as soon as the
    process runs; the client connects later."""
    runtime = job.scratch / f"rt{number}"
    runtime.mkdir(mode=0o700)
    job.work_dir.mkdir(mode=0o755, exist_ok=True)
    uid = job.sandbox.slot_uid(job.slot) if (job.sandbox.enabled and Sandbox.is_root()) else None
    if uid is not None:
        os.chown(runtime, uid, uid)
        _chown_tree(job.work_dir, uid)
    key = secrets.token_bytes(32)
    guard_file = runtime / "guard.json"
    cfg = {"key": key.hex(), "lib_roots": python_roots(),
           "reference_dir": str(Path(__import__("grader.reference").reference.__file__).parent),
           "sensitive": [str(job.course_root), os.path.realpath(job.course_root)],
           "preload": preload}
    fd = os.open(guard_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(cfg, f)
    if uid is not None:
        os.chown(guard_file, uid, uid)
    argv = job.sandbox.kernel_argv(work_dir=job.work_dir, mount_name=job.assignment,
                                   runtime_dir=runtime, uid=uid or 0, guard_config=guard_file,
                                   notebook_timeout=notebook_timeout)
    km = SandboxKernelManager(sandbox_argv=argv, uid=uid, kernel_name="python3",
                              transport="ipc", ip=str(runtime / "k"),
                              connection_file=str(runtime / "kernel.json"))
    env = job.sandbox.kernel_env(guard_file, home=str(runtime))
    log = open(job.scratch / f"kernel{number}.log", "wb")
    cwd = str(job.work_dir) if not job.sandbox.enabled else str(runtime)
    try:
        await km.start_kernel(extra_arguments=["--HistoryManager.hist_file=:memory:"], env=env,
                              cwd=cwd, stdout=log, stderr=log)
    except BaseException:
        log.close()
        raise
    return LaunchedKernel(km, key, log)


def preload_modules(sources: str) -> list[str]:
    """The reference modules the locked cells import (preloaded, wrapped, by the guard)."""
    return sorted(set(re.findall(r"\bgrader\.reference\.\w+", sources))
                  | {f"grader.reference.{m}" for m in re.findall(
                      r"from\s+grader\.reference\s+import\s+(\w+)", sources)})


def _error_output(ename: str, evalue: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                  traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


@dataclass
class _CellInfo:
    index: int
    code: bool
    trusted: bool
    graded: bool
    name: str
    hash: str


class SandboxedExecute(Execute):
    """nbgrader's ``Execute``, run in the sandbox with the guard, crash recovery and limits."""

    notebook_timeout = Int(900, help="wall-time limit per notebook, seconds").tag(config=True)
    max_output_bytes = Int(2_000_000, help="output kept per notebook, bytes (errors always "
                                           "kept, shortened)").tag(config=True)
    max_restarts = Int(3, help="kernel restarts per notebook after crashes or hangs").tag(config=True)
    guard_timeout = Int(30, help="seconds to wait for the guard's answer").tag(config=True)

    # -- entry point (called by nbgrader's exporter, in the worker thread, lock held) ------
    def preprocess(self, nb, resources=None, km=None):
        job = current_job()
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        job.notebook = (resources or {}).get("nbgrader", {}).get("notebook", "")
        with job.unlocked():
            job.loop.run_until_complete(self._execute_all(job))
        return self.nb, self.resources

    # -- helpers -----------------------------------------------------------------------
    def _remaining(self) -> float:
        return self._deadline - time.monotonic()

    def _get_timeout(self, cell) -> int | None:
        limit = self.timeout if self.timeout and self.timeout > 0 else math.inf
        return max(1, int(math.ceil(min(limit, self._remaining()))))

    def _incident(self, text: str) -> None:
        self._job.result.incidents.append(f"{self._job.notebook}: {text}")

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

    # -- kernel lifecycle ----------------------------------------------------------------
    async def _start_kernel(self) -> None:
        job = self._job
        launched = job.take_prestarted()
        if launched is None:
            job.kernels += 1
            launched = await launch_kernel(job, job.kernels, self._preload, self.notebook_timeout)
        km, self._key, self._log = launched.km, launched.key, launched.log
        self.km = km
        ctx = zmq.asyncio.Context()   # our own, so that its sockets refuse huge messages
        ctx.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        self._zmq_contexts.append(ctx)
        kc = km.client(context=ctx)
        await ensure_async(kc.start_channels())
        try:
            await kc.wait_for_ready(timeout=self.startup_timeout)
        except Exception:
            self.kc = kc
            await self._stop_kernel()
            raise
        kc.allow_stdin = False
        self.kc = kc
        self._cursor = 0
        info = await self._request_reply(kc.kernel_info(), 30)
        if info and "language_info" in info["content"]:
            self.nb.metadata["language_info"] = info["content"]["language_info"]
        answer = await self._guard("init", ",".join(c.hash for c in self._cells if c.trusted))
        if answer is None:
            self._incident("the guard did not start in the kernel")

    async def _stop_kernel(self) -> None:
        kc, km = self.kc, self.km
        self.kc = self.km = None
        if kc is not None:
            with contextlib.suppress(Exception):
                await ensure_async(kc.stop_channels())
        if km is not None:
            with contextlib.suppress(Exception):
                await km.shutdown_kernel(now=True)
            with contextlib.suppress(Exception):
                await ensure_async(km.cleanup_resources())
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None

    async def _alive(self) -> bool:
        try:
            return bool(self.km is not None and await self.km.is_alive())
        except Exception:
            return False

    async def _request_reply(self, msg_id: str, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                msg = await self.kc.shell_channel.get_msg(timeout=min(1.0, left))
            except Empty:
                if not await self._alive():
                    return None
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg

    async def _probe(self) -> bool:
        """Does the kernel still answer (after an interrupted cell)?"""
        if not await self._alive():
            return False
        reply = await self._request_reply(self.kc.execute("", silent=True, store_history=False), 10)
        return reply is not None

    # -- the guard -------------------------------------------------------------------------
    def _guard_expression(self, phase: str, arg: str = "") -> tuple[str, str]:
        nonce = secrets.token_hex(8)
        return nonce, GUARD_EXPRESSION.format(phase=phase, nonce=nonce, since=self._cursor, arg=arg)

    async def _guard(self, phase: str, arg: str = "") -> dict | None:
        """Ask the in-kernel guard; None when it does not answer with a valid signature."""
        if self.kc is None:
            return None
        nonce, expr = self._guard_expression(phase, arg)
        msg_id = self.kc.execute("", silent=True, store_history=False, user_expressions={"g": expr})
        reply = await self._request_reply(msg_id, min(self.guard_timeout, max(5, self._remaining())))
        return self._guard_answer(nonce, reply)

    def _guard_answer(self, nonce: str, reply: dict | None) -> dict | None:
        """The guard's payload in ``reply`` if it is signed with this kernel's key."""
        try:
            value = reply["content"]["user_expressions"]["g"]
            token = ast.literal_eval(value["data"]["text/plain"])
            body, mac = token.rsplit(".", 1)
            expected = hmac.new(self._key, f"{nonce}|{body}".encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(mac, expected):
                return None
            payload = json.loads(base64.b64decode(body))
            if payload.get("nonce") != nonce:
                return None
        except Exception:
            return None
        if payload.get("n_events", 0) < self._cursor:
            payload.setdefault("tamper", []).append("the guard's event log was truncated")
        self._cursor = max(self._cursor, payload.get("n_events", 0))
        return payload

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)
        self._last_reply = kwargs.get("execute_reply")

    def _where(self, frames: list[str]) -> str:
        names = [self._by_hash.get(f, f) for f in frames]
        return ", ".join(names[:3])

    def _violations_from(self, payload: dict | None, phase: str, cell: _CellInfo) -> list[Violation]:
        nb = self._job.notebook
        if payload is None:
            return [Violation("guard", f"the grading guard did not answer {phase} cell "
                                       f"{cell.name} (kernel hooks tampered with?)", cell.name,
                              notebook=nb)]
        out = [Violation("tamper", t, "", notebook=nb) for t in payload.get("tamper", [])]
        for ev in payload.get("events", []):
            out.append(Violation(ev.get("kind", "guard"), ev.get("detail", ""),
                                 self._where(ev.get("frames", [])), notebook=nb))
        if payload.get("error"):
            out.append(Violation("guard", f"guard error: {payload['error']}", "", notebook=nb))
        return out

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
                info = self._cells[j]
                if info.trusted:
                    await self._guard("pre")
                reply = await self._request_reply(
                    self.kc.execute(self.nb.cells[j].source, store_history=True, allow_stdin=False,
                                    stop_on_error=False),
                    self._get_timeout(None))
                if reply is None:   # it crashes or hangs now: leave it out and start again
                    executed.remove(j)
                    self._incident(f"cell {info.name} failed when replayed; left out")
                    break
                if info.trusted:
                    await self._guard("post")
            else:
                self._incident(f"kernel restarted ({self._restarts}), "
                               f"{len(executed)} cells replayed")
                return True
        return False

    # -- the notebook --------------------------------------------------------------------
    async def _execute_all(self, job: Job) -> None:
        self._job = job
        self._deadline = time.monotonic() + self.notebook_timeout
        self._restarts = 0
        self._cursor = 0
        self._output_bytes = 0
        self._truncated: set[int] = set()
        self._zmq_contexts: list = []
        self._log = None
        self.kc = self.km = None
        cells = []
        for i, cell in enumerate(self.nb.cells):
            code = cell.cell_type == "code" and bool(cell.source.strip())
            meta = cell.metadata.get("nbgrader", {})
            trusted = code and "grade_id" in meta and nbg_utils.is_locked(cell)
            graded = code and nbg_utils.is_grade(cell)
            name = meta.get("grade_id") or f"cell {i}"
            cells.append(_CellInfo(i, code, trusted, graded, name, cell_hash(cell.source) if code else ""))
        self._cells = cells
        self._by_hash = {c.hash: c.name for c in cells if c.code}
        trusted_src = "\n".join(self.nb.cells[c.index].source for c in cells if c.trusted)
        self._preload = preload_modules(trusted_src)
        # the kernel's working copy: a scratch copy of the folder nbgrader prepared (without
        # the notebooks: the sanitized one holds the hidden tests)
        src_dir = Path(self.resources.get("metadata", {}).get("path") or ".")
        shutil.copytree(src_dir, job.work_dir, symlinks=True, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.ipynb"))
        if job.sandbox.enabled and Sandbox.is_root():
            _chown_tree(job.work_dir, job.sandbox.slot_uid(job.slot))
        violations = job.result.violations
        pending: list[Violation] = []
        executed: list[int] = []
        try:
            try:
                await self._start_kernel()
                broken = False
            except Exception as exc:
                self._incident(f"kernel did not start: {str(exc)[:200]}")
                broken = True
            for info in cells:
                if not info.code:
                    continue
                cell = self.nb.cells[info.index]
                if not info.trusted:
                    for why in static_scan(cell.source):
                        v = Violation("static", why, info.name, notebook=job.notebook)
                        pending.append(v)
                if self._remaining() <= 0:
                    self._not_run(cell, f"the notebook's time limit ({self.notebook_timeout} s) "
                                        "was reached before this cell")
                    continue
                gave_up = False
                for _attempt in range(self.max_restarts + 1):
                    if broken or not await self._alive():
                        if not await self._restart(executed):
                            gave_up = True
                            break
                        broken = False
                    if not info.trusted:
                        break
                    answer = await self._guard("pre")
                    if answer is None and not await self._alive():
                        self._incident(f"the kernel died before {info.name}")
                        broken = True      # a crash (a student's thread?), not tampering
                        continue
                    pending += self._violations_from(answer, "before", info)
                    break
                if gave_up or broken:
                    self._not_run(cell, "the kernel kept crashing; this cell was not run")
                    broken = True
                    continue
                crashed = False
                # a locked cell's post-check rides on its own execute request (user_expressions
                # are evaluated right after the cell, when it succeeded): one round trip less
                post_nonce = None
                if info.trusted:
                    post_nonce, post_expr = self._guard_expression("post")
                    self.kc.piggyback = {"g": post_expr}
                self._last_reply = None
                try:
                    await self.async_execute_cell(cell, info.index,
                                                  execution_count=self.code_cells_executed + 1,
                                                  store_history=True)
                except DeadKernelError:
                    self._append(cell, "DeadKernelError", "the kernel died while running this "
                                 "cell (a crash, os._exit, or a resource limit)")
                    self._incident(f"{info.name}: kernel died")
                    crashed = True
                except CellTimeoutError:
                    self._append(cell, "CellTimeoutError", "the cell did not finish in time and "
                                 "the kernel did not respond to an interrupt")
                    self._incident(f"{info.name}: timed out, kernel unresponsive")
                    crashed = True
                except Exception as exc:
                    self._append(cell, type(exc).__name__, str(exc)[:500])
                    self._incident(f"{info.name}: {type(exc).__name__}: {str(exc)[:200]}")
                    crashed = True
                finally:
                    if self.kc is not None:
                        self.kc.piggyback = None
                if not crashed and self._timed_out(cell):
                    self._incident(f"{info.name}: timed out (interrupted)")
                    if not await self._probe():
                        crashed = True
                if crashed:
                    broken = True
                else:
                    executed.append(info.index)
                    if info.trusted:
                        answer = None
                        if self._last_reply and self._last_reply.get("content", {}).get(
                                "user_expressions"):
                            answer = self._guard_answer(post_nonce, self._last_reply)
                        if answer is None:
                            answer = await self._guard("post")
                        if answer is None and not await self._alive():
                            # it passed, but nothing can vouch for what happened during it
                            pending.append(Violation("unverified", "the kernel died right after "
                                                     "this cell, before the grader could verify it",
                                                     info.name, notebook=job.notebook))
                            broken = True
                        else:
                            pending += self._violations_from(answer, "after", info)
                if info.graded:
                    self._errors_first(cell)
                    cheats = [v for v in pending if v.costs_points]
                    if cheats:
                        for v in cheats:
                            v.penalised = info.name
                        reasons = "; ".join(sorted({f"{v.kind}: {v.detail}" for v in cheats}))[:1500]
                        self._append(cell, "GradingIntegrityError",
                                     f"this test earns no points: {reasons}")
                    violations.extend(pending)
                    pending = []
            violations.extend(pending)
        finally:
            await self._stop_kernel()
            for ctx in self._zmq_contexts:
                with contextlib.suppress(Exception):
                    ctx.destroy(linger=0)

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

    @staticmethod
    def _errors_first(cell) -> None:
        """nbgrader reads a test cell's outputs in order and an ``execute_result`` before the
        error would count as (partial) credit: put errors first."""
        outs = cell.get("outputs", [])
        errors = [o for o in outs if o.get("output_type") == "error"]
        if errors and outs[0].get("output_type") != "error":
            cell.outputs = errors + [o for o in outs if o.get("output_type") != "error"]


# --------------------------------------------------------------------------------------
# The converter
# --------------------------------------------------------------------------------------

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
    """nbgrader's Autograde with :class:`SandboxedExecute` in place of ``Execute``, and the
    reason of a failure kept."""

    failure: str = ""

    def _init_preprocessors(self) -> None:
        self.exporter._preprocessors = []
        pps = self.sanitize_preprocessors if self._sanitizing else self.autograde_preprocessors
        for pp in pps:
            if isinstance(pp, str):
                pp = import_item(pp)
            if isinstance(pp, type) and issubclass(pp, Execute):
                pp = SandboxedExecute
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
            self.log.info("Sanitizing %s", notebook_filename)
            self._sanitizing = True
            self._init_preprocessors()
            BaseConverter.convert_single_notebook(self, notebook_filename)
            notebook_filename = os.path.join(self.writer.build_directory, name)
            self.log.info("Autograding %s", notebook_filename)
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


# --------------------------------------------------------------------------------------
# Before nbgrader: is it a notebook of this assignment?
# --------------------------------------------------------------------------------------

def precheck(folder: Path, expected: dict[str, dict]) -> str:
    """'' if the submission folder can go to nbgrader, otherwise a clear reason.

    ``expected`` maps each notebook name of the assignment to ``{"ids": its nbgrader cell
    ids, "fixed": {id: source} of its locked cells that are not tests}`` (instructions and
    set-up, which every genuine copy of the exercise carries unchanged).
    """
    notebooks = sorted(folder.glob("*.ipynb"))
    if not notebooks:
        others = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        return f"no notebook submitted (found: {', '.join(others[:5]) or 'nothing'})"
    known = [p for p in notebooks if p.stem in expected]
    if not known:
        return (f"wrong notebook: expected {', '.join(n + '.ipynb' for n in sorted(expected))}, "
                f"found {', '.join(p.name for p in notebooks[:5])} (another assignment's notebook?)")
    for path in known:
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            return f"{path.name} is too large to be a submission ({size / 2**20:.0f} MiB)"
        raw = path.read_bytes()
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            return f"{path.name} is not a notebook (not UTF-8 text)"
        except json.JSONDecodeError as exc:
            return f"{path.name} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        if not isinstance(data, dict) or "cells" not in data or "nbformat" not in data:
            return f"{path.name} is JSON but not a Jupyter notebook (no cells/nbformat)"
        try:
            nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
            nbformat.validate(nb)
        except Exception as exc:
            return f"{path.name} is not a valid notebook: {str(exc).splitlines()[0][:200]}"
        ids = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.cells} - {None}
        exp = expected[path.stem]
        known_ids, foreign = ids & exp["ids"], sorted(ids - exp["ids"])
        fixed = {c.metadata["nbgrader"]["grade_id"]: c.source.strip() for c in nb.cells
                 if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") in exp["fixed"]}
        same = sum(src == exp["fixed"][k].strip() for k, src in fixed.items())
        if fixed and not same:
            return (f"{path.name} does not come from this assignment's exercise (none of its "
                    f"{len(fixed)} locked instruction cells matches {path.stem}'s): "
                    "another assignment's notebook?")
        if not known_ids or len(foreign) > len(known_ids):
            what = f"cells {', '.join(foreign[:4])}..." if foreign else "no nbgrader cells at all"
            return (f"{path.name} does not come from this assignment's exercise "
                    f"({len(known_ids)} of its graded cells belong to {path.stem}; it has {what}): "
                    "another assignment's notebook?")
    return ""


# --------------------------------------------------------------------------------------
# The batch
# --------------------------------------------------------------------------------------

def _ensure_path() -> None:
    """nbgrader runs ``alembic`` through PATH: our interpreter's bin/ first."""
    bindir = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bindir:
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


@contextlib.contextmanager
def wal_gradebook(db_path: Path):
    """The gradebook in WAL mode with ``synchronous=NORMAL`` for the batch, and back.

    nbgrader commits after every cell it scores; in SQLite's default rollback-journal mode
    each commit waits for several fsyncs (about 20 ms here), and those waits sit inside the
    gradebook lock.  In WAL mode with ``synchronous=NORMAL`` a commit does not wait for the
    disk and the database stays consistent after a crash (at worst the last grades are lost,
    and the batch can be run again).  The journal mode is put back at the end, so the file is
    as nbgrader expects; if another program holds the gradebook open, nothing is changed.
    """
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def on_connect(dbapi_connection, _record) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    switched = False
    if db_path.exists():
        try:
            con = sqlite3.connect(db_path, timeout=5)
            try:
                if con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    switched = con.execute("PRAGMA journal_mode=WAL").fetchone()[0].lower() == "wal"
            finally:
                con.close()
        except sqlite3.Error:
            switched = False
    if switched:
        event.listen(Engine, "connect", on_connect)
    try:
        yield switched
    finally:
        if switched:
            event.remove(Engine, "connect", on_connect)
            with contextlib.suppress(sqlite3.Error):
                con = sqlite3.connect(db_path, timeout=30)
                try:
                    con.execute("PRAGMA journal_mode=DELETE")
                finally:
                    con.close()


@contextlib.contextmanager
def shared_gradebook_engine():
    """One SQLAlchemy engine per gradebook for the whole batch.

    nbgrader opens a new ``Gradebook`` (a new engine: table inspection, a fresh statement
    cache, a new connection) a dozen times per submission, always under our lock; with one
    engine its connection and compiled statements are reused.  nbgrader's own code is
    unchanged: ``Gradebook.__init__`` and ``close`` are wrapped for the batch only.
    """
    from nbgrader import api
    from sqlalchemy.orm import scoped_session, sessionmaker

    engines: dict[str, Any] = {}
    original_init, original_close = api.Gradebook.__init__, api.Gradebook.close

    def init(self, db_url, course_id="default_course", authenticator=None):
        engine = engines.get(db_url)
        if engine is None:
            original_init(self, db_url, course_id, authenticator)
            engines[db_url] = self.engine
            return
        self.engine = engine
        self.db = scoped_session(sessionmaker(autoflush=True, bind=engine, future=True))
        self.check_course(course_id=course_id)
        self.course_id = course_id
        self.authenticator = authenticator

    def close(self):
        self.db.remove()
        if self.engine not in engines.values():
            self.engine.dispose()

    api.Gradebook.__init__, api.Gradebook.close = init, close
    try:
        yield
    finally:
        api.Gradebook.__init__, api.Gradebook.close = original_init, original_close
        for engine in engines.values():
            engine.dispose()


def _quiet_known_warnings() -> None:
    """nbgrader's SQLAlchemy session warnings and nbformat's missing-cell-id warning are
    noise in every nbgrader run (plain ones too); the report says what matters."""
    import warnings

    from nbformat.warnings import MissingIDFieldWarning
    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning, module=r"nbgrader\.")
    warnings.filterwarnings("ignore", category=MissingIDFieldWarning)


def _submission_time(folder: Path) -> float:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return max((p.stat().st_mtime for p in files), default=0.0)


@dataclass
class _Assignment:
    expected: dict[str, dict]        # notebook -> {"ids", "fixed"} (see precheck)
    preload: list[str]               # reference modules the locked cells import
    single_notebook: bool
    graded: dict[str, bool]          # student -> every grade of the submission is set


def _read_assignment(coursedir, assignment: str) -> _Assignment:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        try:
            a = gb.find_assignment(assignment)
        except MissingEntry:
            raise NbGraderException(f"assignment {assignment!r} is not in the gradebook: "
                                    "run `nbgrader generate_assignment` first") from None
        expected = {}
        for nb in a.notebooks:
            tests = {c.name for c in nb.grade_cells}
            expected[nb.name] = {
                "ids": tests | {c.name for c in nb.solution_cells} | {c.name for c in nb.source_cells},
                "fixed": {c.name: c.source for c in nb.source_cells
                          if c.locked and c.name not in tests and c.source.strip()}}
        sources = "\n".join(c.source for nb in a.notebooks for c in nb.source_cells if c.locked)
        graded = {sub.student.id: bool(sub.notebooks) and all(
                      g.auto_score is not None or g.manual_score is not None
                      for nb in sub.notebooks for g in nb.grades)
                  for sub in a.submissions}
        return _Assignment(expected, preload_modules(sources), len(a.notebooks) == 1, graded)


def _folder(coursedir, kind: str) -> Path:
    """nbgrader's submitted/ or autograded/ folder (configurable, possibly absolute)."""
    return Path(coursedir.root) / getattr(coursedir, f"{kind}_directory")


def _plan(coursedir, assignment: str, students: list[str] | None, force: bool,
          graded: dict[str, bool]) -> tuple[dict[str, StudentResult], list[str]]:
    """A result per student, and who to grade: skip what is graded and not resubmitted."""
    submitted = _folder(coursedir, "submitted")
    found = sorted(p.parent.name for p in submitted.glob(f"*/{assignment}") if p.is_dir())
    wanted = [s for s in found if not students or s in students]
    results = {s: StudentResult(s) for s in wanted}
    for s in students or []:
        if s not in results:
            results[s] = StudentResult(s, status="failed",
                                       reason=f"no submission in submitted/{s}/{assignment}/")
    todo = []
    for s in wanted:
        out_dir = _folder(coursedir, "autograded") / s / assignment
        outputs = list(out_dir.glob("*.ipynb")) if out_dir.is_dir() else []
        fresh = (outputs and graded.get(s, False) and min(p.stat().st_mtime for p in outputs)
                 >= _submission_time(submitted / s / assignment))
        if fresh and not force:
            results[s].status = "skipped"
            results[s].reason = "already graded (use --force to grade again)"
        else:
            todo.append(s)
    return results, todo


class _Batch:
    """The worker side: one submission per thread, nbgrader code under the gradebook lock."""

    def __init__(self, app, course_root: Path, assignment: str, info: _Assignment,
                 box: Sandbox, jobs: int) -> None:
        self.app, self.course_root, self.assignment, self.info, self.box = \
            app, course_root, assignment, info, box
        self.db_path = Path(app.coursedir.db_url.replace("sqlite:///", ""))
        self.lock = GradebookLock(self.db_path)
        self.slots: queue.Queue[int] = queue.Queue()
        for i in range(jobs):
            self.slots.put(i)
        self.notebook_timeout = SandboxedExecute(parent=app).notebook_timeout
        self.scratch_root = Path(tempfile.mkdtemp(prefix="rnns-autograde-"))
        os.chmod(self.scratch_root, 0o711)

    def grade_one(self, result: StudentResult) -> StudentResult:
        from nbgrader.coursedir import CourseDirectory

        t0 = time.monotonic()
        student = result.student
        reason = precheck(_folder(self.app.coursedir, "submitted") / student / self.assignment,
                          self.info.expected)
        if reason:
            result.status, result.reason = "failed", reason
            return result
        slot = self.slots.get()
        scratch = self.scratch_root / f"{slot}-{student}"
        scratch.mkdir(mode=0o711)
        job = Job(student, self.assignment, self.course_root, scratch, slot, self.box, self.lock,
                  result, loop=asyncio.new_event_loop())
        try:
            _local.job = job
            if self.info.single_notebook:
                # the kernel boots (a second of imports) while nbgrader prepares the notebook
                try:
                    job.kernels += 1
                    job.prestarted = job.loop.run_until_complete(
                        launch_kernel(job, job.kernels, self.info.preload, self.notebook_timeout))
                except Exception as exc:
                    result.incidents.append(f"kernel pre-start failed: {_describe(exc)}")
            with self.lock:
                cd = CourseDirectory(parent=self.app)
                cd.root = str(self.course_root)
                cd.assignment_id = self.assignment
                cd.student_id = student
                converter = ParallelAutograde(coursedir=cd, parent=self.app, force=True)
                try:
                    converter.start()
                    result.status = "graded"
                except Exception as exc:  # NbGraderException and anything nbgrader missed
                    result.status = "failed"
                    result.reason = converter.failure or _describe(exc)
        except Exception as exc:
            result.status, result.reason = "failed", f"grader error: {_describe(exc)}"
        finally:
            _local.job = None
            leftover = job.take_prestarted()
            if leftover is not None:   # nbgrader failed before running it
                with contextlib.suppress(Exception):
                    job.loop.run_until_complete(leftover.km.shutdown_kernel(now=True))
                leftover.log.close()
            job.loop.close()
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


def autograde(course_root: Path, assignment: str, *, jobs: int = 2, force: bool = False,
              students: list[str] | None = None, sandbox: bool = True,
              summary_path: Path | None = None, progress: bool = True,
              config_overrides: list[str] | None = None, quiet: bool = True) -> BatchResult:
    """Grade every submission of ``assignment`` in ``course_root``; never raises for one student.

    Raises :class:`~grader.grading.sandbox.SandboxUnavailable` when ``sandbox`` is asked for
    and cannot be had, ``NbGraderException`` when the assignment is not in the gradebook.
    """
    from nbgrader.apps import AutogradeApp

    _ensure_path()
    _quiet_known_warnings()
    start = time.monotonic()
    jobs = max(1, jobs)
    course_root = Path(course_root).resolve()
    old_cwd = os.getcwd()
    app = job_log = None
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
        info = _read_assignment(app.coursedir, assignment)
        results, todo = _plan(app.coursedir, assignment, students, force, info.graded)
        batch = _Batch(app, course_root, assignment, info, box, jobs)
        bar = None
        if progress and todo:
            from tqdm import tqdm

            bar = tqdm(total=len(todo), desc=f"autograde {assignment}", unit="nb", file=sys.stderr)
        try:
            with contextlib.ExitStack() as stack:
                if todo:
                    stack.enter_context(wal_gradebook(batch.db_path))
                    stack.enter_context(shared_gradebook_engine())
                with ThreadPoolExecutor(max_workers=jobs) as pool:
                    futures = [pool.submit(batch.grade_one, results[s]) for s in todo]
                    for fut in as_completed(futures):
                        res = fut.result()
                        if bar is not None:
                            bar.set_postfix_str(f"{res.student}: {res.status}", refresh=False)
                            bar.update(1)
        finally:
            if bar is not None:
                bar.close()
            shutil.rmtree(batch.scratch_root, ignore_errors=True)
        batch.read_scores(results)
        out = BatchResult(assignment, str(course_root), sandbox, jobs, time.monotonic() - start,
                          [results[s] for s in sorted(results)])
        path = Path(summary_path) if summary_path else (
            _folder(app.coursedir, "autograded") / SUMMARY_NAME.format(assignment=assignment))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out.to_json(), indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")
        out.summary_path = str(path)
        return out
    finally:
        os.chdir(old_cwd)
        if job_log is not None:
            app.log.removeHandler(job_log)


def format_table(batch: BatchResult) -> str:
    """The class table: one line per student, then the failures and flags explained."""
    rows = [("student", "score", "status", "notes")]
    for s in batch.students:
        score = "" if s.score is None else f"{s.score:g}/{s.max_score:g}"
        notes = []
        if s.flagged:
            kinds = sorted({v.kind for v in s.violations if v.cheat})
            lost = sorted({v.penalised for v in s.violations if v.cheat and v.penalised})
            notes.append(f"FLAGGED ({', '.join(kinds)}; no points for {', '.join(lost) or '-'})")
        unverified = sorted({v.penalised for v in s.violations
                             if v.kind == "unverified" and v.penalised})
        if unverified:
            notes.append(f"unverified (kernel died): no points for {', '.join(unverified)}")
        notices = sorted({v.kind for v in s.violations if not v.costs_points})
        if notices:
            notes.append(f"notice: {', '.join(notices)}")
        if s.incidents:
            notes.append(f"{len(s.incidents)} incident(s)")
        if s.status == "failed":
            notes.append(s.reason)
        rows.append((s.student, score, s.status, "; ".join(notes)))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}".rstrip()
             for r in rows]
    lines.insert(1, "-" * min(100, sum(widths) + 6 + max(len(r[3]) for r in rows)))
    details = []
    for s in batch.students:
        for v in s.violations:
            details.append(f"  {s.student}: [{v.kind}] {v.detail}"
                           + (f" (in {v.where})" if v.where else "")
                           + (f" -> no points for {v.penalised}" if v.penalised else ""))
        for inc in s.incidents:
            details.append(f"  {s.student}: {inc}")
    if details:
        lines += ["", "Details:"] + details[:200]
    graded = sum(s.status == "graded" for s in batch.students)
    lines += ["", f"{graded} graded, {sum(s.status == 'skipped' for s in batch.students)} skipped, "
                  f"{len(batch.failures)} failed, {sum(s.flagged for s in batch.students)} flagged "
                  f"in {batch.seconds:.1f} s ({'sandboxed' if batch.sandboxed else 'NOT sandboxed'}, "
                  f"{batch.jobs} jobs); summary: {batch.summary_path}"]
    return "\n".join(lines)
