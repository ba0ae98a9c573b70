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
    """In each function, somewhere, a value computed and never used."""
    tree = ast.parse(source)
    for fn in _functions(tree):
        a, b, c = (rng.randint(2, 9999) for _ in range(3))
        dead = rng.choice((f"unused_{a} = {a} * {b} + {c}", f"tries_{a} = [{a}, {b}, {c}]",
                           f"scale_{a} = ({a} - {b}) / {c}"))
        at = rng.randint(_after_docstring(fn), len(fn.body) - 1) if len(fn.body) > 1 else len(fn.body)
        fn.body[at:at] = ast.parse(dead).body
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


_REDUCTIONS = {"sum", "max", "min", "mean", "argmax", "argmin"}


class _Habits(ast.NodeTransformer):
    """A student's small habits, each site decided by a coin: ``x.sum(axis=1)`` written
    ``np.sum(x, axis=1)`` (numpy's function calls the array's method: the same result)."""

    def __init__(self, rng: random.Random, p: float) -> None:
        self.rng, self.p = rng, p

    def visit_Call(self, node: ast.Call):
        self.generic_visit(node)
        f = node.func
        if isinstance(f, ast.Attribute) and f.attr in _REDUCTIONS and not (
                isinstance(f.value, ast.Name) and f.value.id in ("np", "self", "rng")) \
                and self.rng.random() < self.p:
            return ast.Call(ast.Attribute(ast.Name("np", ast.Load()), f.attr, ast.Load()),
                            [f.value, *node.args], node.keywords)
        return node


def _first(expr: ast.expr):
    """(holder, field) of the subexpression ``expr`` evaluates first, when hoisting it before
    the statement changes nothing: a binary operation's left operand, a call's first
    positional argument (after a plain function name), a subscript's value."""
    if isinstance(expr, ast.BinOp):
        return expr, "left"
    if isinstance(expr, ast.Tuple) and expr.elts and not isinstance(expr.elts[0], ast.Starred):
        return expr.elts, 0
    if isinstance(expr, ast.Call) and expr.args and not isinstance(expr.args[0], ast.Starred) and \
            isinstance(expr.func, (ast.Name, ast.Attribute)) and not (
                isinstance(expr.func, ast.Attribute) and not isinstance(expr.func.value, ast.Name)):
        return expr.args, 0
    return None


def split_sums(source: str, rng: random.Random, p: float = 0.5) -> str:
    """Some statements' first-evaluated part put into a variable of its own first:
    ``x = A + B`` as ``part = A`` then ``x = part + B``, ``y = f(g(a), b)`` as ``part = g(a)``
    then ``y = f(part, b)`` -- nested, each level with probability ``p``."""
    tree = ast.parse(source)
    count = 0
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        i = 0
        while i < len(body):
            stmt = body[i]
            value = stmt.value if isinstance(stmt, (ast.Assign, ast.Return, ast.Expr)) else None
            inserted = []
            while value is not None and (place := _first(value)) is not None and rng.random() < p:
                holder, slot = place
                inner = holder[slot] if isinstance(slot, int) else getattr(holder, slot)
                if isinstance(inner, (ast.Name, ast.Constant, ast.Starred)):
                    break
                count += 1
                name = f"part{count}"
                inserted.insert(0, ast.Assign([ast.Name(name, ast.Store())], inner, lineno=0))
                if isinstance(slot, int):
                    holder[slot] = ast.Name(name, ast.Load())
                else:
                    setattr(holder, slot, ast.Name(name, ast.Load()))
                value = inner
            body[i:i] = inserted
            i += len(inserted) + 1
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


class _Loops(ast.NodeTransformer):
    """Habits of layout: ``a, b = [], []`` as two lines, ``for x in X:`` as
    ``for i in range(len(X)):`` then ``x = X[i]`` (X a sequence or an array), each by a coin."""

    def __init__(self, rng: random.Random, p: float) -> None:
        self.rng, self.p, self.count = rng, p, 0

    def visit_Assign(self, node: ast.Assign):
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Tuple) and \
                isinstance(node.value, ast.Tuple) and len(node.value.elts) == len(node.targets[0].elts) \
                and all(isinstance(t, ast.Name) for t in node.targets[0].elts) and \
                all(isinstance(v, (ast.List, ast.Dict, ast.Constant)) and not getattr(v, "elts", None)
                    for v in node.value.elts) and self.rng.random() < self.p:
            return [ast.Assign([t], v, lineno=0) for t, v in zip(node.targets[0].elts, node.value.elts)]
        return node

    def visit_For(self, node: ast.For):
        self.generic_visit(node)
        if isinstance(node.target, ast.Name) and isinstance(node.iter, ast.Name) and not node.orelse \
                and self.rng.random() < self.p:
            self.count += 1
            index = f"i{self.count}"
            node.body.insert(0, ast.Assign([ast.Name(node.target.id, ast.Store())],
                                           ast.Subscript(ast.Name(node.iter.id, ast.Load()),
                                                         ast.Name(index, ast.Load()), ast.Load()),
                                           lineno=0))
            node.target = ast.Name(index, ast.Store())
            node.iter = ast.Call(ast.Name("range", ast.Load()),
                                 [ast.Call(ast.Name("len", ast.Load()),
                                           [ast.Name(node.iter.id, ast.Load())], [])], [])
        return node


def own_style(answers: dict[str, str], variants: list, rng: random.Random) -> dict[str, str]:
    """An independent student's answers: catalogue variants taken or not, results named or
    not, sums split or not, independent lines in another order or not, reductions written
    as numpy functions or not."""
    import variants as catalogue

    styled, _ = catalogue.styled_answers(answers, variants, rng)
    out = {}
    for q, src in styled.items():
        src = reorder(split_sums(hoist_returns(src, rng), rng), rng, p=0.5)
        tree = _Loops(rng, 0.5).visit(_Habits(rng, 0.5).visit(ast.parse(src)))
        out[q] = ast.unparse(ast.fix_missing_locations(tree)) + "\n"
    return out


def copy_of(answers: dict[str, str], rng: random.Random) -> dict[str, str]:
    """Another student's answers, disguised: renamed, reordered, commented, padded."""
    out = {}
    for q, src in answers.items():
        src = rename_locals(src, rng)
        src = reorder(src, rng)
        src = add_dead_code(src, rng)
        out[q] = add_comments(src, rng)
    return out
