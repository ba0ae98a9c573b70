"""Text a student controls, made safe for whoever looks at it: one function per viewer.

Student ids, file names, notebook metadata and messages quoted from a submission reach
outputs that instructors open in other programs.  Each program has its own way of turning
text into an action, so each gets its own escaping, applied where the text is written:

``for_terminal``  a line the grader prints: control characters (clear screen, window title,
                  OSC 52 clipboard writes, cursor moves) and bidirectional overrides (text
                  that displays in another order than it reads) are shown as ``\\xNN`` /
                  ``\\u202e`` escapes, never sent to the terminal;
``for_csv``       a cell of a CSV file that a spreadsheet opens: as OWASP recommends for
                  CSV injection, a text cell that starts with ``=``, ``+``, ``-``, ``@``, a
                  tab or a carriage return is prefixed with ``'`` so that it is read as
                  text, not a formula (``=HYPERLINK(...)``, ``@SUM(...)``, DDE); numbers stay
                  numbers; quoting is left to :mod:`csv`;
``for_markdown``  text inside a line of a Markdown document (``summary.md``): HTML is
                  escaped and the punctuation that means something mid-line is
                  backslash-escaped, so a file name cannot become a link, an image, a table
                  cell, emphasis or raw HTML;
``for_html``      text inside an HTML document, attribute values included;
``for_shell``     one word of a command line the grader suggests (``python -m grader accept
                  ... FILE``): quoted for a POSIX shell, and printable -- a name with control
                  characters is written in ``$'...'`` form, which the shell reads back as
                  the very bytes (so a pasted command names the right file).
"""
from __future__ import annotations

import html
import re
import shlex
import unicodedata
from typing import Any

# C0 and C1 control characters, DEL, and the bidirectional controls (LRE..RLO, LRI..PDI,
# LRM/RLM/ALM): everything that changes what a terminal does or the order text shows in.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# what changes inline Markdown (GFM) in the middle of a line: code, emphasis, links and
# images, table cells, strikethrough; <, > and & are HTML-escaped after.  (Characters that
# only matter at the start of a line -- "#", "-", "+", "1." -- stay as they are: the names
# this escapes are never written at the start of one.)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]()!|~])")


def _escape_char(match: re.Match) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def for_terminal(text: Any, *, keep_newlines: bool = True) -> str:
    """``text`` with every control character shown as an escape; tabs and (when
    ``keep_newlines``) newlines kept."""
    text = str(text)
    if not keep_newlines:
        text = text.replace("\n", "\\n")
    return _UNSAFE.sub(_escape_char, text)


def for_csv(value: Any) -> Any:
    """A CSV cell: numbers (and None) unchanged; text made inert for spreadsheets."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = for_terminal(value, keep_newlines=False)   # a cell is one line of plain text
    if text.startswith(_FORMULA_START) or unicodedata.normalize("NFKC", text[:1]) in _FORMULA_START:
        return "'" + text
    return text


def for_csv_row(row: Any) -> list:
    return [for_csv(v) for v in row]


def for_markdown(text: Any) -> str:
    """Inline Markdown that shows ``text`` literally (no HTML, links, emphasis, tables)."""
    text = for_terminal(text, keep_newlines=False)
    return html.escape(_MARKDOWN_SPECIAL.sub(r"\\\1", text), quote=True)


def for_html(text: Any) -> str:
    """Text for an HTML element or a quoted attribute value."""
    return html.escape(for_terminal(text), quote=True)


def for_shell(word: Any) -> str:
    """``word`` quoted for a POSIX shell, with nothing unprintable in the quoted text."""
    word = str(word)
    if not _UNSAFE.search(word) and "\n" not in word:
        return shlex.quote(word)
    out = []
    for ch in word:
        if ch in "\\'":
            out.append("\\" + ch)
        elif _UNSAFE.match(ch) or ch == "\n":
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "$'" + "".join(out) + "'"
