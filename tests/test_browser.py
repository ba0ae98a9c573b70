"""Every page of the built site, opened in headless Chromium as a student would open it.

The site (_build/html) is served on 127.0.0.1 by http.server in a thread, and Debian's
Chromium is driven through /usr/bin/chromedriver with Selenium (never a downloaded
driver or browser).  For every page the test checks that

* the browser console shows no error (level SEVERE: JavaScript exceptions, failed loads);
* the browser requests nothing from another host (the site works offline), and the
  server answers every request it gets (no 404 for a script, font or image);
* every image has loaded (``naturalWidth > 0``);
* every math element has been typeset by the local MathJax (an ``mjx-container`` inside
  each, and no ``mjx-merror``);
* every link, script, stylesheet and image on the same host resolves (HTTP 200), and every
  ``#fragment`` it points to exists on the target page.
* nothing runs past the main column, at 1280 px and on a 390 px phone, and nothing in it
  scrolls or is cut: no element of the main column (inline and display math included) has
  ``scrollWidth > clientWidth`` (or a taller content than its box) while it scrolls or clips
  its overflow. Scroll bars are not hidden, as a reader sees them. The one exception by
  design: a code block (``pre``: source or printed output, whose lines and columns must stay
  as they are) may scroll sideways, and on the phone so may a data table with more columns
  than fit; math and text never (``book/_static/book.css``);
* every image in a page's text is a numbered figure with a caption, and its alt text says
  what it shows (not empty, not a file name);
* every figure is a book figure (``grader/site/figures.py``: SVG with a record of its
  smallest text), its axes are labelled, and its smallest text is at least 9 CSS px on
  the phone: ``smallest_pt * displayed_px / svg_width_pt``.

Screenshots of the landing page and of chapter 1 (1280 px, and chapters 1 and 5 at 390 px)
go to artifacts/screenshots/ and a per-page report to artifacts/browser-report.json
(artifacts/ is git-ignored; CI keeps it).

Without Chromium the test is skipped, except on CI (CI=true), where it fails.
"""
from __future__ import annotations

import base64
import functools
import json
import os
import shutil
import tempfile
import threading
import urllib.error
import urllib.request
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Pages photographed (path in the site -> file name stem), at 1280 px and on the phone.
SCREENSHOT_PAGES = {"book/intro.html": "landing", "book/01_rnn_by_hand.html": "chapter-01"}
PHONE_SCREENSHOT_PAGES = {"book/01_rnn_by_hand.html": "chapter-01-phone",
                          "book/05_mrnn.html": "chapter-05-phone"}
# Flags that keep Chromium quiet on a machine without a network: no background
# requests, no component updates, no sync; host names other than the test server
# resolve to nothing, so an accidental external load fails at once (and is reported).
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--disable-dev-shm-usage",
    "--no-default-browser-check", "--metrics-recording-only",
    "--force-device-scale-factor=1", "--window-size=1280,900", "--lang=en-US",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
PAGE_TIMEOUT = 30  # seconds for one page to load and typeset its math
# Widths at which no content may overflow the main column: a laptop and a phone. The phone
# is emulated as one (a 390 x 844 viewport, touch, overlay scroll bars); the laptop keeps
# the classic scroll bars a reader of the site sees there.
WIDE, NARROW = 1280, 390
PHONE = {"width": NARROW, "height": 844, "deviceScaleFactor": 1, "mobile": True}
# The smallest figure text a phone may show, in CSS px (issue 24: about 4 px before).
MIN_FIGURE_TEXT_PX = 9.0


# ----------------------------------------------------------------------------- fixtures


def _on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _require_browser() -> None:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        message = (f"headless Chromium is not installed ({', '.join(missing)} missing): "
                   "run `apt-get install chromium chromium-driver` (.ci/run does)")
        if _on_ci():
            pytest.fail(message + "; on CI the browser test must run, not be skipped")
        pytest.skip(message)
    try:
        import selenium  # noqa: F401
    except ImportError as exc:  # installed from requirements.lock: a broken environment
        pytest.fail(f"selenium is not installed ({exc}): run `make install`")


class _Handler(SimpleHTTPRequestHandler):
    """Serves the site quietly, remembering every request it could not answer."""

    failures: list[tuple[str, int]]

    def log_request(self, code="-", size="-"):
        if isinstance(code, int) and code >= 400:  # HTTPStatus is an int
            self.failures.append((self.path, int(code)))

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def server(site):
    handler = type("Handler", (_Handler,), {"failures": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", handler.failures
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_AVOID_STATS", "true")  # never let Selenium phone home
    profile = tempfile.mkdtemp(prefix="rnns-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(PAGE_TIMEOUT)
    driver.set_script_timeout(PAGE_TIMEOUT)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


# ----------------------------------------------------------------------------- helpers

WAIT_FOR_PAGE = """
const done = arguments[arguments.length - 1];
const started = Date.now();
const mathCount = document.querySelectorAll('.math').length;
for (const img of document.images) { img.loading = 'eager'; }
function imagesSettled() { return [...document.images].every(i => i.complete); }
function wait() {
  const elapsed = Date.now() - started;
  if (elapsed > %d) { done('timeout'); return; }
  if (document.readyState !== 'complete' || !imagesSettled()) { setTimeout(wait, 50); return; }
  if (mathCount === 0) { done('ok'); return; }
  if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) { setTimeout(wait, 50); return; }
  MathJax.startup.promise.then(() => done('ok'), e => done('MathJax failed: ' + e));
}
wait();
""" % ((PAGE_TIMEOUT - 5) * 1000)

INSPECT_PAGE = """
const math = [...document.querySelectorAll('.math')];
const origin = location.origin;
const urls = [];
for (const el of document.querySelectorAll('a[href], link[href], script[src], img[src]')) {
  const url = el.href || el.src;
  if (url && url.startsWith(origin)) urls.push(url);
}
return {
  url: location.href,
  title: document.title,
  math: math.length,
  typeset: math.filter(e => e.querySelector('mjx-container')).length,
  containers: document.querySelectorAll('mjx-container').length,
  mathErrors: [...document.querySelectorAll('mjx-merror')].map(e => e.textContent).slice(0, 5),
  mathjaxVersion: window.MathJax && MathJax.version || null,
  images: document.images.length,
  brokenImages: [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))
                                    .map(i => i.currentSrc || i.src),
  ids: [...document.querySelectorAll('[id], a[name]')].map(e => e.id || e.name),
  urls: urls,
  height: Math.max(document.body.scrollHeight, document.documentElement.scrollHeight),
};
"""


# What a reader would see spill, scroll or be cut in the main column: the page wider than the
# window; an element that scrolls or clips its content (scrollWidth > clientWidth or
# scrollHeight > clientHeight, overflow not visible), unless it is a code block scrolling
# sideways (or, on the phone, a data table); an element that sticks out of the column
# (more than 1 px) and is not inside such a scrolling block. Screen-reader-only elements
# (MathJax's assistive MathML) are clipped to nothing on purpose and do not count.
FIND_OVERFLOW = """
const phone = arguments[0];
const article = document.querySelector('article.bd-article') || document.querySelector('main');
const found = [];
const docWidth = document.documentElement.scrollWidth, winWidth = document.documentElement.clientWidth;
if (docWidth > winWidth + 1) found.push(`the page is ${docWidth} px wide in a ${winWidth} px window`);
if (!article) return found;
const box = article.getBoundingClientRect();
const describe = el => {
  const math = el.closest('mjx-container, div.math, span.math');
  const what = math ? 'math' : el.tagName.toLowerCase() + (el.className && el.className.baseVal === undefined
               ? '.' + String(el.className).trim().split(/\\s+/).slice(0, 3).join('.') : '');
  // By characters, not UTF-16 units: half of a math italic letter (𝑥) cannot be returned.
  const text = [...((math || el).textContent || '').trim().replace(/\\s+/g, ' ')].slice(0, 60).join('');
  return what + ' "' + text + '"';
};
const scrolls = style => style.overflowX === 'auto' || style.overflowX === 'scroll';
const mayScroll = (el, style) => scrolls(style) && (el.matches('pre')
    || (phone && (el.matches('table, .pst-scrollable-table-container')
                  || (el.children.length === 1 && el.firstElementChild.matches('table')))));
const screenReaderOnly = el => el.closest('mjx-assistive-mml, .visually-hidden, .sr-only');
const insideScroller = el => {
  for (let a = el.parentElement; a && a !== article; a = a.parentElement) {
    if (mayScroll(a, getComputedStyle(a))) return true;
  }
  return false;
};
// Vertically, scrollHeight also counts a child's bottom margin, which is never cut: what
// counts is a descendant drawn above or below the box. Content hidden on purpose (a hint's
// collapsed dropdown: sphinx-togglebutton gives it height 0 and visibility: hidden) is not.
const cutVertically = el => {
  const r = el.getBoundingClientRect();
  return [...el.querySelectorAll('*')].some(d => {
    if (screenReaderOnly(d) || getComputedStyle(d).visibility === 'hidden') return false;
    const q = d.getBoundingClientRect();
    return q.height > 0 && (q.bottom > r.bottom + 1 || q.top < r.top - 1);
  });
};
const reported = [];  // one report per problem: not again for what is inside it
for (const el of article.querySelectorAll('*')) {
  if (found.length >= 12) break;
  if (screenReaderOnly(el) || reported.some(r => r.contains(el))) continue;
  const style = getComputedStyle(el);
  const wide = el.scrollWidth > el.clientWidth && style.overflowX !== 'visible';
  const tall = el.scrollHeight > el.clientHeight && style.overflowY !== 'visible' && cutVertically(el);
  if (wide || tall) {
    if (!(wide && !tall && mayScroll(el, style))) {
      found.push(`${describe(el)} ${scrolls(style) ? 'scrolls' : 'is cut'}: its content is `
                 + `${el.scrollWidth} x ${el.scrollHeight} px in a ${el.clientWidth} x ${el.clientHeight} px box`);
      reported.push(el);
      continue;
    }
  }
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) continue;
  if ((r.right > box.right + 1 || r.left < box.left - 1) && !insideScroller(el)) {
    found.push(`${describe(el)} spans ${Math.round(r.left)}..${Math.round(r.right)} px, the column `
               + `${Math.round(box.left)}..${Math.round(box.right)} px`);
    reported.push(el);
  }
}
return found;
"""

# The figures of the main column as the page shows them: source, width on screen, number.
FIND_FIGURES = """
const article = document.querySelector('article.bd-article') || document.querySelector('main');
if (!article) return [];
return [...article.querySelectorAll('img')].map(img => {
  const number = img.closest('figure') && img.closest('figure').querySelector('.caption-number');
  return {src: img.currentSrc || img.src, width: img.getBoundingClientRect().width,
          number: number ? number.textContent.trim() : (img.getAttribute('src') || '').split('/').pop()};
});
"""

# Images in the page's text: each inside a <figure> with a numbered caption, with alt text
# that describes it (empty, or a file name such as ../_images/ab12.png, is not alt text).
FIND_FIGURE_PROBLEMS = """
const article = document.querySelector('article.bd-article') || document.querySelector('main');
const found = [];
if (!article) return found;
for (const img of article.querySelectorAll('img')) {
  const src = (img.getAttribute('src') || '').split('/').pop().slice(0, 24);
  const alt = (img.getAttribute('alt') || '').trim();
  // a path is one word with a slash (../_images/ab12.png); a sentence may hold DH/(H - D)
  if (alt.length < 15 || /^\\S*[\\/]\\S*$|\\.(png|svg|jpe?g|gif)$/i.test(alt))
    found.push(`image ${src} has no real alt text: "${alt.slice(0, 60)}"`);
  const figure = img.closest('figure');
  const caption = figure && figure.querySelector('figcaption');
  if (!caption || !caption.textContent.trim())
    found.push(`image ${src} is not a figure with a caption`);
  else if (!caption.querySelector('.caption-number'))
    found.push(`the figure of ${src} has no number`);
}
return found;
"""


def _on_phone(driver, base: str, page: str) -> tuple[list[str], list[dict], list[Path]]:
    """Layout problems of ``page`` on the phone, its figures as the phone shows them, and
    the screenshot taken there (if the page is one of PHONE_SCREENSHOT_PAGES)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    try:
        driver.get(base + page)
        driver.execute_async_script(WAIT_FOR_PAGE)
        problems = driver.execute_script(FIND_OVERFLOW, True)
        figures = driver.execute_script(FIND_FIGURES)
        shots = []
        if page in PHONE_SCREENSHOT_PAGES:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shots.append(SCREENSHOTS / f"{PHONE_SCREENSHOT_PAGES[page]}.png")
            driver.save_screenshot(str(shots[0]))
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    return [f"at {NARROW} px: {problem}" for problem in problems], figures, shots


def _figure_problems(site: Path, figures: list[dict]) -> list[str]:
    """Each figure must be a book figure whose smallest text the phone shows at
    MIN_FIGURE_TEXT_PX or more, with every axis labelled (grader/site/figures.py)."""
    from grader.site.figures import read_record, svg_width_pt

    found = []
    for figure in figures:
        name = figure["number"]
        path = site / unquote(urlsplit(figure["src"]).path).lstrip("/")
        if path.suffix != ".svg" or not path.is_file():
            found.append(f"{name} ({path.name}) is not an SVG figure drawn through "
                         "grader.site.figures (use_book_figures() in the page's first cell)")
            continue
        svg = path.read_bytes()
        record = read_record(svg)
        if record is None:
            found.append(f"{name} ({path.name}) has no record of its text sizes: it was not "
                         "drawn through grader.site.figures (use_book_figures())")
            continue
        found += [f"{name}: the axis {axis} has tick labels but no label"
                  for axis in record["unlabelled_axes"]]
        if record["smallest_text_pt"] is not None:
            shown = record["smallest_text_pt"] * figure["width"] / svg_width_pt(svg)
            if shown < MIN_FIGURE_TEXT_PX:
                found.append(f"{name}: its smallest text, {record['smallest_text']!r} "
                             f"({record['smallest_text_pt']:g} pt), is {shown:.1f} px on a "
                             f"{NARROW} px phone (at least {MIN_FIGURE_TEXT_PX:g}): the figure is "
                             f"shown {figure['width']:.0f} px wide; make it narrower or the text larger")
    return found


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key == "id" or (tag == "a" and key == "name"):
                self.ids.add(value or "")


def _local_requests(performance_log: list[dict]) -> list[str]:
    """URLs of the network requests that the page made (from Chromium's DevTools log)."""
    urls = []
    for entry in performance_log:
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def _is_other_host(url: str, base: str) -> bool:
    scheme = urlsplit(url).scheme
    if scheme in ("data", "blob", "about", "chrome", "chrome-extension", "devtools"):
        return False
    return urlsplit(url).netloc != urlsplit(base).netloc


def _screenshot(driver, path_stem: str, height: int) -> list[Path]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    top = SCREENSHOTS / f"{path_stem}.png"
    driver.save_screenshot(str(top))
    full = SCREENSHOTS / f"{path_stem}-full.png"
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": 1280, "height": min(height, 12000), "scale": 1}})
    full.write_bytes(base64.b64decode(shot["data"]))
    return [top, full]


def _site_pages(site: Path) -> list[str]:
    # JupyterLite's app pages (lite/) are an application, not pages of the book: test_lite.py
    # drives them as a student does.
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                  if "_static" not in p.relative_to(site).parts
                  and p.relative_to(site).parts[0] != "lite")


# ----------------------------------------------------------------------------- the test


def test_every_page_in_headless_chromium(site, server, browser):
    base, server_failures = server
    pages = _site_pages(site)
    assert len(pages) >= 5, f"only {len(pages)} pages in the site"
    problems: dict[str, list[str]] = {}
    report: dict[str, dict] = {}
    linked: dict[str, set[str]] = {}  # URL without fragment -> fragments wanted
    screenshots: list[Path] = []

    for page in pages:
        found = problems.setdefault(page, [])
        browser.get_log("browser")
        browser.get_log("performance")  # drop what earlier pages left
        browser.get(base + page)
        state = browser.execute_async_script(WAIT_FOR_PAGE)
        if state != "ok":
            found.append(f"page did not settle: {state}")
        info = browser.execute_script(INSPECT_PAGE)
        console = browser.get_log("browser")
        requests = _local_requests(browser.get_log("performance"))

        errors = [entry["message"] for entry in console if entry["level"] == "SEVERE"]
        found += [f"console error: {message}" for message in errors]
        found += [f"request to another host: {url}" for url in requests if _is_other_host(url, base)]
        found += [f"image did not load: {src}" for src in info["brokenImages"]]
        if info["math"]:
            if info["mathjaxVersion"] is None:
                found.append("the page has math but MathJax did not load")
            elif info["typeset"] < info["math"]:
                found.append(f"only {info['typeset']} of {info['math']} math elements typeset")
        found += [f"MathJax error: {text}" for text in info["mathErrors"]]
        found += browser.execute_script(FIND_FIGURE_PROBLEMS)
        found += [f"at {WIDE} px: {problem}" for problem in browser.execute_script(FIND_OVERFLOW, False)]
        for url in info["urls"]:
            target, fragment = urldefrag(url)
            linked.setdefault(target.split("?")[0], set()).add(unquote(fragment))
        if page in SCREENSHOT_PAGES:
            screenshots += _screenshot(browser, SCREENSHOT_PAGES[page], info["height"])
        on_phone, figures, shots = _on_phone(browser, base, page)
        found += on_phone + _figure_problems(site, figures)
        screenshots += shots
        report[page] = {
            "title": info["title"], "console_errors": errors,
            "console": [f"{entry['level']}: {entry['message']}" for entry in console],
            "requests": len(requests),
            "math": info["math"], "typeset": info["typeset"], "mathjax": info["mathjaxVersion"],
            "images": info["images"], "broken_images": info["brokenImages"],
            "figures_on_phone": [{"figure": f["number"], "shown_px": round(f["width"])}
                                 for f in figures],
            "links_same_host": len(info["urls"]),
        }

    # Every same-host link, script, stylesheet and image resolves; fragments exist.
    ids_of: dict[str, set[str]] = {}
    for target, fragments in sorted(linked.items()):
        relative = unquote(urlsplit(target).path).lstrip("/")
        try:
            with urllib.request.urlopen(target, timeout=10) as response:
                body = response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            status, body = exc.code, b""
        if status != 200:
            problems.setdefault(relative or "index.html", []).append(f"linked but HTTP {status}")
            continue
        wanted = {f for f in fragments if f}
        if wanted and (relative == "" or relative.endswith(".html")):
            if target not in ids_of:
                parser = _Ids()
                parser.feed(body.decode("utf-8", errors="replace"))
                ids_of[target] = parser.ids
            for fragment in sorted(wanted - ids_of[target]):
                problems.setdefault(relative, []).append(f"linked fragment #{fragment} does not exist")

    problems.update({f"server: {path}": [f"HTTP {code}"] for path, code in server_failures})
    problems = {page: found for page, found in problems.items() if found}

    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "browser-report.json").write_text(json.dumps({
        "pages_checked": len(pages),
        "same_host_urls_checked": len(linked),
        "console_errors": sum(len(r["console_errors"]) for r in report.values()),
        "problems": problems,
        "screenshots": [str(p.relative_to(ROOT)) for p in screenshots],
        "pages": report,
    }, indent=2, ensure_ascii=False))

    assert len(screenshots) == 2 * len(SCREENSHOT_PAGES) + len(PHONE_SCREENSHOT_PAGES), \
        "a screenshot page is missing from the site"
    assert problems == {}, "problems found in the browser:\n" + "\n".join(
        f"  {page}:\n" + "\n".join(f"    - {p}" for p in found[:10]) for page, found in problems.items())
