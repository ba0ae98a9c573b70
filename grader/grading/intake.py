"""Reading a submission folder as a hostile party wrote it: following nothing, trusting nothing.

nbgrader copies a submission with ``shutil.copy`` (which follows symbolic links, as root) and
reads any ``*.ipynb`` it finds.  So before nbgrader sees anything, :func:`inspect` reads the
student's folder itself:

* without following links: the student's folder and the assignment folder must be real
  folders, and every entry a regular file or folder -- a symbolic link (to the solutions, the
  gradebook, another student's work, any file of the machine), a FIFO (which would block a
  reader forever), a device or a socket refuses the submission with a reason naming it;
* within limits (:class:`Limits`, configurable): bytes per notebook, JSON nesting depth
  (``json.loads`` of a deeply nested file raises ``RecursionError``), cells, files and bytes in
  the folder;
* each expected notebook is read once, through a descriptor opened with ``O_NOFOLLOW``, and
  checked to be a notebook of *this* assignment.

:func:`stage` then writes only what was read and accepted -- the assignment's notebooks and
``timestamp.txt`` -- into a fresh folder that nbgrader grades instead of ``submitted/``.  Other
files are reported and left out: they never reach the sandbox.
"""
from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from traitlets import Int
from traitlets.config import LoggingConfigurable

from grader.grading.viewers import for_shell

TIMESTAMP = "timestamp.txt"


class Refused(RuntimeError):
    """The submission cannot be graded as it is; the message says why, for the instructor."""


class Limits(LoggingConfigurable):
    """What one submission may hold (``c.Limits.notebook_mb = 20`` in nbgrader_config.py)."""

    notebook_mb = Int(32, help="largest notebook, MiB").tag(config=True)
    json_depth = Int(64, help="deepest nesting of JSON arrays and objects in a notebook").tag(config=True)
    cells = Int(2000, help="most cells in a notebook").tag(config=True)
    files = Int(200, help="most files and folders in a submission folder").tag(config=True)
    folder_mb = Int(128, help="most bytes in a submission folder, MiB").tag(config=True)
    min_free_mb = Int(256, help="free space a batch needs on the file systems of the gradebook, "
                                "the autograded folder and its scratch: below it no batch starts "
                                "and no further student is graded (they are 'error', graded by "
                                "the next batch), MiB").tag(config=True)


@dataclass
class Inspection:
    refusal: str = ""
    notes: list[str] = field(default_factory=list)
    notebooks: dict[str, bytes] = field(default_factory=dict)   # name.ipynb -> bytes read
    timestamp: bytes | None = None


def json_depth(text: str) -> int:
    """Deepest nesting of ``[]``/``{}`` in JSON text, counted without recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"),
                       (stat.S_ISREG, "a regular file")):
        if test(mode):
            return name
    return "a special file"


def _read_regular(path: Path, limit: int) -> bytes:
    """The bytes of a regular file, opened without following a link; at most ``limit``."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Refused(f"{path.name} is {_kind(info.st_mode)}, not a file")
        if info.st_size > limit:
            raise Refused(f"{path.name} is too large ({info.st_size / 2**20:.1f} MiB; "
                          f"the limit is {limit / 2**20:.0f} MiB)")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                raise Refused(f"{path.name} grew past the size limit while being read")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def inspect(folder: Path, limits: Limits, expected: dict[str, dict] | None = None,
            accepted: dict[str, str] | None = None) -> Inspection:
    """Read ``submitted/<student>/<assignment>`` safely; ``expected`` maps notebook names (no
    ``.ipynb``) to ``{"ids", "fixed"}`` (see :func:`check_notebook`); ``None`` skips that check.
    ``accepted`` maps a file the student named otherwise to the notebook it is graded as (the
    instructor's ``python -m grader accept``; :mod:`grader.grading.accepted`)."""
    result = Inspection()
    try:
        for level in (folder.parent, folder):
            mode = os.lstat(level).st_mode
            if not stat.S_ISDIR(mode):
                raise Refused(f"{level.name}/ is {_kind(mode)}, not a folder")
        entries: list[tuple[Path, os.stat_result]] = []
        pending = [folder]
        while pending:
            current = pending.pop()
            with os.scandir(current) as it:
                for entry in it:
                    info = entry.stat(follow_symlinks=False)
                    rel = Path(entry.path).relative_to(folder)
                    if stat.S_ISDIR(info.st_mode):
                        pending.append(Path(entry.path))
                    elif not stat.S_ISREG(info.st_mode):
                        raise Refused(f"{rel} is {_kind(info.st_mode)}: submissions may hold only "
                                      "regular files (nothing is followed or opened)")
                    entries.append((rel, info))
                    if len(entries) > limits.files:
                        raise Refused(f"more than {limits.files} files and folders in the submission")
        total = sum(info.st_size for _, info in entries if stat.S_ISREG(info.st_mode))
        if total > limits.folder_mb * 2**20:
            raise Refused(f"the submission holds {total / 2**20:.0f} MiB "
                          f"(the limit is {limits.folder_mb} MiB)")
        top_files = sorted(str(rel) for rel, info in entries
                           if stat.S_ISREG(info.st_mode) and len(rel.parts) == 1)
        notebooks = [n for n in top_files if n.endswith(".ipynb")]
        wanted = sorted(f"{n}.ipynb" for n in expected) if expected is not None else notebooks
        found = [n for n in wanted if n in notebooks]
        renamed = {src: dst for src, dst in (accepted or {}).items()
                   if src in notebooks and dst in wanted and dst not in found}
        renamed.update(zh_twins(notebooks, wanted, found, renamed))
        if not found and not renamed:
            raise Refused(_nothing_to_grade(folder, top_files, entries, wanted, notebooks))
        for name, as_name in [(n, n) for n in found] + sorted(renamed.items()):
            data = _read_regular(folder / name, limits.notebook_mb * 2**20)
            check_notebook(name, data, limits, (expected or {}).get(as_name[:-len(".ipynb")]))
            result.notebooks[as_name] = data
            if name != as_name:
                result.notes.append(f"Chinese-edition notebook {name} graded as {as_name}"
                                    if name == zh_twin(as_name) else
                                    f"renamed notebook {name} graded as {as_name} "
                                    "(accepted by the instructor)")
        if TIMESTAMP in top_files:
            result.timestamp = _read_regular(folder / TIMESTAMP, 4096)
        extra = [n for n in notebooks if n not in found and n not in renamed]
        if extra:
            result.notes.append(f"{len(result.notebooks) + len(extra)} notebooks: graded "
                                f"{', '.join(sorted(result.notebooks))}; not graded: {', '.join(extra[:8])}")
        ignored = [n for n in top_files if n not in found and n not in renamed
                   and n not in extra and n != TIMESTAMP]
        ignored += sorted(f"{rel}/" for rel, info in entries
                          if stat.S_ISDIR(info.st_mode) and len(rel.parts) == 1)
        if ignored:
            result.notes.append(f"ignored (not part of the assignment): {', '.join(ignored[:8])}"
                                + (" ..." if len(ignored) > 8 else ""))
    except Refused as exc:
        result.refusal = str(exc)
    except FileNotFoundError as exc:
        result.refusal = f"the submission folder changed while it was read ({exc.filename})"
    except OSError as exc:
        result.refusal = f"the submission cannot be read: {exc.strerror} ({exc.filename})"
    return result


def zh_twin(name: str) -> str:
    """The Chinese edition's name of an assignment's notebook: ``a.ipynb`` -> ``a.zh.ipynb``."""
    return name[:-len(".ipynb")] + ".zh.ipynb"


def zh_twins(notebooks: list[str], wanted: list[str], found: list[str],
             renamed: dict[str, str]) -> dict[str, str]:
    """The Chinese notebooks (``a.zh.ipynb``, :mod:`grader.translate.exercises`) to grade as
    the assignment's ``a.ipynb``: where the student handed in no English one.  Its graded
    cells are the English one's; the checks that follow apply to it unchanged."""
    return {zh_twin(w): w for w in wanted
            if w not in found and w not in renamed.values() and zh_twin(w) in notebooks}


def _nothing_to_grade(folder: Path, top_files: list[str], entries: list, wanted: list[str],
                      notebooks: list[str]) -> str:
    """Why a folder without the assignment's notebook cannot be graded: empty, renamed, other."""
    expected = ", ".join(wanted) or "*.ipynb"
    if not entries:
        return f"empty submission: the folder holds no file (expected {expected})"
    if notebooks:
        student, assignment = folder.parent.name, folder.name
        return (f"renamed notebook: found {', '.join(notebooks[:3])}, expected {expected}; if it "
                f"is the student's work: python -m grader accept -- "
                f"{' '.join(map(for_shell, (assignment, student, notebooks[0])))}")
    return f"no notebook of this assignment: expected {expected}, found {', '.join(top_files[:5]) or 'only folders'}"


def check_notebook(name: str, data: bytes, limits: Limits, expected: dict | None) -> None:
    """Raise :class:`Refused` unless ``data`` is a notebook (of this assignment, when known)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(f"{name} is not a notebook (not UTF-8 text)") from None
    if json_depth(text) > limits.json_depth:
        raise Refused(f"{name} nests JSON more than {limits.json_depth} levels deep: not a notebook")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Refused(f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise Refused(f"{name} nests JSON too deeply: not a notebook") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list) or "nbformat" not in raw:
        raise Refused(f"{name} is JSON but not a Jupyter notebook (no cells/nbformat)")
    if len(raw["cells"]) > limits.cells:
        raise Refused(f"{name} has {len(raw['cells'])} cells (the limit is {limits.cells})")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:
        raise Refused(f"{name} is not a valid notebook: {str(exc).splitlines()[0][:200]}") from None
    if expected is None:
        return
    ids = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.cells} - {None}
    known_ids, foreign = ids & expected["ids"], sorted(ids - expected["ids"])
    fixed = {c.metadata["nbgrader"]["grade_id"]: c.source.strip() for c in nb.cells
             if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") in expected["fixed"]}
    same = sum(src == expected["fixed"][k].strip() for k, src in fixed.items())
    if fixed and not same:
        raise Refused(f"{name} does not come from this assignment's exercise (none of its "
                      f"{len(fixed)} locked instruction cells matches): another assignment's notebook?")
    if not known_ids or len(foreign) > len(known_ids):
        what = f"cells {', '.join(foreign[:4])}..." if foreign else "no nbgrader cells at all"
        raise Refused(f"{name} does not come from this assignment's exercise ({len(known_ids)} of "
                      f"its graded cells belong to it; it has {what}): another assignment's notebook?")


def stage(inspection: Inspection, dest: Path) -> Path:
    """Write what :func:`inspect` accepted into ``dest`` (created fresh); return ``dest``."""
    dest.mkdir(parents=True, exist_ok=False)
    for name, data in inspection.notebooks.items():
        (dest / name).write_bytes(data)
    if inspection.timestamp is not None:
        (dest / TIMESTAMP).write_bytes(inspection.timestamp)
    return dest
