"""The student bundle: the exercise notebooks and the self-check tool, nothing else.

``python -m grader bundle`` (``make student-bundle``) writes a zip holding, under one
top-level folder:

* ``exercises/**``: the released notebooks (nbgrader's release step, already stripped);
* the student kit: the few ``grader`` modules the notebooks and ``python -m grader check``
  import (:data:`STUDENT_MODULES`, from ``grader/kit.py``): no reference implementation, no
  grading code;
* the kit's own ``pyproject.toml`` and build backend (``kit/``), so that ``pip install .``
  installs that same kit with the same dependencies, and a README for students.

The list of files is explicit (an allow-list, never "everything but ..."), and the zip is
audited before it is written: no path under ``solutions/`` or ``grader/reference``, no
secret line of any source notebook, no nbgrader marker.  The zip is deterministic (sorted
entries, fixed timestamps), so rebuilding it without changes gives the same bytes.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

from grader import leaks
from grader.kit import KIT_MODULES as STUDENT_MODULES, PACKAGING, kit_files
from grader.release import ROOT

TOP = "rnns-from-scratch-student"
DEFAULT_OUT = Path("dist") / "rnns-from-scratch-student.zip"

FORBIDDEN_PARTS = {"solutions", "reference", "source", "autograded", "submitted", "feedback"}
SKIPPED_NAMES = {".ipynb_checkpoints", "__pycache__", ".DS_Store"}

README = """\
# RNNs from Scratch: exercises and self-check

This folder holds the exercise notebooks of the course (`exercises/`) and the course kit
(`grader/`): the notebooks' test helpers and a tool that runs their public tests for you.

## Set up (once)

Use Python 3.11, 3.12 or 3.13, in a virtual environment of your choice:

```sh
python -m venv .venv && . .venv/bin/activate     # Windows: .venv\\Scripts\\activate
pip install ".[jupyter]"                          # the notebooks' helpers, the checker, JupyterLab
```

(`pip install .` alone installs the helpers and the checker without JupyterLab. Building
it needs nothing but Python: `kit_backend.py` makes the package from `grader/`.)

## Work on an exercise

1. Open `exercises/<chapter>/<chapter>.ipynb` in JupyterLab (`jupyter lab`).
2. Replace each `raise NotImplementedError()` with your code. Do not edit the test cells:
   they are restored before grading.
3. Check your work from a terminal:

   ```sh
   python -m grader check exercises/01_rnn_by_hand/01_rnn_by_hand.ipynb
   ```

   It runs the notebook from the top in a fresh kernel and prints, for each question,
   PASS, FAIL (with the whole first failure message and a hint), TODO (not attempted
   yet), ERROR or SKIP. Its exit status is 0 only when every public test passes.
   `--timeout S` changes how long a cell may run (120 s by default); `--json` prints
   the result for other tools (`python -m grader check --help` lists its fields).

Passing the public tests is necessary, not sufficient: when your work is graded, hidden
tests also try other inputs (random shapes, other sizes), so write code that works for
any size, not only for the example.
"""


def _exercise_files(root: Path) -> list[Path]:
    base = root / "exercises"
    return sorted(p for p in base.rglob("*")
                  if p.is_file() and not SKIPPED_NAMES.intersection(p.relative_to(base).parts))


def bundle_contents(root: Path = ROOT) -> dict[str, bytes]:
    """Archive name -> bytes, in the order they are written."""
    contents = {f"{TOP}/README.md": README.encode()}
    for name in PACKAGING:  # kit/pyproject.toml -> pyproject.toml: the kit's, unchanged
        contents[f"{TOP}/{Path(name).name}"] = (root / name).read_bytes()
    for name, data in kit_files(root).items():
        contents[f"{TOP}/{name}"] = data
    for path in _exercise_files(root):
        contents[f"{TOP}/{path.relative_to(root).as_posix()}"] = path.read_bytes()
    return dict(sorted(contents.items()))


class BundleError(RuntimeError):
    """The bundle would hold something students must not get, or lack what they need."""


def audit(contents: dict[str, bytes], root: Path = ROOT) -> list[str]:
    """Problems found: unexpected paths, secret lines or nbgrader markers in any file.

    Secret lines are matched as whole lines (``leaks.text_lines``), markers anywhere:
    see ``grader.leaks`` for why shipped code needs whole-line matching.
    """
    secrets = leaks.secret_lines(sorted((root / "solutions").glob("*/*.ipynb")))
    allowed = {f"{TOP}/{n}" for n in (*STUDENT_MODULES, "grader/grading/__init__.py",
                                      "README.md", *(Path(p).name for p in PACKAGING))}
    problems = []
    for name, data in contents.items():
        folders = name.split("/")[1:-1]
        if FORBIDDEN_PARTS.intersection(folders) or not (
                name in allowed or name.startswith(f"{TOP}/exercises/")):
            problems.append(f"{name}: not a file students should get")
        found = leaks.find_leaks(data.decode("utf-8", errors="replace"), set())
        found += sorted(secrets.intersection(leaks.text_lines(name, data)))
        if found:
            problems.append(f"{name}: {found[:3]}")
    return problems


_IMPORT = re.compile(r"^\s*(?:from\s+(grader(?:\.\w+)*)\s+import|import\s+(grader(?:\.\w+)*))",
                     re.MULTILINE)


def missing_modules(contents: dict[str, bytes]) -> list[str]:
    """``grader`` modules that a shipped notebook imports but the bundle lacks."""
    shipped = {name[len(TOP) + 1:] for name in contents}
    missing = set()
    for name, data in contents.items():
        if not name.endswith(".ipynb"):
            continue
        source = "\n".join(leaks.joined_source(c.get("source", ""))
                           for c in json.loads(data.decode("utf-8")).get("cells", []))
        for match in _IMPORT.finditer(source):
            module = (match.group(1) or match.group(2)).replace(".", "/")
            if f"{module}.py" not in shipped and f"{module}/__init__.py" not in shipped:
                missing.add(f"{name.split('/')[-1]} imports {module.replace('/', '.')}")
    return sorted(missing)


def build_bundle(out: Path = DEFAULT_OUT, root: Path = ROOT) -> list[str]:
    """Audit, then write the zip to ``out``; return the archive names written."""
    contents = bundle_contents(root)
    problems = audit(contents, root) + missing_modules(contents)
    if problems:
        raise BundleError("the student bundle is refused: " + "; ".join(problems[:5]))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in contents.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(buffer.getvalue())
    return list(contents)
