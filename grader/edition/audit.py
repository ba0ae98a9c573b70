"""The checks a student edition must pass before anyone gets it.

:func:`problems` takes the files of a tree (edition path -> bytes) and returns what is wrong,
one sentence each; an empty list means the tree may be published.  It is run on the files
``python -m grader publish`` is about to write (or zip), and, by ``python -m grader publish
check DIR``, on any tree already written, so that a tree changed after publishing is
checked the same way.

1. **Paths.**  Exactly the files the manifest writes from the instructor's tree now: nothing
   more (a planted or left-over file), nothing less; no folder named like the answer key's
   (``solutions``, ``reference``, ...) anywhere; under ``kit/grader/`` only the kit's
   allow-list (``grader/kit.py``).
2. **The answer key, in any form** (``grader.leaks``): nbgrader markers; secret lines as
   written; solution, hidden-test and reference code however renamed, re-indented or
   re-commented; the instructors' answers to the chapters' questions.
3. **What the notebooks need is there**: every ``grader`` module an exercise imports is in
   the kit, and each exercise's set-up cell installs the kit from the student edition named
   in ``_config.yml`` (after changing it: ``python -m grader kit sync-notebooks``, ``nbfmt``,
   ``release``).
4. **A Chinese notebook is its English twin's code**: ``<a>.zh.ipynb`` beside ``<a>.ipynb``,
   with the same cells (ids, code, grade ids, points) and only its Markdown and the language
   cell (``RNNS_LANGUAGE=zh``) its own, so that both grade the same (after changing the
   English: ``python -m grader zh release``).
5. **Binder's files resolve**: every path ``binder/postBuild`` and ``binder/requirements.txt``
   name exists in the tree, and ``binder/runtime.txt`` asks for a Python the course supports.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from grader import leaks
from grader.edition.config import ROOT, student_edition
from grader.edition.manifest import contents
from grader.kit import SETUP_ID, kit_files, setup_preamble

FORBIDDEN_PARTS = {"solutions", "reference", "source", "release", "autograded", "submitted",
                   "feedback", "answers", "gradebook.db", ".grader_secret", "nbgrader_config.py"}
_IMPORT = re.compile(r"^\s*(?:from\s+(grader(?:\.\w+)*)\s+import|import\s+(grader(?:\.\w+)*))",
                     re.MULTILINE)
_LOCAL_PATH = re.compile(r"(?<![\w/.-])(\.{1,2}/[\w./-]*|binder/[\w./-]+|kit/[\w./-]*|exercises/[\w./-]*)")


def path_problems(names: set[str], root: Path) -> list[str]:
    expected = set(contents(root))
    kit = {f"kit/{name}" for name in kit_files(root)}
    out = []
    for name in sorted(names):
        forbidden = sorted(FORBIDDEN_PARTS.intersection(name.split("/")))
        if forbidden:
            out.append(f"{name}: a path of the answer key's kind ({', '.join(forbidden)})")
        elif name.startswith("kit/grader/") and name not in kit:
            out.append(f"{name}: not in the kit's allow-list (grader/kit.py)")
        elif name not in expected:
            out.append(f"{name}: not a file of the student edition (the manifest does not write it)")
    out += [f"{name}: missing" for name in sorted(expected - names)]
    return out


def notebook_problems(files: dict[str, bytes], root: Path) -> list[str]:
    out = []
    kit = set(kit_files(root))
    preamble = setup_preamble(root)
    for name, data in files.items():
        if not name.endswith(".ipynb"):
            continue
        try:
            cells = [c for c in json.loads(data.decode("utf-8"))["cells"] if isinstance(c, dict)]
        except (ValueError, RecursionError, KeyError, TypeError):
            out.append(f"{name}: not a readable notebook")
            continue
        code = "\n".join(leaks.joined_source(c.get("source", "")) for c in cells
                         if c.get("cell_type") == "code")
        for match in _IMPORT.finditer(code):
            module = (match.group(1) or match.group(2)).replace(".", "/")
            if f"{module}.py" not in kit and f"{module}/__init__.py" not in kit:
                out.append(f"{name} imports {module.replace('/', '.')}, which the kit lacks")
        setup = [leaks.joined_source(c.get("source", "")) for c in cells
                 if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == SETUP_ID]
        if not (setup and setup[0].startswith(preamble)):
            out.append(f"{name}: its set-up cell does not install the kit from "
                       f"{student_edition(root).url}: run `python -m grader kit sync-notebooks`, "
                       "then `python -m grader nbfmt` and `python -m grader release`")
    return sorted(set(out))


ZH_SUFFIX = ".zh.ipynb"
ZH_OWN_CELLS = ("language", "not-translated")   # grader.translate.exercises adds them


def _cells(data: bytes) -> list[dict]:
    cells = json.loads(data.decode("utf-8"))["cells"]
    if not all(isinstance(c, dict) for c in cells):
        raise ValueError("a cell is not an object")
    return cells


def twin_problems(files: dict[str, bytes]) -> list[str]:
    """Each Chinese notebook against its English twin: everything but Markdown the same."""
    from grader.translate.exercises import LANGUAGE_CELL

    out = []
    for name in sorted(n for n in files if n.endswith(ZH_SUFFIX)):
        twin = name[: -len(ZH_SUFFIX)] + ".ipynb"
        if twin not in files:
            out.append(f"{name}: a Chinese notebook without its English twin {twin}")
            continue
        try:
            chinese, english = _cells(files[name]), _cells(files[twin])
        except (ValueError, RecursionError, KeyError, TypeError):
            continue   # notebook_problems says it is unreadable
        own = [c for c in chinese if c.get("id") in ZH_OWN_CELLS]
        chinese = [c for c in chinese if c.get("id") not in ZH_OWN_CELLS]
        same = [c.get("id") for c in chinese] == [c.get("id") for c in english] and all(
            zh.get("cell_type") == en.get("cell_type")
            and _grading(zh) == _grading(en)
            and (en.get("cell_type") != "code"
                 or leaks.joined_source(zh.get("source", "")) == leaks.joined_source(en.get("source", "")))
            for zh, en in zip(chinese, english))
        language = [leaks.joined_source(c.get("source", "")) for c in own if c.get("cell_type") == "code"]
        if not same or language != [LANGUAGE_CELL]:
            out.append(f"{name}: not its English twin {twin} with only its text translated: "
                       "run `python -m grader zh release`")
    return out


def _grading(cell: dict) -> dict:
    # what nbgrader grades by; a locked Markdown cell's checksum is of its own (translated) text
    meta = dict(cell.get("metadata", {}).get("nbgrader", {}))
    if cell.get("cell_type") == "markdown":
        meta.pop("checksum", None)
    return meta


def binder_problems(files: dict[str, bytes], root: Path) -> list[str]:
    from grader.edition.ways_in import python_versions

    names = set(files)
    folders = {"/".join(n.split("/")[:i]) for n in names for i in range(1, n.count("/") + 1)}
    out = []
    for name in ("binder/postBuild", "binder/requirements.txt"):
        if name not in files:
            out.append(f"{name}: missing")
            continue
        for line in files[name].decode("utf-8").splitlines():
            if line.lstrip().startswith("#"):
                continue
            for path in _LOCAL_PATH.findall(line):
                # postBuild runs at the repository's root; a path in requirements.txt may be
                # read from the root (pip's working folder) or from binder/ (-r, -c)
                bases = ("",) if name.endswith("postBuild") else ("", "binder/")
                targets = {_normalise(base + path) for base in bases}
                if not targets & (names | folders | {""}):
                    out.append(f"{name} names {path}, which is not in the tree")
    runtime = files.get("binder/runtime.txt", b"").decode("utf-8").strip()
    wanted = {f"python-{v}" for v in python_versions(root)}
    if runtime not in wanted:
        out.append(f"binder/runtime.txt says {runtime!r}; the course supports {sorted(wanted)}")
    return out


def _normalise(path: str) -> str:
    """``a/./b/../c/`` -> ``a/c`` without touching the disk."""
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def problems(files: dict[str, bytes], root: Path = ROOT,
             index: leaks.SecretIndex | None = None) -> list[str]:
    """Everything wrong with a tree of ``files`` as a student edition of ``root``."""
    root = Path(root)
    index = index or leaks.instructor_secrets(root)
    out = path_problems(set(files), root)
    out += [str(finding) for finding in leaks.audit_files(files, index)]
    out += notebook_problems(files, root)
    out += twin_problems(files)
    out += binder_problems(files, root)
    return out


def audit_tree(folder: Path, root: Path = ROOT) -> list[str]:
    """:func:`problems` of a tree already written (its ``.git`` left out).  Links and other
    files that are not regular are problems of their own and are never followed."""
    folder = Path(folder)
    files, odd = {}, []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if rel.parts[0] == ".git":
            continue
        if path.is_symlink():
            odd.append(f"{rel.as_posix()}: a symbolic link")
        elif path.is_file():
            files[rel.as_posix()] = path.read_bytes()
        elif not path.is_dir():
            odd.append(f"{rel.as_posix()}: not a regular file")
    return odd + problems(files, root)
