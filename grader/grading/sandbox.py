"""The sandbox a submission's kernel runs in: bubblewrap, resource limits, the student kit.

:class:`Sandbox` builds the command that starts one student kernel::

    bwrap --unshare-{ipc,pid,net,uts,cgroup} --die-with-parent       no network, own PIDs
          --new-session --clearenv --setenv ...                      a known environment
          --ro-bind /usr /etc <python> <venv>                        system read-only
          --tmpfs (read-only) over every installed copy of grader    (kernel_view: the
          --ro-bind /dev/null over its metadata, .pth files           reference is not there)
          --ro-bind <student kit> /opt/rnns-kit                      grader.checks, gradcheck
          --tmpfs /tmp (sized, 1777)  (cwd /tmp/work)                the only writable places,
          --tmpfs /dev/shm (sized)                                   together the disk quota
          --ro-bind <connection file>                                read-only
          --remount-ro / --remount-ro /dev                           nothing else writable
          --seccomp FD                                               no kernel keyring
      prlimit --as --nproc --fsize --nofile --cpu --core=0 --        resource limits
        setpriv --reuid=U --regid=U --clear-groups --no-new-privs   (as root) an unprivileged uid
          python -m ipykernel_launcher -f <conn>

What the kernel can see (:mod:`grader.grading.kernel_view`): the operating system and the
Python installation read-only, minus every installed copy of this grader (editable,
``pip install .``, a wheel), and the student kit (:mod:`grader.kit`) -- the package a
student installs, nothing more.  The course folder (solutions, the gradebook, other
students), the grader's own ``grader`` package (the reference implementations, the hidden
tests' code) and the instructor's home do not exist inside.  The hidden tests run in the
grader's processes (:mod:`grader.grading.verdicts`, :mod:`grader.grading.hidden_process`);
the kernel only answers calls with data.

What the kernel can write: two ``tmpfs`` -- ``/tmp`` (its working folder ``/tmp/work``,
temporary files, and its runtime folder with the ZeroMQ sockets) and ``/dev/shm`` -- whose
sizes add up to ``disk_mb``, a hard quota.  Nothing else: the sandbox's root and ``/dev`` are
remounted read-only (not as root they would belong to the kernel's user), no host folder is
bound writable, and the kernel's standard output goes to a pipe the grader reads a bounded
tail of.  The kernel's network namespace is its own and empty, so it talks to the grader
over ZeroMQ's ``ipc`` transport: Unix sockets in its runtime folder, which the grader
reaches through ``/proc/<pid>/root`` of the sandbox (:func:`sandbox_pid`).  Timeouts
interrupt it with an ``interrupt_request`` message (a signal would reach ``bwrap``).

What survives a kernel: nothing another kernel can read.  Each sandbox has its own IPC
namespace (System V IPC, POSIX message queues), network namespace (abstract Unix sockets),
``/tmp`` and ``/dev/shm``; the kernel keyring, which no namespace covers, is refused by a
seccomp filter (:mod:`grader.grading.seccomp`).

Processes are limited with ``RLIMIT_NPROC``.  The kernel does not count a root-owned process
against it, and ``bwrap`` as root maps root to root in a user namespace; so, as root, the
sandbox creates no user namespace and ``setpriv`` drops the kernel to a uid that belongs to
this sandbox alone (one per job slot and grader process): a fork bomb exhausts its own budget.
Not as root, ``bwrap`` runs unprivileged with a user namespace and the invoking uid: then the
budget is shared by the batch's kernels (documented limitation).  Memory is ``RLIMIT_AS``,
files ``RLIMIT_FSIZE`` and the tmpfs sizes, CPU ``RLIMIT_CPU`` (a backstop: the grader enforces
wall time per cell and per notebook itself).

Where bubblewrap cannot run (a container without user namespaces), ``Sandbox.mode`` ``auto``
hands every kernel to :mod:`grader.grading.container` instead, with the same limits.
"""
from __future__ import annotations

import asyncio
import collections
import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpec
from traitlets import Bool, Enum, Int, List, Unicode
from traitlets.config import LoggingConfigurable

from grader.grading import seccomp
from grader.grading.kernel_view import SYSTEM, KernelView, kernel_view, python_roots  # noqa: F401
from grader.kit import write_kit

KIT_MOUNT = "/opt/rnns-kit"
WORK_DIR = "/tmp/work"
SHM_DIR = "/dev/shm"
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create the namespaces; the message says why."""


def _ancestors(path: Path) -> list[Path]:
    return [p for p in reversed(path.parents) if str(p) != "/"]


class Sandbox(LoggingConfigurable):
    """Limits and the bwrap command for one kernel; configurable from nbgrader_config.py
    (``c.Sandbox.memory_mb = 1024`` ...)."""

    memory_mb = Int(2048, help="address-space limit of the kernel (RLIMIT_AS), MiB").tag(config=True)
    nproc = Int(64, help="processes and threads the kernel's uid may have (RLIMIT_NPROC)").tag(config=True)
    file_size_mb = Int(64, help="largest file the kernel may write (RLIMIT_FSIZE), MiB").tag(config=True)
    disk_mb = Int(256, help="hard quota of everything the kernel writes: its working folder, "
                            "/tmp and its runtime folder share one tmpfs, and /dev/shm has "
                            "a small one (shm_mb of this), MiB").tag(config=True)
    shm_mb = Int(16, help="of disk_mb, the size of the kernel's /dev/shm, MiB (at most a "
                          "quarter of disk_mb)").tag(config=True)
    nofile = Int(256, help="open files (RLIMIT_NOFILE)").tag(config=True)
    cpu_seconds = Int(0, help="CPU seconds per kernel (RLIMIT_CPU); 0: twice the notebook's "
                              "wall-time limit").tag(config=True)
    extra_ro_binds = List(Unicode(), help="more host folders to bind read-only, at the same "
                                          "path (e.g. a data set)").tag(config=True)
    pass_env = List(Unicode(), ["RNNS_DATA_DIR"],
                    help="environment variables passed to the kernel; a value that is an "
                         "existing folder is bound read-only").tag(config=True)
    uid_base = Int(0, help="first uid of the sandbox uids (0: chosen from the grader's pid)").tag(config=True)
    enabled = Bool(True, help="False runs kernels without bwrap (unsafe)").tag(config=True)
    mode = Enum(["auto", "bwrap", "container"], "auto",
                help="'bwrap', 'container' (grader.grading.container: a fresh uid per kernel, "
                     "for containers without namespaces) or 'auto': bubblewrap where it works, "
                     "else the container mode").tag(config=True)
    active_mode = ""         # what check_available chose ("bwrap" or "container")
    bwrap_problem = ""       # why bubblewrap could not be used, when the container mode was chosen

    # -- availability -------------------------------------------------------------------
    @staticmethod
    def bwrap_path() -> str | None:
        return shutil.which("bwrap")

    @staticmethod
    def is_root() -> bool:
        return os.geteuid() == 0

    def check_available(self) -> None:
        """Raise :class:`SandboxUnavailable` unless the configured mode works here; ``auto``
        takes bubblewrap, else the container mode (:mod:`grader.grading.container`)."""
        if self.mode != "container":
            try:
                self._check_bwrap()
                self.active_mode = "bwrap"
                return
            except SandboxUnavailable as exc:
                if self.mode == "bwrap":
                    raise
                self.bwrap_problem = str(exc)
        from grader.grading import container

        try:
            container.check_available(self)
        except SandboxUnavailable as exc:
            raise SandboxUnavailable(f"{self.bwrap_problem} And the container mode cannot run "
                                     f"either: {exc}" if self.bwrap_problem else str(exc)) from None
        self.active_mode = "container"

    def _check_bwrap(self) -> None:
        """Raise :class:`SandboxUnavailable` unless a trivial bubblewrap sandbox, with the
        keyring filter, actually starts."""
        bwrap = self.bwrap_path()
        if bwrap is None:
            raise SandboxUnavailable(
                "bubblewrap (bwrap) is not installed, so student code cannot be isolated from "
                "the course folder, the gradebook and the network. Install it "
                "(`apt-get install bubblewrap`) or pass --unsafe-no-sandbox.")
        missing = [t for t in ("prlimit", "setpriv") if shutil.which(t) is None]
        if missing:
            raise SandboxUnavailable(f"{', '.join(missing)} (util-linux) not found; the sandbox "
                                     "needs it to set limits and drop privileges")
        fd = self.seccomp_fd()
        try:
            cmd = [bwrap, *self._namespace_args(), "--ro-bind", "/", "/", "--proc", "/proc",
                   "--dev", "/dev", "--seccomp", str(fd), "true"]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30, pass_fds=(fd,))
        finally:
            os.close(fd)
        if proc.returncode != 0:
            raise SandboxUnavailable(f"bwrap cannot create a sandbox here: {proc.stderr.strip()} "
                                     "(user or network namespaces not permitted?)")

    @staticmethod
    def seccomp_fd() -> int:
        """A fresh file descriptor from which bwrap reads the keyring filter (``--seccomp``);
        the caller passes it to the process (``pass_fds``) and closes it afterwards."""
        try:
            program = seccomp.keyring_filter()
        except seccomp.UnsupportedMachine as exc:
            raise SandboxUnavailable(str(exc)) from None
        read, write = os.pipe()
        try:
            os.write(write, program)
        finally:
            os.close(write)
        return read

    # -- the command --------------------------------------------------------------------
    def _namespace_args(self) -> list[str]:
        args = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                "--unshare-cgroup-try", "--die-with-parent", "--new-session"]
        if not self.is_root():
            args.insert(0, "--unshare-user")
        return args

    def slot_uid(self, slot: int) -> int:
        base = self.uid_base or (1_000_000 + (os.getpid() % 1_000_000) * 64)
        return base + slot

    def view(self) -> KernelView:
        """What the kernel may read, and what is hidden inside it (:func:`kernel_view`)."""
        return kernel_view(list(self.extra_ro_binds), list(self.pass_env))

    def readonly_binds(self) -> list[str]:
        return self.view().readonly

    def check_isolated(self, course_root: Path) -> None:
        """Refuse a layout where a read-only bind would expose the course folder (in the
        container mode: where a kernel's uid could read the course or the grader)."""
        if self.active_mode == "container":
            from grader.grading import container

            container.check_isolated(self, course_root)
            return
        course = os.path.realpath(course_root)
        for b in self.readonly_binds() + [p for p in SYSTEM if os.path.isdir(p)]:
            if course == b or course.startswith(b.rstrip("/") + "/"):
                raise SandboxUnavailable(
                    f"the course folder {course} lies inside {b}, which the sandbox must bind "
                    "read-only (the system, the Python installation or a data folder): move the course")

    def wall_limit_cpu(self, notebook_timeout: float) -> int:
        return self.cpu_seconds or max(60, int(2 * notebook_timeout))

    def quotas_mb(self) -> tuple[int, int]:
        """(/tmp, /dev/shm) sizes in MiB; they add up to ``disk_mb``."""
        shm = max(1, min(self.shm_mb, self.disk_mb // 4))
        return max(1, self.disk_mb - shm), shm

    def kernel_argv(self, *, kit_dir: Path, runtime_dir: str | Path, uid: int,
                    notebook_timeout: float, work_dir: Path | None = None,
                    connection_file: str | Path | None = None,
                    seccomp_fd: int | None = None) -> list[str]:
        """argv of a kernelspec: ``{connection_file}`` is left for jupyter_client to fill.

        ``runtime_dir`` is where the kernel binds its sockets: inside the sandbox, a folder
        of its /tmp (made here); ``connection_file`` (a host file) is bound read-only at
        its own path; ``seccomp_fd`` is :meth:`seccomp_fd`'s.  ``work_dir`` is used only
        without bwrap (unsafe mode): the kernel's cwd."""
        python = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                  "--HistoryManager.hist_file=:memory:"]
        limits = ["prlimit", f"--as={self.memory_mb * 2**20}", f"--nproc={self.nproc}",
                  f"--fsize={self.file_size_mb * 2**20}", f"--nofile={self.nofile}",
                  f"--cpu={self.wall_limit_cpu(notebook_timeout)}", "--core=0", "--"]
        if not self.enabled:
            return limits + python
        runtime_dir = str(runtime_dir)
        if not runtime_dir.startswith("/tmp/"):
            raise ValueError(f"the kernel's runtime folder must be inside its /tmp, not {runtime_dir}")
        view = self.view()
        tmp_mb, shm_mb = self.quotas_mb()
        cmd = [self.bwrap_path() or "bwrap", *self._namespace_args(),
               "--hostname", "sandbox", "--clearenv"]
        for k, v in self.kernel_env(KIT_MOUNT, home="/tmp").items():
            cmd += ["--setenv", k, v]
        cmd += ["--ro-bind", "/usr", "/usr"]
        for top in ("bin", "lib", "lib32", "lib64", "libx32", "sbin"):
            p = Path("/") / top
            if p.is_symlink():
                cmd += ["--symlink", os.readlink(p), str(p)]
            elif p.is_dir():
                cmd += ["--ro-bind", str(p), str(p)]
        cmd += ["--ro-bind", "/etc", "/etc", "--proc", "/proc", "--dev", "/dev",
                "--perms", "1777", "--size", str(shm_mb * 2**20), "--tmpfs", SHM_DIR,
                "--perms", "1777", "--size", str(tmp_mb * 2**20), "--tmpfs", "/tmp",
                "--perms", "1777", "--dir", WORK_DIR,
                "--perms", "1777", "--dir", runtime_dir]
        made: set[str] = {"/tmp"}
        extra = [str(connection_file)] if connection_file else []
        for b in view.readonly + extra + [KIT_MOUNT]:
            for parent in _ancestors(Path(b)):
                if str(parent) not in made and not str(parent).startswith("/usr"):
                    cmd += ["--perms", "0755", "--dir", str(parent)]
                    made.add(str(parent))
        for b in view.readonly:
            cmd += ["--ro-bind", b, b]
        for d in view.hidden_dirs:             # an installed grader: an empty folder instead
            cmd += ["--perms", "0555", "--size", str(4096), "--tmpfs", d, "--remount-ro", d]
        for f in view.hidden_files:            # its metadata, .pth files, finders: empty
            cmd += ["--ro-bind", "/dev/null", f]
        cmd += ["--ro-bind", str(kit_dir), KIT_MOUNT]
        if connection_file:
            cmd += ["--ro-bind", str(connection_file), str(connection_file)]
        # nothing else writable: the root tmpfs and /dev would belong to the kernel's user
        # without root, and hold any number of bytes
        cmd += ["--remount-ro", "/dev", "--remount-ro", "/"]
        if seccomp_fd is not None:
            cmd += ["--seccomp", str(seccomp_fd)]
        cmd += ["--chdir", WORK_DIR]
        # inside: limits (lowering them needs no privilege), then the unprivileged uid
        if self.is_root():
            cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--", *limits,
                    "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                    "--inh-caps=-all", "--no-new-privs", "--"]
        else:
            cmd += ["--", *limits]
        return cmd + python

    def kernel_env(self, kit_path: str, home: str) -> dict[str, str]:
        env = {
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": home, "TMPDIR": "/tmp", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
            "PYTHONPATH": kit_path, "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1",
            "MPLCONFIGDIR": f"{home}/.matplotlib", "IPYTHONDIR": f"{home}/.ipython",
            "JUPYTER_RUNTIME_DIR": f"{home}/.jupyter-runtime", "JUPYTER_PLATFORM_DIRS": "1",
            "NBGRADER_EXECUTION": "autograde", "MPLBACKEND": "Agg",
            # each thread's malloc arena reserves 64 MiB of address space, which the memory
            # limit (RLIMIT_AS) counts: the kernel's threads would eat a student's budget
            "MALLOC_ARENA_MAX": "2",
        }
        env.update({v: "1" for v in THREAD_VARS})
        for var in self.pass_env:
            if var in os.environ:
                env[var] = os.environ[var]
        return env


# --------------------------------------------------------------------------------------
# Starting a kernel in it
# --------------------------------------------------------------------------------------

class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose kernelspec is the sandbox command (``kernel_cmd`` is ignored by
    current jupyter_client, so the spec itself carries the bwrap argv)."""

    def __init__(self, *, sandbox_argv: list[str], uid: int | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._sandbox_argv = sandbox_argv
        self._uid = uid

    @property
    def kernel_spec(self) -> KernelSpec:
        if self._kernel_spec is None:
            self._kernel_spec = KernelSpec(argv=self._sandbox_argv, display_name="Python 3 (sandboxed)",
                                           language="python", interrupt_mode="message",
                                           env={}, metadata={})
        return self._kernel_spec

    def write_connection_file(self, **kwargs: Any) -> None:
        super().write_connection_file(**kwargs)
        if self._uid is not None and os.path.exists(self.connection_file):
            os.chown(self.connection_file, self._uid, self._uid)   # bound read-only, 0600

    def cleanup_ipc_files(self) -> None:
        """The sockets were in the sandbox's own /tmp, gone with it."""

    async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        """``now``: SIGKILL to bwrap (the sandbox dies with it, ``--die-with-parent``) and a
        blocking wait of a few milliseconds -- not jupyter_client's interrupt request to a
        kernel about to die and its 100 ms polling, a fifth of a second per notebook."""
        process = getattr(self.provisioner, "process", None) if self.provisioner else None
        if not (now and process is not None and self.owns_kernel):
            return await super().shutdown_kernel(now=now, restart=restart)
        self.shutting_down = True
        self.stop_restarter()
        process.kill()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        await self.provisioner.wait()          # jupyter_client's bookkeeping: returns at once
        await self._async_cleanup_resources(restart=restart)


class OutputTail:
    """The kernel's standard output and error: a pipe whose last ``keep`` bytes are kept in
    memory (for the message when a kernel does not start), never a file on the host disk."""

    def __init__(self, keep: int = 8192) -> None:
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        self._tail: collections.deque[bytes] = collections.deque()
        self._size, self._keep = 0, keep
        self._loop: asyncio.AbstractEventLoop | None = None

    def watch(self, loop: asyncio.AbstractEventLoop) -> None:
        os.close(self.write_fd)
        self.write_fd = -1
        self._loop = loop
        loop.add_reader(self.read_fd, self._drain)

    def _drain(self) -> None:
        try:
            while True:
                chunk = os.read(self.read_fd, 65536)
                if not chunk:
                    self._stop_watching()
                    return
                self._tail.append(chunk)
                self._size += len(chunk)
                while self._size - len(self._tail[0]) >= self._keep:
                    self._size -= len(self._tail.popleft())
        except BlockingIOError:
            return
        except OSError:
            self._stop_watching()

    def _stop_watching(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self.read_fd)
        self._loop = None

    def text(self) -> str:
        return b"".join(self._tail)[-self._keep:].decode("utf-8", "replace")

    def close(self) -> None:
        self._stop_watching()
        for fd in (self.read_fd, self.write_fd):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.read_fd = self.write_fd = -1


@dataclass
class LaunchedKernel:
    km: SandboxKernelManager
    log: OutputTail
    calls_for_kernel: str = ""   # the call channel's address inside the sandbox
    calls_for_grader: str = ""   # the same socket, from the grader's side


# ipykernel imports debugpy and pydevd when they are installed, to offer a debugger: a
# fifth of a sandboxed kernel's start-up, for a kernel nobody will ever debug.  This module,
# first on the kernel's path, makes that import fail (ipykernel then goes without).
NO_DEBUGGER = ('raise ImportError("no debugger in the grading sandbox")\n')


def prepare_kit(scratch: Path) -> Path:
    """The student kit, written fresh for a batch (readable by the sandbox uids), and the
    ``debugpy`` stand-in that keeps the debugger out of graded kernels."""
    kit = write_kit(scratch / "kit")
    (kit / "debugpy").mkdir()
    (kit / "debugpy" / "__init__.py").write_text(NO_DEBUGGER, encoding="utf-8")
    for path in [kit, *kit.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return kit


async def sandbox_pid(bwrap_pid: int, timeout: float = 20.0) -> int:
    """The pid (seen from here) of the sandbox's first process, bwrap's child: its
    ``/proc/<pid>/root`` is the sandbox's file system."""
    deadline = time.monotonic() + timeout
    children = Path(f"/proc/{bwrap_pid}/task/{bwrap_pid}/children")
    while True:
        try:
            found = children.read_text().split()
        except OSError:
            found = _children_by_scan(bwrap_pid)
        if found:
            return int(found[0])
        if time.monotonic() > deadline or not Path(f"/proc/{bwrap_pid}").exists():
            raise RuntimeError("the sandbox did not start (bwrap made no process)")
        await asyncio.sleep(0.005)


def _children_by_scan(pid: int) -> list[str]:
    found = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == str(pid):
            found.append(stat_file.parent.name)
    return found


async def launch_kernel(sandbox: Sandbox, *, scratch: Path, kit_dir: Path, slot: int,
                        number: int, notebook_timeout: float) -> LaunchedKernel:
    """Start one sandboxed kernel process; returns as soon as the process runs.

    Under bubblewrap the host keeps only the connection file (in ``scratch``, bound
    read-only); the kernel's sockets are in its own /tmp, reached through
    ``/proc/<pid>/root``.  The container mode has its own launcher."""
    if sandbox.enabled and sandbox.active_mode == "container":
        from grader.grading import container

        return await container.launch_kernel(sandbox, scratch=scratch, kit_dir=kit_dir,
                                             number=number, notebook_timeout=notebook_timeout)
    token = secrets.token_hex(6)
    host_dir = scratch / f"rt{number}-{token}"
    host_dir.mkdir(mode=0o711)
    uid = sandbox.slot_uid(slot) if (sandbox.enabled and Sandbox.is_root()) else None
    work = scratch / "work"
    work.mkdir(mode=0o700, exist_ok=True)
    inside = f"/tmp/.rnns-runtime-{token}"
    if not sandbox.enabled:
        inside = str(host_dir)
    connection_file = host_dir / "kernel.json"
    log = OutputTail()
    seccomp_fd = sandbox.seccomp_fd() if sandbox.enabled else None
    try:
        argv = sandbox.kernel_argv(kit_dir=kit_dir, runtime_dir=inside, uid=uid or 0,
                                   notebook_timeout=notebook_timeout, work_dir=work,
                                   connection_file=connection_file if sandbox.enabled else None,
                                   seccomp_fd=seccomp_fd)
        km = SandboxKernelManager(sandbox_argv=argv, uid=uid, kernel_name="python3", transport="ipc",
                                  ip=f"{inside}/k", connection_file=str(connection_file))
        env = sandbox.kernel_env(str(kit_dir), home=str(host_dir))
        cwd = str(host_dir) if sandbox.enabled else str(work)
        await km.start_kernel(env=env, cwd=cwd, stdout=log.write_fd, stderr=log.write_fd,
                              stdin=subprocess.DEVNULL,
                              pass_fds=(seccomp_fd,) if seccomp_fd is not None else ())
    except BaseException:
        log.close()
        raise
    finally:
        if seccomp_fd is not None:
            os.close(seccomp_fd)
    log.watch(asyncio.get_running_loop())
    launched = LaunchedKernel(km, log, f"ipc://{inside}/calls", f"ipc://{inside}/calls")
    if sandbox.enabled:
        try:
            pid = await sandbox_pid(km.provisioner.process.pid)
        except BaseException:
            await km.shutdown_kernel(now=True)
            log.close()
            raise
        outside = f"/proc/{pid}/root{inside}"
        km.ip = f"{outside}/k"
        launched.calls_for_grader = f"ipc://{outside}/calls"
    return launched
