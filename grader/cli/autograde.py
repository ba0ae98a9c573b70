"""``python -m grader autograde ASSIGNMENT``: grade every submission, N at a time, sandboxed."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

HELP = ("autograde all submissions of an assignment in parallel, each kernel sandboxed (bwrap); "
        "exit 0: all graded, 1: some could not be (see the table), 2: nothing was graded, "
        "3: the grader met errors of its own (listed; those students were graded again)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", help="the assignment, e.g. 01_rnn_by_hand")
    parser.add_argument("--jobs", "-j", type=int, default=2, help="kernels at once (default 2)")
    parser.add_argument("--force", action="store_true",
                        help="grade again what is already graded")
    parser.add_argument("--student", nargs="+", metavar="ID", default=None,
                        help="only these students")
    parser.add_argument("--course", type=Path, default=Path("."),
                        help="the course folder (nbgrader's root; default: the current folder)")
    parser.add_argument("--summary", type=Path, default=None,
                        help="where to write the JSON summary (default: "
                             "autograded/<assignment>-autograde-summary.json)")
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="run student code without bubblewrap (only on a trusted machine)")
    parser.add_argument("--sandbox", choices=("auto", "bwrap", "container"), default=None,
                        help="bubblewrap, the container mode (a fresh uid per kernel, for "
                             "Docker/Kubernetes/Gradescope, as root), or auto (default: "
                             "c.Sandbox.mode, which is auto: bubblewrap where it works)")
    parser.add_argument("--config", action="append", default=[], metavar="--Class.trait=value",
                        help="extra nbgrader/grader configuration, e.g. "
                             "--config=--Execute.timeout=30 (repeatable)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="run the sandboxed kernels on this Dask scheduler's workers "
                             "(e.g. tcp://10.0.0.5:8786; needs the 'cluster' extra); the "
                             "gradebook is written here only")
    parser.add_argument("--verbose", action="store_true", help="show nbgrader's own log")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _course_config(course: Path):
    """The course's nbgrader_config.py (its c.Sandbox and c.ContainerSandbox settings)."""
    from traitlets.config import Config
    from traitlets.config.loader import ConfigFileNotFound, PyFileConfigLoader

    try:
        return PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    except ConfigFileNotFound:
        return Config()


def run(args: argparse.Namespace) -> int:
    from grader.grading.sandbox import Sandbox, SandboxUnavailable
    from grader.grading.viewers import for_terminal

    course = args.course.resolve()
    if not (course / "nbgrader_config.py").exists() and not (course / "gradebook.db").exists():
        print(f"grader autograde: {course} does not look like a course folder "
              "(no nbgrader_config.py or gradebook.db); use --course", file=sys.stderr)
        return 2
    if args.sandbox:
        args.config = [*args.config, f"--Sandbox.mode={args.sandbox}"]
    if not args.unsafe_no_sandbox:   # before the batch: say so at once
        box = Sandbox(config=_course_config(course), **({"mode": args.sandbox} if args.sandbox else {}))
        try:
            box.check_available()
        except SandboxUnavailable as exc:
            print(for_terminal(f"grader autograde: refusing to run student code unsandboxed: {exc}"),
                  file=sys.stderr)
            return 2
        if box.active_mode == "container":   # say which mode, and what it does not guarantee
            from grader.grading.container import describe

            why = f"bubblewrap cannot run here ({box.bwrap_problem}); " if box.bwrap_problem else ""
            print(for_terminal(f"grader autograde: {why}grading in the {describe(box)}"),
                  file=sys.stderr)
            if not args.sandbox:   # the batch need not try bubblewrap again
                args.config = [*args.config, "--Sandbox.mode=container"]
    from grader.grading.autograde import autograde, format_table

    if not args.verbose:
        logging.getLogger("traitlets").setLevel(logging.ERROR)
    try:
        batch = autograde(course, args.assignment, jobs=args.jobs, force=args.force,
                          students=args.student, sandbox=not args.unsafe_no_sandbox,
                          summary_path=args.summary, progress=not args.no_progress,
                          config_overrides=args.config, quiet=not args.verbose,
                          scheduler=args.scheduler)
    except SandboxUnavailable as exc:
        print(for_terminal(f"grader autograde: refusing to run student code unsandboxed: {exc}"),
              file=sys.stderr)
        return 2
    except Exception as exc:  # e.g. the assignment is not in the gradebook
        print(for_terminal(f"grader autograde: {exc}"), file=sys.stderr)
        return 2
    print(format_table(batch))
    if getattr(batch, "regrade_report", ""):
        print(for_terminal(f"regrade report (old and new score per question, and why): "
                           f"{batch.regrade_report}"))
    if batch.grader_errors:
        return 3
    return 1 if batch.failures or batch.errors else 0
