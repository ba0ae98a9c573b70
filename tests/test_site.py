"""The built site: chapters and exercise pages present, nothing secret published."""
import html
import re
from pathlib import Path

import pytest

from grader import leaks
from grader.release import assignments

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.book


def test_chapter_and_exercise_pages_exist(site):
    assert (site / "book" / "01_rnn_by_hand.html").exists()
    page = site / "exercises" / "01_rnn_by_hand" / "01_rnn_by_hand.html"
    assert page.exists()
    assert "YOUR CODE HERE" in page.read_text()


def test_exercise_is_downloadable_as_the_student_version(site):
    chapter = (site / "book" / "01_rnn_by_hand.html").read_text()
    assert "01_rnn_by_hand.ipynb" in chapter and "_downloads/" in chapter
    downloads = list((site / "_downloads").rglob("01_rnn_by_hand.ipynb"))
    assert downloads
    for path in downloads:
        assert path.read_bytes() == (ROOT / "exercises/01_rnn_by_hand/01_rnn_by_hand.ipynb").read_bytes()


def test_no_solution_or_hidden_test_text_anywhere_in_the_site(site):
    sources = [p for a in assignments() for p in sorted((ROOT / "solutions" / a).glob("*.ipynb"))]
    secrets = leaks.secret_lines(sources)
    assert len(secrets) > 20
    leaked = {}
    for path in site.rglob("*"):
        if path.is_file() and path.suffix in {".html", ".ipynb", ".md", ".txt", ".js", ".json", ".py"}:
            found = leaks.find_leaks(path.read_text(encoding="utf-8", errors="replace"), secrets)
            if found:
                leaked[str(path.relative_to(site))] = found[:3]
    assert leaked == {}


def test_no_instructor_material_is_published(site):
    names = {p.name for p in site.rglob("*")}
    assert not any(n.startswith("solutions") for n in names)
    assert not list(site.rglob("*.py"))
    assert "nbgrader_config.py" not in names
    for path in site.rglob("*.html"):
        assert "grader/reference" not in path.read_text(encoding="utf-8", errors="replace")


def _rendered_text(html_text: str) -> str:
    """The page's prose as a reader sees it before MathJax runs: code, scripts and the spans
    that MathJax typesets removed, tags stripped."""
    for pattern in (r"<script.*?</script>", r"<style.*?</style>", r"<pre.*?</pre>",
                    r'<div class="highlight.*?</div>', r"<code.*?</code>",
                    r'<span class="math notranslate nohighlight">.*?</span>',
                    r'<div class="math notranslate nohighlight">.*?</div>'):
        html_text = re.sub(pattern, " ", html_text, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", html_text))


def unrendered_math(html_text: str) -> list[str]:
    """Dollar signs and TeX delimiters that reached the reader as text: math that the
    Markdown parser did not recognise (a display equation inside a list item without blank
    lines around it, dollars in a notebook's Markdown output).  ``$NAME`` of a shell
    variable is text, not math."""
    text = _rendered_text(html_text)
    return [text[max(0, m.start() - 40):m.end() + 40].strip()
            for m in re.finditer(r"\$(?![A-Z_]{2,})|\\\(|\\\)|\\\[|\\\]", text)]


def test_the_math_scanner_finds_stray_dollars_and_only_those():
    assert unrendered_math("<p>the moves $<span class=\"math notranslate nohighlight\">"
                           "\\(x\\)</span>$</p>")
    assert unrendered_math("<td><p>LSTM, $H = 100$, lr 20</p></td>")
    assert not unrendered_math("<p>set $XDG_CACHE_HOME or <code>$x$</code></p>"
                               "<span class=\"math notranslate nohighlight\">\\(x\\)</span>")


def test_no_math_is_left_unrendered(site):
    stray = {}
    for path in sorted(site.rglob("*.html")):
        if "_static" in path.parts or "lite" in path.parts:
            continue
        found = unrendered_math(path.read_text(encoding="utf-8", errors="replace"))
        if found:
            stray[str(path.relative_to(site))] = found[:3]
    assert stray == {}
