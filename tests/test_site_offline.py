"""The built site loads nothing from another host: it works with no network at all.

Every HTML page is parsed and every *load* is checked: scripts, stylesheets, images, fonts,
frames, media, preloads and CSS ``url(...)``/``@import`` in pages and in the stylesheets
they use.  Plain links (``<a href>``, and ``<link rel="next">`` and the like) are not
loads: the Binder, Colab, repository and issue buttons are allowed to point elsewhere.
The browser test (test_browser.py) checks the same thing by watching real page loads.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

pytestmark = pytest.mark.book

# <link rel=...> values that only name another document; every other rel (stylesheet,
# icon, preload, modulepreload, prefetch, preconnect, dns-prefetch, manifest, ...) makes
# the browser fetch or connect.
NAVIGATION_RELS = {"next", "prev", "previous", "index", "search", "canonical", "author",
                   "license", "help", "alternate", "bookmark", "nofollow", "noopener",
                   "noreferrer", "external", "first", "last", "up", "contents", "copyright",
                   "glossary", "start", "top"}
# Attributes that make the browser load something, per tag.
LOAD_ATTRIBUTES = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "input": ("src",),
    "image": ("href", "xlink:href"),  # SVG
    "use": ("href", "xlink:href"),    # SVG
}
CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)|@import\s+(['"])([^'"]+)\3""")
ANALYTICS = ("googletagmanager", "google-analytics", "gtag(", "plausible.io", "analytics.js")


def is_remote(url: str) -> bool:
    """True when loading ``url`` would contact another host."""
    url = url.strip()
    if url.startswith("//"):
        return True
    scheme = urlsplit(url).scheme.lower()
    return scheme not in ("", "data", "blob", "about", "javascript", "mailto")


def srcset_urls(value: str) -> list[str]:
    return [part.strip().split()[0] for part in value.split(",") if part.strip()]


class LoadCollector(HTMLParser):
    """Collects (what, url) for every load in a page, and the text of its <style> blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.loads: list[tuple[str, str]] = []
        self.inline_css: list[str] = []
        self.inline_js: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "link":
            rels = set(a.get("rel", "").lower().split())
            if rels - NAVIGATION_RELS and a.get("href"):
                self.loads.append((f"link rel={a.get('rel')}", a["href"]))
        for attr in LOAD_ATTRIBUTES.get(tag, ()):
            if a.get(attr):
                urls = srcset_urls(a[attr]) if attr == "srcset" else [a[attr]]
                self.loads.extend((f"{tag} {attr}", u) for u in urls)
        if a.get("style"):
            self.inline_css.append(a["style"])
        if tag in ("style", "script"):
            self._in = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "style":
            self.inline_css.append(data)
        elif self._in == "script":
            self.inline_js.append(data)


def css_loads(css: str) -> list[str]:
    return [m.group(2) or m.group(4) for m in CSS_URL.finditer(css)]


def pages(site: Path) -> list[Path]:
    found = sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)
    assert len(found) >= 5, f"only {len(found)} pages in {site}"
    return found


def local_target(page: Path, url: str, site: Path) -> Path:
    path = unquote(urlsplit(url).path)
    return (site / path.lstrip("/")) if path.startswith("/") else (page.parent / path)


def test_no_page_loads_anything_from_another_host(site):
    remote: dict[str, list[str]] = {}
    for page in pages(site):
        parser = LoadCollector()
        parser.feed(page.read_text(encoding="utf-8"))
        found = [f"{what}: {url}" for what, url in parser.loads if is_remote(url)]
        found += [f"inline css: {u}" for css in parser.inline_css for u in css_loads(css)
                  if is_remote(u)]
        if found:
            remote[str(page.relative_to(site))] = found
    assert remote == {}, "pages load from other hosts (the site must work offline):\n" + "\n".join(
        f"  {page}: {loads}" for page, loads in remote.items())


def test_every_local_load_exists(site):
    """Scripts, stylesheets and images that a page loads from the site are in the site."""
    missing: dict[str, list[str]] = {}
    for page in pages(site):
        parser = LoadCollector()
        parser.feed(page.read_text(encoding="utf-8"))
        gone = [url for _, url in parser.loads
                if not is_remote(url) and not url.startswith(("data:", "blob:", "#"))
                and not local_target(page, url, site).is_file()]
        if gone:
            missing[str(page.relative_to(site))] = gone
    assert missing == {}


def test_every_page_names_its_icon(site):
    """Without <link rel="icon"> a browser asks for /favicon.ico, which does not exist: a
    404 in the console (seen on the root redirect page before it had one)."""
    for page in pages(site):
        parser = LoadCollector()
        parser.feed(page.read_text(encoding="utf-8"))
        icons = [url for what, url in parser.loads if "icon" in what.split("=", 1)[-1].split()]
        assert icons, f"{page.relative_to(site)} names no icon"


def test_stylesheets_load_nothing_from_another_host(site):
    """Fonts and images referenced by the theme's CSS are local (no web fonts from a CDN)."""
    remote = {}
    for css in (site / "_static").rglob("*.css"):
        found = [u for u in css_loads(css.read_text(encoding="utf-8", errors="replace"))
                 if is_remote(u) and not u.startswith("http://www.w3.org/")]
        if found:
            remote[str(css.relative_to(site))] = found
    assert remote == {}


def test_mathjax_is_the_local_copy(site):
    """Pages with math load MathJax 4 from _static/mathjax, which holds its font too, and
    tell it to look for the font there (its default is a CDN). The site holds one copy: the
    Chinese edition's pages (zh/) load the English site's, as they are served under it."""
    mathjax = site / "_static" / "mathjax"
    assert (mathjax / "tex-mml-chtml.js").is_file(), "MathJax was not copied: run `make book`"
    copies = sorted(p.parent.relative_to(site).as_posix() for p in site.rglob("tex-mml-chtml.js"))
    assert copies == ["_static/mathjax"], f"MathJax (9.4 MB) copied more than once: {copies}"
    font = mathjax / "fonts" / "mathjax-newcm-font"
    assert list((font / "chtml" / "woff2").glob("*.woff2")) and (font / "chtml" / "dynamic").is_dir()
    with_math = 0
    for page in pages(site):
        html = page.read_text(encoding="utf-8")
        if 'class="math' not in html:
            continue
        with_math += 1
        parser = LoadCollector()
        parser.feed(html)
        scripts = [url for what, url in parser.loads if what == "script src" and "mathjax" in url.lower()]
        assert scripts, f"{page.relative_to(site)} has math but loads no MathJax"
        for url in scripts:
            assert not is_remote(url), f"{page.relative_to(site)} loads MathJax from {url}"
            assert local_target(page, url, site).resolve() == (mathjax / "tex-mml-chtml.js").resolve()
        assert '"fonts": "[mathjax]/fonts"' in html, f"{page.relative_to(site)}: MathJax's font path"
    assert with_math >= 2, "expected math on the chapters and the notation page"


def test_no_analytics_and_no_live_code(site):
    """No tracking script, and Thebe (live code from a CDN and Binder) is not switched on."""
    for page in pages(site):
        html = page.read_text(encoding="utf-8")
        for marker in ANALYTICS:
            assert marker not in html, f"{page.relative_to(site)} contains {marker!r}"
        parser = LoadCollector()
        parser.feed(html)
        assert not any("thebe" in url and is_remote(url) for _, url in parser.loads)
        assert "thebe-launch-button" not in html, f"{page.relative_to(site)} has a live-code button"


def test_launch_and_download_buttons_on_exercise_pages(site):
    """Exercise pages offer Binder, Colab, download, repository and issue buttons (links)."""
    exercises = sorted((site / "exercises").rglob("*.html"))
    assert exercises
    for page in exercises:
        html = page.read_text(encoding="utf-8")
        name = page.relative_to(site)
        assert "mybinder.org/v2/gh/" in html, f"{name}: no Binder button"
        assert "colab.research.google.com/github/" in html, f"{name}: no Colab button"
        assert "btn-download-source-button" in html, f"{name}: no download button"
        assert "/issues/new" in html, f"{name}: no issue button"
        assert f'_sources/{name.with_suffix(".ipynb").as_posix()}' in html, f"{name}: no .ipynb download"


def test_reference_pages_are_in_the_site(site):
    glossary = (site / "book" / "glossary.html").read_text(encoding="utf-8")
    # the Chinese names are zh/terms.yml's, which both editions follow
    for english, chinese in [("perplexity", "困惑度"), ("hidden Markov model", "隐马尔可夫模型"),
                             ("embedding", "嵌入"), ("one-hot code", "独热编码"),
                             ("weight tying", "权重绑定"), ("truncated BPTT", "截断的时间反向传播"),
                             ("recurrent neural network", "循环神经网络"), ("hidden state", "隐状态"),
                             ("gradient clipping", "梯度裁剪"), ("Viterbi algorithm", "维特比算法"),
                             ("forward algorithm", "前向算法"), ("language model", "语言模型"),
                             ("LSTM", "长短期记忆网络"), ("temperature", "温度"), ("cross-entropy", "交叉熵")]:
        assert f'id="term-{english.replace(" ", "-")}"' in glossary or english in glossary
        assert chinese in glossary, f"glossary lacks {chinese} ({english})"
    for term in ("Baum-Welch", "Gumbel-softmax", "t-SNE", "softmax"):
        assert term in glossary
    references = (site / "book" / "references.html").read_text(encoding="utf-8")
    for needle in ("Elman", "Rabiner", "Mikolov", "Jang", "Maddison", "Kuo", "Saito", "Hochreiter",
                   "Marcus", "Kingma", "Pascanu", "Maaten", "Werbos", "Baum"):
        assert needle in references, f"references lack {needle}"
    intro = (site / "book" / "intro.html").read_text(encoding="utf-8")
    assert "python -m grader check" in re.sub(r"<[^>]+>", "", intro), "no instructions to check an exercise"
    assert 'id="course-map"' in intro and "<img" in intro, "the course map figure is missing"


# ----------------------------------------------------------------------------- strict build


NOTEBOOK_HEADER = ("---\njupytext:\n  text_representation:\n    extension: .md\n"
                   "    format_name: myst\nkernelspec:\n  display_name: Python 3\n"
                   "  language: python\n  name: python3\n---\n\n")
BROKEN_PAGES = {
    "a broken reference": (
        "# A broken book\n\nSee {doc}`no_such_chapter` and {term}`no such term`; "
        "{term}`perplexity` and {cite:p}`elman1990` are fine.\n",
        ["unknown document: 'no_such_chapter'", "term not in glossary: 'no such term'"]),
    "a notebook error": (
        NOTEBOOK_HEADER + "# A broken book\n\n```{code-cell} ipython3\n"
        "raise RuntimeError('a cell that fails')\n```\n",
        ["Executing notebook failed"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("breakage", sorted(BROKEN_PAGES))
def test_the_book_build_fails_on(breakage, tmp_path, repo_root):
    """`make book`'s own command, on a small book built with the course's _config.yml,
    fails on a broken cross-reference and on a code cell that raises."""
    import shlex
    import shutil
    import subprocess
    import sys

    builds = [line.strip() for line in (repo_root / "Makefile").read_text().splitlines()
              if line.startswith("\t") and "jupyter-book build" in line]
    assert all("-W" in line for line in builds), \
        "every book build (the site's, the PDF's, the Chinese edition's) is -W"
    # the English site's (make book): the book at the repository's root, HTML; the PDF's
    # names a --builder, the Chinese edition's (make book-zh) builds _build/zh/src
    recipe = [line for line in builds if "--builder" not in line
              and shlex.split(line)[shlex.split(line).index("build") + 1] == "."]
    assert len(recipe) == 1, "expected one `jupyter-book build .` line for the site in the Makefile"
    command = shlex.split(recipe[0].replace("$(BIN)/", str(Path(sys.executable).parent) + "/"))
    assert "-W" in command, "make book must turn warnings into errors"

    page, expected = BROKEN_PAGES[breakage]
    for folder in ("_static", "_extra"):  # what _config.yml's static and extra paths name
        shutil.copytree(repo_root / "book" / folder, tmp_path / "book" / folder)
    (tmp_path / "_build" / "vendor").mkdir(parents=True)  # MathJax is not needed here
    (tmp_path / "_config.yml").write_text((repo_root / "_config.yml").read_text())
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n"
                                       "  - file: book/glossary\n  - file: book/notation\n"
                                       "  - file: book/references\n")
    for name in ("references.bib", "references.md", "glossary.md", "notation.md"):
        text = (repo_root / "book" / name).read_text()
        if name == "glossary.md":  # its "Used in" links name chapters this small book lacks
            text = "\n".join(line for line in text.splitlines()
                             if not line.strip().startswith("Used in "))
        (tmp_path / "book" / name).write_text(text)
    (tmp_path / "book" / "intro.md").write_text(page)
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode != 0, f"the build passed despite {breakage}"
    for message in expected:
        assert message in output, f"the build did not report {message!r}"
    warnings = [line for line in output.splitlines()
                if "WARNING:" in line and "IPKernelApp" not in line]
    unexpected = [line for line in warnings if not any(m in line for m in expected)]
    assert unexpected == [], "the small book should fail only for the planted reasons"
