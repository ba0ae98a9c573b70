"""The gradebook, shared by a batch's threads: one lock, WAL mode, one engine.

nbgrader opens the SQLite gradebook in many places of its pipeline (``init_assignment``, the
sanitize pass, ``SaveAutoGrades``); only the kernel execution touches no database and takes
time.  A batch grades with a pool of threads, one submission per thread, and a single
:class:`GradebookLock` (a thread lock plus an ``flock`` on ``gradebook.db``, so two grader
processes also take turns) is **held whenever a thread runs nbgrader code** and released only
around the kernel's work (:meth:`grader.grading.job.Job.unlocked`).  Every gradebook read
and write therefore happens in one thread at a time, in nbgrader's own order, through
nbgrader's own code, while up to ``--jobs`` kernels run at once.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from pathlib import Path
from typing import Any


class GradebookLock:
    """One holder at a time, across threads (a lock) and processes (``flock`` on the db)."""

    def __init__(self, db_path: Path) -> None:
        self._lock = threading.Lock()
        self._db_path = db_path
        self._fd: int | None = None

    def acquire(self) -> None:
        self._lock.acquire()
        try:
            if self._db_path.exists():
                self._fd = os.open(self._db_path, os.O_RDONLY)
                fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._lock.release()
            raise

    def release(self) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
                self._fd = None
        finally:
            self._lock.release()

    def __enter__(self) -> "GradebookLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


WAL_MARKER = ".rnns-wal"    # beside the gradebook: "the grader switched it to WAL, from <mode>"


def _journal_mode(db_path: Path, mode: str | None = None, timeout: float = 5) -> str:
    import sqlite3

    con = sqlite3.connect(db_path, timeout=timeout)
    try:
        if mode is None:
            return con.execute("PRAGMA journal_mode").fetchone()[0].lower()
        return con.execute(f"PRAGMA journal_mode={mode}").fetchone()[0].lower()
    finally:
        con.close()


@contextlib.contextmanager
def wal_gradebook(db_path: Path):
    """The gradebook in WAL mode with ``synchronous=NORMAL`` for the batch, and back.

    nbgrader commits after every cell it scores; in SQLite's default rollback-journal mode
    each commit waits for several fsyncs (about 20 ms here), and those waits sit inside the
    gradebook lock.  In WAL mode with ``synchronous=NORMAL`` a commit does not wait for the
    disk and the database stays consistent after a crash (at worst the last grades are lost,
    and the batch can be run again).  The journal mode is put back at the end, so the file is
    as nbgrader expects.  A marker beside the gradebook (``gradebook.db.rnns-wal``) records
    the switch until the mode is back: a batch that was killed leaves it, and the next batch
    puts the mode back at its end (a gradebook the instructor keeps in WAL mode, without the
    marker, is left alone).  If another program holds the gradebook open, the mode cannot
    change; the marker stays and the next batch tries again.
    """
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def on_connect(dbapi_connection, _record) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    marker = db_path.with_name(db_path.name + WAL_MARKER)
    ours = False
    original = "delete"
    if db_path.exists():
        try:
            mode = _journal_mode(db_path)
            if mode != "wal":
                original = mode
                marker.write_text(original + "\n", encoding="utf-8")
                ours = _journal_mode(db_path, "WAL") == "wal"
                if not ours:
                    marker.unlink(missing_ok=True)
            elif marker.is_file():     # a killed batch's switch: ours to put back
                ours = True
                original = marker.read_text(encoding="utf-8").strip() or "delete"
        except (sqlite3.Error, OSError):
            ours = False
    if ours:
        event.listen(Engine, "connect", on_connect)
    try:
        yield ours
    finally:
        if ours:
            event.remove(Engine, "connect", on_connect)
            with contextlib.suppress(sqlite3.Error, OSError):
                if original not in ("delete", "truncate", "persist", "memory", "off"):
                    original = "delete"
                if _journal_mode(db_path, original.upper(), timeout=30) == original:
                    marker.unlink(missing_ok=True)


@contextlib.contextmanager
def shared_gradebook_engine():
    """One SQLAlchemy engine per gradebook for the whole batch.

    nbgrader opens a new ``Gradebook`` (a new engine: table inspection, a fresh statement
    cache, a new connection) a dozen times per submission, always under our lock; with one
    engine its connection and compiled statements are reused.  nbgrader's own code is
    unchanged: ``Gradebook.__init__`` and ``close`` are wrapped for the batch only.
    """
    from nbgrader import api
    from sqlalchemy.orm import scoped_session, sessionmaker

    engines: dict[str, Any] = {}
    original_init, original_close = api.Gradebook.__init__, api.Gradebook.close

    def init(self, db_url, course_id="default_course", authenticator=None):
        engine = engines.get(db_url)
        if engine is None:
            original_init(self, db_url, course_id, authenticator)
            engines[db_url] = self.engine
            return
        self.engine = engine
        self.db = scoped_session(sessionmaker(autoflush=True, bind=engine, future=True))
        self.check_course(course_id=course_id)
        self.course_id = course_id
        self.authenticator = authenticator

    def close(self):
        self.db.remove()
        if self.engine not in engines.values():
            self.engine.dispose()

    api.Gradebook.__init__, api.Gradebook.close = init, close
    try:
        yield
    finally:
        api.Gradebook.__init__, api.Gradebook.close = original_init, original_close
        for engine in engines.values():
            engine.dispose()
