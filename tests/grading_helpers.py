"""Helpers shared by the chapters' grading tests: mutate a solution, grade it for real.

Each chapter test submits a copy of the instructor's solution with one plausible mistake
put in, autogrades it with nbgrader, and reads both the gradebook (points per question)
and the autograded notebook (the message the student would read).
"""
from __future__ import annotations

from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def solution_path(assignment: str) -> Path:
    return ROOT / "solutions" / assignment / f"{assignment}.ipynb"


def mutate(source: Path, target: Path, grade_id: str, old: str, new: str) -> Path:
    """A copy of ``source`` with ``old`` replaced by ``new`` (once) in the cell ``grade_id``."""
    nb = nbformat.read(source, as_version=4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    assert cell.source.count(old) == 1, f"{old!r} not found once in {grade_id}"
    cell.source = cell.source.replace(old, new)
    nbformat.write(nb, target)
    return target


def grade(course, student: str, notebook: Path, *, assignment: str):
    """Autograde ``notebook`` as ``student``'s submission.

    Returns ``(points, maximum, errors)``: dicts keyed by test cell grade id, the last one
    holding ``"Name: message"`` of each error output in the autograded notebook.
    """
    name = solution_path(assignment).name
    course.submit(student, assignment, notebook, name=name)
    proc = course.autograde(assignment, student)
    assert proc.returncode == 0, proc.stderr[-3000:]
    scores = course.scores(assignment, student)
    graded = nbformat.read(course.root / "autograded" / student / assignment / name, as_version=4)
    errors = {}
    for cell in graded.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                errors[grade_id] = f"{output.ename}: {output.evalue}"
    points = {k: q.score for k, q in scores.items()}
    maximum = {k: q.max_score for k, q in scores.items()}
    return points, maximum, errors


def only_question_lost(points: dict, maximum: dict, question: str) -> None:
    """Assert that the submission lost every point of ``question`` and none elsewhere."""
    assert points[question] == 0 < maximum[question]
    assert {k: v for k, v in points.items() if k != question} == \
        {k: v for k, v in maximum.items() if k != question}


def build_once(tmp_path_factory, name: str, build):
    """``build(folder)``, run once per test run and shared by every pytest-xdist worker.

    The first worker to ask builds under a file lock and pickles the result into a folder
    all workers of the run share; the others wait for it and read it.  For fixtures that
    grade a whole batch (minutes of kernels): graded once, whichever tests ask."""
    import fcntl
    import os
    import pickle

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent            # shared by the workers of this run
    shared = base / name
    shared.mkdir(exist_ok=True)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        cached = shared / "result.pickle"
        if cached.exists():
            return pickle.loads(cached.read_bytes())
        result = build(shared)
        cached.write_bytes(pickle.dumps(result))
        return result
