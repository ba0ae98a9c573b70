"""How the Chinese book's sources are written (grader.translate.pages), beyond the text:
included files, a page the English build executes every time, links to the Chinese notebooks,
and the substitutions of book/ways_in.md in Chinese."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat

from grader.edition.ways_in import substitutions
from grader.translate import blocks, catalogue, pages

ROOT = Path(__file__).resolve().parent.parent


def test_an_included_file_is_translated_on_its_own():
    intro = ROOT / "book" / "intro.md"
    assert pages.included(intro) == [ROOT / "book" / "ways_in.md"]
    # the {include} itself has nothing to translate: the page's catalogue has no unit for it
    assert not any("{include}" in unit.en for unit in catalogue.units(intro))
    text = "# T\n\n```{include} ways_in.md\n```\n\nSee below.\n"
    assert [b.translatable for b in blocks.split(text)] == [True, False, True]


def test_the_chinese_pages_link_and_download_the_chinese_notebooks():
    text = ("Download the {download}`exercise notebook <../exercises/04_rnnlm/04_rnnlm.ipynb>` "
            "(or read it online: {doc}`../exercises/04_rnnlm/04_rnnlm`).")
    assert pages.zh_links(text) == (
        "Download the {download}`exercise notebook <../exercises/04_rnnlm/04_rnnlm.zh.ipynb>` "
        "(or read it online: {doc}`../exercises/04_rnnlm/04_rnnlm.zh`).")


def _page(tmp_path: Path, code: str) -> tuple[Path, nbformat.NotebookNode]:
    from myst_nb.core.read import read_myst_markdown_notebook

    page = tmp_path / "book" / "plan.md"
    page.parent.mkdir(parents=True)
    page.write_text("---\nkernelspec:\n  name: python3\n  display_name: Python 3\n"
                    "mystnb:\n  execution_mode: force\n---\n\n# Plan\n\n"
                    f"```{{code-cell}} ipython3\n{code}\n```\n\nIt takes {{glue:text}}`hours:.0f` hours.\n")
    return page, read_myst_markdown_notebook(page.read_text(), path=str(page))


def test_a_page_executed_every_time_is_read_from_what_the_english_build_wrote(tmp_path):
    from myst_nb.ext.glue import extract_glue_data

    page, nb = _page(tmp_path, "glue('hours', 30.4, display=False)")
    folder = tmp_path / "_build" / "jupyter_execute"
    assert pages.written_notebook(page, nb, folder, tmp_path) is None     # not built
    (folder / "book").mkdir(parents=True)
    written = nbformat.from_dict(json.loads(nbformat.writes(nb)))
    nbformat.write(written, str(folder / "book" / "plan.ipynb"))
    (folder / "book" / "plan.glue.json").write_text(json.dumps({"hours": {
        "output_type": "display_data", "data": {"text/plain": "30.4"},
        "metadata": {"scrapbook": {"name": "hours", "mime_prefix": "application/papermill.record/"}}}}))
    found = pages.written_notebook(page, nb, folder, tmp_path)
    glued = extract_glue_data(copy.deepcopy(found), [], None)
    assert glued["hours"]["data"] == {"text/plain": "30.4"}
    # the Chinese build must not execute it again
    zh = pages.translate_notebook_page(found, {}, True)
    assert "execution_mode" not in zh.metadata.get("mystnb", {})
    # written by an older build of the page: not used
    page2, nb2 = _page(tmp_path / "new", "glue('hours', 31.0, display=False)")
    assert pages.written_notebook(page, nb2, folder, tmp_path) is None


def test_the_ways_in_read_in_chinese_on_the_chinese_site():
    zh = substitutions(ROOT, "site", "zh")
    en = substitutions(ROOT, "site")
    assert zh["n_exercises"] == "六" and en["n_exercises"] == "six"
    assert zh["python_versions"] == "3.11、3.12 或 3.13"
    assert zh["launch_menu"].startswith("位于本站") and zh["kit_pip"] == en["kit_pip"]


def test_inline_math_over_a_line_break_is_one_formula():
    english = "(with rows, $\\partial L = (x)\\,\nW_h^\\top$). Over $k$ steps the $W_h$ part"
    assert blocks.invariants(english)["math"] == ["$W_h$", "$\\partial L = (x)\\, W_h^\\top$", "$k$"]
    good = "（用行向量表示，$\\partial L = (x)\\, W_h^\\top$）。经过 $k$ 步，$W_h$ 这一部分"
    assert blocks.differences(english, good) == []
    assert blocks.differences(english, good.replace("$k$", "k"))


def test_the_chinese_edition_buttons_speak_chinese():
    import yaml

    config = pages.zh_config(yaml.safe_load((ROOT / "_config.yml").read_text()), ROOT)["sphinx"]["config"]
    assert config["nb_code_prompt_show"] == "显示代码" and config["togglebutton_hint"] == "点击展开"
    assert config["rnns_course_root"] == str(ROOT)
