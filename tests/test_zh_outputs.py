"""The tables that code prints are in Chinese on the Chinese pages, numbers untouched
(grader.translate.outputs, zh/outputs.yml).

Every phrase (table cell, header, caption line) of every Markdown or HTML output of every
translated page has an entry, so that a new English row label fails here until it is
translated; no entry is left that no output uses; and each output holds exactly the same
numbers in both editions.  The pages' outputs are the English build's (its execution cache,
as ``make book`` leaves it); the phrase rules themselves are checked without a build.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from grader.translate import catalogue, outputs, pages

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "_build" / ".jupyter_cache"
TABLE = """**PTB, 300,000 training words, 3 epochs, H = 100, τ rate 2.608 (seed 0)**

| model | valid PPL | train PPL per epoch | state usage |
| --- | ---: | --- | --- |
| lstm | 229.3 | 574 → 262 → 187 | – |
| **total** | 128.09 (epoch 4) | 8.54 MiB | 933 of 9,837 |

```sh
python -m grader train --model lstm  # a command: never translated
```"""


def test_a_phrase_is_translated_whole_with_its_numbers():
    assert outputs.key_of("128.09 (epoch 4)") == ("{1} (epoch {2})", ["128.09", "4"])
    assert outputs.key_of("1,000 of float32 D4 4H") == ("{1} of float32 D4 4H", ["1,000"])
    assert outputs.translate_phrase("128.09 (epoch 4)", "zh") == "128.09（第 4 轮）"
    assert outputs.translate_phrase(" 933 of 9,837 ", "zh") == " 933 / 9,837 "   # spaces kept
    assert outputs.translate_phrase("128.09 (epoch 4)", "en") == "128.09 (epoch 4)"
    # never a part of a phrase: "best valid" is known, "best valid loss" is not
    assert outputs.translate_phrase("best valid", "zh") == "最佳验证"
    assert outputs.translate_phrase("best valid loss", "zh") == "best valid loss"
    for name in ("LSTM", "τ = 0.5", "8.54 MiB", "床前明月光，<br>疑是地上霜。", "0.75, 0.25"):
        assert not outputs.needs_translation(name) and outputs.translate_phrase(name, "zh") == name


def test_a_markdown_table_is_translated_cell_by_cell():
    zh = outputs.translate_output("text/markdown", TABLE, "zh")
    assert zh.startswith("**PTB，300,000 个训练单词，3 轮，H = 100，τ 的衰减速率 2.608（种子 0）**\n")
    assert "| 模型 | 验证困惑度 | 每轮的训练困惑度 | 状态使用率 |" in zh
    assert "| --- | ---: | --- | --- |" in zh                     # the alignment row as it was
    assert "| LSTM | 229.3 | 574 → 262 → 187 | – |" in zh
    assert "| **合计** | 128.09（第 4 轮） | 8.54 MiB | 933 / 9,837 |" in zh
    assert "python -m grader train --model lstm  # a command: never translated" in zh
    assert outputs.numbers(zh) == outputs.numbers(TABLE)
    assert outputs.output_phrases("text/markdown", TABLE)[:3] == [
        "PTB, 300,000 training words, 3 epochs, H = 100, τ rate 2.608 (seed 0)", "model", "valid PPL"]


def test_what_a_cell_prints_is_translated_line_by_line_when_its_code_is_hidden():
    import nbformat

    printed = ("linear, 3 W_state  largest norm 1.24e+12, after 60 steps 1.24e+12\n"
               "python -m grader.experiments.poems --epochs 12\n")
    cell = nbformat.v4.new_code_cell("print(...)", metadata={"tags": ["hide-input"]},
                                     outputs=[nbformat.v4.new_output("stream", name="stdout", text=printed)])
    shown = copy.deepcopy(cell)
    shown.metadata.tags = []
    for c in (cell, shown):
        outputs.translate_cell_outputs(c, "zh")
    assert cell.outputs[0].text == ("线性，3 W_state    最大范数 1.24e+12，60 步后 1.24e+12\n"
                                    "python -m grader.experiments.poems --epochs 12\n")   # a command stays
    assert shown.outputs[0].text == printed     # the code is shown: its output is the code's
    assert outputs.numbers(cell.outputs[0].text) == outputs.numbers(printed)


def test_an_html_table_is_translated_by_text_node():
    html = ("<p><b>Perplexity on the dice corpus</b></p><table><tr><th></th><th>valid</th></tr>"
            "<tr><td>MRNN&#x27;s state at step t against the die of the roll it reads</td>"
            "<td>0.402</td></tr></table>")
    zh = outputs.translate_output("text/html", html, "zh")
    assert zh == ("<p><b>骰子语料库上的困惑度</b></p><table><tr><th></th><th>验证</th></tr>"
                  "<tr><td>第 t 步的 MRNN 状态对比它读入的那次投掷的骰子</td><td>0.402</td></tr></table>")


def test_a_bad_entry_is_named():
    problems = outputs.problems_of({"epoch 4": "第 {1} 轮", "{1} (epoch {2})": "第 {2} 轮",
                                    "{1} of {2}": "{1} / {2} / 3", "seed {2}": "种子 {2}", "x": ""})
    assert [p.split(":")[0] for p in problems] == [
        "'epoch 4'", "'epoch 4'", "'{1} (epoch {2})'", "'{1} of {2}'", "'seed {2}'", "'x'"], problems
    assert outputs.problems_of(outputs.phrases("zh")) == []
    assert outputs.phrases("en") == {}


# -- the book's own outputs (the English build's execution cache) ------------------------------

needs_build = pytest.mark.skipif(not CACHE.is_dir(), reason="the English book is not built (make book)")


def _notebook_pages():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    for name in pages.toc_files(toc):
        page = ROOT / f"{name}.md"
        if not name.startswith("exercises/") and catalogue.is_notebook_page(page.read_text(encoding="utf-8")):
            yield name, page, catalogue.catalogue_path(page).is_file()


@pytest.fixture(scope="module")
def executed():
    return {name: (pages.executed_notebook(page, CACHE), translated)
            for name, page, translated in _notebook_pages()}


@needs_build
def test_every_phrase_of_a_translated_pages_outputs_has_a_translation(executed):
    missing = {name: outputs.missing([p for _, _, p in outputs.notebook_phrases(nb)])
               for name, (nb, translated) in executed.items() if translated}
    assert sum(len(v) for v in missing.values()) == 0, \
        f"phrases to add to zh/outputs.yml (python -m grader zh outputs): {missing}"
    assert sum(len(outputs.notebook_phrases(nb)) for nb, t in executed.values() if t) > 300


@needs_build
def test_no_entry_is_left_that_no_output_uses(executed):
    used = {outputs.key_of(p)[0] for nb, _ in executed.values() for _, _, p in outputs.notebook_phrases(nb)}
    stale = sorted(set(outputs.phrases("zh")) - used)
    assert stale == [], f"entries of zh/outputs.yml no output writes any more: {stale}"


@needs_build
def test_the_chinese_pages_outputs_hold_the_english_numbers_and_no_english_word(executed):
    checked = 0
    for name, (english, translated) in executed.items():
        if not translated:
            continue
        chinese = pages.translate_notebook_page(copy.deepcopy(english), {}, True)
        for en_cell, zh_cell in zip(english.cells, chinese.cells):
            if en_cell.cell_type != "code":
                continue
            for (en_at, key, kind), (zh_at, _, _) in zip(outputs._translatable(en_cell),
                                                         outputs._translatable(zh_cell)):
                en_text, zh_text = outputs._text(en_at[key]), outputs._text(zh_at[key])
                assert outputs.numbers(zh_text) == outputs.numbers(en_text), (name, en_text)
                # English left: a phrase with an English word and no Chinese that the
                # catalogue does not keep as it is (tanh RNN stays tanh RNN)
                left = [p for p in outputs.output_phrases(kind, zh_text)
                        if outputs.needs_translation(p) and not re.search(r"[\u4e00-\u9fff]", p)
                        and outputs.phrases("zh").get(outputs.key_of(p)[0]) != outputs.key_of(p)[0]]
                assert left == [], (name, left)
                checked += zh_text != en_text
    assert checked >= 18, checked   # 22 outputs when chapter 6 was not translated yet


@needs_build
def test_the_built_chinese_page_shows_the_translated_table():
    page = ROOT / "_build" / "html" / "zh" / "book" / "04_rnnlm.html"
    if not page.is_file():
        pytest.skip("the Chinese edition is not built (make book)")
    html = page.read_text(encoding="utf-8")
    assert "<th class=\"head\"><p>原因</p></th>" in html or ">原因<" in html
    assert ">the baseline<" not in html and "基线" in html
