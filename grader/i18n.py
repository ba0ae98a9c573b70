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


def _pattern(template: str) -> re.Pattern:
    parts = _PLACEHOLDER.split(template)   # text, name, text, name, ..., text
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<p{i // 2}>.+?)"
                    for i, p in enumerate(parts))
    return re.compile(regex + r"\Z", re.S)


_patterns: dict[int, list[tuple[re.Pattern, str, str]]] = {}


def _templated(messages: dict[str, str]) -> list[tuple[re.Pattern, str, str]]:
    """The catalogue's entries with placeholders, as patterns (compiled once per catalogue)."""
    key = id(messages)
    if key not in _patterns:
        _patterns[key] = sorted(((_pattern(en), en, zh) for en, zh in messages.items()
                                 if _PLACEHOLDER.search(en)), key=lambda e: -len(e[1]))
    return _patterns[key]


def fill(template: str, english: str, translation: str,
         translate_values: bool = False) -> str | None:
    """``translation`` with the values that ``english`` holds in ``template``'s placeholders;
    None when ``english`` is not an instance of ``template``.  With ``translate_values``, a
    value that is itself a text of the catalogue is translated too (a test cell's helper
    called with ``"fair dice"`` writes ``f"{name}: transitions"``)."""
    match = _pattern(template).match(english)
    if match is None:
        return None
    values = {name: match.group(f"p{i}") for i, name in enumerate(placeholders(template))}
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
    for pattern, template, translation in _templated(messages):
        if pattern.match(english):
            return fill(template, english, translation, translate_values=True) or english
    return english
