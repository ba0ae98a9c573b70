"""A catalogue of classic student mistakes, and the notebooks that make them.

Each chapter's module (``ch1.py`` ... ``ch6.py``) lists plausible wrong answers a student
writes: the answer cell they are written in, the test cell that must fail because of them,
the edit that turns the instructor's solution into the mistake, and the words the student
must read in that test's self-check message (``python -m grader check``).

All of a chapter's mistakes are checked in one kernel: :func:`write_notebook` appends, for
each mistake, the wrong answer, the test cell and the right answer again to the answered
notebook, so that a chapter's whole catalogue costs one run of the self-check.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import nbformat

import student_helpers

CHAPTERS = ("ch1", "ch2", "ch3", "ch4", "ch5", "ch6")


@dataclass(frozen=True)
class Mistake:
    """One wrong answer: ``old`` replaced by ``new`` (once each) in the answer cell ``answer``.

    ``old``/``new`` are strings, or tuples of strings for a mistake made in several places.
    ``words`` must all appear (case-insensitive) in the failing test's message and hint.
    """
    id: str
    answer: str
    test: str
    old: str | tuple[str, ...]
    new: str | tuple[str, ...]
    words: tuple[str, ...]

    def apply(self, source: str) -> str:
        olds = (self.old,) if isinstance(self.old, str) else self.old
        news = (self.new,) if isinstance(self.new, str) else self.new
        assert len(olds) == len(news), self.id
        for old, new in zip(olds, news):
            assert source.count(old) == 1, f"{self.id}: {old!r} is not once in {self.answer}"
            source = source.replace(old, new)
        return source


def M(id: str, answer: str, test: str, old, new, *words: str) -> Mistake:
    return Mistake(id, answer, test, old, new, words)


def catalogue() -> dict[str, tuple[str, list[Mistake]]]:
    """chapter -> (assignment, its mistakes)."""
    import importlib

    out = {}
    for chapter in CHAPTERS:
        module = importlib.import_module(f"mistakes.{chapter}")
        out[chapter] = (module.ASSIGNMENT, list(module.MISTAKES))
    return out


def write_notebook(assignment: str, entries: list[Mistake], target: Path) -> Path:
    """One notebook that makes every mistake of ``entries``, each in turn.

    It is the released notebook answered with the solution (its test cells are the
    baseline: they all pass), followed, for each mistake, by three cells: the answer cell
    with the mistake put in, a copy of the test cell that must catch it, and the answer cell
    as the solution writes it again, so that the next mistake starts from correct answers.
    Its self-check lists the baseline's questions, then one per mistake, in that order.
    """
    answers = student_helpers.solution_answers(assignment)
    student_helpers.answered(target, answers, student_helpers.exercise_path(assignment))
    nb = nbformat.read(target, as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    for i, m in enumerate(entries):
        added = [copy.deepcopy(cells[m.answer]), copy.deepcopy(cells[m.test]),
                 copy.deepcopy(cells[m.answer])]
        added[0].source = m.apply(answers[m.answer])
        for cell, part in zip(added, ("wrong", "test", "again")):
            cell.id = f"mistake-{i}-{part}"     # cell ids stay unique (grade ids do not)
        nb.cells += added
    nbformat.write(nb, target)
    return target
