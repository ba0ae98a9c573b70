"""Figures speak the reader's language: every book figure with words has a Chinese twin, drawn
from the same Figure when the English page runs (grader/site/figures.py,
grader/translate/figures.py), and the Chinese pages show it.

Without a build: a figure's twin has its words from zh/outputs.yml, its numbers and math as
they were, a Chinese font, text as paths and its own record (smallest text included); the
figure is left as it was; a real kernel keeps the twin of a shown and of a glued figure in
the output's metadata, and the Chinese page writer swaps it in.  With the built site
(``make book``): no Chinese page shows a figure whose words are English.
"""
from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("agg")

import nbformat  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from grader.site import figures  # noqa: E402
from grader.translate import figures as twins  # noqa: E402
from grader.translate import outputs  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_build" / "html"
CJK = re.compile(r"[\u4e00-\u9fff]")

pytestmark = pytest.mark.skipif(not twins.font_available(),
                                reason="no font with Chinese glyphs (apt-get install fonts-wqy-microhei)")


def _figure() -> Figure:
    with matplotlib.rc_context(figures.STYLE):
        fig = Figure()
        ax = fig.add_subplot()
        ax.plot([0, 1, 2], [1.5, 0.5, 1.0], label="valid")
        ax.set_xlabel("epoch")
        ax.set_ylabel("perplexity of $h_t$")
        ax.set_title("MRNN")                     # a name: no English word
        ax.text(0.5, 1.0, "tanh\ncell")            # translated, "tanh" kept: not left in English
        ax.set_xticks([0, 1, 2], ["0", "1", "2"])
        ax.legend()
    return fig


def test_a_figure_with_words_gets_a_chinese_twin_with_its_own_record():
    fig = _figure()
    with matplotlib.rc_context(figures.STYLE):
        svg, metadata = figures.figure_display(fig)
    english = figures.read_record(svg)
    assert english["phrases"] == ["epoch", "perplexity of $h_t$", "tanh\ncell", "valid"]
    zh_svg = metadata[twins.TWINS_KEY]["zh"]
    zh = figures.read_record(zh_svg)
    assert zh["language"] == "zh" and zh["phrases"] == english["phrases"]
    # "epoch" and "valid" are in the catalogue; "perplexity of $h_t$" is not: it is named
    assert outputs.translate_phrase("epoch", "zh") != "epoch"
    assert zh["untranslated"] == ["perplexity of $h_t$"]
    assert zh["translated"] == {p: outputs.translate_phrase(p, "zh") for p in ("epoch", "tanh\ncell", "valid")}
    assert twins.stale(zh) == []
    assert twins.stale(dict(zh, translated={"epoch": "时期"})) == ["epoch", "tanh\ncell", "valid"]  # older
    assert zh["texts"] == english["texts"] and zh["smallest_text_pt"] is not None
    assert "<text" not in zh_svg and "<path" in zh_svg          # text as paths: no font needed
    assert zh_svg != svg
    # the figure itself is as it was: English, and drawn again the same
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_legend().get_texts()[0].get_text()) == ("epoch", "valid")
    with matplotlib.rc_context(figures.STYLE):
        assert figures.figure_svg(fig) == svg


def test_the_twin_draws_the_same_numbers_and_math_in_a_chinese_font():
    from matplotlib import font_manager

    fig = _figure()
    with twins.drawn_in("zh"):
        with figures._drawn_texts() as drawn:
            fig.draw_without_rendering()
        texts = sorted(t.get_text() for t in drawn.values())
        font = font_manager.findfont(fig.axes[0].xaxis.label.get_fontproperties())
    with figures._drawn_texts() as drawn:
        fig.draw_without_rendering()
    english = sorted(t.get_text() for t in drawn.values())
    assert outputs.translate_phrase("epoch", "zh") in texts and "epoch" not in texts
    assert "perplexity of $h_t$" in texts and "MRNN" in texts        # no entry; a name
    numbers = lambda ts: sorted(t for t in ts if re.fullmatch(r"[\d.−-]+", t))  # noqa: E731
    assert numbers(texts) == numbers(english) and len(numbers(texts)) >= 5
    assert "wqy" in font.lower() or "cjk" in font.lower() or "han" in font.lower(), font


def test_a_figure_without_words_has_no_twin():
    with matplotlib.rc_context(figures.STYLE):
        fig = Figure()
        ax = fig.add_subplot()
        ax.plot([1, 2])
        ax.set_xlabel("$t$"), ax.set_ylabel(r"$\tanh(h_t)$"), ax.set_title("LSTM, τ = 0.5")
        shown = figures.figure_display(fig)
    assert isinstance(shown, str) and figures.read_record(shown)["phrases"] == []


def test_a_kernel_keeps_the_twins_of_shown_and_glued_figures_and_the_page_swaps_them(tmp_path):
    from nbclient import NotebookClient

    from grader.translate import pages

    draw = ("from matplotlib.figure import Figure\nfig = Figure()\nax = fig.add_subplot()\n"
            "ax.plot([1, 2], label='valid'); ax.set_xlabel('epoch'); ax.set_ylabel('$h_t$')\n"
            "ax.legend()\n")
    cells = ["from grader.site.figures import use_book_figures\nuse_book_figures()",
             draw + "fig",
             draw + "from myst_nb import glue\nglue('curve', fig, display=False)"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, kernel_name="python3", timeout=120,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown, glued = nb.cells[1].outputs[0], nb.cells[2].outputs[0]
    assert glued.metadata["scrapbook"]["name"] == "curve"
    for output in (shown, glued):
        (key,) = [k for k in output.data if k.endswith("image/svg+xml")]
        assert figures.read_record(output.data[key])["phrases"] == ["epoch", "valid"]
        assert output.metadata["image/svg+xml"][twins.TWINS_KEY]["zh"].startswith("<?xml")
    assert nb.cells[1].source.startswith("from matplotlib")
    chinese = pages.translate_notebook_page(nb, {}, True)
    for cell in chinese.cells[1:]:
        (output,) = cell.outputs
        (key,) = [k for k in output.data if k.endswith("image/svg+xml")]
        record = figures.read_record(output.data[key])
        assert record["language"] == "zh" and record["untranslated"] == []
        assert twins.TWINS_KEY not in output.metadata.get("image/svg+xml", {})
    assert twins.notebook_figure_phrases(nb) == [(1, "epoch"), (1, "valid"), (2, "epoch"), (2, "valid")]


# -- the built site ----------------------------------------------------------------------------

def english_figures(site: Path, page: Path) -> list[str]:
    """The figures of a built page that show English words: a figure with words that is not
    a Chinese twin, or a twin that left phrases untranslated."""
    found = []
    html = page.read_text(encoding="utf-8")
    for src in re.findall(r'<img[^>]+src="([^"]+\.svg)"', html):
        path = (page.parent / src).resolve()
        record = figures.read_record(path.read_bytes()) if path.is_file() else None
        if record is None:
            continue   # not a book figure: tests/test_browser.py says so
        if record.get("phrases") and record.get("language") != "zh":
            found.append(f"{page.relative_to(site)}: {src} is in English: {record['phrases']}")
        elif record.get("untranslated"):
            found.append(f"{page.relative_to(site)}: {src} leaves {record['untranslated']} in English "
                         "(add them to zh/outputs.yml)")
        elif twins.stale(record):
            found.append(f"{page.relative_to(site)}: {src} was drawn before zh/outputs.yml changed "
                         f"{twins.stale(record)}: {twins.REFRESH}")
    return found


def test_an_english_figure_on_a_chinese_page_is_caught(tmp_path):
    fig = _figure()
    with matplotlib.rc_context(figures.STYLE):
        svg, metadata = figures.figure_display(fig)
    (tmp_path / "en.svg").write_text(svg, encoding="utf-8")
    (tmp_path / "zh.svg").write_text(metadata[twins.TWINS_KEY]["zh"], encoding="utf-8")
    for name in ("en", "zh"):
        (tmp_path / f"{name}.html").write_text(f'<p><img alt="a" src="{name}.svg" /></p>')
    assert english_figures(tmp_path, tmp_path / "en.html")[0].endswith(
        "en.svg is in English: ['epoch', 'perplexity of $h_t$', 'tanh\\ncell', 'valid']")
    assert "leaves ['perplexity of $h_t$']" in english_figures(tmp_path, tmp_path / "zh.html")[0]


PHONE_PX = 390          # a phone shows a figure at most the screen's width (book/_static/book.css)
MIN_TEXT_PX = 9         # tests/test_browser.py's MIN_FIGURE_TEXT_PX


def _figures_in_order(page: Path) -> list[dict]:
    """The records of a built page's figures, in order, each with ``phone_px``: its smallest
    text on a 390 px phone at the widest the phone can show it (the figure's own width, at
    most the screen's), as tests/test_browser.py measures it for the English pages."""
    html = page.read_text(encoding="utf-8")
    found = []
    for src in re.findall(r'<img[^>]+src="([^"]+\.svg)"', html):
        svg = (page.parent / src).read_bytes()
        record = figures.read_record(svg)   # None: not a book figure (test_browser.py says so)
        if record and record["smallest_text_pt"] is not None:
            width_pt = figures.svg_width_pt(svg)
            shown = min(PHONE_PX, width_pt * 4 / 3)
            record["phone_px"] = record["smallest_text_pt"] * shown / width_pt
        found.append(record)
    return found


@pytest.mark.skipif(not (SITE / "zh" / "book").is_dir(), reason="the site is not built (make book)")
def test_no_chinese_page_shows_a_figure_in_english():
    found, twinned, phrases = [], 0, set()
    for page in sorted((SITE / "zh" / "book").glob("*.html")):
        found += english_figures(SITE, page)
        chinese = _figures_in_order(page)
        english = _figures_in_order(SITE / "book" / page.name)
        # the same figures, in the same order: each the English one or its twin
        assert [r and r["phrases"] for r in chinese] == [r and r["phrases"] for r in english], page.name
        twinned += sum(1 for r in chinese if r and r.get("language") == "zh")
        found += [f"{page.name}: {r['smallest_text']!r} is {r['phone_px']:.1f} px on a phone"
                  for r in chinese if r and r.get("phone_px", MIN_TEXT_PX) < MIN_TEXT_PX]
        phrases |= {p for r in chinese if r for p in r.get("phrases", [])}
    assert found == [], "\n".join(found)
    assert twinned >= 20 and len(phrases) >= 40, (twinned, len(phrases))


CACHE = ROOT / "_build" / ".jupyter_cache"


@pytest.mark.skipif(not CACHE.is_dir(), reason="the English book is not built (make book)")
def test_zh_check_names_a_figure_phrase_without_a_translation(monkeypatch):
    problems, notes = twins.book_problems(CACHE, ROOT)
    assert (problems, notes) == ([], []), (problems, notes)
    full = outputs.phrases("zh")
    monkeypatch.setattr(outputs, "phrases", lambda language="zh", root=ROOT: {
        k: v for k, v in full.items() if k != "epoch"} if language == "zh" else {})
    problems, _ = twins.book_problems(CACHE, ROOT)
    assert "book/03_embeddings: a figure draws 'epoch', which zh/outputs.yml does not translate" in problems
    assert any(p.startswith("book/03_embeddings: the Chinese figures were drawn before") for p in problems)
