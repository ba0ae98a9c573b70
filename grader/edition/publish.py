"""Writing the student edition: a folder to push to its repository, or the student bundle.

Both go through :func:`audited_contents`: the manifest's files, refused as a whole if the
audit finds anything (``grader.edition.audit``).  The folder is written in place of what
was there, keeping only ``.git`` (so that OUT can be a clone of the student edition's
repository: publish, then commit and push); a folder that is neither empty nor a git
repository nor an earlier edition is refused rather than emptied.  The zip is
deterministic (sorted entries, fixed times): the same sources give the same bytes.
"""
from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

from grader.edition.audit import problems
from grader.edition.config import ROOT
from grader.edition.manifest import EditionFile, contents

TOP = "rnns-from-scratch-student"      # the bundle's top folder, as a clone would be named
ZIP_TIME = (2024, 1, 1, 0, 0, 0)


class PublishError(RuntimeError):
    """The edition would hold something students must not get, or lacks what they need."""


def audited_contents(root: Path = ROOT) -> dict[str, EditionFile]:
    files = contents(root)
    found = problems({name: item.data for name, item in files.items()}, root)
    if found:
        more = f" (and {len(found) - 10} more)" if len(found) > 10 else ""
        raise PublishError("the student edition is refused:\n  " + "\n  ".join(found[:10]) + more)
    return files


def _is_earlier_edition(folder: Path) -> bool:
    return (folder / "kit" / "kit_backend.py").is_file() and (folder / "exercises").is_dir()


def write_tree(out: Path, root: Path = ROOT) -> dict[str, EditionFile]:
    """Audit, then write the edition into ``out``; return what was written."""
    out = Path(out)
    files = audited_contents(root)
    if out.exists():
        if not out.is_dir():
            raise PublishError(f"{out} is a file, not a folder")
        present = [p for p in out.iterdir() if p.name != ".git"]
        if present and not ((out / ".git").exists() or _is_earlier_edition(out)):
            raise PublishError(f"{out} is not empty, and neither a git repository nor an earlier "
                               "student edition: give an empty folder or a clone of the "
                               "student edition's repository")
        for path in present:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    for name, item in files.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(item.data)
        path.chmod(0o755 if item.executable else 0o644)
    return files


def zip_bytes(root: Path = ROOT, top: str = TOP) -> tuple[bytes, list[str]]:
    """The audited edition as a zip under ``top/``; also the archive names."""
    files = audited_contents(root)
    buffer = io.BytesIO()
    names = []
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, item in files.items():
            info = zipfile.ZipInfo(f"{top}/{name}", date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o755 if item.executable else 0o644) << 16
            zf.writestr(info, item.data)
            names.append(info.filename)
    return buffer.getvalue(), names
