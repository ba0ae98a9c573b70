"""The grader's scratch folders, apart from the course, found and cleaned after a crash; free
disk space checked before anything is written.

Every scratch folder of the grader (a batch's staged submissions and kernel connection files,
a Dask worker's student kit, the hidden tests' server) is a folder of its own under one base
folder per user, ``$TMPDIR/rnns-grader-<uid>/`` (mode 0700, checked to be a real folder owned
by this user, never followed if it is a link), never inside the course folder.  A live folder
holds an ``flock`` on its ``.lock`` file for as long as its process uses it; the kernel
releases the lock when the process dies, however it dies.  :func:`sweep`, run at the start of
every batch, removes the folders whose lock is free -- those of a batch that was killed --
and nothing else: not a live batch's, not an entry that is not a folder of this user, and
it never follows a link (``shutil.rmtree`` removes a link, never what it points at).

What a kernel writes never reaches these folders (it writes only in its sandbox's quota,
:mod:`grader.grading.sandbox`); what the grader writes per student is small (a staged
notebook, a connection file).  :func:`free_mb` and :func:`disk_problem` let a batch refuse to
start, and stop grading, before a file system it writes to runs out.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import stat
import tempfile
from pathlib import Path

LOCK = ".lock"


class ScratchUnsafe(RuntimeError):
    """The scratch base folder is not a private folder of this user."""


def base() -> Path:
    """``$TMPDIR/rnns-grader-<uid>``, created 0711 if missing, refused unless it is a real
    folder owned by this user that nobody else can write.  Others may pass through it but
    not list it: the container mode's kernels (uids of their own, no mount namespace) reach
    their folders and the kit inside by names they are given."""
    path = Path(tempfile.gettempdir()) / f"rnns-grader-{os.getuid()}"
    try:
        os.mkdir(path, 0o711)
    except FileExistsError:
        pass
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise ScratchUnsafe(f"{path} is not a private folder of this user (a link, another "
                            "user's, or writable by others): the grader will not use it; remove it")
    os.chmod(path, 0o711)   # the umask may have taken the x bits (or an older grader made it 0700)
    return path


class Scratch:
    """One scratch folder, locked while this process uses it; :meth:`close` removes it."""

    def __init__(self, kind: str, mode: int = 0o711) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=base()))
        self._fd = os.open(self.path / LOCK, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(self._fd, f"{os.getpid()}\n".encode())
        os.chmod(self.path, mode)

    def close(self) -> None:
        if self._fd is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "Scratch":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _stale(folder: str) -> bool:
    """True when ``folder``'s lock can be taken: no live process holds it."""
    try:
        fd = os.open(os.path.join(folder, LOCK), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return True      # killed between mkdtemp and the lock, or half removed
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
    finally:
        os.close(fd)


def sweep() -> list[str]:
    """Remove the scratch folders that no live process holds; return their names."""
    removed = []
    root = base()
    with os.scandir(root) as entries:
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
                continue
            if _stale(entry.path):
                shutil.rmtree(entry.path, ignore_errors=True)
                if not os.path.lexists(entry.path):
                    removed.append(entry.name)
    return removed


def free_mb(path: Path) -> float:
    """MiB available to this user on the file system holding ``path`` (or its nearest
    existing parent)."""
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    info = os.statvfs(path)
    return info.f_bavail * info.f_frsize / 2**20


def disk_problem(places: dict[str, Path], min_free_mb: float) -> str:
    """Why grading must not write now ("" when every file system has room): for each
    ``{what: path}``, at least ``min_free_mb`` MiB free."""
    seen: set[int] = set()
    for what, path in places.items():
        try:
            device = os.stat(path if Path(path).exists() else Path(path).parent).st_dev
        except OSError:
            continue
        if device in seen:
            continue
        seen.add(device)
        free = free_mb(path)
        if free < min_free_mb:
            return (f"only {free:.0f} MiB free on the file system of {what} ({path}); grading "
                    f"needs at least {min_free_mb:g} MiB (Limits.min_free_mb)")
    return ""
