"""Faults and attacks: every one a real submission, graded by the real grader in one batch.

The notebooks are built by ``tests/submissions/make_submissions.py`` from the chapter-1
exercise and solution; the intake attacks (symbolic links to the solutions, the gradebook and
another student's folder, a FIFO, a notebook nested 200,000 levels deep) are laid out in the
course's ``submitted/`` folder here.  Limits are small (6 s per cell, 1 GiB, 48 processes,
64 MiB of disk) so that the loops and bombs cost little; two kernels at a time.

What is shown: no attack earns a point it did not solve, reads or writes a byte of the course,
or disturbs another student's grade, and every broken submission is refused with a reason
while the batch goes on.  Verdicts are made in the grader's process
(:mod:`grader.grading.verdicts`), so tampering inside the kernel changes nothing.

Every test runs twice: with bubblewrap (this checkout's grader, in this process) and in the
container mode (:mod:`grader.grading.container`: the grader installed as a container
installs it, run by ``python -m grader autograde --sandbox container`` in a private mount
namespace without CAP_SYS_ADMIN, see ``tests/container_env.py``), on the same submissions.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest
from grading_helpers import build_once

import container_env
from grader.course import make_course
from grader.grading.autograde import autograde, format_table
from grader.grading.container_uids import uid_block
from grader.grading.results import BatchResult, StudentResult
from grader.grading.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
A = "01_rnn_by_hand"
sys.path.insert(0, str(Path(__file__).parent / "submissions"))
import make_submissions as subs  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None,
                                reason="bubblewrap is not installed (apt-get install bubblewrap)")
MODES = ["bwrap", pytest.param("container", marks=pytest.mark.skipif(
    bool(container_env.available()), reason=container_env.available() or "n/a"))]

LIMITS = """
# small limits for the attack tests
c.Execute.timeout = 12
c.TrustedExecute.notebook_timeout = 150
c.TrustedExecute.max_output_bytes = 300_000
c.Sandbox.memory_mb = 1024
c.Sandbox.nproc = 48
c.Sandbox.disk_mb = 64
"""
INTAKE_ATTACKS = {"symlink-solution", "symlink-gradebook", "symlink-student-dir", "fifo",
                  "deep-json", "symlink-timestamp"}
MALFORMED = {"malformed-json", "not-a-notebook", "binary-file", "wrong-name", "wrong-assignment"}


def _tree(root: Path) -> dict[str, str]:
    """Hash of every file of the course except nbgrader's outputs and the gradebook."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if (rel.parts[0] in ("autograded", ".rnns-grading") or rel.name.startswith("gradebook.db")
                or rel.name == ".grader_secret"):    # the grader's own: seeds the hidden inputs
            continue
        if path.is_symlink():
            out[str(rel)] = f"link -> {os.readlink(path)}"
        elif path.is_file():
            out[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            out[str(rel)] = "not a file"
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


@pytest.fixture(scope="module", params=MODES)
def graded(request, tmp_path_factory):
    """The graded batch of a sandbox mode; built once per test run, even when pytest-xdist
    spreads this module's tests over several workers (they share it through a file)."""
    if request.param == "container":
        installed = request.getfixturevalue("installed_autograder")
        return build_once(tmp_path_factory, "grading-attacks-container",
                          functools.partial(_grade_attacks, installed=installed))
    return build_once(tmp_path_factory, "grading-attacks", _grade_attacks)


def _lay_out_intake_attacks(course: Path, complete: Path) -> None:
    """Submissions that are not plain files, or plain files built to break a JSON reader."""
    sub = course / "submitted"

    def folder(student: str) -> Path:
        path = sub / student / A
        path.mkdir(parents=True)
        return path

    (folder("symlink-solution") / f"{A}.ipynb").symlink_to(course / "solutions" / A / f"{A}.ipynb")
    gb = folder("symlink-gradebook")
    shutil.copyfile(complete, gb / f"{A}.ipynb")
    (gb / "notes.db").symlink_to(course / "gradebook.db")
    (sub / "symlink-student-dir").symlink_to(sub / "complete")
    os.mkfifo(folder("fifo") / f"{A}.ipynb")
    (folder("deep-json") / f"{A}.ipynb").write_text("[" * 200_000 + "]" * 200_000)
    ts = folder("symlink-timestamp")
    shutil.copyfile(complete, ts / f"{A}.ipynb")
    (ts / "timestamp.txt").symlink_to(course / "nbgrader_config.py")


def _grade_in_container(course: Path, installed: dict) -> tuple[BatchResult, set[str], str]:
    """``python -m grader autograde --sandbox container`` of the installed grader, as in a
    container; the batch read back from its summary, the uids it could have used."""
    summary = course / "autograded" / "container-summary.json"
    proc = subprocess.Popen(
        container_env.container_command(
            [installed["python"], "-I", "-m", "grader", "autograde", A, "--course", str(course),
             "--jobs", "2", "--sandbox", "container", "--no-progress", "--summary", str(summary)],
            autograder=Path(installed["root"])),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=course)
    out, err = proc.communicate(timeout=1800)
    print(out, err[-5000:])
    assert summary.exists(), f"no summary ({proc.returncode}):\n{err[-3000:]}"
    data = json.loads(summary.read_text())
    batch = BatchResult(data["assignment"], data["course"], data["sandboxed"], data["jobs"],
                        data["seconds"], [StudentResult(**s) for s in data["students"]],
                        data["canary_seconds"], str(summary))
    return batch, {str(u) for u in uid_block(proc.pid)}, err


def _grade_attacks(workdir: Path, installed: dict | None = None) -> dict:
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
    _lay_out_intake_attacks(course.root, files["complete"])
    before = _tree(course.root)
    if installed is None:
        batch = autograde(course.root, A, jobs=2, progress=False)
        box = Sandbox()
        uids, stderr = {str(box.slot_uid(i)) for i in range(2 * batch.jobs)}, ""  # two per slot
    else:
        batch, uids, stderr = _grade_in_container(course.root, installed)
    after = _tree(course.root)
    stop.set()
    thread.join(2)
    listener.close()
    print(format_table(batch))
    return {"course": course, "batch": batch, "before": before, "after": after,
            "accepted": [str(a[1]) for a in accepted], "by": {s.student: s for s in batch.students},
            "uids": uids, "stderr": stderr, "mode": "container" if installed else "bwrap"}


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


def _zeroed(graded, student) -> set[str]:
    return {q for q, v in _scores(graded, student).items() if v == 0}


# --- the batch as a whole ------------------------------------------------------------------

def test_nothing_but_nbgrader_outputs_changed(graded):
    assert graded["after"] == graded["before"]
    mine = graded["course"].root / "autograded" / "write-course" / A
    assert sorted(p.name for p in mine.iterdir()) == [".grader-fingerprint.json",
                                                      ".grader-verdicts.json", f"{A}.ipynb"]


def test_one_bad_submission_never_stops_the_batch(graded):
    statuses = {s.student: s.status for s in graded["batch"].students}
    assert len(statuses) == len(subs.NOTEBOOK_BUILDERS) + len(MALFORMED) + len(INTAKE_ATTACKS)
    failed = {s for s, st in statuses.items() if st == "failed"}
    assert failed == MALFORMED | INTAKE_ATTACKS
    summary = json.loads(Path(graded["batch"].summary_path).read_text())
    assert {f["student"] for f in summary["failed"]} == failed


def test_no_sandboxed_process_outlives_the_batch(graded):
    assert _sandbox_processes(graded["uids"]) == []


def test_clear_reasons_for_files_that_cannot_be_graded(graded):
    reason = {s: graded["by"][s].reason for s in MALFORMED}
    assert "not valid JSON" in reason["malformed-json"]
    assert "not a Jupyter notebook" in reason["not-a-notebook"]
    assert "not a notebook" in reason["binary-file"]
    assert "expected 01_rnn_by_hand.ipynb" in reason["wrong-name"]
    assert "another assignment" in reason["wrong-assignment"]


def test_intake_follows_nothing(graded):
    reason = {s: graded["by"][s].reason for s in INTAKE_ATTACKS}
    assert "a symbolic link" in reason["symlink-solution"] and A in reason["symlink-solution"]
    assert "notes.db is a symbolic link" in reason["symlink-gradebook"]
    assert "symlink-student-dir/ is a symbolic link" in reason["symlink-student-dir"]
    assert "timestamp.txt is a symbolic link" in reason["symlink-timestamp"]
    assert "FIFO" in reason["fifo"]
    assert "nests JSON" in reason["deep-json"]
    root = graded["course"].root
    for student in INTAKE_ATTACKS:        # nothing was copied, graded or written for them
        assert not (root / "autograded" / student).exists()
        assert graded["by"][student].score is None


# --- honest work and faults ---------------------------------------------------------------

def test_complete_and_blank(graded):
    assert _total(graded, "complete") == 11
    assert _total(graded, "blank") == 0


def test_any_style_any_helper_names(graded):
    # einsum and loops, and helpers named like the grader's own (_step, ref, rng, hidden_rng)
    assert _total(graded, "collisions") == 11


def test_edited_and_deleted_test_cells_are_restored(graded):
    assert _zeroed(graded, "edited-test") == {"q1-tests"}
    assert _zeroed(graded, "deleted-test") == {"q2-tests"}


def test_split_and_duplicated_cells(graded):
    assert _total(graded, "split-duplicated") == 11


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


def test_disk_quota_shared_by_work_folder_and_tmp(graded):
    assert _total(graded, "fill-disk") == 11
    text = _text(_outputs(graded, "fill-disk"))
    assert text.count("stopped") == 4          # each of the four files hit the one quota


def test_crash_halfway_later_questions_still_graded(graded):
    scores = _scores(graded, "crash")
    assert scores["q2-tests"] == 0                      # crashed inside its test
    assert all(scores[q] > 0 for q in ("q1-tests", "q3-tests", "q4-tests", "q5-tests", "q6-tests"))
    assert sum("kernel died" in i for i in graded["by"]["crash"].incidents) >= 1


def test_megabytes_of_output(graded):
    assert _total(graded, "big-output") == 11
    nb = graded["course"].root / "autograded" / "big-output" / A / f"{A}.ipynb"
    assert nb.stat().st_size < 1_000_000


def test_fake_partial_credit_earns_nothing(graded):
    assert _zeroed(graded, "fake-partial-credit") == {"q1-tests"}


# --- attacks ------------------------------------------------------------------------------

def test_reading_solutions_or_reference(graded):
    text = _text(_outputs(graded, "read-solutions"))
    assert "READ" not in text
    assert _scores(graded, "read-solutions")["q1-tests"] == 2     # its own answer is right
    assert _zeroed(graded, "read-solutions") >= {"q3-tests"}      # no reference to copy


def test_writing_to_the_gradebook_or_another_student(graded):
    assert "WROTE" not in _text(_outputs(graded, "write-course"))
    assert _total(graded, "complete") == 11     # the other student's grade is intact


def test_network(graded):
    assert graded["accepted"] == []
    assert "CONNECTED" not in _text(_outputs(graded, "network"))
    assert _total(graded, "network") == 11


def test_replacing_test_helpers(graded):
    assert _total(graded, "patch-helpers") == 0


def test_swapping_code_objects_of_helpers_and_numpy(graded):
    assert _total(graded, "swap-code") == 0


def test_replacing_numpy_functions(graded):
    zeroed = _zeroed(graded, "patch-numpy")
    assert "q3-tests" in zeroed                     # no tanh: np.tanh patched in the kernel only
    assert not {"q1-tests", "q2-tests"} & zeroed    # right answers stay right


def test_importing_the_reference(graded):
    assert _zeroed(graded, "import-reference") >= {"q3-tests", "q4-tests", "q6-tests"}
    assert _scores(graded, "import-reference")["q1-tests"] == 2
    assert "No module named 'grader.reference'" in _text(_outputs(graded, "import-reference"))


def test_tampering_with_the_kernel(graded):
    assert _total(graded, "tamper-kernel") == 0


def test_forged_replies_earn_nothing(graded):
    assert _total(graded, "forge-replies") == 0
    assert graded["by"]["forge-replies"].status == "graded"


def test_changing_arguments_in_place_cannot_steer_the_expected_value(graded):
    """Arguments reach the student's code as copies: zeroing them in place changes nothing
    the hidden test computes afterwards (only arguments a test marks ``modified`` come back)."""
    assert _zeroed(graded, "steer-inputs") == {"q2-tests"}
    assert _total(graded, "steer-inputs") == _total(graded, "complete") - 1


def test_control_flow_exceptions_do_not_end_a_test_early(graded):
    assert _zeroed(graded, "control-flow") == {"q1-tests", "q2-tests"}
