"""``python -m grader bench autograde``: sequential ``nbgrader autograde`` against ours.

Both grade the same submissions of one assignment (a mix of complete, partly wrong and blank
notebooks) in two copies of a throw-away course, each as its own process, so that each pays
its own start-up:

* **baseline**: one ``nbgrader autograde ASSIGNMENT`` run (it grades the students one after
  the other; from this course it runs the course's executor, sandboxed, with the verdicts made
  outside the kernel) -- or, with ``--baseline per-student``, one ``nbgrader autograde
  --student S`` process per student, as the pitfalls recommend to survive bad submissions;
* **ours**: ``python -m grader autograde ASSIGNMENT --jobs N`` (intake, the canary -- one more
  notebook graded -- and N kernels at a time);
* and, in the same run, ours with ``--jobs 1``, ``--jobs 2`` and ``--scheduler`` on a local Dask
  cluster of two one-thread workers (:class:`grader.grading.cluster.LocalCluster`, started
  once per run; ``--no-dask`` leaves it out): ``seconds_per_submission`` and
  ``ratio_vs_nbgrader`` hold every mode.

One JSON line per assignment (``--assignment`` repeatable; default: every chapter).

``OverwriteCells.add_missing_cells`` is switched on for nbgrader too, as ours does.  The
scores of the two gradebooks are compared.  With ``--repeat R`` the two alternate R times
(on fresh copies) and the medians are reported.  One JSON line is printed.
"""
from __future__ import annotations

import argparse
import os
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HELP = "autograding speed: sequential nbgrader autograde vs python -m grader autograde --jobs N"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=20, help="submissions (default 20)")
    parser.add_argument("--jobs", type=int, default=2, help="our parallel kernels (default 2)")
    parser.add_argument("--assignment", action="append", default=None,
                        help="an assignment (repeatable; default: every chapter)")
    parser.add_argument("--baseline", choices=("batch", "per-student"), default="batch",
                        help="one nbgrader run for all students (default), or one per student")
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="time ours without bubblewrap (to see the sandbox's cost)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="alternate the two this many times; medians are reported")
    parser.add_argument("--keep", type=Path, default=None, help="keep the courses here")
    parser.add_argument("--no-dask", action="store_true",
                        help="leave out the Dask path (two local workers)")


def _submissions(course, assignment: str, n: int) -> None:
    """complete, partly wrong (first answer cell blanked), blank: in turn."""
    import nbformat

    from grader.release import ROOT

    (solution,) = sorted((ROOT / "solutions" / assignment).glob("*.ipynb"))
    release = course.root / "exercises" / assignment / solution.name
    full = nbformat.read(solution, as_version=4)
    partial = nbformat.read(solution, as_version=4)
    blank_nb = nbformat.read(release, as_version=4)
    blank_answers = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source
                     for c in blank_nb.cells if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in partial.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in blank_answers:
            cell.source = blank_answers[gid]
            break
    kinds = [full, partial, blank_nb]
    tmp = course.root / "_bench_tmp.ipynb"
    for i in range(n):
        nbformat.write(kinds[i % 3], tmp)
        course.submit(f"student{i:03d}", assignment, tmp, name=solution.name)
    tmp.unlink()


def _scores(course, assignment: str, students: list[str]) -> dict:
    return {s: {k: q.score for k, q in course.scores(assignment, s).items()} for s in students}


def _time_nbgrader(course, assignment: str, students: list[str], mode: str) -> float:
    from grader.release import nbgrader_command, nbgrader_env

    missing = "--OverwriteCells.add_missing_cells=True"
    if mode == "batch":
        cmds = [nbgrader_command("autograde", assignment, missing, "--log-level=ERROR")]
    else:
        cmds = [nbgrader_command("autograde", assignment, f"--student={s}", missing,
                                 "--log-level=ERROR") for s in students]
    t0 = time.perf_counter()
    for cmd in cmds:
        subprocess.run(cmd, cwd=course.root, env=nbgrader_env(), capture_output=True, text=True,
                       check=False)
    return time.perf_counter() - t0


def _time_ours(course, assignment: str, jobs: int, sandbox: bool,
               scheduler: str | None = None) -> float:
    from grader.release import nbgrader_env

    cmd = [sys.executable, "-m", "grader", "autograde", assignment, "--jobs", str(jobs),
           "--course", str(course.root), "--no-progress"]
    if not sandbox:
        cmd.append("--unsafe-no-sandbox")
    if scheduler:
        cmd += ["--scheduler", scheduler]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=nbgrader_env(), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
    return elapsed


def run(args: argparse.Namespace) -> int:
    from grader.release import assignments as source_assignments

    assignments = args.assignment or source_assignments()
    status = 0
    cluster = None
    if not args.no_dask:
        try:
            from grader.grading.cluster import LocalCluster

            cluster = LocalCluster(Path(tempfile.mkdtemp(prefix="rnns-bench-dask-")), workers=2)
        except ImportError as exc:
            print(f"bench autograde: no Dask path ({exc}; pip install -e '.[cluster]')",
                  file=sys.stderr)
    try:
        for assignment in assignments:
            status |= _bench_one(args, assignment, cluster.address if cluster else None)
    finally:
        if cluster is not None:
            cluster.close()
            shutil.rmtree(cluster.folder, ignore_errors=True)
    return status


def _bench_one(args: argparse.Namespace, assignment: str, scheduler: str | None = None) -> int:
    from grader.course import Course, make_course

    args = argparse.Namespace(**{**vars(args), "assignment": assignment})
    workdir = (args.keep / assignment if args.keep else
               Path(tempfile.mkdtemp(prefix="rnns-bench-autograde-")))
    try:
        pristine = make_course(workdir / "pristine", [args.assignment])
        _submissions(pristine, args.assignment, args.n)
        students = sorted(p.name for p in (pristine.root / "submitted").iterdir())
        t_nb, t_ours, identical = [], [], True
        modes = {f"jobs{j}": (j, None) for j in (1, 2) if j != args.jobs}   # ours is --jobs N
        if scheduler:
            modes["dask2"] = (1, scheduler)   # (--jobs is raised to twice the cluster's threads)
        t_modes: dict[str, list[float]] = {m: [] for m in modes}
        for r in range(args.repeat):
            base = Course(Path(shutil.copytree(pristine.root, workdir / f"nbgrader{r}")))
            ours = Course(Path(shutil.copytree(pristine.root, workdir / f"ours{r}")))
            order = ["nbgrader", "ours", *modes]
            if r % 2:
                order.reverse()
            for who in order:   # alternate, so that a change of machine load hits both
                if who == "nbgrader":
                    t_nb.append(_time_nbgrader(base, args.assignment, students, args.baseline))
                elif who == "ours":
                    t_ours.append(_time_ours(ours, args.assignment, args.jobs,
                                             not args.unsafe_no_sandbox))
                else:
                    other = Course(Path(shutil.copytree(pristine.root, workdir / f"{who}-{r}")))
                    jobs, address = modes[who]
                    t_modes[who].append(_time_ours(other, args.assignment, jobs,
                                                   not args.unsafe_no_sandbox, address))
                    identical &= (_scores(other, args.assignment, students)
                                  == _scores(base, args.assignment, students))
                    shutil.rmtree(other.root, ignore_errors=True)
            identical &= (_scores(base, args.assignment, students)
                          == _scores(ours, args.assignment, students))
        med_nb, med_ours = statistics.median(t_nb), statistics.median(t_ours)
        per_mode = {"nbgrader": med_nb, f"jobs{args.jobs}": med_ours,
                    **{m: statistics.median(t) for m, t in t_modes.items()}}
        print(json.dumps({
            "benchmark": "autograde", "assignment": args.assignment, "n": args.n,
            "jobs": args.jobs, "baseline": f"nbgrader autograde ({args.baseline}, sequential)",
            "nbgrader_s": round(med_nb, 2), "ours_s": round(med_ours, 2),
            "nbgrader_s_per_submission": round(med_nb / args.n, 2),
            "ours_s_per_submission": round(med_ours / args.n, 2),
            "ratio": round(med_nb / med_ours, 2) if med_ours else None,
            "seconds_per_submission": {m: round(t / args.n, 2) for m, t in per_mode.items()},
            "ratio_vs_nbgrader": {m: round(med_nb / t, 2) for m, t in per_mode.items() if t},
            "runs_nbgrader_s": [round(t, 2) for t in t_nb], "runs_ours_s": [round(t, 2) for t in t_ours],
            "load_avg_1min": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
            "sandboxed": not args.unsafe_no_sandbox, "scores_identical": identical,
        }))
        sys.stdout.flush()
        return 0 if identical else 1
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
