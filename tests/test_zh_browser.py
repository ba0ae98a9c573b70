"""The Chinese edition (``_build/html/zh``) in headless Chromium, as a Chinese reader meets it.

* every page of the Chinese edition loads at 1280 px and at 390 px (a phone) with no error in
  the console, no request the server cannot answer, and nothing wider than the window;
* the language switch, clicked, goes to the same page in English, and its twin there, clicked,
  comes back;
* Chinese text is drawn with a font that has Chinese glyphs, not as empty boxes ("tofu"): the
  fonts Chromium used for a paragraph (DevTools' ``CSS.getPlatformFontsForNode``) include a
  font with Chinese, and two different characters come out as two different pictures;
* the launch menu of every Chinese chapter page opens the Chinese notebook, and its JupyterLite
  item, clicked, opens ``<a>.zh.ipynb`` whose kernel speaks Chinese: the language cell, the
  set-up cell and a test cell with a wrong answer run in Pyodide and print the Chinese message.

The browser and the server are test_browser.py's fixtures; JupyterLite is driven with
test_lite.py's helpers.
"""
from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path
from urllib.parse import urljoin

import pytest

from grader.translate import exercises
from test_browser import NARROW, WIDE, browser, server  # noqa: F401 - fixtures
from test_lite import _cells, _find, _run, _type, lite_site  # noqa: F401 - fixture

pytestmark = pytest.mark.book

WAIT = """
const done = arguments[arguments.length - 1];
const started = Date.now();
function wait() {
  if (Date.now() - started > 20000) { done('timeout'); return; }
  if (document.readyState !== 'complete') { setTimeout(wait, 50); return; }
  if (document.querySelector('.math') && window.MathJax && MathJax.startup && MathJax.startup.promise) {
    MathJax.startup.promise.then(() => done('ok'), e => done('MathJax failed: ' + e));
    return;
  }
  done('ok');
}
wait();
"""


@pytest.fixture(scope="module")
def zh_pages(site) -> list[str]:
    root = site / "zh"
    if not (root / "book" / "intro.html").is_file():
        pytest.fail("the site has no Chinese edition: make book builds it (make book-zh)")
    return sorted(p.relative_to(site).as_posix() for p in root.rglob("*.html")
                  if not {"_static", "_sources", "_images"} & set(p.relative_to(root).parts))


def _open(driver, url: str) -> None:
    driver.get(url)
    state = driver.execute_async_script(WAIT)
    assert state == "ok", f"{url}: {state}"


def _console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_every_chinese_page_loads_cleanly(zh_pages, server, browser, width):
    base, failures = server
    assert len(zh_pages) >= 17
    browser.set_window_size(width, 900)
    browser.get_log("browser")
    problems = []
    for page in zh_pages:
        _open(browser, base + page)
        errors = _console_errors(browser)
        if errors:
            problems.append(f"{page}: console errors {errors[:3]}")
        lang, wide = browser.execute_script(
            "return [document.documentElement.lang, "
            "document.documentElement.scrollWidth - document.documentElement.clientWidth];")
        if not lang.startswith("zh"):
            problems.append(f"{page}: <html lang={lang!r}>")
        if wide > 1:
            problems.append(f"{page}: {wide} px wider than the {width} px window")
    assert problems == [], "\n".join(problems[:10])
    assert failures == [], f"the Chinese edition asked for files the site does not have: {failures[:5]}"


SWITCH = "nav.rnns-language a"


def _click_switch(driver) -> str:
    from selenium.webdriver.common.by import By

    before = driver.current_url
    link = driver.find_element(By.CSS_SELECTOR, SWITCH)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", link)
    link.click()
    deadline = time.monotonic() + 15
    while (driver.current_url == before or driver.execute_script(
            "return document.readyState") != "complete") and time.monotonic() < deadline:
        time.sleep(0.05)
    return driver.current_url


@pytest.mark.parametrize("width", [WIDE, NARROW])
@pytest.mark.parametrize("page, english", [
    ("zh/book/intro.html", "book/intro.html"),
    ("zh/book/02_hmm_dice.html", "book/02_hmm_dice.html"),
    ("zh/exercises/03_embeddings/03_embeddings.zh.html", "exercises/03_embeddings/03_embeddings.html"),
])
def test_the_language_switch_goes_to_the_same_page_and_back(server, browser, width, page, english):
    base, _ = server
    browser.set_window_size(width, 900)
    browser.get(base + page)                  # the switch is there once the page has loaded
    assert browser.find_element("css selector", SWITCH).text == "English"
    assert _click_switch(browser) == base + english
    assert browser.execute_script("return document.documentElement.lang").startswith("en")
    assert browser.find_element("css selector", SWITCH).text == "中文"
    assert _click_switch(browser) == base + page


def _chinese_fonts() -> set[str]:
    """The families of this machine's fonts that have Chinese glyphs (fontconfig)."""
    out = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout
    return {name.strip() for line in out.splitlines() for name in line.split(",") if name.strip()}


DRAW_TWO_CHARACTERS = """
const el = arguments[0];
const style = getComputedStyle(el);
const canvas = document.createElement('canvas');
canvas.width = 64; canvas.height = 64;
const ctx = canvas.getContext('2d');
const pixels = ch => {
  ctx.clearRect(0, 0, 64, 64);
  ctx.font = `32px ${style.fontFamily}`;
  ctx.fillText(ch, 8, 44);
  return Array.from(ctx.getImageData(0, 0, 64, 64).data).join(',');
};
return [style.fontFamily, pixels('永') !== pixels('国'), pixels('永') !== pixels('')];
"""


def test_chinese_text_is_drawn_with_a_chinese_font(server, browser):
    from selenium.webdriver.common.by import By

    chinese_fonts = _chinese_fonts()
    assert chinese_fonts, "no font with Chinese glyphs on this machine (.ci/run installs one)"
    base, _ = server
    browser.set_window_size(WIDE, 900)
    _open(browser, base + "zh/exercises/02_hmm_dice/02_hmm_dice.zh.html")
    paragraph = next(p for p in browser.find_elements(By.CSS_SELECTOR, "article p")
                     if len(re.findall("[\u4e00-\u9fff]", p.text)) >= 20)
    family, distinct, inked = browser.execute_script(DRAW_TWO_CHARACTERS, paragraph)
    assert distinct and inked, f"two Chinese characters drew the same picture in {family}: tofu"
    # which fonts Chromium really used for the paragraph's text, and how many glyphs each drew
    browser.execute_cdp_cmd("DOM.enable", {})
    browser.execute_cdp_cmd("CSS.enable", {})
    browser.execute_script("arguments[0].setAttribute('data-zh-probe', '1')", paragraph)
    document = browser.execute_cdp_cmd("DOM.getDocument", {"depth": 0})
    node = browser.execute_cdp_cmd("DOM.querySelector", {
        "nodeId": document["root"]["nodeId"], "selector": "[data-zh-probe]"})
    used = browser.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
    drawn_in_chinese = sum(f["glyphCount"] for f in used if f["familyName"] in chinese_fonts)
    characters = len(re.findall("[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]", paragraph.text))
    assert drawn_in_chinese >= characters, (used, characters)
    print(f"{characters} Chinese characters drawn in {used}")


def test_chinese_chapters_launch_the_chinese_notebooks(site, server, browser):
    from selenium.webdriver.common.by import By

    base, _ = server
    for assignment in exercises.assignments():
        browser.get(base + f"zh/book/{assignment}.html")     # the menu is there once loaded
        links = [a.get_attribute("href") for a in
                 browser.find_elements(By.CSS_SELECTOR, ".dropdown-launch-buttons-zh a.dropdown-item")]
        assert len(links) == 3, (assignment, links)       # JupyterLite, Binder, Colab
        zh_name = exercises.zh_name(assignment)
        assert all(zh_name in link for link in links), links
        assert any(link.startswith(urljoin(base, "lite/")) for link in links), links
        assert (site / "lite" / "files" / zh_name).is_file()


def test_jupyterlite_opens_the_chinese_notebook_and_its_kernel_speaks_chinese(
        lite_site, server, browser):
    from selenium.webdriver.common.by import By

    base, failures = server
    browser.set_window_size(WIDE, 900)
    _open(browser, base + "zh/book/01_rnn_by_hand.html")
    home = browser.current_window_handle
    browser.find_element(By.CSS_SELECTOR, ".dropdown-launch-buttons-zh button").click()
    lite_item = next(a for a in browser.find_elements(By.CSS_SELECTOR, ".dropdown-launch-buttons-zh a")
                     if "lite/" in a.get_attribute("href"))
    handles = set(browser.window_handles)
    lite_item.click()                                     # opens a new tab (target=_blank)
    deadline = time.monotonic() + 15
    while set(browser.window_handles) == handles and time.monotonic() < deadline:
        time.sleep(0.05)
    (tab,) = set(browser.window_handles) - handles
    browser.switch_to.window(tab)
    try:
        assert browser.current_url.endswith("path=01_rnn_by_hand.zh.ipynb")
        started = time.monotonic()
        while len(_cells(browser)) < 5 and time.monotonic() < started + 60:
            time.sleep(0.25)
        assert "练习 1" in browser.find_element(By.CSS_SELECTOR, ".jp-Notebook").text

        language = _run(browser, _find(browser, "RNNS_LANGUAGE"))
        assert not language["error"], language["output"]
        setup = _run(browser, _find(browser, "from grader.checks import"))
        assert not setup["error"], f"the set-up cell failed in the browser:\n{setup['output']}"
        answer, tests = _find(browser, "def as_row"), _find(browser, "check_close(as_row")
        wrong = "as_row = lambda v: v.reshape(-1, 1)\nas_column = lambda v: v.reshape(-1, 1)"
        assert _type(browser, answer, wrong).split() == wrong.split()
        _run(browser, answer, 30)
        failed = _run(browser, tests, 30)
        assert failed["error"] and "行和列对调了（转置了）（得到 (2, 1)，应为 (1, 2)）" in failed["output"], failed
        assert failures == [], f"JupyterLite asked the site for files it does not have: {failures[:5]}"
    finally:
        browser.close()
        browser.switch_to.window(home)


def test_what_scripts_write_on_chinese_pages_is_chinese(server, browser):
    """Text that scripts write once a page has loaded: copy buttons' tooltips, the hints'
    dropdown buttons (sphinx-copybutton, sphinx-togglebutton), the search's results."""
    from selenium.webdriver.common.by import By
    from test_zh_parity import KNOWN_INTERFACE, _english_interface

    from grader.translate import parity

    base, failures = server
    browser.set_window_size(WIDE, 900)
    for page in ("zh/book/01_rnn_by_hand.html", "zh/book/04_rnnlm.html"):
        _open(browser, base + page)
        html = browser.page_source
        assert "copybtn" in html and "data-toggle-hint" in html, page
        texts = parity.interface_texts(html)
        assert "复制到剪贴板" in texts or "复制" in texts, page
        assert "点击展开" in texts, page
        assert _english_interface(html, set()) == [] and not set(texts) & KNOWN_INTERFACE, page
    _open(browser, base + "zh/search.html?q=困惑度")
    deadline = time.monotonic() + 20
    summary = ""
    while not summary and time.monotonic() < deadline:
        time.sleep(0.2)
        summary = browser.execute_script(
            "const p = document.querySelector('#search-results .search-summary');"
            "return p ? p.textContent : '';").strip()
    assert summary.startswith("搜索完成") and not re.search("[A-Za-z]{3,}", summary), summary
    found = [a.get_attribute("href") for a in
             browser.find_elements(By.CSS_SELECTOR, "#search-results ul.search li a")]
    assert found and all("/zh/" in link for link in found), found[:5]
    assert failures == [], failures[:5]
