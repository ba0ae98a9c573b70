"""``python -m grader release``: regenerate exercises/ from solutions/ with nbgrader."""
from __future__ import annotations

import argparse
import sys

from grader.release import ReleaseError, release

HELP = "regenerate exercises/ from solutions/ with nbgrader; --check fails when out of date"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 when exercises/ differs from a fresh release")


def run(args: argparse.Namespace) -> int:
    try:
        problems = release(args.assignments or None, check=args.check)
    except ReleaseError as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 1
    if args.check:
        for p in problems:
            print(f"out of date: {p}", file=sys.stderr)
        if problems:
            print("run `python -m grader release` and commit exercises/", file=sys.stderr)
            return 1
        print("exercises/ is up to date")
    return 0
