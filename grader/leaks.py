"""Finding solution and hidden-test text where students could read it.

nbgrader strips solutions and hidden tests; this module does not strip anything (one code
path strips, never two).  It only *audits*: it lists the secret lines of the instructor's
notebooks and looks for them in whatever is about to reach students (released notebooks,
the built site, the student bundle).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from grader import notebooks

BEGIN = re.compile(r"#+\s*BEGIN (SOLUTION|HIDDEN TESTS)")
END = re.compile(r"#+\s*END (SOLUTION|HIDDEN TESTS)")
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
# Short lines such as ``return h`` or ``pass`` are everywhere; only lines this long or
# longer identify a solution.
MIN_SECRET_LENGTH = 20


TRAILING_COMMENT = re.compile(r"\s+#[^'\"]*$")


def squash(line: str) -> str:
    return " ".join(line.split())


def _variants(line: str) -> set[str]:
    """The line and, when it ends with a comment, the line without it.

    ``x[ids] += dout  # the bug`` in a public test and ``x[ids] += dout`` in a hidden one
    are the same code: the public copy must not make the hidden one look secret.
    """
    return {squash(line), squash(TRAILING_COMMENT.sub("", line))} - {""}


def split_lines(source_notebook: Path) -> tuple[set[str], set[str]]:
    """(secret lines, public lines) of one nbgrader source notebook, whitespace-squashed."""
    secret, public = set(), set()
    for cell in notebooks.read(source_notebook).cells:
        inside = False
        for raw in cell.source.splitlines():
            if BEGIN.search(raw):
                inside = True
                continue
            if END.search(raw):
                inside = False
                continue
            (secret if inside else public).update(_variants(raw))
    return secret, public


def secret_lines(source_notebooks: list[Path]) -> set[str]:
    """Lines that exist only inside solution or hidden-test regions, long enough to matter."""
    secret, public = set(), set()
    for path in source_notebooks:
        s, p = split_lines(path)
        secret |= s
        public |= p
    return {line for line in secret - public
            if len(line) >= MIN_SECRET_LENGTH and not line.startswith("#")}


def find_leaks(text: str, secrets: set[str]) -> list[str]:
    """Secret lines or nbgrader markers found in ``text`` (HTML is un-escaped first)."""
    import html

    flat = squash(html.unescape(re.sub(r"<[^>]+>", "", text)))
    found = [m for m in MARKERS if m in flat]
    found += sorted(line for line in secrets if line in flat)
    return found


def text_lines(name: str, data: bytes) -> list[str]:
    """The whitespace-squashed lines a file shows: a notebook's sources and outputs, else its text.

    For files that ship code to students (the bundle), secrets are matched against whole
    lines: ``find_leaks`` matches substrings, which is right for pages and released
    notebooks but would flag public code when a short hidden-test line is part of a longer
    public one (``layer.backward(dout)`` within ``dinputs = layer.backward(dout)``).
    """
    text = data.decode("utf-8", errors="replace")
    if name.endswith(".ipynb"):
        parts = []
        for cell in json.loads(text).get("cells", []):
            parts.append(joined_source(cell.get("source", "")))
            for output in cell.get("outputs", []):
                parts.append(joined_source(output.get("text", "")))
                parts += [joined_source(v) for v in output.get("data", {}).values()
                          if isinstance(v, (str, list))]
                parts += output.get("traceback", [])
        text = "\n".join(parts)
    return [squash(line) for line in text.splitlines()]


def joined_source(value) -> str:
    """A notebook field that may be a list of strings, as one string."""
    return "".join(value) if isinstance(value, list) else str(value)
