"""The student-facing strings that the test cells of the solutions notebooks pass to the helpers.

``check_close(h1, [...], "step 1, state", mistakes={"you forgot the tanh": ...},
hint="...")``: the name, the hint, ``why=`` of ``check_raises`` and every classic mistake's
name reach the student in a failure message, so each must have a translation in
``grader/i18n_zh.py``.  They are read from the cells' code (visible and hidden parts) with
:mod:`ast`, keyed as written: an f-string keeps its placeholders (``f"states (T={T})"`` ->
``"states (T={T})"``), a name bound to a string constant in the cell is resolved.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

# helper -> position of its ``name`` argument
HELPERS = {"check_close": 2, "check_equal": 2, "check_shape": 2, "check_raises": 3}
KEYWORDS = ("name", "hint", "why")


@dataclass
class Found:
    strings: list[str] = field(default_factory=list)       # in order of appearance, unique
    unresolved: list[str] = field(default_factory=list)    # expressions that are not text


def template(node: ast.AST, constants: dict[str, str]) -> str | None:
    """The text ``node`` evaluates to, f-string parts as ``{expression}``; None if not text."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            else:
                parts.append("{" + ast.unparse(value.value) + "}")
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = template(node.left, constants), template(node.right, constants)
        return None if left is None or right is None else left + right
    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]
    return None


def _constants(tree: ast.AST) -> dict[str, str]:
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name):
            text = template(node.value, {})
            if text is not None:
                out[node.targets[0].id] = text
    return out


def cell_strings(source: str, found: Found | None = None) -> Found:
    """The student-facing strings of one test cell's code (hidden tests included)."""
    found = found or Found()
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return found
    constants = _constants(tree)

    def add(node: ast.AST) -> None:
        text = template(node, constants)
        if text is None:
            found.unresolved.append(ast.unparse(node))
        elif text.strip() and text not in found.strings:
            found.strings.append(text)

    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in HELPERS):
            continue
        index = HELPERS[node.func.id]
        if len(node.args) > index:
            add(node.args[index])
        if node.func.id != "check_raises" and len(node.args) > 3 and node.func.id == "check_equal":
            add(node.args[3])                     # check_equal(value, expected, name, hint)
        for kw in node.keywords:
            if kw.arg in KEYWORDS:
                add(kw.value)
            elif kw.arg == "mistakes" and isinstance(kw.value, ast.Dict):
                for key in kw.value.keys:
                    if key is not None:
                        add(key)
            elif kw.arg == "mistakes":
                found.unresolved.append(ast.unparse(kw.value))
    return found


def notebook_strings(path: Path) -> Found:
    """The strings of every graded test cell of a solutions notebook."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    found = Found()
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            cell_strings(cell.source, found)
    return found


# Words of a string that are code, not English: identifiers with an underscore or a digit,
# calls and indexing, placeholders, and the names of functions everyone writes as code.
_CODE = re.compile(r"\{[^{}]*\}|`[^`]*`|\b\w*[_\d]\w*\b|\b\w+(?=[(\[])|[A-Z]\b")
_WORD = re.compile(r"[A-Za-z]{2,}")
CODE_WORDS = {"np", "dot", "tanh", "softmax", "exp", "log", "nan", "inf", "dtype", "float64",
              "reshape", "ValueError", "NaN"}


def needs_translation(text: str) -> bool:
    """True when ``text`` holds an English word a reader reads as English, not as code."""
    rest = _CODE.sub(" ", text)
    return any(w not in CODE_WORDS and w.lower() not in CODE_WORDS for w in _WORD.findall(rest))
