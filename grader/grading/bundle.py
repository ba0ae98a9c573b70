"""The student bundle: the student edition as one zip, for students who download rather than clone.

``python -m grader bundle`` (``make student-bundle``, which ``make book`` runs: the student
guide links the zip) writes ``dist/rnns-from-scratch-student.zip``: the tree ``python -m grader
publish student`` writes, under one top folder, audited the same way (``grader.edition``).
One code path makes what students get; this module only names the file.
"""
from __future__ import annotations

from pathlib import Path

from grader.edition.config import ROOT
from grader.edition.publish import TOP, PublishError, zip_bytes

DEFAULT_OUT = Path("dist") / f"{TOP}.zip"
BundleError = PublishError


def build_bundle(out: Path = DEFAULT_OUT, root: Path = ROOT) -> list[str]:
    """Audit, then write the zip to ``out``; return the archive names written."""
    data, names = zip_bytes(root)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return names
