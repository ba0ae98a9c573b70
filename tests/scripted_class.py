"""The scripted class (``tests/submissions/make_class.py``) graded through both paths.

:func:`grade_class` lays one course out (the five chapters registered with a due date, the
class's submissions, two students on the roster with names), copies it, and grades every
chapter twice with ``grader.grading.autograde``: on this machine (``--jobs 2``) and with the
kernels on a real local Dask cluster (a scheduler and two worker processes on 127.0.0.1).
While the cluster grades chapter 1, one worker is killed (SIGKILL, nanny included) once it
holds a student's submission.  Both copies share the course secret, so the hidden tests
draw the same inputs on both paths.  Then each copy writes its class report and its Canvas
and Moodle CSVs per chapter.

The conftest's fixtures build it once per test run (``grading_helpers.build_once``): the
``small`` class (:data:`SIZES`) in ``make test``, the 60-student class under ``-m scale``.
"""
from __future__ import annotations

import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "submissions"))
import make_class  # noqa: E402
from make_class import ASSIGNMENTS, CORE, DUE  # noqa: E402

from grader.cli import main  # noqa: E402
from grader.course import Course  # noqa: E402
from grader.grading import report  # noqa: E402
from grader.grading.autograde import BatchResult, autograde, format_table  # noqa: E402
from grader.grading.job import course_secret  # noqa: E402
from grader.release import run_generate_assignment  # noqa: E402

ROOT = HERE.parent
FIRST = ASSIGNMENTS[0]
# the small class: chapter 1 all of CORE, the other chapters its first 13 (every anomaly,
# every way to lose points); the scale class: 60 per chapter
SIZES = {"small": {a: len(CORE) if a == FIRST else 13 for a in ASSIGNMENTS},
         "full": {a: 60 for a in ASSIGNMENTS}}
# a cell's time limit: short where a loop waits for it; chapter 1's cells are light (the
# grading-attacks test uses the same 12 s), the other chapters' hidden tests need more on a
# loaded machine (10 s was too short for chapter 2's first test at load 5)
TIMEOUT = {FIRST: 12}
TIMEOUT_OTHERS = 60
# two students on the roster: one with the names and LMS id Canvas and Moodle show, one
# who handed nothing in
NAMED = {"student": "s01-correct", "first_name": "Hua", "last_name": "Li",
         "email": "hua@example.edu", "lms_user_id": "4242"}
ABSENT = {"student": "absent", "email": "abs@example.edu"}
PATHS = ("local", "dask")


@dataclass
class GradedClass:
    rosters: dict[str, list]                  # assignment -> [make_class.Student]
    courses: dict[str, Path]                  # path -> course folder
    batches: dict[str, dict[str, BatchResult]]   # path -> assignment -> the batch
    exports: dict[str, Path]                  # path -> folder of <assignment>/{report,canvas.csv,...}
    seconds: dict[str, float] = field(default_factory=dict)
    killed: list[str] = field(default_factory=list)   # the tasks w2 held when it was killed
    scheduler: str = ""
    w2_dead: bool = False

    def student(self, assignment: str, sid: str):
        (who,) = [s for s in self.rosters[assignment] if s.student == sid]
        return who

    def results(self, path: str, assignment: str) -> dict:
        return {s.student: s for s in self.batches[path][assignment].students}


def _config(assignment: str, size: int) -> list[str]:
    loops = any(s.kind == "loop" for s in make_class.roster(assignment, size))
    if not loops:
        return []
    return [f"--Execute.timeout={TIMEOUT.get(assignment, TIMEOUT_OTHERS)}"]


def _lay_out_course(root: Path, sizes: dict[str, int]) -> dict[str, list]:
    from nbgrader.api import Gradebook

    report._ensure_alembic_on_path()   # nbgrader may run alembic through PATH
    root.mkdir(parents=True)
    shutil.copyfile(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    for a in ASSIGNMENTS:
        shutil.copytree(ROOT / "solutions" / a, root / "solutions" / a)
    # what `python -m grader register` does (tests/test_register.py), in one nbgrader process
    # for the five chapters instead of two per chapter (4 s of CPU each), due dates written here
    proc = run_generate_assignment(root, "*", root.parent / "scratch-release", root / "gradebook.db")
    assert proc.returncode == 0, proc.stderr[-3000:]
    shutil.rmtree(root.parent / "scratch-release")
    with Gradebook(Course(root).db_url) as gb:
        for a in ASSIGNMENTS:
            gb.update_or_create_assignment(a, duedate=DUE.replace(tzinfo=None))   # UTC, as nbgrader keeps it
        for who in (NAMED, ABSENT):
            gb.update_or_create_student(who["student"],
                                        **{k: v for k, v in who.items() if k != "student"})
    course_secret(root)   # one secret for both copies: the same hidden inputs on both paths
    rosters = {a: make_class.roster(a, sizes[a]) for a in ASSIGNMENTS}
    for a, students in rosters.items():
        make_class.lay_out(root, a, students)
    return rosters


def _kill_when_busy(cluster, name: str, done: threading.Event, seen: list) -> None:
    """SIGKILL worker ``name`` (and its nanny) once it holds a student's submission."""
    import distributed

    with distributed.Client(cluster.address, timeout=30, set_as_default=False) as client:
        while not done.is_set():
            names = {addr: w.get("name") for addr, w in client.scheduler_info()["workers"].items()}
            for addr, keys in client.processing().items():
                busy = [k for k in keys if str(k).startswith("grade-") and "__canary__" not in str(k)]
                if names.get(addr) == name and busy:
                    seen.extend(busy)
                    cluster.kill(name)
                    return
            time.sleep(0.2)


def _exports(course: Path, out: Path) -> None:
    for a in ASSIGNMENTS:
        report.write_class_report(course, a, out / a / "report")
        for fmt in ("canvas", "moodle"):
            assert main(["export", a, "--format", fmt, "--course", str(course),
                         "--out", str(out / a / f"{fmt}.csv")]) == 0


def grade_class(workdir: Path, size: str) -> GradedClass:
    """Lay the class out, grade it on both paths, write every export; see the module doc."""
    from grader.grading.cluster import LocalCluster

    sizes = SIZES[size]
    t0 = time.monotonic()
    pristine = workdir / "pristine"
    rosters = _lay_out_course(pristine, sizes)
    courses = {p: Path(shutil.copytree(pristine, workdir / p, symlinks=True)) for p in PATHS}
    out = GradedClass(rosters, courses, {p: {} for p in PATHS},
                      {p: workdir / f"{p}-exports" for p in PATHS})
    out.seconds["lay out"] = time.monotonic() - t0

    t0 = time.monotonic()
    for a in ASSIGNMENTS:
        batch = autograde(courses["local"], a, jobs=2, progress=False,
                          config_overrides=_config(a, sizes[a]))
        print(format_table(batch))
        out.batches["local"][a] = batch
    out.seconds["local"] = time.monotonic() - t0

    t0 = time.monotonic()
    with LocalCluster(workdir / "cluster", workers=2) as cluster:
        out.scheduler = cluster.address
        # chapter 1 last: the worker killed during it leaves the other chapters two workers
        for a in ASSIGNMENTS[1:] + ASSIGNMENTS[:1]:
            done = threading.Event()
            killer = None
            if a == FIRST:
                killer = threading.Thread(target=_kill_when_busy, daemon=True,
                                          args=(cluster, "w2", done, out.killed))
                killer.start()
            try:
                batch = autograde(courses["dask"], a, jobs=2, progress=False,
                                  scheduler=cluster.address, config_overrides=_config(a, sizes[a]))
            finally:
                done.set()
                if killer is not None:
                    killer.join(30)
            print(format_table(batch))
            out.batches["dask"][a] = batch
        out.w2_dead = cluster.procs["w2"].poll() is not None
    out.seconds["dask"] = time.monotonic() - t0

    t0 = time.monotonic()
    for p in PATHS:
        _exports(courses[p], out.exports[p])
    out.seconds["exports"] = time.monotonic() - t0
    print(f"scripted class ({size}): " + ", ".join(f"{k} {v:.1f} s" for k, v in out.seconds.items())
          + f"; killed w2 holding {out.killed}")
    return out
