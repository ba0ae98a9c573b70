"""``python -m grader bench NAME [options]``: run one of the course's benchmarks."""
from __future__ import annotations

import argparse
import importlib

HELP = "run a benchmark (rnnlm: training speed of the chapter-4 language models)"

# name -> module exposing HELP, add_arguments(parser) and run(args) -> int.
BENCHMARKS: dict[str, str] = {
    "rnnlm": "grader.bench.rnnlm",
    "mrnn": "grader.bench.mrnn",
    "autograde": "grader.bench.autograde",
    "similarity": "grader.bench.similarity",
    "figures": "grader.bench.figures",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="benchmark", metavar="NAME", required=True)
    for name, module_name in BENCHMARKS.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            sub.add_parser(name, help=f"(unavailable here: {exc})")
            continue
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_bench_run=module.run)


def run(args: argparse.Namespace) -> int:
    if not hasattr(args, "_bench_run"):
        print(f"grader bench: benchmark '{args.benchmark}' is not available in this installation")
        return 2
    return int(args._bench_run(args) or 0)
