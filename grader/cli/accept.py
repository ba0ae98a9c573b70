"""``python -m grader accept ASSIGNMENT STUDENT FILE``: grade a renamed notebook as the assignment's."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = ("accept a student's renamed notebook (FILE in submitted/STUDENT/ASSIGNMENT/) as the "
        "assignment's notebook; recorded in accepted-notebooks.json, no file is renamed")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", help="the assignment, e.g. 01_rnn_by_hand")
    parser.add_argument("student", help="the student id (their folder in submitted/)")
    parser.add_argument("file", help="the notebook's name as submitted, e.g. 'Copy of X.ipynb'")
    parser.add_argument("--as", dest="as_name", default=None, metavar="NOTEBOOK",
                        help="the assignment's notebook it stands for (needed only when the "
                             "assignment has several)")
    parser.add_argument("--course", type=Path, default=Path("."),
                        help="the course folder (default: the current folder)")


def run(args: argparse.Namespace) -> int:
    from grader.grading import accepted, intake
    from grader.grading.autograde import _ensure_path, read_assignment
    from grader.grading.viewers import for_shell, for_terminal

    course = args.course.resolve()
    folder = course / "submitted" / args.student / args.assignment
    _ensure_path()
    try:
        info = read_assignment(course, args.assignment)
    except Exception as exc:
        print(for_terminal(f"grader accept: {exc}"), file=sys.stderr)
        return 2
    names = sorted(f"{n}.ipynb" for n in info.expected)
    as_name = args.as_name or (names[0] if len(names) == 1 else None)
    if as_name is not None and not as_name.endswith(".ipynb"):
        as_name += ".ipynb"
    if as_name not in names:
        print(for_terminal(f"grader accept: say which notebook it stands for: --as one of "
                           f"{', '.join(names)}"), file=sys.stderr)
        return 2
    # read it as a batch would, with the mapping: it must be a notebook of this assignment
    seen = intake.inspect(folder, intake.Limits(), info.expected, {args.file: as_name})
    if seen.refusal or as_name not in seen.notebooks:
        print(for_terminal(f"grader accept: not accepted: "
                           f"{seen.refusal or f'{args.file} is not in {folder}'}", keep_newlines=False),
              file=sys.stderr)
        return 1
    path = accepted.record(course, args.assignment, args.student, args.file, as_name)
    print(for_terminal(f"{args.student}: {args.file} will be graded as {as_name} (recorded in "
                       f"{path}); grade it: python -m grader autograde {for_shell(args.assignment)} "
                       f"--student={for_shell(args.student)}", keep_newlines=False))
    return 0
