"""Faults and attacks: every one a real notebook file, graded by the real grader in one batch.

The submissions are built by ``tests/submissions/make_submissions.py`` from the chapter-1
exercise and solution.  Limits are small (6 s per cell, 1 GiB, 48 processes) so that the
loops and bombs cost little; the batch grades 25 submissions, two kernels at a time.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pickle
import shutil
import socket
import sys
import threading
from pathlib import Path

import nbformat
import pytest

from grader.course import make_course
from grader.grading.autograde import autograde, format_table
from grader.grading.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
A = "01_rnn_by_hand"
sys.path.insert(0, str(Path(__file__).parent / "submissions"))
import make_submissions as subs  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None,
                                reason="bubblewrap is not installed (apt-get install bubblewrap)")

LIMITS = """
# small limits for the attack tests
c.Execute.timeout = 6
c.SandboxedExecute.notebook_timeout = 120
c.SandboxedExecute.max_output_bytes = 300_000
c.Sandbox.memory_mb = 1024
c.Sandbox.nproc = 48
"""


def _tree(root: Path) -> dict[str, str]:
    """Hash of every file of the course except nbgrader's outputs and the gradebook."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] == "autograded" or rel.name.startswith("gradebook.db"):
            continue
        out[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return out


def _sandbox_processes(uids: set[str]) -> list[str]:
    """Processes still running under the batch's sandbox uids."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            lines = status.read_text().splitlines()
        except OSError:
            continue
        uid = next((ln.split()[1] for ln in lines if ln.startswith("Uid:")), "")
        if uid in uids:
            found.append(status.parent.name)
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The graded batch; built once per test run, even when pytest-xdist spreads this module's
    tests over several workers (they share the result through a file, under a lock)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent            # shared by the workers of this run
    shared = base / "grading-attacks"
    shared.mkdir(exist_ok=True)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        cached = shared / "result.pickle"
        if cached.exists():
            return pickle.loads(cached.read_bytes())
        result = _grade_attacks(shared)
        cached.write_bytes(pickle.dumps(result))
        return result


def _grade_attacks(workdir: Path) -> dict:
    course = make_course(workdir / "course", [A])
    (course.root / "nbgrader_config.py").write_text(
        (course.root / "nbgrader_config.py").read_text() + LIMITS)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.5)
    accepted: list = []
    stop = threading.Event()

    def listen():
        while not stop.is_set():
            try:
                accepted.append(listener.accept())
            except OSError:
                pass

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    files = subs.write_all(workdir / "subs", course.root, port=listener.getsockname()[1])
    for student, path in files.items():
        target = course.root / "submitted" / student / A / path.name
        target.parent.mkdir(parents=True)
        shutil.copyfile(path, target)
    before = _tree(course.root)
    batch = autograde(course.root, A, jobs=2, progress=False)
    after = _tree(course.root)
    stop.set()
    thread.join(2)
    listener.close()
    print(format_table(batch))
    box = Sandbox()
    return {"course": course, "batch": batch, "before": before, "after": after,
            "accepted": [str(a[1]) for a in accepted], "by": {s.student: s for s in batch.students},
            "uids": {str(box.slot_uid(i)) for i in range(batch.jobs)}}


def _scores(graded, student) -> dict[str, float]:
    return graded["by"][student].scores


def _total(graded, student) -> float:
    return graded["by"][student].score


def _outputs(graded, student) -> list[nbformat.NotebookNode]:
    nb = graded["course"].root / "autograded" / student / A / f"{A}.ipynb"
    return nbformat.read(nb, as_version=4).cells


def _text(cells) -> str:
    parts = []
    for cell in cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", "") or f"{out.get('ename', '')}: {out.get('evalue', '')}")
    return "\n".join(parts)


def _flags(graded, student) -> set[str]:
    return {v.kind for v in graded["by"][student].violations if v.cheat}


def _zeroed(graded, student) -> set[str]:
    return {q for q, v in _scores(graded, student).items() if v == 0}


# --- the batch as a whole ------------------------------------------------------------------

def test_nothing_but_nbgrader_outputs_changed(graded):
    assert graded["after"] == graded["before"]
    mine = graded["course"].root / "autograded" / "write-course" / A
    assert sorted(p.name for p in mine.iterdir()) == [f"{A}.ipynb"]


def test_one_bad_submission_never_stops_the_batch(graded):
    statuses = {s.student: s.status for s in graded["batch"].students}
    assert len(statuses) == len(subs.NOTEBOOK_BUILDERS) + 5
    failed = {s for s, st in statuses.items() if st == "failed"}
    assert failed == {"malformed-json", "not-a-notebook", "binary-file", "wrong-name",
                      "wrong-assignment"}
    summary = json.loads(Path(graded["batch"].summary_path).read_text())
    assert {f["student"] for f in summary["failed"]} == failed


def test_no_sandboxed_process_outlives_the_batch(graded):
    assert _sandbox_processes(graded["uids"]) == []


def test_clear_reasons_for_files_that_cannot_be_graded(graded):
    reason = {s: graded["by"][s].reason for s in ("malformed-json", "not-a-notebook",
                                                   "binary-file", "wrong-name", "wrong-assignment")}
    assert "not valid JSON" in reason["malformed-json"]
    assert "not a Jupyter notebook" in reason["not-a-notebook"]
    assert "not a notebook" in reason["binary-file"]
    assert "expected 01_rnn_by_hand.ipynb" in reason["wrong-name"]
    assert "another assignment" in reason["wrong-assignment"]


# --- honest work and faults ---------------------------------------------------------------

def test_complete_and_blank(graded):
    assert _total(graded, "complete") == 11 and not graded["by"]["complete"].violations
    assert _total(graded, "blank") == 0 and not graded["by"]["blank"].flagged


def test_edited_and_deleted_test_cells_are_restored(graded):
    assert _zeroed(graded, "edited-test") == {"q1-tests"}
    assert _zeroed(graded, "deleted-test") == {"q2-tests"}


def test_split_and_duplicated_cells(graded):
    assert _total(graded, "split-duplicated") == 11
    assert not graded["by"]["split-duplicated"].violations


def test_infinite_loops_time_out(graded):
    assert _zeroed(graded, "infinite-loop") == {"q2-tests"}
    assert any("timed out" in i for i in graded["by"]["infinite-loop"].incidents)
    # a loop that ignores the interrupt: the kernel is killed, restarted, earlier cells replayed
    assert _total(graded, "uninterruptible") == 11
    assert any("restarted" in i for i in graded["by"]["uninterruptible"].incidents)


def test_memory_bomb(graded):
    assert _zeroed(graded, "memory-bomb") == {"q5-tests"}
    assert "MemoryError" in _text(_outputs(graded, "memory-bomb"))


def test_fork_bomb_is_contained(graded):
    assert _total(graded, "fork-bomb") == 11
    assert "fork refused after" in _text(_outputs(graded, "fork-bomb"))


def test_crash_halfway_later_questions_still_graded(graded):
    scores = _scores(graded, "crash")
    assert scores["q2-tests"] == 0                      # crashed inside its test
    assert all(scores[q] > 0 for q in ("q1-tests", "q3-tests", "q4-tests", "q5-tests", "q6-tests"))
    assert sum("kernel died" in i for i in graded["by"]["crash"].incidents) == 2


def test_megabytes_of_output(graded):
    assert _total(graded, "big-output") == 11
    nb = graded["course"].root / "autograded" / "big-output" / A / f"{A}.ipynb"
    assert nb.stat().st_size < 1_000_000


def test_fake_partial_credit_earns_nothing(graded):
    assert _zeroed(graded, "fake-partial-credit") == {"q1-tests"}


# --- attacks ------------------------------------------------------------------------------

def test_reading_solutions_or_reference(graded):
    assert {"course", "reference"} <= _flags(graded, "read-solutions")
    assert _zeroed(graded, "read-solutions") == {"q1-tests", "q3-tests"}
    assert "READ" not in _text(_outputs(graded, "read-solutions"))


def test_writing_to_the_gradebook_or_another_student(graded):
    assert "course" in _flags(graded, "write-course")
    assert "WROTE" not in _text(_outputs(graded, "write-course"))
    assert _total(graded, "complete") == 11     # the other student's grade is intact


def test_network(graded):
    assert graded["accepted"] == []
    assert "CONNECTED" not in _text(_outputs(graded, "network"))
    kinds = {v.kind for v in graded["by"]["network"].violations}
    assert kinds == {"network"} and _total(graded, "network") == 11   # a notice, not a cheat


def test_replacing_test_helpers(graded):
    assert "tamper" in _flags(graded, "patch-helpers")
    assert _total(graded, "patch-helpers") == 0


def test_replacing_numpy_functions(graded):
    assert "tamper" in _flags(graded, "patch-numpy")
    details = " ".join(v.detail for v in graded["by"]["patch-numpy"].violations)
    assert "numpy.tanh" in details and "numpy.isclose" in details
    zeroed = _zeroed(graded, "patch-numpy")
    assert {"q2-tests", "q3-tests"} <= zeroed and "q1-tests" not in zeroed


def test_importing_the_reference(graded):
    assert "reference" in _flags(graded, "import-reference")
    lost = {v.penalised for v in graded["by"]["import-reference"].violations if v.kind == "reference"}
    assert {"q3-tests", "q4-tests", "q6-tests"} <= lost      # import, sys.modules, importlib
    assert _zeroed(graded, "import-reference") >= {"q3-tests", "q4-tests", "q6-tests"}
    assert _scores(graded, "import-reference")["q1-tests"] == 2


def test_tampering_with_the_kernel(graded):
    assert "tamper" in _flags(graded, "tamper-kernel")
    assert _total(graded, "tamper-kernel") == 0


def test_attacking_the_guard_fails_closed(graded):
    assert "guard" in _flags(graded, "attack-guard")
    assert _total(graded, "attack-guard") == 0


def test_flags_are_in_the_report(graded):
    summary = json.loads(Path(graded["batch"].summary_path).read_text())
    assert set(summary["flagged"]) == {"read-solutions", "write-course", "patch-helpers",
                                       "patch-numpy", "import-reference", "tamper-kernel",
                                       "attack-guard"}
    table = format_table(graded["batch"])
    assert "FLAGGED" in table and "notice: network" in table
