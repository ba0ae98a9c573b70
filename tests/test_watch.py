"""``python -m grader watch``: a real watcher process grades a submission dropped into submitted/.

The watcher runs as a subprocess on a throw-away chapter-1 course; a broken submission arrives
first (refused with its reason, the watch goes on), then a correct one, copied in two steps
(the watcher waits until the folder is still).  Its grade must reach the gradebook, and its
feedback page the feedback folder, while the watcher keeps running; then it is stopped.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_feedback import solved_exercise

from grader.course import make_course
from grader.grading.cluster import stop_process_group
from grader.grading.watch import Watcher, signature

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

A = "01_rnn_by_hand"


def _score(course, student):
    from nbgrader.api import Gradebook, MissingEntry

    try:
        with Gradebook(course.db_url) as gb:
            sub = gb.find_submission(A, student)
            if all(g.auto_score is not None for nb in sub.notebooks for g in nb.grades):
                return float(sub.score)
    except MissingEntry:
        return None
    return None


def test_signature_and_debounce(tmp_path):
    folder = tmp_path / "submitted" / "s" / A
    folder.mkdir(parents=True)
    (folder / "x.ipynb").write_text("{}")
    os.symlink("/etc/passwd", folder / "link")
    sig = signature(folder)
    assert [e[0] for e in sig] == ["link", "x.ipynb"]       # the link is listed, not followed
    graded = []
    w = Watcher(tmp_path, A, grade=lambda s, c: graded.append(s) or [], feedback=lambda s: [],
                settle=2.0, out=lambda text: None)
    w.canary_source = "x"
    assert w.ready(0.0) == [] and w.ready(1.0) == []         # changed, not yet still
    (folder / "x.ipynb").write_text('{"a": 1}')
    assert w.ready(2.5) == []                                # changed again: the clock restarts
    assert w.ready(4.6) == ["s"]


def test_watch_grades_on_submission(tmp_path):
    course = make_course(tmp_path / "course", [A])
    solved = solved_exercise(tmp_path / "solved.ipynb")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONUNBUFFERED": "1"}
    log = (tmp_path / "watch.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "grader", "watch", A, "--course", str(course.root),
                             "--interval", "0.5"], stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    try:
        broken = course.root / "submitted" / "bob" / A
        broken.mkdir(parents=True)
        (broken / f"{A}.ipynb").write_text("not a notebook")
        alice = course.root / "submitted" / "alice" / A
        alice.mkdir(parents=True)
        shutil.copyfile(solved, alice / f"{A}.ipynb")
        time.sleep(1.0)
        (alice / "timestamp.txt").write_text("2026-03-01 11:00:00.000000 UTC")
        dropped = time.monotonic()
        deadline = dropped + 240
        while _score(course, "alice") is None:
            assert proc.poll() is None, (tmp_path / "watch.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "watch.log").read_text()
            time.sleep(0.5)
        latency = time.monotonic() - dropped
        assert _score(course, "alice") == 11
        feedback = course.root / "feedback" / "alice" / A / f"{A}.html"
        while not feedback.is_file():
            assert time.monotonic() < deadline, (tmp_path / "watch.log").read_text()
            time.sleep(0.5)
        text = (tmp_path / "watch.log").read_text()
        assert "bob: failed (refused: 01_rnn_by_hand.ipynb is not valid JSON" in text
        assert "alice: graded 11/11" in text
        assert proc.poll() is None                           # still watching
        print(f"graded {latency:.1f} s after the submission was complete")
    finally:
        stop_process_group(proc, grace=30)
        log.close()
