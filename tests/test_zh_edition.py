"""The Chinese edition cannot drift from the English one.

* the translation files are complete and current, and an edited English block is caught;
* the Chinese exercise notebooks are the English release with only the Markdown changed:
  same code cells, grade ids, points and code checksums (``grader zh release --check``);
* a Chinese notebook self-checks in Chinese, and graded by ``python -m grader autograde``
  it earns exactly the points of its English twin with the same answers;
* the built site (``make book``) has every page in both editions, each linking to the other,
  with the same glued numbers and figures, and no untranslated English in translated pages.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from grader.grading import selfcheck
from grader.translate import blocks, catalogue, exercises, strings
# a run of four or more English words outside code, math, roles, links and parentheses (terms
# and names may follow in parentheses, 隐状态 (hidden state)); tests/test_zh_parity.py runs
# it on the built site's pages
from grader.translate.parity import untranslated

ROOT = Path(__file__).resolve().parent.parent
A = "01_rnn_by_hand"
SITE = ROOT / "_build" / "html"


def test_translations_complete_and_notebooks_current():
    problems = [p for cat in catalogue.all_catalogues() for p in catalogue.problems(cat)]
    assert problems == []
    assert exercises.release(check=True) == []


def test_an_edited_english_block_makes_its_translation_stale(tmp_path):
    for rel in ("book/references.md", "zh/book/references.yml"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    assert catalogue.problems(tmp_path / "zh/book/references.yml", tmp_path) == []
    page = tmp_path / "book/references.md"
    page.write_text(page.read_text().replace("this course is built on", "this course builds on"))
    found = catalogue.problems(tmp_path / "zh/book/references.yml", tmp_path)
    assert any("the English changed" in p for p in found) and any("no longer" in p for p in found)
    path, added, staled = catalogue.sync(page, tmp_path)
    assert (added, staled) == (1, 1)
    found = catalogue.problems(path, tmp_path)
    assert any("not translated" in p for p in found) and any("stale" in p for p in found)


def test_a_translation_that_loses_a_role_or_math_is_caught():
    english = "With $h_t$ the state ({glue:text}`eig_big:.2f`), see {numref}`fig-unrolled`."
    assert blocks.differences(english, "状态 $h_t$（{glue:text}`eig_big:.2f`），见 {numref}`fig-unrolled`。") == []
    lost = blocks.differences(english, "状态 $h_t$，见 {numref}`fig-unrolled`。")
    assert lost and "glue:text:eig_big:.2f" in lost[0]


def test_inline_math_over_a_line_break_is_one_formula():
    # chapter 2 breaks $3^{100} \approx 5 \times 10^{47}$ over two lines of its paragraph
    english = "sequence, $K^T$ terms, $3^{100} \\approx 5 \\times\n10^{47}$ for a hundred rolls, in $O(TK^2)$"
    assert blocks.invariants(english)["math"] == [
        "$3^{100} \\approx 5 \\times 10^{47}$", "$K^T$", "$O(TK^2)$"]
    assert blocks.differences(english, "共 $K^T$ 项，一百次时为 $3^{100} \\approx 5 \\times 10^{47}$；"
                                       "前向算法只需 $O(TK^2)$") == []
    assert blocks.differences(english, "共 $K^T$ 项；前向算法只需 $O(TK^2)$")


def _cells(path: Path):
    return nbformat.read(str(path), as_version=4).cells


@pytest.mark.parametrize("assignment", exercises.assignments())
def test_chinese_notebook_is_the_release_with_only_markdown_translated(assignment):
    english = _cells(ROOT / "exercises" / assignment / f"{assignment}.ipynb")
    zh_nb = nbformat.read(str(exercises.zh_path(assignment)), as_version=4)
    assert zh_nb.metadata["rnns"] == {"language": "zh", "twin": f"{assignment}.ipynb"}
    chinese = [c for c in zh_nb.cells if c.id not in ("language", "not-translated")]
    assert [c.id for c in chinese] == [c.id for c in english]
    for en, zh in zip(english, chinese):
        assert zh.cell_type == en.cell_type
        meta_en, meta_zh = en.metadata.get("nbgrader", {}), zh.metadata.get("nbgrader", {})
        assert {k: v for k, v in meta_zh.items() if k != "checksum"} == \
            {k: v for k, v in meta_en.items() if k != "checksum"}
        if en.cell_type == "code":
            assert zh.source == en.source and meta_zh == meta_en
        elif selfcheck.is_locked(zh) and meta_zh.get("checksum"):
            assert meta_zh["checksum"] == selfcheck.compute_checksum(zh)   # not "edited"
    assert selfcheck.edited_cells(zh_nb) == []


TRANSLATED = sorted(p.stem for p in (ROOT / "zh" / "exercises").glob("*.yml"))


def test_exercises_translated_so_far():
    assert {"01_rnn_by_hand", "02_hmm_dice", "03_embeddings"} <= set(TRANSLATED)


@pytest.mark.parametrize("assignment", TRANSLATED)
def test_translated_notebook_has_no_untranslated_paragraph(assignment):
    for cell in _cells(exercises.zh_path(assignment)):
        if cell.cell_type == "markdown":
            for block in blocks.split(cell.source):
                assert not untranslated(block.text), block.text
            # a line break between two Chinese characters shows as a space in a browser
            assert not re.search("[\u4e00-\u9fff，。：；]\n[ \t]*[\u4e00-\u9fff]", cell.source), \
                cell.source[:80]


def test_chinese_line_breaks_are_joined_outside_code():
    text = "第一行，\n  第二行 `code`\n第三行\n```python\n# 注释\n# 注释\n```"
    assert blocks.join_cjk_lines(text) == "第一行，第二行 `code`\n第三行\n```python\n# 注释\n# 注释\n```"




def test_the_untranslated_english_detector():
    assert untranslated("The papers and the book this course is built on.")
    assert not untranslated("本课程所依据的论文和书 (the papers and the book it is built on)。")
    assert not untranslated("在终端里用 `python -m grader check 01_rnn_by_hand.zh.ipynb` 检查。")


def test_a_chinese_notebook_self_checks_in_chinese(tmp_path):
    from student_helpers import answered, solution_answers

    answers = solution_answers(A)
    answers["q3-rnn-cell"] = answers["q3-rnn-cell"].replace(
        "return before_activation, np.tanh(before_activation)",
        "return before_activation, before_activation")
    notebook = answered(tmp_path / f"{A}.zh.ipynb", answers, exercises.zh_path(A))
    result = selfcheck.check_notebook(notebook)
    assert result.language == "zh"
    by_id = {q.grade_id: q for q in result.questions}
    assert by_id["q3-tests"].status == selfcheck.FAILED
    assert "第 1 步的状态 不对：看起来你忘了 tanh。" in by_id["q3-tests"].message
    table = selfcheck.format_result(result)
    assert "公开测试：6 道题中通过" in table and "未通过" in table


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is needed to grade")
def test_both_languages_grade_to_the_same_scores(tmp_path):
    from student_helpers import answered, solution_answers

    from grader.course import make_course
    from grader.grading.autograde import autograde

    course = make_course(tmp_path / "course", [A])
    answers = solution_answers(A)
    answers["q4-rnn-forward"] = answers["q4-rnn-forward"].replace(
        "_, h = rnn_cell(x_t, h, W_state, W_input, b_cell)",
        "_, h = rnn_cell(x_t, np.asarray(h0, dtype=float), W_state, W_input, b_cell)")
    english = answered(tmp_path / "en.ipynb", answers, ROOT / "exercises" / A / f"{A}.ipynb")
    chinese = answered(tmp_path / "zh.ipynb", answers, exercises.zh_path(A))
    course.submit("wang.en", A, english, name=f"{A}.ipynb")
    course.submit("wang.zh", A, chinese, name=f"{A}.zh.ipynb")
    batch = autograde(course.root, A, jobs=2, progress=False)
    lines = {s.student: s for s in batch.students}
    assert any("Chinese-edition notebook" in n for n in lines["wang.zh"].notes)
    scores = {s: {k: q.score for k, q in course.scores(A, s).items()} for s in ("wang.en", "wang.zh")}
    assert scores["wang.en"] == scores["wang.zh"]
    assert scores["wang.zh"]["q4-tests"] == 0 and scores["wang.zh"]["q3-tests"] == 2
    graded = nbformat.read(str(course.root / "autograded" / "wang.zh" / A / f"{A}.ipynb"), as_version=4)
    (q4,) = [c for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "q4-tests"]
    errors = [o for o in q4.outputs if o.output_type == "error"]
    assert errors and "每一步都重新从 h0 开始了" in errors[0].evalue


# ----------------------------------------------------------------------------- the built site

needs_site = pytest.mark.skipif(not (SITE / "zh" / "book" / "intro.html").is_file(),
                                reason="the site is not built (make book)")


def _pages(site: Path) -> set[str]:
    return {p.relative_to(site).as_posix() for p in site.rglob("*.html")
            if not {"_static", "lite", "zh", "_sources"} & set(p.relative_to(site).parts[:1])
            and p.parent.name != "_static"}


@needs_site
def test_every_page_exists_in_both_editions_and_links_to_its_twin():
    from grader.site.language import other_page

    english = {p for p in _pages(SITE) if p.startswith(("book/", "exercises/"))}
    chinese = {p for p in _pages(SITE / "zh") if p.startswith(("book/", "exercises/"))}
    assert len(english) >= 16
    assert {other_page(p[:-5], "en") + ".html" for p in english} == chinese
    for page in english:
        html = (SITE / page).read_text(encoding="utf-8")
        (href,) = re.findall(r'<nav class="rnns-language".*?href="([^"]+)"', html)
        target = (SITE / page).parent / href
        assert target.resolve().is_file(), (page, href)
        back = re.findall(r'<nav class="rnns-language".*?href="([^"]+)"', target.read_text(encoding="utf-8"))
        assert (target.parent / back[0]).resolve() == (SITE / page).resolve()
        assert 'lang="zh-CN"' in target.read_text(encoding="utf-8")[:300]


def _glued_and_figures(html: str) -> tuple[list[str], list[str]]:
    figures = sorted(re.findall(r'<img[^>]+src="[^"]*/_images/([^"]+)"', html))
    numbers = re.findall(r'<span class="pasted-text">([^<]*)</span>', html)
    return sorted(numbers), figures


@needs_site
def test_same_glued_numbers_figures_and_equation_labels():
    for page in sorted((SITE / "book").glob("*.html")):
        english = page.read_text(encoding="utf-8")
        chinese = (SITE / "zh" / "book" / page.name).read_text(encoding="utf-8")
        (en_numbers, en_figures), (zh_numbers, zh_figures) = map(_glued_and_figures, (english, chinese))
        # a figure with words is its Chinese twin (another file): tests/test_zh_figures.py
        assert (en_numbers, len(en_figures)) == (zh_numbers, len(zh_figures)), page.name
        labels = lambda h: sorted(set(re.findall(r'id="(equation-[\w-]+|fig-[\w-]+)"', h)))
        assert labels(english) == labels(chinese), page.name


@needs_site
def test_chinese_search_index_and_translated_pages():
    assert "LANGUAGE: 'zh-CN'" in (SITE / "zh/_static/documentation_options.js").read_text()
    index = (SITE / "zh" / "searchindex.js").read_text(encoding="utf-8")
    # titles are indexed in Chinese (JSON-escaped)
    assert "参考文献".encode("unicode_escape").decode() in index
    ref = (SITE / "zh/book/references.html").read_text(encoding="utf-8")
    assert "本课程所依据的论文" in ref and "尚未译成中文" not in ref
    ex = (SITE / "zh/exercises" / A / f"{A}.zh.html").read_text(encoding="utf-8")
    assert "第 1 题" in ex and "lite/notebooks/index.html?path=01_rnn_by_hand.zh.ipynb" in ex


def _search_index(site: Path) -> dict:
    import json

    text = (site / "searchindex.js").read_text(encoding="utf-8")
    return json.loads(text[text.index("(") + 1:text.rindex(")")])


@needs_site
@pytest.mark.parametrize("word, page", [
    ("上溢", "exercises/03_embeddings/03_embeddings.zh"),      # "overflow", in exercise 3's text
    ("乘积", "exercises/02_hmm_dice/02_hmm_dice.zh"),          # "product", in exercise 2's text
])
def test_chinese_search_finds_a_word_of_a_translated_pages_text(word, page):
    """Sphinx cuts the Chinese pages into words with jieba: a word that only the body of a
    translated page holds (not its title) leads to that page, and to no English page."""
    index = _search_index(SITE / "zh")
    pages = index["terms"].get(word)
    pages = pages if isinstance(pages, list) else [pages]
    assert index["docnames"].index(page) in pages
    assert word not in index["titleterms"]
    yml = (ROOT / "zh" / "exercises" / f"{page.split('/')[1]}.yml").read_text(encoding="utf-8")
    assert word in yml
    assert word not in _search_index(SITE)["terms"]


@needs_site
def test_the_courses_terms_are_searchable_whole():
    """jieba alone cuts 隐马尔可夫模型 into 马尔可夫 / 模型; the course's terms (zh/terms.yml)
    are given to it as a dictionary, so a reader's search for the whole term finds it."""
    from grader.translate.pages import search_words

    terms = _search_index(SITE / "zh")["terms"]
    assert "隐马尔可夫模型" in search_words() and "隐马尔可夫模型" in terms
    assert "困惑度" in terms and "维特比算法" in terms


def test_a_later_chapters_notebook_self_checks_in_chinese(tmp_path):
    """Chapter 5's mistakes come from a lambda of the test cell (TAU_MISTAKES): run for real,
    the classic mistake is named in Chinese, under a Chinese name."""
    from student_helpers import answered, solution_answers

    answers = solution_answers("05_mrnn")
    answers["q2-gumbel-softmax"] = answers["q2-gumbel-softmax"].replace(
        "return softmax((logits + noise) / tau)", "return softmax((logits + noise) * tau)")
    notebook = answered(tmp_path / "05_mrnn.zh.ipynb", answers, exercises.zh_path("05_mrnn"))
    by_id = {q.grade_id: q for q in selfcheck.check_notebook(notebook).questions}
    assert by_id["q1-tests"].status == selfcheck.PASSED
    assert by_id["q2-tests"].status == selfcheck.FAILED
    assert "gumbel_softmax(log [0.5, 0.3, 0.2], g = [0.1, 0.7, -0.3], tau = 0.5) 不对：" \
           "看起来你乘了 tau，而不是除以它。" in by_id["q2-tests"].message


def test_a_glossary_entrys_terms_stay_apart_from_their_definition():
    """Each unindented line of a glossary entry is a term and the indented lines its
    definition: joining a Chinese term to a Chinese definition made the whole definition a
    term (the Chinese glossary showed 马尔可夫循环神经网络一种循环网络…… as one term)."""
    entry = "隐状态\n隐藏状态\n  网络在每一步\n  携带的向量。"
    assert blocks.join_cjk_lines(entry, terms=True) == "隐状态\n隐藏状态\n  网络在每一步携带的向量。"
    page = ":::{glossary}\nhidden state\n  The vector.\n:::\n"
    (entry_block,) = [b for b in blocks.split(page) if b.translatable]
    assert entry_block.glossary
    out = blocks.apply(page, blocks.split(page), {entry_block.key: "hidden state\n隐状态\n  网络\n  携带的向量。"})
    assert out == ":::{glossary}\nhidden state\n隐状态\n  网络携带的向量。\n:::\n"
