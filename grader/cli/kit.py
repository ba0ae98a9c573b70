"""python -m grader kit: the student kit (what it holds, its wheel, the notebooks' set-up cells)."""
from __future__ import annotations

import argparse
from pathlib import Path

HELP = "the student kit: list its files, build its wheel, or refresh the exercises' set-up cells"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("files", "wheel", "sync-notebooks"),
                        help="files: print the kit's files and the pip command that installs "
                             "it; wheel: build its wheel into --out; sync-notebooks: give each "
                             "solutions/ set-up cell the preamble for _config.yml's repository "
                             "URL (then run nbfmt and release)")
    parser.add_argument("--out", type=Path, default=Path("dist"), metavar="DIR",
                        help="where `wheel` writes the wheel (default: dist)")


def run(args: argparse.Namespace) -> int:
    from grader import kit

    if args.action == "files":
        for name in kit.kit_files():
            print(name)
        print(f'pip install "{kit.pip_requirement()}"')
    elif args.action == "wheel":
        print(kit.build_wheel(args.out))
    else:
        for path in kit.sync_setup_cells():
            print(f"updated {path.relative_to(kit.ROOT)}")
    return 0
