"""The Chinese exercise notebooks, generated from the English release and the catalogues.

``zh/exercises/<a>/<a>.zh.ipynb`` is ``exercises/<a>/<a>.ipynb`` (what nbgrader released from
``solutions/``) with

* every Markdown cell translated block by block (``zh/exercises/<a>.yml``), and the checksum
  of a locked Markdown cell recomputed for its new text, so that the self-check does not
  call it edited (at grading time nbgrader restores every locked cell from the gradebook:
  the English instructions, which :mod:`grader.grading.feedback` turns back into Chinese);
* one cell added after the title, the *language cell*, which sets ``RNNS_LANGUAGE=zh`` in the
  kernel so that the test helpers speak Chinese in Jupyter, Colab, Binder and JupyterLite
  alike (plain Python, no nbgrader metadata: graded submissions run it as the student's);
* the notebook's metadata ``rnns = {"language": "zh", "twin": "<a>.ipynb"}``: ``grader
  check`` reads it, and the intake grades ``<a>.zh.ipynb`` as ``<a>.ipynb``.

Code cells, grade ids, points, and locked code cells' checksums are the release's, byte for
byte: a student may submit either notebook and gets the same grade from the same tests.
Generated and committed (Colab and Binder open them from the repository), like
``exercises/``; ``python -m grader zh release --check`` (CI) fails when one is out of date.
A notebook whose catalogue does not exist yet is released in English under a notice.
"""
from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from grader import notebooks
from grader.grading.selfcheck import compute_checksum, is_locked
from grader.translate import blocks, catalogue

ROOT = catalogue.ROOT
LANGUAGE_CELL = ('# 中文版：测试信息以中文显示（Chinese edition: test messages in Chinese）\n'
                 'import os\n\n'
                 'os.environ["RNNS_LANGUAGE"] = "zh"')
NOT_TRANSLATED = ("> **本练习尚未译成中文**，以下是英文原文；测试信息已是中文。\n"
                  "> (This exercise is not translated yet.)")
SUFFIX = ".zh.ipynb"


def zh_name(assignment: str) -> str:
    return assignment + SUFFIX


def zh_path(assignment: str, root: Path = ROOT) -> Path:
    return root / catalogue.ZH / "exercises" / assignment / zh_name(assignment)


def assignments(root: Path = ROOT) -> list[str]:
    return sorted(p.parent.name for p in (root / "exercises").glob("*/*.ipynb")
                  if p.stem == p.parent.name)


def translate_notebook(english: nbformat.NotebookNode, table: dict[str, str],
                       assignment: str, translated: bool) -> nbformat.NotebookNode:
    nb = copy.deepcopy(english)
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        source = blocks.apply(cell.source, blocks.split(cell.source), table)
        if source != cell.source:
            cell.source = source
            if is_locked(cell) and cell.metadata.get("nbgrader", {}).get("checksum"):
                cell.metadata["nbgrader"]["checksum"] = compute_checksum(cell)
    language = nbformat.v4.new_code_cell(LANGUAGE_CELL, metadata={"rnns": {"role": "language"}})
    language.id = "language"
    extra = [language]
    if not translated:
        notice = nbformat.v4.new_markdown_cell(NOT_TRANSLATED)
        notice.id = "not-translated"
        extra.insert(0, notice)
    nb.cells[1:1] = extra
    nb.metadata["rnns"] = {"language": "zh", "twin": f"{assignment}.ipynb"}
    return nb


def build(assignment: str, root: Path = ROOT) -> str:
    """The text of the Chinese notebook of ``assignment``."""
    english = notebooks.read(root / "exercises" / assignment / f"{assignment}.ipynb")
    source = root / "solutions" / assignment / f"{assignment}.ipynb"
    cat = catalogue.catalogue_path(source, root)
    nb = translate_notebook(english, catalogue.translations(cat), assignment, cat.is_file())
    return notebooks.dumps(nb)


def release(check: bool = False, root: Path = ROOT) -> list[str]:
    """Write every Chinese notebook (or, with ``check``, list those out of date)."""
    problems = []
    wanted = set()
    for assignment in assignments(root):
        path = zh_path(assignment, root)
        wanted.add(path)
        text = build(assignment, root)
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current != text:
            if check:
                problems.append(f"{path.relative_to(root)} is out of date: run python -m grader "
                                "zh release")
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    for path in sorted((root / catalogue.ZH / "exercises").glob(f"*/*{SUFFIX}")):
        if path not in wanted:
            if check:
                problems.append(f"{path.relative_to(root)} has no English exercise")
            else:
                path.unlink()
    return problems
