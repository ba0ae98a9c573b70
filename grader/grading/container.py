"""The container sandbox: grading where bubblewrap cannot run (Docker, Kubernetes, Gradescope).

A container usually gives root but no namespaces (no user namespaces, no ``mount``), so the
bubblewrap mode of :mod:`grader.grading.sandbox` cannot start.  This mode isolates each
student's kernel with what a root process can still do to a child without namespaces:

* **a uid of its own, fresh for every kernel** (:class:`UidAllocator`: never reused by this
  grader process, and cleaned before use in case a crashed grader left something), no
  groups, no capabilities, ``no_new_privs``; the same limits as the bubblewrap mode
  (``RLIMIT_AS``, ``RLIMIT_NPROC`` -- per uid, so a fork bomb spends its own budget --,
  ``RLIMIT_FSIZE``, ``RLIMIT_NOFILE``, ``RLIMIT_CPU``, no core files), and the grader's
  output and wall-time limits, which live in the executor and do not depend on the mode;
* **files by permissions, checked**: at start-up a probe process runs as a fresh uid, with
  the kernel's Python, and must get ``EACCES`` on the course folder, the gradebook, the
  solutions, the course secret and the grader package's ``reference/`` and ``grading/``
  (and on :attr:`ContainerSandbox.protected_paths`); if it can read any of them, nothing is
  graded (:func:`check_isolated`).  Where the kernel offers Landlock, each kernel is also
  confined to reading the system, the Python installation, the student kit and data folders
  and to writing its own folder, with no TCP and no abstract Unix sockets or signals outside;
* **a seccomp filter** (x86-64): sockets other than ``AF_UNIX`` (no network), keyrings,
  System V IPC, POSIX message queues, io_uring, namespaces, bpf and perf events refused;
* **a bounded folder**: each kernel writes in ``<scratch>/k<uid>/`` (its home, working
  folder and ``TMPDIR``).  ``RLIMIT_FSIZE`` bounds each file; a watchdog thread
  (:class:`~grader.grading.container_uids.DiskWatch`) adds up, every
  :attr:`~ContainerSandbox.watch_interval` seconds, the blocks of every file the uid owns there
  (and, without Landlock, in the machine's world-writable folders) and sets the soft
  ``RLIMIT_FSIZE`` of the uid's processes to what is left of ``Sandbox.disk_mb``: no file grows
  past it, and once the quota is used every write that grows a file fails (``EFBIG``), as on
  a full disk; deleting files gives the room back; past twice the quota plus one file, or
  with more than :attr:`~ContainerSandbox.max_files` files, the uid's processes are killed;
* **nothing survives a kernel** (:func:`clean_uid`, before and after each kernel): every
  process of the uid killed (``kill(-1)`` as the uid), its user keyring cleared, its folder
  removed, every file it owns in the world-writable folders removed, its System V IPC
  objects removed.

The verdicts stay where they are in every mode: hidden tests in the grader's process, the
kernel answering calls with plain data over a Unix socket in its folder.

What this mode does not guarantee, unlike bubblewrap (:data:`NOT_GUARANTEED`, printed by
``autograde``): the kernel sees the machine's process list and its files that permissions
leave readable (the probe checks the grader's and the course's, nothing else); the disk quota
is enforced by polling, so a kernel can overshoot it by what it writes between two checks;
without Landlock, two kernels running at the same time can leave each other files in
world-writable folders (removed when each ends); without seccomp (not x86-64, or refused by
the container's own filter) it has the network.
"""
from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from traitlets import Bool, Float, Int, List, Unicode
from traitlets.config import LoggingConfigurable

from grader.grading.container_uids import LAUNCHER, UIDS, DiskWatch, clean_uid, world_writable
from grader.grading.sandbox import (LaunchedKernel, OutputTail, SandboxKernelManager,
                                    SandboxUnavailable,
                                    python_roots)

# where the kernel's files may be read under Landlock (besides the Python installation, the kit
# and data folders) and which devices it may open read-write
SYSTEM_READ = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/proc",
               "/sys/devices/system/cpu", "/sys/fs/cgroup", "/dev/urandom", "/dev/random",
               "/dev/zero")
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random", "/dev/full")
NOT_GUARANTEED = (
    "there is no PID namespace, so a kernel sees the machine's process list (command lines, "
    "not memory or environment) and two kernels running at the same time could pass each "
    "other information through it (a covert channel for collusion; nothing of a kernel "
    "outlives it); "
    "files are kept from kernels by permissions, checked at start-up for the course, the "
    "grader and the protected paths only{landlock}; the disk quota is checked every "
    "{interval:g} s (later on a loaded machine), so a kernel can overshoot it by what it "
    "writes between two checks (it is killed at twice the quota plus one file of "
    "{fsize} MiB){network}")


class ContainerSandbox(LoggingConfigurable):
    """Settings of the container mode (``c.ContainerSandbox.*``); the limits themselves are
    the ones of ``c.Sandbox``."""

    kernel_python = Unicode("", help="the interpreter of the students' kernels (empty: the "
                                     "grader's own); every uid must be able to run it and "
                                     "import ipykernel with it").tag(config=True)
    protected_paths = List(Unicode(), help="more paths that a kernel's uid must not be able to "
                                           "read (checked at start-up), e.g. /autograder/source"
                           ).tag(config=True)
    landlock = Bool(True, help="confine each kernel with Landlock where the Linux kernel offers "
                               "it").tag(config=True)
    seccomp = Bool(True, help="install the seccomp filter (x86-64)").tag(config=True)
    require_seccomp = Bool(False, help="refuse to grade where the seccomp filter cannot be "
                                       "installed").tag(config=True)
    watch_interval = Float(0.1, help="seconds between two disk checks of a kernel").tag(config=True)
    max_files = Int(20_000, help="files and folders a kernel may create").tag(config=True)
    uid_first = Int(1_600_000_000, help="lowest uid of the kernels (uids above it must be "
                                        "unused on this machine)").tag(config=True)


def container_settings(sandbox) -> ContainerSandbox:
    """The ``ContainerSandbox`` settings of the configuration ``sandbox`` was made with."""
    cached = getattr(sandbox, "_container_settings", None)
    if cached is None:
        cached = ContainerSandbox(parent=sandbox.parent) if sandbox.parent is not None \
            else ContainerSandbox(config=sandbox.config)
        sandbox._container_settings = cached
    return cached


# --------------------------------------------------------------------------------------
# Running the launcher
# --------------------------------------------------------------------------------------

def limits_of(sandbox, notebook_timeout: float) -> dict[str, int]:
    return {"as": sandbox.memory_mb * 2**20, "nproc": sandbox.nproc,
            "fsize": sandbox.file_size_mb * 2**20, "nofile": sandbox.nofile,
            "cpu": sandbox.wall_limit_cpu(notebook_timeout), "core": 0}


def kernel_python(sandbox) -> str:
    return container_settings(sandbox).kernel_python or sys.executable


def _python_roots(python: str) -> list[str]:
    """The prefixes of ``python`` (a venv and the installation it was made from)."""
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        return python_roots()
    out = subprocess.run([python, "-I", "-c", "import sys, json, os; print(json.dumps(sorted("
                          "{os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, "
                          "sys.exec_prefix, sys.base_exec_prefix)} | {sys.prefix, sys.base_prefix})))"],
                         capture_output=True, text=True, timeout=60)
    return json.loads(out.stdout) if out.returncode == 0 else []


def run_spec(sandbox, *, uid: int, folder: Path, kit_dir: Path | None,
             notebook_timeout: float, landlock: bool) -> dict:
    """What the launcher's ``run`` applies to a kernel (or a probe) of ``uid``."""
    settings = container_settings(sandbox)
    python = kernel_python(sandbox)
    read = list(SYSTEM_READ) + _python_roots(python) + sandbox.readonly_binds()
    read += [os.path.dirname(os.path.abspath(python))]
    if kit_dir is not None:
        read.append(str(kit_dir))
    return {"uid": uid, "gid": uid, "limits": limits_of(sandbox, notebook_timeout),
            "cwd": str(folder / "work"), "landlock": bool(landlock and settings.landlock),
            "read": sorted(set(read)), "write": [str(folder)], "devices": list(DEVICES),
            "seccomp": settings.seccomp, "require_seccomp": settings.require_seccomp}


# --------------------------------------------------------------------------------------
# The start-up probe
# --------------------------------------------------------------------------------------

PROBE = r'''
import json, os, socket, sys
spec = json.loads(sys.argv[1])
out = {"uid": os.getuid(), "readable": [], "errors": {}, "imports": {}, "writable": []}
for path in spec["protected"]:
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            with open(path, "rb") as f:
                f.read(1)
        out["readable"].append(path)
    except PermissionError:
        pass
    except OSError as exc:
        out["errors"][path] = exc.strerror
for name in ("ipykernel", "zmq", "numpy"):
    try:
        __import__(name)
        out["imports"][name] = "ok"
    except Exception as exc:
        out["imports"][name] = f"{type(exc).__name__}: {exc}"
try:
    socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
    out["network"] = "open"
except OSError as exc:
    out["network"] = exc.strerror
for path in spec["writable_candidates"]:
    if os.access(path, os.W_OK):
        out["writable"].append(path)
print(json.dumps(out))
'''


@dataclass
class ProbeReport:
    uid: int
    readable: list[str]
    errors: dict[str, str]
    imports: dict[str, str]
    network: str
    writable: list[str]
    landlock: int
    seccomp: bool
    seconds: float
    launch: dict = field(default_factory=dict)


def protected_paths(course_root: Path | None, extra: list[str]) -> list[str]:
    """What a kernel's uid must not read: the course (folder, gradebook, solutions, secret),
    the grader package's reference and grading code, and ``extra``."""
    import grader.grading
    import grader.reference

    paths: list[str] = []
    for package in (grader.reference, grader.grading):
        folder = Path(package.__path__[0])
        paths += [str(folder), str(folder / "__init__.py")]
        paths += [str(p) for p in sorted(folder.glob("*.py"))[:3]]
    if course_root is not None:
        course = Path(course_root)
        paths.append(str(course))
        for name in ("gradebook.db", ".grader_secret", "nbgrader_config.py", "solutions",
                     "submitted", "autograded"):
            if (course / name).exists():
                paths.append(str(course / name))
        for nb in sorted(course.glob("solutions/*/*.ipynb"))[:6]:
            paths.append(str(nb))
    paths += [p for p in extra if p]
    return paths


def probe(sandbox, course_root: Path | None = None) -> ProbeReport:
    """Run the probe as a fresh uid with the kernel's Python and limits, without Landlock
    (permissions alone must keep the grader's files), with the seccomp filter."""
    settings = container_settings(sandbox)
    t0 = time.monotonic()
    uid = UIDS.take(settings.uid_first)
    scratch = Path(os.environ.get("TMPDIR", "/tmp")) / f"rnns-probe-{secrets.token_hex(6)}"
    scratch.mkdir(mode=0o711)
    folder = scratch / "k"
    try:
        (folder / "work").mkdir(parents=True)
        for p in (folder, folder / "work"):
            os.chown(p, uid, uid)
            os.chmod(p, 0o700)
        spec = run_spec(sandbox, uid=uid, folder=folder, kit_dir=None, notebook_timeout=120,
                        landlock=False)
        spec_path = scratch / "spec.json"
        read_fd, write_fd = os.pipe()
        spec["report_fd"] = write_fd
        spec_path.write_text(json.dumps(spec))
        args = {"protected": protected_paths(course_root, settings.protected_paths),
                "writable_candidates": world_writable()}
        env = {"PATH": "/usr/bin:/bin", "HOME": str(folder), "LANG": "C.UTF-8",
               "PYTHONDONTWRITEBYTECODE": "1", "MALLOC_ARENA_MAX": "2"}
        try:
            proc = subprocess.run([sys.executable, "-I", "-S", LAUNCHER, "run", str(spec_path), "--",
                                   kernel_python(sandbox), "-c", PROBE, json.dumps(args)],
                                  capture_output=True, text=True, timeout=120, env=env,
                                  pass_fds=(write_fd,))
        finally:
            os.close(write_fd)
            with os.fdopen(read_fd) as f:
                launch = f.read()
        try:
            launched = json.loads(launch or "{}")
            found = json.loads(proc.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise SandboxUnavailable(
                f"the container mode's probe did not run as an unprivileged uid with "
                f"{kernel_python(sandbox)}: {(proc.stderr or proc.stdout).strip()[-600:]} (is "
                "the interpreter and its installation readable by every user?)") from None
        abi = _landlock_abi()
        return ProbeReport(uid, found["readable"], found["errors"], found["imports"],
                           found["network"], found["writable"],
                           abi if settings.landlock else 0, bool(launched.get("seccomp")),
                           time.monotonic() - t0, launched)
    finally:
        with contextlib.suppress(Exception):
            clean_uid(uid, folder)
        shutil.rmtree(scratch, ignore_errors=True)


def _landlock_abi() -> int:
    """The Landlock ABI this Linux kernel offers (0: none)."""
    libc = ctypes.CDLL(None, use_errno=True)
    result = libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(0, int(result))


# --------------------------------------------------------------------------------------
# The hooks of grader.grading.sandbox.Sandbox
# --------------------------------------------------------------------------------------

def check_available(sandbox) -> ProbeReport:
    """Raise ``SandboxUnavailable`` unless a kernel can run here in the container mode; the
    probe's report otherwise (kept on the sandbox for :func:`describe`)."""
    if sys.platform != "linux":
        raise SandboxUnavailable("the container mode needs Linux")
    if os.geteuid() != 0:
        raise SandboxUnavailable("the container mode needs root (it gives each kernel a uid of "
                                 "its own), and this grader runs as uid "
                                 f"{os.geteuid()}")
    report = probe(sandbox)
    _judge(report, sandbox)
    sandbox._container_report = report
    return report


def check_isolated(sandbox, course_root: Path) -> ProbeReport:
    """The probe again, with the course's own paths: refuse if a kernel could read any."""
    report = probe(sandbox, course_root)
    _judge(report, sandbox)
    sandbox._container_report = report
    return report


def _judge(report: ProbeReport, sandbox) -> None:
    missing = {k: v for k, v in report.imports.items() if v != "ok"}
    if missing:
        raise SandboxUnavailable(
            f"in the container mode the kernel's Python ({kernel_python(sandbox)}) cannot import "
            + "; ".join(f"{k} ({v})" for k, v in missing.items())
            + " as an unprivileged user: install it where every user can read it")
    if report.readable:
        shown = ", ".join(report.readable[:6]) + (" ..." if len(report.readable) > 6 else "")
        raise SandboxUnavailable(
            f"in the container mode a student's kernel (uid {report.uid}) could read {shown}: "
            "make them unreadable to other users (e.g. chmod o-rwx, or chmod 700 on the folder "
            "holding them; `pip install` puts the grader package in site-packages, readable by "
            "everyone: chmod -R go-rwx .../site-packages/grader) and try again")
    if container_settings(sandbox).require_seccomp and not report.seccomp:
        raise SandboxUnavailable("the seccomp filter cannot be installed here "
                                 "(ContainerSandbox.require_seccomp is set)")


def describe(sandbox) -> str:
    """One paragraph for the instructor: the container mode, and what it does not guarantee."""
    report = getattr(sandbox, "_container_report", None)
    landlock = report.landlock if report else 0
    seccomp = report.seccomp if report else False
    text = NOT_GUARANTEED.format(
        landlock=(f" (Landlock, ABI {landlock}, also confines reads to the system, Python, "
                  "the kit and data folders, and writes to the kernel's own folder)" if landlock
                  else "; Landlock is not available here, so a kernel can read whatever "
                       "permissions leave readable, and two kernels running at once can leave "
                       "each other files in world-writable folders until they end"),
        interval=container_settings(sandbox).watch_interval, fsize=sandbox.file_size_mb,
        network="" if seccomp else "; the seccomp filter is not available here, so kernels "
                                   "have the network, keyrings and System V IPC")
    return ("container mode: each kernel runs as a fresh unprivileged uid with the same "
            "limits (memory, processes, file size, open files, CPU), a seccomp filter"
            f"{'' if seccomp else ' (not available here)'}, and everything of its uid removed "
            f"after it. Not guaranteed in this mode: {text}.")


async def launch_kernel(sandbox, *, scratch: Path, kit_dir: Path, number: int,
                        notebook_timeout: float):
    """Start one kernel in the container mode; returns as soon as its process runs."""
    settings = container_settings(sandbox)
    uid = await asyncio.get_running_loop().run_in_executor(None, UIDS.take, settings.uid_first)
    folder = scratch / f"k{uid}"
    clean_uid(uid, folder)           # a crashed grader may have left something of this uid
    for sub in ("", "work", "tmp"):
        path = folder / sub if sub else folder
        path.mkdir(mode=0o700)
        os.chown(path, uid, uid)
    report = getattr(sandbox, "_container_report", None)
    landlock = bool(report and report.landlock)
    spec = run_spec(sandbox, uid=uid, folder=folder, kit_dir=kit_dir,
                    notebook_timeout=notebook_timeout, landlock=landlock)
    spec_path = scratch / f"k{uid}.json"
    spec_path.write_text(json.dumps(spec))
    os.chmod(spec_path, 0o600)
    python = kernel_python(sandbox)
    argv = [sys.executable, "-I", "-S", LAUNCHER, "run", str(spec_path), "--",
            python, "-m", "ipykernel_launcher", "-f", "{connection_file}",
            "--HistoryManager.hist_file=:memory:"]
    env = sandbox.kernel_env(str(kit_dir), home=str(folder))
    env["TMPDIR"] = str(folder / "tmp")
    env["PATH"] = f"{os.path.dirname(python)}:/usr/local/bin:/usr/bin:/bin"
    shared = [] if landlock else (report.writable if report else world_writable())
    watch = DiskWatch(uid, folder, sandbox.disk_mb * 2**20, sandbox.file_size_mb * 2**20,
                      settings.watch_interval, settings.max_files, shared)
    km = ContainerKernelManager(sandbox_argv=argv, uid=uid, folder=folder, watch=watch,
                                kernel_name="python3", transport="ipc", ip=str(folder / "k"),
                                connection_file=str(folder / "kernel.json"))
    # its output in memory, as under bubblewrap: nothing a kernel prints lands on the disk
    log = OutputTail()
    try:
        await km.start_kernel(env=env, cwd=str(folder), stdout=log.write_fd, stderr=log.write_fd,
                              stdin=subprocess.DEVNULL)
    except BaseException:
        log.close()
        km.release()
        raise
    log.watch(asyncio.get_running_loop())
    watch.start()
    calls = f"ipc://{folder / 'calls'}"   # one file system: the same address on both sides
    return LaunchedKernel(km, log, calls, calls)


class ContainerKernelManager(SandboxKernelManager):
    """A sandboxed kernel manager that cleans up after its uid when the kernel stops."""

    def __init__(self, *, folder: Path, watch: DiskWatch, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._folder, self._watch = folder, watch
        self._released = False

    async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        try:
            await super().shutdown_kernel(now=True, restart=False)
        finally:
            self.release()

    async def restart_kernel(self, now: bool = False, newports: bool = False, **kw: Any) -> None:
        raise RuntimeError("a container-mode kernel is never restarted with the same uid: "
                           "stop it and start a new one")

    def release(self) -> dict:
        """Stop the watchdog and remove everything of the kernel's uid (once)."""
        if self._released:
            return {}
        self._released = True
        self._watch.stop()
        return clean_uid(self._uid, self._folder)

    @property
    def disk_incident(self) -> str:
        return self._watch.killed
