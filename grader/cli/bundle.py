"""python -m grader bundle: the student edition as one zip (what the site links for download)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "write the student bundle: the student edition as a zip, audited for leaks"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from grader.grading.bundle import DEFAULT_OUT

    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="ZIP",
                        help=f"the zip to write (default: {DEFAULT_OUT})")


def run(args: argparse.Namespace) -> int:
    from grader.grading.bundle import BundleError, build_bundle

    try:
        names = build_bundle(args.out)
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{args.out}: {len(names)} files, {args.out.stat().st_size} bytes")
    for name in names:
        print(f"  {name}")
    return 0
