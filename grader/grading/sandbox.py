"""The sandbox a submission's kernel runs in: bubblewrap, resource limits, the student kit.

:class:`Sandbox` builds the command that starts one student kernel::

    bwrap --unshare-{ipc,pid,net,uts,cgroup} --die-with-parent       no network, own PIDs
          --new-session --clearenv --setenv ...                      a known environment
          --ro-bind /usr /etc <python> <venv>                        system read-only
          --ro-bind <student kit> /opt/rnns-kit                      grader.checks, gradcheck
          --tmpfs /tmp (sized, 1777)  (cwd /tmp/work)                the only writable place
          --bind <runtime dir> <same path>                           connection file + IPC sockets
      prlimit --as --nproc --fsize --nofile --cpu --core=0 --        resource limits
        setpriv --reuid=U --regid=U --clear-groups --no-new-privs   (as root) an unprivileged uid
          python -m ipykernel_launcher -f <conn>

What the kernel can see: the operating system and the Python installation read-only, and the
student kit (:mod:`grader.kit`) -- the package a student installs, nothing more.  The course
folder (solutions, the gradebook, other students), the grader's own ``grader`` package (the
reference implementations, the hidden tests' code) and the instructor's home do not exist
inside.  The hidden tests run in the grader's process (:mod:`grader.grading.verdicts`); the
kernel only answers calls with data.

The only writable place is one ``tmpfs`` at ``/tmp`` whose size is a hard quota shared by the
working folder (``/tmp/work``, the kernel's cwd) and temporary files.  The kernel's network
namespace is its own and empty, so it talks to the grader over ZeroMQ's ``ipc`` transport
(Unix sockets in the runtime folder, bound at the same path inside and out).  Timeouts
interrupt it with an ``interrupt_request`` message (a signal would reach ``bwrap``).

Processes are limited with ``RLIMIT_NPROC``.  The kernel does not count a root-owned process
against it, and ``bwrap`` as root maps root to root in a user namespace; so, as root, the
sandbox creates no user namespace and ``setpriv`` drops the kernel to a uid that belongs to
this sandbox alone (one per job slot and grader process): a fork bomb exhausts its own budget.
Not as root, ``bwrap`` runs unprivileged with a user namespace and the invoking uid: then the
budget is shared by the batch's kernels (documented limitation).  Memory is ``RLIMIT_AS``,
files ``RLIMIT_FSIZE`` and the tmpfs size, CPU ``RLIMIT_CPU`` (a backstop: the grader enforces
wall time per cell and per notebook itself).

Where bubblewrap cannot run (a container without user namespaces), ``Sandbox.mode`` ``auto``
hands every kernel to :mod:`grader.grading.container` instead, with the same limits.
"""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpec
from traitlets import Bool, Enum, Int, List, Unicode
from traitlets.config import LoggingConfigurable

from grader.kit import write_kit

KIT_MOUNT = "/opt/rnns-kit"
WORK_DIR = "/tmp/work"
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create the namespaces; the message says why."""


def _ancestors(path: Path) -> list[Path]:
    return [p for p in reversed(path.parents) if str(p) != "/"]


def python_roots() -> list[str]:
    """Folders the kernel's interpreter and packages live in (bound read-only).

    The ``grader`` package itself is *not* among them: the kernel imports the kit instead."""
    roots = set()
    for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
        roots.add(os.path.abspath(p))
        roots.add(os.path.realpath(p))
    ordered = sorted(roots, key=len)
    out: list[str] = []
    for r in ordered:
        if not any(r == o or r.startswith(o + "/") for o in out):
            out.append(r)
    return out


class Sandbox(LoggingConfigurable):
    """Limits and the bwrap command for one kernel; configurable from nbgrader_config.py
    (``c.Sandbox.memory_mb = 1024`` ...)."""

    memory_mb = Int(2048, help="address-space limit of the kernel (RLIMIT_AS), MiB").tag(config=True)
    nproc = Int(64, help="processes and threads the kernel's uid may have (RLIMIT_NPROC)").tag(config=True)
    file_size_mb = Int(64, help="largest file the kernel may write (RLIMIT_FSIZE), MiB").tag(config=True)
    disk_mb = Int(256, help="hard quota of everything the kernel writes: its working folder "
                            "and /tmp share one tmpfs of this size, MiB").tag(config=True)
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
        """Raise :class:`SandboxUnavailable` unless a trivial bubblewrap sandbox starts."""
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
        cmd = [bwrap, *self._namespace_args(), "--ro-bind", "/", "/", "--proc", "/proc",
               "--dev", "/dev", "true"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        if proc.returncode != 0:
            raise SandboxUnavailable(f"bwrap cannot create a sandbox here: {proc.stderr.strip()} "
                                     "(user or network namespaces not permitted?)")

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

    def readonly_binds(self) -> list[str]:
        binds = python_roots() + [p for p in self.extra_ro_binds if p]
        for var in self.pass_env:
            value = os.environ.get(var)
            if value and os.path.isdir(value):
                binds.append(os.path.realpath(value))
        return binds

    def check_isolated(self, course_root: Path) -> None:
        """Refuse a layout where a read-only bind would expose the course folder (in the
        container mode: where a kernel's uid could read the course or the grader)."""
        if self.active_mode == "container":
            from grader.grading import container

            container.check_isolated(self, course_root)
            return
        course = os.path.realpath(course_root)
        for b in self.readonly_binds():
            if course == b or course.startswith(b.rstrip("/") + "/"):
                raise SandboxUnavailable(
                    f"the course folder {course} lies inside {b}, which the sandbox must bind "
                    "read-only (the Python installation or a data folder): move the course")

    def wall_limit_cpu(self, notebook_timeout: float) -> int:
        return self.cpu_seconds or max(60, int(2 * notebook_timeout))

    def kernel_argv(self, *, kit_dir: Path, runtime_dir: Path, uid: int,
                    notebook_timeout: float, work_dir: Path | None = None) -> list[str]:
        """argv of a kernelspec: ``{connection_file}`` is left for jupyter_client to fill.

        ``work_dir`` is used only without bwrap (unsafe mode): the kernel's cwd."""
        python = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                  "--HistoryManager.hist_file=:memory:"]
        limits = ["prlimit", f"--as={self.memory_mb * 2**20}", f"--nproc={self.nproc}",
                  f"--fsize={self.file_size_mb * 2**20}", f"--nofile={self.nofile}",
                  f"--cpu={self.wall_limit_cpu(notebook_timeout)}", "--core=0", "--"]
        if not self.enabled:
            return limits + python
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
                "--perms", "1777", "--size", str(self.disk_mb * 2**20), "--tmpfs", "/tmp",
                "--perms", "1777", "--dir", WORK_DIR]
        made: set[str] = {"/tmp"}
        binds = self.readonly_binds()
        for b in binds + [str(runtime_dir), KIT_MOUNT]:
            for parent in _ancestors(Path(b)):
                if str(parent) not in made and not str(parent).startswith("/usr"):
                    cmd += ["--perms", "0755", "--dir", str(parent)]
                    made.add(str(parent))
        for b in binds:
            cmd += ["--ro-bind", b, b]
        cmd += ["--ro-bind", str(kit_dir), KIT_MOUNT,
                "--bind", str(runtime_dir), str(runtime_dir), "--chdir", WORK_DIR]
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
            os.chown(self.connection_file, self._uid, self._uid)


@dataclass
class LaunchedKernel:
    km: SandboxKernelManager
    log: Any


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


async def launch_kernel(sandbox: Sandbox, *, scratch: Path, kit_dir: Path, slot: int,
                        number: int, notebook_timeout: float) -> LaunchedKernel:
    """Start one sandboxed kernel process; returns as soon as the process runs."""
    if sandbox.enabled and sandbox.active_mode == "container":
        from grader.grading import container

        return await container.launch_kernel(sandbox, scratch=scratch, kit_dir=kit_dir,
                                             number=number, notebook_timeout=notebook_timeout)
    runtime = scratch / f"rt{number}-{secrets.token_hex(4)}"
    runtime.mkdir(mode=0o700)
    uid = sandbox.slot_uid(slot) if (sandbox.enabled and Sandbox.is_root()) else None
    if uid is not None:
        os.chown(runtime, uid, uid)
    work = scratch / "work"
    work.mkdir(mode=0o700, exist_ok=True)
    argv = sandbox.kernel_argv(kit_dir=kit_dir, runtime_dir=runtime, uid=uid or 0,
                               notebook_timeout=notebook_timeout, work_dir=work)
    km = SandboxKernelManager(sandbox_argv=argv, uid=uid, kernel_name="python3",
                              transport="ipc", ip=str(runtime / "k"),
                              connection_file=str(runtime / "kernel.json"))
    env = sandbox.kernel_env(str(kit_dir), home=str(runtime))
    log = open(scratch / f"kernel{number}.log", "wb")
    cwd = str(runtime) if sandbox.enabled else str(work)
    try:
        await km.start_kernel(env=env, cwd=cwd, stdout=log, stderr=log)
    except BaseException:
        log.close()
        raise
    return LaunchedKernel(km, log)
