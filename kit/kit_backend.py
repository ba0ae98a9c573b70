"""A PEP 517 build backend for the student kit, written with the standard library alone.

pip runs it from this folder (``backend-path`` in ``pyproject.toml``), so building the kit
downloads nothing and needs no setuptools.  It writes a pure-Python wheel (and an sdist)
of the ``grader`` package reduced to the kit.  Where the files come from:

* in the repository, this folder is ``kit/`` and has no ``grader/`` of its own: the files
  are those that ``../grader/kit.py`` lists (``kit_files``, the one allow-list), read from
  the repository;
* in an sdist or the student bundle, a ``grader/`` folder lies beside this file, already
  reduced to the kit when it was made: it is taken whole.

Name, summary, Python versions and dependencies come from ``pyproject.toml``'s
``[project]`` table, the version from ``grader/__init__.py``.  The archives are
deterministic: sorted entries and fixed timestamps.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.util
import io
import re
import tarfile
import zipfile
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python < 3.11: say so before pip reports anything more obscure
    raise RuntimeError("the RNNs from Scratch kit needs Python 3.11 or newer") from None

HERE = Path(__file__).resolve().parent
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
SKIPPED = {"__pycache__", ".DS_Store"}


def kit_sources() -> dict[str, bytes]:
    """Archive path (``grader/...``) -> bytes of every file of the kit, sorted."""
    if (HERE / "grader").is_dir():  # an sdist or the student bundle
        files = {p.relative_to(HERE).as_posix(): p.read_bytes()
                 for p in (HERE / "grader").rglob("*")
                 if p.is_file() and not SKIPPED.intersection(p.parts) and p.suffix != ".pyc"}
        return dict(sorted(files.items()))
    root = HERE.parent
    spec = importlib.util.spec_from_file_location("_rnns_kit_list", root / "grader" / "kit.py")
    if spec is None or not (root / "grader" / "kit.py").is_file():
        raise RuntimeError(f"{HERE}: neither a grader/ folder here nor ../grader/kit.py")
    kit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(kit)
    return kit.kit_files(root)


def project() -> dict:
    """``[project]`` of pyproject.toml, with the version filled in."""
    table = tomllib.loads((HERE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    init = kit_sources()["grader/__init__.py"].decode("utf-8")
    match = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', init, re.MULTILINE)
    if not match:
        raise RuntimeError("grader/__init__.py has no __version__")
    return {**table, "version": match.group(1)}


def _dist_name(meta: dict) -> str:
    return re.sub(r"[-_.]+", "_", meta["name"]).lower()


def metadata_text(meta: dict) -> str:
    """Core metadata (METADATA in a wheel, PKG-INFO in an sdist)."""
    lines = ["Metadata-Version: 2.1", f"Name: {meta['name']}", f"Version: {meta['version']}"]
    if meta.get("description"):
        lines.append(f"Summary: {meta['description']}")
    if meta.get("requires-python"):
        lines.append(f"Requires-Python: {meta['requires-python']}")
    lines += [f"Requires-Dist: {dep}" for dep in meta.get("dependencies", [])]
    for extra, deps in meta.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f'Requires-Dist: {dep}; extra == "{extra}"' for dep in deps]
    return "\n".join(lines) + "\n"


def _dist_info(meta: dict) -> dict[str, bytes]:
    folder = f"{_dist_name(meta)}-{meta['version']}.dist-info"
    wheel = "Wheel-Version: 1.0\nGenerator: kit_backend\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files = {f"{folder}/METADATA": metadata_text(meta), f"{folder}/WHEEL": wheel}
    scripts = meta.get("scripts", {})
    if scripts:
        files[f"{folder}/entry_points.txt"] = "[console_scripts]\n" + "".join(
            f"{name} = {target}\n" for name, target in sorted(scripts.items()))
    return {name: text.encode("utf-8") for name, text in files.items()}


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


# ------------------------------------------------------------------------------------------
# PEP 517 hooks

def get_requires_for_build_wheel(config_settings=None) -> list[str]:
    return []


def get_requires_for_build_sdist(config_settings=None) -> list[str]:
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None) -> str:
    files = _dist_info(project())
    for name, data in files.items():
        path = Path(metadata_directory) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return next(iter(files)).split("/")[0]


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None) -> str:
    meta = project()
    contents = {**kit_sources(), **_dist_info(meta)}
    record_name = f"{_dist_name(meta)}-{meta['version']}.dist-info/RECORD"
    record = "\n".join([*(_record_line(n, d) for n, d in contents.items()),
                        f"{record_name},,"]) + "\n"
    contents[record_name] = record.encode("utf-8")
    wheel_name = f"{_dist_name(meta)}-{meta['version']}-py3-none-any.whl"
    Path(wheel_directory).mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(Path(wheel_directory) / wheel_name, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in contents.items():  # RECORD last, as the wheel format asks
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return wheel_name


def build_sdist(sdist_directory, config_settings=None) -> str:
    """pyproject.toml, this backend, PKG-INFO and the kit's grader/ (taken whole when built)."""
    meta = project()
    top = f"{_dist_name(meta)}-{meta['version']}"
    contents = {"pyproject.toml": (HERE / "pyproject.toml").read_bytes(),
                "kit_backend.py": Path(__file__).read_bytes(),
                "PKG-INFO": metadata_text(meta).encode("utf-8"), **kit_sources()}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(contents.items()):
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    Path(sdist_directory).mkdir(parents=True, exist_ok=True)
    with open(Path(sdist_directory) / f"{top}.tar.gz", "wb") as out:
        with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as gz:
            gz.write(buffer.getvalue())
    return f"{top}.tar.gz"
