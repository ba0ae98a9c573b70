"""What a student's finished notebook looks like, built without any secret reaching it.

The released notebook (``exercises/``: visible tests only, hidden tests stripped by
nbgrader) with each answer cell replaced by the solution notebook's cell of the same
``grade_id``, its ``### BEGIN/END SOLUTION`` marker lines removed.
"""
from __future__ import annotations

from pathlib import Path

import nbformat

from grader import leaks

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = sorted(p.name for p in (ROOT / "exercises").iterdir()
                     if (p / f"{p.name}.ipynb").is_file())


def exercise_path(assignment: str) -> Path:
    return ROOT / "exercises" / assignment / f"{assignment}.ipynb"


def solution_answers(assignment: str) -> dict[str, str]:
    """grade_id -> source of every answer cell of the solution notebook, markers removed."""
    solution = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    answers = {}
    for cell in nbformat.read(solution, as_version=4).cells:
        md = cell.metadata.get("nbgrader", {})
        if md.get("solution"):
            answers[md["grade_id"]] = "\n".join(
                line for line in cell.source.splitlines()
                if not leaks.BEGIN.search(line) and not leaks.END.search(line))
    return answers


def answered(target: Path, answers: dict[str, str], source: Path) -> Path:
    """Write ``source`` to ``target`` with the cells named in ``answers`` replaced."""
    nb = nbformat.read(source, as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    nbformat.write(nb, target)
    return target


def filled_exercise(assignment: str, target: Path, source: Path | None = None) -> Path:
    """The released notebook (or ``source``, a copy of it) with every answer filled in."""
    source = source or exercise_path(assignment)
    answers = solution_answers(assignment)
    released = {c.metadata.get("nbgrader", {}).get("grade_id")
                for c in nbformat.read(source, as_version=4).cells
                if c.metadata.get("nbgrader", {}).get("solution")}
    assert released == set(answers), f"{assignment}: answer cells differ from the solution's"
    return answered(target, answers, source)
