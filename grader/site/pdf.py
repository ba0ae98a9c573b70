"""The PDF edition of the book: the single-page build, printed by Chromium, and its link.

``make pdf`` builds the whole book as one HTML page (Jupyter Book's ``singlehtml`` builder,
from the same execution cache as the site, so the same executed notebooks), then
``python -m grader pdf`` (:func:`print_book`) opens that page in Debian's headless Chromium
laid out for paper: print media (``book/_static/book.css``: no navigation, every chapter,
exercise and reference page on a new sheet, code wrapped instead of scrolled) and the
printable width of an A4 page, so that MathJax breaks each equation to the paper's column.
It adds a table of contents, checks that nothing in the book runs past the column or
scrolls or is cut (a problem fails the build and is named), and prints to PDF: A4, page
numbers, PDF bookmarks from the headings, the figures as vectors and the fonts embedded
(the Chinese in a CJK font of the system's: WenQuanYi Micro Hei or Noto CJK).

The Chinese edition is printed by the same code from its own single-page build (``make
pdf-zh``: the sources ``python -m grader zh pages`` writes, built with ``--builder
singlehtml``); the page's ``<html lang>`` says which edition it is, and so which language the
contents page and Chromium's locale take.

As a Sphinx extension (``_config.yml``) the module adds "the whole book (PDF)" to every
page's download menu, when the PDF has been built before the site (``make book`` builds it
first), and the site serves it at its root as :data:`PDF_NAMES` says; in the Chinese edition
(``rnns_language: zh``) the link is the Chinese PDF's, with Chinese labels.
"""
from __future__ import annotations

import base64
import functools
import os
import re
import shutil
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# Each edition's PDF: its name at the root of that edition's site, and where make pdf
# (make pdf-zh) writes it, from the course's root.
PDF_NAMES = {"en": "rnns-from-scratch.pdf", "zh": "rnns-from-scratch.zh.pdf"}
PDF_PATHS = {"en": f"_build/pdf/{PDF_NAMES['en']}", "zh": f"_build/zh/{PDF_NAMES['zh']}"}
PDF_NAME = PDF_NAMES["en"]
# The download menu's entries: the whole book's PDF (text, tooltip) and the theme's own
# "print this page" (window.print(): text, tooltip).
MENU_LABELS = {
    "en": {"book": ("book .pdf", "The whole book as a PDF: chapters, exercises, notation, glossary"),
           "page": ("page .pdf", "Print this page")},
    "zh": {"book": ("全书 .pdf", "全书的 PDF 版：各章、练习、符号表、术语表"),
           "page": ("本页 .pdf", "打印本页")},
}
# The printed book's contents page, by the language of the page printed (its <html lang>).
CONTENTS_TITLE = {"en": "Contents", "zh": "目录"}
CHROMIUM_LOCALE = {"en": "en-US", "zh": "zh-CN"}
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

# A4 with 18 mm margins at the sides and 16 mm at the top and bottom (room for the page number).
PAPER_IN = (210 / 25.4, 297 / 25.4)
MARGIN_IN = {"top": 16 / 25.4, "bottom": 16 / 25.4, "left": 18 / 25.4, "right": 18 / 25.4}
# What Chromium lays the page out in (CSS px, 96 to the inch): the printable width.
PRINT_WIDTH_PX = round((PAPER_IN[0] - MARGIN_IN["left"] - MARGIN_IN["right"]) * 96)
PRINT_HEIGHT_PX = round((PAPER_IN[1] - MARGIN_IN["top"] - MARGIN_IN["bottom"]) * 96)
TIMEOUT_S = 180  # the page has every chapter's math to typeset


class PdfError(RuntimeError):
    """The book cannot be printed, or would not print well (the message says why)."""


# ----------------------------------------------------------------------------- the link


def _edition(config) -> str:
    language = getattr(config, "rnns_language", "en")
    return language if language in PDF_NAMES else "en"


def _add_download_entry(app, pagename, templatename, context, doctree):
    if not app.config.rnns_pdf_built:
        return
    menu = next((b for b in context.get("header_buttons") or []
                 if b.get("label") == "download-buttons"), None)
    if menu is None:
        return
    edition = _edition(app.config)
    labels = MENU_LABELS[edition]
    menu["buttons"].insert(0, {
        "type": "link", "url": context["pathto"](PDF_NAMES[edition], 1), "text": labels["book"][0],
        "tooltip": labels["book"][1], "icon": "fas fa-book", "label": "download-book-pdf-button"})
    for button in menu["buttons"]:
        if button.get("label") == "download-pdf-button":  # the theme's window.print()
            button["text"], button["tooltip"] = labels["page"]


def _note_pdf(app, config):
    # Compared between builds: when the PDF appears or goes, every page is written again.
    # The Chinese edition is built from sources written under _build/zh/src: its PDF is found
    # from the course's root (rnns_course_root, which its configuration sets).
    root = Path(getattr(config, "rnns_course_root", "") or app.srcdir)
    path = config.rnns_pdf_path or PDF_PATHS[_edition(config)]
    config.rnns_pdf_built = (root / path).is_file()


def setup(app):
    # The PDF to link, from the course's root (default: this edition's, PDF_PATHS).
    app.add_config_value("rnns_pdf_path", "", "html")
    app.add_config_value("rnns_pdf_built", False, "html")
    app.connect("config-inited", _note_pdf)
    app.connect("html-page-context", _add_download_entry, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


# ----------------------------------------------------------------------------- printing

WAIT_FOR_BOOK = """
const done = arguments[arguments.length - 1];
const started = Date.now();
for (const img of document.images) { img.loading = 'eager'; }
function wait() {
  if (Date.now() - started > %d) { done('the page did not finish loading and typesetting'); return; }
  if (document.readyState !== 'complete' || ![...document.images].every(i => i.complete)) {
    setTimeout(wait, 100); return;
  }
  if (!document.querySelector('.math')) { done('ok'); return; }
  if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) { setTimeout(wait, 100); return; }
  MathJax.startup.promise.then(() => document.fonts.ready).then(() => done('ok'),
                                                                e => done('MathJax failed: ' + e));
}
wait();
""" % ((TIMEOUT_S - 10) * 1000)

# A contents page after the title: one line per chapter, exercise and reference page, each a
# link (a PDF link) to where it starts.
ADD_CONTENTS = """
const pages = [...document.querySelectorAll('span[id^="document-"] + section')];
const article = document.querySelector('article.bd-article');
const first = article.querySelector('section');
const nav = document.createElement('nav');
nav.className = 'rnns-pdf-contents';
nav.innerHTML = '<h2></h2>';
nav.firstChild.textContent = arguments[0];
const list = document.createElement('ol');
for (const section of pages) {
  const heading = section.querySelector('h1, h2, h3');
  const item = document.createElement('li');
  if (heading.tagName === 'H3') item.className = 'rnns-pdf-contents-sub';
  const link = document.createElement('a');
  link.href = '#' + section.id;
  link.textContent = [...heading.childNodes].filter(n => !(n.classList && n.classList.contains('headerlink')))
                                            .map(n => n.textContent).join('').trim();
  item.appendChild(link);
  list.appendChild(item);
}
nav.appendChild(list);
const intro = first.querySelector('h1 + p') || first.querySelector('h1');
intro.after(nav);
return pages.length;
"""

# What would not print whole: an element of the book that runs past the column, or that
# scrolls or clips its content (there are no scroll bars on paper, only cuts).
FIND_PRINT_PROBLEMS = """
const article = document.querySelector('article.bd-article');
const box = article.getBoundingClientRect();
const found = [];
const docWidth = document.documentElement.scrollWidth, winWidth = document.documentElement.clientWidth;
if (docWidth > winWidth + 1) found.push(`the book is ${docWidth} px wide on a ${winWidth} px column`);
const hidden = el => el.closest('mjx-assistive-mml, .visually-hidden, .sr-only');
for (const el of article.querySelectorAll('*')) {
  if (found.length >= 20) break;
  if (hidden(el)) continue;
  const style = getComputedStyle(el);
  if (style.display === 'none') continue;
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) continue;
  const what = () => {
    const math = el.closest('mjx-container');
    const text = [...((math || el).textContent || '').trim().replace(/\\s+/g, ' ')].slice(0, 70).join('');
    const near = el.closest('section[id]');
    return `${math ? 'math' : el.tagName.toLowerCase()} "${text}" (in #${near ? near.id : '?'})`;
  };
  if (el.scrollWidth > el.clientWidth + 1 && style.overflowX !== 'visible') {
    found.push(`${what()} is cut: ${el.scrollWidth} px of content in ${el.clientWidth} px`);
  } else if (r.right > box.right + 1 || r.left < box.left - 1) {
    found.push(`${what()} spans ${Math.round(r.left)}..${Math.round(r.right)} px, the paper's column `
               + `${Math.round(box.left)}..${Math.round(box.right)} px`);
  }
}
return found;
"""

FOOTER = ('<div style="width:100%; font-size:8px; color:#666; text-align:center;">'
          '<span class="pageNumber"></span></div>')


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


_HTML_LANG = re.compile(r"<html\b[^>]*?\blang=[\"']?([A-Za-z]+)", re.I)


def page_language(page: Path) -> str:
    """The edition a built page belongs to, from its ``<html lang>`` (Sphinx writes the
    configured ``language``: ``zh-CN`` in the Chinese edition); English if it says nothing
    else."""
    with open(page, encoding="utf-8", errors="replace") as f:
        found = _HTML_LANG.search(f.read(4096))
    language = found.group(1).lower() if found else "en"
    return language if language in CONTENTS_TITLE else "en"


def print_book(site: Path, out: Path, page: str = "book/intro.html") -> dict:
    """Print ``site``/``page`` (the single-page build) to ``out``; returns a summary."""
    site = Path(site)
    if not (site / page).is_file():
        raise PdfError(f"{site / page} does not exist: build the single-page book first "
                       "(make pdf runs jupyter-book build . --builder singlehtml, make pdf-zh "
                       "the same for the Chinese sources)")
    language = page_language(site / page)
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        raise PdfError(f"printing the book needs Debian's headless Chromium ({', '.join(missing)} "
                       "missing): apt-get install chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    started = time.perf_counter()
    # Sphinx's single-page builder writes the page under its name (book/intro.html) but with
    # links relative to the site's root (_static/..., _images/...): it is read from there.
    shutil.copyfile(site / page, site / "book.html")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    profile = tempfile.mkdtemp(prefix="rnns-pdf-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-background-networking", "--disable-extensions",
                 "--disable-component-update", "--disable-sync", f"--lang={CHROMIUM_LOCALE[language]}",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    os.environ.setdefault("SE_AVOID_STATS", "true")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    # Selenium gives every command 120 s; printing the whole book on a loaded machine took
    # longer (the Chinese edition's 187 pages at load 10): each command may take the page's time.
    client = getattr(driver.command_executor, "_client_config", None)
    if client is not None:
        client.timeout = 2 * TIMEOUT_S
    try:
        driver.set_page_load_timeout(TIMEOUT_S)
        driver.set_script_timeout(TIMEOUT_S)
        # Laid out as on paper before anything runs: MathJax breaks to the printable width.
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": PRINT_WIDTH_PX, "height": PRINT_HEIGHT_PX, "deviceScaleFactor": 1, "mobile": False})
        driver.get(f"http://127.0.0.1:{httpd.server_address[1]}/book.html")
        state = driver.execute_async_script(WAIT_FOR_BOOK)
        if state != "ok":
            raise PdfError(f"{page}: {state}")
        errors = driver.execute_script("return [...document.querySelectorAll('mjx-merror')]"
                                       ".map(e => e.textContent)")
        if errors:
            raise PdfError(f"MathJax could not typeset {len(errors)} formulas: {errors[:3]}")
        parts = driver.execute_script(ADD_CONTENTS, CONTENTS_TITLE[language])
        problems = driver.execute_script(FIND_PRINT_PROBLEMS)
        if problems:
            raise PdfError("these would not print whole on A4:\n  " + "\n  ".join(problems))
        result = driver.execute_cdp_cmd("Page.printToPDF", {
            "paperWidth": PAPER_IN[0], "paperHeight": PAPER_IN[1],
            "marginTop": MARGIN_IN["top"], "marginBottom": MARGIN_IN["bottom"],
            "marginLeft": MARGIN_IN["left"], "marginRight": MARGIN_IN["right"],
            "printBackground": True, "displayHeaderFooter": True,
            "headerTemplate": "<div></div>", "footerTemplate": FOOTER,
            "generateDocumentOutline": True, "generateTaggedPDF": True})
    finally:
        driver.quit()
        httpd.shutdown()
        httpd.server_close()
        shutil.rmtree(profile, ignore_errors=True)
    data = base64.b64decode(result["data"])
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(out)
    return {"pdf": str(out), "language": language, "bytes": len(data), "parts": parts,
            "seconds": round(time.perf_counter() - started, 1)}
