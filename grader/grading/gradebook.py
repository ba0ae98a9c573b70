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


@contextlib.contextmanager
def wal_gradebook(db_path: Path):
    """The gradebook in WAL mode with ``synchronous=NORMAL`` for the batch, and back.

    nbgrader commits after every cell it scores; in SQLite's default rollback-journal mode
    each commit waits for several fsyncs (about 20 ms here), and those waits sit inside the
    gradebook lock.  In WAL mode with ``synchronous=NORMAL`` a commit does not wait for the
    disk and the database stays consistent after a crash (at worst the last grades are lost,
    and the batch can be run again).  The journal mode is put back at the end, so the file is
    as nbgrader expects; if another program holds the gradebook open, nothing is changed.
    """
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def on_connect(dbapi_connection, _record) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    switched = False
    if db_path.exists():
        try:
            con = sqlite3.connect(db_path, timeout=5)
            try:
                if con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    switched = con.execute("PRAGMA journal_mode=WAL").fetchone()[0].lower() == "wal"
            finally:
                con.close()
        except sqlite3.Error:
            switched = False
    if switched:
        event.listen(Engine, "connect", on_connect)
    try:
        yield switched
    finally:
        if switched:
            event.remove(Engine, "connect", on_connect)
            with contextlib.suppress(sqlite3.Error):
                con = sqlite3.connect(db_path, timeout=30)
                try:
                    con.execute("PRAGMA journal_mode=DELETE")
                finally:
                    con.close()


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
