"""A catalogue of correct answers written in other styles, and the notebooks that use them.

The twin of ``tests/mistakes/``: each chapter's module (``ch1.py`` ... ``ch6.py``) lists
edits that turn the instructor's solution into another *correct* way of writing it (``@``
instead of ``np.dot``, a loop instead of a vectorised line, an intermediate variable, a
helper of one's own).  A student of the scripted class (``tests/submissions/make_class.py``)
who works on their own picks, per entry, the solution's way or the variant, seeded, so that
independent students write different code; ``tests/test_variants.py`` runs every variant
through the self-check, and the scripted class grades them (every such student earns full
marks).  The similarity benchmark (``python -m grader bench similarity``) measures that no
two of them are taken for a copy.
"""
from __future__ import annotations

import importlib
import random
from dataclasses import dataclass

CHAPTERS = ("ch1", "ch2", "ch3", "ch4", "ch5", "ch6")


@dataclass(frozen=True)
class Variant:
    """``old`` replaced by ``new`` (once) in the answer cell ``answer``: still correct."""
    id: str
    answer: str
    old: str
    new: str

    def apply(self, source: str) -> str:
        assert source.count(self.old) == 1, f"{self.id}: {self.old!r} is not once in {self.answer}"
        return source.replace(self.old, self.new)


def V(id: str, answer: str, old: str, new: str) -> Variant:
    return Variant(id, answer, old, new)


def catalogue() -> dict[str, tuple[str, list[Variant]]]:
    """chapter -> (assignment, its variants)."""
    out = {}
    for chapter in CHAPTERS:
        module = importlib.import_module(f"variants.{chapter}")
        out[chapter] = (module.ASSIGNMENT, list(module.VARIANTS))
    return out


def by_assignment() -> dict[str, list[Variant]]:
    return {assignment: entries for assignment, entries in catalogue().values()}


def styled_answers(answers: dict[str, str], entries: list[Variant], rng: random.Random,
                   p: float = 0.5) -> tuple[dict[str, str], list[str]]:
    """``answers`` with each variant taken with probability ``p``; and the ids taken.

    Variants of one answer cell are applied in catalogue order and skipped when an earlier
    one already changed their text."""
    out, taken = dict(answers), []
    for v in entries:
        if rng.random() < p and out[v.answer].count(v.old) == 1:
            out[v.answer] = v.apply(out[v.answer])
            taken.append(v.id)
    return out, taken
