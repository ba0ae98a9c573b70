"""Chapter 2 graded by real nbgrader runs: wrong answers lose exactly their points, and say why.

A forward pass that multiplies raw probabilities is right on short sequences and underflows
on long ones: it must keep the points of Question 3, lose those of Question 4 (long
sequences) and tell the student that the probabilities underflowed.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from grader.course import make_course

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "02_hmm_dice"
SOURCE = ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
SOLUTION_REGION = re.compile(r"### BEGIN SOLUTION\n.*?### END SOLUTION", re.S)

# The textbook recursion on raw probabilities; it normalises only at the end, so it is
# right for short sequences and gives -inf and NaN once the products underflow.
NAIVE_FORWARD = """\
### BEGIN SOLUTION
    T, K = len(obs), len(start)
    joint = np.zeros((T, K))
    joint[0] = start * B[:, obs[0]]
    for t in range(1, T):
        joint[t] = (joint[t - 1] @ A) * B[:, obs[t]]
    totals = joint.sum(axis=1)
    scales = totals / np.concatenate([[1.0], totals[:-1]])
    return joint / totals[:, None], float(np.log(totals[-1])), scales
    ### END SOLUTION"""


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return make_course(tmp_path_factory.mktemp("course"), [ASSIGNMENT])


def _cell(nb, grade_id):
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    return cell


def with_solution(target: Path, grade_id: str, region: str) -> Path:
    """A copy of the solution notebook whose solution region in ``grade_id`` is ``region``."""
    nb = nbformat.read(SOURCE, as_version=4)
    cell = _cell(nb, grade_id)
    cell.source, n = SOLUTION_REGION.subn(lambda _: region, cell.source, count=1)
    assert n == 1
    nbformat.write(nb, target)
    return target


def with_replacement(target: Path, grade_id: str, old: str, new: str) -> Path:
    """A copy of the solution notebook with ``old`` replaced by ``new`` in the cell ``grade_id``."""
    nb = nbformat.read(SOURCE, as_version=4)
    cell = _cell(nb, grade_id)
    assert old in cell.source
    cell.source = cell.source.replace(old, new)
    nbformat.write(nb, target)
    return target


def grade(course, student: str, notebook: Path) -> dict[str, float]:
    course.submit(student, ASSIGNMENT, notebook, name=SOURCE.name)
    proc = course.autograde(ASSIGNMENT, student)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {name: q.score for name, q in course.scores(ASSIGNMENT, student).items()}


def max_scores(course, student: str) -> dict[str, float]:
    return {name: q.max_score for name, q in course.scores(ASSIGNMENT, student).items()}


def error_messages(course, student: str) -> dict[str, str]:
    """What each failing test cell of the autograded notebook told the student."""
    path = course.root / "autograded" / student / ASSIGNMENT / SOURCE.name
    nb = nbformat.read(path, as_version=4)
    messages = {}
    for cell in nb.cells:
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        if errors:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            messages[grade_id] = "\n".join(f"{o.ename}: {o.evalue}" for o in errors)
    return messages


def test_naive_forward_loses_the_long_sequence_points_and_says_why(course, tmp_path):
    naive = with_solution(tmp_path / "naive.ipynb", "q3-forward", NAIVE_FORWARD)
    earned = grade(course, "naive-forward", naive)
    best = max_scores(course, "naive-forward")
    assert earned["q3-tests"] == best["q3-tests"] == 3        # short sequences: right
    assert earned["q4-tests"] == 0 and best["q4-tests"] == 2  # long sequences: underflow
    for question in ("q1-tests", "q2-tests", "q5-tests", "q6-tests"):  # independent of forward
        assert earned[question] == best[question], question
    assert 0 < sum(earned.values()) < sum(best.values())

    messages = error_messages(course, "naive-forward")
    assert "CheckFailure" in messages["q4-tests"]
    assert "underflowed to 0" in messages["q4-tests"]
    assert "scale each step or work with logarithms" in messages["q4-tests"]
    assert "q3-tests" not in messages


def test_normalising_columns_when_counting_earns_partial_marks(course, tmp_path):
    columns = with_replacement(tmp_path / "columns.ipynb", "q6-counting",
                               "totals = counts.sum(axis=-1, keepdims=True)",
                               "totals = counts.sum(axis=0, keepdims=True)")
    earned = grade(course, "columns", columns)
    best = max_scores(course, "columns")
    assert earned["q6-tests"] == 0
    assert {q: s for q, s in earned.items() if q != "q6-tests"} == \
        {q: s for q, s in best.items() if q != "q6-tests"}
    assert "normalised the columns instead of the rows" in error_messages(course, "columns")["q6-tests"]
