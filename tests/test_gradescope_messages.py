"""What the Gradescope autograder shows a student, without running it (grading/gradescope.py):
the failure's named mistake with expected values removed, the questions' names, and where in
an upload the notebook is found."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import nbformat

from grader.grading import gradescope

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((Path(__file__).parent / "gradescope_results.schema.json").read_text())


def test_messages_keep_the_mistake_and_drop_the_values():
    m = gradescope.student_message
    named = m("CheckFailure", "h_next (H=3) is wrong: it looks like you forgot the tanh.\n"
                              "  expected: [0.1 0.2]\n  got:      [0.3 0.4]\n  Hint: use np.tanh")
    assert named == ("CheckFailure: h_next (H=3) is wrong: it looks like you forgot the tanh.\n"
                     "Hint: use np.tanh")
    assert m("CheckFailure", "f((2, 3), (3,)): expected (2,), got (3,).") == \
        "CheckFailure: f((2, 3), (3,)): not the expected value."
    shapes = m("CheckFailure", "s: expected shape (3, 4), got (4, 3): the axes are in the wrong "
                               "order: your axes are (T, N) = (4, 3), but the expected order is "
                               "(N, T) = (3, 4).")
    assert "(3, 4)" not in shapes and "(4, 3)" not in shapes and "(N, T)" in shapes
    dump = m("CheckFailure", "y is wrong.\n  expected: [1. 2.]\n  got:      [1. 3.]\n"
                             "  1 of 2 values differ; the largest difference is 1 at index (1,).")
    assert dump == "CheckFailure: y is wrong."
    # a student's text cannot drive Gradescope's page or a terminal
    assert "\x1b" not in m("ValueError", "\x1b[31mred\x1b]0;title\x07") and "\\x1b" in \
        m("ValueError", "\x1b]0;title\x07")


def test_questions_are_named_by_their_headings():
    names = gradescope.question_names(ROOT / "solutions" / "01_rnn_by_hand" / "01_rnn_by_hand.ipynb")
    assert names["q1-tests"] == ("1", "Question 1 — what shape does `np.dot` return?")
    assert [names[f"q{i}-tests"][0] for i in range(1, 7)] == [str(i) for i in range(1, 7)]
    assert not any("point" in name for _, name in names.values())


def test_where_the_notebook_is_found(tmp_path):
    nb = "01_rnn_by_hand.ipynb"
    blank = nbformat.v4.new_notebook()
    top = tmp_path / "top"
    top.mkdir()
    nbformat.write(blank, top / nb)
    assert gradescope._find_submission(top, nb) == (top, {}, "")
    renamed = tmp_path / "renamed"
    renamed.mkdir()
    nbformat.write(blank, renamed / "01_rnn_by_hand (2).ipynb")
    folder, renames, note = gradescope._find_submission(renamed, nb)
    assert renames == {"01_rnn_by_hand (2).ipynb": nb} and "graded as" in note
    nested = tmp_path / "nested"
    (nested / "repo" / "ch1").mkdir(parents=True)
    nbformat.write(blank, nested / "repo" / "ch1" / nb)
    assert gradescope._find_submission(nested, nb)[0] == nested / "repo" / "ch1"
    two = tmp_path / "two"
    two.mkdir()
    for name in ("a.ipynb", "b.ipynb"):
        nbformat.write(blank, two / name)
    assert gradescope._find_submission(two, nb) == (two, {}, "")   # intake refuses, says why


def test_the_zero_results_follow_the_schema():
    results = gradescope.zero("Your submission could not be graded: x.", "refused", 1.5,
                              [{"name": "Question 1", "score": 0.0, "max_score": 2.0,
                                "output": "not graded", "visibility": "visible",
                                "output_format": "text", "status": "failed"}])
    jsonschema.validate(results, SCHEMA)
    jsonschema.validate(results, gradescope.RESULTS_SCHEMA)
