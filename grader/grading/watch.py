"""Grade on submission: watch ``submitted/`` and grade each new or changed submission.

nbgrader's ``collect`` (or an exchange, or a copy) fills ``submitted/<student>/<assignment>/``.
:class:`Watcher` polls that folder with ``os.scandir`` (never following a link), and when a
student's folder has changed and then stayed the same for ``settle`` seconds (a copy in
progress is not graded half-way), grades it with the batch's own code
(:func:`grader.grading.autograde.autograde` for those students: intake, the canary, the
sandbox, the fingerprint that skips what did not really change) and writes the student's
feedback (:func:`grader.grading.feedback.generate_feedback`).  An error is printed and the
watch goes on; a batch that failed as a whole (e.g. its canary) is tried again after
``retry`` seconds.  The canary runs at the first grading and again whenever the assignment's
tests in the gradebook change.
"""
from __future__ import annotations

import os
import stat
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from grader.grading.viewers import for_terminal

MAX_ENTRIES = 1000   # a folder with more is summarised by its count (intake refuses it anyway)


def signature(folder: Path) -> tuple:
    """What a submission folder holds: (path, type, size, mtime) of each entry, sorted.
    Links are recorded, never followed; ``()`` when the folder is missing or unreadable."""
    out: list[tuple] = []
    pending = [folder]
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return (("not a folder",),)
        while pending and len(out) < MAX_ENTRIES:
            current = pending.pop()
            with os.scandir(current) as it:
                for entry in it:
                    info = entry.stat(follow_symlinks=False)
                    if stat.S_ISDIR(info.st_mode):
                        pending.append(Path(entry.path))
                    out.append((os.path.relpath(entry.path, folder), stat.S_IFMT(info.st_mode),
                                info.st_size, info.st_mtime_ns))
    except OSError:
        return ()
    return tuple(sorted(out)) + ((("more", len(out)),) if len(out) >= MAX_ENTRIES else ())


def scan(submitted: Path, assignment: str) -> dict[str, tuple]:
    """student -> :func:`signature` of ``submitted/<student>/<assignment>``."""
    found = {}
    try:
        with os.scandir(submitted) as it:
            students = [e.name for e in it if e.is_dir(follow_symlinks=False)]
    except OSError:
        return found
    for student in students:
        folder = submitted / student / assignment
        if os.path.lexists(folder):
            found[student] = signature(folder)
    return found


@dataclass
class Watcher:
    course: Path
    assignment: str
    grade: Callable[[list[str], bool], list]     # (students, canary) -> StudentResults
    feedback: Callable[[list[str]], list]        # students -> StudentFeedbacks
    settle: float = 2.0
    retry: float = 60.0
    out: Callable[[str], None] = print
    handled: dict[str, tuple] = field(default_factory=dict)    # student -> signature graded
    changing: dict[str, tuple] = field(default_factory=dict)   # student -> (signature, since)
    retry_at: dict[str, float] = field(default_factory=dict)
    canary_source: str = ""

    def ready(self, now: float) -> list[str]:
        """Students whose folder changed since it was handled and has been still ``settle`` s."""
        todo = []
        for student, sig in scan(self.course / "submitted", self.assignment).items():
            if student.startswith("__"):
                continue
            if self.handled.get(student) == sig:
                self.changing.pop(student, None)
                continue
            seen = self.changing.get(student)
            if seen is None or seen[0] != sig:
                self.changing[student] = (sig, now)
            elif now - seen[1] >= self.settle and now >= self.retry_at.get(student, 0.0):
                todo.append(student)
        return sorted(todo)

    def step(self, now: float | None = None) -> list:
        """One poll: grade (then give feedback to) whoever is ready; returns their results."""
        from grader.grading.autograde import read_assignment

        now = time.monotonic() if now is None else now
        todo = self.ready(now)
        if not todo:
            return []
        sigs = {s: self.changing[s][0] for s in todo}
        try:
            source = read_assignment(self.course, self.assignment).source
            results = self.grade(todo, source != self.canary_source)
            self.canary_source = source
        except Exception as exc:   # the whole batch: try these again later
            self.out(for_terminal(f"watch: grading {', '.join(todo)} failed: {exc}; trying again in "
                                  f"{self.retry:.0f} s", keep_newlines=False))
            for s in todo:
                self.retry_at[s] = now + self.retry
            return []
        for s in todo:
            self.handled[s] = sigs[s]
            self.changing.pop(s, None)
            self.retry_at.pop(s, None)
        for r in results:
            score = "" if r.score is None else f" {r.score:g}/{r.max_score:g}"
            why = f" ({r.reason})" if r.status in ("failed", "error") else ""
            notes = f" [{'; '.join(r.notes)}]" if r.notes else ""
            faults = (f" GRADER ERRORS: {'; '.join(r.grader_errors)}"
                      if getattr(r, "grader_errors", None) else "")
            self.out(for_terminal(f"{time.strftime('%H:%M:%S')} {r.student}: {r.status}{score}{why}"
                                  f"{notes}{faults}", keep_newlines=False))
        graded = [r.student for r in results if r.status == "graded"]
        if graded:
            try:
                for entry in self.feedback(graded):
                    self.out(for_terminal(f"  {entry.student}: feedback "
                                          + (f"NOT written: {entry.problem}" if entry.problem
                                             else "written"), keep_newlines=False))
            except Exception as exc:
                self.out(for_terminal(f"watch: feedback for {', '.join(graded)} failed: {exc}",
                                      keep_newlines=False))
        return results

    def run(self, interval: float = 1.0, once: bool = False) -> None:
        """Poll every ``interval`` s; with ``once``, stop when nothing is left to grade."""
        while True:
            started = time.monotonic()
            self.step(started)
            if once and not self.changing:
                return
            time.sleep(max(0.05, interval - (time.monotonic() - started)))


def make_watcher(course: Path, assignment: str, *, jobs: int = 2, sandbox: bool = True,
                 config_overrides: list[str] | None = None, settle: float = 2.0,
                 scheduler: str | None = None) -> Watcher:
    from grader.grading.autograde import autograde
    from grader.grading.feedback import generate_feedback

    course = Path(course).resolve()

    def grade(students: list[str], canary: bool) -> list:
        extra = {"scheduler": scheduler} if scheduler else {}
        batch = autograde(course, assignment, jobs=jobs, students=students, sandbox=sandbox,
                          progress=False, config_overrides=config_overrides, canary=canary, **extra)
        return batch.students

    def feedback(students: list[str]) -> list:
        return generate_feedback(course, assignment, students)

    def out(text: str) -> None:
        print(text, flush=True)

    return Watcher(course, assignment, grade, feedback, settle=settle, out=out)


def main_loop(watcher: Watcher, interval: float, once: bool) -> int:
    import signal

    def stop(_signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(for_terminal(f"watching {watcher.course / 'submitted'}/*/{watcher.assignment} "
                       f"(every {interval:g} s; Ctrl-C stops)"), flush=True)
    try:
        watcher.run(interval, once)
    except KeyboardInterrupt:
        print("watch: stopped", file=sys.stderr, flush=True)
    return 0
