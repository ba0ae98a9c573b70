"""Instructor-side experiments behind the book's numbers, runnable as ``python -m grader.experiments.NAME``.

Each module prints JSON lines (one per epoch, then one result line) and exposes the same
experiment as a function returning a dict, for notebooks and tests.
"""
