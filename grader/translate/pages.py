"""The Chinese book's sources, written at build time (never committed) from the English ones.

``python -m grader zh pages --out _build/zh/src`` (``make book`` runs it after the English
build) writes a complete Jupyter Book project:

* every page of ``_toc.yml``: a notebook page (a chapter) is the *English executed notebook*,
  taken from the English build's execution cache (``_build/.jupyter_cache``, matched by the
  page's code as myst-nb matches it), with its Markdown cells and figure captions and alt
  texts translated
  (``zh/book/<page>.yml``); its code cells and their outputs -- glued numbers, figures,
  tables -- are the English build's own, so the two editions cannot differ in a number and
  the Chinese build executes nothing; the words of the tables that code printed (Markdown
  and HTML outputs) are translated phrase by phrase, numbers untouched
  (:mod:`grader.translate.outputs`, ``zh/outputs.yml``);
* a plain page (references, glossary, ...) is translated block by block;
* a page without a catalogue yet is the English page under a notice (``本页尚未译成中文``);
* a file that pages include (``{include}``, such as ``book/ways_in.md``) is translated by its
  own catalogue and written beside them (:func:`included`);
* the exercise pages are the Chinese notebooks of ``zh/exercises/``;
* ``_config.yml`` (the English one with ``language: zh_CN``, Chinese search, execution off,
  the language switch) and ``_toc.yml`` (the English one, exercises renamed ``<a>.zh``).
"""
from __future__ import annotations

import copy
import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import yaml

from grader.translate import blocks, catalogue, exercises, figures, outputs

ROOT = catalogue.ROOT
NOTICE = ("```{note}\n本页尚未译成中文，以下是英文原文。\n"
          "(This page is not translated yet.)\n```")
TITLE = "从零实现循环神经网络 · RNNs from Scratch"
# the English site's static folder that holds MathJax alone (the Makefile's MATHJAX_DIR)
MATHJAX_STATIC = "_build/vendor"
ZH_BUTTONS = {"nb_code_prompt_show": "显示代码", "nb_code_prompt_hide": "隐藏代码",
              "togglebutton_hint": "点击展开", "togglebutton_hint_hide": "点击收起"}


# {doc} links to an exercise page name the Chinese page (exercises/<a>/<a>.zh)
_EXERCISE_DOC = re.compile(r"(\{doc\}`(?:[^`<]*<)?[./]*exercises/([\w-]+)/)\2(>?`)")
# and a {download} of an exercise notebook downloads the Chinese one (<a>.zh.ipynb)
_EXERCISE_DOWNLOAD = re.compile(r"(\{download\}`(?:[^`<]*<)?[./]*exercises/([\w-]+)/)\2\.ipynb(>?`)")
_INCLUDE = re.compile(r"^[ \t]*(?:`{3,}|:{3,})\{include\}[ \t]+(\S+)[ \t]*$", re.M)


def zh_links(text: str) -> str:
    text = _EXERCISE_DOC.sub(lambda m: f"{m.group(1)}{m.group(2)}.zh{m.group(3)}", text)
    return _EXERCISE_DOWNLOAD.sub(lambda m: f"{m.group(1)}{m.group(2)}.zh.ipynb{m.group(3)}", text)


def included(page: Path, root: Path = ROOT) -> list[Path]:
    """The files that ``page`` includes with ``{include}`` (inside ``root``), in order."""
    out = []
    for target in _INCLUDE.findall(page.read_text(encoding="utf-8")):
        path = (page.parent / target).resolve()
        if path.is_relative_to(root.resolve()) and path.is_file() and path not in out:
            out.append(path)
    return out


class PagesError(RuntimeError):
    """The Chinese sources cannot be written; the message says what is missing."""


def toc_files(toc: dict) -> list[str]:
    out = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                out.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))
    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return out


def zh_toc(toc: dict) -> dict:
    toc = copy.deepcopy(toc)

    def walk(entries):
        for entry in entries or []:
            parts = entry.get("file", "").split("/")
            if len(parts) == 3 and parts[0] == "exercises" and parts[1] == parts[2]:
                entry["file"] += ".zh"
            walk(entry.get("sections"))
            walk(entry.get("chapters"))
    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return toc


SEARCH_WORDS = "search_words.txt"   # the course's terms, for jieba (the Chinese search)


def search_words(root: Path = ROOT) -> list[str]:
    """The Chinese terms of ``zh/terms.yml``: jieba, which cuts the Chinese pages into words
    for the search index, keeps each of them whole (隐马尔可夫模型, not 隐 / 马尔可夫 / 模型),
    so that a reader's search for the term finds it."""
    terms = yaml.safe_load((root / catalogue.ZH / "terms.yml").read_text(encoding="utf-8")) or {}
    words = []
    for value in terms.values():
        for word in str(value).split("/"):
            word = word.strip()
            if len(word) > 1 and re.fullmatch(r"[\u3400-\u9fff\-]+", word) and word not in words:
                words.append(word)
    return words


def zh_config(config: dict, root: Path, words: Path | None = None) -> dict:
    config = copy.deepcopy(config)
    config["title"] = TITLE
    config["execute"]["execute_notebooks"] = "off"   # the English build's outputs are reused
    if config.get("html", {}).get("favicon"):
        config["html"]["favicon"] = str(root / config["html"]["favicon"])
    sphinx = config.setdefault("sphinx", {})
    cfg = sphinx.setdefault("config", {})
    cfg["language"] = "zh_CN"
    cfg["html_search_language"] = "zh"
    if words is not None:
        cfg["html_search_options"] = {"dict": str(words)}
    cfg["rnns_language"] = "zh"
    cfg["rnns_editions"] = ["en", "zh"]
    cfg["rnns_lite_dir"] = str(root / "_build" / "lite")
    cfg["rnns_course_root"] = str(root)   # the student edition, the kit's Python versions
    # the buttons of hidden code (the book hides inputs only) and of the hints' dropdowns
    cfg.update(ZH_BUTTONS)
    # MathJax (9.4 MB, the same in both editions) is served once, by the English site: the
    # Chinese edition lives under it (make book copies it to _build/html/zh/), so its pages
    # load ../_static/mathjax/, and a reader who switches language already has it cached.
    # (mathjax_path is relative to the edition's own _static/.)
    static = cfg.get("html_static_path", [])
    if MATHJAX_STATIC in static and cfg.get("mathjax_path"):
        static = [p for p in static if p != MATHJAX_STATIC]
        cfg["mathjax_path"] = "../../_static/" + cfg["mathjax_path"]
    cfg["html_static_path"] = [str(root / p) for p in static]
    cfg["html_extra_path"] = [str(root / p) for p in cfg.get("html_extra_path", [])]
    if "grader.site.language" not in cfg["extensions"]:
        cfg["extensions"].append("grader.site.language")
    return config


def translate_text_page(text: str, table: dict[str, str], translated: bool) -> str:
    parts = blocks.split(text)
    out = blocks.apply(text, parts, table)
    if not translated:
        heading = next((b for b in parts if b.text.startswith("# ")), None)
        lines = out.split("\n")
        at = heading.end if heading else 0
        lines[at:at] = ["", NOTICE, ""]
        out = "\n".join(lines)
    return zh_links(out)


def translate_notebook_page(nb: nbformat.NotebookNode, table: dict[str, str],
                            translated: bool) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = zh_links(blocks.apply(cell.source, blocks.split(cell.source), table))
        elif cell.cell_type == "code":
            for path, value in blocks.cell_texts(cell.get("metadata", {})):
                zh = table.get(blocks.block_key(value))
                if zh:
                    blocks.set_cell_text(cell.metadata, path, zh)
            if translated:   # the tables it printed: phrase by phrase, numbers untouched
                outputs.translate_cell_outputs(cell, "zh")
                figures.use_twins(cell, "zh")   # its figures drawn in Chinese (glued too)
    if not translated and nb.cells and nb.cells[0].cell_type == "markdown":
        first = nb.cells[0]
        heading = next((b for b in blocks.split(first.source) if b.text.startswith("# ")), None)
        lines = first.source.split("\n")
        at = heading.end if heading else 0
        lines[at:at] = ["", NOTICE, ""]
        first.source = "\n".join(lines)
    nb.metadata.pop("source_map", None)   # line numbers of the .md: not this file's
    # the English build's outputs are the page's, even where that build executes the page
    # every time (mystnb: execution_mode: force): the Chinese build executes nothing
    nb.metadata.get("mystnb", {}).pop("execution_mode", None)
    return nb


def _link(target: Path, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        os.symlink(target, link)


def executed_notebook(page: Path, cache_dir: Path, root: Path = ROOT) -> nbformat.NotebookNode:
    """The English page as the English build executed it: its cells with their outputs
    (glued values included), from the execution cache, or, for a page that the English
    build executes every time (``mystnb: execution_mode: force``, never cached), from the
    notebook and glue data that build wrote (:func:`written_notebook`)."""
    from jupyter_cache import get_cache
    from myst_nb.core.read import read_myst_markdown_notebook

    nb = read_myst_markdown_notebook(page.read_text(encoding="utf-8"), path=str(page))
    try:
        _, merged = get_cache(str(cache_dir)).merge_match_into_notebook(nb)
    except KeyError:
        written = written_notebook(page, nb, cache_dir.parent / "jupyter_execute", root)
        if written is None:
            raise PagesError(f"{page.name}: its code is not in the execution cache {cache_dir}: "
                             "build the English book first (make book)") from None
        return written
    return merged


def written_notebook(page: Path, nb: nbformat.NotebookNode, folder: Path,
                     root: Path = ROOT) -> nbformat.NotebookNode | None:
    """The executed notebook that the English build wrote for ``page`` into ``folder``
    (``_build/jupyter_execute/<page>.ipynb``), with its glued values (``.glue.json``, which
    myst-nb takes out of the outputs) put back; None unless its code is ``nb``'s."""
    rel = page.resolve().relative_to(root.resolve()).with_suffix("")
    path = folder / rel.with_suffix(".ipynb")
    if not path.is_file():
        return None
    written = nbformat.read(str(path), as_version=4)
    code = lambda book: [c.source.strip() for c in book.cells if c.cell_type == "code"]
    if code(written) != code(nb):
        return None   # written by an older build of the page
    glue = folder / rel.with_suffix(".glue.json")
    if glue.is_file():
        first = next(c for c in written.cells if c.cell_type == "code")
        for output in json.loads(glue.read_text(encoding="utf-8")).values():
            # as glue() wrote it: myst-nb strips the prefix of the data's types when it reads it
            prefix = output.get("metadata", {}).get("scrapbook", {}).get("mime_prefix", "")
            output["data"] = {prefix + kind: value for kind, value in output["data"].items()}
            first.outputs.append(nbformat.from_dict(output))
    return written


def build_source(out: Path, executed: Path, root: Path = ROOT) -> dict:
    """Write the Chinese book's project into ``out`` (emptied first); return a summary.

    ``executed``: the English build's execution cache (``_build/.jupyter_cache``)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    summary = {"translated": [], "not_translated": [], "notebook_pages": [], "included": []}
    includes: list[Path] = []
    for name in toc_files(toc):
        parts = name.split("/")
        if parts[0] == "exercises":
            src = exercises.zh_path(parts[1], root)
            if not src.is_file():
                raise PagesError(f"{src.relative_to(root)} is missing: run python -m grader zh release")
            dest = out / "exercises" / parts[1] / src.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
            cat = catalogue.catalogue_path(root / "solutions" / parts[1] / f"{parts[1]}.ipynb", root)
        else:
            page = root / f"{name}.md"
            includes += [p for p in included(page, root) if p not in includes]
            cat = catalogue.catalogue_path(page, root)
            table = catalogue.translations(cat)
            text = page.read_text(encoding="utf-8")
            if catalogue.is_notebook_page(text):
                nb = translate_notebook_page(executed_notebook(page, executed, root), table,
                                             cat.is_file())
                dest = out / f"{name}.ipynb"
                dest.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, str(dest))
                summary["notebook_pages"].append(name)
            else:
                dest = out / f"{name}.md"
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_text(translate_text_page(text, table, cat.is_file()), encoding="utf-8")
        summary["translated" if cat.is_file() else "not_translated"].append(name)
    # an included file without a catalogue stays English, without a notice: it is a part of
    # a page, which says whether it is translated
    for path in includes:
        text = path.read_text(encoding="utf-8")
        table = catalogue.translations(catalogue.catalogue_path(path, root))
        dest = out / path.relative_to(root.resolve())
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(zh_links(blocks.apply(text, blocks.split(text), table)), encoding="utf-8")
        summary["included"].append(path.relative_to(root.resolve()).as_posix())
    # what the pages read or link, shared with the English edition
    for rel in ("book/results", "book/references.bib", "dist"):
        _link(root / rel, out / rel)
    for english in sorted((root / "exercises").glob("*/*.ipynb")):   # the chapters' downloads
        _link(english, out / english.relative_to(root))
    (out / SEARCH_WORDS).write_text("".join(f"{w}\n" for w in search_words(root)),
                                    encoding="utf-8")
    # the site around the pages: part captions, author, the theme's and Sphinx's own words
    from grader.translate import interface

    texts = interface.load(root)
    interface.write_catalogues(out, texts["interface"])
    (out / "_toc.yml").write_text(yaml.safe_dump(interface.toc_captions(zh_toc(toc), texts["toc"]),
                                                 allow_unicode=True, sort_keys=False),
                                  encoding="utf-8")
    (out / "_config.yml").write_text(
        "# Written by python -m grader zh pages from the English _config.yml: do not edit.\n"
        + yaml.safe_dump(interface.configure(zh_config(config, root, out / SEARCH_WORDS), texts),
                         allow_unicode=True, sort_keys=False),
        encoding="utf-8")
    (out / "pages.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False))
    return summary
