"""A seccomp filter for the sandbox: the kernel keyring syscalls are refused.

Linux keyrings are not namespaced like the rest of what a kernel could use to talk to
another: System V IPC and POSIX message queues belong to the IPC namespace, abstract
sockets to the network namespace, files to the sandbox's own tmpfs, processes to its PID
namespace.  A key, though, lives in the kernel's key tables, owned by a uid: a key added by
one student's kernel (``add_key(..., KEY_SPEC_USER_KEYRING)``, permissions opened with
``keyctl setperm``) stays after that kernel ends and can be found (``/proc/keys``) and read
by any later or concurrent kernel that the permissions allow -- a channel for collusion that
no notebook shows.  As Docker's default profile does, the sandbox refuses ``add_key``,
``request_key`` and ``keyctl`` with ``EPERM`` (no student exercise needs a keyring).

:func:`keyring_filter` is the classic BPF program bwrap loads with ``--seccomp FD`` (an
array of ``struct sock_filter``), built here without libseccomp: for the machine's own
architecture and, on x86-64, for the 32-bit (``int 0x80``) and x32 entry points too, which
have syscall numbers of their own.
"""
from __future__ import annotations

import errno
import platform
import struct

# struct seccomp_data: int nr; __u32 arch; ...
_NR, _ARCH = 0, 4
_LD_W_ABS, _JEQ_K, _AND_K, _RET_K = 0x20, 0x15, 0x54, 0x06
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000
X32_BIT = 0x40000000

# audit architecture -> the keyring syscalls' numbers (add_key, request_key, keyctl)
AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64 = 0xC000003E, 0x40000003, 0xC00000B7
KEYRING_SYSCALLS = {
    AUDIT_ARCH_X86_64: (248, 249, 250),   # x32 uses the same numbers with X32_BIT set
    AUDIT_ARCH_I386: (286, 287, 288),
    AUDIT_ARCH_AARCH64: (217, 218, 219),
}
MACHINES = {"x86_64": (AUDIT_ARCH_X86_64, AUDIT_ARCH_I386), "amd64": (AUDIT_ARCH_X86_64, AUDIT_ARCH_I386),
            "aarch64": (AUDIT_ARCH_AARCH64,), "arm64": (AUDIT_ARCH_AARCH64,)}


class UnsupportedMachine(RuntimeError):
    """No keyring filter is known for this processor architecture."""


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def keyring_filter(machine: str | None = None) -> bytes:
    """The BPF program (bytes, native byte order) that refuses the keyring syscalls."""
    machine = (machine or platform.machine()).lower()
    if machine not in MACHINES:
        raise UnsupportedMachine(
            f"the sandbox refuses the kernel keyring with a seccomp filter, known for "
            f"{', '.join(sorted(MACHINES))} only, not {machine}")
    deny = _insn(_RET_K, 0, 0, RET_ERRNO | errno.EPERM)
    allow = _insn(_RET_K, 0, 0, RET_ALLOW)
    blocks = []
    for arch in MACHINES[machine]:
        numbers = KEYRING_SYSCALLS[arch]
        body = [_insn(_LD_W_ABS, 0, 0, _NR)]
        if arch == AUDIT_ARCH_X86_64:
            body.append(_insn(_AND_K, 0, 0, 0xFFFFFFFF & ~X32_BIT))   # x32: same numbers
        for i, number in enumerate(numbers):
            # jump to `deny` (after the remaining checks and `allow`), else fall through
            body.append(_insn(_JEQ_K, len(numbers) - i, 0, number))
        body += [allow, deny]
        blocks.append((arch, body))
    program = [_insn(_LD_W_ABS, 0, 0, _ARCH)]
    for arch, body in blocks:
        # not this architecture: skip over this block (to the next one, or the final allow)
        program.append(_insn(_JEQ_K, 0, len(body), arch))
        program += body
    program.append(allow)      # another architecture: nothing of ours to refuse there
    return b"".join(program)
