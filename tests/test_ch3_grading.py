"""Chapter 3's exercise under real nbgrader runs: named mistakes cost exactly their question.

Each test submits a copy of the instructor's solution with one plausible mistake put in,
autogrades it with nbgrader, and reads both the gradebook (points per question) and the
autograded notebook (the message the student would read).
"""
import functools
from pathlib import Path

import pytest

from grader.course import make_course

import grading_helpers

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "03_embeddings"
SOLUTION = ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return make_course(tmp_path_factory.mktemp("course3"), [ASSIGNMENT])


mutate = functools.partial(grading_helpers.mutate, SOLUTION)
grade = functools.partial(grading_helpers.grade, assignment=ASSIGNMENT)


def test_scatter_bug_loses_the_backward_question_and_the_model_questions(course, tmp_path):
    # The classic mistake: a buffered fancy-index update instead of an unbuffered add.
    wrong = mutate(tmp_path / "bug.ipynb", "q3-embedding-backward",
                   "np.add.at(dW, np.asarray(ids), dout)", "dW[ids] += dout")
    points, maximum, errors = grade(course, "scatter-bug", wrong)
    assert points["q3-tests"] == 0 < maximum["q3-tests"] == 3
    # The visible tests of the whole model (7) and of training (8) use repeated letters, so
    # they see the wrong gradient too; every other question keeps its full marks.
    lost = {"q3-tests", "q7-tests", "q8-tests"}
    assert all(points[k] == 0 for k in lost)
    assert {k: v for k, v in points.items() if k not in lost} == \
        {k: v for k, v in maximum.items() if k not in lost}
    assert set(errors) == lost
    assert "Question 3" in errors["q7-tests"] and "Question 3" in errors["q8-tests"]
    message = errors["q3-tests"]
    assert message.startswith("CheckFailure: embedding_backward(dout, [[0, 2, 0]], V=4) is wrong")
    assert "you wrote dW[ids] += dout" in message
    assert "only its last occurrence counts" in message


def test_gradient_not_divided_by_n_earns_partial_marks(course, tmp_path):
    # A plausible slip: the loss is a mean, but its gradient is left N times too large.
    wrong = mutate(tmp_path / "nodiv.ipynb", "q6-softmax-ce",
                   "return float(loss), dlogits / N", "return float(loss), dlogits")
    points, maximum, errors = grade(course, "no-divide", wrong)
    total, best = sum(points.values()), sum(maximum.values())
    assert points["q6-tests"] == 0
    # The model's gradient check (question 7) sees the wrong gradient too; Adam is blind to
    # a constant factor, so training (8) and the rest still earn their points.
    assert points["q7-tests"] == 0
    for question in ("q1", "q2", "q3", "q4", "q5", "q8", "q9"):
        assert points[f"{question}-tests"] == maximum[f"{question}-tests"], question
    assert 0 < total < best
    assert set(errors) == {"q6-tests", "q7-tests"}
    assert "you forgot to divide the gradient by N" in errors["q6-tests"]
    assert "disagrees with the numerical gradient" in errors["q7-tests"]
