"""python -m grader report ASSIGNMENT: class report (CSV, summary, histogram) from the gradebook."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "write the class report of an assignment: scores CSV, pass rates, histogram"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", help="assignment name, e.g. 01_rnn_by_hand")
    parser.add_argument("--course", type=Path, default=Path("."), metavar="DIR",
                        help="the course folder (default: the current folder, as for nbgrader)")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="where to write it (default: COURSE/reports/ASSIGNMENT)")


def run(args: argparse.Namespace) -> int:
    from grader.grading.report import write_class_report
    from grader.grading.viewers import for_terminal

    out = args.out or args.course / "reports" / args.assignment
    try:
        summary = write_class_report(args.course, args.assignment, out)
    except (FileNotFoundError, ValueError) as exc:
        print(for_terminal(f"error: {exc}"), file=sys.stderr)
        return 2
    print(for_terminal(Path(summary["files"]["markdown"]).read_text(encoding="utf-8")))
    print(for_terminal("written: " + ", ".join(summary["files"].values())))
    return 0
