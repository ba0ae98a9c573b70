"""Every classic mistake of the catalogue (``tests/mistakes/``) fails its question, by name.

For each chapter the catalogue's wrong answers are put, one after the other, into one
notebook (:func:`mistakes.write_notebook`), which is run through the student's self-check
(:func:`grader.grading.selfcheck.check_notebook`, what ``python -m grader check`` runs),
and every mistake's test cell must have failed with a message that names the mistake: its
words, not only "X is wrong".
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

import mistakes
from grader.grading import selfcheck

CATALOGUE = mistakes.catalogue()
MIN_PER_CHAPTER = 10


def _check(path: Path) -> tuple[dict, float]:
    """One notebook's self-check, as ``python -m grader check --json`` reports it, and its time."""
    start = time.perf_counter()
    result = selfcheck.check_notebook(path).to_dict()
    return result, time.perf_counter() - start


def test_catalogue_is_well_formed():
    """Each chapter has enough entries, every edit applies once, ids are unique."""
    for chapter, (assignment, entries) in CATALOGUE.items():
        assert len(entries) >= MIN_PER_CHAPTER, chapter
        ids = [m.id for m in entries]
        assert len(ids) == len(set(ids)), chapter
        answers = mistakes.student_helpers.solution_answers(assignment)
        for m in entries:
            assert m.apply(answers[m.answer]) != answers[m.answer], m.id
            assert m.words, m.id


@pytest.mark.parametrize("chapter", mistakes.CHAPTERS)
def test_every_mistake_is_named(chapter, tmp_path):
    assignment, entries = CATALOGUE[chapter]
    result, seconds = _check(mistakes.write_notebook(assignment, entries, tmp_path / "nb.ipynb"))
    assert not result.get("error"), result
    questions = result["questions"]
    baseline = questions[:len(questions) - len(entries)]
    assert [q["grade_id"] for q in baseline if not q["passed"]] == [], baseline
    problems = []
    for m, q in zip(entries, questions[len(baseline):]):
        assert q["grade_id"] == m.test, (m.id, q["grade_id"])
        text = f"{q['message']}\n{q['hint']}"
        missing = [w for w in m.words if w.lower() not in text.lower()]
        if q["status"] != selfcheck.FAILED or missing:
            problems.append(f"{m.id} ({m.test}: {q['status']}; missing {missing}):\n{text}")
    print(f"{chapter}: {len(entries)} mistakes checked in one run of {seconds:.1f} s")
    assert not problems, f"{len(problems)} of {len(entries)} mistakes not named:\n\n" + \
        "\n\n".join(problems)
