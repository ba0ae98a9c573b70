"""The sandbox itself, and the parallel grader against plain sequential nbgrader.

Real bubblewrap, real kernels, real nbgrader runs (no mocks).
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from grader.course import Course, make_course
from grader.grading.autograde import BatchError, autograde, format_table
from grader.grading.sandbox import Sandbox, SandboxUnavailable, prepare_kit
from grader.release import nbgrader_command, nbgrader_env

ROOT = Path(__file__).resolve().parent.parent
A = "01_rnn_by_hand"
sys.path.insert(0, str(Path(__file__).parent / "submissions"))
import make_submissions as subs  # noqa: E402

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None,
                                 reason="bubblewrap is not installed (apt-get install bubblewrap)")


# --- the sandbox on its own ---------------------------------------------------------------

PROBE = r"""
import json, os, resource, socket, sys
out = {"uid": os.getuid(), "cwd": os.getcwd(), "pid": os.getpid()}
course = sys.argv[1]
port = int(sys.argv[2])
out["course_visible"] = os.path.exists(course) or os.path.exists(os.path.join(course, "gradebook.db"))
try:
    socket.create_connection(("127.0.0.1", port), timeout=2).sendall(b"leak")
    out["loopback"] = "connected"
except OSError as exc:
    out["loopback"] = type(exc).__name__
try:
    socket.getaddrinfo("pypi.org", 443)
    out["dns"] = "resolved"
except OSError as exc:
    out["dns"] = type(exc).__name__
def writable(path):
    try:
        with open(path, "w") as f:
            f.write("x")
        return True
    except OSError:
        return False
out["write_usr"] = writable("/usr/pwned")
out["write_prefix"] = writable(os.path.join(sys.prefix, "pwned"))
out["write_cwd"] = writable("mine.txt")
out["write_tmp"] = writable("/tmp/mine.txt")
def fill(path, mb):
    try:
        with open(path, "wb") as f:
            for _ in range(mb):
                f.write(b"\0" * 2**20)
        return True
    except OSError:
        return False
out["tmp_6mb"] = fill("/tmp/big", 6)
out["cwd_6mb_more"] = fill("big2", 6)          # the same quota: 12 MiB do not fit in 8
out["env"] = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
              "MKL_NUM_THREADS", "JPY_PARENT_PID", "RNNS_TEST_SECRET", "HOME")}
import grader.checks
out["kit_importable"] = True
try:
    import grader.reference.rnn_by_hand
    out["reference_importable"] = True
except ImportError:
    out["reference_importable"] = False
out["grader_files"] = sorted(os.listdir(os.path.dirname(grader.__file__)))
out["rlimit_as"] = resource.getrlimit(resource.RLIMIT_AS)[0]
out["rlimit_nproc"] = resource.getrlimit(resource.RLIMIT_NPROC)[0]
out["procs_visible"] = sum(p.isdigit() for p in os.listdir("/proc"))
children = []
try:
    for _ in range(200):
        pid = os.fork()
        if pid == 0:
            import time
            time.sleep(2)
            os._exit(0)
        children.append(pid)
except OSError:
    pass
out["forks"] = len(children)
print(json.dumps(out))
"""


@needs_bwrap
def test_sandbox_isolates_a_process(tmp_path, monkeypatch):
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    (course / "gradebook.db").write_text("secret")
    box = Sandbox(memory_mb=1024, nproc=24, disk_mb=10, shm_mb=2)
    box.check_available()
    uid = box.slot_uid(7)
    seccomp_fd = box.seccomp_fd()
    argv = box.kernel_argv(kit_dir=prepare_kit(tmp_path), runtime_dir="/tmp/.rt", uid=uid,
                           notebook_timeout=60, seccomp_fd=seccomp_fd)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.settimeout(0.2)
    argv = argv[:argv.index("-m")] + ["-c", PROBE, str(course), str(port)]
    monkeypatch.setenv("RNNS_TEST_SECRET", "do-not-leak")
    monkeypatch.setenv("JPY_PARENT_PID", "1")
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, pass_fds=(seccomp_fd,))
    finally:
        os.close(seccomp_fd)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    with pytest.raises(OSError):
        listener.accept()   # nothing reached the host's loopback
    listener.close()
    assert out["course_visible"] is False
    assert out["loopback"] != "connected" and out["dns"] != "resolved"
    assert not out["write_usr"] and not out["write_prefix"]
    assert out["write_cwd"] and out["write_tmp"]
    assert out["tmp_6mb"] is True and out["cwd_6mb_more"] is False, \
        "the working folder and /tmp share one hard quota (8 of the 10 MiB; /dev/shm has 2)"
    assert out["env"]["OMP_NUM_THREADS"] == out["env"]["OPENBLAS_NUM_THREADS"] == "1"
    assert out["env"]["MKL_NUM_THREADS"] == "1"
    assert out["env"]["JPY_PARENT_PID"] is None and out["env"]["RNNS_TEST_SECRET"] is None
    assert out["kit_importable"] and out["reference_importable"] is False
    assert "reference" not in out["grader_files"] and "grading" in out["grader_files"]
    assert out["cwd"] == "/tmp/work"
    assert out["rlimit_as"] == 1024 * 2**20
    assert out["procs_visible"] < 10, "a PID namespace of its own"
    if os.geteuid() == 0:
        assert out["uid"] == uid != 0
        assert out["rlimit_nproc"] == 24 and out["forks"] < 24


def test_refuses_to_grade_without_bubblewrap(tmp_path):
    env = dict(os.environ, PATH=f"{tmp_path}:{Path(sys.executable).parent}")
    box = Sandbox()
    old = os.environ["PATH"]
    os.environ["PATH"] = env["PATH"]
    try:
        with pytest.raises(SandboxUnavailable, match="unsafe-no-sandbox"):
            box.check_available()
    finally:
        os.environ["PATH"] = old
    (tmp_path / "nbgrader_config.py").write_text("")
    proc = subprocess.run([sys.executable, "-m", "grader", "autograde", A, "--course", str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "bubblewrap" in proc.stderr and "--unsafe-no-sandbox" in proc.stderr


@needs_bwrap
def test_canary_stops_a_batch_that_cannot_grade(tmp_path):
    """No kernel can start (a 16 MiB memory limit): the instructor's solution is graded first,
    fails, and the batch stops loudly before writing any grade."""
    course = make_course(tmp_path / "course", [A])
    nbformat.write(subs.answered(ROOT), course.submit("alice", A, ROOT / "solutions" / A / f"{A}.ipynb"))
    (course.root / "nbgrader_config.py").write_text(
        (course.root / "nbgrader_config.py").read_text() + "\nc.Sandbox.memory_mb = 16\n")
    with pytest.raises(BatchError, match="canary.*sandboxed kernel did not start|canary.*does not earn"):
        autograde(course.root, A, jobs=1, progress=False)
    from nbgrader.api import Gradebook, MissingEntry
    with Gradebook(course.db_url) as gb:
        with pytest.raises(MissingEntry):
            gb.find_submission(A, "alice")
    proc = subprocess.run([sys.executable, "-m", "grader", "autograde", A, "--course",
                           str(course.root), "--no-progress"], env=nbgrader_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "canary" in proc.stderr


def test_plain_nbgrader_refuses_to_run_unsandboxed(tmp_path):
    """`nbgrader autograde` from this course uses the course's executor, which grades only in
    the sandbox: switched off, it grades nobody (and gives nobody a zero)."""
    course = make_course(tmp_path / "course", [A])
    course.submit("alice", A, ROOT / "solutions" / A / f"{A}.ipynb")
    proc = course.nbgrader("autograde", A, "--Sandbox.enabled=False")
    assert proc.returncode != 0
    assert "sandbox" in (proc.stdout + proc.stderr)
    from nbgrader.api import Gradebook, MissingEntry
    with Gradebook(course.db_url) as gb:
        try:
            grades = [g for nb in gb.find_submission(A, "alice").notebooks for g in nb.grades]
        except MissingEntry:
            grades = []
        assert all(g.auto_score is None for g in grades)


# --- against plain nbgrader -----------------------------------------------------------------

def _honest_faults(root: Path, course: Path) -> dict[str, nbformat.NotebookNode]:
    no_tanh = subs.answered(root)
    cell = no_tanh.cells[subs._index(no_tanh, "q3-rnn-cell")]
    cell.source = cell.source.replace("np.tanh(before_activation)", "before_activation")
    return {"complete": subs.answered(root), "blank": subs.blank(root), "no-tanh": no_tanh,
            "edited-test": subs.edited_test(root, course),
            "deleted-test": subs.deleted_test(root, course)}


@pytest.fixture(scope="module")
def twin_courses(tmp_path_factory):
    """Two identical courses with the same five submissions."""
    base = make_course(tmp_path_factory.mktemp("plain"), [A])
    for student, nb in _honest_faults(ROOT, base.root).items():
        target = base.root / "submitted" / student / A / f"{A}.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(nb, target)
    ours = Course(Path(shutil.copytree(base.root, tmp_path_factory.mktemp("ours") / "course")))
    return base, ours


@needs_bwrap
def test_scores_identical_to_sequential_nbgrader(twin_courses):
    plain, ours = twin_courses
    proc = subprocess.run(nbgrader_command("autograde", A, "--OverwriteCells.add_missing_cells=True"),
                          cwd=plain.root, env=nbgrader_env(), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    batch = autograde(ours.root, A, jobs=2, progress=False)
    print(format_table(batch))
    students = sorted(p.name for p in (plain.root / "submitted").iterdir())
    assert [s.status for s in batch.students] == ["graded"] * len(students)
    for s in students:
        assert ours.scores(A, s) == plain.scores(A, s), s
    totals = {s: ours.total(A, s)[0] for s in students}
    assert totals == {"blank": 0, "complete": 11, "deleted-test": 10, "edited-test": 9,
                      "no-tanh": 4}
    # the gradebook is sound and nbgrader's own tools still read it
    with sqlite3.connect(ours.root / "gradebook.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    export = ours.nbgrader("export", "--to", str(ours.root.parent / "grades.csv"))
    assert export.returncode == 0, export.stderr[-2000:]
    assert len((ours.root.parent / "grades.csv").read_text().strip().splitlines()) == 1 + len(students)
    summary = json.loads(Path(batch.summary_path).read_text())
    assert summary["graded"] == len(students) and summary["failed"] == []


@needs_bwrap
def test_rerun_skips_what_is_graded_unless_forced(twin_courses):
    _, ours = twin_courses
    if not (ours.root / "autograded" / "complete").exists():
        autograde(ours.root, A, jobs=2, progress=False)
    again = autograde(ours.root, A, jobs=2, progress=False)
    assert {s.status for s in again.students} == {"skipped"}
    assert again.students[0].score is not None          # scores still reported
    time.sleep(0.05)
    resubmitted = ours.root / "submitted" / "blank" / A / f"{A}.ipynb"
    nbformat.write(subs.answered(ROOT), resubmitted)      # the student hands in again
    third = autograde(ours.root, A, jobs=2, progress=False)
    status = {s.student: s.status for s in third.students}
    assert status.pop("blank") == "graded" and set(status.values()) == {"skipped"}
    assert ours.total(A, "blank") == (11, 11)
    forced = autograde(ours.root, A, jobs=2, force=True, students=["complete", "no-tanh"],
                       progress=False)
    assert {s.student: s.status for s in forced.students} == {"complete": "graded", "no-tanh": "graded"}


@needs_bwrap
def test_demo_grades_a_class(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "grader", "demo", "--keep", str(tmp_path / "demo"),
                           "--assignment", A], env=nbgrader_env(), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = {ln.split()[0]: ln for ln in proc.stdout.splitlines() if ln.strip()}
    assert "11/11" in lines["alice-complete"]
    assert "0/11" in lines["carol-blank"]
    assert "0/11" in lines["mallory-cheating"]
    bob = float(lines["bob-partly-wrong"].split()[1].split("/")[0])
    assert 0 < bob < 11
