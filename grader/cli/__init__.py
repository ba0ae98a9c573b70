"""The ``python -m grader`` command line.

Every sub-command is one module in this package exposing ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``.  They are registered here, in one place,
and imported only when used, so that ``python -m grader --help`` stays fast and a student's
environment (which lacks the instructor-only modules) can still run ``check``.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# name -> module; the order is the order of --help.
COMMANDS: dict[str, str] = {
    "release": "grader.cli.release",
    "nbfmt": "grader.cli.nbfmt",
    "corpus": "grader.cli.corpus",
    "check": "grader.cli.check",
    "feedback": "grader.cli.feedback",
    "report": "grader.cli.report",
    "similarity": "grader.cli.similarity",
    "register": "grader.cli.register",
    "export": "grader.cli.export",
    "publish": "grader.cli.publish",
    "bundle": "grader.cli.bundle",
    "kit": "grader.cli.kit",
    "lite": "grader.cli.lite",
    "pdf": "grader.cli.pdf",
    "train": "grader.cli.train",
    "bench": "grader.cli.bench",
    "autograde": "grader.cli.autograde",
    "accept": "grader.cli.accept",
    "watch": "grader.cli.watch",
    "gradescope": "grader.cli.gradescope",
    "demo": "grader.cli.demo",
    "zh": "grader.cli.zh",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            if isinstance(exc, ModuleNotFoundError) and exc.name == module_name:
                continue  # not shipped (the student kit has only `check`): not offered
            sub.add_parser(name, help=f"(unavailable here: {exc})")  # a dependency is missing
            continue
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "_run"):
        if args.command:
            parser.error(f"'{args.command}' is not available in this installation")
        parser.print_help()
        return 2
    return int(args._run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
