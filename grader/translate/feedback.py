"""A Chinese-edition submission's feedback page in Chinese.

A student who hands in ``<a>.zh.ipynb`` is graded on ``<a>.ipynb`` (:mod:`grader.grading.intake`),
and nbgrader restores every locked cell from the gradebook before grading: the autograded
notebook holds the *English* instructions, while its test messages are already Chinese (the
language cell and :mod:`grader.i18n`).  Feedback (:mod:`grader.grading.feedback`) runs
:class:`ChineseFeedback` after its own preprocessors, on both feedback paths (``python -m grader
feedback`` and plain ``nbgrader generate_feedback``).  For a notebook whose metadata says
``rnns.language = "zh"`` it

* puts the Chinese Markdown back: a locked Markdown cell whose text is *exactly* the English
  release's text of that grade id becomes the text of the same grade id in the Chinese
  notebook ``zh/exercises/<a>/<a>.zh.ipynb``.  Only the course's own texts are swapped for the
  course's own translations; a cell the student changed was already turned into inert text by
  ``SafeContent`` and stays so (the metadata only chooses the language);
* translates the page's fixed texts: the placeholders of outputs not shown
  (:data:`OUTPUT_TEXTS`) and, through :class:`FeedbackExporter` (nbgrader's
  ``GenerateFeedback.exporter_class``), the labels of nbgrader's page (:data:`LABELS`).

Without the Chinese notebook (a course folder far from this repository) the instructions stay
English; the messages and labels are Chinese all the same.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from grader import notebooks
from grader.translate import exercises

ROOT = exercises.ROOT

# The fixed texts of nbgrader's feedback template (nbgrader 0.9), as they appear in the HTML
# it writes, and their translation, which FeedbackExporter puts in their place.  The fragments
# carry their tags where they can: what a submission shows is escaped text, which never holds
# a tag.  tests/test_zh_feedback.py fails when a label stays English.
LABELS: tuple[tuple[str, str], ...] = (
    ("<html>", '<html lang="zh-CN">'),
    (" (Score: ", "（得分："),
    (")</h4>", "）</h4>"),
    (")</li>", "）</li>"),
    ('">Test cell</a>', '">测试单元格</a>'),
    ('">Coding free-response</a>', '">编程题</a>'),
    ('">Written response</a>', '">简答题</a>'),
    ('">Task</a>', '">任务</a>'),
    ('">Comment</a>', '">评语</a>'),
    ('"late-penalty">Late submission penalty', '"late-penalty">迟交扣分'),
    ('<span class="nbgrader-label">Student\'s answer</span>',
     '<span class="nbgrader-label">你的答案</span>'),
    ('<span class="nbgrader-label">Student\'s task</span>',
     '<span class="nbgrader-label">你的任务</span>'),
    ('<span class="nbgrader-label">Grade cell: <code>', '<span class="nbgrader-label">计分单元格：<code>'),
    ('<span class="nbgrader-label">Task: <code>', '<span class="nbgrader-label">任务：<code>'),
    ('<span class="pull-right">\n      Score: ', '<span class="pull-right">\n      得分：'),
    ('<a href="#top">(Top)</a>', '<a href="#top">（回到顶部）</a>'),
    ("<b>Comments:</b>", "<b>评语：</b>"),
)

# What grader.grading.feedback writes in place of outputs it does not show.
OUTPUT_TEXTS = {
    "(output on standard error, not shown)\n": "（标准错误输出，不予显示）\n",
    "(rich output not shown in feedback)": "（富文本输出不在反馈中显示）",
}


def notebook_language(nb) -> str:
    from grader.grading.selfcheck import notebook_language as language_of

    return language_of(nb)


@lru_cache(maxsize=16)
def _markdown_pairs(assignment: str, root: Path = ROOT) -> dict[str, tuple[str, str]]:
    """grade id -> (English text, Chinese text) of every locked Markdown cell of an assignment
    ({} when its Chinese notebook is not there)."""
    english_path = root / "exercises" / assignment / f"{assignment}.ipynb"
    chinese_path = exercises.zh_path(assignment, root)
    if not (english_path.is_file() and chinese_path.is_file()):
        return {}
    chinese = {}
    for cell in notebooks.read(chinese_path).cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "markdown" and grade_id:
            chinese[grade_id] = cell.source
    pairs = {}
    for cell in notebooks.read(english_path).cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "markdown" and grade_id in chinese:
            pairs[grade_id] = (cell.source, chinese[grade_id])
    return pairs


def chinese_markdown(nb, assignment: str, root: Path = ROOT) -> int:
    """Swap the English instructions of ``nb`` for the Chinese ones; the number swapped."""
    pairs = _markdown_pairs(assignment, root) if "/" not in assignment else {}
    swapped = 0
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "markdown" and grade_id in pairs and cell.source == pairs[grade_id][0]:
            cell.source = pairs[grade_id][1]
            swapped += 1
    return swapped


class ChineseFeedback(Preprocessor):
    """A Chinese-edition notebook's feedback in Chinese (see the module docstring)."""

    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb, resources):
        if notebook_language(nb) != "zh":
            return nb, resources
        assignment = str(resources.get("nbgrader", {}).get("assignment", ""))
        chinese_markdown(nb, assignment)
        for cell in nb.cells:
            for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
                if output.get("output_type") == "stream" and output.get("text") in OUTPUT_TEXTS:
                    output.text = OUTPUT_TEXTS[output.text]
                text = output.get("data", {}).get("text/plain")
                if isinstance(text, str) and text in OUTPUT_TEXTS:
                    output.data["text/plain"] = OUTPUT_TEXTS[text]
        resources["rnns_labels"] = [list(pair) for pair in LABELS]
        return nb, resources


class FeedbackExporter(HTMLExporter):
    """nbgrader's feedback exporter; a page that :class:`ChineseFeedback` marked Chinese gets
    its labels in Chinese (``resources["rnns_labels"]``)."""

    def from_notebook_node(self, nb, resources=None, **kw):
        html, resources = super().from_notebook_node(nb, resources, **kw)
        return localise(html, resources.get("rnns_labels") or ()), resources


def localise(html: str, labels) -> str:
    for english, chinese in labels:
        html = html.replace(english, chinese)
    return html
