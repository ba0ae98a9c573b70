"""The book's figures: one style, and in every image a record of its smallest text.

Each page's first cell (hidden) calls :func:`use_book_figures`. From then on every matplotlib
figure the page displays (``plt.show()``, a ``Figure`` a cell returns, ``glue``) is drawn

* in the book's style (:data:`STYLE`: text sizes a phone can show, deterministic SVG);
* as SVG, sharp at any size and on paper;
* with a record in the SVG's metadata (``<dc:description>``, JSON, :data:`RECORD_KEY`): the
  size in points of the smallest text drawn in the figure (sub- and superscripts of math
  included), which text that is, the axes that show tick labels but no axis label, and the
  ``phrases`` it draws that hold English words;
* and, when it has such phrases, a second time in Chinese for the Chinese pages (its *twin*,
  same data and numbers, with its own record; :mod:`grader.translate.figures`), kept in the
  display output's metadata.

``tests/test_browser.py`` reads the record of every image, measures how wide the page shows
it on a 390 px phone, and fails when the smallest text renders below 9 CSS px there
(``smallest_pt * displayed_px / svg_width_pt``), when an axis has no label, or when an image
has no record (it was not drawn through this module).

The rule of thumb that follows: a phone shows a figure 390 px wide (the screen's width,
``book/_static/book.css``), so a figure ``W`` inches wide (as saved, tight) needs its smallest
text at ``1.66 * W`` points: 8 pt at 4.8 inches. Sub- and superscripts (a log axis's
``10^2``, a label's ``h_t``) are 0.7 of their text. :data:`STYLE` is made for figures up to
4.8 inches wide (its default size): stack panels rather than put them side by side.
"""
from __future__ import annotations

import io
import json
from contextlib import contextmanager

RECORD_KEY = "rnns-figure"  # the record's name inside the JSON of <dc:description>
RECORD_VERSION = 1

# Text sizes in points for figures up to 4.8 inches wide (see the module's docstring): the
# superscript of a log axis's 10^2 (0.7 x 12 pt) and the subscript of an axis label's h_t
# (0.7 x 13 pt) stay above 8 pt.
STYLE = {
    "font.size": 12,
    "axes.titlesize": 13,
    "axes.labelsize": 13,
    "xtick.labelsize": 12,
    "ytick.labelsize": 12,
    "legend.fontsize": 11,
    "legend.title_fontsize": 11,
    "figure.titlesize": 13,
    "figure.figsize": (4.8, 3.4),
    # The same figure gives the same file (ids in the SVG are hashes of this salt).
    "svg.hashsalt": "rnns-from-scratch",
}


def use_book_figures() -> None:
    """Draw every figure this IPython kernel displays from now on as a book figure (SVG,
    :data:`STYLE`, the record of its smallest text). Call it in a page's first cell."""
    import matplotlib
    import matplotlib.pyplot  # noqa: F401  (selects the inline backend in a kernel)
    from IPython import get_ipython
    from matplotlib.figure import Figure

    shell = get_ipython()
    if shell is None:
        raise RuntimeError("use_book_figures() sets up an IPython kernel: call it in a notebook")
    backend = matplotlib.get_backend()
    if backend in ("inline", "module://matplotlib_inline.backend_inline"):
        # matplotlib-inline registers its own (PNG) formatters after the cell that first
        # imports pyplot, which would replace ours: let it do so now, once.
        from matplotlib_inline.backend_inline import configure_inline_support

        configure_inline_support(shell, backend)
    matplotlib.rcParams.update(STYLE)
    for formatter in shell.display_formatter.formatters.values():
        formatter.pop(Figure, None)
    shell.display_formatter.formatters["image/svg+xml"].for_type(Figure, figure_display)


def figure_display(fig):
    """What IPython shows for ``fig``: its SVG and, in the output's metadata, its twins in the
    other languages of the book (:mod:`grader.translate.figures`), if it draws words."""
    from grader.translate import figures as twins

    if not fig.axes and not fig.lines:
        return None
    record = measure(fig)
    svg = _svg(fig, record)
    if not record["phrases"]:
        return svg   # no words: the same figure serves every language
    return svg, {twins.TWINS_KEY: {language: _twin(fig, language, record["phrases"])
                                   for language in twins.LANGUAGES}}


def figure_svg(fig, language: str = "en") -> str | None:
    """``fig`` as SVG text with its record in the metadata (None for an empty figure, which
    IPython shows as nothing); for another language than English, the figure's twin: its
    words in that language (the figure itself is left as it was), its record measured on
    the twin, saying its language, the English phrases it leaves untranslated and the
    translations it used (a later catalogue makes it stale:
    :func:`grader.translate.figures.stale`)."""
    if not fig.axes and not fig.lines:
        return None
    if language == "en":
        return _svg(fig, measure(fig))
    return _twin(fig, language, measure(fig)["phrases"])


def _twin(fig, language: str, english: list[str]) -> str:
    from grader.translate import figures as twins

    with twins.drawn_in(language):
        record = measure(fig)
        record.update(language=language, phrases=english,
                      untranslated=twins.untranslated(english, language),
                      translated=twins.translations(english, language))
        return _svg(fig, record)


def _svg(fig, record: dict) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight",
                metadata={"Description": json.dumps({RECORD_KEY: record}, ensure_ascii=False),
                          "Date": None})  # no date: the same figure gives the same file
    return buffer.getvalue().decode("utf-8")


def measure(fig) -> dict:
    """The record of ``fig``: its smallest text (points), which text that is, the axes that
    show tick labels but have no label, and the phrases it draws that hold English words.
    Lays the figure out as saving it would."""
    from grader.translate.figures import phrases_of

    with _drawn_texts() as drawn:
        fig.draw_without_rendering()
    sizes = sorted((_smallest_glyph_pt(text), text.get_text()) for text in drawn.values())
    return {
        "version": RECORD_VERSION,
        "smallest_text_pt": round(sizes[0][0], 2) if sizes else None,
        "smallest_text": sizes[0][1] if sizes else None,
        "texts": len(sizes),
        "unlabelled_axes": _unlabelled_axes(fig, drawn),
        "phrases": phrases_of(text.get_text() for text in drawn.values()),
    }


@contextmanager
def _drawn_texts():
    """Every non-empty, visible Text that matplotlib draws inside the block, by id."""
    from matplotlib.text import Text

    drawn: dict[int, Text] = {}
    original = Text.draw

    def draw(self, renderer):
        if self.get_visible() and self.get_text().strip():
            drawn[id(self)] = self
        return original(self, renderer)

    Text.draw = draw
    try:
        yield drawn
    finally:
        Text.draw = original


_PARSER = None


def _smallest_glyph_pt(text) -> float:
    """Size in points of the smallest glyph of ``text``: its font size, or for mathtext the
    size of its smallest sub- or superscript."""
    global _PARSER
    size = float(text.get_fontsize())
    for line in text.get_text().split("\n"):  # as matplotlib draws it: line by line
        string, ismath = text._preprocess_math(line)
        if ismath is True:
            from matplotlib.mathtext import MathTextParser

            _PARSER = _PARSER or MathTextParser("path")
            glyphs = _PARSER.parse(string, 72, text.get_fontproperties()).glyphs
            size = min([size] + [float(glyph[1]) for glyph in glyphs])
    return size


def _unlabelled_axes(fig, drawn) -> list[str]:
    """Axes (``"<panel>: x"``) that draw tick labels but no axis label."""
    missing = []
    for number, ax in enumerate(fig.axes, start=1):
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            ticks = axis.get_majorticklabels() + axis.get_minorticklabels()
            if any(id(t) in drawn for t in ticks) and id(axis.label) not in drawn:
                panel = ax.get_title() or f"panel {number}"
                missing.append(f"{panel}: {name}")
    return missing


def read_record(svg: str | bytes) -> dict | None:
    """The record that :func:`figure_svg` wrote into an SVG, or None if it has none."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(svg)
    for element in root.iter("{http://purl.org/dc/elements/1.1/}description"):
        try:
            data = json.loads(element.text or "")
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get(RECORD_KEY), dict):
            return data[RECORD_KEY]
    return None


def svg_width_pt(svg: str | bytes) -> float:
    """The width of an SVG that matplotlib wrote (``width="440.4pt"``), in points."""
    import xml.etree.ElementTree as ET

    width = ET.fromstring(svg).get("width", "")
    if not width.endswith("pt"):
        raise ValueError(f"an SVG written by matplotlib gives its width in pt, not {width!r}")
    return float(width[:-2])
