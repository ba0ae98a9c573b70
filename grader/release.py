"""Generating the student notebooks (``exercises/``) from the instructor's (``solutions/``).

nbgrader's ``generate_assignment`` does the real work: it clears solutions, removes hidden
tests, locks cells and records checksums.  The pipeline around it is declared as data, in
the order it must run:

1. *sources are canonical*: a source notebook with outputs or unstable ids would make the
   generated files differ from run to run, so refuse it before generating anything;
2. *generate with nbgrader*, into a scratch folder with a throw-away gradebook, so that a
   release never touches the instructor's ``gradebook.db``;
3. *normalise* the result with the same canonical form, so committed files are stable;
4. *audit* it for any solution or hidden-test line that survived (a check, not a second
   stripping path: if it fires, fix the source notebook's markers).
"""
from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from grader import leaks, notebooks

ROOT = Path(__file__).resolve().parent.parent


class ReleaseError(RuntimeError):
    """The release cannot be produced; the message says which notebook and why."""


def nbgrader_env() -> dict[str, str]:
    """Environment for nbgrader subprocesses: our interpreter's bin/ first on PATH.

    nbgrader runs ``alembic`` through PATH when it opens a gradebook.
    """
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def nbgrader_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "nbgrader", *args]


def assignments(root: Path = ROOT) -> list[str]:
    """Assignment names: the folders of ``solutions/`` that hold a notebook.

    Other folders there are instructor material that is not an assignment (``answers/``:
    the answers to the chapters' questions) and are never released.
    """
    src = root / "solutions"
    return sorted(p.name for p in src.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


@dataclass
class Context:
    root: Path
    assignment: str
    scratch: Path

    @property
    def source_dir(self) -> Path:
        return self.root / "solutions" / self.assignment

    @property
    def generated_dir(self) -> Path:
        return self.scratch / "release" / self.assignment


def check_sources(ctx: Context) -> None:
    for path in sorted(ctx.source_dir.glob("*.ipynb")):
        if not notebooks.is_canonical(path):
            raise ReleaseError(f"{path} is not canonical (outputs or unstable metadata); "
                               f"run `python -m grader nbfmt {path}` first")


def run_generate_assignment(root: Path, assignment: str, release_dir: Path,
                            db_path: Path) -> subprocess.CompletedProcess:
    """nbgrader generate_assignment writing its notebooks into ``release_dir`` and
    registering the assignment (notebooks, cells, points) in the gradebook at ``db_path``."""
    cmd = nbgrader_command(
        "generate_assignment", assignment, "--force",
        f"--CourseDirectory.root={root}",
        f"--CourseDirectory.release_directory={release_dir}",
        f"--CourseDirectory.db_url=sqlite:///{db_path}",
        "--log-level=WARN")
    return subprocess.run(cmd, cwd=root, env=nbgrader_env(), capture_output=True, text=True)


def generate_with_nbgrader(ctx: Context) -> None:
    proc = run_generate_assignment(ctx.root, ctx.assignment, ctx.scratch / "release",
                                   ctx.scratch / "gradebook.db")
    if proc.returncode != 0 or not ctx.generated_dir.is_dir():
        raise ReleaseError(f"nbgrader generate_assignment {ctx.assignment} failed:\n"
                           f"{proc.stdout}{proc.stderr}")


def normalise_generated(ctx: Context) -> None:
    for path in ctx.generated_dir.rglob("*.ipynb"):
        notebooks.write_canonical(path)


def audit(ctx: Context) -> None:
    secrets = leaks.secret_lines(sorted(ctx.source_dir.glob("*.ipynb")))
    for path in ctx.generated_dir.rglob("*"):
        if path.is_file():
            found = leaks.find_leaks(path.read_text(encoding="utf-8", errors="replace"), secrets)
            if found:
                raise ReleaseError(f"{path.name} would leak solution text: {found[:3]}")


PIPELINE: tuple[tuple[str, Callable[[Context], None]], ...] = (
    ("sources are canonical", check_sources),
    ("generate with nbgrader", generate_with_nbgrader),
    ("normalise", normalise_generated),
    ("audit for leaks", audit),
)


def utc_time(text: str) -> str:
    """A time with a zone as nbgrader's ``YYYY-MM-DD HH:MM:SS UTC``.

    The zone is required (a due date without one means a different moment on every
    machine): ``UTC``, an offset (``+08:00``) or an IANA name last (``Asia/Shanghai``).
    nbgrader's own parser would read ``+08:00`` as no zone at all.
    """
    import datetime

    import dateutil.parser
    import dateutil.tz

    head, _, last = text.strip().rpartition(" ")
    zone = dateutil.tz.gettz(last) if "/" in last else None
    try:
        when = dateutil.parser.parse(head if zone else text)
    except (ValueError, OverflowError) as exc:
        raise ReleaseError(f"cannot read the time {text!r}: {exc}") from None
    when = when.replace(tzinfo=zone) if zone else when
    if when.tzinfo is None:
        raise ReleaseError(f"the time {text!r} has no zone: add UTC, an offset such as "
                           "+08:00 or a zone name such as Asia/Shanghai")
    return when.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def register(names: list[str], course_root: Path = ROOT, duedate: str | None = None) -> None:
    """Register assignments in ``course_root``'s gradebook, leaving ``exercises/`` alone.

    nbgrader registers an assignment (its notebooks, graded cells and points, the source
    cells it restores at grading time) only as a side effect of ``generate_assignment``,
    which also writes the release folder: here it writes into a scratch folder that is
    thrown away (the committed release is ``python -m grader release``'s).  ``duedate``
    (with a zone, see :func:`utc_time`) is stored for every name, in UTC.
    """
    course_root = Path(course_root).resolve()
    duedate = utc_time(duedate) if duedate else None
    with tempfile.TemporaryDirectory(prefix="rnns-register-") as tmp:
        for name in names:
            proc = run_generate_assignment(course_root, name, Path(tmp) / "release",
                                           course_root / "gradebook.db")
            if proc.returncode != 0:
                raise ReleaseError(f"registering {name} failed:\n{proc.stdout}{proc.stderr}")
    if duedate:
        # nbgrader's own gradebook API, in this process: a `nbgrader db assignment add`
        # per assignment would start nbgrader once more for each.
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{course_root / 'gradebook.db'}") as gradebook:
            for name in names:
                gradebook.update_or_create_assignment(name, duedate=duedate)


def build(assignment: str, scratch: Path, root: Path = ROOT) -> Path:
    """Run the pipeline for one assignment; return the folder of generated files."""
    ctx = Context(root=root, assignment=assignment, scratch=scratch)
    for _name, step in PIPELINE:
        step(ctx)
    return ctx.generated_dir


def differences(generated: Path, committed: Path) -> list[str]:
    """Relative paths that differ between two trees (missing on either side included)."""
    if not committed.is_dir():
        return ["(whole folder missing)"]
    out = []

    def walk(cmp: filecmp.dircmp, prefix: str) -> None:
        out.extend(prefix + n for n in cmp.left_only + cmp.right_only + cmp.funny_files)
        _, mismatch, errors = filecmp.cmpfiles(cmp.left, cmp.right, cmp.common_files, shallow=False)
        out.extend(prefix + n for n in mismatch + errors)
        for name, sub in cmp.subdirs.items():
            walk(sub, prefix + name + "/")

    walk(filecmp.dircmp(generated, committed, ignore=[".ipynb_checkpoints", "__pycache__"]), "")
    return sorted(out)


def release(names: list[str] | None = None, check: bool = False, root: Path = ROOT) -> list[str]:
    """Regenerate ``exercises/`` (or, with ``check``, only compare).  Returns problems found."""
    names = names or assignments(root)
    problems = []
    with tempfile.TemporaryDirectory(prefix="rnns-release-") as tmp:
        for name in names:
            generated = build(name, Path(tmp), root)
            target = root / "exercises" / name
            diff = differences(generated, target)
            if check:
                problems += [f"exercises/{name}/{d}" for d in diff]
            elif diff:
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(generated, target)
        if not check:
            stale = sorted(set(p.name for p in (root / "exercises").iterdir() if p.is_dir())
                           - set(assignments(root)))
            for name in stale:
                shutil.rmtree(root / "exercises" / name)
        else:
            stale = sorted(set(p.name for p in (root / "exercises").iterdir() if p.is_dir())
                           - set(assignments(root)))
            problems += [f"exercises/{name} (no source in solutions/)" for name in stale]
    return problems
