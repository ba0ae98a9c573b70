"""One submission's grading: what the executor needs to know, and the course's secret.

A batch (:mod:`grader.grading.batch`) makes a :class:`Job` per submission and hands it to the
executor through :func:`set_current_job` (nbgrader's exporter calls the executor with no room
for it); plain ``nbgrader autograde`` sets none, and the executor makes its own.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.grading.sandbox import Sandbox

SECRET_NAME = ".grader_secret"


def course_secret(course_root: Path) -> bytes:
    """The course's secret (created on first use, readable by its owner only): it seeds the
    hidden tests' inputs per submission.  It lives in the course folder, which no sandbox sees."""
    path = Path(course_root) / SECRET_NAME
    try:
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        pass
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


@dataclass
class Job:
    """What the executor needs to grade one submission (the batch makes one per thread)."""
    student: str
    assignment: str
    course_root: Path
    scratch: Path
    kit_dir: Path
    slot: int
    sandbox: Sandbox
    lock: Any = None                 # held while nbgrader code runs; released around kernels
    loop: Any = None                 # this thread's event loop (kernels live on it)
    prestarted: Any = None           # a kernel started before nbgrader's first pass
    after_first_kernel: Any = None   # async hook, run once the first kernel answers
    kernels: int = 0
    notebook: str = ""
    incidents: list[str] = field(default_factory=list)
    cluster: Any = None              # a grader.grading.cluster.Cluster: kernels run on Dask workers
    insight: dict = field(default_factory=dict)   # notebook -> why questions failed (insight.py)
    common_key: int = 0              # the class-common inputs' key (insight.probe_failed)
    grader_faults: list[str] = field(default_factory=list)   # GraderFaults met (not the student's)
    before_saving: Any = None        # called (lock held) after the kernel ran, before nbgrader
                                     # saves the grades: raises to stop the save (a full disk)
    executed: bool = False           # the executor finished: nbgrader goes on to save grades
    disk_problem: str = ""           # why before_saving stopped the save

    def take_prestarted(self):
        launched, self.prestarted = self.prestarted, None
        return launched

    @contextlib.contextmanager
    def unlocked(self):
        if self.lock is None:
            yield
            return
        self.lock.release()
        try:
            yield
        finally:
            self.lock.acquire()


_local = threading.local()


def set_current_job(job: Job | None) -> None:
    """The job this thread grades next (a batch sets it; plain ``nbgrader autograde`` does not)."""
    _local.job = job


def current_job() -> Job | None:
    return getattr(_local, "job", None)
