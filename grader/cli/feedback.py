"""python -m grader feedback ASSIGNMENT: per-student feedback HTML without hidden tests."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "write each autograded student's feedback HTML (scores, messages; no hidden tests)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", help="assignment name, e.g. 01_rnn_by_hand")
    parser.add_argument("--course", type=Path, default=Path("."), metavar="DIR",
                        help="the course folder (default: the current folder, as for nbgrader)")
    parser.add_argument("--student", action="append", default=None, metavar="ID",
                        help="only this student (repeatable; default: every autograded one)")


def run(args: argparse.Namespace) -> int:
    from grader.grading.feedback import generate_feedback
    from grader.grading.viewers import for_terminal

    try:
        results = generate_feedback(args.course, args.assignment, args.student)
    except FileNotFoundError as exc:
        print(for_terminal(f"error: {exc}"), file=sys.stderr)
        return 2
    if not results:
        print(for_terminal(f"no autograded submissions of {args.assignment} in {args.course.resolve()}"))
        return 1
    for entry in results:
        if entry.problem:
            print(for_terminal(f"{entry.student}: NO FEEDBACK: {entry.problem}", keep_newlines=False))
        else:
            shown = ", ".join(str(p.relative_to(args.course.resolve())) for p in entry.files)
            print(for_terminal(f"{entry.student}: {shown}", keep_newlines=False))
    return 1 if any(entry.problem for entry in results) else 0
