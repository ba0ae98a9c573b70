"""What a Chinese student got wrong is counted as what their English twin got wrong, and a
hidden test's failure is explained to them in Chinese.

Real grading, two chapters: for each, one student hands in the English notebook and another
the Chinese-edition notebook (``<a>.zh.ipynb``) with the same answers, several of them wrong
in the catalogue's classic ways (``tests/mistakes/``: named mistakes, a transposed answer, an
error not raised, an answer left unanswered) and one wrong in a way only the hidden tests see
(``make_class.BUGS``).  Both are graded by ``python -m grader autograde`` in one batch and the
class report is written (in English).  The records of every failed question, read from the
Chinese kernel's Chinese messages, must be the English twin's, so the report lists the two
students under the same mistakes; the hidden failures' messages in the Chinese autograded
notebook and feedback page are Chinese, with no number the English twin's does not show.
Chapter 2 names two mistakes with one Chinese translation (its forward and Viterbi tests):
each is counted under its own test's English name.

And every classic mistake of the catalogue, in every chapter, made once with the messages in
English and once in Chinese (in one kernel, the Chinese notebook's language cell between
them), is recorded the same way from either message: kind, mistake and check.
"""
from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from scripted_class import ASSIGNMENTS  # noqa: F401 - first: it puts tests/submissions on sys.path

import make_class  # noqa: E402,I001
import mistakes  # noqa: E402

from grader import i18n
from grader.grading import misconceptions, selfcheck
from grader.i18n_zh import MESSAGES
from grader.translate import exercises

ROOT = Path(__file__).resolve().parent.parent
# per chapter: the catalogue's mistakes made (one per answer cell), answers left unanswered,
# and whether the chapter's hidden-only wrong answer (make_class.BUGS) is made too
PLAN = {
    "01_rnn_by_hand": (("dot-no-valueerror", "row-and-column-swapped", "forward-restarts-from-h0",
                        "linear-still-has-tanh"), (), True),
    "02_hmm_dice": (("joint-A-the-wrong-way-round", "forward-forgot-start", "viterbi-forgot-start",
                     "counting-ignored-pseudocount"), ("q1-sample",), False),
}
TWINS = {"en": "wei.en", "zh": "wei.zh"}

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is needed to grade")


def _answers(assignment: str) -> dict[str, str]:
    from student_helpers import solution_answers

    made, unanswered, bug = PLAN[assignment]
    answers = solution_answers(assignment)
    catalogue = {m.id: m for m in dict(mistakes.catalogue().values())[assignment]}
    for mistake in made:
        m = catalogue[mistake]
        answers[m.answer] = m.apply(answers[m.answer])
    for q in unanswered:
        answers[q] = make_class._stub(assignment)[q]
    if bug:
        q, old, new = make_class.BUGS[assignment]
        answers[q] = answers[q].replace(old, new)
    return answers


def _grade(folder: Path) -> tuple[Path, Path]:
    from student_helpers import answered, exercise_path

    from grader.course import make_course
    from grader.grading import report
    from grader.grading.autograde import autograde

    course = make_course(folder / "course", list(PLAN))
    for a in PLAN:
        answers = _answers(a)
        english = answered(folder / f"{a}.en.ipynb", answers, exercise_path(a))
        chinese = answered(folder / f"{a}.zh.ipynb", answers, exercises.zh_path(a))
        course.submit(TWINS["en"], a, english, name=f"{a}.ipynb")
        course.submit(TWINS["zh"], a, chinese, name=f"{a}.zh.ipynb")
        batch = autograde(course.root, a, jobs=2, progress=False)
        assert {s.student for s in batch.students if s.status == "graded"} == set(TWINS.values()), batch
        report.write_class_report(course.root, a, folder / "report" / a)
    return course.root, folder / "report"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The two chapters graded once per test run, whichever pytest-xdist worker asks first."""
    from grading_helpers import build_once

    from grader.course import Course

    root, reports = build_once(tmp_path_factory, "zh-misconceptions", _grade)
    return Course(root), reports


def _records(course, a: str, student: str) -> dict[str, dict]:
    side = course.root / "autograded" / student / a / ".grader-verdicts.json"
    return {q: e["failure"] for q, e in json.loads(side.read_text())["questions"].items()
            if e.get("failure")}


def _hidden_messages(course, a: str, student: str) -> dict[str, str]:
    nb = nbformat.read(course.root / "autograded" / student / a / f"{a}.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: o.evalue for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade") for o in c.get("outputs", [])
            if o.output_type == "error"}


@needs_bwrap
@pytest.mark.parametrize("assignment", list(PLAN))
def test_a_chinese_students_mistakes_are_the_english_twins(graded, assignment):
    course, reports = graded
    records = {lang: _records(course, assignment, student) for lang, student in TWINS.items()}
    # the hidden tests draw other random sizes for another student: the check's name says them
    same = lambda rs: {q: dict(r, check=re.sub(r"\d+", "#", r["check"]) if r["stage"] == "hidden"  # noqa: E731
                               else r["check"]) for q, r in rs.items()}
    assert same(records["zh"]) == same(records["en"])
    # and they say something: the planted mistakes by their English names, in their tests
    catalogue = {m.id: m for m in dict(mistakes.catalogue().values())[assignment]}
    made, unanswered, bug = PLAN[assignment]
    for mistake in made:
        m = catalogue[mistake]
        record = records["zh"][m.test]
        assert record["kind"] in ("named", "raises", "axes"), (mistake, record)
        words = f"{record['mistake']} {misconceptions.describe(record)}".lower()
        if record["kind"] == "named":
            assert record["mistake"] in MESSAGES and all(w.lower() in words for w in m.words), \
                (mistake, record)
    for q in unanswered:
        assert records["zh"][f"{q.split('-')[0]}-tests"]["kind"] == "unanswered"
    if bug:
        q = f"{make_class.BUGS[assignment][0].split('-')[0]}-tests"
        assert records["zh"][q]["stage"] == "hidden"
    stages = {r["stage"] for r in records["zh"].values()}
    assert "visible" in stages and (not bug or "hidden" in stages)
    # the class report (in English) lists the twins together under every mistake
    data = json.loads((reports / assignment / "misconceptions.json").read_text(encoding="utf-8"))
    for question in data["questions"]:
        for mistake in question["mistakes"]:
            assert mistake["students"] == sorted(TWINS.values()), (question["question"], mistake)
            assert not re.search(r"[\u4e00-\u9fff]", mistake["message"]), mistake
        assert question["failed"] in (0, 2)
    assert sum(q["failed"] for q in data["questions"]) >= 8


@needs_bwrap
def test_two_mistakes_with_one_translation_keep_their_own_names(graded):
    course, _ = graded
    records = _records(course, "02_hmm_dice", TWINS["zh"])
    assert records["q3-tests"]["mistake"] == "you left out the start probabilities at the first step"
    assert records["q5-tests"]["mistake"] == "you left out the start probabilities of the first step"


@needs_bwrap
def test_hidden_failures_are_explained_in_chinese_without_hidden_values(graded):
    course, _ = graded
    note = MESSAGES[misconceptions.HIDDEN_NOTE]
    seen = 0
    for a in PLAN:
        hidden = [q for q, r in _records(course, a, TWINS["zh"]).items() if r["stage"] == "hidden"]
        zh = _hidden_messages(course, a, TWINS["zh"])
        en = _hidden_messages(course, a, TWINS["en"])
        for q in hidden:
            seen += 1
            assert en[q].endswith(misconceptions.HIDDEN_NOTE) and zh[q].endswith(note), (q, zh[q])
            for english in (" is wrong", "Hint:", "expected", "hidden test"):
                assert english not in zh[q], (q, english, zh[q])
            # no number but the sizes that the check's name gives (the twin's hidden inputs
            # have sizes of their own)
            check = _records(course, a, TWINS["zh"])[q]["check"]
            assert set(re.findall(r"\d+(?:\.\d+)?", zh[q])) <= set(re.findall(r"\d+", check)), zh[q]
            with i18n.using("zh"):   # the check's name as the Chinese notebook names it
                label = i18n.text(check)
            assert zh[q].startswith(label) and label != check, (label, zh[q])
    assert seen >= 1


@needs_bwrap
def test_the_chinese_feedback_page_shows_the_chinese_explanation(graded):
    from grader.grading import feedback

    course, _ = graded
    a, student = "01_rnn_by_hand", TWINS["zh"]
    (result,) = feedback.generate_feedback(course.root, a, [student])
    assert result.problem == ""   # the audit passed: no hidden line on the page
    page = "\n".join(feedback.visible_lines(
        (course.root / "feedback" / student / a / f"{a}.html").read_text(encoding="utf-8")))
    assert MESSAGES[misconceptions.HIDDEN_NOTE].split("；")[0] in page
    assert misconceptions.HIDDEN_NOTE.split(";")[0] not in page and " is wrong" not in page


@pytest.mark.parametrize("chapter", mistakes.CHAPTERS)
def test_every_classic_mistake_is_recorded_alike_in_both_languages(chapter, tmp_path):
    assignment, entries = mistakes.catalogue()[chapter]
    path = mistakes.write_notebook(assignment, entries, tmp_path / "nb.ipynb")
    nb = nbformat.read(path, as_version=4)
    made = nb.cells[-3 * len(entries):]
    language = next(c for c in nbformat.read(exercises.zh_path(assignment), as_version=4).cells
                    if c.cell_type == "code")          # os.environ["RNNS_LANGUAGE"] = "zh"
    assert language.metadata.get("rnns", {}).get("role") == "language"
    again = [copy.deepcopy(c) for c in made]
    for cell in again:
        cell.id += "-zh"
    nb.cells += [language] + again
    nbformat.write(nb, path)
    questions = selfcheck.check_notebook(path).questions
    english, chinese = questions[-2 * len(entries):-len(entries)], questions[-len(entries):]
    solution = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    locked = [c.source for c in solution.cells if c.metadata.get("nbgrader", {}).get("locked")]
    cells = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solution.cells
             if c.metadata.get("nbgrader", {}).get("grade")}
    known = misconceptions.Known(locked)
    named = 0
    for m, en, zh in zip(entries, english, chinese):
        assert en.grade_id == zh.grade_id == m.test and en.status == zh.status == selfcheck.FAILED, m.id
        with i18n.using("zh"):   # a cell's own assert speaks English in the kernel: the self-check
            zh_message = i18n.text(zh.message)   # of a Chinese notebook translates it, so do we
        assert re.search(r"[\u4e00-\u9fff]", zh_message), (m.id, zh_message)
        records = [misconceptions.from_kernel_error("CheckFailure", message, known,
                                                    misconceptions.Known([cells[m.test]]))
                   for message in (en.message, zh_message)]
        assert records[0] == records[1], (m.id, en.message, zh_message, records)
        named += records[0]["kind"] == "named"
    print(f"{chapter}: {named} of {len(entries)} recorded as named mistakes in both languages")
    assert named >= len(entries) // 3, (chapter, named)
