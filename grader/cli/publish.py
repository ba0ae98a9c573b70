"""python -m grader publish: the student edition (a tree for its own repository), its audit,
and the README block that tells students how to start."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "write the student edition (no answer key, audited), audit a tree, or refresh README.md's ways-in block"

EPILOG = """\
  student OUT    write the student edition into OUT (empty, or a clone of its repository:
                 everything but .git is replaced), after checking that exercises/ is what
                 `python -m grader release` makes of solutions/ and auditing every file;
                 then commit and push OUT to the repository _config.yml's student_edition
                 names
  check DIR      audit a tree already written (exit 1 on any finding)
  readme         rewrite README.md's ways-in block from book/ways_in.md (--check: exit 1
                 if it is stale)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("what", choices=("student", "check", "readme"), help="see below")
    parser.add_argument("folder", type=Path, nargs="?", metavar="OUT|DIR",
                        help="the folder to write (student) or to audit (check)")
    parser.add_argument("--check", action="store_true",
                        help="readme: only compare, exit 1 when README.md is stale")
    parser.add_argument("--no-release-check", action="store_true",
                        help="student: skip the comparison of exercises/ with a fresh release")


def _student(args: argparse.Namespace) -> int:
    from grader.edition.publish import PublishError, write_tree
    from grader.release import release

    if not args.no_release_check:
        stale = release(check=True)
        if stale:
            print("error: exercises/ is not what solutions/ releases (" + ", ".join(stale[:5])
                  + "): run `python -m grader release` first", file=sys.stderr)
            return 1
    try:
        files = write_tree(args.folder)
    except PublishError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    size = sum(len(item.data) for item in files.values())
    print(f"{args.folder}: the student edition, {len(files)} files, {size:,} bytes, audited")
    for name in files:
        print(f"  {name}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.what in ("student", "check") and args.folder is None:
        print(f"error: `publish {args.what}` needs a folder", file=sys.stderr)
        return 2
    if args.what == "student":
        return _student(args)
    if args.what == "check":
        from grader.edition.audit import audit_tree

        if not args.folder.is_dir():
            print(f"error: {args.folder} is not a folder", file=sys.stderr)
            return 2
        found = audit_tree(args.folder)
        for problem in found:
            print(problem)
        print(f"{args.folder}: {len(found)} problem(s)" if found
              else f"{args.folder}: a clean student edition")
        return 1 if found else 0
    from grader.edition.ways_in import WaysInError, sync_readme

    try:
        changed = sync_readme(check=args.check)
    except WaysInError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.check:
        if changed:
            print("README.md's ways-in block is stale: run `python -m grader publish readme`",
                  file=sys.stderr)
        return 1 if changed else 0
    print("README.md: ways-in block " + ("rewritten" if changed else "already up to date"))
    return 0
