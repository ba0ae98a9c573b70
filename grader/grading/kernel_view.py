"""What a student's kernel may see of this machine: one computation, for every kind of sandbox.

A kernel needs an interpreter and its packages (NumPy, ipykernel...), so a sandbox lets it
read the Python installation.  But this package, the grader, may be installed there too:
``pip install .`` or a wheel (on a Dask worker, say) puts ``grader/reference/`` and
``grader/grading/`` -- the reference implementations and the grading code -- into
``site-packages``, and an editable install puts a ``.pth`` file and a finder there that name
the course folder.  :func:`kernel_view` says what may be read and what must be hidden
inside it, whatever the way the grader was installed:

``readonly``  folders the kernel may read: the interpreter's prefixes (a virtual
              environment and the Python it was made from), configured data folders
              (``Sandbox.extra_ro_binds``, the folders of ``Sandbox.pass_env``); the
              operating system's ``/usr``, ``/etc`` and friends come on top (:data:`SYSTEM`);
``hidden``    every place inside those where this grader is installed or recorded: the
              ``grader`` package folder of each installation, its ``*.dist-info`` /
              ``*.egg-info`` metadata (``RECORD`` lists the files), ``.pth`` files and
              editable finders that point at it, ``*.egg-link`` files.

The kernel imports the student kit instead (:mod:`grader.kit`, put first on its path).

How each sandbox applies it: the bubblewrap sandbox (:mod:`grader.grading.sandbox`) binds
``readonly`` and mounts an empty read-only folder over each hidden folder and ``/dev/null``
over each hidden file; a sandbox without mount namespaces (an unprivileged uid in a
container) must make sure the kernel's uid cannot read any hidden path --
:meth:`KernelView.readable_by_others` lists those that the permission bits still open to
other users -- or run kernels from a separate environment where no grader is installed.
"""
from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import os
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "grader"
SYSTEM = ("/usr", "/etc", "/bin", "/lib", "/lib32", "/lib64", "/libx32", "/sbin")


@dataclass
class KernelView:
    readonly: list[str]
    hidden_dirs: list[str] = field(default_factory=list)
    hidden_files: list[str] = field(default_factory=list)

    @property
    def hidden(self) -> list[str]:
        return sorted(self.hidden_dirs + self.hidden_files)

    def readable_by_others(self) -> list[str]:
        """Hidden paths that a uid other than their owner (and not in their group) could
        read: a sandbox that relies on permissions must close these first."""
        open_paths = []
        for path in self.hidden:
            chain = [Path(path), *Path(path).parents]
            try:
                modes = [os.stat(p).st_mode for p in chain]
            except OSError:
                continue
            traversable = all(m & stat.S_IXOTH for m in modes[1:])
            readable = modes[0] & (stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(modes[0]) else 0))
            if traversable and readable:
                open_paths.append(path)
        return open_paths


def python_roots() -> list[str]:
    """Folders the kernel's interpreter and packages live in (bound read-only), outermost
    first, none inside another."""
    roots = set()
    for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
        roots.add(os.path.abspath(p))
        roots.add(os.path.realpath(p))
    out: list[str] = []
    for r in sorted(roots, key=len):
        if not any(r == o or r.startswith(o + "/") for o in out):
            out.append(r)
    return out


def _inside(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


@functools.lru_cache(maxsize=1)
def _installations() -> tuple[frozenset[str], frozenset[str]]:
    """(folders, files) where this grader is installed or recorded, found three ways: the
    package this process runs, the installed distributions that ship it, and the site
    folders on ``sys.path`` (once per process: reading every distribution's metadata takes
    a moment)."""
    dirs: set[str] = set()
    files: set[str] = set()
    spec = importlib.util.find_spec(PACKAGE)
    for location in (spec.submodule_search_locations or []) if spec else []:
        dirs.add(os.path.realpath(location))
    for dist in importlib.metadata.distributions():
        names = set((dist.read_text("top_level.txt") or "").split())
        shipped = [str(f) for f in (dist.files or [])]
        if PACKAGE not in names and not any(f.split("/")[0] == PACKAGE for f in shipped):
            continue
        meta = getattr(dist, "_path", None)
        if meta is not None:
            dirs.add(os.path.realpath(str(meta)))
        for f in shipped:
            name = f.rsplit("/", 1)[-1]
            if f.split("/")[0] == PACKAGE:
                dirs.add(os.path.realpath(str(dist.locate_file(PACKAGE))))
            elif name.endswith(".pth") or name.startswith("__editable__"):   # its .pyc too
                files.add(os.path.realpath(str(dist.locate_file(f))))
    here = Path(spec.origin).resolve().parent if spec and spec.origin else None
    for entry in sys.path:
        folder = Path(entry or ".").resolve()
        if not folder.is_dir():
            continue
        for candidate in (folder / PACKAGE, folder / f"{PACKAGE}.py"):
            if candidate.exists():
                (dirs if candidate.is_dir() else files).add(str(candidate))
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        for item in entries:
            if item.suffix == ".egg-link" or item.name.startswith("__editable__"):
                files.add(str(item.resolve()))
            elif item.suffix == ".pth" and item.is_file() and _pth_exposes_grader(item, here):
                files.add(str(item.resolve()))
    return frozenset(dirs), frozenset(files)


def _pth_exposes_grader(pth: Path, package: Path | None) -> bool:
    """Does this ``.pth`` file put a grader on ``sys.path``: an import line that names it
    (an editable install's finder), or a folder that holds a ``grader`` package or lies
    inside this one?"""
    try:
        lines = pth.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return False
    for line in map(str.strip, lines):
        if not line or line.startswith("#"):
            continue
        if line.startswith(("import ", "import\t")):
            if PACKAGE in line or "__editable__" in line:
                return True
            continue
        folder = (pth.parent / line).resolve()
        if (folder / PACKAGE / "__init__.py").is_file() or (folder / f"{PACKAGE}.py").is_file():
            return True
        if package is not None and (folder == package or package in folder.parents):
            return True
    return False


def kernel_view(extra_readonly: list[str] | None = None, pass_env: list[str] | None = None) -> KernelView:
    """What a kernel may read (``readonly``, plus :data:`SYSTEM`) and what it must not see
    inside (``hidden_dirs``, ``hidden_files``), for this process's grader installation."""
    readonly = python_roots() + [p for p in (extra_readonly or []) if p]
    for var in pass_env or []:
        value = os.environ.get(var)
        if value and os.path.isdir(value):
            readonly.append(os.path.realpath(value))
    visible = readonly + [p for p in SYSTEM if os.path.isdir(p)]
    dirs, files = _installations()
    hidden_dirs = sorted(d for d in dirs if _inside(d, visible) and os.path.isdir(d))
    hidden_files = sorted(f for f in files if _inside(f, visible) and os.path.isfile(f)
                          and not _inside(f, hidden_dirs))
    hidden_dirs = [d for d in hidden_dirs if not any(d.startswith(o + "/") for o in hidden_dirs)]
    return KernelView(readonly, hidden_dirs, hidden_files)
