"""How the scripted class copies, and how its independent students differ: source edits.

A copy (:func:`copy_of`) is another student's answer cell disguised the ways plagiarism
checkers are known to be fooled: local variables renamed, independent statements reordered,
comments added, dead code added.  An independent student's own style (:func:`own_style`) is
the catalogue of correct variants (``tests/variants/``) and, per function, whether its result
is first put into a variable of its own.  Every edit keeps the code correct: the scripted
class grades it, and such a student earns full marks.
"""
from __future__ import annotations

import ast
import random

_SAFE_CALLS = {"len", "tuple", "list", "float", "int", "range", "max", "min", "abs", "sum",
               "sorted", "zip", "enumerate"}
_WORDS = ("value", "tmp", "acc", "out", "res", "cur", "arr", "vec", "mat", "part", "item", "buf")
_COMMENTS = ("# compute the next part", "# see the chapter", "# this took me a while",
             "# shapes checked by hand", "# TODO: tidy up", "# as in the lecture",
             "# works for the tests", "# step by step")


def _functions(tree: ast.AST):
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]


def _has_nested_scope(fn: ast.FunctionDef) -> bool:
    return any(isinstance(n, (ast.FunctionDef, ast.Lambda, ast.ClassDef)) and n is not fn
               for n in ast.walk(fn))


def rename_locals(source: str, rng: random.Random) -> str:
    """Every function's local variables (not its parameters) renamed, consistently."""
    tree = ast.parse(source)
    taken = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | \
            {a.arg for n in ast.walk(tree) for a in getattr(getattr(n, "args", None), "args", [])
             if isinstance(n, (ast.FunctionDef, ast.Lambda))}
    for fn in _functions(tree):
        if _has_nested_scope(fn):
            continue
        params = {a.arg for a in fn.args.args + fn.args.kwonlyargs}
        declared = {name for n in ast.walk(fn) if isinstance(n, (ast.Global, ast.Nonlocal))
                    for name in n.names}
        local = sorted({n.id for n in ast.walk(fn) if isinstance(n, ast.Name)
                        and isinstance(n.ctx, ast.Store)} - params - declared)
        mapping = {}
        for name in local:
            new = f"{rng.choice(_WORDS)}_{rng.randint(1, 99)}"
            while new in taken:
                new = f"{rng.choice(_WORDS)}_{rng.randint(1, 999)}"
            taken.add(new)
            mapping[name] = new
        for n in ast.walk(fn):
            if isinstance(n, ast.Name) and n.id in mapping:
                n.id = mapping[n.id]
    return ast.unparse(tree) + "\n"


def _pure(stmt: ast.stmt) -> bool:
    """An assignment to plain names whose calls are numpy's or harmless built-ins."""
    if not isinstance(stmt, ast.Assign) or not all(
            isinstance(t, (ast.Name, ast.Tuple)) for t in stmt.targets):
        return False
    for n in ast.walk(stmt.value):
        if isinstance(n, ast.Call):
            f = n.func
            ok = (isinstance(f, ast.Name) and f.id in _SAFE_CALLS) or (
                isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "np")
            if not ok:
                return False
    return True


def _names(node: ast.AST, ctx) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ctx)}


def reorder(source: str, rng: random.Random, p: float = 0.7) -> str:
    """Adjacent independent assignments swapped (each such pair with probability ``p``)."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        i = 0
        while i + 1 < len(body):
            a, b = body[i], body[i + 1]
            if _pure(a) and _pure(b):
                wa, wb = _names(a, ast.Store), _names(b, ast.Store)
                ra, rb = _names(a, ast.Load), _names(b, ast.Load)
                if not (wa & (rb | wb) or wb & ra) and rng.random() < p:
                    body[i], body[i + 1] = b, a
                    i += 2
                    continue
            i += 1
    return ast.unparse(tree) + "\n"


def _after_docstring(fn: ast.FunctionDef) -> int:
    first = fn.body[0] if fn.body else None
    return 1 if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) else 0


def add_dead_code(source: str, rng: random.Random) -> str:
    """In each function, a debugging switch that is never on and a value never used."""
    tree = ast.parse(source)
    for fn in _functions(tree):
        flag = f"debug_{rng.randint(1, 99)}"
        dead = ast.parse(f"{flag} = False\nif {flag}:\n    print('checking', {rng.randint(1, 9)})\n"
                         f"unused_{rng.randint(1, 99)} = {rng.randint(2, 9)} * {rng.randint(2, 9)}").body
        at = _after_docstring(fn)
        fn.body[at:at] = dead
    return ast.unparse(tree) + "\n"


def add_comments(source: str, rng: random.Random, p: float = 0.4) -> str:
    """Comment lines of the copier's own before some lines (indented like them)."""
    out = []
    for line in source.splitlines():
        if line.strip() and rng.random() < p:
            indent = line[:len(line) - len(line.lstrip())]
            out.append(indent + rng.choice(_COMMENTS))
        out.append(line)
    return "\n".join(out) + "\n"


def hoist_returns(source: str, rng: random.Random, p: float = 0.5) -> str:
    """Some functions' ``return EXPR`` written as ``name = EXPR`` then ``return name``."""
    tree = ast.parse(source)
    for fn in _functions(tree):
        if rng.random() >= p:
            continue
        for node in ast.walk(fn):
            body = getattr(node, "body", None)
            if not isinstance(body, list):
                continue
            for i, stmt in enumerate(body):
                if isinstance(stmt, ast.Return) and stmt.value is not None and \
                        not isinstance(stmt.value, (ast.Name, ast.Constant)):
                    name = f"{rng.choice(('result', 'answer', 'out', 'ret'))}_{fn.name}"
                    body[i:i + 1] = [ast.Assign([ast.Name(name, ast.Store())], stmt.value, lineno=0),
                                     ast.Return(ast.Name(name, ast.Load()))]
                    break
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def own_style(answers: dict[str, str], variants: list, rng: random.Random) -> dict[str, str]:
    """An independent student's answers: catalogue variants taken or not, results named or not."""
    import variants as catalogue

    styled, _ = catalogue.styled_answers(answers, variants, rng)
    return {q: hoist_returns(src, rng) for q, src in styled.items()}


def copy_of(answers: dict[str, str], rng: random.Random) -> dict[str, str]:
    """Another student's answers, disguised: renamed, reordered, commented, padded."""
    out = {}
    for q, src in answers.items():
        src = rename_locals(src, rng)
        src = reorder(src, rng)
        src = add_dead_code(src, rng)
        out[q] = add_comments(src, rng)
    return out
