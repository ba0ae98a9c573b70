"""Put notebooks in canonical form (no outputs, deterministic ids, no stray metadata)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader import notebooks

HELP = "put notebooks in canonical form (no outputs, stable ids); --check only reports"
DEFAULT_ROOTS = ("solutions", "book")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", type=Path,
                        help=f"notebooks or folders (default: {', '.join(DEFAULT_ROOTS)})")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a notebook is not canonical")


def _notebooks(paths: list[Path]) -> list[Path]:
    found = []
    for path in paths or [Path(p) for p in DEFAULT_ROOTS]:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        elif path.exists():
            found.append(path)
        else:
            raise SystemExit(f"nbfmt: {path}: no such file or folder")
    return found


def run(args: argparse.Namespace) -> int:
    bad = []
    for path in _notebooks(args.paths):
        if args.check:
            if not notebooks.is_canonical(path):
                bad.append(path)
        elif notebooks.write_canonical(path):
            print(f"reformatted {path}")
    for path in bad:
        print(f"not canonical: {path} (run `python -m grader nbfmt {path}`)", file=sys.stderr)
    return 1 if bad else 0
