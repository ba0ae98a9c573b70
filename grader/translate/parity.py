"""What must be the same in both built editions, and what must not be left in English.

Read from the built site (``_build/html`` and its ``zh/``), never from the sources, so that
what is checked is what readers get (``tests/test_zh_parity.py`` runs these in CI):

* :func:`question_headings`: each exercise question's number and points, from its heading
  ("Question 3 — ... (2 points)" / "第 3 题 — ...（2 分）");
* :func:`untranslated` and :func:`prose_blocks`: a paragraph, list item, heading, caption or
  table cell of a page's article that still reads as English -- four or more English words in
  a row once code, math, links' targets, citations and anything in parentheses are set aside
  (a term or a name may follow in parentheses: 隐状态 (hidden state));
* :func:`interface_texts`: what a page says around its article (sidebars, header, buttons,
  footer), text and the attributes a reader meets (tooltips, labels, alt texts).
"""
from __future__ import annotations

import re

from bs4 import BeautifulSoup, Comment, Declaration, Doctype, NavigableString, Tag

# ------------------------------------------------------------------------------ the detector

# English that a Chinese page keeps as it is, as the Chinese literature does: the name of a
# layer (Saito's Time Softmax with Loss) and the example corpus of chapter 4
KEPT_IN_ENGLISH = ("Time Softmax with Loss", "Softmax with Loss", "you say goodbye and i say hello")
_KEPT = re.compile("|".join(re.escape(k) for k in KEPT_IN_ENGLISH), re.IGNORECASE)
_SET_ASIDE = re.compile(r"`[^`]*`|\$[^$]*\$|\{[\w:-]+\}`[^`]*`|\]\([^)]*\)"
                        r"|\([^()]*\)|（[^（）]*）")
_ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'’-]*(?:[ ,;:]+[A-Za-z][A-Za-z'’-]*){3,}")


def english_run(text: str) -> str | None:
    """The first run of four or more English words outside code, math, roles, link targets
    and parentheses (nested ones too), or None."""
    rest, before = _KEPT.sub(" ", text), None
    while rest != before:             # innermost parentheses first: (a (b) c)
        before, rest = rest, _SET_ASIDE.sub(" ", rest)
    match = _ENGLISH_RUN.search(rest)
    return match.group(0) if match else None


def untranslated(text: str) -> bool:
    return english_run(text) is not None


# ------------------------------------------------------------------------------ the built pages

PROSE = ("p", "li", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "figcaption", "th", "td",
         "caption")
# never prose: code and its output, math, the bibliography's entries (names and titles), the
# permalinks' pilcrows, the theme's own furniture inside the article, and a page's or a
# notebook's generated content
NOT_PROSE = ("pre", "code", "kbd", "script", "style", "math", "svg")
NOT_PROSE_CLASSES = {"math", "cell_output", "output", "highlight", "citation", "bibliography",
                     "bibtex-citation",
                     "headerlink", "toggle-details__summary", "rnns-language", "MathJax",
                     "pasted-text", "pasted-inline", "mjx-container"}


def _article(soup: BeautifulSoup) -> Tag | None:
    return soup.find("article") or soup.find("main")


def _is_set_aside(tag: Tag) -> bool:
    return tag.name in NOT_PROSE or bool(NOT_PROSE_CLASSES & set(tag.get("class") or []))


def _own_text(tag: Tag) -> str:
    """The text of ``tag`` without what is set aside and without nested prose blocks (each
    is read on its own), math as ``$...$`` so that the detector skips it."""
    parts = []
    for child in tag.children:
        if isinstance(child, NavigableString):
            parts.append(str(child))
        elif isinstance(child, Tag):
            if "math" in (child.get("class") or []):
                parts.append(" $m$ ")
            elif _is_set_aside(child) or child.name in PROSE or child.name in ("ul", "ol", "dl", "table"):
                parts.append(" ")
            else:
                parts.append(_own_text(child))
    return " ".join("".join(parts).split())


def prose_blocks(html: str) -> list[str]:
    """The prose of a page's article, block by block, as a reader reads it."""
    soup = BeautifulSoup(html, "html.parser")
    article = _article(soup)
    if article is None:
        return []
    out = []
    for tag in article.find_all(PROSE):
        if any(_is_set_aside(parent) for parent in tag.parents if isinstance(parent, Tag)):
            continue
        if tag.name == "dt" and "glossary" in (tag.parent.get("class") or []):
            continue   # a term of the bilingual glossary (glossary_terms reads them)
        text = _own_text(tag)
        if text:
            out.append(text)
    # a figure's alt text is read aloud and shown when the image is not (a code cell's
    # figure too: its alt text is translated with the cell)
    out += [" ".join(img["alt"].split()) for img in article.find_all("img") if img.get("alt")]
    return out


def untranslated_blocks(html: str) -> list[str]:
    return [block for block in prose_blocks(html) if untranslated(block)]


def glossary_terms(html: str) -> list[str]:
    """The terms of a glossary page (each ``dt``), as a reader sees them."""
    soup = BeautifulSoup(html, "html.parser")
    return [" ".join(dt.get_text(" ").split()).rstrip("#").strip()
            for dl in soup.find_all("dl", class_="glossary") for dt in dl.find_all("dt")]


_QUESTION_EN = re.compile(r"^Question (\d+)\b.*\((\d+) points?\)")
_QUESTION_ZH = re.compile(r"^第 ?(\d+) ?题.*（(\d+) ?分）")


def question_headings(html: str) -> list[tuple[int, int]]:
    """(number, points) of each question heading of an exercise page, in either language."""
    soup = BeautifulSoup(html, "html.parser")
    article = _article(soup)
    found = []
    for heading in (article.find_all(("h2", "h3")) if article else []):
        text = " ".join(heading.get_text(" ").split()).rstrip("#").strip()
        match = _QUESTION_EN.match(text) or _QUESTION_ZH.match(text)
        if match:
            found.append((int(match.group(1)), int(match.group(2))))
    return found


# what a reader meets besides text: tooltips, labels, alt texts, and the tooltips and hints
# that sphinx-copybutton and sphinx-togglebutton keep in data- attributes
READER_ATTRIBUTES = ("title", "aria-label", "alt", "placeholder", "data-bs-title", "data-tooltip",
                     "data-toggle-hint")


# what the theme and the extensions put inside the article: permalinks, folded cells' and
# dropdowns' buttons, the language switch
ARTICLE_INTERFACE = ("a.headerlink", "summary", "button", "nav.rnns-language", "nav.rnns-language a")


def interface_texts(html: str) -> list[str]:
    """What a page says around its article (text and the attributes a reader meets: tooltips,
    labels, alt texts), and the interface the extensions put inside it; the article's own
    prose is :func:`prose_blocks`'s.  Code (a heading's ``np.dot`` in the page's contents) and
    HTML comments are not text a reader reads."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(("script", "style", "noscript", "code", "kbd", "head")):
        if tag.name != "kbd":
            tag.decompose()
    out = []
    article = _article(soup)
    if article is not None:
        for tag in article.select(", ".join(ARTICLE_INTERFACE)):
            out += [str(tag[a]).strip() for a in READER_ATTRIBUTES if tag.get(a)]
            if tag.name in ("summary", "button"):
                out.append(" ".join(tag.get_text(" ").split()))
        article.decompose()
    for tag in soup.find_all(True):
        out += [str(tag[a]).strip() for a in READER_ATTRIBUTES if tag.get(a)]
    out += [" ".join(s.split()) for s in soup.find_all(string=True)
            if s.strip() and not isinstance(s, (Comment, Declaration, Doctype))]
    return [t for t in out if t]
