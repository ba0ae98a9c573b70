"""A correct submission earns full marks whatever its style, on every chapter.

Each chapter's solution is handed in with every answer cell prefixed by helpers that carry
the names the grader itself uses or used to use in a student's namespace (``ref``, ``rng``,
``_step``, ``_rnn_step``, ``_tl``, ``hidden_rng``, ``assign``, ``check_close`` kept working),
and one answer per chapter rewritten in another style (einsum, explicit loops).  Hidden tests
run in the grader's process, so none of these names can collide with them.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from grader.course import make_course
from grader.grading.autograde import autograde, format_table
from grader.release import assignments

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = assignments()

PREFIX = ("ref = rng = _ref = _tl = _rnnlm = _gumbel = _Embedding = None\n"
          "hidden_rng = assign = 'the student owns these names too'\n\n\n"
          "def _step(*args):\n    return 'a helper of mine'\n\n\n"
          "def _rnn_step(*args):\n    return 'another helper of mine'\n\n\n")

# One answer per chapter in another style: (grade id, old text, new text).
RESTYLE = {
    "01_rnn_by_hand": ("q3-rnn-cell", "before_activation = np.dot(h_prev, W_state) + input_term + b_cell",
                       "before_activation = np.einsum('...h,hk->...k', h_prev, W_state) + input_term + b_cell"),
}

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")


def _styled(assignment: str) -> nbformat.NotebookNode:
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    grade_id, old, new = RESTYLE.get(assignment, (None, None, None))
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            if meta.get("grade_id") == grade_id and old:
                assert cell.source.count(old) == 1, (grade_id, old)
                cell.source = cell.source.replace(old, new)
            cell.source = PREFIX + cell.source
    return nb


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_correct_in_any_style_gets_full_marks(assignment, tmp_path):
    course = make_course(tmp_path / "course", [assignment])
    target = course.root / "submitted" / "stylist" / assignment / f"{assignment}.ipynb"
    target.parent.mkdir(parents=True)
    nbformat.write(_styled(assignment), target)
    batch = autograde(course.root, assignment, jobs=1, progress=False)
    print(format_table(batch))
    (student,) = batch.students
    assert student.status == "graded", student.reason
    assert student.score == student.max_score > 0, student.scores
