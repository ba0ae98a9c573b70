"""Figure text in the reader's language: each book figure's Chinese twin.

The Chinese pages take the English build's executed outputs (nothing runs again), so their
figures must be drawn when the English page runs.  :func:`grader.site.figures.figure_display`
draws each figure twice, from the same ``Figure`` (same data, same numbers):

* the English SVG, whose record (:data:`grader.site.figures.RECORD_KEY`) lists the figure's
  ``phrases``: every text it draws that holds an English word (titles, axis labels, tick
  labels that are words, legend entries, annotations, the suptitle; math such as ``$h_t$``
  and numbers are no words);
* if it has any, its twin (:func:`drawn_in`): every ``Text`` drawn as
  :func:`grader.translate.outputs.translate_phrase` gives it (the phrase catalogue
  ``zh/outputs.yml``, numbers untouched), in a font with Chinese glyphs (:data:`FONTS`),
  still as paths (readers need no font); its record says ``language: zh`` and lists the
  phrases left ``untranslated``.

The twin is stored in the output's metadata (``metadata["image/svg+xml"][TWINS_KEY][lang]``),
where glue keeps it too; the Chinese page writer swaps it in (:func:`use_twins`).
``python -m grader zh check`` and ``tests/test_zh_outputs.py`` name a figure phrase without a
translation (:func:`notebook_figure_phrases`); ``tests/test_zh_figures.py`` fails when a
built Chinese page shows a figure in English.
"""
from __future__ import annotations

import re
from contextlib import contextmanager

SVG = "image/svg+xml"
TWINS_KEY = "rnns-figure-twins"     # metadata[SVG][TWINS_KEY] = {"zh": "<svg ...>"}
LANGUAGES = ("zh",)                 # the languages a figure gets a twin in
# The twins are drawn when the English page runs: a new translation reaches them only when
# it runs again (the execution cache matches a page by its code alone, and Sphinx reads
# again only the pages whose source changed).
REFRESH = "make book (it runs the pages again when zh/outputs.yml changed)"
# Fonts with Chinese glyphs, first in the sans-serif list of a twin (Debian:
# fonts-wqy-microhei, fonts-noto-cjk); matplotlib falls back along the list glyph by glyph.
FONTS = ["WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC"]
_MATH = re.compile(r"(?<!\\)\$(?:[^$\\]|\\.)*(?<!\\)\$")


def has_words(text: str) -> bool:
    """Whether a figure's text holds an English word outside its math (``$\\tanh$``)."""
    from grader.translate.outputs import needs_translation

    return needs_translation(_MATH.sub(" ", text))


def phrases_of(texts) -> list[str]:
    """The distinct texts (stripped, sorted) among ``texts`` that hold English words."""
    return sorted({t.strip() for t in texts if has_words(t)})


def untranslated(phrases, language: str) -> list[str]:
    """The English ``phrases`` of a figure that its twin draws as they are although they are
    not names the catalogue keeps (``"tanh RNN": "tanh RNN"``)."""
    from grader.translate.outputs import key_of
    from grader.translate.outputs import phrases as catalogue

    table = catalogue(language)
    return [p for p in phrases_of(phrases)
            if translate(p, language) == p and table.get(key_of(p)[0]) != key_of(p)[0]]


def translate(text: str, language: str) -> str:
    """One figure text in ``language``, looked up whole, as a table cell is (a title of two
    lines is one phrase: never a part of one)."""
    from grader.translate.outputs import translate_phrase

    return translate_phrase(text, language)


def translations(phrases, language: str) -> dict[str, str]:
    """The translation of each of ``phrases`` that the catalogue has, as a twin used them."""
    return {p: translate(p, language) for p in phrases if translate(p, language) != p}


def stale(record: dict) -> list[str]:
    """The phrases of a twin's record whose translation in the catalogue is no longer the one
    it was drawn with: the twin must be drawn again (the English page run again)."""
    language = record.get("language", "zh")
    used = record.get("translated") or {}
    return [p for p in record.get("phrases", []) if translate(p, language) != used.get(p, p)]


def font_available() -> bool:
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    return any(name in names for name in FONTS)


@contextmanager
def drawn_in(language: str):
    """Inside the block, every matplotlib ``Text`` reads (and so is laid out, measured and
    drawn) in ``language``, in a font with its glyphs; the figure itself is not changed.

    Tick labels are written by their formatters while the figure is drawn, so setting the
    texts beforehand would not reach them: the text is translated where matplotlib reads it
    (``Text.get_text``), which every layout, extent and draw goes through."""
    import matplotlib
    from matplotlib.text import Text

    if not font_available():
        raise RuntimeError(f"no font with Chinese glyphs for the figures' {language} twins: "
                           f"install one of {FONTS} (Debian: apt-get install fonts-wqy-microhei; "
                           "matplotlib finds a font installed after its font cache was built "
                           "once that cache is deleted: rm -rf ~/.cache/matplotlib)")
    original = Text.get_text
    seen: dict[str, str] = {}

    def get_text(self):
        text = original(self)
        if text not in seen:
            seen[text] = translate(text, language) if text.strip() else text
        return seen[text]

    families = FONTS + [f for f in matplotlib.rcParams["font.sans-serif"] if f not in FONTS]
    Text.get_text = get_text
    try:
        with matplotlib.rc_context({"font.sans-serif": families}):
            yield
    finally:
        Text.get_text = original


# -- the twins in executed notebooks -------------------------------------------------------

def _svg_key(output) -> str | None:
    """The data key of an output's SVG (glue prefixes it: ``application/papermill.record/``)."""
    return next((k for k in output.get("data") or {} if k.endswith(SVG)), None)


def use_twins(cell, language: str) -> int:
    """Show, in place, each figure of a code cell's outputs in ``language`` (its twin); drop
    the twins from the metadata.  Returns how many figures were swapped."""
    swapped = 0
    for output in cell.get("outputs", []):
        twins = (output.get("metadata") or {}).get(SVG, {}).pop(TWINS_KEY, None)
        if not output.get("metadata", {}).get(SVG, True):
            output["metadata"].pop(SVG)
        key = _svg_key(output)
        if key and isinstance(twins, dict) and isinstance(twins.get(language), str):
            output["data"][key] = twins[language]
            swapped += 1
    return swapped


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def notebook_figure_records(nb) -> list[tuple[int, dict]]:
    """(cell index, record) of each book figure that the code cells of ``nb`` show."""
    from grader.site.figures import read_record

    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            key = _svg_key(output)
            record = read_record(_text(output["data"][key])) if key else None
            if record is not None:
                found.append((i, record))
    return found


def notebook_twin_records(nb) -> list[tuple[int, dict]]:
    """(cell index, record) of each Chinese twin kept in the outputs of ``nb``."""
    from grader.site.figures import read_record

    found = []
    for i, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            twin = ((output.get("metadata") or {}).get(SVG) or {}).get(TWINS_KEY, {})
            for svg in twin.values() if isinstance(twin, dict) else []:
                record = read_record(svg)
                if record is not None:
                    found.append((i, record))
    return found


def notebook_figure_phrases(nb) -> list[tuple[int, str]]:
    """(cell index, phrase) of each phrase with English words that a figure of ``nb`` draws."""
    return [(i, phrase) for i, record in notebook_figure_records(nb)
            for phrase in record.get("phrases", [])]


def book_problems(executed, root=None) -> tuple[list[str], list[str]]:
    """What ``python -m grader zh check`` says of the figures of the translated pages, read
    from the English build's execution cache ``executed``: (problems, notes).  A problem is a
    phrase a figure draws that ``zh/outputs.yml`` does not translate; a note, a page whose
    figures could not be read (no English build, or one older than the page)."""
    import yaml

    from grader.translate import catalogue, outputs, pages

    root = root or catalogue.ROOT
    if not executed.is_dir():
        return [], [f"figures not checked: no English build in {executed} (make book)"]
    problems, notes = [], []
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    for name in pages.toc_files(toc):
        page = root / f"{name}.md"
        if name.startswith("exercises/") or not catalogue.catalogue_path(page, root).is_file() \
                or not catalogue.is_notebook_page(page.read_text(encoding="utf-8")):
            continue
        try:
            nb = pages.executed_notebook(page, executed, root)
        except pages.PagesError:
            notes.append(f"{name}: figures not checked: the English build is older than the page")
            continue
        for key in outputs.missing(p for _, p in notebook_figure_phrases(nb)):
            problems.append(f"{name}: a figure draws {key!r}, which {outputs.FILE} "
                            "does not translate")
        old = sorted({p for _, twin in notebook_twin_records(nb) for p in stale(twin)})
        if old:
            problems.append(f"{name}: the Chinese figures were drawn before {outputs.FILE} "
                            f"last changed ({old[:3]}...): run the English page again ({REFRESH})")
    return problems, notes
