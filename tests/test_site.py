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


# ----------------------------------------------------------------------------- author-facing text

# What a reader must never see on a page: the book's own plumbing and the authors' notes to
# themselves. (text, why) pairs; matched case-insensitively in the page's visible text and
# code, collapsed code included (a hide-input cell is one click away).
AUTHOR_FACING = (
    (r"tests/test_\w+|\btest_\w+\.py\b|\bpytest\b", "the course's own test suite"),
    (r"\bglue\(", "myst-nb's glue: the numbers of the prose, to be set in a hidden cell"),
    (r"\bportable\(|\bread_runs\(|\bread_lines\(|\bresults_dir\b", "results plumbing"),
    (r"the prose below", "an assert that keeps prose and results in step, to be hidden"),
    (r"load average|loadavg|shared with other work|machine (?:was |is )?(?:busy|quiet|loaded)",
     "the load of the machine a number was measured on"),
    (r"build took|while (?:the|a) book builds|outside the book|\bmake book\b|book (?:to )?build",
     "the book's build"),
    (r"once rewritten", "the history of the code"),
    (r"RNNS_DATA_DIR not set|synthetic corpus", "a fallback that hides missing data"),
    (r"\b\d+(?:\.\d+)? ?s of training\b|\b(?:trained|took|ran) in \d+(?:\.\d+)? ?s\b"
     r"|\bepochs in \d+(?:\.\d+)? ?s\b", "a build timing printed as a result"),
)
# Shown code of the book's pages (not the exercises, whose visible tests use assert).
AUTHOR_FACING_CODE = ((r"^\s*assert\b", "an assert that keeps prose and results in step"),)


def _visible_text_and_code(html_text: str) -> tuple[str, str]:
    """The page's visible text and its code blocks (hidden cells are not in the page)."""
    body = re.sub(r"<script.*?</script>|<style.*?</style>", " ", html_text, flags=re.S)
    main = re.search(r'<main[^>]*id="main-content".*?</main>', body, flags=re.S)
    body = main.group(0) if main else body
    code = "\n".join(html.unescape(re.sub(r"<[^>]+>", "", block))
                     for block in re.findall(r"<pre[^>]*>(.*?)</pre>", body, flags=re.S))
    return html.unescape(re.sub(r"<[^>]+>", " ", body)), code


def author_facing(html_text: str, code_rules: bool = True) -> list[str]:
    text, code = _visible_text_and_code(html_text)
    found = []
    for pattern, why in AUTHOR_FACING:
        for m in re.finditer(pattern, text, flags=re.I):
            found.append(f"{why}: ...{text[max(0, m.start() - 50):m.end() + 30].strip()}...")
    for pattern, why in AUTHOR_FACING_CODE if code_rules else ():
        for m in re.finditer(pattern, code, flags=re.M):
            found.append(f"{why}: {code[m.start():m.start() + 80].strip()}")
    return found


def _reader_pages(site: Path) -> list[Path]:
    """Every page students read: the book's pages and the exercises (not an instructors' page)."""
    pages = [*sorted((site / "book").glob("*.html")), *sorted((site / "exercises").rglob("*.html"))]
    return [p for p in pages if "instructor" not in p.stem]


def test_the_author_facing_scanner_finds_plumbing_and_only_that():
    page = ('<main id="main-content"><p>The reference ran in 3.2 s of training; see '
            "tests/test_rnnlm.py (load average 1.5).</p>"
            '<div class="highlight"><pre>glue("x", 1)\nassert ratio &gt; 1\n</pre></div></main>')
    found = " | ".join(author_facing(page))
    for why in ("test suite", "glue", "load of the machine", "build timing", "an assert"):
        assert why in found, (why, found)
    clean = ('<main id="main-content"><p>Each epoch takes 19 batches; the test perplexity is '
             '84.4, measured on the test split.</p><pre>model.forward(xs, ts)\n'
             'check_close(out, expected)</pre></main>')
    assert author_facing(clean) == []


def _plumbing(site: Path, pages: list[Path]) -> dict[str, list[str]]:
    found = {}
    for path in pages:
        hits = author_facing(path.read_text(encoding="utf-8", errors="replace"),
                             code_rules="exercises" not in path.parts)
        if hits:
            found[path.relative_to(site).as_posix()] = hits[:5]
    return found


def test_no_page_shows_the_book_s_plumbing(site):
    pages = _reader_pages(site)
    assert len(pages) >= 15, [p.name for p in pages]
    assert _plumbing(site, pages) == {}


