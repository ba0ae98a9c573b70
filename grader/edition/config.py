"""Where the student edition lives: the ``student_edition`` key of ``_config.yml``.

It is the one place the student edition's address is written::

    student_edition:
      url: https://github.com/ORG/REPO     # the public repository of the published tree
      branch: main
      site: https://ORG.github.io/REPO/    # where the course site is served

The launch buttons (Colab, Binder), the repository and issue buttons of every page, the
kit's install command (``{{ kit_pip }}``), the exercises' set-up cells (``python -m grader
kit sync-notebooks``) and both READMEs read it.  ``repository.url`` names the instructor's
repository, which nothing students see links to.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
KEY = "student_edition"
GITHUB = re.compile(r"https://github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)")


class EditionConfigError(ValueError):
    """``_config.yml`` does not say where the student edition lives, or says it wrongly."""


@dataclass(frozen=True)
class Edition:
    url: str
    branch: str
    site: str

    @property
    def org(self) -> str:
        return GITHUB.fullmatch(self.url).group(1)

    @property
    def repo(self) -> str:
        return GITHUB.fullmatch(self.url).group(2)

    def pip_requirement(self) -> str:
        """What ``pip install`` takes to install the kit from the student edition."""
        return f"git+{self.url}@{self.branch}#subdirectory=kit"

    def clone_command(self) -> str:
        return f"git clone {self.url}.git"


def _config(root: Path) -> dict:
    import yaml  # the course's environment has it; the kit never imports this module

    return yaml.safe_load((Path(root) / "_config.yml").read_text(encoding="utf-8")) or {}


def student_edition(root: Path = ROOT) -> Edition:
    """The student edition of ``root/_config.yml``, checked."""
    section = _config(root).get(KEY)
    where = f"{Path(root) / '_config.yml'}: {KEY}"
    if not isinstance(section, dict):
        raise EditionConfigError(f"{where} is missing: add it with url, branch and site "
                                 "(see grader/edition/config.py)")
    url = str(section.get("url", "")).rstrip("/")
    branch = str(section.get("branch", "")).strip()
    site = str(section.get("site", "")).strip()
    if not GITHUB.fullmatch(url):
        raise EditionConfigError(f"{where}.url must be a GitHub repository address "
                                 f"(https://github.com/ORG/REPO; Colab and Binder open "
                                 f"notebooks from GitHub), not {url!r}")
    if not re.fullmatch(r"[A-Za-z0-9._/-]+", branch):
        raise EditionConfigError(f"{where}.branch must name a branch, not {branch!r}")
    if not re.fullmatch(r"https?://\S+", site):
        raise EditionConfigError(f"{where}.site must be the course site's address, not {site!r}")
    return Edition(url=url, branch=branch, site=site.rstrip("/") + "/")


def instructor_repository(root: Path = ROOT) -> str:
    """``repository.url``: the instructor's repository (the answer key's; may be private)."""
    return str(_config(root).get("repository", {}).get("url", "")).rstrip("/")
