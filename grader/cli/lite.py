"""python -m grader lite: the exercises in the browser (JupyterLite with a Pyodide kernel)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "build the JupyterLite site of the exercises from the fetched, checked cache (make lite)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache", type=Path, default=Path("_build/lite-cache"),
                        help="what `make lite-fetch` fetched (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("_build/lite"),
                        help="the folder to write (emptied first; default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    from grader.release import ROOT
    from grader.site.lite import LiteError, build

    try:
        summary = build(args.out, args.cache, ROOT)
    except LiteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary))
    return 0
