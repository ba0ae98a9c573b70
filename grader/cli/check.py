"""python -m grader check NOTEBOOK: the student's self-check (public tests only).

Exit status: 0 when every public test passes, 1 otherwise, 2 when the file cannot be
checked.  Shipped in the student bundle: import nothing instructor-only here.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "run a notebook in a fresh kernel and report each question's public tests"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebook", type=Path, help="the exercise notebook (.ipynb) to check")
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="seconds each cell may run before it is stopped (default 120)")
    parser.add_argument("--kernel", default=None, metavar="NAME",
                        help="Jupyter kernel to run it with (default: the notebook's own)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from grader.grading import selfcheck

    if not args.notebook.is_file():
        print(f"error: {args.notebook} does not exist", file=sys.stderr)
        return 2
    try:
        result = selfcheck.check_notebook(
            args.notebook, timeout=args.timeout or selfcheck.DEFAULT_TIMEOUT,
            kernel_name=args.kernel)
    except (ValueError, selfcheck.KernelStartError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(selfcheck.to_json(result) if args.json else selfcheck.format_result(result))
    if not result.questions:
        return 2
    return 0 if result.ok else 1
