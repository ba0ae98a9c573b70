"""python -m grader similarity ASSIGNMENT: which submissions to look at side by side."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = ("list submissions to look at side by side: code few others write, the same wrong "
        "answers, the course's own code handed in (evidence, never a verdict)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", help="assignment name, e.g. 01_rnn_by_hand")
    parser.add_argument("--course", type=Path, default=Path("."), metavar="DIR",
                        help="the course folder (default: the current folder, as for nbgrader)")
    parser.add_argument("--json", action="store_true",
                        help="one finding per line: question, students, source, score, evidence")
    parser.add_argument("--limit", type=int, default=50, help="findings shown (default 50; "
                                                              "--json prints all)")


def run(args: argparse.Namespace) -> int:
    from grader.grading import similarity
    from grader.grading.viewers import for_terminal

    try:
        result = similarity.analyse(args.course.resolve(), args.assignment)
    except (FileNotFoundError, ValueError) as exc:
        print(f"grader similarity: {exc}", file=sys.stderr)
        return 2
    if args.json:
        for finding in result.findings:
            print(json.dumps(finding.to_json(), ensure_ascii=False))
        return 0
    print(f"{args.assignment}: {len(result.students)} graded submissions, "
          f"{len(result.findings)} finding(s), strongest evidence first "
          f"({result.seconds:.1f} s). Similar code is a reason to look, not a verdict.")
    for i, f in enumerate(result.findings[:args.limit], 1):
        who = " and ".join(f.students) + (f" and {f.source}" if f.source else "")
        detail = f" ({f.detail})" if f.detail else ""
        print(for_terminal(f"{i:3d}. {f.question}: {who}: score {f.score:.2f}, "
                           f"{'+'.join(f.evidence)}{detail}", keep_newlines=False))
    if len(result.findings) > args.limit:
        print(f"... {len(result.findings) - args.limit} more (--limit, --json)")
    print("Side by side: reports/<assignment>/index.html (python -m grader report).")
    return 0
