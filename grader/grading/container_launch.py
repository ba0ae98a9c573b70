"""The container sandbox's launcher: runs as root, leaves as an unprivileged uid, then execs.

Run by the grader's own interpreter as ``python -I -S container_launch.py COMMAND SPEC [-- ARGV]``
(standard library only, nothing imported from ``grader``: it must start fast and must not
depend on the grader package being importable).  ``SPEC`` is JSON, or the path of a JSON
file.  Commands:

``run``    start a student's kernel (or the start-up probe): a session of its own, stdin from
           /dev/null, the resource limits, ``oom_score_adj`` 1000 (the kernel, never the
           grader, is the first victim of an out-of-memory kill), then ``setgroups([])`` and
           ``setresgid``/``setresuid`` to the kernel's uid (checked: getting root back must
           fail), a new session keyring of that uid (root's is no longer possessed), death
           with the grader (``PR_SET_PDEATHSIG``), ``no_new_privs``, a Landlock ruleset when
           the kernel offers Landlock (reads only where ``SPEC["read"]`` says, writes only in
           ``SPEC["write"]``, no TCP, no abstract Unix sockets or signals outside), a seccomp
           filter (x86-64: sockets other than ``AF_UNIX`` and ``AF_NETLINK``, keyrings, System V IPC, POSIX
           message queues, io_uring, namespaces, bpf and perf events refused), umask 077, and
           ``execve(ARGV)``.  What was applied is appended to ``SPEC["report"]`` when given.
``kill``   as the uid: ``kill(-1, SIGKILL)`` until no process of the uid is left (Linux's
           ``kill(-1)`` reaches every process the caller may signal: exactly the uid's), and
           clear the uid's user keyring.
``fsize``  as the uid: set the soft ``RLIMIT_FSIZE`` of every process of the uid (the disk
           watchdog's brake: 0 makes every write that grows a file fail, as a full disk would).
"""
from __future__ import annotations

import ctypes
import errno
import json
import os
import resource
import signal
import struct
import sys

LIMITS = {"as": resource.RLIMIT_AS, "nproc": resource.RLIMIT_NPROC, "fsize": resource.RLIMIT_FSIZE,
          "nofile": resource.RLIMIT_NOFILE, "cpu": resource.RLIMIT_CPU, "core": resource.RLIMIT_CORE}

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]

PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP = 1, 38, 22
SECCOMP_MODE_FILTER = 2
SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}
KEYCTL_GET_KEYRING_ID, KEYCTL_JOIN_SESSION_KEYRING, KEYCTL_CLEAR = 0, 1, 7
KEY_SPEC_USER_KEYRING = -4
SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_ADD_RULE, SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1

MACHINE = os.uname().machine


def _fail(message: str) -> None:
    sys.stderr.write(f"container_launch: {message}\n")
    sys.stderr.flush()
    os._exit(121)


def _syscall(number: int, *args) -> int:
    result = _libc.syscall(number, *args)
    if result < 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return result


def drop_to(uid: int, gid: int) -> None:
    """Become ``uid``/``gid`` for good (real, effective and saved ids), no groups."""
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid) or os.getgroups():
        _fail("the uid/gid change did not take")
    try:
        os.setuid(0)
    except PermissionError:
        return
    _fail("root could be regained after dropping privileges")


# -- Landlock (Linux 5.13+): which files the kernel may read and write ---------------------

_FS_READ = (1 << 0) | (1 << 2) | (1 << 3)              # execute, read file, read dir
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1,
              5: (1 << 16) - 1}
_DEVICE_RW = (1 << 1) | (1 << 2) | (1 << 15)            # write file, read file, ioctl (ABI 5)


def landlock_abi() -> int:
    try:
        return _syscall(SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0),
                        ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION))
    except OSError:
        return 0


def apply_landlock(read: list[str], write: list[str], devices: list[str]) -> int:
    """Restrict this process and its children; returns the ABI used (0: not available)."""
    abi = landlock_abi()
    if abi <= 0:
        return 0
    handled_fs = _FS_BY_ABI.get(abi, _FS_BY_ABI[5])
    handled_net = 3 if abi >= 4 else 0                  # bind and connect TCP: no rule, none
    scoped = 3 if abi >= 6 else 0                       # abstract Unix sockets, signals
    size = 24 if abi >= 6 else 16
    attr = struct.pack("<QQQ", handled_fs, handled_net, scoped)[:size]
    fd = _syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.c_char_p(attr), ctypes.c_size_t(size),
                  ctypes.c_uint32(0))
    try:
        for paths, access in ((read, _FS_READ), (write, handled_fs),
                              (devices, _DEVICE_RW & handled_fs)):
            for path in paths:
                try:
                    pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue                            # not on this machine: nothing to allow
                try:
                    allowed = access
                    if not os.path.isdir(path):         # files take only file rights
                        allowed &= (1 << 0) | (1 << 1) | (1 << 2) | (1 << 14) | (1 << 15)
                    rule = struct.pack("<Qi", allowed, pfd)
                    _syscall(SYS_LANDLOCK_ADD_RULE, ctypes.c_int(fd),
                             ctypes.c_int(LANDLOCK_RULE_PATH_BENEATH), ctypes.c_char_p(rule),
                             ctypes.c_uint32(0))
                finally:
                    os.close(pfd)
        _syscall(SYS_LANDLOCK_RESTRICT_SELF, ctypes.c_int(fd), ctypes.c_uint32(0))
    finally:
        os.close(fd)
    return abi


# -- seccomp: system calls the kernel never needs -----------------------------------------

AUDIT_ARCH_X86_64 = 0xC000003E
# x86-64 numbers: socket is checked by family; these are refused with EPERM
X86_64_DENIED = {
    "add_key": 248, "request_key": 249, "keyctl": 250,                       # keyrings
    "shmget": 29, "shmat": 30, "shmctl": 31, "shmdt": 67, "semget": 64, "semop": 65,
    "semctl": 66, "semtimedop": 220, "msgget": 68, "msgsnd": 69, "msgrcv": 70,
    "msgctl": 71,                                                            # System V IPC
    "mq_open": 240, "mq_unlink": 241,                                        # POSIX queues
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,  # sockets by ring
    "unshare": 272, "setns": 308,                                            # namespaces
    "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
}
X86_64_SOCKET, X86_64_CLONE, X86_64_CLONE3 = 41, 56, 435
AF_UNIX, AF_NETLINK = 1, 16     # netlink: ZeroMQ's getifaddrs (route queries need no privilege)
CLONE_NEW_FLAGS = 0x7E020080        # CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWTIME


def seccomp_program() -> bytes | None:
    """The classic-BPF filter for this machine, or None where there is none (not x86-64)."""
    if MACHINE != "x86_64":
        return None
    ld_abs, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, kill = 0x7FFF0000, 0x80000000

    def errno_ret(code: int) -> tuple:
        return (ret, 0, 0, 0x00050000 | code)

    prog = [(ld_abs, 0, 0, 4), (jeq, 1, 0, AUDIT_ARCH_X86_64), (ret, 0, 0, kill),
            (ld_abs, 0, 0, 0),
            (jge, 0, 1, 0x40000000), errno_ret(errno.ENOSYS),          # the x32 ABI
            (jeq, 0, 1, X86_64_CLONE3), errno_ret(errno.ENOSYS)]       # glibc falls back to clone
    for number in sorted(X86_64_DENIED.values()):
        prog += [(jeq, 0, 1, number), errno_ret(errno.EPERM)]
    prog += [(jeq, 0, 4, X86_64_CLONE),                                  # clone: its flags
             (ld_abs, 0, 0, 16), (jset, 0, 1, CLONE_NEW_FLAGS), errno_ret(errno.EPERM),
             (ret, 0, 0, allow),
             (jeq, 1, 0, X86_64_SOCKET), (ret, 0, 0, allow),                # socket: its family
             (ld_abs, 0, 0, 16), (jeq, 1, 0, AF_UNIX), (jeq, 0, 1, AF_NETLINK),
             (ret, 0, 0, allow), errno_ret(errno.EACCES)]
    return b"".join(struct.pack("<HBBI", *insn) for insn in prog)


def apply_seccomp() -> bool:
    program = seccomp_program()
    if program is None:
        return False
    count = len(program) // 8
    buf = ctypes.create_string_buffer(program)
    fprog = struct.pack("<HxxxxxxQ", count, ctypes.addressof(buf))
    fbuf = ctypes.create_string_buffer(fprog)
    if _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fbuf), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return True


# -- the commands --------------------------------------------------------------------------

def run(spec: dict, argv: list[str]) -> None:
    report: dict = {}
    try:
        os.setsid()
    except OSError:
        pass
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
    except OSError:
        pass
    for name, value in spec.get("limits", {}).items():
        resource.setrlimit(LIMITS[name], (int(value), int(value)))
    parent = os.getppid()
    drop_to(int(spec["uid"]), int(spec["gid"]))
    keyctl = SYS_KEYCTL.get(MACHINE)
    if keyctl is not None:
        try:
            _syscall(keyctl, ctypes.c_long(KEYCTL_JOIN_SESSION_KEYRING), None)
            report["session_keyring"] = "new"
        except OSError as exc:
            report["session_keyring"] = f"unchanged ({exc.strerror})"
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        _fail("the grader exited while the kernel started")
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        _fail("no_new_privs could not be set")
    report["landlock"] = 0
    if spec.get("landlock"):
        try:
            report["landlock"] = apply_landlock(spec.get("read", []), spec.get("write", []),
                                                spec.get("devices", []))
        except OSError as exc:
            report["landlock_error"] = exc.strerror
    report["seccomp"] = False
    if spec.get("seccomp"):
        try:
            report["seccomp"] = apply_seccomp()
        except OSError as exc:
            report["seccomp_error"] = exc.strerror
    if spec.get("require_seccomp") and not report["seccomp"]:
        _fail(f"the seccomp filter could not be installed: {report.get('seccomp_error', MACHINE)}")
    os.umask(0o077)
    os.chdir(spec.get("cwd", "/"))
    if spec.get("report_fd") is not None:
        os.write(int(spec["report_fd"]), (json.dumps(report) + "\n").encode())
        os.close(int(spec["report_fd"]))
    try:
        os.execv(argv[0], argv)
    except OSError as exc:   # say what could not run, and under which confinement
        _fail(f"cannot run {argv[0]} as uid {spec['uid']}: {exc.strerror} "
              f"(landlock {report['landlock']}, seccomp {report['seccomp']})")


def kill_all(spec: dict) -> None:
    drop_to(int(spec["uid"]), int(spec["gid"]))
    for _ in range(1000):
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            break
    keyctl = SYS_KEYCTL.get(MACHINE)
    if keyctl is not None:
        try:
            ring = _syscall(keyctl, ctypes.c_long(KEYCTL_GET_KEYRING_ID),
                            ctypes.c_long(KEY_SPEC_USER_KEYRING), ctypes.c_long(0))
            _syscall(keyctl, ctypes.c_long(KEYCTL_CLEAR), ctypes.c_long(ring))
        except OSError:
            pass


def set_fsize(spec: dict) -> None:
    uid = int(spec["uid"])
    drop_to(uid, int(spec["gid"]))
    soft = int(spec["soft"])
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            _, hard = resource.prlimit(int(entry), resource.RLIMIT_FSIZE)
            resource.prlimit(int(entry), resource.RLIMIT_FSIZE, (min(soft, hard), hard))
        except (OSError, ValueError):
            continue        # another uid's process (refused), or gone


def main(args: list[str]) -> None:
    if len(args) < 2:
        _fail("usage: container_launch.py run|kill|fsize SPEC [-- ARGV]")
    command = args[0]
    if args[1].lstrip().startswith("{"):
        spec = json.loads(args[1])
    else:                                   # a file only root can read (kernels: the spec)
        with open(args[1], encoding="utf-8") as f:
            spec = json.load(f)
    if command == "run":
        if len(args) < 4 or args[2] != "--":
            _fail("run needs -- ARGV")
        run(spec, args[3:])
    elif command == "kill":
        kill_all(spec)
    elif command == "fsize":
        set_fsize(spec)
    else:
        _fail(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
