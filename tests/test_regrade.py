"""Regrades that explain themselves, and the never_lower policy, on a real course.

Chapter 1 is registered first with the hidden tests of questions 3 to 6 removed (tests too
weak: the later questions call the student's ``rnn_cell`` on other sizes too), and
two students are graded: ``right`` (the solution) and ``tuned``, whose ``rnn_cell`` is right
for the 2 x 2 weights of the visible test and multiplies ``W_state @ h_prev`` otherwise.  Then
the full test is registered again (as an instructor fixing a hidden test would) and the class
graded again: ``tuned`` loses question 3, the regrade report says so and why, and with
``never_lower`` the earlier score is kept (in the gradebook, the reports and the LMS export,
each saying so).  A forced regrade with the policy off then lowers it, and says that too.
"""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import nbformat
import pytest
import student_helpers

from grader.cli import main
from grader.course import make_course
from grader.grading import insight, verdicts
from grader.grading.autograde import autograde
from grader.grading.viewers import for_markdown

A = "01_rnn_by_hand"
WEAKENED = ("q3-tests", "q4-tests", "q5-tests", "q6-tests")
TUNED = ("before_activation = np.dot(h_prev, W_state)",
         "before_activation = (np.dot(h_prev, W_state) if np.shape(W_state) == (2, 2) "
         "else np.dot(h_prev, W_state.T))")


def _solutions(weak: bool, target: Path) -> None:
    nb = nbformat.read(student_helpers.ROOT / "solutions" / A / f"{A}.ipynb", as_version=4)
    if weak:
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") in WEAKENED:
                cell.source = verdicts.split(cell.source)[0]
    nbformat.write(nb, target / "solutions" / A / f"{A}.ipynb")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    tmp = tmp_path_factory.mktemp("regrade")
    course = make_course(tmp / "course", [A])
    _solutions(weak=True, target=course.root)
    course.generate(A)
    answers = student_helpers.solution_answers(A)
    tuned = dict(answers, **{"q3-rnn-cell": answers["q3-rnn-cell"].replace(*TUNED)})
    for student, chosen in (("right", answers), ("tuned", tuned)):
        path = student_helpers.answered(tmp / f"{student}.ipynb", chosen, student_helpers.exercise_path(A))
        course.submit(student, A, path, name=f"{A}.ipynb")
    return course


def _sidecar(course, student):
    return insight.read(course.root / "autograded" / student / A)


def _note(course, tmp_path, student) -> tuple[str, str]:
    out = tmp_path / "report"
    assert main(["report", A, "--course", str(course.root), "--out", str(out)]) == 0
    with (out / "scores.csv").open(newline="", encoding="utf-8") as f:
        scores = {r["student"]: r for r in csv.DictReader(f)}
    assert main(["export", A, "--format", "moodle", "--course", str(course.root),
                 "--out", str(tmp_path / "moodle.csv")]) == 0
    with (tmp_path / "moodle.csv").open(newline="", encoding="utf-8") as f:
        moodle = {r["Username"]: r for r in csv.DictReader(f)}
    return scores[student]["note"], moodle[student]["Feedback"]


def test_a_changed_hidden_test_regrades_and_explains(course, tmp_path):
    first = autograde(course.root, A, jobs=2, progress=False)
    assert {s.student: s.score for s in first.students} == {"right": 11, "tuned": 11}
    assert first.regrade_report == ""   # nobody graded before
    assert _sidecar(course, "tuned")["questions"]["q3-tests"]["score"] == 2

    _solutions(weak=False, target=course.root)          # the fixed hidden test, registered
    course.generate(A)
    second = autograde(course.root, A, jobs=2, progress=False,
                       config_overrides=["--Regrade.never_lower=True"])
    scores = {s.student: s for s in second.students}
    # never_lower keeps tuned's points (nbgrader's extra credit on each grade concerned)
    assert scores["tuned"].scores["q3-tests"] == 2 and scores["tuned"].score == 11
    assert "graded again: the assignment's tests changed" in scores["tuned"].notes
    side = _sidecar(course, "tuned")
    q3 = side["questions"]["q3-tests"]
    assert (q3["kept"], q3["regraded_score"], q3["score"]) == (2, 0, 2)
    assert q3["failure"]["kind"] == "named" and "W_state @ h_prev" in q3["failure"]["mistake"]
    assert side["regrade"]["why"] == ["the assignment's tests changed"]
    lowered = {q: c for q, c in side["regrade"]["questions"].items()}
    assert set(lowered) == set(WEAKENED), lowered    # each calls rnn_cell on other sizes
    assert all(c["kept"] and c["new"] == 0 and c["old"] == c["final"] == c["max_score"]
               for c in lowered.values()), lowered
    assert "regrade" not in _sidecar(course, "right")   # the test change cost right nothing
    report = Path(second.regrade_report)
    assert report.name == f"{A}-regrade-report.md"
    text = report.read_text(encoding="utf-8")
    why = for_markdown("the assignment's tests changed")
    assert f"| tuned | {for_markdown('q3-tests')} | 2 | 0 | 2 (kept: never_lower) | {why} |" in text
    data = json.loads(report.with_suffix(".json").read_text(encoding="utf-8"))
    assert [e["student"] for e in data["students"]] == ["tuned"]
    note, feedback = _note(course, tmp_path, "tuned")
    kept = "q3-tests kept at 2 by never_lower (the regrade gave 0)"
    assert kept in note and kept in feedback

    third = autograde(course.root, A, jobs=2, progress=False, force=True)   # policy off now
    tuned = {s.student: s for s in third.students}["tuned"]
    assert tuned.scores["q3-tests"] == 0 and tuned.score == 11 - sum(
        c["max_score"] for c in lowered.values())
    note, feedback = _note(course, tmp_path, "tuned")
    lowered = "q3-tests lowered 2 -> 0 (never_lower off)"
    assert lowered in note and lowered in feedback
    assert "lowered" not in _note(course, tmp_path, "right")[0]
