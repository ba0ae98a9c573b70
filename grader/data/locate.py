"""Where a data set is looked for, in the same order for every loader of the course."""
from __future__ import annotations

import os
from pathlib import Path


def search_path(data_dir: str | os.PathLike | None, env_var: str,
                cache: Path) -> list[tuple[str, Path]]:
    """``(what, folder)`` in order: the ``--data-dir`` argument, ``$env_var``, the user cache."""
    candidates: list[tuple[str, Path]] = []
    if data_dir is not None:
        candidates.append(("data_dir argument / --data-dir", Path(data_dir)))
    if os.environ.get(env_var):
        candidates.append((f"${env_var}", Path(os.environ[env_var])))
    candidates.append(("user cache", cache))
    return candidates


def describe(candidates: list[tuple[str, Path]]) -> str:
    """The folders of :func:`search_path`, one per line, for a "looked in" message."""
    return "\n".join(f"  {what}: {d}" for what, d in candidates)
