"""The container sandbox mode (grader/grading/container.py), where bubblewrap cannot run.

* the scripted class of chapter 1 (``tests/scripted_class.py``) graded by the grader installed
  as a container installs it, in a namespace without CAP_SYS_ADMIN (bubblewrap then cannot
  run, as in Docker): ``autograde`` says it uses the container mode and what that does not
  guarantee, and every student gets exactly what the bubblewrap batch gave them;
* the start-up check refuses to grade when a kernel's uid could read the grader (this
  checkout, readable by every user) or the course;
* nothing of a uid survives it: processes, files in world-writable folders, System V IPC,
  keys; and with the seccomp filter a kernel cannot create keys, IPC objects or sockets other
  than Unix ones.
The round-2 attacks run in this mode too: ``tests/test_grading_attacks.py`` (``[container]``).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import container_env
from grader.grading import container, container_uids
from grader.grading.container_uids import clean_uid, uid_block

ROOT = Path(__file__).resolve().parent.parent
A = "01_rnn_by_hand"
pytestmark = pytest.mark.skipif(bool(container_env.available()),
                                reason=container_env.available() or "n/a")


def _autograde(python: str, course: Path, *args: str, autograder: Path | None = None,
               timeout: float = 1800) -> tuple[subprocess.CompletedProcess, int]:
    """``python -I -m grader autograde A --course course ...`` as in a container; the
    process and its pid (its uids are ``uid_block(pid)``)."""
    proc = subprocess.Popen(container_env.container_command(
        [python, "-I", "-m", "grader", "autograde", A, "--course", str(course), "--no-progress",
         *args], autograder=autograder), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, cwd=course)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), proc.pid


def test_scripted_class_scores_as_with_bubblewrap(small_class, installed_autograder, tmp_path):
    from scripted_class import _config

    pristine = Path(small_class.courses["local"]).parent / "pristine"
    course = Path(shutil.copytree(pristine, tmp_path / "course", symlinks=True))
    summary = tmp_path / "summary.json"
    size = len(small_class.rosters[A])
    extra = [f"--config={c}" for c in _config(A, size)]
    proc, pid = _autograde(installed_autograder["python"], course, "--jobs", "2",
                           "--summary", str(summary), *extra,
                           autograder=Path(installed_autograder["root"]))
    print(proc.stdout, proc.stderr[-4000:])
    assert summary.exists(), proc.stderr[-3000:]
    # auto mode: bubblewrap cannot run without CAP_SYS_ADMIN; the command says what it uses
    assert "bubblewrap cannot run here" in proc.stderr
    assert "grading in the container mode" in proc.stderr and "Not guaranteed" in proc.stderr
    ours = {s["student"]: s for s in json.loads(summary.read_text())["students"]}
    theirs = {s.student: s for s in small_class.batches["local"][A].students}
    assert set(ours) == set(theirs) and len(ours) == size
    for student, ref in theirs.items():
        got = ours[student]
        assert (got["status"], got["score"], got["max_score"], got["scores"]) == \
            (ref.status, ref.score, ref.max_score, ref.scores), student
        assert (got["reason"], got["notes"]) == (ref.reason, ref.notes), student
        assert (got["seconds_late"], got["late_penalty"]) == (ref.seconds_late, ref.late_penalty)
    assert not [u for u in uid_block(pid) if container_uids._processes_of(u)]


def test_refuses_when_a_kernel_could_read_the_grader(tmp_path):
    """This checkout's grader/ is readable by every user: the start-up probe, run as a
    kernel's uid, reads grader/reference and the command refuses to grade anyone."""
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy2(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    proc, _ = _autograde(sys.executable, course, "--sandbox", "container", timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "refusing to run student code" in proc.stderr
    assert str(ROOT / "grader" / "reference") in proc.stderr
    assert "chmod" in proc.stderr


def test_refuses_a_course_that_kernels_could_read(installed_autograder):
    course = container_env.world_readable_tmp("rnns-open-course-")
    try:
        shutil.copy2(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
        os.chmod(course / "nbgrader_config.py", 0o644)
        proc, _ = _autograde(installed_autograder["python"], course, "--sandbox", "container",
                             autograder=Path(installed_autograder["root"]), timeout=300)
        assert proc.returncode == 2, proc.stderr
        assert f"could read {course}" in proc.stderr
    finally:
        shutil.rmtree(course)


SYSTEM_PYTHON = "/usr/bin/python3"   # readable by every uid, unlike this machine's pyenv


@pytest.mark.skipif(not os.access(SYSTEM_PYTHON, os.X_OK), reason="no system Python")
def test_nothing_of_a_uid_survives_it():
    """A process of a fresh uid (no seccomp filter, to be able to) leaves a file in /tmp and
    in /dev/shm, a System V shared memory segment, a key in its user keyring and a child that
    loops forever; clean_uid removes all of it.  With the filter, the same calls are refused."""
    uid = container_uids.UIDS.take(container.ContainerSandbox().uid_first)
    base = container_env.world_readable_tmp("rnns-uid-")
    script, folder = base / "leave.py", base / "k"
    script.write_text(textwrap.dedent(f"""
        import ctypes, json, os, socket, sys, time
        libc = ctypes.CDLL(None, use_errno=True)
        if sys.argv[1] == "keys":   # how many keys the uid's user keyring holds
            ring = libc.syscall(250, 0, -4, 0)
            print(json.dumps({{"keys": libc.syscall(250, 11, ring, None, 0) // 4}}))
            sys.exit()
        out = {{}}
        open("/tmp/rnns-left-{uid}", "w").write("x")
        try:
            open("/dev/shm/rnns-left-{uid}", "w").write("x")
        except OSError as exc:
            out["shm_file"] = exc.strerror
        out["shmget"] = libc.shmget(0, 4096, 0o1666)
        out["add_key"] = libc.syscall(248, b"user", b"rnns", b"secret", 6, -4)
        try:
            socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
            out["inet"] = "open"
        except OSError as exc:
            out["inet"] = exc.strerror
        print(json.dumps(out), flush=True)
        if sys.argv[1] == "stay" and os.fork() == 0:
            os.setsid()
            null = os.open("/dev/null", os.O_RDWR)
            os.dup2(null, 1)
            os.dup2(null, 2)
            while True:
                time.sleep(1)
    """))
    os.chmod(script, 0o644)
    (folder / "work").mkdir(parents=True)
    os.chown(folder / "work", uid, uid)

    def run(seccomp: bool, stay: str) -> dict:
        spec = {"uid": uid, "gid": uid, "cwd": str(folder / "work"), "seccomp": seccomp,
                "limits": {"nproc": 16}}
        proc = subprocess.run([sys.executable, "-I", "-S", container_uids.LAUNCHER, "run",
                               json.dumps(spec), "--", SYSTEM_PYTHON, "-I", str(script), stay],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout.strip().splitlines()[-1])

    try:
        left = run(False, "stay")
        assert left["shmget"] >= 0 and left["add_key"] > 0 and left["inet"] == "open"
        assert container_uids._processes_of(uid)
        assert Path(f"/tmp/rnns-left-{uid}").exists()
        found = clean_uid(uid, folder)
        assert found["processes"] >= 1 and found["files"] >= 1 and found["ipc"] >= 1
        assert not container_uids._processes_of(uid)
        assert not Path(f"/tmp/rnns-left-{uid}").exists() and not folder.exists()
        assert not Path(f"/dev/shm/rnns-left-{uid}").exists()
        assert f" {uid} " not in Path("/proc/sysvipc/shm").read_text()
        (folder / "work").mkdir(parents=True)
        os.chown(folder / "work", uid, uid)
        assert run(False, "keys") == {"keys": 0}       # the key left behind is gone
        clean_uid(uid, folder)

        (folder / "work").mkdir(parents=True)
        os.chown(folder / "work", uid, uid)
        if os.uname().machine == "x86_64":
            refused = run(True, "go")
            assert refused["shmget"] == -1 and refused["add_key"] == -1
            assert refused["inet"] == "Permission denied"
    finally:
        clean_uid(uid, folder)
        shutil.rmtree(base, ignore_errors=True)


def test_every_kernel_gets_a_uid_of_its_own():
    allocator = container_uids.UidAllocator()
    first = container.ContainerSandbox().uid_first
    taken = [allocator.take(first) for _ in range(50)]
    assert len(set(taken)) == 50
    assert set(taken) <= set(uid_block(os.getpid(), first))
    assert min(taken) > 1_000_000_000   # far above any user of the machine


@pytest.mark.skipif(not os.access(SYSTEM_PYTHON, os.X_OK), reason="no system Python")
def test_the_disk_watch_stops_writes_near_the_quota():
    """A process of a fresh uid writes 1 MiB every 10 ms (100 MiB/s) into four files of its
    folder while the watchdog runs with a 64 MiB quota (files up to 64 MiB): every file stops
    with EFBIG (no kill), the total stays under twice the quota (the overshoot is what is
    written between two checks), and deleting a file gives the room back."""
    uid = container_uids.UIDS.take(container.ContainerSandbox().uid_first)
    base = container_env.world_readable_tmp("rnns-disk-")
    folder = base / "k"
    folder.mkdir()
    os.chown(folder, uid, uid)
    script = base / "fill.py"
    script.write_text(textwrap.dedent("""
        import errno, json, os, sys, time
        written = []
        for i in range(4):
            n = 0
            try:
                with open(f"fill{i}", "wb", buffering=0) as f:
                    for _ in range(400):
                        f.write(b"0" * 2**20)
                        n += 1
                        time.sleep(0.01)
            except OSError as exc:
                written.append([n, errno.errorcode[exc.errno]])
        os.unlink("fill0")
        time.sleep(1.0)                      # the watchdog sees the room given back
        with open("after", "wb") as f:
            f.write(b"0" * 2**20)
        print(json.dumps(written))
    """))
    os.chmod(script, 0o644)
    quota = 64 * 2**20
    watch = container_uids.DiskWatch(uid, folder, quota, quota, 0.1, 1000, [])
    watch.start()
    try:
        spec = {"uid": uid, "gid": uid, "cwd": str(folder), "limits": {"fsize": quota}}
        proc = subprocess.run([sys.executable, "-I", "-S", container_uids.LAUNCHER, "run",
                               json.dumps(spec), "--", SYSTEM_PYTHON, "-I", str(script)],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        written = json.loads(proc.stdout.strip().splitlines()[-1])
        assert [code for _, code in written] == ["EFBIG"] * 4
        total = sum(n for n, _ in written)
        print(f"written {total} MiB with a 64 MiB quota; peak {watch.peak / 2**20:.0f} MiB")
        assert total < 2 * 64
        assert not watch.killed
        assert (folder / "after").stat().st_size == 2**20
    finally:
        watch.stop()
        clean_uid(uid, folder)
        shutil.rmtree(base, ignore_errors=True)
