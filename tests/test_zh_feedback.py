"""A Chinese-edition submission's feedback page is in Chinese; its English twin's stays English.

Real grading: an English and a Chinese notebook with the same (partly wrong) answers are
graded by ``python -m grader autograde`` and their feedback written by ``python -m grader
feedback`` (audited) and by plain ``nbgrader generate_feedback``.  nbgrader restores the
English instructions into the graded notebook; the feedback swaps the course's Chinese ones
back in, and the page's labels, its hidden-test message and its language are Chinese.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from grader.grading import feedback
from grader.translate import exercises
from grader.translate import feedback as zh_feedback

ROOT = Path(__file__).resolve().parent.parent
A = "01_rnn_by_hand"
# what nbgrader's page says in English, and must not say on a Chinese page
ENGLISH_LABELS = ("Score:", "(Top)", "Student's answer", "Grade cell:", "Test cell",
                  "Comments:", "Exercise 1", "Question 1")

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is needed to grade")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    from student_helpers import answered, solution_answers

    from grader.course import make_course
    from grader.grading.autograde import autograde

    tmp = tmp_path_factory.mktemp("zh_feedback")
    course = make_course(tmp / "course", [A])
    answers = solution_answers(A)
    answers["q4-rnn-forward"] = answers["q4-rnn-forward"].replace(
        "_, h = rnn_cell(x_t, h, W_state, W_input, b_cell)",
        "_, h = rnn_cell(x_t, np.asarray(h0, dtype=float), W_state, W_input, b_cell)")
    english = answered(tmp / "en.ipynb", answers, ROOT / "exercises" / A / f"{A}.ipynb")
    chinese = answered(tmp / "zh.ipynb", answers, exercises.zh_path(A))
    course.submit("li.en", A, english, name=f"{A}.ipynb")
    course.submit("li.zh", A, chinese, name=f"{A}.zh.ipynb")
    autograde(course.root, A, jobs=2, progress=False)
    results = {r.student: r for r in feedback.generate_feedback(course.root, A)}
    assert all(not r.problem for r in results.values()), results   # the audit passed
    return course


def _page(course, student: str) -> str:
    return (course.root / "feedback" / student / A / f"{A}.html").read_text(encoding="utf-8")


def _visible(page: str) -> str:
    return "\n".join(feedback.visible_lines(page))


def test_a_chinese_submissions_feedback_is_in_chinese(course):
    page = _page(course, "li.zh")
    assert '<html lang="zh-CN">' in page
    text = _visible(page)
    found = [label for label in ENGLISH_LABELS if label in text]
    assert found == [], f"English left on the Chinese page: {found}"
    assert "练习 1：手算一个两步的循环神经网络" in text           # the instructions, Chinese again
    assert re.search(r"测试单元格（得分：0(\.0)? / 3(\.0)?）", text)   # q4 lost its 3 points
    assert "每一步都重新从 h0 开始了" in text                      # the hidden test's message
    assert "你的答案" in text and "（回到顶部）" in text


def test_the_english_twin_stays_english(course):
    page = _page(course, "li.en")
    assert "<html>" in page and "得分" not in page
    text = _visible(page)
    assert "Exercise 1: a two-step RNN by hand" in text and "Student's answer" in text
    assert "each step starts again from h0" in text


def test_plain_nbgrader_feedback_is_chinese_too(course):
    """The formgrader's button (plain nbgrader, nbgrader_config.py) gives the same page."""
    proc = course.nbgrader("generate_feedback", A, "--force", "--student=li.zh")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = _visible(_page(course, "li.zh"))
    assert "练习 1：" in text and "计分单元格：" in text and "Score:" not in text


def test_only_the_courses_own_english_text_is_swapped():
    english = nbformat.read(str(ROOT / "exercises" / A / f"{A}.ipynb"), as_version=4)
    intro = next(c for c in english.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "intro")
    q1 = next(c for c in english.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "q1-text")
    q1.source += "\n\n<script>alert(1)</script>"   # not the course's text: not swapped
    assert zh_feedback.chinese_markdown(english, A) >= 5
    assert intro.source.startswith("# 练习 1") and "<script>" in q1.source
    assert not q1.source.startswith("## 第 1 题")
    assert zh_feedback.chinese_markdown(english, "../" + A) == 0   # a path is not an assignment
