"""python -m grader export ASSIGNMENT --format canvas|moodle: grades for an LMS's CSV import."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = ("write a Canvas or Moodle gradebook CSV of an assignment (final scores after late "
        "penalties; failed or missing submissions as 0 with the reason)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", help="assignment name, e.g. 01_rnn_by_hand")
    parser.add_argument("--format", required=True, choices=("canvas", "moodle"), dest="fmt")
    parser.add_argument("--course", type=Path, default=Path("."), metavar="DIR",
                        help="the course folder (default: the current folder, as for nbgrader)")
    parser.add_argument("--out", type=Path, default=None, metavar="FILE",
                        help="the CSV to write (default: COURSE/reports/ASSIGNMENT/FORMAT.csv)")
    parser.add_argument("--title", default=None,
                        help="the assignment's name in the LMS (default: ASSIGNMENT)")
    parser.add_argument("--canvas-id", default=None, metavar="ID",
                        help="Canvas's id of the assignment, so that the import updates it "
                             "instead of offering to create a new one")


def run(args: argparse.Namespace) -> int:
    from grader.grading.lms import export
    from grader.grading.viewers import for_terminal

    out = args.out or args.course / "reports" / args.assignment / f"{args.fmt}.csv"
    try:
        files = export(args.course, args.assignment, args.fmt, out, args.title, args.canvas_id)
    except (FileNotFoundError, ValueError) as exc:
        print(for_terminal(f"error: {exc}"), file=sys.stderr)
        return 2
    print(for_terminal("written: " + ", ".join(str(p) for p in files)))
    return 0
