"""Which students a batch is grading right now, and which a killed batch left half-graded.

While a batch grades a student it holds a marker, ``.rnns-grading/<assignment>/in-flight/
<student>`` in the course folder, created before nbgrader touches the student's gradebook
entry, ``flock``-ed for as long as the grading runs, removed once the student's result is
final (graded, failed, or not graded with the reason recorded).  A batch that is killed
(SIGKILL, a power cut) leaves its markers, and the kernel frees their locks: such a student
is **interrupted**.  nbgrader may by then have created their submission with no grades, or
written some grades and not others, so the class report and the LMS exports show them as
"interrupted, regrade pending", never with a score; the next batch grades them again (their
autograded folder, and with it the fingerprint, is gone) and removes the markers.
"""
from __future__ import annotations

import fcntl
import json
import os
import stat
import time
from pathlib import Path

FOLDER = ".rnns-grading"


def _folder(course_root: Path, assignment: str) -> Path:
    return Path(course_root) / FOLDER / assignment / "in-flight"


def _safe_name(student: str) -> bool:
    return bool(student) and "/" not in student and student not in (".", "..") and "\0" not in student


class Marker:
    """A student's marker, held by this process until :meth:`done` (or its death)."""

    def __init__(self, course_root: Path, assignment: str, student: str) -> None:
        self.path = _folder(course_root, assignment) / student
        self.fd: int | None = None
        if not _safe_name(student):
            return
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True)
        for level in (folder.parent.parent, folder.parent, folder):
            if not stat.S_ISDIR(os.lstat(level).st_mode):
                raise RuntimeError(f"{level} is not a folder: the grader will not write there")
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        os.ftruncate(self.fd, 0)
        os.write(self.fd, json.dumps({"pid": os.getpid(), "started": time.time()}).encode())

    def done(self) -> None:
        """The student's result is final: the marker goes."""
        if self.fd is None:
            return
        try:
            os.unlink(self.path)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None


def _state(path: Path) -> str:
    """"live" (its batch runs), "interrupted" (its batch is gone), or "" (not a marker)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return ""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return ""
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return "live"
        fcntl.flock(fd, fcntl.LOCK_UN)
        return "interrupted"
    finally:
        os.close(fd)


def markers(course_root: Path, assignment: str) -> dict[str, str]:
    """student -> "live" or "interrupted", for every marker of the assignment."""
    folder = _folder(course_root, assignment)
    found: dict[str, str] = {}
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return found
        with os.scandir(folder) as entries:
            for entry in entries:
                state = _state(Path(entry.path))
                if state:
                    found[entry.name] = state
    except OSError:
        pass
    return found


def clear_interrupted(course_root: Path, assignment: str, students) -> list[str]:
    """Remove the markers of ``students`` that no live batch holds (a batch that decided
    their grade stands, or grades them now); return whose were removed."""
    removed = []
    folder = _folder(course_root, assignment)
    for student in students:
        if not _safe_name(student):
            continue
        try:
            fd = os.open(folder / student, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue          # a live batch grades them
            os.unlink(folder / student)
            removed.append(student)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed
