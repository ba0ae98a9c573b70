"""The student-facing strings that the test cells (and the locked set-up cells' helpers) of
the solutions notebooks write.

``check_close(h1, [...], "step 1, state", mistakes={"you forgot the tanh": ...},
hint="...")``: the name, the hint, ``why=`` of ``check_raises`` and every classic mistake's
name reach the student in a failure message, and so do the messages of the cells' own
``assert cond, "..."`` and ``raise CheckFailure("...")``; each must have a translation in
``grader/i18n_zh.py``.  They are read from the cells' code (visible and hidden parts) with
:mod:`ast`, keyed as written: an f-string keeps its placeholders (``f"states (T={T})"`` ->
``"states (T={T})"``).  What a cell builds with plain Python is followed too:

* a name bound in the cell to text (``STATE_BUG = "..."``, ``what = f"..."``; every value it
  is given counts), also inside an f-string (``f"q ({what})"`` is keyed with ``what``'s text
  in place, so that the whole sentence is translated);
* a conditional, ``f"..." + (", given h0" if h0 is not None else "")``: one key per branch;
* the values a ``for`` loop gives a name from a literal table
  (``for text, (expected, hint) in cases.items(): ... hint=hint``);
* ``mistakes=`` built by a function or lambda of the notebook's test cells that returns a dict
  (``TAU_MISTAKES = lambda a, g, tau: {...}``; ``def Q3_MISTAKES(...): m = {...};
  m["..."] = ...; return m``), by a conditional (``{...} if call else None``) or through a
  name bound to any of these.

What cannot be read this way is listed as *unresolved*; ``tests/test_zh_messages.py`` fails on it.
"""
from __future__ import annotations

import ast
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

# helper -> position of its ``name`` argument
HELPERS = {"check_close": 2, "check_equal": 2, "check_shape": 2, "check_raises": 3}
KEYWORDS = ("name", "hint", "why")
# a function of the test cells whose parameter of this name is text for a student
# (``def check_sampler(start, A, B, T, seed, name)``): its callers' arguments are read too
TEXT_PARAMETERS = ("name", "what", "label")
RAISED = ("CheckFailure", "AssertionError")   # raise CheckFailure("...") in a test cell
MAX_ALTERNATIVES = 16                          # a text with more variants than this is not text


@dataclass
class Found:
    strings: list[str] = field(default_factory=list)       # in order of appearance, unique
    unresolved: list[str] = field(default_factory=list)    # expressions that are not text


@dataclass
class Scope:
    """What the code of one test cell binds, to follow a text or a dict of mistakes to its source."""

    values: dict[str, list[ast.AST]] = field(default_factory=dict)     # name = expression
    loops: dict[str, list[ast.AST]] = field(default_factory=dict)      # for name in <literal>
    factories: dict[str, list[ast.AST]] = field(default_factory=dict)  # functions: returned exprs
    function_scopes: dict[str, "Scope"] = field(default_factory=dict)


def _returns(body: list[ast.stmt]) -> list[ast.AST]:
    out = []
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Return) and node.value is not None:
                out.append(node.value)
    return out


def _literal_items(node: ast.AST, scope: Scope) -> list[ast.AST] | None:
    """The elements a ``for`` loop takes from ``node``, when it is a literal table (or a name
    bound to one): a dict's keys, its ``.items()`` as (key, value) pairs, its ``.values()``,
    a list's or tuple's elements."""
    method = None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not node.args:
        method, node = node.func.attr, node.func.value
    if isinstance(node, ast.Name) and len(scope.values.get(node.id, [])) == 1:
        node = scope.values[node.id][0]
    if isinstance(node, ast.Dict) and None not in node.keys:
        if method == "items":
            return [ast.Tuple([k, v], ast.Load()) for k, v in zip(node.keys, node.values)]
        if method == "values":
            return list(node.values)
        if method in (None, "keys"):
            return list(node.keys)
    if isinstance(node, (ast.List, ast.Tuple)) and method is None:
        return list(node.elts)
    return None


def _bind(target: ast.AST, value: ast.AST, loops: dict[str, list[ast.AST]]) -> None:
    if isinstance(target, ast.Name):
        loops.setdefault(target.id, []).append(value)
    elif isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)) \
            and len(target.elts) == len(value.elts):
        for t, v in zip(target.elts, value.elts):
            _bind(t, v, loops)


def scope_of(tree: ast.AST, factories: dict[str, list[ast.AST]] | None = None) -> Scope:
    scope = Scope(factories=factories if factories is not None else {})
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    if isinstance(node.value, ast.Lambda):
                        scope.factories[target.id] = [node.value.body]
                        scope.function_scopes[target.id] = Scope()
                    else:
                        scope.values.setdefault(target.id, []).append(node.value)
        elif isinstance(node, ast.FunctionDef):
            scope.factories[node.name] = _returns(node.body)
            inner = Scope()
            for stmt in node.body:
                for sub in ast.walk(stmt):
                    if isinstance(sub, ast.Assign):
                        for target in sub.targets:
                            if isinstance(target, ast.Name):
                                inner.values.setdefault(target.id, []).append(sub.value)
                            elif isinstance(target, ast.Subscript) and \
                                    isinstance(target.value, ast.Name):
                                # m["another mistake"] = ...: one more key of the dict m
                                inner.values.setdefault(target.value.id, []).append(
                                    ast.Dict([target.slice], [sub.value]))
            scope.function_scopes[node.name] = inner
    for node in ast.walk(tree):
        if isinstance(node, ast.For):
            items = _literal_items(node.iter, scope)
            for item in items or []:
                _bind(node.target, item, scope.loops)
    return scope


def templates(node: ast.AST, scope: Scope | None = None, _depth: int = 0) -> list[str] | None:
    """Every text ``node`` may evaluate to, f-string parts as ``{expression}``; None if it is
    not text (or not text this module can follow)."""
    scope = scope or Scope()
    if _depth > 8:
        return None
    again = lambda n: templates(n, scope, _depth + 1)   # noqa: E731
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        options: list[list[str]] = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                options.append([str(value.value)])
                continue
            inner = value.value
            inlined = None
            if isinstance(inner, ast.Name) and value.format_spec is None \
                    and value.conversion == -1:
                inlined = again(inner)            # f"q ({what})": what's text in place
                if inlined and inner.id not in scope.values \
                        and not any(needs_translation(t) and not t.isidentifier() for t in inlined):
                    inlined = None                # for key in ("Wx", "Wh"): f"grads[{key}]"
            options.append(inlined or ["{" + ast.unparse(inner) + "}"])
        return _product(options)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = again(node.left), again(node.right)
        return None if left is None or right is None else _product([left, right])
    if isinstance(node, ast.IfExp):
        body, orelse = again(node.body), again(node.orelse)
        return None if body is None or orelse is None else _unique(body + orelse)
    if isinstance(node, ast.Name):
        bound = scope.values.get(node.id) or scope.loops.get(node.id)
        if bound:
            found = [again(v) for v in bound]
            if all(f is not None for f in found):
                return _unique([t for f in found for t in f])
    return None


def _product(options: list[list[str]]) -> list[str] | None:
    total = 1
    for o in options:
        total *= len(o)
    if total > MAX_ALTERNATIVES:
        return None
    return _unique(["".join(parts) for parts in itertools.product(*options)])


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def mistake_names(node: ast.AST, scope: Scope, _depth: int = 0) -> list[str] | None:
    """The names of the classic mistakes in a ``mistakes=`` expression; None if unreadable."""
    if _depth > 8:
        return None
    again = lambda n, s=scope: mistake_names(n, s, _depth + 1)   # noqa: E731
    if isinstance(node, ast.Constant) and node.value is None:
        return []
    if isinstance(node, ast.Dict):
        names: list[str] = []
        for key in node.keys:
            if key is None:                      # {**other}: not followed
                return None
            text = templates(key, scope)
            if text is None:
                return None
            names += text
        return names
    if isinstance(node, ast.IfExp):
        body, orelse = again(node.body), again(node.orelse)
        return None if body is None or orelse is None else body + orelse
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id in scope.factories:
        inner = scope.function_scopes.get(node.func.id, Scope())
        inner = Scope(values=inner.values, factories=scope.factories,
                      function_scopes=scope.function_scopes)
        found = [again(r, inner) for r in scope.factories[node.func.id]]
        if not found or any(f is None for f in found):
            return None
        return [n for f in found for n in f]
    if isinstance(node, ast.Name) and node.id in scope.values:
        found = [again(v) for v in scope.values[node.id]]
        if any(f is None for f in found):
            return None
        return [n for f in found for n in f]
    return None


def text_helpers(tree: ast.AST) -> dict[str, tuple[int, str, int]]:
    """The functions defined in ``tree`` that take a text for the student: name -> (position,
    name) of that parameter (:data:`TEXT_PARAMETERS`) and the number of positional
    parameters without a default."""
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            names = [a.arg for a in node.args.posonlyargs + node.args.args]
            required = len(names) - len(node.args.defaults)
            for i, arg in enumerate(names):
                if arg in TEXT_PARAMETERS:
                    out[node.name] = (i, arg, required)
                    break
    return out


def _positional(call: ast.Call, index: int, required: int) -> ast.AST | None:
    """The argument of ``call`` at parameter ``index``; after ``*args`` counted from the end
    (``check_sampler(*dice_parameters(), 12000, 7, "fair dice")``)."""
    starred = [i for i, a in enumerate(call.args) if isinstance(a, ast.Starred)]
    if not starred or starred[-1] >= len(call.args) - 1:
        if starred and starred[0] <= index:
            return None
        return call.args[index] if len(call.args) > index else None
    after = len(call.args) - 1 - starred[-1]
    back = required - index
    return call.args[-back] if 0 < back <= after else None


def cell_strings(source: str, found: Found | None = None,
                 factories: dict[str, list[ast.AST]] | None = None,
                 helpers: dict[str, tuple[int, str, int]] | None = None) -> Found:
    """The student-facing strings of one test cell's code (hidden tests included).

    ``factories``: the functions of the notebook's test cells that build dicts of mistakes;
    ``helpers``: those that take a text (:func:`text_helpers`); :func:`notebook_strings`
    shares both between the cells."""
    found = found or Found()
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return found
    scope = scope_of(tree, factories)
    local = helpers if helpers is not None else text_helpers(tree)
    # inside such a function, its own text parameter: its callers' texts are read at the calls
    passed_on = {param for _, param, _ in local.values()}

    def add_texts(texts: list[str] | None, node: ast.AST) -> None:
        if texts is None and isinstance(node, ast.Name) and node.id in passed_on:
            return
        if texts is None:
            found.unresolved.append(ast.unparse(node))
            return
        for text in texts:
            if text.strip() and text not in found.strings:
                found.strings.append(text)

    for node in ast.walk(tree):
        if isinstance(node, ast.Assert) and node.msg is not None:
            add_texts(templates(node.msg, scope), node.msg)
        elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) \
                and getattr(node.exc.func, "id", "") in RAISED and node.exc.args:
            add_texts(templates(node.exc.args[0], scope), node.exc.args[0])
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        if node.func.id in local and node.func.id not in HELPERS:
            index, param, required = local[node.func.id]
            argument = _positional(node, index, required)
            if argument is not None:
                add_texts(templates(argument, scope), argument)
            for kw in node.keywords:
                if kw.arg == param:
                    add_texts(templates(kw.value, scope), kw.value)
            continue
        if node.func.id not in HELPERS:
            continue
        index = HELPERS[node.func.id]
        if len(node.args) > index:
            add_texts(templates(node.args[index], scope), node.args[index])
        if node.func.id == "check_equal" and len(node.args) > 3:
            add_texts(templates(node.args[3], scope), node.args[3])   # check_equal(v, e, name, hint)
        for kw in node.keywords:
            if kw.arg in KEYWORDS:
                add_texts(templates(kw.value, scope), kw.value)
            elif kw.arg == "mistakes":
                add_texts(mistake_names(kw.value, scope), kw.value)
    return found


def notebook_strings(path: Path) -> Found:
    """The strings of every graded test cell of a solutions notebook, and of its locked cells
    (the set-up cell's helpers, such as chapter 2's ``check_log_probability``, raise
    ``CheckFailure`` with messages of their own)."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    meta = lambda cell: cell.get("metadata", {}).get("nbgrader", {})   # noqa: E731
    sources = [cell.source for cell in nb.cells
               if cell.cell_type == "code" and (meta(cell).get("grade") or meta(cell).get("locked"))
               and not meta(cell).get("solution")]
    factories: dict[str, list[ast.AST]] = {}
    helpers: dict[str, tuple[int, str, int]] = {}
    for source in sources:        # a function defined in one test cell, called in a later one
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        scope_of(tree, factories)
        helpers.update(text_helpers(tree))
    found = Found()
    for source in sources:
        cell_strings(source, found, factories, helpers)
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
