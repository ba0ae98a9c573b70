"""Finding solution and hidden-test text where students could read it.

nbgrader strips solutions and hidden tests; this module does not strip anything (one code
path strips, never two).  It only *audits*: it lists the secret lines of the instructor's
notebooks and looks for them in whatever is about to reach students (released notebooks,
the built site, feedback pages).  For the student edition it also indexes the whole answer
key (:func:`instructor_secrets`: solutions, hidden tests, the reference's function bodies,
the instructors' answers) and finds it however renamed or re-laid out (:func:`audit_files`).
"""
from __future__ import annotations

import ast
import builtins
import io
import json
import keyword
import re
import tokenize
from dataclasses import dataclass
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
            outputs = cell.get("outputs", [])
        for output in outputs if isinstance(outputs, list) else []:
            if not isinstance(output, dict):
                continue
                parts.append(joined_source(output.get("text", "")))
                parts += [joined_source(v) for v in output.get("data", {}).values()
                          if isinstance(v, (str, list))]
                parts += output.get("traceback", [])
        text = "\n".join(parts)
    return [squash(line) for line in text.splitlines()]


def joined_source(value) -> str:
    """A notebook field that may be a list of strings, as one string."""
    return "".join(value) if isinstance(value, list) else str(value)


# ------------------------------------------------------------------------------------------
# Normalised matching: the student edition's audit
#
# An exact line is easy to lose: re-indent it, rename its variables, add a comment or swap
# its quotes, and it no longer matches.  Here a line of Python becomes its tokens, with
# comments and layout dropped, literals in one spelling, and every name a student could
# choose replaced by its order of first appearance, so that ``h = np.tanh(a @ W)`` and
# ``out  =  numpy.tanh( z@V )  # step`` both read ``_0 = _1 . tanh ( _2 @ _3 )``.  The names
# a renamer keeps are kept: keywords, builtins, attributes (``.tanh``, ``.T``), keyword
# arguments (``axis=``) and the names of functions called (``rnn_step(``), which belong to the
# library or the exercise, not to the student.  A line
# long enough to identify code is one fingerprint; shorter lines are fingerprinted together
# with their neighbours (up to WINDOW consecutive lines), so that a solution made of short
# lines is found as well.  Prose (the instructors' answers to the chapters' questions) is
# matched as runs of PROSE_WORDS words, case, punctuation and line breaks ignored.

MIN_CODE_TOKENS = 10
WINDOW = 3
PROSE_WORDS = 8
_BUILTINS = frozenset(dir(builtins))
_LAYOUT = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
           tokenize.ENDMARKER}
_LINE_BREAK = "⏎"
# Canonical lines that come from a secret but are idioms any NumPy or Python code writes;
# each was found in a shipped file of the kit and reviewed: not an answer to any question.
IDIOMS = frozenset({
    "_0 = _1 . asarray ( _0 , dtype = _1 . float64 )",       # gradcheck: float64 copy of input
    "_0 = _1 . sum ( axis = - 1 , keepdims = True )",         # checks: row sums of a message table
    "for _0 , _1 in _2 . params . items ( ) :",               # gradcheck: every named parameter
    "_0 = [ _1 for _1 in _2 if _1 not in _3 ]",               # checks: names missing from a set
})


def _raw_tokens(line: str) -> tuple[list[tokenize.TokenInfo], str]:
    """The tokens of one stripped line, as far as it tokenises on its own (a bracket opened
    on the line before or an unfinished string stops it, keeping what came before), and
    the text of its comment (``""`` if none)."""
    stream: list[tokenize.TokenInfo] = []
    comment = ""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline):
            if tok.type == tokenize.COMMENT:
                comment = tok.string.lstrip("#").strip()
            elif tok.type not in _LAYOUT and (tok.type != tokenize.ERRORTOKEN or tok.string.strip()):
                stream.append(tok)
    except (tokenize.TokenError, SyntaxError):
        pass
    return stream, comment


def code_tokens(line: str) -> list[tuple[bool, str]]:
    """One line of Python as ``(renamable, text)`` tokens; ``[]`` when it has none.

    Comments and indentation go; a literal is spelled as Python prints it (``1.`` and
    ``1.0``, ``'a'`` and ``"a"`` are one).
    """
    stream, _ = _raw_tokens(line)
    tokens: list[tuple[bool, str]] = []
    previous, depth = "", 0
    for i, tok in enumerate(stream):
        text = tok.string
        if tok.type == tokenize.NAME and not keyword.iskeyword(text):
            following = stream[i + 1].string if i + 1 < len(stream) else ""
            keyword_argument = depth > 0 and following == "=" and previous in ("(", ",")
            # the function a line calls names what the line does (``reference_count_estimate(``):
            # kept, or every call with as many arguments would read alike
            called = following == "("
            tokens.append((not (previous == "." or text in _BUILTINS or keyword_argument
                                or called), text))
        elif tok.type in (tokenize.NUMBER, tokenize.STRING):
            try:
                text = repr(ast.literal_eval(text))
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                pass
            tokens.append((False, text))
        else:
            depth += (text in ("(", "[", "{")) - (text in (")", "]", "}"))
            tokens.append((False, text))
        previous = text
    return tokens


def canonical(tokens: list[tuple[bool, str]]) -> str:
    """Tokens as one string, each renamable name replaced by its order of first appearance."""
    names: dict[str, int] = {}
    return " ".join(f"_{names.setdefault(text, len(names))}" if renamable else text
                    for renamable, text in tokens)


def _reads_as_code(tokens: list[tuple[bool, str]]) -> bool:
    """Python never puts two names a student chooses side by side (``for x in``: ``in`` is a
    keyword); prose always does.  Sentences, in comments or text, are not code."""
    return not any(a[0] and b[0] for a, b in zip(tokens, tokens[1:]))


def code_fingerprints(lines: list[str], min_tokens: int = MIN_CODE_TOKENS) -> dict[str, int]:
    """Canonical form -> index in ``lines`` where it starts, of each line with ``min_tokens``
    tokens or more and each run of 2 to WINDOW consecutive code lines (lines without tokens
    skipped) that have as many together.  Code commented out counts as code: a comment's
    text is read as a line of its own, after the code before it."""
    tokenised: list[tuple[int, list[tuple[bool, str]]]] = []
    for i, line in enumerate(lines):
        for part in (line, _raw_tokens(line)[1]) if "#" in line else (line,):
            tokens = code_tokens(part)
            if tokens and _reads_as_code(tokens):
                tokenised.append((i, tokens))
    found: dict[str, int] = {}
    for start in range(len(tokenised)):
        run: list[tuple[bool, str]] = []
        for width in range(WINDOW):
            if start + width >= len(tokenised):
                break
            if width:
                run = run + [(False, _LINE_BREAK)]
            run = run + tokenised[start + width][1]
            if len(run) - width >= min_tokens:
                found.setdefault(canonical(run), tokenised[start][0])
    return found


_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")


def prose_words(text: str) -> list[str]:
    """The words of ``text``, case-folded, without punctuation or markup; each Chinese
    character is a word of its own."""
    return _WORD.findall(text.casefold())


def prose_fingerprints(text: str, n: int = PROSE_WORDS) -> dict[str, int]:
    """Every run of ``n`` consecutive words -> the line (0-based) where it starts."""
    words: list[tuple[str, int]] = [(w, i) for i, line in enumerate(text.splitlines())
                                    for w in prose_words(line)]
    return {" ".join(w for w, _ in words[k:k + n]): words[k][1]
            for k in range(len(words) - n + 1)}


@dataclass(frozen=True)
class Origin:
    """Where a secret comes from: the instructor's file and part, and its first line."""
    source: str
    line: str


@dataclass
class SecretIndex:
    """Everything that must never reach students, in the three forms it is searched for."""
    lines: set[str]               # exact, whitespace-squashed lines (``secret_lines``)
    code: dict[str, Origin]       # canonical code fingerprints
    prose: dict[str, Origin]      # word runs of the instructor-only answers


def notebook_regions(path: Path) -> list[tuple[str, str, list[str]]]:
    """``(kind, grade_id, lines)`` of every part of an nbgrader source notebook: kind is
    ``solution``, ``hidden test`` or ``public`` (a cell's text outside the markers,
    markdown included)."""
    out = []
    for cell in notebooks.read(path).cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
        kind, part = "public", []
        for raw in cell.source.splitlines():
            begin, end = BEGIN.search(raw), END.search(raw)
            if begin or end:
                out.append((kind, grade_id, part))
                kind = begin.group(1).lower() if begin else "public"
                kind = "hidden test" if kind == "hidden tests" else kind
                part = []
                continue
            part.append(raw)
        out.append((kind, grade_id, part))
    return [r for r in out if r[2]]


def function_bodies(path: Path) -> list[tuple[str, list[str]]]:
    """``(qualified name, lines)`` of the body of every function and method in a module,
    docstrings left out (the exercises describe the same functions in their own words)."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    out = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    body = child.body
                    if (body and isinstance(body[0], ast.Expr)
                            and isinstance(body[0].value, ast.Constant)
                            and isinstance(body[0].value.value, str)):
                        body = body[1:]
                    if body:
                        out.append((name, lines[body[0].lineno - 1:child.end_lineno]))
                visit(child, f"{name}.")

    visit(ast.parse(text), "")
    return out


def instructor_secrets(root: Path, idioms: frozenset[str] = IDIOMS) -> SecretIndex:
    """The answer key of the course at ``root``, indexed for :func:`audit_files`.

    Secret: the solution and hidden-test parts of every ``solutions/*/*.ipynb``, the
    function bodies of ``grader/reference/*.py`` and the answers in ``solutions/answers/``
    (when that folder exists).  Whatever the source notebooks show students (their public
    parts) and, for the answers, what the book's pages already say, is not secret.
    """
    root = Path(root)
    sources = sorted((root / "solutions").glob("*/*.ipynb"))
    code: dict[str, Origin] = {}
    public_code: set[str] = set(idioms)
    public_prose: set[str] = set()
    for path in sources:
        rel = path.relative_to(root).as_posix()
        for kind, grade_id, lines in notebook_regions(path):
            if kind == "public":
                public_code.update(code_fingerprints(lines, min_tokens=1))
                public_prose.update(prose_fingerprints("\n".join(lines)))
                continue
            for form, i in code_fingerprints(lines).items():
                code.setdefault(form, Origin(f"{rel} ({kind} of {grade_id})", lines[i].strip()))
    for path in sorted((root / "grader" / "reference").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        for name, lines in function_bodies(path):
            for form, i in code_fingerprints(lines).items():
                code.setdefault(form, Origin(f"{rel} (body of {name})", lines[i].strip()))
    prose: dict[str, Origin] = {}
    answers = sorted((root / "solutions" / "answers").glob("*.md"))
    if answers:
        for page in sorted((root / "book").glob("*.md")):
            public_prose.update(prose_fingerprints(page.read_text(encoding="utf-8")))
    for path in answers:
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(root).as_posix()
        lines = text.splitlines()
        for form, i in prose_fingerprints(text).items():
            if form not in public_prose:
                prose.setdefault(form, Origin(rel, lines[i].strip()))
        for form, i in code_fingerprints(lines).items():  # code in an answer is code
            code.setdefault(form, Origin(f"{rel} (code)", lines[i].strip()))
    return SecretIndex(lines=secret_lines(sources),
                       code={f: o for f, o in code.items() if f not in public_code},
                       prose=prose)


@dataclass(frozen=True)
class Finding:
    """A piece of the answer key found in a file students would get."""
    path: str
    where: str
    kind: str
    origin: Origin | None = None

    def __str__(self) -> str:
        origin = f" of {self.origin.source}: {self.origin.line!r}" if self.origin else ""
        return f"{self.path} {self.where}: {self.kind}{origin}"


def _units(name: str, data: bytes) -> list[tuple[str, str]]:
    """``(where, text)`` parts of a file to search separately: a notebook's cells (source,
    then outputs), any other file whole (so is a file named ``.ipynb`` that is no notebook)."""
    text = data.decode("utf-8", errors="replace")
    try:
        cells = json.loads(text).get("cells", []) if name.endswith(".ipynb") else None
    except (ValueError, RecursionError, AttributeError):
        cells = None
    if not isinstance(cells, list):
        return [("", text)]

    def listed(value) -> list:
        return value if isinstance(value, list) else []

    units = []
    for number, cell in enumerate((c for c in cells if isinstance(c, dict)), start=1):
        units.append((f"cell {number}", joined_source(cell.get("source", ""))))
        shown = []
        for output in (o for o in listed(cell.get("outputs")) if isinstance(o, dict)):
            shown.append(joined_source(output.get("text", "")))
            values = output.get("data") if isinstance(output.get("data"), dict) else {}
            shown += [joined_source(v) for v in values.values() if isinstance(v, (str, list))]
            shown += [str(line) for line in listed(output.get("traceback"))]
        if shown:
            units.append((f"cell {number} output", "\n".join(shown)))
    return units


def audit_files(files: dict[str, bytes], index: SecretIndex) -> list[Finding]:
    """Every piece of the answer key found in ``files`` (path -> bytes): nbgrader markers,
    secret lines as written, secret code however renamed or re-laid out, answer text."""
    findings = []
    for name, data in sorted(files.items()):
        raw = data.decode("utf-8", errors="replace")
        units = _units(name, data)
        # a marker anywhere in the file, even where no reader of notebooks looks
        findings += [Finding(name, "(file)", f"nbgrader marker {m!r}") for m in MARKERS
                     if m in raw and not any(m in text for _, text in units)]
        for where, text in units:
            lines = text.splitlines()

            def at(i: int) -> str:
                return f"{where} line {i + 1}".strip()

            findings += [Finding(name, where or "(text)", f"nbgrader marker {m!r}")
                         for m in MARKERS if m in text]
            for i, line in enumerate(lines):
                if squash(line) in index.lines or squash(line.lstrip().lstrip("#")) in index.lines:
                    findings.append(Finding(name, at(i), "a secret line, as written",
                                            Origin("solutions/", squash(line))))
            for form, i in code_fingerprints(lines).items():
                if form in index.code:
                    findings.append(Finding(name, at(i), "secret code (normalised)",
                                            index.code[form]))
            if index.prose:
                for form, i in prose_fingerprints(text).items():
                    if form in index.prose:
                        findings.append(Finding(name, at(i), "answer text",
                                                index.prose[form]))
    return findings
