"""python -m grader register ASSIGNMENT...: put assignments in the gradebook, exercises/ untouched."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = ("register assignments (notebooks, graded cells, points, due date) in the course's "
        "gradebook without touching exercises/")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignments", nargs="+", metavar="ASSIGNMENT",
                        help="assignment names, e.g. 01_rnn_by_hand")
    parser.add_argument("--course", type=Path, default=Path("."), metavar="DIR",
                        help="the course folder (default: the current folder, as for nbgrader)")
    parser.add_argument("--duedate", default=None, metavar="WHEN",
                        help="due date for the late policy, with a zone: '2026-03-01 23:59:00 UTC', "
                             "'... +08:00' or '... Asia/Shanghai'")


def run(args: argparse.Namespace) -> int:
    from grader.release import ReleaseError, register

    missing = [a for a in args.assignments
               if not any((args.course / "solutions" / a).glob("*.ipynb"))]
    if missing:
        print(f"error: no source notebook in solutions/ for: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        register(args.assignments, args.course, args.duedate)
    except ReleaseError as exc:
        print(f"register: {exc}", file=sys.stderr)
        return 1
    due = f" (due {args.duedate})" if args.duedate else ""
    print(f"registered in {(args.course / 'gradebook.db').resolve()}: "
          f"{', '.join(args.assignments)}{due}")
    return 0
