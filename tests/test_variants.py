"""Every correct variant of the catalogue (``tests/variants/``) passes, all at once.

The twin of ``tests/test_mistakes.py``: for each chapter the solution's answers, with every
variant of the catalogue applied, are put into the released notebook and run through the
student's self-check (what ``python -m grader check`` runs); every question must pass.  The
hidden tests see these variants when the scripted class is graded (its independent students
take each variant with probability 1/2, and must earn full marks).
"""
from __future__ import annotations

import random

import pytest
import student_helpers
import variants

from grader.grading import selfcheck

CATALOGUE = variants.catalogue()


def test_catalogue_is_well_formed():
    for chapter, (assignment, entries) in CATALOGUE.items():
        assert len(entries) >= 5, chapter
        ids = [v.id for v in entries]
        assert len(ids) == len(set(ids)), chapter
        answers = student_helpers.solution_answers(assignment)
        styled, taken = variants.styled_answers(answers, entries, random.Random(0), p=1.0)
        assert taken == ids, (chapter, set(ids) - set(taken))   # every edit applies, in turn


@pytest.mark.parametrize("chapter", variants.CHAPTERS)
def test_every_variant_passes_the_visible_tests(chapter, tmp_path):
    assignment, entries = CATALOGUE[chapter]
    answers = student_helpers.solution_answers(assignment)
    styled, _ = variants.styled_answers(answers, entries, random.Random(0), p=1.0)
    path = student_helpers.answered(tmp_path / "nb.ipynb", styled,
                                    student_helpers.exercise_path(assignment))
    result = selfcheck.check_notebook(path).to_dict()
    assert not result.get("error"), result
    failed = [(q["grade_id"], q["message"]) for q in result["questions"] if not q["passed"]]
    assert failed == [], failed
