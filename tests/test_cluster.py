"""Grading on a real Dask cluster: a scheduler and two workers on 127.0.0.1, as processes.

A small chapter-1 class (correct, correct in another style, blank, one mistake, a copy of the
solution notebook) is graded twice: on this machine (threads, the default) and through the
cluster (``autograde(..., scheduler=ADDRESS)``: kernels on the workers, the gradebook written
here).  While the cluster batch runs, one worker is killed (SIGKILL, nanny included) while it
holds a submission: every submission is still graded, with the same scores as the local path.
"""
from __future__ import annotations

import shutil
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from grading_helpers import mutate, solution_path
from test_feedback import solved_exercise

from grader.course import Course, make_course
from grader.grading.autograde import autograde, format_table
from grader.grading.cluster import LocalCluster

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

ROOT = Path(__file__).resolve().parent.parent
A = "01_rnn_by_hand"
BIN = Path(sys.executable).parent


def _class(tmp: Path) -> dict[str, Path]:
    solved = solved_exercise(tmp / "solved.ipynb")
    styled = solved_exercise(tmp / "styled.ipynb",
                             extra_cells=[nbformat.v4.new_code_cell("_step = None  # a name of my own")])
    wrong = mutate(solution_path(A), tmp / "wrong.ipynb", "q3-rnn-cell",
                   "np.tanh(before_activation)", "before_activation")
    return {"solved": solved, "styled": styled, "blank": ROOT / "exercises" / A / f"{A}.ipynb",
            "no-tanh": wrong, "solution-copy": solution_path(A)}


def _submit(course, files):
    for student, path in files.items():
        course.submit(student, A, path, name=f"{A}.ipynb")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with LocalCluster(tmp_path_factory.mktemp("dask"), workers=2) as local:
        yield local


def _kill_when_busy(cluster: LocalCluster, name: str, done: threading.Event, seen: list) -> None:
    """SIGKILL worker ``name`` (and its nanny) once it holds a student's submission."""
    with distributed.Client(cluster.address, timeout=30, set_as_default=False) as client:
        while not done.is_set():
            names = {addr: w.get("name") for addr, w in client.scheduler_info()["workers"].items()}
            for addr, keys in client.processing().items():
                busy = [k for k in keys if str(k).startswith("grade-") and "__canary__" not in str(k)]
                if names.get(addr) == name and busy:
                    seen.extend(busy)
                    cluster.kill(name)
                    return
            time.sleep(0.2)


def test_dask_grades_as_locally_and_survives_a_killed_worker(cluster, tmp_path):
    files = _class(tmp_path)
    local = make_course(tmp_path / "local", [A])
    _submit(local, files)
    pristine = shutil.copytree(local.root, tmp_path / "pristine")   # the same class, ungraded
    t0 = time.monotonic()
    here = autograde(local.root, A, jobs=2, progress=False)
    local_s = time.monotonic() - t0
    print(format_table(here))

    remote = Course(shutil.copytree(pristine, tmp_path / "remote"))
    done, killed = threading.Event(), []
    killer = threading.Thread(target=_kill_when_busy, daemon=True,
                              args=(cluster, "w2", done, killed))
    killer.start()
    t0 = time.monotonic()
    try:
        there = autograde(remote.root, A, jobs=2, progress=False, scheduler=cluster.address)
    finally:
        done.set()
        killer.join(30)
    dask_s = time.monotonic() - t0
    print(format_table(there))
    print(f"local {local_s:.1f} s, dask {dask_s:.1f} s; killed w2 holding {killed}")

    assert killed, "worker w2 never held a submission: nothing was shown"
    assert cluster.procs["w2"].poll() is not None
    assert there.scheduler == cluster.address
    assert [s.status for s in there.students] == ["graded"] * len(files)
    assert {s.student: s.scores for s in there.students} == {s.student: s.scores for s in here.students}
    scores = {s.student: s.score for s in there.students}
    assert scores["solved"] == scores["styled"] == scores["solution-copy"] == 11
    assert scores["blank"] == 0 and 0 < scores["no-tanh"] < 11
    # the workers never saw the course: no course path in what they were sent is needed
    assert not (remote.root / "autograded" / "__canary__").exists()
