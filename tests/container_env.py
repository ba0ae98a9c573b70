"""A container, as far as the tests need one (no Docker daemon here; we are root).

What a container has that this machine lacks, and how the tests make it:

* **a Python every uid can run.**  This machine's Pythons live under ``/root`` (mode 0700),
  where a kernel's uid cannot even start one; in a container image Python lives in ``/usr``.
  :func:`container_command` runs a command in a private mount namespace (``unshare
  --mount``) where ``/root`` is a tmpfs any uid may traverse (0711) into which every entry of
  the real ``/root`` is bound back as it was (``.pyenv``, the pip cache, a checkout...; each
  keeps its own permissions).  Nothing changes outside the namespace.
* **the grader installed as a container installs it**: :func:`install_autograder` runs the
  Gradescope zip's own ``setup.sh`` (a venv with the pinned grading requirements and a wheel
  of this repository, the grader package made unreadable to other uids).  The container-mode
  tests run that venv's ``python -m grader``, never this checkout's (which every uid can read).
* **no CAP_SYS_ADMIN**: Docker's default capabilities lack it, and without it bubblewrap cannot
  run as root; :func:`container_command` drops it (``setpriv --bounding-set``) after the
  mounts, so the grader sees what it would see in Docker.
* ``/autograder``: bound from a folder of the test's when asked (an empty mount point is
  created on this machine if missing).
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

_SCRIPT = r"""
set -e
stage=/tmp/.rnns-container-stage        # one empty folder on the host; a tmpfs in here
mkdir -p "$stage"
mount --make-rprivate /
mount -t tmpfs -o mode=0700 tmpfs "$stage"
mkdir "$stage/root"
mount --bind /root "$stage/root"
mount -t tmpfs -o mode=0711 tmpfs /root      # traversable; every entry bound back as it was
for entry in "$stage/root"/.[!.]* "$stage/root"/..?* "$stage/root"/*; do
    name=${entry##*/}
    if [ -L "$entry" ]; then cp -P "$entry" "/root/$name"
    elif [ -d "$entry" ]; then mkdir "/root/$name" && mount --bind "$entry" "/root/$name"
    elif [ -e "$entry" ]; then touch "/root/$name" && mount --bind "$entry" "/root/$name"
    fi
done
if [ -n "$RNNS_TEST_AUTOGRADER" ]; then mount --bind "$RNNS_TEST_AUTOGRADER" /autograder; fi
if [ -n "$RNNS_TEST_KEEP_SYS_ADMIN" ]; then exec "$@"; fi
exec setpriv --bounding-set=-sys_admin -- "$@"
"""


def available() -> str:
    """Why container tests cannot run here ('' when they can)."""
    if os.geteuid() != 0:
        return "the container-mode tests need root (a uid per kernel)"
    for tool in ("unshare", "setpriv", "mount"):
        if shutil.which(tool) is None:
            return f"{tool} (util-linux) is missing"
    return ""


def base_python() -> str:
    """The interpreter this test run's venv was made from (what setup.sh should use)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return str(Path(sys.base_prefix) / "bin" / version)


def container_command(argv: list[str], *, autograder: Path | None = None,
                      keep_sys_admin: bool = False) -> list[str]:
    """``argv`` wrapped to run as in a container (see the module's docstring)."""
    if autograder is not None and not Path("/autograder").exists():
        Path("/autograder").mkdir(mode=0o755)
    env = [f"RNNS_TEST_AUTOGRADER={autograder or ''}",
           f"RNNS_TEST_KEEP_SYS_ADMIN={'1' if keep_sys_admin else ''}"]
    return ["env", *env, "unshare", "--mount", "--", "bash", "-c", _SCRIPT, "container", *argv]


def run_in_container(argv: list[str], *, autograder: Path | None = None, env: dict | None = None,
                     timeout: float = 1800, keep_sys_admin: bool = False,
                     cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(container_command(argv, autograder=autograder,
                                            keep_sys_admin=keep_sys_admin),
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, cwd=cwd)


def install_autograder(folder: Path, assignment: str = "01_rnn_by_hand") -> dict:
    """Build the assignment's Gradescope zip from this checkout, lay ``folder`` out as
    Gradescope lays out ``/autograder`` (``source/`` = the zip, ``run_autograder`` copied to
    the top) and run ``setup.sh`` there, in the container namespace with ``folder`` at
    ``/autograder``.  The venv lands in ``folder/rnns-grader/venv``."""
    import time
    import zipfile

    from grader.grading.gradescope_zip import build

    folder.mkdir(parents=True)
    os.chmod(folder, 0o755)      # like /autograder: traversable (the venv lives inside)
    t0 = time.monotonic()
    info = build(assignment, folder.parent / "autograder.zip", course_root=ROOT)
    info["build_seconds"] = time.monotonic() - t0
    with zipfile.ZipFile(info["zip"]) as zf:
        zf.extractall(folder / "source")
    for name in ("setup.sh", "run_autograder"):
        os.chmod(folder / "source" / name, 0o755)
    shutil.copy2(folder / "source" / "run_autograder", folder / "run_autograder")
    t0 = time.monotonic()
    proc = run_in_container(["bash", "/autograder/source/setup.sh"], autograder=folder,
                            env={"RNNS_PYTHON": base_python(), "PATH": "/usr/bin:/bin"})
    info["setup_seconds"] = time.monotonic() - t0
    info["setup_log"] = proc.stdout[-4000:] + proc.stderr[-4000:]
    if proc.returncode != 0:
        pytest.fail(f"setup.sh failed ({proc.returncode}):\n{info['setup_log']}")
    info["root"] = str(folder)
    # the venv's path inside the namespace (where folder is /autograder); run it with -I and
    # outside this checkout, or `-m grader` imports the checkout's grader/
    info["python"] = "/autograder/rnns-grader/venv/bin/python"
    return info


def cached_install(folder: Path) -> dict:
    """:func:`install_autograder` into ``folder`` once, reused by later test runs (for a
    developer iterating on the container tests: ``RNNS_TEST_AUTOGRADER_CACHE=DIR``; the
    installed grader is the checkout's of that first run)."""
    import json

    record = folder / "install.json"
    if record.is_file():
        return json.loads(record.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    info = install_autograder(folder / "autograder")
    record.write_text(json.dumps(info))
    return info


def quote(argv: list[str]) -> str:
    return " ".join(shlex.quote(a) for a in argv)


def world_readable_tmp(prefix: str) -> Path:
    """A folder outside pytest's own (which is 0700): for what kernels' uids must reach."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(path, 0o755)
    return path
