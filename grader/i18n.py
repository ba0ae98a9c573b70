"""The language of what students read: English, or Chinese (中文) for a Chinese-edition notebook.

Shipped in the student kit with its catalogue (``grader/i18n_zh.py``): the test helpers
(:mod:`grader.checks`), the self-check and ``python -m grader check`` speak the notebook's
language through it.  Nothing here knows a solution.

Which language, in this order:

1. :func:`using` -- a block of code in one thread (the grader runs a Chinese submission's
   hidden tests inside ``using("zh")``; the self-check formats its table that way);
2. the environment variable ``RNNS_LANGUAGE`` (``zh`` or ``en``): the first cell of every
   Chinese-edition notebook sets it in the kernel, and ``python -m grader check`` sets it for
   the kernel of a notebook whose metadata says ``rnns.language = "zh"``;
3. English.

Messages are keyed by their English text, so that code stays the same code in both editions:

* :func:`t` -- a message template of the kit (``"{name}: expected {expected}, got {got}."``),
  translated, then filled in with ``str.format``;
* :func:`text` -- a string a test cell passes to a helper (a ``name``, a ``hint``, the name of
  a classic mistake in ``mistakes={...}``).  A cell may build it with an f-string
  (``f"states (T={T}, H={H})"``); the catalogue keys it as written in the cell, placeholders
  and all (``"states (T={T}, H={H})"``), and the translation carries the same placeholders,
  which receive the values read back from the English text.

A string without a translation stays English: a missing entry never breaks a test, and
``tests/test_zh_messages.py`` fails on it instead.
"""
from __future__ import annotations

import os
import re
import threading
from contextlib import contextmanager
from typing import Iterator

LANGUAGES = ("en", "zh")
ENV = "RNNS_LANGUAGE"
_local = threading.local()
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def normalise(language: object) -> str:
    """``"zh"`` for any spelling of Chinese (``zh``, ``zh_CN``, ``zh-Hans``), else ``"en"``."""
    return "zh" if isinstance(language, str) and language.strip().lower().startswith("zh") else "en"


def language() -> str:
    """The language of messages in this thread now: ``"en"`` or ``"zh"``."""
    chosen = getattr(_local, "language", None)
    if chosen:
        return chosen
    return normalise(os.environ.get(ENV, ""))


@contextmanager
def using(lang: object) -> Iterator[str]:
    """Messages in ``lang`` inside the block, in this thread only."""
    previous = getattr(_local, "language", None)
    _local.language = normalise(lang)
    try:
        yield _local.language
    finally:
        _local.language = previous


def catalogue(lang: str | None = None) -> dict[str, str]:
    """English text -> translation, for ``lang`` (default: the current language)."""
    if (lang or language()) != "zh":
        return {}
    from grader.i18n_zh import MESSAGES

    return MESSAGES


def t(template: str, /, **fields: object) -> str:
    """The kit's message ``template`` in the current language, filled in with ``fields``."""
    return catalogue().get(template, template).format(**fields)


def placeholders(template: str) -> list[str]:
    """The placeholders of a template, in order (``"a {x} b {y[0]}"`` -> ``["x", "y[0]"]``)."""
    return _PLACEHOLDER.findall(template)


# Templates are matched without backtracking: student text reaches text() (a hidden test's
# message may quote a student's value) and a regular expression with several lazy groups
# took 14 s on 2 kB forged to be slow.
_MAX_TRIES = 8     # occurrences of a template's separator tried per placeholder
_MAX_SEARCHES = 200   # and searches per match: a forged message costs a bounded multiple of its length


class Template:
    """A message template (``"{name}: expected {expected}, got {got}."``) matched against text:
    literal pieces in order, each placeholder standing for any text (``{shapes}`` may be
    empty).  Each separator is searched with ``str.find``, at most :data:`_MAX_TRIES` of its
    occurrences are tried and at most :data:`_MAX_SEARCHES` searches made, so that a message
    forged to make matching slow (student text: a visible test's message) costs at most a
    bounded multiple of its length."""

    def __init__(self, template: str) -> None:
        self.template = template
        parts = _PLACEHOLDER.split(template)
        self.literals = parts[0::2]    # len(names) + 1 pieces, the first and last may be ""
        self.names = parts[1::2]

    @classmethod
    def of(cls, literals: list[str]) -> "Template":
        """The template of these literal pieces with one placeholder between each two."""
        template = cls("")
        template.template, template.literals = "…".join(literals), list(literals)
        template.names = [f"p{i}" for i in range(len(literals) - 1)]
        return template

    def match(self, text: str, start: int = 0, end: int | None = None, *, whole: bool = True,
              line_bound: bool = False) -> dict[str, str] | None:
        """The placeholders' values when ``text[start:end]`` is an instance of the template
        (``whole``), or begins with one (``whole=False``); else None.  ``line_bound``: no
        value holds a line break."""
        end = len(text) if end is None else end
        if not text.startswith(self.literals[0], start, end):
            return None
        values: list[str] = []
        if self._rest(text, start + len(self.literals[0]), end, 0, values, whole, line_bound,
                      [_MAX_SEARCHES]):
            return dict(zip(self.names, values))
        return None

    def _rest(self, text: str, pos: int, end: int, i: int, values: list[str], whole: bool,
              line_bound: bool, budget: list[int]) -> bool:
        if i == len(self.names):
            return pos == end or not whole
        literal, last = self.literals[i + 1], i + 2 == len(self.literals)
        one_line = line_bound or (i == 0 and self.literals[0] == "")   # a leading name: one line
        limit = end                    # where this value must end by
        if one_line:
            newline = text.find("\n", pos, end)
            limit = end if newline < 0 else newline
        if last and whole:             # the last piece ends the text
            cut = end - len(literal)
            if cut < pos or cut > limit or not text.endswith(literal, pos, end):
                return False
            values.append(text[pos:cut])
            return True
        if literal == "":              # two placeholders side by side: the first is empty
            candidates = [pos]
        else:
            candidates, at = [], pos
            while len(candidates) < _MAX_TRIES and budget[0] > 0:
                budget[0] -= 1
                found = text.find(literal, at, min(limit + len(literal), end))
                if found < 0:
                    break
                candidates.append(found)
                at = found + 1
        for found in candidates:
            values.append(text[pos:found])
            if self._rest(text, found + len(literal), end, i + 1, values, whole, line_bound,
                          budget):
                return True
            values.pop()
        return False




_templates: dict[int, list[tuple[Template, str, str]]] = {}


def _templated(messages: dict[str, str]) -> list[tuple[Template, str, str]]:
    """The catalogue's entries with placeholders, as templates (made once per catalogue),
    longest first."""
    key = id(messages)
    if key not in _templates:
        _templates[key] = sorted(((Template(en), en, zh) for en, zh in messages.items()
                                  if _PLACEHOLDER.search(en)), key=lambda e: -len(e[1]))
    return _templates[key]


def fill(template: str | Template, english: str, translation: str,
         translate_values: bool = False) -> str | None:
    """``translation`` with the values that ``english`` holds in ``template``'s placeholders;
    None when ``english`` is not an instance of ``template``.  With ``translate_values``, a
    value that is itself a text of the catalogue is translated too (a test cell's helper
    called with ``"fair dice"`` writes ``f"{name}: transitions"``)."""
    template = template if isinstance(template, Template) else Template(template)
    values = template.match(english)
    if values is None:
        return None
    if translate_values:
        values = {name: text(value) for name, value in values.items()}
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), translation)


def text(english: str) -> str:
    """A string from a test cell (a name, a hint, a mistake's name, the message of its own
    ``assert`` or ``raise CheckFailure``) in the current language."""
    messages = catalogue()
    if not messages or not isinstance(english, str):
        return english
    if english in messages:
        return messages[english]
    for template, _english, translation in _templated(messages):
        filled = fill(template, english, translation, translate_values=True)
        if filled is not None:
            return filled
    return english
