"""Chapter 5's exercise under real nbgrader runs: named mistakes cost their question.

Each test submits a copy of the instructor's solution with one classic mistake put in,
autogrades it with nbgrader, and reads both the gradebook (points per question) and the
autograded notebook (the message the student would read).
"""
import functools
from pathlib import Path

import nbformat
import pytest

from grader.course import make_course

import grading_helpers

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "05_mrnn"
SOLUTION = ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return make_course(tmp_path_factory.mktemp("course5"), [ASSIGNMENT])


mutate = functools.partial(grading_helpers.mutate, SOLUTION)
grade = functools.partial(grading_helpers.grade, assignment=ASSIGNMENT)
only_question_lost = grading_helpers.only_question_lost


def test_points_total(course):
    nb = nbformat.read(SOLUTION, as_version=4)
    points = [c.metadata["nbgrader"]["points"] for c in nb.cells
              if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(points) >= 6 and 12 <= sum(points) <= 20


def test_exponential_noise_loses_exactly_the_noise_question(course, tmp_path):
    # The classic mistake: one logarithm instead of two, -log(U) (exponential noise).
    wrong = mutate(tmp_path / "exp.ipynb", "q1-gumbel-noise",
                   "return -np.log(-np.log(u))", "return -np.log(u)")
    points, maximum, errors = grade(course, "exp-noise", wrong)
    only_question_lost(points, maximum, "q1-tests")
    assert set(errors) == {"q1-tests"}
    message = errors["q1-tests"]
    assert message.startswith("CheckFailure: gumbel_noise((2, 3), np.random.default_rng(0)) is wrong")
    assert "you used -log(U), which is exponential noise" in message


def test_unclipped_schedule_loses_exactly_the_schedule_question(course, tmp_path):
    # The schedule that forgets its floor: tau keeps falling below tau_min.
    wrong = mutate(tmp_path / "clip.ipynb", "q7-temperature",
                   "return float(max(tau0 * np.exp(-rate * epoch), tau_min))",
                   "return float(tau0 * np.exp(-rate * epoch))")
    points, maximum, errors = grade(course, "no-clip", wrong)
    only_question_lost(points, maximum, "q7-tests")
    assert set(errors) == {"q7-tests"}
    assert "the schedule is not clipped at tau_min" in errors["q7-tests"]


def test_forgetting_tau_costs_the_sample_and_the_step(course, tmp_path):
    # No division by the temperature: Question 2 is wrong, and the visible tests of
    # Question 4 (which call the student's gumbel_softmax) fail too; nothing else does.
    wrong = mutate(tmp_path / "tau.ipynb", "q2-gumbel-softmax",
                   "return softmax((logits + noise) / tau)", "return softmax(logits + noise)")
    points, maximum, errors = grade(course, "no-tau", wrong)
    assert points["q2-tests"] == points["q4-tests"] == 0
    for question in ("q1", "q3", "q5", "q6", "q7"):
        assert points[f"{question}-tests"] == maximum[f"{question}-tests"], question
    assert set(errors) == {"q2-tests", "q4-tests"}
    assert "you forgot to divide by the temperature tau" in errors["q2-tests"]
