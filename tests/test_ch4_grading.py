"""Chapter 4's exercise under real nbgrader runs: the classic mistakes lose their points, by name.

Each test submits a copy of the instructor's solution with one classic mistake put in,
autogrades it with nbgrader (the final training run reads the first 1000 words of PTB that
the kit ships, ``grader.exercise_data``, wherever it runs), and reads both the gradebook
(points per question) and the autograded notebook (the message the student would read).
"""
import functools
from pathlib import Path

import pytest

from grader.course import make_course

import grading_helpers

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "04_rnnlm"
SOLUTION = ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return make_course(tmp_path_factory.mktemp("course4"), [ASSIGNMENT])


mutate = functools.partial(grading_helpers.mutate, SOLUTION)
grade = functools.partial(grading_helpers.grade, assignment=ASSIGNMENT)


def full_marks_except(points, maximum, lost):
    return {k: v for k, v in points.items() if k not in lost} == \
        {k: v for k, v in maximum.items() if k not in lost}


def test_softmax_without_the_maximum_loses_the_loss_question(course, tmp_path):
    wrong = mutate(tmp_path / "overflow.ipynb", "q5-softmax-loss",
                   "z = x2 - x2.max(axis=1, keepdims=True)", "z = x2")
    points, maximum, errors = grade(course, "no-max", wrong)
    assert points["q5-tests"] == 0 < maximum["q5-tests"]
    # The 1000-word run never sees scores near 1000: everything else keeps its marks.
    assert full_marks_except(points, maximum, {"q5-tests"})
    assert set(errors) == {"q5-tests"}
    assert "the loss of scores around 1000" in errors["q5-tests"]
    assert "softmax without subtracting the maximum" in errors["q5-tests"]
    assert 0 < sum(points.values()) < sum(maximum.values())


def test_perplexity_as_a_mean_of_exponentials_loses_the_perplexity_question(course, tmp_path):
    wrong = mutate(tmp_path / "meanexp.ipynb", "q7-perplexity",
                   "return float(np.exp(np.mean(batch_losses)))",
                   "return float(np.mean(np.exp(batch_losses)))")
    points, maximum, errors = grade(course, "mean-of-exps", wrong)
    assert points["q7-tests"] == 0 < maximum["q7-tests"]
    assert full_marks_except(points, maximum, {"q7-tests"})
    assert set(errors) == {"q7-tests"}
    assert errors["q7-tests"].startswith("CheckFailure: perplexity([log 2, log 8]) is wrong")
    assert "a mean of exponentials" in errors["q7-tests"]


def test_forgetting_the_state_between_batches_loses_the_forward_question(course, tmp_path):
    wrong = mutate(tmp_path / "stateless.ipynb", "q2-time-rnn",
                   "h = self.h if (self.stateful and self.h is not None) else np.zeros((N, H))",
                   "h = np.zeros((N, H))")
    points, maximum, errors = grade(course, "stateless", wrong)
    assert points["q2-tests"] == 0 < maximum["q2-tests"]
    assert "the states of a second forward call (steps 4-6) is wrong" in errors["q2-tests"]
    assert "not carrying the hidden state between batches" in errors["q2-tests"]
    # The backward question starts from a given initial state, and the model question
    # checks two batches in a row: both depend on the carried state too.  The questions
    # that do not involve the recurrent layer keep their marks.
    for question in ("q1", "q4", "q5", "q6", "q7"):
        assert points[f"{question}-tests"] == maximum[f"{question}-tests"], question
    assert 0 < sum(points.values()) < sum(maximum.values())
