"""python -m grader check NOTEBOOK: the student's self-check (public tests only).

Exit status: 0 when every public test passes, 1 otherwise, 2 when the file cannot be
checked.  Shipped in the student kit: import nothing instructor-only here.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "run a notebook in a fresh kernel and report each question's public tests"

EPILOG = """\
Each question's row says PASS, FAIL, TODO (not attempted), ERROR or SKIP (not run), with the
whole first failure message and a hint.  Exit status: 0 when every public test passes, 1
when some do not, 2 when the notebook cannot be checked.

--json prints one JSON object instead (the same exit status):
  version          1 (the layout below)
  notebook, ok     the notebook's absolute path; true when every public test passes
  passed, questions_total, points, points_total
                   questions passed / all questions, points earned / all points
  questions        one per graded test cell, in notebook order: grade_id, points, status
                   ("passed", "failed", "not attempted", "error", "not run"), passed (bool),
                   message (whole, unwrapped, "" when passed), hint, edited (the locked
                   test cell was changed and will be restored before grading)
  warnings         sentences about the notebook (edited or copied cells, set-up errors)
  checks_module    the file grader.checks was imported from in the kernel, or null
  language         "en", or "zh" for a notebook of the Chinese edition (messages in Chinese)
  error            only when the exit status is 2: why the notebook could not be checked
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("notebook", type=Path, help="the exercise notebook (.ipynb) to check")
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="seconds each cell may run before it is stopped (default 120)")
    parser.add_argument("--kernel", default=None, metavar="NAME",
                        help="Jupyter kernel to run it with (default: the notebook's own)")
    parser.add_argument("--json", action="store_true",
                        help="print the result as one JSON object (fields below)")


def _cannot_check(args: argparse.Namespace, message: str) -> int:
    from grader.grading.selfcheck import JSON_VERSION

    if args.json:
        print(json.dumps({"version": JSON_VERSION, "notebook": str(args.notebook.resolve()),
                          "ok": False, "error": message, "questions": [], "warnings": []},
                         indent=1))
    else:
        from grader.i18n import t, using

        with using("zh" if args.notebook.name.endswith(".zh.ipynb") else "en"):
            print(t("error: ") + message, file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from grader.grading import selfcheck

    if not args.notebook.is_file():
        from grader.i18n import t, using

        # a Chinese-edition notebook is named *.zh.ipynb: say it in its language
        with using("zh" if args.notebook.name.endswith(".zh.ipynb") else "en"):
            return _cannot_check(args, t("{notebook} does not exist", notebook=args.notebook))
    try:
        result = selfcheck.check_notebook(
            args.notebook, timeout=args.timeout or selfcheck.DEFAULT_TIMEOUT,
            kernel_name=args.kernel)
    except (ValueError, selfcheck.KernelStartError) as exc:
        return _cannot_check(args, str(exc))
    if args.json:
        data = result.to_dict()
        if not result.questions:
            data["error"] = " ".join(result.warnings)
        print(json.dumps(data, indent=1))
    else:
        print(selfcheck.format_result(result))
    if not result.questions:
        return 2
    return 0 if result.ok else 1
