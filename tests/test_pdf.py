"""The PDF edition (make pdf; make book builds it first), read back with poppler-utils.

* every page of the book is in it: each chapter's, exercise's and reference page's title;
* every figure is numbered as on the site (Fig. 1 ... Fig. N) and every formula is typeset
  (no TeX source left over);
* the Chinese is set in an embedded CJK font (``pdffonts``) and reads back as Chinese;
* every page is A4 (``pdfinfo``), and nothing runs into the side margins: each page is
  rendered (``pdftoppm``) and its margins must be blank, so that nothing was cut or spilled;
* the site serves the PDF that its pages link.

Without poppler-utils the test is skipped, except on CI (CI=true), where it fails.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parent.parent
PDF = ROOT / "_build" / "pdf" / "rnns-from-scratch.pdf"
A4_PT = (595.92, 841.92)  # what Chromium writes for 210 x 297 mm
SIDE_MARGIN_MM = 18  # grader/site/pdf.py's left and right margins
# Families of CJK fonts Debian ships (fonts-wqy-microhei, fonts-noto-cjk, fonts-arphic-*).
CJK_FONT = re.compile(r"WenQuanYi|WQY|Noto\w*CJK|SourceHan|Source Han|AR\s?PL|Droid\w*Fallback", re.I)


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


@pytest.fixture(scope="module")
def pdf() -> Path:
    if not PDF.is_file():
        pytest.fail(f"{PDF.relative_to(ROOT)} is missing: run `make pdf` (make book builds it)")
    return PDF


@pytest.fixture(scope="module")
def text(pdf) -> str:
    """The PDF's text, whitespace collapsed (a title may be broken across lines, and a line
    of Chinese anywhere: no space is left between two Chinese characters)."""
    text = " ".join(_run(_tool("pdftotext"), "-enc", "UTF-8", str(pdf), "-").split())
    return re.sub(r"(?<=[\u3000-\u9fff]) (?=[\u3000-\u9fff])", "", text)


def _page_titles() -> list[str]:
    """The title (first heading) of every page in the table of contents."""
    import nbformat

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            files.append(chapter["file"])
            files += [section["file"] for section in chapter.get("sections", [])]
    titles = []
    for name in files:
        if (ROOT / f"{name}.md").is_file():
            source = (ROOT / f"{name}.md").read_text(encoding="utf-8")
        else:
            nb = nbformat.read(ROOT / f"{name}.ipynb", as_version=4)
            source = next(c.source for c in nb.cells if c.cell_type == "markdown")
        title = next(line[2:].strip() for line in source.splitlines() if line.startswith("# "))
        titles.append(re.sub(r"[*_`]", "", title))
    return titles


def test_every_page_of_the_book_is_in_the_pdf(text):
    titles = _page_titles()
    assert len(titles) >= 16, titles  # landing page, guide, 6 chapters, 6 exercises, 3 references
    # Sphinx sets quotes typographically (course's -> course’s): compare them plain
    plain = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
    missing = [title for title in titles
               if " ".join(title.split()).translate(plain) not in text.translate(plain)]
    assert missing == [], f"pages missing from the PDF: {missing}"


def test_figures_are_numbered_and_math_is_typeset(site, text):
    on_site = set()
    for page in (site / "book").glob("*.html"):
        on_site |= set(re.findall(r'<span class="caption-number">Fig\. (\d+) </span>',
                                  page.read_text(encoding="utf-8")))
    assert len(on_site) >= 20, "the site has fewer figures than the book: build it (make book)"
    numbers = {int(n) for n in re.findall(r"\bFig\. (\d+)\b", text)}
    assert {int(n) for n in on_site} <= numbers, \
        f"figures of the site not numbered in the PDF: {sorted({int(n) for n in on_site} - numbers)}"
    for source in (r"\begin{aligned}", r"\operatorname", r"\frac{", "$$"):
        assert source not in text, f"TeX source in the PDF ({source}): MathJax did not typeset it"


def test_chinese_is_set_in_an_embedded_cjk_font(pdf, text):
    fonts = _run(_tool("pdffonts"), str(pdf)).splitlines()[2:]
    cjk = [line for line in fonts if CJK_FONT.search(line.split()[0] if line.split() else "")]
    assert cjk, "no CJK font in the PDF:\n" + "\n".join(fonts)
    assert all(line.split()[-5] == "yes" for line in cjk), f"a CJK font is not embedded: {cjk}"
    for chinese in ("从零实现循环神经网络", "符号表", "术语表"):
        assert chinese in text, f"{chinese!r} does not read back from the PDF"


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


def _median_word_height(pdf: Path) -> float:
    """The median height (pt) of the words' boxes (pdftotext -bbox): the size the text was
    printed at, about 1.16 times the font's size for DejaVu Sans."""
    import statistics

    boxes = _run(_tool("pdftotext"), "-bbox", str(pdf), "-")
    return statistics.median(float(y1) - float(y0) for y0, y1 in
                             re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"', boxes))


def test_nothing_was_shrunk_to_fit(pdf):
    """Chromium shrinks every page of a document whose content is wider than the paper
    (and the margins then stay clean): the text must be printed at the print stylesheet's
    10.5 pt (book/_static/book.css), not smaller."""
    height = _median_word_height(pdf)
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


def test_the_site_serves_the_pdf_its_pages_link(site, pdf):
    served = site / pdf.name
    assert served.is_file() and served.read_bytes() == pdf.read_bytes(), \
        "make book copies the PDF into the site"
    chapter = (site / "book" / "01_rnn_by_hand.html").read_text(encoding="utf-8")
    assert f'href="../{pdf.name}"' in chapter, "the download menu does not link the PDF"
