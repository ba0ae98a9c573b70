"""JupyterHub's way: nbgrader's exchange, with two real student users, then our autograde.

A JupyterHub with nbgrader (no hub is needed to show it: the exchange is a folder) gives every
student a unix user and a home, and the course an exchange folder all of them can reach.
Here, in a private mount namespace (``tests/container_env.py``; ``/etc/passwd`` there gains
``alice`` and ``bob``, uids of their own with homes of their own):

1. the instructor (root) runs ``nbgrader release_assignment`` from a course made from this
   repository, with ``c.Exchange.root`` set in the course's ``nbgrader_config.py``;
2. each student, as their own uid, runs ``nbgrader list``, ``fetch_assignment``, edits the
   notebook (alice answers everything, bob leaves question 5 and gets question 2 wrong) and
   ``nbgrader submit``; bob also tries to read alice's submission in the exchange;
3. the instructor runs ``nbgrader collect`` and ``python -m grader autograde``: alice 11/11,
   bob 9/11, the timestamps nbgrader wrote used for the late policy.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import container_env
from grader.course import make_course
from grading_helpers import build_once
from grader.release import nbgrader_command, nbgrader_env

ROOT = Path(__file__).resolve().parent.parent
A = "01_rnn_by_hand"
NOTEBOOK = f"{A}.ipynb"
COURSE_ID = "rnns-from-scratch"
STUDENTS = {"alice": 2_100_000_101, "bob": 2_100_000_102}
sys.path.insert(0, str(Path(__file__).parent / "submissions"))
import make_submissions as subs  # noqa: E402

pytestmark = [pytest.mark.skipif(bool(container_env.available()),
                                 reason=container_env.available() or "n/a"),
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is missing")]

STUDENT_STEPS = r"""
set -e
cp /etc/passwd "$SHARED/passwd"
for s in alice bob; do
    echo "$s:x:$(cat "$SHARED/$s.uid"):$(cat "$SHARED/$s.uid")::$SHARED/home/$s:/bin/sh" >> "$SHARED/passwd"
done
mount --bind "$SHARED/passwd" /etc/passwd
for s in alice bob; do
    uid=$(cat "$SHARED/$s.uid")
    setpriv --reuid="$uid" --regid="$uid" --clear-groups -- env -i HOME="$SHARED/home/$s" \
        PATH="$VENV_BIN:/usr/bin:/bin" SHARED="$SHARED" EXCHANGE="$EXCHANGE" A="$A" \
        COURSE_ID="$COURSE_ID" S="$s" bash -c '
        set -e
        cd "$HOME"
        nbgrader list > list.txt 2>&1
        nbgrader fetch_assignment "$A" > fetch.txt 2>&1
        cp "$SHARED/answers/$S.ipynb" "$A/$A.ipynb"
        nbgrader submit "$A" > submit.txt 2>&1
        id -un > whoami.txt
        ls -la "$EXCHANGE/$COURSE_ID/inbound" > inbound-listing.txt 2>&1 || true
    '
done
# the instructor collects on the same machine (where alice and bob are users)
cd "$COURSE" && PATH="$VENV_BIN:$PATH" nbgrader collect "$A" > "$SHARED/collect.txt" 2>&1
"""


def _run(cmd: list[str], cwd: Path, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=nbgrader_env(),
                          timeout=600, **kw)
    assert proc.returncode == 0, f"{cmd}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return proc


@pytest.fixture(scope="module")
def exchanged(tmp_path_factory):
    """The whole term of one assignment, once per test run (shared by pytest-xdist's workers)."""
    return build_once(tmp_path_factory, "nbgrader-exchange", _term)


def _term(folder: Path) -> dict:
    course = make_course(folder / "course", [A])
    shared = container_env.world_readable_tmp("rnns-hub-")
    exchange = shared / "exchange"
    exchange.mkdir()
    os.chmod(exchange, 0o777)             # as nbgrader's docs ask of a shared exchange
    with open(course.root / "nbgrader_config.py", "a") as f:
        f.write(f"\nc.Exchange.root = {str(exchange)!r}\n")
    try:
        (shared / "answers").mkdir()
        nbformat.write(subs.answered(ROOT), shared / "answers" / "alice.ipynb")
        bob = subs.set_answer(subs.answered(ROOT), "q2-row-column", subs.WRONG_Q2)
        stub = subs.blank(ROOT).cells[subs._index(subs.blank(ROOT), "q5-linear")].source
        nbformat.write(subs.set_answer(bob, "q5-linear", stub), shared / "answers" / "bob.ipynb")
        for student, uid in STUDENTS.items():
            home = shared / "home" / student
            (home / ".jupyter").mkdir(parents=True)
            # what a hub's /etc/jupyter/nbgrader_config.py says to every student
            (home / ".jupyter" / "nbgrader_config.py").write_text(
                f"c = get_config()\nc.Exchange.root = {str(exchange)!r}\n"
                f"c.CourseDirectory.course_id = {COURSE_ID!r}\n")
            (shared / f"{student}.uid").write_text(str(uid))
            for path in [home, *home.rglob("*")]:
                os.chown(path, uid, uid)
        for path in shared.rglob("*"):
            if path.is_file() and path.parent.name in ("answers",):
                os.chmod(path, 0o644)

        released = _run(nbgrader_command("release_assignment", A), course.root)
        env = {"SHARED": str(shared), "EXCHANGE": str(exchange), "A": A, "COURSE_ID": COURSE_ID,
               "VENV_BIN": str(Path(sys.executable).parent), "COURSE": str(course.root)}
        proc = container_env.run_in_container(["bash", "-c", STUDENT_STEPS], env=env,
                                              keep_sys_admin=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        homes = {s: {p.name: p.read_text() for p in (shared / "home" / s).glob("*.txt")}
                 for s in STUDENTS}
        collected = (shared / "collect.txt").read_text()
        graded = subprocess.run([sys.executable, "-m", "grader", "autograde", A, "--course",
                                 str(course.root), "--no-progress", "--jobs", "2"],
                                cwd=course.root, capture_output=True, text=True, env=nbgrader_env(),
                                timeout=900)
        assert graded.returncode == 0, graded.stdout[-3000:] + graded.stderr[-3000:]
        summary = json.loads((course.root / "autograded" / f"{A}-autograde-summary.json").read_text())
        return {"course": course.root, "homes": homes, "released": released.stdout + released.stderr,
                "collected": collected, "table": graded.stdout,
                "students": {s["student"]: s for s in summary["students"]}, "exchange": exchange}
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_students_fetch_and_submit_as_themselves(exchanged):
    for student in STUDENTS:
        home = exchanged["homes"][student]
        assert home["whoami.txt"].strip() == student
        assert A in home["list.txt"]
        assert "Submitted as" in home["submit.txt"] or "submitted" in home["submit.txt"].lower()
    # the inbound folder is writable but not listable by students: bob cannot see alice's
    assert "Permission denied" in exchanged["homes"]["bob"]["inbound-listing.txt"]


def test_collect_then_autograde(exchanged):
    course = exchanged["course"]
    assert "Collecting submission: alice" in exchanged["collected"]
    assert "cheating attempt" not in exchanged["collected"]   # nbgrader's owner check passed
    for student in STUDENTS:
        folder = course / "submitted" / student / A
        assert (folder / NOTEBOOK).is_file() and (folder / "timestamp.txt").is_file()
    students = exchanged["students"]
    assert set(students) == set(STUDENTS)
    assert students["alice"]["status"] == "graded" and students["alice"]["score"] == 11
    assert students["bob"]["status"] == "graded" and students["bob"]["score"] == 9
    assert students["bob"]["scores"]["q2-tests"] == students["bob"]["scores"]["q5-tests"] == 0
    assert "alice" in exchanged["table"] and "bob" in exchanged["table"]
