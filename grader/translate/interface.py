"""The Chinese edition's interface text: the site around the pages (``zh/interface.yml``).

The theme, Sphinx and the extensions write their own text on every page: the sidebar's part
captions, "Search this book...", the permalinks' "Link to this heading", the header's
buttons, the launch menu, the footer.  ``language: zh_CN`` already brings the Chinese that
their catalogues ship; ``zh/interface.yml`` holds the rest, and this module hands it to the
Chinese build (``python -m grader zh pages``), each string where the build can take it:

* ``toc``: the part captions of ``_toc.yml`` (:func:`toc_captions`);
* ``site``: ``author`` of ``_config.yml`` (the footer's "By ...");
* ``interface``: written as gettext catalogues (``locale/zh_CN/LC_MESSAGES/<domain>.mo``,
  :func:`write_catalogues`) for Sphinx's own domain (``locale_dirs``) and the book theme's
  (``booktheme``, registered by :mod:`grader.site.language` before the theme's own, so that
  ours come first: the theme's zh_CN says 列印成 PDF); the same table goes to the build's
  configuration (``rnns_interface``), for the few attributes that the theme's templates write
  in English without asking gettext (``title="Toggle primary sidebar"``, ``aria-label="Main"``).

:func:`problems` (``python -m grader zh check``) fails on a caption of ``_toc.yml`` without a
translation and on an entry that is not text.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from grader.translate import catalogue

ROOT = catalogue.ROOT
FILE = "interface.yml"
LOCALE = "locale"                       # in the Chinese book's sources
LANGUAGE = "zh_CN"
DOMAINS = ("sphinx", "booktheme")       # Sphinx's (and pydata-sphinx-theme's) and the book theme's


def path(root: Path = ROOT) -> Path:
    return Path(root) / catalogue.ZH / FILE


def load(root: Path = ROOT) -> dict[str, dict[str, str]]:
    data = yaml.safe_load(path(root).read_text(encoding="utf-8")) or {}
    return {section: {str(k): str(v) for k, v in (data.get(section) or {}).items()}
            for section in ("site", "toc", "interface")}


def captions(toc: dict) -> list[str]:
    return [part["caption"] for part in toc.get("parts", []) if part.get("caption")]


def toc_captions(toc: dict, table: dict[str, str]) -> dict:
    """``toc`` (changed in place and returned) with its part captions in Chinese."""
    for part in toc.get("parts", []):
        if part.get("caption") in table:
            part["caption"] = table[part["caption"]]
    return toc


def problems(root: Path = ROOT) -> list[str]:
    name = path(root).relative_to(root).as_posix()
    if not path(root).is_file():
        return [f"{name} is missing"]
    raw = yaml.safe_load(path(root).read_text(encoding="utf-8")) or {}
    out = []
    for section in ("site", "toc", "interface"):
        entries = raw.get(section) or {}
        if not isinstance(entries, dict):
            out.append(f"{name}: {section} must map English to Chinese")
            continue
        out += [f"{name}: {section}: {key!r} has no translation" for key, value in entries.items()
                if not isinstance(value, str) or not value.strip()]
    toc = yaml.safe_load((Path(root) / "_toc.yml").read_text(encoding="utf-8"))
    have = raw.get("toc") or {}
    out += [f"{name}: the part caption {c!r} of _toc.yml has no translation under toc"
            for c in captions(toc) if c not in have]
    return out


def write_catalogues(out: Path, table: dict[str, str]) -> Path:
    """The gettext catalogues of ``table`` under ``out/locale``; returns that folder."""
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    folder = Path(out) / LOCALE / LANGUAGE / "LC_MESSAGES"
    folder.mkdir(parents=True, exist_ok=True)
    for domain in DOMAINS:
        messages = Catalog(locale=LANGUAGE, domain=domain)
        for english, chinese in table.items():
            messages.add(english, chinese)
        with open(folder / f"{domain}.mo", "wb") as handle:
            write_mo(handle, messages)
    return Path(out) / LOCALE


def configure(config: dict, table: dict[str, dict[str, str]]) -> dict:
    """The Chinese ``_config.yml`` (in place): its author, its catalogues (``locale/``, which
    :func:`write_catalogues` writes beside it), the table for :mod:`grader.site.language`,
    and that extension first, so that it registers the catalogues before the theme does."""
    config.update(table["site"])
    cfg = config["sphinx"]["config"]
    cfg["locale_dirs"] = [LOCALE]
    cfg["rnns_interface"] = dict(table["interface"])
    language = "grader.site.language"
    cfg["extensions"] = [language] + [e for e in cfg["extensions"] if e != language]
    return config
