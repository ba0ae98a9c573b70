"""The one description of how students start, rendered for every place that shows it.

``book/ways_in.md`` is written once.  The landing page and the student guide include it
(MyST's ``{include}``, with the substitutions below set by ``grader.site.launch``); the
student edition's README embeds it (``grader.edition.readme``), and so does the instructor's
README, between two markers that ``python -m grader publish readme`` rewrites (``--check``
fails when they are stale).  The file is plain Markdown plus ``{{ name }}`` substitutions,
so that one text reads right on GitHub and on the site; what differs between them (a link
to this site, which on the site itself is "every chapter page") is a substitution.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

from grader.edition.config import ROOT, student_edition

SOURCE = Path("book") / "ways_in.md"
README_BEGIN = ("<!-- ways-in: generated from book/ways_in.md by `python -m grader publish "
                "readme`; edit that file, not this block -->")
README_END = "<!-- /ways-in -->"
NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                "ten", "eleven", "twelve")
# The Chinese edition's site (grader.translate) includes its translation of book/ways_in.md,
# which reads these values in Chinese: 六个练习笔记本, 3.11、3.12 或 3.13.
NUMBER_WORDS_ZH = ("零", "一", "两", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二")
_SUBSTITUTION = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_MYST_ONLY = re.compile(r"\{[\w:-]+\}`|^\s*(```|:::)\s*\{", re.MULTILINE)


class WaysInError(ValueError):
    """``book/ways_in.md`` uses something that cannot be rendered everywhere."""


def number_word(n: int, language: str = "en") -> str:
    words = NUMBER_WORDS_ZH if language == "zh" else NUMBER_WORDS
    return words[n] if 0 <= n < len(words) else f"{n:,}"


def exercise_names(root: Path = ROOT) -> list[str]:
    """The assignments students get: the folders of ``exercises/`` with their notebook."""
    return sorted(p.name for p in (Path(root) / "exercises").iterdir()
                  if (p / f"{p.name}.ipynb").is_file())


def python_versions(root: Path = ROOT) -> list[str]:
    """The minor versions ``pyproject.toml``'s ``requires-python`` admits (``>=3.11,<3.14``:
    the ones the course is tested on)."""
    spec = tomllib.loads((Path(root) / "pyproject.toml").read_text())["project"]["requires-python"]
    low = re.search(r">=\s*3\.(\d+)", spec)
    high = re.search(r"<\s*3\.(\d+)", spec)
    if not (low and high):
        raise WaysInError(f"pyproject.toml: requires-python {spec!r} needs a lower (>=3.N) "
                          "and an upper (<3.M) bound to say which versions students may use")
    return [f"3.{minor}" for minor in range(int(low.group(1)), int(high.group(1)))]


def _or_list(items: list[str], language: str = "en") -> str:
    if len(items) == 1:
        return items[0]
    if language == "zh":
        return f"{'、'.join(items[:-1])} 或 {items[-1]}"
    return f"{', '.join(items[:-1])} or {items[-1]}"


def substitutions(root: Path = ROOT, target: str = "site", language: str = "en") -> dict[str, str]:
    """Name -> Markdown for ``target``: ``site`` (the book's pages), ``readme`` (the
    instructor's README) or ``edition`` (the student edition's README, in that repository),
    in ``language`` (``en``, or ``zh`` for the Chinese edition's site)."""
    if target not in ("site", "readme", "edition"):
        raise ValueError(f"no such target {target!r}")
    if language not in ("en", "zh"):
        raise ValueError(f"no such language {language!r}")
    edition = student_edition(root)
    site_link = "of this site" if target == "site" else f"of the [course site]({edition.site})"
    here = "this repository" if target == "edition" else f"[{edition.org}/{edition.repo}]({edition.url})"
    values = {
        "edition": here,
        "edition_clone": f"`{edition.clone_command()}`",
        "kit_pip": f'`pip install "{edition.pip_requirement()}"`',
        "launch_menu": f"at the top of every chapter and exercise page {site_link}",
    }
    if language == "zh":
        where = "本站" if target == "site" else f"[课程网站]({edition.site})"
        values["launch_menu"] = f"位于{where}每一章和每个练习页面的顶部"
    # Counted from the course's files; a book built from a part of the course (the site's
    # tests build small broken ones) lacks them, and a page that used them would fail there.
    if (Path(root) / "exercises").is_dir():
        values["n_exercises"] = number_word(len(exercise_names(root)), language)
    if (Path(root) / "pyproject.toml").is_file():
        values["python_versions"] = _or_list(python_versions(root), language)
    return values


def render(root: Path = ROOT, target: str = "readme") -> str:
    """``book/ways_in.md`` as Markdown for ``target``, its comment lines (``%``) left out."""
    text = (Path(root) / SOURCE).read_text(encoding="utf-8")
    text = "\n".join(line for line in text.splitlines() if not line.startswith("%")).strip()
    if _MYST_ONLY.search(text):
        raise WaysInError(f"{SOURCE} uses a MyST role or directive, which a README cannot "
                          "show: use plain Markdown and {{ substitutions }}")
    values = substitutions(root, target)
    unknown = sorted(set(_SUBSTITUTION.findall(text)) - set(values))
    if unknown:
        raise WaysInError(f"{SOURCE} uses unknown substitutions {unknown}; "
                          f"grader/edition/ways_in.py defines {sorted(values)}")
    return _SUBSTITUTION.sub(lambda m: values[m.group(1)], text) + "\n"


def readme_block(root: Path = ROOT) -> str:
    return f"{README_BEGIN}\n\n{render(root, 'readme')}\n{README_END}"


def sync_readme(root: Path = ROOT, check: bool = False) -> bool:
    """Rewrite the ways-in block of ``README.md`` (or, with ``check``, only compare).
    Returns True when the block was (or would be) changed."""
    path = Path(root) / "README.md"
    text = path.read_text(encoding="utf-8")
    start, end = text.find(README_BEGIN), text.find(README_END)
    if start < 0 or end < start:
        raise WaysInError(f"{path} has no ways-in block: put the lines\n{README_BEGIN}\n"
                          f"{README_END}\nwhere it belongs, then run this again")
    new = text[:start] + readme_block(root) + text[end + len(README_END):]
    if new != text and not check:
        path.write_text(new, encoding="utf-8")
    return new != text
