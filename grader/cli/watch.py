"""``python -m grader watch ASSIGNMENT``: grade each submission as it arrives, then its feedback."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

HELP = ("grade each new or changed submission in submitted/ as it arrives (sandboxed, as "
        "autograde), then write its feedback; runs until stopped")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", help="the assignment, e.g. 01_rnn_by_hand")
    parser.add_argument("--course", type=Path, default=Path("."),
                        help="the course folder (default: the current folder)")
    parser.add_argument("--interval", type=float, default=1.0, metavar="S",
                        help="seconds between two looks at submitted/ (default 1)")
    parser.add_argument("--settle", type=float, default=2.0, metavar="S",
                        help="a submission is graded once unchanged for this long (default 2)")
    parser.add_argument("--once", action="store_true",
                        help="grade what is there (new or changed) and stop")
    parser.add_argument("--jobs", "-j", type=int, default=2, help="kernels at once (default 2)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="run the kernels on this Dask scheduler (see autograde --scheduler)")
    parser.add_argument("--config", action="append", default=[], metavar="--Class.trait=value",
                        help="extra nbgrader/grader configuration (repeatable)")


def run(args: argparse.Namespace) -> int:
    from grader.grading.sandbox import Sandbox, SandboxUnavailable
    from grader.grading.watch import main_loop, make_watcher

    try:
        Sandbox().check_available()
    except SandboxUnavailable as exc:
        print(f"grader watch: refusing to run student code unsandboxed: {exc}", file=sys.stderr)
        return 2
    course = args.course.resolve()
    if not (course / "gradebook.db").exists():
        print(f"grader watch: {course} has no gradebook.db; register the assignment first "
              "(python -m grader register)", file=sys.stderr)
        return 2
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    watcher = make_watcher(course, args.assignment, jobs=args.jobs, settle=args.settle,
                           config_overrides=args.config, scheduler=args.scheduler)
    return main_loop(watcher, args.interval, args.once)
