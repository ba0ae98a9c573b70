"""The uids of the container mode's kernels (:mod:`grader.grading.container`): a fresh one for
every kernel, its disk use watched, nothing of it left afterwards.

* :class:`UidAllocator` hands out the uids of this grader process's block
  (:func:`uid_block`), in order, never twice, skipping any uid that still has a process;
* :func:`clean_uid` (run before a kernel starts and after it stops) kills every process of the
  uid (the launcher's ``kill``: ``kill(-1)`` as the uid), clears its user keyring, removes its
  folder, its files in the machine's world-writable folders and its System V IPC objects;
* :class:`DiskWatch` keeps a kernel's files within ``Sandbox.disk_mb`` (the module docstring
  of :mod:`grader.grading.container` says how, and what it does not guarantee).

The privileged steps run in :mod:`grader.grading.container_launch` as the uid itself: root
without CAP_SYS_RESOURCE (Docker's default) cannot change another uid's limits.
"""
from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

LAUNCHER = str(Path(__file__).resolve().parent / "container_launch.py")
# where any uid may write on a usual Linux system (and their subfolders, two levels down)
WORLD_WRITABLE_CANDIDATES = ("/tmp", "/var/tmp", "/dev/shm", "/dev/mqueue", "/run/lock",
                             "/var/lock", "/var/crash", "/run/shm", "/var/mail")


# --------------------------------------------------------------------------------------
# uids
# --------------------------------------------------------------------------------------

BLOCK = 10_000          # uids per grader process
BLOCKS = 50_000


def uid_block(pid: int, first: int = 1_600_000_000) -> range:
    """The uids a grader process with this pid hands out, in order."""
    base = first + (pid % BLOCKS) * BLOCK
    return range(base, base + BLOCK)


def _processes_of(uid: int) -> list[int]:
    """Live (not zombie) processes whose real or effective uid is ``uid``."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status", "rb") as f:
                text = f.read().decode(errors="replace")
        except OSError:
            continue
        uids = state = ""
        for line in text.splitlines():
            if line.startswith("Uid:"):
                uids = line
            elif line.startswith("State:"):
                state = line
        fields = uids.split()[1:3]
        if str(uid) in fields and "zombie" not in state:
            found.append(int(entry.name))
    return found


class UidAllocator:
    """A fresh uid for every kernel: this process's block, in order, never twice."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 0

    def take(self, first: int) -> int:
        block = uid_block(os.getpid(), first)
        with self._lock:
            for _ in range(BLOCK):
                uid = block[self._next % BLOCK]
                self._next += 1
                if not _processes_of(uid):
                    return uid
        raise RuntimeError("no free uid left for a kernel")


UIDS = UidAllocator()


def _launcher(command: str, spec: dict, timeout: float = 30) -> None:
    proc = subprocess.run([sys.executable, "-I", "-S", LAUNCHER, command, json.dumps(spec)],
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"container launcher {command} failed: {proc.stderr.strip()[-500:]}")


# --------------------------------------------------------------------------------------
# Cleaning up after a uid
# --------------------------------------------------------------------------------------

_IPC_RMID = 0
_libc = ctypes.CDLL(None, use_errno=True)


def _remove_owned(path: Path, uid: int, depth: int = 0) -> int:
    """Remove what ``uid`` owns under the world-writable folder ``path``; count removals."""
    removed = 0
    try:
        entries = list(os.scandir(path))
    except OSError:
        return 0
    for entry in entries:
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if info.st_uid == uid:
            with contextlib.suppress(OSError):
                if stat.S_ISDIR(info.st_mode):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
                removed += 1
        elif stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_IWOTH and depth < 2:
            removed += _remove_owned(Path(entry.path), uid, depth + 1)
    return removed


def _remove_ipc(uid: int) -> int:
    """Remove the System V shared memory, semaphores and message queues ``uid`` owns."""
    removed = 0
    for kind, call in (("shm", "shmctl"), ("sem", "semctl"), ("msg", "msgctl")):
        try:
            lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
        except OSError:
            continue
        if not lines:
            continue
        header = lines[0].split()
        for line in lines[1:]:
            row = dict(zip(header, line.split()))
            if str(uid) not in (row.get("uid"), row.get("cuid")):
                continue
            ident = int(row.get("shmid") or row.get("semid") or row.get("msqid"))
            fn = getattr(_libc, call)
            result = fn(ident, 0, _IPC_RMID, None) if call == "semctl" else fn(ident, _IPC_RMID, None)
            removed += result == 0
    return removed


def world_writable(extra: tuple[str, ...] = ()) -> list[str]:
    """The usual world-writable folders of this machine that exist (and their world-writable
    subfolders, two levels down)."""
    found = []

    def visit(path: str, depth: int) -> None:
        try:
            info = os.lstat(path)
        except OSError:
            return
        if not stat.S_ISDIR(info.st_mode) or not info.st_mode & stat.S_IWOTH:
            return
        found.append(path)
        if depth < 2:
            with contextlib.suppress(OSError):
                for entry in os.scandir(path):
                    if entry.is_dir(follow_symlinks=False):
                        visit(entry.path, depth + 1)

    for top in WORLD_WRITABLE_CANDIDATES + tuple(extra):
        visit(top, 0)
    return found


def clean_uid(uid: int, folder: Path | None = None) -> dict:
    """Leave nothing of ``uid``: processes, user keyring, its folder, its files in the
    world-writable folders, its System V IPC objects.  Returns what was found; raises
    ``RuntimeError`` when a process of the uid cannot be killed."""
    done: dict[str, Any] = {"processes": 0, "files": 0, "ipc": 0}
    for _ in range(20):
        alive = _processes_of(uid)
        if not alive:
            break
        done["processes"] += len(alive)
        _launcher("kill", {"uid": uid, "gid": uid})
        time.sleep(0.02)
    else:
        raise RuntimeError(f"processes of uid {uid} survive SIGKILL: {_processes_of(uid)}")
    if done["processes"] == 0:   # the keyring goes even when the kernel exited by itself
        _launcher("kill", {"uid": uid, "gid": uid})
    if folder is not None and folder.exists():
        shutil.rmtree(folder, ignore_errors=True)
    for top in world_writable():
        done["files"] += _remove_owned(Path(top), uid)
    done["ipc"] = _remove_ipc(uid)
    return done


# --------------------------------------------------------------------------------------
# The disk watchdog
# --------------------------------------------------------------------------------------

def _usage(path: str, uid: int | None, budget: int) -> tuple[int, int]:
    """(bytes allocated, entries) of what ``uid`` owns under ``path`` (all of it if ``uid``
    is None); stops counting entries at ``budget``."""
    total = entries = 0
    pending = [path]
    while pending and entries <= budget:
        current = pending.pop()
        try:
            it = os.scandir(current)
        except OSError:
            continue
        with it:
            for entry in it:
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                mine = uid is None or info.st_uid == uid
                if mine:
                    total += info.st_blocks * 512
                    entries += 1
                if stat.S_ISDIR(info.st_mode) and (mine or info.st_mode & stat.S_IWOTH):
                    pending.append(entry.path)
    return total, entries


class DiskWatch(threading.Thread):
    """Keeps one kernel's files within the quota: every ``interval`` it adds up the blocks the
    kernel's uid owns (its folder, and ``shared`` folders) and sets the soft ``RLIMIT_FSIZE`` of
    the uid's processes to what is left of the quota (at most ``file_limit``), so that no file
    can grow past it and, once the quota is used, every write that grows a file fails
    (``EFBIG``, as on a full disk); deleting files gives the room back.  What is written between
    two checks can overshoot; past twice the quota plus one file, or with more than
    ``max_files`` entries, the uid's processes are killed."""

    def __init__(self, uid: int, folder: Path, quota: int, file_limit: int, interval: float,
                 max_files: int, shared: list[str]) -> None:
        super().__init__(name=f"disk-watch-{uid}", daemon=True)
        self.uid, self.folder, self.quota, self.file_limit = uid, folder, quota, file_limit
        self.interval, self.max_files, self.shared = interval, max_files, shared
        self.kill_at = 2 * quota + file_limit
        self.stop_event = threading.Event()
        self.limit = file_limit            # the soft RLIMIT_FSIZE the uid's processes have now
        self.killed = ""
        self.peak = 0

    def measure(self) -> tuple[int, int]:
        used, entries = _usage(str(self.folder), None, self.max_files)
        for top in self.shared:
            more, count = _usage(top, self.uid, self.max_files)
            used, entries = used + more, entries + count
        return used, entries

    def check(self) -> None:
        used, entries = self.measure()
        self.peak = max(self.peak, used)
        if used > self.kill_at or entries > self.max_files:
            self.killed = (f"disk quota exceeded ({used / 2**20:.0f} MiB, {entries} files; "
                           f"quota {self.quota / 2**20:.0f} MiB)")
            _launcher("kill", {"uid": self.uid, "gid": self.uid})
            return
        left = max(0, min(self.file_limit, self.quota - used)) // 2**20 * 2**20
        if left != self.limit and (left == 0 or abs(left - self.limit) >= 2**20):
            _launcher("fsize", {"uid": self.uid, "gid": self.uid, "soft": left})
            self.limit = left

    def run(self) -> None:
        while not self.stop_event.wait(self.interval):
            try:
                self.check()
            except Exception:   # the kernel is gone mid-measure: the next round says so
                continue

    def stop(self) -> None:
        self.stop_event.set()
        if self.is_alive() and self is not threading.current_thread():
            self.join(5)


