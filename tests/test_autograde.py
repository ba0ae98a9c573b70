"""Real nbgrader runs: solutions earn full marks, blank exercises zero, mistakes part."""
from pathlib import Path

import pytest

from grader.course import make_course
from grader.release import assignments

from grading_helpers import mutate

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = assignments()


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return make_course(tmp_path_factory.mktemp("course"), ASSIGNMENTS)


def _notebook(kind: str, assignment: str) -> Path:
    (path,) = sorted((ROOT / kind / assignment).glob("*.ipynb"))
    return path


def _grade(course, student, assignment, notebook: Path):
    course.submit(student, assignment, notebook, name=_notebook("solutions", assignment).name)
    proc = course.autograde(assignment, student)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return course.scores(assignment, student)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_earns_full_marks(course, assignment):
    scores = _grade(course, "solution", assignment, _notebook("solutions", assignment))
    assert scores and all(q.score == q.max_score for q in scores.values()), scores


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_blank_exercise_earns_zero(course, assignment):
    scores = _grade(course, "blank", assignment, _notebook("exercises", assignment))
    assert scores and all(q.score == 0 for q in scores.values()), scores




def test_forgetting_tanh_earns_partial_marks(course, tmp_path):
    a = "01_rnn_by_hand"
    wrong = mutate(_notebook("solutions", a), tmp_path / "wrong.ipynb", "q3-rnn-cell",
                   "np.tanh(before_activation)", "before_activation")
    scores = _grade(course, "no-tanh", a, wrong)
    earned = {k: q.score for k, q in scores.items()}
    assert earned["q3-tests"] == earned["q4-tests"] == earned["q6-tests"] == 0
    assert earned["q1-tests"] == 2 and earned["q2-tests"] == 1
    assert 0 < sum(earned.values()) < sum(q.max_score for q in scores.values())
