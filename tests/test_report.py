"""Class reports and student feedback, from a real nbgrader course with real submissions.

One throw-away course (grader.course.make_course) with four students of chapter 1:
``ada`` finished everything, ``bob`` submitted partly wrong work, ``cy`` submitted a file
that is not a notebook (nbgrader's autograde fails on it) and ``dee`` is on the roster but
submitted nothing.  Neither finished nor partial work contains a line of the solution
notebook, so that any secret line found in feedback can only come from the grading side.
"""
from __future__ import annotations

import csv
import json
import re
from html import unescape
from pathlib import Path

import nbformat
import pytest
from test_selfcheck import ANSWERS, FINISHED, answered

from grader import leaks
from grader.cli import main
from grader.course import make_course
from grader.grading import feedback, report

ROOT = Path(__file__).resolve().parent.parent
A = "01_rnn_by_hand"
SECRETS = leaks.secret_lines(sorted((ROOT / "solutions" / A).glob("*.ipynb")))
# a hidden-test line of question 1 that a failing student's traceback quotes
HIDDEN_CALL = 'check_raises(dot_result_shape, (a_shape, wrong_b), ValueError, "dot_result_shape",'


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("graded")
    course = make_course(tmp / "course", [A])
    name = f"{A}.ipynb"
    course.submit("ada", A, answered(tmp / "ada.ipynb", FINISHED), name=name)
    course.submit("bob", A, answered(tmp / "bob.ipynb", ANSWERS), name=name)
    (tmp / "cy.ipynb").write_text("this is not a notebook")
    course.submit("cy", A, tmp / "cy.ipynb", name=name)
    # One nbgrader run for everyone: it grades ada and bob, then fails on cy (last in order)
    proc = course.autograde(A, "*")
    assert proc.returncode != 0 and "for student 'cy'" in proc.stderr, proc.stderr[-3000:]
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        gb.add_student("dee")
    return course


def test_the_submissions_are_graded_as_expected(course):
    """The premise of the other tests (and nbgrader's stderr rule, which `check` reports)."""
    assert course.total(A, "ada") == (11, 11)
    bob = {k: q.score for k, q in course.scores(A, "bob").items()}
    # q1 passes only the visible tests; q6 is right and warns on stderr, which the grader's
    # verdict ignores (plain nbgrader would have scored it zero)
    assert bob == {"q1-tests": 0, "q2-tests": 1, "q3-tests": 2, "q4-tests": 0,
                   "q5-tests": 0, "q6-tests": 2}
    for path in (course.root / "submitted").glob(f"*/{A}/*.ipynb"):
        assert leaks.find_leaks(path.read_text(), SECRETS) == [], path


def test_class_report(course, tmp_path, capsys):
    out = tmp_path / "report"
    summary = report.write_class_report(course.root, A, out)

    assert summary["students"] == 4 and summary["graded"] == 2
    assert summary["max_score"] == 11
    assert (summary["mean"], summary["median"], summary["min"], summary["max"]) == (8, 8, 5, 11)
    rates = {q["question"]: q["pass_rate"] for q in summary["questions"]}
    assert rates == {"q1-tests": 0.5, "q2-tests": 1.0, "q3-tests": 1.0, "q4-tests": 0.5,
                     "q5-tests": 0.5, "q6-tests": 1.0}
    notes = {s["student"]: s["note"] for s in summary["not_graded"]}
    assert set(notes) == {"cy", "dee"}
    assert "autograde failed" in notes["cy"] and notes["dee"] == "no submission"

    with (out / "scores.csv").open() as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert list(rows) == ["ada", "bob", "cy", "dee"]
    assert rows["bob"]["q3-tests"] == "2" and rows["bob"]["q6-tests"] == "2"
    assert (rows["ada"]["total"], rows["bob"]["total"]) == ("11", "5")
    assert rows["cy"]["total"] == "" and rows["cy"]["status"] == "not graded"
    assert rows["dee"]["note"] == "no submission"

    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk == {k: v for k, v in summary.items() if k != "files"}
    markdown = (out / "summary.md").read_text()
    assert "| q1-tests | 2 | 1 of 2 | 50 % |" in markdown and "- dee: no submission" in markdown
    png = (out / "histogram.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000

    code = main(["report", A, "--course", str(course.root), "--out", str(tmp_path / "cli")])
    assert code == 0 and "mean 8.00, median 8.00" in capsys.readouterr().out
    assert (tmp_path / "cli" / "scores.csv").read_text() == (out / "scores.csv").read_text()


def _visible_text(html: str) -> str:
    html = re.sub(r"<(style|script)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_feedback_shows_scores_and_messages_but_no_hidden_test(course, capsys):
    # what nbgrader's own feedback would be made of: the hidden tests (so that the assertions
    # below can fail); the grader's verdict quotes no test source
    autograded = nbformat.read(course.root / "autograded" / "bob" / A / f"{A}.ipynb", as_version=4)
    q1 = next(c for c in autograded.cells if c.metadata.nbgrader.get("grade_id") == "q1-tests")
    assert "BEGIN HIDDEN TESTS" in q1.source and HIDDEN_CALL in q1.source
    assert HIDDEN_CALL not in "\n".join(q1.outputs[0].traceback)
    assert leaks.find_leaks("\n".join(c.source for c in autograded.cells), SECRETS)

    assert main(["feedback", A, "--course", str(course.root)]) == 0
    printed = capsys.readouterr().out
    assert f"ada: feedback/ada/{A}/{A}.html" in printed and "bob: feedback/bob" in printed
    pages = sorted((course.root / "feedback").rglob("*.html"))
    assert [p.relative_to(course.root / "feedback").parts[0] for p in pages] == ["ada", "bob"]
    for page in pages:
        assert leaks.find_leaks(page.read_text(), SECRETS) == [], page

    bob = _visible_text((course.root / "feedback" / "bob" / A / f"{A}.html").read_text())
    assert "(Score: 5.0 / 11.0)" in bob and "Test cell (Score: 0.0 / 2.0)" in bob
    # the hidden test's failure message stays, its source and traceback go
    # (the hidden inputs differ per submission: b is 1-D "(4,)" or 2-D "(4, 2)")
    assert re.search(r"CheckFailure: dot_result_shape\(\(\d+,\), \(\d+,(?: \d+)?\)\) should raise "
                     r"ValueError", bob)
    assert "UserWarning: still slow, vectorise later" in bob
    assert "wrong_b" not in bob and "default_rng(101)" not in bob
    assert "ipykernel_" not in bob and "Traceback" not in bob
    ada = _visible_text((course.root / "feedback" / "ada" / A / f"{A}.html").read_text())
    assert "(Score: 11.0 / 11.0)" in ada


def test_feedback_is_withheld_when_the_audit_finds_hidden_text(course, tmp_path):
    secret = sorted(SECRETS)[0]
    page = tmp_path / "page.html"
    page.write_text(f"<pre>{secret}</pre>")
    assert feedback.audit([page], SECRETS, set()) != []
    assert feedback.audit([page], SECRETS, {"x = 1", secret}) == []  # their own line
    # a student with nothing autograded gets a reason, not a file
    (entry,) = feedback.generate_feedback(course.root, A, ["cy"])
    assert entry.problem == "no autograded notebook" and not entry.files


def test_scrubbed_outputs():
    assert feedback.scrub_stderr(
        "/tmp/ipykernel_7/1.py:3: RuntimeWarning: overflow encountered in exp\n"
        "  expected = np.exp(secret_value)\n") == "RuntimeWarning: overflow encountered in exp\n"
    assert feedback.scrub_stderr("anything else\n") == "(output on standard error, not shown)\n"
