"""The PDF editions, English and Chinese (make pdf; make book builds them first), read back
with poppler-utils. Every check below holds for both editions (the ``edition`` fixture):

* every page of the book is in it, in the order of the table of contents: each chapter's,
  exercise's and reference page's title starts a sheet, and the contents page lists them in
  that order; every section heading of the edition's sources reads back;
* every figure is numbered as on that edition's site (Fig. 1 ... / 图 1 ...) and every
  formula is typeset (no TeX source left over);
* the Chinese is set in an embedded CJK font (``pdffonts``) that has a glyph for every
  Chinese character of the text (no tofu), and reads back as Chinese;
* every page is A4 (``pdfinfo``), and nothing runs into the side margins: each page is
  rendered (``pdftoppm``) and its margins must be blank, so that nothing was cut or spilled;
* every page of that edition's site links the PDF, in its language, and the site serves it.

Without poppler-utils the test is skipped, except on CI (CI=true), where it fails.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parent.parent
A4_PT = (595.92, 841.92)  # what Chromium writes for 210 x 297 mm
SIDE_MARGIN_MM = 18  # grader/site/pdf.py's left and right margins
# Families of CJK fonts Debian ships (fonts-wqy-microhei, fonts-noto-cjk, fonts-arphic-*).
CJK_FONT = re.compile(r"WenQuanYi|WQY|Noto\w*CJK|SourceHan|Source Han|AR\s?PL|Droid\w*Fallback", re.I)
CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
# Where a line break between two of these leaves no space (Chinese is written without).
_CJK_JOIN = re.compile(r"(?<=[\u3000-\u9fff\uff00-\uffef]) (?=[\u3000-\u9fff\uff00-\uffef])")

_STRAIGHT_QUOTES = str.maketrans("‘’“”", "''\"\"")


@dataclass(frozen=True)
class Edition:
    language: str
    pdf: Path              # where make pdf writes it
    sources: Path          # the project it is built from (_toc.yml, pages)
    single_page: Path      # the page printed (the single-page build)
    site: Path             # that edition's site (make book)
    figure: str            # how a figure's number reads: its caption on the site, the PDF's text
    body_word: str         # a word of the body text (the size test measures those)
    link_text: str         # the download menu's entry for the PDF (grader/site/pdf.py)
    chinese: tuple[str, ...]  # Chinese that must read back from it

    def built(self, path: Path) -> Path:
        if not path.exists():
            pytest.fail(f"{path.relative_to(ROOT)} is missing: run `make pdf` (make book builds it)")
        return path


EDITIONS = {
    "en": Edition("en", ROOT / "_build" / "pdf" / "rnns-from-scratch.pdf", ROOT,
                  ROOT / "_build" / "singlehtml" / "book" / "intro.html",
                  ROOT / "_build" / "html", r"Fig\.", r"[A-Za-z]+", "book .pdf",
                  ("从零实现循环神经网络", "符号表", "术语表")),
    # Built from the Chinese edition's own sources (python -m grader zh pages writes them).
    "zh": Edition("zh", ROOT / "_build" / "zh" / "rnns-from-scratch.zh.pdf",
                  ROOT / "_build" / "zh" / "src",
                  ROOT / "_build" / "zh" / "_build" / "singlehtml" / "book" / "intro.html",
                  ROOT / "_build" / "html" / "zh", "图", r".*[\u4e00-\u9fff].*", "全书 .pdf",
                  ("从零实现循环神经网络", "符号表", "术语表", "隐马尔可夫模型", "困惑度", "目录")),
}


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed: apt-get install poppler-utils (.ci/run does)"
        if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
            pytest.fail(message + "; on CI the PDF must be checked, not skipped")
        pytest.skip(message)
    return path


def _run(*args) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=300).stdout


def _collapse(text: str) -> str:
    """Whitespace collapsed (a title may be broken across lines), and none left between two
    Chinese characters (a line of Chinese may break anywhere)."""
    return _CJK_JOIN.sub("", " ".join(text.split()))


def _squash(text: str) -> str:
    """No whitespace at all: how a heading is compared with the PDF's text, which may break a
    line between a Chinese character and a Latin one where the source has no space; quotes
    straight, as in the source (Sphinx prints ' as ’); no hyphens (pdftotext joins a word
    broken at its hyphen, "cross-⏎entropy", into "crossentropy")."""
    return "".join(text.split()).translate(_STRAIGHT_QUOTES).replace("-", "")


@pytest.fixture(scope="module", params=sorted(EDITIONS))
def edition(request) -> Edition:
    return EDITIONS[request.param]


@pytest.fixture(scope="module")
def pdf(edition) -> Path:
    return edition.built(edition.pdf)


@pytest.fixture(scope="module")
def sheets(pdf) -> list[str]:
    """The text of each sheet of the PDF (pdftotext separates them by form feeds)."""
    return _run(_tool("pdftotext"), "-enc", "UTF-8", str(pdf), "-").split("\f")[:-1]


@pytest.fixture(scope="module")
def text(sheets) -> str:
    return _collapse(" ".join(sheets))


def _markdown_sources(root: Path) -> list[tuple[str, str]]:
    """(page, Markdown) of every page in ``root``'s table of contents, in its order: a page
    is a MyST file or a notebook (its Markdown cells), as in either edition's sources."""
    import nbformat

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            files.append(chapter["file"])
            files += [section["file"] for section in chapter.get("sections", [])]
    pages = []
    for name in files:
        if (root / f"{name}.md").is_file():
            source = (root / f"{name}.md").read_text(encoding="utf-8")
        else:
            nb = nbformat.read(root / f"{name}.ipynb", as_version=4)
            source = "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        pages.append((name, source))
    return pages


def _headings(source: str, level: int) -> list[str]:
    """The headings of one level, as a reader sees them (markup removed), outside code."""
    source = re.sub(r"(?ms)^(`{3,}|~{3,}).*?^\1", "", source)
    marker = "#" * level + " "
    return [re.sub(r"[*_`]", "", line[len(marker):]).strip()
            for line in source.splitlines() if line.startswith(marker)]


def _page_titles(root: Path) -> list[str]:
    """The title (first heading) of every page in ``root``'s table of contents, in order."""
    return [_headings(source, 1)[0] for _, source in _markdown_sources(root)]


def test_every_page_of_the_book_is_in_the_pdf_in_order(edition, sheets):
    """Each page's title starts a sheet of its own, the sheets in the table of contents'
    order, and the contents page lists the same titles in the same order."""
    titles = _page_titles(edition.built(edition.sources))
    assert len(titles) >= 16, titles  # landing page, guide, 6 chapters, 6 exercises, 3 references
    starts = [_squash(sheet) for sheet in sheets]
    where = {title: next((n for n, start in enumerate(starts) if start.startswith(_squash(title))), None)
             for title in titles}
    missing = [title for title, n in where.items() if n is None]
    assert missing == [], f"pages whose title starts no sheet of the PDF: {missing}"
    found = [where[title] for title in titles]
    assert found == sorted(found) and len(set(found)) == len(found), \
        f"pages out of the contents' order: {sorted(where, key=where.get)}"
    contents = _squash(" ".join(sheets[1:found[1]]))  # between the title page and the next page
    at = -1
    for title in titles[1:]:
        at = contents.find(_squash(title), at + 1)
        assert at >= 0, f"the contents page does not list {title!r} after the pages before it"


def test_every_section_heading_reads_back(edition, text):
    """Every section heading (##) of every page, in the edition's language: a translated
    heading missing from the Chinese PDF would mean a page printed in English or not at all."""
    squashed = _squash(text)
    headings = [(page, heading) for page, source in _markdown_sources(edition.built(edition.sources))
                for heading in _headings(source, 2)
                if not re.search(r"[${}\\<]", heading)]  # math and roles read differently
    assert len(headings) >= 60, headings
    missing = [f"{page}: {heading}" for page, heading in headings if _squash(heading) not in squashed]
    assert missing == [], f"section headings missing from the PDF: {missing}"
    if edition.language == "zh":
        chinese = [heading for _, heading in headings if CJK_CHAR.search(heading)]
        assert len(chinese) >= 0.9 * len(headings), \
            f"only {len(chinese)} of {len(headings)} section headings are in Chinese"


def test_figures_are_numbered_and_math_is_typeset(edition, text):
    site = edition.built(edition.site)
    on_site = set()
    for page in (site / "book").glob("*.html"):
        on_site |= set(re.findall(rf'<span class="caption-number">{edition.figure} (\d+) </span>',
                                  page.read_text(encoding="utf-8")))
    assert len(on_site) >= 20, "the site has fewer figures than the book: build it (make book)"
    numbers = {int(n) for n in re.findall(rf"{edition.figure} ?(\d+)(?!\d)", text)}
    assert {int(n) for n in on_site} <= numbers, \
        f"figures of the site not numbered in the PDF: {sorted({int(n) for n in on_site} - numbers)}"
    for source in (r"\begin{aligned}", r"\operatorname", r"\frac{", "$$"):
        assert source not in text, f"TeX source in the PDF ({source}): MathJax did not typeset it"
    # inline math the Markdown parser did not see as math: "$\theta ...", "\partial L"
    left = re.findall(r".{0,30}(?:\$\\[A-Za-z]+|\\(?:partial|leftarrow|theta|eta|sum|prod|mathrm|mathbf|"
                      r"cdot|times|sqrt|tanh|log|exp)\b).{0,30}", text)
    assert left == [], f"TeX source in the PDF: {left[:5]}"


def _font_files() -> dict[str, str]:
    """PostScript name -> file, for the fonts fontconfig knows."""
    listed = _run(shutil.which("fc-list") or "fc-list", "-f", "%{postscriptname}|%{file}\n")
    return dict(line.split("|", 1) for line in listed.splitlines() if "|" in line)


def test_chinese_is_set_in_an_embedded_cjk_font(edition, pdf, text):
    fonts = _run(_tool("pdffonts"), str(pdf)).splitlines()[2:]
    cjk = [line for line in fonts if CJK_FONT.search(line.split()[0] if line.split() else "")]
    assert cjk, "no CJK font in the PDF:\n" + "\n".join(fonts)
    assert all(line.split()[-5] == "yes" for line in cjk), f"a CJK font is not embedded: {cjk}"
    for chinese in edition.chinese:
        assert chinese in text, f"{chinese!r} does not read back from the PDF"
    assert "\ufffd" not in text, "characters that do not read back (U+FFFD) in the PDF"


def _chinese_of_page(page: Path) -> set[str]:
    """The Chinese characters of the book's text in a built page (its article)."""
    import html

    source = page.read_text(encoding="utf-8")
    article = source[source.index('<article class="bd-article"'):source.rindex("</article>")]
    article = re.sub(r"(?s)<(script|style)\b.*?</\1>", "", article)
    return set(CJK_CHAR.findall(html.unescape(re.sub(r"<[^>]+>", " ", article))))


def _chinese_without_glyph(page: Path, pdf: Path) -> tuple[set[str], list[str]]:
    """The Chinese characters of the printed page, and those the PDF prints as an empty box
    (a "tofu"): a character no font had a glyph for reads back as nothing (pdftotext), and
    every one that reads back must be in an embedded CJK font's character map (read from the
    system's font file, which Chromium subset)."""
    from fontTools.ttLib import TTCollection, TTFont

    printed = set(CJK_CHAR.findall(_run(_tool("pdftotext"), "-enc", "UTF-8", str(pdf), "-")))
    embedded = {line.split()[0].split("+", 1)[-1]
                for line in _run(_tool("pdffonts"), str(pdf)).splitlines()[2:]
                if line.split() and CJK_FONT.search(line.split()[0])}
    files = _font_files()
    covered: set[int] = set()
    for name in embedded:
        assert name in files, f"the embedded font {name} is not one of the system's: {sorted(files)[:20]}"
        path = files[name]
        fonts = TTCollection(path).fonts if path.endswith((".ttc", ".otc")) else [TTFont(path, lazy=True)]
        for font in fonts:
            if font["name"].getDebugName(6) == name:
                covered |= set(font.getBestCmap())
    characters = _chinese_of_page(page)
    return characters, sorted(c for c in characters if c not in printed or ord(c) not in covered)


def test_every_chinese_character_has_a_glyph(edition, pdf):
    """No tofu: every Chinese character of the page printed (the single-page build) is
    printed with a glyph of an embedded CJK font."""
    characters, tofu = _chinese_without_glyph(edition.built(edition.single_page), pdf)
    assert len(characters) >= 300, f"only {len(characters)} different Chinese characters in the book"
    assert tofu == [], f"Chinese characters printed without a glyph (empty boxes): {''.join(tofu)}"


def test_the_glyph_check_sees_a_tofu(tmp_path):
    """The check above can fail: a page printed by the same Chromium with a Chinese character
    that no font of this machine has (one of the latest Unicode added)."""
    from grader.site.pdf import CHROMIUM

    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip("Chromium is not installed (test_browser.py says how)")
    missing = next((c for c in map(chr, [*range(0x9FFF, 0x9FD5, -1), *range(0x3134A, 0x31340, -1)])
                    if not _run(shutil.which("fc-list") or "fc-list", f":charset={ord(c):x}", "family").strip()),
                   None)
    if missing is None:
        pytest.skip("every candidate character has a font on this machine")
    page = tmp_path / "tofu.html"
    page.write_text(f'<html lang="zh-CN"><meta charset="utf-8"><body><article class="bd-article">'
                    f"<p>手算循环神经网络{missing}。</p></article></body></html>", encoding="utf-8")
    out = tmp_path / "tofu.pdf"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--print-to-pdf={out}", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    characters, tofu = _chinese_without_glyph(page, out)
    assert "手" in characters and tofu == [missing], (characters, tofu)


def test_every_page_is_a4(pdf):
    info = _run(_tool("pdfinfo"), "-f", "1", "-l", "100000", str(pdf))
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    sizes = re.findall(r"^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", info, re.M)
    assert pages >= 100 and len(sizes) == pages
    odd = [(i + 1, w, h) for i, (w, h) in enumerate(sizes)
           if abs(float(w) - A4_PT[0]) > 1 or abs(float(h) - A4_PT[1]) > 1]
    assert odd == [], f"pages that are not A4 portrait: {odd[:10]}"


def _pages_inked_in_side_margins(pdf: Path, folder: Path, dpi: int = 30) -> tuple[int, list[str]]:
    """Render every page in grey; the pages (numbers) whose side margins, less a millimetre
    for antialiasing, hold anything darker than a light grey."""
    from PIL import Image

    _run(_tool("pdftoppm"), "-r", str(dpi), "-gray", str(pdf), str(folder / "page"))
    margin = round((SIDE_MARGIN_MM - 1) / 25.4 * dpi)
    pages, inked = sorted(folder.glob("page-*.pgm")), []
    for path in pages:
        image = Image.open(path)
        width, height = image.size
        if any(image.crop(box).getextrema()[0] < 200
               for box in ((0, 0, margin, height), (width - margin, 0, width, height))):
            inked.append(path.stem.split("-")[-1])
    return len(pages), inked


def test_nothing_runs_into_the_side_margins(pdf, tmp_path):
    """Nothing was wider than the column, cut at the paper's edge or spilled into a margin."""
    pages, inked = _pages_inked_in_side_margins(pdf, tmp_path)
    assert pages >= 100
    assert inked == [], f"pages with ink in a side margin (content wider than the paper): {inked}"


def _median_word_height(pdf: Path, word: str = r"[A-Za-z]+") -> float:
    """The median height (pt) of the boxes (pdftotext -bbox) of the words that match ``word``:
    the size the body text was printed at, about 1.16 times the font's size for DejaVu Sans
    (the English words) and 1.17 for WenQuanYi Micro Hei (the Chinese ones: a run of Chinese
    is one word)."""
    import statistics

    boxes = _run(_tool("pdftotext"), "-bbox", str(pdf), "-")
    heights = [float(y1) - float(y0) for y0, y1, text in
               re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)<', boxes)
               if re.fullmatch(word, text)]
    assert len(heights) >= 1, f"no word of the body text ({word}) in {pdf.name}"
    return statistics.median(heights)


def test_nothing_was_shrunk_to_fit(edition, pdf):
    """Chromium shrinks every page of a document whose content is wider than the paper
    (and the margins then stay clean): the text must be printed at the print stylesheet's
    10.5 pt (book/_static/book.css), not smaller."""
    height = _median_word_height(pdf, edition.body_word)
    assert 10.5 * 1.05 <= height <= 10.5 * 1.4, \
        f"the text is printed {height:.2f} pt high: content wider than the paper shrank the pages"


def test_the_checks_see_a_line_wider_than_the_paper(tmp_path):
    """The checks above can fail: a page printed by the same Chromium, with the book's
    margins and text size, whose one line of code is wider than the paper."""
    from grader.site.pdf import CHROMIUM

    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip("Chromium is not installed (test_browser.py says how)")
    page = tmp_path / "spill.html"
    page.write_text(f"<style>@page {{ size: A4; margin: 16mm {SIDE_MARGIN_MM}mm; }} "
                    "body { font: 10.5pt sans-serif; }</style>"
                    "<p>A page of the book, and a line of code too wide for it:</p>"
                    "<pre>" + "x = 1  # " * 40 + "</pre>")
    out = tmp_path / "spill.pdf"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--print-to-pdf={out}", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    assert _median_word_height(out) < 10.5 * 1.05  # shrunk: test_nothing_was_shrunk_to_fit fails


def test_make_pdf_refuses_a_book_that_would_not_fit_the_paper(tmp_path):
    """python -m grader pdf checks the layout before it prints: a table wider than the
    paper's column stops it, with the table named."""
    from grader.site.pdf import CHROMIUM, PdfError, print_book

    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip("Chromium is not installed (test_browser.py says how)")
    (tmp_path / "book").mkdir()
    cells = "".join(f"<td>column&nbsp;number&nbsp;{i}</td>" for i in range(12))
    (tmp_path / "book" / "intro.html").write_text(
        '<html><body><article class="bd-article"><section id="intro"><h1>A book</h1>'
        f"<p>Its only table:</p><table><tr>{cells}</tr></table></section></article></body></html>")
    with pytest.raises(PdfError, match=r"(?s)would not print whole.*table .*column number 0"):
        print_book(tmp_path, tmp_path / "book.pdf")
    assert not (tmp_path / "book.pdf").exists()


def test_the_site_serves_the_pdf_its_pages_link(edition, pdf):
    """Every page of the edition's site links its PDF, in the edition's language, from the
    download menu; the site serves that very file at its root."""
    site = edition.built(edition.site)
    served = site / pdf.name
    assert served.is_file() and served.read_bytes() == pdf.read_bytes(), \
        "make book copies the PDF into the site"
    pages = sorted(site.glob("book/*.html")) + sorted(site.glob("exercises/*/*.html"))
    assert len(pages) >= 16
    link = re.compile(r'<a href="([^"]+)"[^>]*\n?[^>]*class="[^"]*btn-download-book-pdf-button'
                      r'.*?<span class="btn__text-container">([^<]*)</span>', re.S)
    for page in pages:
        found = link.findall(page.read_text(encoding="utf-8"))
        expected = "../" * (len(page.relative_to(site).parts) - 1) + pdf.name
        assert found == [(expected, edition.link_text)], \
            f"{page.relative_to(site)}: the download menu links {found}, not {expected} ({edition.link_text})"


def test_the_printer_reads_the_edition_from_the_page(tmp_path):
    """One printer for both editions: the page's <html lang> (Sphinx writes the edition's
    language) chooses the contents page's title and Chromium's locale."""
    from grader.site.pdf import CONTENTS_TITLE, page_language

    for lang, expected in (('lang="zh-CN"', "zh"), ("lang='en'", "en"), ('lang="fr"', "en"), ("", "en")):
        page = tmp_path / "intro.html"
        page.write_text(f"<!DOCTYPE html>\n<html {lang} data-theme=\"auto\"><body></body></html>")
        assert page_language(page) == expected, lang
    assert CONTENTS_TITLE["zh"] == "目录"
