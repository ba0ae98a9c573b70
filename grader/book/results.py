"""Stored results of the book (``book/results/``), read for the pages' hidden cells.

Runs too long to repeat while the book builds print JSON lines; the chapters quote them
through these readers, so that every number on a page comes from a run.
"""
from __future__ import annotations

import json
import shlex
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[2] / "book" / "results"
# Options whose values are folders of the machine the run was made on.
PLACEHOLDERS = {"--data-dir": "/path/to/ptb", "--checkpoint": "runs/better",
                "--corpus-dir": "DIR"}


def read_lines(name: str) -> list[dict]:
    """The JSON lines of ``book/results/<name>``, as dicts."""
    return [json.loads(line) for line in (RESULTS / name).read_text(encoding="utf-8").splitlines()
            if line.strip()]


def read_json(name: str) -> dict:
    """``book/results/<name>``, one JSON document."""
    return json.loads((RESULTS / name).read_text(encoding="utf-8"))


def read_runs(name: str) -> list[tuple[dict, list[dict], dict | None]]:
    """``[(config, epoch records, final record)]`` of the training runs in a results file."""
    runs: list[tuple[dict, list[dict], dict | None]] = []
    for line in read_lines(name):
        if line["event"] == "config":
            runs.append((line, [], None))
        elif line["event"] == "epoch":
            runs[-1][1].append(line)
        elif line["event"] == "final":
            runs[-1] = (runs[-1][0], runs[-1][1], line)
    return runs


def portable(command: str) -> str:
    """A stored command with the run's own folders replaced by placeholders."""
    words = shlex.split(command)
    for option, placeholder in PLACEHOLDERS.items():
        if option in words:
            words[words.index(option) + 1] = placeholder
    return shlex.join(words)


def shell_block(command: str, output: str | None = None, width: int = 80) -> str:
    """Markdown for a shell code block showing ``command`` (and ``> output``), its long
    lines broken before an option."""
    words = [shlex.quote(word) for word in shlex.split(command)]
    if output:
        words.append(f"> {shlex.quote(output)}")
    lines, line = [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width and word.startswith(("--", ">")):
            lines.append(line + " \\")
            line = "    " + word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "```sh\n" + "\n".join(lines) + "\n```"


def table(header: list[str], rows: list[list], align: str | None = None, title: str = "") -> str:
    """A Markdown (GFM) pipe table; ``align`` holds one of ``l``, ``r`` per column."""
    align = align or "l" * len(header)
    rule = ["---:" if a == "r" else "---" for a in align]
    text = "\n".join("| " + " | ".join(str(c) for c in row) + " |"
                     for row in [header, rule, *rows])
    return f"**{title}**\n\n{text}" if title else text
