"""Text that code writes, in the reader's language: the phrase catalogue ``zh/outputs.yml``.

The Chinese pages take every code output from the English build (nothing is executed again),
so a table that a code cell prints -- chapter 4's ladder of better models, chapter 5's dice
results, the instructor guide's plans -- comes with English headers and row labels.  Its
*phrases* are translated here, one exact phrase at a time, with the numbers left as they are:

* a **phrase** is a whole table cell or header (Markdown ``| ... |`` rows, or an HTML text
  node), or a whole line of other Markdown text (a bold caption), its ``**``/``*`` wrapper and
  surrounding spaces kept aside, or a whole line that a cell prints when the page hides its
  code (``hide-input``: the reader sees only the result; a shell command stays as it is);
  never a part of a phrase, so a word is never translated inside another;
* its **key** is the phrase with every number written ``{1}``, ``{2}``... in order
  (:func:`key_of`): ``"128.09 (epoch 4)"`` is looked up as ``"{1} (epoch {2})"``, and the
  translation ``"{1}（第 {2} 轮）"`` receives the same numbers, in any order; so a rerun that
  changes the results changes no key, and the two editions cannot differ in a number;
* a phrase **needs translation** when it holds an English word (two lower-case letters in a
  row, outside code spans and HTML tags): ``"LSTM"``, ``"τ = 0.5"``, ``"8.54 MiB"`` and a
  Chinese poem need none.  A phrase without an entry stays English, and
  ``tests/test_zh_outputs.py`` fails on it: a new English row label fails CI until
  ``zh/outputs.yml`` translates it (``python -m grader zh outputs`` lists what is missing).

The same catalogue serves the text that figures draw: each book figure with English words
has a Chinese twin whose every matplotlib ``Text`` (titles, axis and tick labels, legends,
annotations) is looked up whole with :func:`translate_phrase`, exactly as a table cell is
(:mod:`grader.translate.figures`); :func:`notebook_phrases` lists a figure's phrases too
(kind ``"figure"``, read from the record in its SVG).

``translate_phrase`` returns the text unchanged when it needs no translation, has none, or
the language is English; :func:`missing` lists the phrases of some texts that lack an entry.
"""
from __future__ import annotations

import functools
import html
import re
from collections import Counter
from pathlib import Path

import yaml

from grader.i18n import normalise
from grader.translate.catalogue import ROOT, ZH

FILE = Path(ZH) / "outputs.yml"
KINDS = ("text/markdown", "text/html")   # the outputs whose phrases are translated
# and what a cell whose code the page hides prints (its lines; a shell command stays)
HIDDEN_CODE = ("hide-input", "remove-input")
_COMMAND = re.compile(r"^\s*(?:\$ |python3? |pip )")
# a number as results are written: 3, 1,000, 0.402, 2.608, 1.24e+12 (not the 32 of float32,
# the 4 of D4 or 4H, nor a version's parts)
NUMBER = re.compile(r"(?<![\w.])\d+(?:,\d{3})*(?:\.\d+)?(?:e[+-]?\d+)?(?![\w])")
_SLOT = re.compile(r"\{(\d+)\}")
_WORD = re.compile(r"[a-z]{2}")
_CODE = re.compile(r"`[^`]*`")
_TAG = re.compile(r"<[^>]*>")
_WRAPPER = re.compile(r"^(\s*(?:\*\*|__|\*|_)?)(.*?)((?:\*\*|__|\*|_)?\s*)$", re.S)
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_RULE = re.compile(r"^\s*:?-{3,}:?\s*$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_HTML_TEXT = re.compile(r">([^<>]+)<")


class OutputsError(ValueError):
    """The phrase catalogue is not usable; the message says which entry and why."""


def key_of(text: str) -> tuple[str, list[str]]:
    """``text`` with its numbers written ``{1}``, ``{2}``... and the numbers, in order."""
    numbers: list[str] = []

    def slot(match: re.Match) -> str:
        numbers.append(match.group(0))
        return f"{{{len(numbers)}}}"
    return NUMBER.sub(slot, text), numbers


def needs_translation(text: str) -> bool:
    """Whether ``text`` holds an English word (outside code spans and HTML tags)."""
    return bool(_WORD.search(_TAG.sub(" ", _CODE.sub(" ", text))))


def problems_of(phrases: dict) -> list[str]:
    """What is wrong with a catalogue's entries: a key holding a number (write it ``{n}``), a
    translation that loses, repeats or invents a number, an empty translation."""
    out = []
    for en, zh in phrases.items():
        if not isinstance(en, str) or not isinstance(zh, str) or not zh.strip():
            out.append(f"{en!r}: no translation")
            continue
        if NUMBER.search(_SLOT.sub(" ", en)):
            out.append(f"{en!r}: numbers in a key are written {{1}}, {{2}}, ... in order")
        slots = _SLOT.findall(en)
        if slots != [str(i) for i in range(1, len(slots) + 1)]:
            out.append(f"{en!r}: its numbers must be {{1}}, {{2}}, ... in order")
        if sorted(_SLOT.findall(zh)) != sorted(slots):
            out.append(f"{en!r}: the translation {zh!r} must hold each of {slots} once")
        if NUMBER.search(_SLOT.sub(" ", zh)):
            out.append(f"{en!r}: the translation {zh!r} adds a number")
    return out


def file_problems(root: Path = ROOT) -> list[str]:
    """What is wrong with ``zh/outputs.yml`` (``python -m grader zh check``)."""
    path = root / FILE
    try:
        _load.cache_clear()
        _load(path.resolve())
    except (OutputsError, yaml.YAMLError) as exc:
        return [str(exc)]
    return []


def book_phrases(executed: Path, root: Path = ROOT, translated_only: bool = True):
    """(page, phrase) of every phrase of the code outputs of the book's notebook pages (those
    with a translation file, unless ``translated_only`` is false), read from the English
    build's execution cache ``executed``."""
    from grader.translate import catalogue, pages

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    for name in pages.toc_files(toc):
        page = root / f"{name}.md"
        if name.startswith("exercises/") or not catalogue.is_notebook_page(
                page.read_text(encoding="utf-8")):
            continue
        if translated_only and not catalogue.catalogue_path(page, root).is_file():
            continue
        for _, _, phrase in notebook_phrases(pages.executed_notebook(page, executed, root)):
            yield name, phrase


@functools.lru_cache(maxsize=None)
def _load(path: Path) -> dict[str, str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    phrases = (data or {}).get("phrases") or {}
    if not isinstance(phrases, dict):
        raise OutputsError(f"{path}: 'phrases' must map English phrases to translations")
    problems = problems_of(phrases)
    if problems:
        raise OutputsError(f"{path}: " + "; ".join(problems[:5]))
    return dict(phrases)


def phrases(language: str = "zh", root: Path = ROOT) -> dict[str, str]:
    """The catalogue of ``language``: English key -> translation (empty for English)."""
    if normalise(language) != "zh":
        return {}
    return _load((root / FILE).resolve())


def translate_phrase(text: str, language: str = "zh", root: Path = ROOT) -> str:
    """``text`` (one exact phrase: a table cell, a header, a figure's label or title) in
    ``language``, its numbers untouched; ``text`` itself when the catalogue has no entry for
    it or it needs none.  Spaces around the phrase are kept."""
    table = phrases(language, root)
    core = text.strip()
    if not table or not core or not needs_translation(core):
        return text
    key, numbers = key_of(core)
    translated = table.get(key)
    if translated is None:
        return text
    translated = _SLOT.sub(lambda m: numbers[int(m.group(1)) - 1], translated)
    start = len(text) - len(text.lstrip())
    return text[:start] + translated + text[start + len(core):]


# -- the phrases of an output ---------------------------------------------------------------

def _wrapped(text: str, translate) -> str:
    """``text`` with its inner phrase translated, its emphasis wrapper and spaces kept."""
    lead, core, tail = _WRAPPER.match(text).groups()
    return lead + translate(core) + tail if core else text


def _markdown(text: str, translate) -> str:
    out, fence = [], ""
    for line in text.split("\n"):
        opened = _FENCE.match(line)
        if fence:
            fence = "" if opened and opened.group(1).startswith(fence) else fence
            out.append(line)
        elif opened:
            fence = opened.group(1)
            out.append(line)
        elif line.lstrip().startswith("|"):
            cells = _CELL_SPLIT.split(line)
            if all(_RULE.match(c) or not c.strip() for c in cells):
                out.append(line)   # the alignment row
            else:
                out.append("|".join(c if i in (0, len(cells) - 1) and not c.strip()
                                    else _wrapped(c, translate) for i, c in enumerate(cells)))
        elif line.strip():
            out.append(_wrapped(line, translate))
        else:
            out.append(line)
    return "\n".join(out)


def _html(text: str, translate) -> str:
    def node(match: re.Match) -> str:
        inner = html.unescape(match.group(1))
        return ">" + html.escape(_wrapped(inner, translate), quote=False) + "<" \
            if inner.strip() else match.group(0)
    return _HTML_TEXT.sub(node, text)


def _lines(text: str, translate) -> str:
    return "\n".join(line if not line.strip() or _COMMAND.match(line) else translate(line)
                     for line in text.split("\n"))


def _apply(kind: str, text: str, translate) -> str:
    if kind == "stream":
        return _lines(text, translate)
    return _markdown(text, translate) if kind == "text/markdown" else _html(text, translate)


def output_phrases(kind: str, text: str) -> list[str]:
    """Every phrase of an output of ``kind`` (``text/markdown``, ``text/html``, or
    ``stream``: each line)."""
    found: list[str] = []

    def collect(phrase: str) -> str:
        if phrase.strip():
            found.append(phrase.strip())
        return phrase
    _apply(kind, text, collect)
    return found


def translate_output(kind: str, text: str, language: str = "zh", root: Path = ROOT) -> str:
    """An output's text with each of its phrases in ``language``."""
    return _apply(kind, text, lambda phrase: translate_phrase(phrase, language, root))


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _translatable(cell) -> list[tuple[dict, str, str]]:
    """(container, key, kind) of each text of a code cell's outputs that is translated: its
    Markdown and HTML outputs, and what it prints when the page hides its code."""
    hidden = bool(set(cell.get("metadata", {}).get("tags") or []) & set(HIDDEN_CODE))
    found = []
    for output in cell.get("outputs", []):
        data = output.get("data") or {}
        found += [(data, kind, kind) for kind in KINDS if kind in data]
        if hidden and output.get("output_type") == "stream" and output.get("name") == "stdout":
            found.append((output, "text", "stream"))
    return found


def translate_cell_outputs(cell, language: str = "zh", root: Path = ROOT) -> None:
    """Translate, in place, what one code cell of a notebook wrote (:func:`_translatable`)."""
    for container, key, kind in _translatable(cell):
        container[key] = translate_output(kind, _text(container[key]), language, root)


def notebook_phrases(nb) -> list[tuple[int, str, str]]:
    """(cell index, kind, phrase) of every phrase that the code cells of ``nb`` wrote and
    that is translated, the words its figures draw included (kind ``"figure"``)."""
    from grader.translate.figures import notebook_figure_phrases

    return [(i, kind, phrase) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
            for container, key, kind in _translatable(cell)
            for phrase in output_phrases(kind, _text(container[key]))] + \
        [(i, "figure", phrase) for i, phrase in notebook_figure_phrases(nb)]


def missing(texts, language: str = "zh", root: Path = ROOT) -> list[str]:
    """The keys of the phrases among ``texts`` that need a translation and have none."""
    table = phrases(language, root)
    keys = (key_of(t.strip())[0] for t in texts if needs_translation(t))
    return sorted({k for k in keys if k not in table})


def numbers(text: str) -> Counter:
    """The numbers a text holds (to compare two editions of an output)."""
    return Counter(NUMBER.findall(_TAG.sub(" ", text)))
