"""Chapter 6's exercise under real nbgrader runs: the solution earns every point, and a
classic mistake costs its own question, named in the message the student reads.

Each test submits a copy of the instructor's solution with one mistake put in, autogrades
it with nbgrader (hidden tests included), and reads the gradebook and the autograded
notebook.
"""
import functools
from pathlib import Path

import nbformat
import pytest

from grader.course import make_course

import grading_helpers

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "06_tang_poems"
SOLUTION = ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return make_course(tmp_path_factory.mktemp("course6"), [ASSIGNMENT])


mutate = functools.partial(grading_helpers.mutate, SOLUTION)
grade = functools.partial(grading_helpers.grade, assignment=ASSIGNMENT)
only_question_lost = grading_helpers.only_question_lost


def test_the_solution_earns_every_point(course, tmp_path):
    points, maximum, errors = grade(course, "solution", SOLUTION)
    assert errors == {} and points == maximum
    assert len(maximum) == 5 and sum(maximum.values()) == 12


def test_overflowing_softmax_loses_only_the_draw(course, tmp_path):
    # No max subtracted: at a low temperature np.exp overflows. Question 4's hidden tests
    # use the reference's draw, so the mistake costs Question 3 only.
    wrong = mutate(tmp_path / "overflow.ipynb", "q3-sample-next",
                   "p = np.exp(z - z.max())", "p = np.exp(z)")
    points, maximum, errors = grade(course, "overflow", wrong)
    only_question_lost(points, maximum, "q3-tests")
    assert set(errors) == {"q3-tests"}
    assert "subtract the largest score first" in errors["q3-tests"]


def test_a_state_that_is_not_carried_loses_the_poem_question(course, tmp_path):
    wrong = mutate(tmp_path / "carry.ipynb", "q4-write-poem",
                   "        h = np.tanh(E[c] @ Wx + h @ Wh + b)\n    return new",
                   "        h = np.tanh(E[c] @ Wx + b)\n    return new")
    points, maximum, errors = grade(course, "no-carry", wrong)
    only_question_lost(points, maximum, "q4-tests")
    assert "the state restarts from zeros at every new character" in errors["q4-tests"]


def test_ties_in_first_seen_order_lose_the_vocabulary_question(course, tmp_path):
    wrong = mutate(tmp_path / "ties.ipynb", "q2-vocabulary",
                   "chars = sorted((c for c, n in counts.items() if n >= min_count), "
                   "key=lambda c: (-counts[c], c))",
                   "chars = [c for c, n in counts.most_common() if n >= min_count]")
    points, maximum, errors = grade(course, "ties", wrong)
    only_question_lost(points, maximum, "q2-tests")
    assert "in the order they first appear" in errors["q2-tests"]


def test_the_exercise_is_the_solution_without_answers():
    exercise = nbformat.read(ROOT / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    text = "\n".join(c.source for c in exercise.cells)
    assert "BEGIN SOLUTION" not in text and "HIDDEN" not in text
    assert "z - z.max()" not in text and "grader.reference" not in text
    stubs = [c for c in exercise.cells
             if c.cell_type == "code" and "raise NotImplementedError()" in c.source]
    assert len(stubs) == 5
