"""``python -m grader demo``: a throw-away class, graded end to end.

For every chapter in ``solutions/`` it builds a course (``grader.course.make_course``), hands
in four submissions -- complete (the solution), partly wrong (every other answer left as
released), blank (the released exercise) and cheating (blank answers, the test helpers
replaced and the reference imported) -- grades them with ``python -m grader autograde``'s
sandboxed parallel grader, prints the class table and writes the class report.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

HELP = "grade a throw-away class (complete, partly wrong, blank, cheating) end to end"

STUDENTS = ("alice-complete", "bob-partly-wrong", "carol-blank", "mallory-cheating")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--keep", type=Path, default=None,
                        help="build the course in this folder and keep it (default: a temporary "
                             "folder, removed afterwards)")
    parser.add_argument("--jobs", type=int, default=2, help="kernels at once (default 2)")
    parser.add_argument("--assignment", nargs="+", default=None,
                        help="only these chapters (default: all in solutions/)")
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="grade without bubblewrap (only on a trusted machine)")


def _answers(nb) -> list:
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")
            and c.cell_type == "code"]


def _strip_markers(source: str) -> str:
    return "\n".join(ln for ln in source.splitlines()
                     if ln.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def submissions(course_root: Path, assignment: str, solution: Path) -> dict[str, object]:
    """The four demo notebooks, built from the released exercise and the solution."""
    import nbformat

    release = course_root / "exercises" / assignment / solution.name
    sol = {c.metadata["nbgrader"]["grade_id"]: _strip_markers(c.source)
           for c in _answers(nbformat.read(solution, as_version=4))}

    def released():
        return nbformat.read(release, as_version=4)

    complete = released()
    for cell in _answers(complete):
        cell.source = sol[cell.metadata["nbgrader"]["grade_id"]]
    partly = released()
    for i, cell in enumerate(_answers(partly)):
        if i % 2 == 1:
            cell.source = sol[cell.metadata["nbgrader"]["grade_id"]]
    cheating = released()
    first = _answers(cheating)[0] if _answers(cheating) else None
    trick = ("import grader.reference  # peek at the instructor's code\n"
             "check_close = check_equal = check_shape = lambda *args, **kwargs: None\n"
             "check_raises = lambda *args, **kwargs: None\n\n")
    if first is not None:
        first.source = trick + first.source
    return {STUDENTS[0]: complete, STUDENTS[1]: partly, STUDENTS[2]: released(),
            STUDENTS[3]: cheating}


def run(args: argparse.Namespace) -> int:
    import nbformat

    from grader.course import make_course
    from grader.grading.autograde import autograde, format_table
    from grader.grading.sandbox import SandboxUnavailable
    from grader.release import ROOT, assignments

    names = args.assignment or assignments()
    root = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="rnns-demo-"))
    status = 0
    try:
        print(f"building a throw-away course in {root} for {', '.join(names)} ...", flush=True)
        course = make_course(root, names)
        for assignment in names:
            (solution,) = sorted((ROOT / "solutions" / assignment).glob("*.ipynb"))
            for student, nb in submissions(course.root, assignment, solution).items():
                target = course.root / "submitted" / student / assignment / solution.name
                target.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, target)
            try:
                batch = autograde(course.root, assignment, jobs=args.jobs,
                                  sandbox=not args.unsafe_no_sandbox)
            except SandboxUnavailable as exc:
                print(f"grader demo: {exc}", file=sys.stderr)
                return 2
            print(f"\n== {assignment} ==")
            print(format_table(batch))
            status |= 1 if batch.failures else 0
            try:
                from grader.grading.report import write_class_report
            except ImportError as exc:   # part 2 of the grading work may not be installed
                print(f"(class report skipped: {exc})")
                continue
            out_dir = course.root / "reports" / assignment
            summary = write_class_report(course.root, assignment, out_dir)
            keys = ", ".join(sorted(summary)[:8]) if isinstance(summary, dict) else summary
            print(f"class report: {out_dir} ({keys})")
        if args.keep:
            print(f"\nthe course is kept in {root}")
        return status
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
