"""Benchmarks, run with ``python -m grader bench NAME``.

A benchmark is a module exposing ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int``, registered in ``grader.cli.bench.BENCHMARKS``.
"""
