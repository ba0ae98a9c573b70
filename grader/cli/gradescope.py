"""``python -m grader gradescope ASSIGNMENT --out autograder.zip``: a Gradescope autograder."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = ("build a Gradescope autograder zip for an assignment (setup.sh, run_autograder, "
        "pinned requirements, the grader, the assignment's gradebook cells)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", help="the assignment, e.g. 01_rnn_by_hand")
    parser.add_argument("--out", type=Path, default=None,
                        help="the zip to write (default: autograder-ASSIGNMENT.zip)")
    parser.add_argument("--course", type=Path, default=Path("."),
                        help="the course folder (default: the current folder)")
    parser.add_argument("--duedate", default=None, metavar="WHEN",
                        help="due date when Gradescope's submission metadata has none (with a "
                             "zone: '2026-03-01 23:59:00 UTC'); default: the one registered "
                             "in the course's gradebook. Gradescope's own due date wins.")
    parser.add_argument("--visibility", default="visible",
                        choices=("visible", "after_due_date", "after_published", "hidden"),
                        help="when students see the questions' results (default: visible)")
    parser.add_argument("--timeout", type=int, default=120,
                        help="seconds per cell (default 120; Gradescope stops everything at "
                             "its own limit, 10 minutes unless changed)")
    parser.add_argument("--notebook-timeout", type=int, default=240,
                        help="seconds per notebook, the canary's included (default 240)")
    parser.add_argument("--memory-mb", type=int, default=1024,
                        help="the kernel's address-space limit (default 1024; Gradescope's "
                             "container has 768 MB of memory unless changed)")
    parser.add_argument("--no-canary", action="store_true",
                        help="do not grade the instructor's notebook before each submission "
                             "(setup.sh still does, once)")


def run(args: argparse.Namespace) -> int:
    from grader.grading.gradescope_zip import build
    from grader.release import ReleaseError

    out = args.out or Path(f"autograder-{args.assignment}.zip")
    try:
        info = build(args.assignment, out, course_root=args.course, duedate=args.duedate,
                     visibility=args.visibility, cell_timeout=args.timeout,
                     notebook_timeout=args.notebook_timeout, memory_mb=args.memory_mb,
                     canary=not args.no_canary)
    except ReleaseError as exc:
        print(f"grader gradescope: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {info['zip']} ({info['bytes'] / 2**20:.2f} MiB): {info['wheel']}, "
          f"{info['requirements']} pinned requirements, due date "
          f"{info['duedate'] or 'none (Gradescope’s own)'}.")
    print("Upload it on Gradescope (Configure Autograder → Zip file upload); its setup.sh "
          "grades your notebook once as a self-test while the image builds.")
    return 0
