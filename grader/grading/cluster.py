"""Kernels on a Dask cluster: ``python -m grader autograde ... --scheduler ADDRESS``.

The coordinator (the machine with the course folder) runs the batch as on one machine --
intake, nbgrader's sanitize pass, ``SaveAutoGrades``, late penalties, every gradebook write,
under the same lock -- and only the step that takes time, :class:`~grader.grading.executor.
TrustedExecute`'s ``_execute_all`` (the sandboxed kernel and the hidden tests), is sent to a
Dask worker.  What travels (:meth:`Cluster.execute`): the notebook as nbgrader sanitized it
(JSON), the trusted cell table and helper sources read from the gradebook, the submission's
key for the hidden inputs, and the executor's and sandbox's configuration; what comes back is
the executed notebook (JSON) and the incidents.  The worker needs this package and bubblewrap,
never the course folder, the gradebook or the course's secret.

A worker that dies mid-task loses nothing: the scheduler gives the task to another worker
(``retries=2`` also retries a task that raised), and the coordinator's thread waits for
whichever answer comes.  Tasks are ``pure=False``: a submission graded twice runs twice.

Start a cluster with ``dask scheduler`` and, on each grading machine, ``dask worker ADDRESS
--nthreads K`` (one sandboxed kernel per thread).
"""
from __future__ import annotations

import asyncio
import os
import queue
import threading
import uuid
from pathlib import Path
from typing import Any

SECTIONS = ("Sandbox", "TrustedExecute", "Execute", "ExecutePreprocessor", "NotebookClient")

_slots: "queue.Queue[int] | None" = None
_slots_lock = threading.Lock()
_kit: dict[str, Path] = {}


def _slot() -> int:
    """A slot of this worker process (one sandbox uid per concurrent kernel)."""
    global _slots
    with _slots_lock:
        if _slots is None:
            _slots = queue.Queue()
            for i in range(64):
                _slots.put(i)
    return _slots.get()


def _kit_dir() -> Path:
    """The student kit, written once per worker process (in a scratch folder it holds for
    its life; what killed workers left is swept first)."""
    from grader.grading import scratch
    from grader.grading.sandbox import prepare_kit

    with _slots_lock:
        if "dir" not in _kit or not _kit["dir"].is_dir():
            scratch.sweep()
            holder = scratch.Scratch("dask-kit")
            _kit["holder"] = holder
            _kit["dir"] = prepare_kit(holder.path)
        return _kit["dir"]


def warm_up() -> str:
    """On each worker when a batch connects: the imports and the kit a first task would wait for."""
    import nbclient  # noqa: F401
    import nbgrader.preprocessors  # noqa: F401

    import grader.grading.executor  # noqa: F401
    import grader.grading.verdicts  # noqa: F401
    from grader.grading.hidden_process import Server

    Server.get().start()      # the hidden tests' server imports while the batch starts
    return str(_kit_dir())


def execute_on_worker(nb_json: str, table: dict, helpers: list[str], key: int,
                      settings: dict, who: tuple[str, str, str]) -> tuple[str, list[str]]:
    """On a Dask worker: run one notebook as :class:`TrustedExecute` does locally; return
    the executed notebook (JSON) and the incidents.  ``who`` is (student, assignment, notebook)."""
    import nbformat
    from nbclient import NotebookClient
    from traitlets.config import Config

    from grader.grading.executor import TrustedExecute
    from grader.grading.job import Job
    from grader.grading.sandbox import Sandbox

    config = Config(settings)
    box = Sandbox(config=config)
    if box.enabled:
        box.check_available()
    from grader.grading.scratch import Scratch

    slot = _slot()
    holder = Scratch(f"dask-{slot}")
    scratch = holder.path
    loop = asyncio.new_event_loop()
    try:
        executor = TrustedExecute(config=config)
        nb = nbformat.reads(nb_json, as_version=4)
        NotebookClient.__init__(executor, nb, None)
        executor.reset_execution_trackers()
        executor._check_assign_resources({"metadata": {"path": str(scratch)}})
        student, assignment, notebook = who
        job = Job(student, assignment, scratch, scratch, _kit_dir(), slot, box, loop=loop,
                  notebook=notebook)
        loop.run_until_complete(executor._execute_all(job, table, helpers, key))
        return nbformat.writes(executor.nb), list(job.incidents)
    finally:
        loop.close()
        holder.close()
        assert _slots is not None
        _slots.put(slot)


def settings_of(config) -> dict:
    """The parts of an nbgrader/traitlets configuration a worker needs, as plain data."""
    out: dict[str, dict] = {}
    for section in SECTIONS:
        values = config.get(section, {}) if hasattr(config, "get") else {}
        plain = {k: v for k, v in dict(values).items()
                 if isinstance(v, (bool, int, float, str, list, tuple, type(None)))}
        if plain:
            out[section] = plain
    return out


class Cluster:
    """A connection to a Dask scheduler, shared by a batch's threads."""

    def __init__(self, address: str, timeout: float = 30) -> None:
        try:
            from distributed import Client
        except ImportError as exc:
            raise RuntimeError(f"--scheduler needs Dask's distributed package ({exc}): "
                               "pip install -e '.[cluster]' (pinned in requirements.lock)") from None

        self.address = address
        self.client = Client(address, timeout=timeout, set_as_default=False)
        self.client.run(warm_up)   # every worker imports and writes its kit now, in parallel

    def threads(self) -> int:
        return sum(self.client.nthreads().values())

    def execute(self, executor, job, table: dict, helpers: list[str], key: int) -> Any:
        """Run ``executor``'s notebook on a worker; returns the executed notebook."""
        import nbformat

        who = (job.student, job.assignment, job.notebook)
        settings = settings_of(executor.config)
        settings.setdefault("Sandbox", {})["enabled"] = bool(job.sandbox.enabled)
        future = self.client.submit(
            execute_on_worker, nbformat.writes(executor.nb), table, helpers, key,
            settings, who, pure=False, retries=2,
            key=f"grade-{job.assignment}-{job.student}-{job.notebook}-{uuid.uuid4().hex[:8]}")
        try:
            nb_json, incidents = future.result()
        finally:
            future.release()
        job.incidents += incidents
        nb = nbformat.reads(nb_json, as_version=4)
        executor.nb = nb
        return nb

    def close(self) -> None:
        self.client.close()


def stop_process_group(proc, grace: float) -> None:
    """SIGTERM to ``proc``'s process group, SIGKILL if it still runs after ``grace`` seconds."""
    import signal
    import subprocess

    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class LocalCluster:
    """A real cluster on this machine, for tests and ``bench``: ``dask scheduler`` and
    ``workers`` ``dask worker`` processes (one thread each) on 127.0.0.1 only.

    Each process is its own process group (:meth:`kill` takes a worker and its nanny down)."""

    def __init__(self, folder: Path, workers: int = 2, timeout: float = 90) -> None:
        import json
        import subprocess
        import sys
        import time

        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, subprocess.Popen] = {}
        bindir = Path(sys.executable).parent
        env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}

        def start(name: str, args: list[str]) -> None:
            log = (self.folder / f"{name}.log").open("w")
            self.procs[name] = subprocess.Popen([str(bindir / "dask"), *args], stdout=log,
                                                stderr=subprocess.STDOUT, env=env,
                                                start_new_session=True, cwd=self.folder)
            log.close()

        sched_file = self.folder / "scheduler.json"
        sched_file.unlink(missing_ok=True)
        try:
            start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", "0",
                                "--no-dashboard", "--scheduler-file", str(sched_file)])
            deadline = time.monotonic() + timeout
            while not sched_file.is_file():
                if time.monotonic() > deadline or self.procs["scheduler"].poll() is not None:
                    raise RuntimeError("dask scheduler did not start: "
                                       + (self.folder / "scheduler.log").read_text()[-2000:])
                time.sleep(0.2)
            self.address = json.loads(sched_file.read_text())["address"]
            for i in range(1, workers + 1):
                start(f"w{i}", ["worker", self.address, "--name", f"w{i}", "--nworkers", "1",
                                "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"])
            from distributed import Client

            with Client(self.address, timeout=30, set_as_default=False) as client:
                client.wait_for_workers(workers, timeout=timeout)
        except BaseException:
            self.close()
            raise

    def kill(self, name: str) -> None:
        import signal

        os.killpg(self.procs[name].pid, signal.SIGKILL)
        self.procs[name].wait()

    def close(self) -> None:
        for proc in reversed(list(self.procs.values())):
            stop_process_group(proc, grace=20)

    def __enter__(self) -> "LocalCluster":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
