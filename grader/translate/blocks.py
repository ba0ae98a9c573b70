"""A MyST page cut into blocks, the unit of translation.

The page is parsed with the parser MyST itself uses (markdown-it with MyST's plugins), and
every top-level block -- a heading, a paragraph, a list, a table, a directive such as an
admonition -- becomes one :class:`Block`, keyed by the hash of its English text.  Blocks a
reader does not read as prose are *verbatim* and copied as they are: code cells (their
figure caption and alt text are translated apart, :func:`cell_texts`), ``$$`` math,
targets ``(label)=``, comments, the ``{bibliography}``, front matter.  A ``{glossary}``
directive is cut into its entries, so that each term is translated on its own.

What must survive a translation (:func:`invariants`): the math, the roles and their targets
(``{glue:text}`key```, ``{numref}`fig-x```, ``{cite:t}`key```, ``{term}`... <target>```),
labels, links and directive names.  The parity checks compare them block by block.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

# an {include} names a file, which is translated on its own (grader.translate.pages.included)
VERBATIM_DIRECTIVES = ("code-cell", "bibliography", "math", "raw", "tableofcontents", "include")


@dataclass
class Block:
    text: str          # the English text, as in the page (no trailing newline)
    translatable: bool
    key: str = ""      # hash of the text, for translatable blocks
    start: int = 0     # its lines in the page: lines[start:end]
    end: int = 0

    def __post_init__(self) -> None:
        if self.translatable and not self.key:
            self.key = block_key(self.text)


def block_key(text: str) -> str:
    """A block's id: 12 hex digits of the SHA-256 of its text (trailing spaces ignored)."""
    norm = "\n".join(line.rstrip() for line in text.strip("\n").splitlines())
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()[:12]


_parser = None


def _md():
    global _parser
    if _parser is None:
        from markdown_it.renderer import RendererHTML
        from myst_parser.config.main import MdParserConfig
        from myst_parser.parsers.mdit import create_md_parser

        config = MdParserConfig(enable_extensions={"amsmath", "dollarmath", "colon_fence",
                                                    "deflist", "substitution"})
        _parser = create_md_parser(config, RendererHTML)
    return _parser


def _directive(token) -> str:
    info = (token.info or "").strip()
    match = re.match(r"\{([\w:-]+)\}", info)
    return match.group(1) if match else ""


def split(text: str) -> list[Block]:
    """The blocks of a MyST page (or of a notebook's Markdown cell), in order.

    Each block knows its lines; :func:`apply` puts translations in their place.
    """
    lines = text.split("\n")
    tokens = _md().parse(text)
    spans: list[tuple[int, int, bool, str]] = []
    for token in tokens:
        if token.level != 0 or token.map is None or token.nesting == -1:
            continue
        start, end = token.map
        if spans and start < spans[-1][1]:
            continue
        kind = token.type
        directive = _directive(token) if kind in ("fence", "colon_fence") else ""
        verbatim = (kind in ("front_matter", "math_block", "math_block_label", "amsmath",
                             "myst_target", "myst_line_comment", "myst_block_break",
                             "code_block")
                    or (kind == "html_block" and token.content.lstrip().startswith("<!--"))
                    or (kind in ("fence", "colon_fence") and (not directive or directive in
                                                             VERBATIM_DIRECTIVES)))
        spans.append((start, end, not verbatim, directive))
    blocks: list[Block] = []
    for start, end, translatable, directive in spans:
        while end > start and not lines[end - 1].strip():
            end -= 1
        chunk = "\n".join(lines[start:end])
        if not chunk.strip():
            continue
        if directive == "glossary":
            blocks.extend(_glossary(lines, start, end))
        else:
            blocks.append(Block(chunk, translatable, start=start, end=end))
    return blocks


def _glossary(lines: list[str], start: int, end: int) -> list[Block]:
    """A ``{glossary}`` fence: its opening, options and closing verbatim, each entry a block."""
    out = []
    i = start + 1
    while i < end - 1 and (lines[i].startswith(":") or not lines[i].strip()):
        i += 1
    out.append(Block("\n".join(lines[start:i]).rstrip(), False, start=start, end=i))
    first = None
    for j in range(i, end):
        if lines[j].strip() and first is None:
            first = j
        if first is not None and (j == end - 1 or not lines[j].strip()):
            stop = j if not lines[j].strip() else j
            stop = j if j == end - 1 else j
            out.append(Block("\n".join(lines[first:stop]), True, start=first, end=stop))
            first = None
    out.append(Block(lines[end - 1], False, start=end - 1, end=end))
    return out


def apply(text: str, blocks: list[Block], translations: dict[str, str]) -> str:
    """``text`` with every translatable block replaced by ``translations[block.key]``
    (a block without a translation stays English)."""
    lines = text.split("\n")
    for block in sorted(blocks, key=lambda b: -b.start):
        if block.translatable and translations.get(block.key):
            zh = join_cjk_lines(translations[block.key].rstrip("\n"))
            lines[block.start:block.end] = zh.split("\n")
    return "\n".join(lines)


# Chinese characters and punctuation (CJK ideographs, CJK symbols, full-width forms)
_CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
_CJK_BREAK = re.compile(f"(?<=[{_CJK}])\n[ \t]*(?=[{_CJK}])")


def join_cjk_lines(text: str) -> str:
    """A translation with its lines joined where both sides of the break are Chinese.

    Translators wrap long lines as the English sources do, but a browser shows a line break
    inside a paragraph as a space, which Chinese text does not have (Chromium keeps it; CSS
    Text 3 would remove it).  A break next to Latin text, code or math stays (a space there is
    right), and so does everything inside a fenced code block."""
    out, fence = [], None
    for part in re.split(r"(^[ \t]*(?:```+|~~~+).*$)", text, flags=re.M):
        match = re.match(r"[ \t]*(```+|~~~+)", part)
        if match and "\n" not in part:
            if fence is None:
                fence = match.group(1)               # an opening ``` (with or without a language)
            elif part.strip() == fence:
                fence = None
            out.append(part)
        else:
            out.append(part if fence else _CJK_BREAK.sub("", part))
    return "".join(out)


# ----------------------------------------------------------------------------- invariants

# display math, or inline math (which may wrap onto the next line, not across a blank one)
_MATH = re.compile(r"\$\$.+?\$\$|\$(?:[^$\n]|\n(?![ \t]*\n))+?\$", re.S)
_ROLE = re.compile(r"\{([\w:-]+)\}`([^`]*)`")
_TARGET = re.compile(r"<([^<>]+)>\s*$")
_LABEL = re.compile(r"^\s*(?:\(([\w-]+)\)=|:name:\s*(\S+)|:label:\s*(\S+))", re.M)
_LINK = re.compile(r"\]\(([^)\s]+)\)|<(https?://[^>\s]+)>")
_OPENING = re.compile(r"^(?:```+|:::+)\{([\w:-]+)\}", re.M)
# roles whose text is prose the translator rewrites; only their target must stay
_PROSE_ROLES = ("term", "doc", "ref", "numref", "download")


def invariants(text: str) -> dict[str, list[str]]:
    """What a translation of ``text`` must keep: math, roles (with their keys or targets),
    labels, link targets, directive names -- each as a sorted list."""
    roles = []
    for name, body in _ROLE.findall(text):
        if name in _PROSE_ROLES:
            target = _TARGET.search(body)
            # {term}`RNNs <recurrent neural network>` and {term}`recurrent neural network`
            # both point at the glossary entry; a translation names it the second way
            roles.append(f"{name}:{(target.group(1) if target else body).strip().lower()}")
        else:
            roles.append(f"{name}:{body.strip()}")
    return {
        "math": sorted(" ".join(m.split()) for m in _MATH.findall(_without_code(text))),
        "roles": sorted(roles),
        "labels": sorted(next(g for g in m if g) for m in _LABEL.findall(text)),
        "links": sorted(a or b for a, b in _LINK.findall(text)),
        "directives": sorted(_OPENING.findall(text)),
    }


def _without_code(text: str) -> str:
    return re.sub(r"`[^`\n]*`", "", text)


def differences(english: str, translation: str) -> list[str]:
    """What the translation lost or added, in words (empty when it keeps every invariant)."""
    a, b = invariants(english), invariants(translation)
    out = []
    for kind in a:
        lost = _minus(a[kind], b[kind])
        added = _minus(b[kind], a[kind])
        if lost:
            out.append(f"{kind} missing from the translation: {', '.join(lost[:4])}")
        if added:
            out.append(f"{kind} not in the English: {', '.join(added[:4])}")
    return out


def _minus(a: list[str], b: list[str]) -> list[str]:
    rest = list(b)
    out = []
    for item in a:
        if item in rest:
            rest.remove(item)
        else:
            out.append(item)
    return out


# ----------------------------------------------------------------------------- code cells

# The texts of a code cell's metadata that readers read: a figure's caption and alt text.
CELL_TEXTS = (("mystnb", "figure", "caption"), ("mystnb", "image", "alt"))


def cell_texts(metadata: dict) -> list[tuple[tuple[str, ...], str]]:
    """(path, text) of each translatable text in a code cell's metadata."""
    out = []
    for path in CELL_TEXTS:
        node = metadata
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, str) and node.strip():
            out.append((path, node))
    return out


def set_cell_text(metadata: dict, path: tuple[str, ...], value: str) -> None:
    node = metadata
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
