"""The hidden tests' own processes: each test cell's hidden part runs in a child process,
bounded in memory, time and message size, whose death costs only that question.

Why: a hidden test computes, in the grader, with what the student's code chose -- the
arguments a stand-in of ``provide`` is called with, the values the student's functions
return.  A computation on student-chosen data can be made as large as the student likes:
``gumbel_softmax`` called with a (20000, 1) and a (1, 20000) array (320 KB sent) is a
20000 x 20000 result, 3.2 GB.  In the grader's own process that is the whole batch's memory
(an OOM kill ends the batch) and time.  Here it is one child's:

* memory: ``RLIMIT_AS`` of the child is its size at start plus ``memory_mb``, so a blow-up is
  a ``MemoryError`` (a stand-in answers it to the kernel, a check fails with it): that
  question fails, nothing else;
* time: the cell's time limit.  The child ends itself at the deadline (``SIGALRM``: the
  test fails, "did not finish in time"); if it is stuck in C code the grader kills it a few
  seconds later (through a pidfd: never another process), which also fails the question;
* size: every message is a length-prefixed JSON frame of at most :data:`MAX_FRAME` bytes;
  a stand-in's answer is at most ``wire.MAX_BYTES``; the verdict's message is cut;
* nothing written: ``RLIMIT_FSIZE`` is 0.

The children are forked from a small server (:class:`Server`), a fresh interpreter started
once per grader process that imports NumPy, the checks and the reference and never runs a
thread: forking the grader itself, with its threads (slots, event loops, ZeroMQ), could give
the child a lock that one of them held.  A child builds the hidden tests' namespace from the
gradebook's locked cells, binds the student's names as :class:`~grader.grading.remote.Remote`
objects, and runs the cell's hidden code (:meth:`~grader.grading.verdicts.HiddenTests.run_code`).
Its calls into the student's kernel go through the grader (:class:`HiddenRun`, the relay:
the grader owns the kernel's channel); a stand-in's question from the kernel comes back to
the child, which answers it with the provided (reference) function.  Frames::

    child -> grader   {"pid": N}                           first, so that it can be killed
    grader -> child   {"helpers", "key", "code", "seconds", "memory_mb", "language"}
    child -> grader   {"call": request, "what": text}      a call into the student's kernel
    grader -> child   {"question": text}                   a stand-in asks (any number)
    child -> grader   {"answer": text}
    grader -> child   {"reply": reply} | {"link_error": {"type", "message"}}
    child -> grader   {"verdict": [passed, name, message], "findings": {...}}   last
                    | {"fault": text}

A failed verdict's message is the one the student's feedback shows, in the notebook's
language (``job["language"]``: the hidden part runs under it): the mistake named, no hidden
expected value; ``findings`` carry, as plain data, what the class report keeps of the
failure -- its misconception record and the digest of the first wrong value
(:func:`grader.grading.insight.findings`).  The exception they come from never leaves the
child.

A ``fault`` -- the locked cells do not run, the child cannot start, it dies of something
that is none of its limits -- is the grader's failure (:class:`~grader.grading.verdicts.
GraderFault`), never the student's: the batch grades that student again.
"""
from __future__ import annotations

import json
import os
import resource
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

MAX_FRAME = 64 * 2**20 + 2**20        # a kernel's largest message, and the frame around it
MAX_JOB = 16 * 2**20                  # the locked cells and the hidden code
MAX_MESSAGE = 10_000                  # of a verdict's message
KILL_GRACE = 5.0                      # seconds after the deadline before the grader kills
START_TIMEOUT = 60.0                  # the server's start and the child's first frame
_HEADER = struct.Struct("<Q")


class FrameError(ValueError):
    """A frame too large, truncated or not JSON."""


# --------------------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------------------

def send_frame(sock: socket.socket, obj: Any) -> None:
    data = json.dumps(obj).encode("utf-8")
    sock.sendall(_HEADER.pack(len(data)) + data)     # one write: a call costs few syscalls


def _fill(sock: socket.socket, buffer: bytearray, n: int, deadline: float | None) -> bool:
    """Read until ``buffer`` holds ``n`` bytes; False when the other end closed first."""
    while len(buffer) < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            sock.settimeout(left)
        elif sock.gettimeout() is not None:
            sock.settimeout(None)
        chunk = sock.recv(max(65536, min(n - len(buffer), 1 << 20)))
        if not chunk:
            return False
        buffer += chunk
    return True


_BUFFERS: "dict[int, bytearray]" = {}


def recv_frame(sock: socket.socket, limit: int = MAX_FRAME, deadline: float | None = None) -> Any:
    """The next frame's value; ``None`` when the other end closed.  Raises
    :class:`TimeoutError` at ``deadline`` (``time.monotonic``), :class:`FrameError`.
    Bytes read past the frame are kept for the next call (per socket)."""
    buffer = _BUFFERS.setdefault(sock.fileno(), bytearray())
    if not _fill(sock, buffer, _HEADER.size, deadline):
        if buffer:
            raise FrameError("the frame was cut off")
        return None
    (size,) = _HEADER.unpack_from(buffer)
    if size > limit:
        raise FrameError(f"a frame of {size} bytes (the limit is {limit})")
    if not _fill(sock, buffer, _HEADER.size + size, deadline):
        raise FrameError("the frame was cut off")
    data = bytes(buffer[_HEADER.size:_HEADER.size + size])
    del buffer[:_HEADER.size + size]
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise FrameError("a frame that is not JSON") from None


def forget(sock: socket.socket) -> None:
    """Drop what :func:`recv_frame` kept for ``sock`` (call before closing it)."""
    _BUFFERS.pop(sock.fileno(), None)


# --------------------------------------------------------------------------------------
# The server and its children (run in the server's process)
# --------------------------------------------------------------------------------------

def _preload() -> None:
    """What every child would import: once here, shared by every fork."""
    import importlib
    import pkgutil

    import numpy  # noqa: F401

    import grader.checks  # noqa: F401
    import grader.grading.insight  # noqa: F401
    import grader.grading.verdicts  # noqa: F401
    import grader.reference
    from grader.grading import misconceptions

    for language in ("en", "zh"):          # the message catalogues, read once
        misconceptions._templates(language)
        misconceptions._reverse(language)

    for module in pkgutil.iter_modules(grader.reference.__path__):
        try:
            importlib.import_module(f"grader.reference.{module.name}")
        except Exception:   # a module a chapter never uses in a hidden test
            pass


def serve(control_fd: int) -> None:
    """The server's loop: for each socket the grader hands over, fork a child that runs one
    hidden part on it.  Ends when the grader closes the control socket (or dies)."""
    control = socket.socket(fileno=control_fd)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)      # children are reaped by the kernel
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _preload()
    while True:
        try:
            message, fds, _flags, _address = socket.recv_fds(control, 16, 4)
        except InterruptedError:
            continue
        except OSError:
            return
        if not message and not fds:
            return
        for extra in fds[1:]:
            os.close(extra)
        if not fds:
            continue
        try:
            pid = os.fork()
        except OSError:          # the grader sees the socket close: a fault, graded again
            os.close(fds[0])
            continue
        if pid == 0:
            code = 0
            try:
                control.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                _child(fds[0])
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        os.close(fds[0])


class _Deadline(BaseException):
    """The cell's time limit, in the child (not an ``Exception``: nothing may catch it)."""


_EXPIRED = [False]


def _on_alarm(_signum, _frame) -> None:
    _EXPIRED[0] = True      # from now on no call leaves the child (a `with provide` would
    raise _Deadline         # send its "unprovide" while the deadline unwinds the test)


def _vm_size() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _limit(memory_mb: int, seconds: float) -> None:
    base = _vm_size()
    if base and memory_mb > 0:
        limit = base + memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    cpu = int(seconds) + 10
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)        # a write fails (EFBIG) instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(0.01, seconds))


class _ChildLink:
    """The child's link (see :data:`grader.grading.remote.Link`): a call goes to the grader,
    which asks the kernel; the kernel's stand-in questions come back here to be answered."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.session = None

    def __call__(self, request: dict, what: str) -> dict:
        from grader.grading import remote
        from grader.grading.verdicts import GraderFault

        if _EXPIRED[0]:
            raise _Deadline
        _send_whole(self.conn, {"call": request, "what": what})
        while True:
            frame = recv_frame(self.conn)
            if not isinstance(frame, dict):
                raise GraderFault("the grader closed the hidden test's connection")
            if "question" in frame:
                _send_whole(self.conn, {"answer": self.session.answer_callback(str(frame["question"]))})
            elif "reply" in frame and isinstance(frame["reply"], dict):
                return frame["reply"]
            elif "link_error" in frame:
                info = frame["link_error"] if isinstance(frame["link_error"], dict) else {}
                kind = {"StudentTimeout": remote.StudentTimeout, "StudentCrash": remote.StudentCrash,
                        "GraderFault": GraderFault}.get(info.get("type"), remote.StudentError)
                raise kind(str(info.get("message", "the call failed")))
            else:
                raise GraderFault("the grader sent the hidden test something unexpected")


def _send_whole(conn: socket.socket, obj: Any) -> None:
    """A frame from the child, never cut in two by the deadline's signal."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    try:
        send_frame(conn, obj)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})


def _child(fd: int) -> None:
    from grader.grading.insight import findings
    from grader.grading.remote import Session
    from grader.grading.verdicts import GraderFault, HiddenTests

    conn = socket.socket(fileno=fd)
    send_frame(conn, {"pid": os.getpid()})
    job = recv_frame(conn, MAX_JOB, time.monotonic() + START_TIMEOUT)
    if not isinstance(job, dict):
        return
    _limit(int(job.get("memory_mb", 0)), float(job.get("seconds", 60)))
    try:
        try:
            hidden = HiddenTests(list(job["helpers"]), int(job["key"]))
        except _Deadline:
            raise
        except BaseException as exc:
            _send_whole(conn, {"fault": f"the assignment's locked cells do not run in the grader: "
                                       f"{type(exc).__name__}: {str(exc)[:500]}"})
            return
        hidden.language = str(job.get("language") or "en")
        link = _ChildLink(conn)
        session = Session(link)
        link.session = session
        try:
            passed, name, message = hidden.run_code(str(job["code"]), session)
            found: dict = {}
            if not passed:   # what insight keeps, from the exception (which stays here)
                try:
                    found = findings(hidden.failure, name, message, hidden.language)
                except Exception as exc:   # never the raw message: it quotes expected values
                    raise GraderFault(f"the grader could not describe a failure: "
                                      f"{type(exc).__name__}: {str(exc)[:300]}") from exc
                message = found.pop("message")   # the mistake named, no expected value
            verdict: dict = {"verdict": [bool(passed), str(name)[:200], str(message)[:MAX_MESSAGE]],
                             "findings": found}
        except GraderFault as exc:
            verdict = {"fault": str(exc)[:MAX_MESSAGE]}
        signal.setitimer(signal.ITIMER_REAL, 0)
    except _Deadline:
        verdict = {"verdict": [False, "TimeoutError",
                               "the hidden tests did not finish within the time limit of this test"]}
    _send_whole(conn, verdict)


# --------------------------------------------------------------------------------------
# The grader's side
# --------------------------------------------------------------------------------------

class Server:
    """The fork server of this grader process (one, shared by its threads; started on first
    use, started again if it died)."""

    _instance: "Server | None" = None
    _instance_lock = threading.Lock()

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.proc: subprocess.Popen | None = None
        self.control: socket.socket | None = None
        self.folder = None                   # its Scratch folder (its cwd)
        self.starts = 0

    @classmethod
    def get(cls) -> "Server":
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = Server()
                import atexit
                atexit.register(cls._instance.stop)
            return cls._instance

    def _start(self) -> None:
        import grader

        self.stop()
        from grader.grading.scratch import Scratch

        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.folder = Scratch("hidden", mode=0o700)
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   NUMEXPR_NUM_THREADS="1", MALLOC_ARENA_MAX="2", MPLBACKEND="Agg")
        boot = (f"import sys; sys.path.insert(0, {str(Path(grader.__file__).resolve().parent.parent)!r}); "
                f"from grader.grading.hidden_process import serve; serve({theirs.fileno()})")
        try:
            self.proc = subprocess.Popen([sys.executable, "-c", boot], pass_fds=(theirs.fileno(),),
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, cwd=self.folder.path, env=env,
                                         start_new_session=True)
        finally:
            theirs.close()
        self.control = ours
        self.starts += 1

    def start(self) -> None:
        """Start the server now (its imports then overlap other work)."""
        with self._lock:
            if self.proc is None or self.proc.poll() is not None:
                try:
                    self._start()
                except OSError:
                    pass        # spawn() tries again, and says why

    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def spawn(self) -> socket.socket:
        """A connection to a new child (which first sends its pid)."""
        from grader.grading.verdicts import GraderFault

        with self._lock:
            for attempt in range(2):
                if self.proc is None or self.proc.poll() is not None or self.control is None:
                    try:
                        self._start()
                    except OSError as exc:
                        raise GraderFault(f"the hidden tests' server could not start: {exc}") from exc
                ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    socket.send_fds(self.control, [b"x"], [theirs.fileno()])
                    return ours
                except OSError as exc:
                    ours.close()
                    if attempt:
                        raise GraderFault(f"the hidden tests' server does not answer: {exc}") from exc
                    self.proc = None      # dead: start it again
                finally:
                    theirs.close()
        raise AssertionError("unreachable")

    def stop(self) -> None:
        if self.control is not None:
            self.control.close()
            self.control = None
        if self.proc is not None:
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        if self.folder is not None:
            self.folder.close()
            self.folder = None


TIMED_OUT = (False, "TimeoutError", "the hidden tests did not finish within the time limit of this test "
                                    "(stopped by the grader)")


class HiddenRun:
    """One test cell's hidden part, in a child of :class:`Server`; the grader's end of it.

    :meth:`run` (in a worker thread) relays the child's calls through ``link`` into the
    student's kernel; :meth:`ask` (the channel's answer callback, on the event loop's thread
    while such a call runs) relays the kernel's stand-in questions to the child."""

    def __init__(self, job: dict, deadline: float, server: Server | None = None) -> None:
        self.job = dict(job, seconds=max(0.5, deadline - time.monotonic()))
        self.deadline = deadline
        self.server = server or Server.get()
        self.conn: socket.socket | None = None
        self.pidfd: int | None = None
        self.pid: int | None = None
        self.killed = False
        self._stashed: Any = None
        self.findings: Any = None   # the verdict frame's (unchecked: insight.plain_findings)

    # -- the child's life ------------------------------------------------------------------
    def _kill(self) -> None:
        if self.pidfd is not None and not self.killed:
            self.killed = True
            try:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            except (OSError, AttributeError):
                pass

    def _next(self) -> Any:
        """The child's next frame (``None``: it is gone); kills it past the deadline."""
        if self._stashed is not None:
            frame, self._stashed = self._stashed, None
            return frame
        try:
            return recv_frame(self.conn, MAX_FRAME, self.deadline + KILL_GRACE)
        except TimeoutError:
            self._kill()
            return None
        except (FrameError, OSError):
            self._kill()
            raise

    def _send(self, obj: Any) -> bool:
        try:
            send_frame(self.conn, obj)
            return True
        except OSError:        # the child ended: its last frame may still be there to read
            return False

    def run(self, link: Callable[[dict, str], dict]) -> tuple[bool, str, str]:
        from grader.grading.remote import StudentError
        from grader.grading.verdicts import GraderFault

        self.conn = self.server.spawn()
        try:
            try:
                first = recv_frame(self.conn, 4096, time.monotonic() + START_TIMEOUT)
            except (TimeoutError, FrameError, OSError) as exc:
                raise GraderFault(f"the hidden tests' process did not start ({exc or type(exc).__name__})") from None
            if not isinstance(first, dict) or not isinstance(first.get("pid"), int):
                raise GraderFault("the hidden tests' process did not start")
            self.pid = first["pid"]
            try:
                self.pidfd = os.pidfd_open(self.pid)
            except OSError as exc:
                raise GraderFault(f"the hidden tests' process could not be watched: {exc}") from None
            if not self._send(self.job):
                raise GraderFault("the hidden tests' process ended before its test")
            while True:
                try:
                    frame = self._next()
                except FrameError as exc:
                    return False, "HiddenTestError", f"the hidden tests' process sent too much: {exc}"
                except OSError as exc:
                    raise GraderFault(f"the hidden tests' connection broke: {exc}") from None
                if frame is None:
                    if self.killed:
                        return TIMED_OUT
                    raise GraderFault("the hidden tests' process ended without a verdict "
                                      "(killed by the system, or a crash of the grader's code)")
                if not isinstance(frame, dict):
                    raise GraderFault("the hidden tests' process sent something unexpected")
                if "verdict" in frame:
                    passed, name, message = (list(frame["verdict"]) + ["", "", ""])[:3]
                    self.findings = frame.get("findings")
                    return bool(passed), str(name), str(message)[:MAX_MESSAGE]
                if "fault" in frame:
                    raise GraderFault(str(frame["fault"])[:MAX_MESSAGE])
                if "call" in frame and isinstance(frame["call"], dict):
                    try:
                        out: dict = {"reply": link(frame["call"], str(frame.get("what", "a call"))[:300])}
                    except (StudentError, GraderFault) as exc:
                        out = {"link_error": {"type": type(exc).__name__, "message": str(exc)[:4000]}}
                    except Exception as exc:   # the grader's own side of the call failed
                        out = {"link_error": {"type": "GraderFault",
                                              "message": f"{type(exc).__name__}: {str(exc)[:500]}"}}
                    self._send(out)
                    continue
                raise GraderFault("the hidden tests' process sent an unknown frame")
        finally:
            if self.pidfd is not None:
                if not self.killed:
                    self._kill()    # it has sent its verdict and is ending: make sure
                os.close(self.pidfd)
                self.pidfd = None
            forget(self.conn)
            self.conn.close()

    def ask(self, question: str) -> str:
        """The child's answer to a stand-in's question (JSON text for the kernel)."""
        if not self._send({"question": question}):
            return json.dumps({"raised": "the hidden test had ended"})
        try:
            frame = self._next()
        except (FrameError, OSError) as exc:
            return json.dumps({"raised": f"the grader's answer could not be read ({exc})"})
        if frame is None:
            return json.dumps({"raised": "the grader's answer did not come in time"})
        if isinstance(frame, dict) and "answer" in frame:
            return str(frame["answer"])
        self._stashed = frame      # the verdict (a deadline): for run() to read
        return json.dumps({"raised": "the hidden test had ended"})
