"""The glossary agrees with the chapters: every term says where the book uses it, and does.

Each entry of ``book/glossary.md`` ends with "Used in ..." links (``{doc}``) to the pages
that use the term. The test reads the glossary and every page's source and checks that:

* every entry has at least one such link, to a page that exists;
* every linked page uses the term: one of the entry's names (or its plural) in the page's
  text, or a ``{term}`` role that points to it;
* every page that points to an entry with a ``{term}`` role is among that entry's links,
  so that a chapter cannot start using a term without the glossary saying so;
* every ``{term}`` role of the book names an entry that exists.

A term that no page uses cannot be given a link that passes: remove it, or use it.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
GLOSSARY = BOOK / "glossary.md"
TERM_ROLE = re.compile(r"\{term\}`([^`]*)`")
DOC_ROLE = re.compile(r"\{doc\}`(?:[^`<]*<)?([^`>]+)>?`")


def entries(text: str) -> dict[str, dict]:
    """``{first name: {"names": [...], "body": str}}`` of a MyST ``{glossary}`` block."""
    block = text[text.index("```{glossary}"):]
    block = block.split("\n", 1)[1].rsplit("```", 1)[0]
    found: dict[str, dict] = {}
    current = None
    for line in block.splitlines():
        if not line.strip() or line.startswith(":"):
            continue
        if line.startswith((" ", "\t")):
            current["body"] += line.strip() + "\n"
        elif current is not None and not current["body"]:
            current["names"].append(line.strip())
        else:
            current = {"names": [line.strip()], "body": ""}
            found[line.strip()] = current
    return found


def role_target(role: str) -> str:
    """The entry a ``{term}`` role points to: ``text <target>`` or the text itself."""
    match = re.match(r".*<([^>]+)>\s*$", role, flags=re.S)
    return (match.group(1) if match else role).strip()


def page_source(path: Path) -> str:
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return path.read_text(encoding="utf-8")


def linked_page(link: str) -> Path:
    """The file behind a ``{doc}`` link written in book/glossary.md."""
    base = (BOOK / link).resolve()
    for suffix in (".md", ".ipynb"):
        if base.with_suffix(suffix).is_file():
            return base.with_suffix(suffix)
    raise AssertionError(f"the glossary links to {link}, which is not a page")


def uses(source: str, names: list[str]) -> bool:
    """Whether a page's source uses a term: a name (or its plural) as a word, or a role."""
    targets = {role_target(r).lower() for r in TERM_ROLE.findall(source)}
    if targets & {n.lower() for n in names}:
        return True
    text = source.lower()
    return any(re.search(r"(?<![\w-])" + re.escape(name.lower()) + r"(?:s|es)?(?![\w])", text)
               for name in names if re.match(r"[a-z]", name, flags=re.I))


def _glossary() -> dict[str, dict]:
    return entries(GLOSSARY.read_text(encoding="utf-8"))


def _pages() -> list[Path]:
    return [*sorted(BOOK.glob("*.md")), *sorted((ROOT / "exercises").glob("*/*.ipynb"))]


def test_the_parser_reads_names_aliases_and_links():
    text = ("```{glossary}\n:sorted:\n\nperplexity\n困惑度\n  The exponential of the mean.\n\n"
            "  Used in {doc}`chapter 4 <04_rnnlm>`.\n\nepoch\n  One pass.\n```\n")
    found = entries(text)
    assert found["perplexity"]["names"] == ["perplexity", "困惑度"]
    assert DOC_ROLE.findall(found["perplexity"]["body"]) == ["04_rnnlm"]
    assert found["epoch"]["names"] == ["epoch"]
    assert role_target("mini-batches <mini-batch>") == "mini-batch"
    assert uses("The {term}`epochs <epoch>` go by.", ["epoch"])
    assert uses("after three epochs", ["epoch"]) and not uses("an epochal change", ["epoch"])


@pytest.mark.parametrize("term", sorted(_glossary()))
def test_each_term_links_to_the_pages_that_use_it(term):
    entry = _glossary()[term]
    links = DOC_ROLE.findall(entry["body"].split("Used in", 1)[-1]) if "Used in" in entry["body"] else []
    assert links, f"the glossary entry {term!r} does not say where the book uses it (Used in ...)"
    for link in links:
        page = linked_page(link)
        assert uses(page_source(page), entry["names"]), (
            f"the glossary says {page.relative_to(ROOT)} uses {term!r}, but it does not")


def test_every_page_that_points_to_a_term_is_listed_by_it():
    glossary = _glossary()
    by_name = {name.lower(): term for term, entry in glossary.items() for name in entry["names"]}
    missing, unknown = [], []
    for page in _pages():
        if page == GLOSSARY:
            continue
        for role in TERM_ROLE.findall(page_source(page)):
            target = role_target(role).lower()
            if target not in by_name:
                unknown.append(f"{page.name}: {{term}}`{role}`")
                continue
            term = by_name[target]
            links = {linked_page(link) for link in DOC_ROLE.findall(glossary[term]["body"])}
            if page.resolve() not in links and page.name not in ("notation.md", "intro.md"):
                missing.append(f"{page.name} uses {term!r}")
    assert unknown == [], f"{{term}} roles without a glossary entry: {unknown}"
    assert sorted(set(missing)) == [], (
        "pages that point to a glossary term whose 'Used in' does not list them: "
        f"{sorted(set(missing))}")
