"""The translation files: one per English source, keyed by each English block's hash.

``zh/book/<page>.yml`` translates ``book/<page>.md``; ``zh/exercises/<assignment>.yml`` the
Markdown of ``solutions/<assignment>/<assignment>.ipynb``.  Each file lists, in the order of
the English source, every unit a reader reads as prose (a block of a page or of a Markdown
cell, a figure's caption or alt text) with its key, the English text and the translation::

    source: book/references.md
    units:
    - key: bc2fb8b68ce5
      en: |-
        The papers and the book this course is built on. ...
      zh: |-
        本课程所依据的论文和书……
    stale: []

*Staleness.*  A unit is keyed by the hash of its English text, so an edited English block is a
new key: :func:`sync` adds it with an empty ``zh`` and moves the old entry, translation and
all, to ``stale`` for the translator to reuse.  :func:`problems` (``python -m grader zh
check``, run by CI) fails on any empty ``zh``, any ``stale`` entry and any translation that
lost an invariant of its block (:func:`grader.translate.blocks.differences`).  A page
without a file is *not yet translated*: the Chinese edition shows it in English under a
notice, and ``zh status`` lists it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from grader.translate import blocks as _blocks

ROOT = Path(__file__).resolve().parents[2]
ZH = "zh"


@dataclass
class Unit:
    key: str
    en: str
    kind: str = "block"     # "block" or "caption"/"alt" of a figure


def is_notebook_page(text: str) -> bool:
    """A MyST Markdown notebook (executed by the book) rather than a plain page."""
    head = text.split("\n---", 1)[0] if text.startswith("---") else ""
    return "jupytext" in head or "kernelspec" in head


def notebook_of(path: Path):
    """A page or an ``.ipynb`` as an nbformat notebook (Markdown cells and code cells)."""
    import nbformat

    if path.suffix == ".ipynb":
        return nbformat.read(str(path), as_version=4)
    from myst_nb.core.read import read_myst_markdown_notebook

    return read_myst_markdown_notebook(path.read_text(encoding="utf-8"), path=str(path))


def units(path: Path) -> list[Unit]:
    """The translatable units of an English source, in order (no duplicates)."""
    text = path.read_text(encoding="utf-8") if path.suffix == ".md" else ""
    found: list[Unit] = []
    if path.suffix == ".md" and not is_notebook_page(text):
        found = [Unit(b.key, b.text) for b in _blocks.split(text) if b.translatable]
    else:
        for cell in notebook_of(path).cells:
            if cell.cell_type == "markdown":
                found += [Unit(b.key, b.text) for b in _blocks.split(cell.source) if b.translatable]
            elif cell.cell_type == "code":
                for where, value in _blocks.cell_texts(cell.get("metadata", {})):
                    found.append(Unit(_blocks.block_key(value), value, where[1]))
    seen, out = set(), []
    for unit in found:
        if unit.key not in seen:
            seen.add(unit.key)
            out.append(unit)
    return out


def catalogue_path(source: Path, root: Path = ROOT) -> Path:
    """Where the translation of ``source`` (a page or a solutions notebook) lives."""
    rel = source.resolve().relative_to(root.resolve())
    if rel.parts[0] == "solutions":
        return root / ZH / "exercises" / f"{rel.parts[1]}.yml"
    return root / ZH / rel.with_suffix(".yml")


def source_of(catalogue: Path, root: Path = ROOT) -> Path:
    data = load(catalogue)
    return root / data["source"]


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    data.setdefault("units", [])
    data.setdefault("stale", [])
    for entry in data["units"] + data["stale"]:
        entry["zh"] = (entry.get("zh") or "").rstrip("\n")
        entry["en"] = (entry.get("en") or "").rstrip("\n")
    return data


def translations(path: Path) -> dict[str, str]:
    """key -> Chinese text of every translated unit of a catalogue ({} without the file)."""
    if not path.is_file():
        return {}
    return {e["key"]: e["zh"] for e in load(path)["units"] if e.get("zh")}


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper, value: str):
    style = "|" if "\n" in value or len(value) > 60 else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(data: dict) -> str:
    head = (f"# 中文翻译 · Chinese translation of {data['source']}\n"
            "# Translate each `zh:`; keep math, roles ({glue}, {numref}, {cite}, {term} targets),\n"
            "# labels and links; `python -m grader zh sync` after the English changes.\n")
    return head + yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)


def sync(source: Path, root: Path = ROOT, create: bool = False) -> tuple[Path, int, int]:
    """Bring the catalogue of ``source`` in line with the English; (path, added, staled).

    Existing translations are kept by key; new English units get an empty ``zh``; entries
    whose English is gone move to ``stale``.  Without ``create`` a missing file is left alone.
    """
    path = catalogue_path(source, root)
    if not path.is_file() and not create:
        return path, 0, 0
    old = load(path) if path.is_file() else {"units": [], "stale": []}
    by_key = {e["key"]: e for e in old["units"]}
    current = units(source)
    keys = {u.key for u in current}
    new_units, added = [], 0
    for unit in current:
        entry = by_key.get(unit.key)
        if entry is None:
            added += 1
            entry = {"key": unit.key, "en": unit.en, "zh": ""}
        else:
            entry = {"key": unit.key, "en": unit.en, "zh": entry.get("zh", "")}
        if unit.kind != "block":
            entry = {"key": entry["key"], "kind": unit.kind, "en": entry["en"], "zh": entry["zh"]}
        new_units.append(entry)
    staled = [e for e in old["units"] if e["key"] not in keys and e.get("zh")]
    stale = old["stale"] + [{"key": e["key"], "en": e["en"], "zh": e["zh"]} for e in staled]
    data = {"source": source.resolve().relative_to(root.resolve()).as_posix(),
            "units": new_units, "stale": stale}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump(data), encoding="utf-8")
    return path, added, len(staled)


def problems(catalogue: Path, root: Path = ROOT) -> list[str]:
    """Why the translation in ``catalogue`` is not complete and current (empty when it is)."""
    data = load(catalogue)
    name = catalogue.relative_to(root).as_posix()
    source = root / data.get("source", "")
    if not source.is_file():
        return [f"{name}: its English source {data.get('source')} does not exist"]
    out = []
    have = {e["key"]: e for e in data["units"]}
    for unit in units(source):
        entry = have.get(unit.key)
        if entry is None:
            out.append(f"{name}: the English changed: block {unit.key} has no entry "
                       f"({unit.en[:60]!r}...); run python -m grader zh sync {data['source']}")
        elif not entry.get("zh"):
            out.append(f"{name}: block {unit.key} is not translated ({unit.en[:60]!r}...)")
        else:
            out += [f"{name}: block {unit.key}: {d}" for d in
                    _blocks.differences(unit.en, entry["zh"])]
    keys = {u.key for u in units(source)}
    out += [f"{name}: block {e['key']} is no longer in the English (stale): reuse its "
            "translation, then delete it" for e in data["units"] if e["key"] not in keys]
    out += [f"{name}: stale translation {e['key']} ({e['en'][:50]!r}...): reuse it for the "
            "new English block, then delete it" for e in data["stale"]]
    return out


def all_catalogues(root: Path = ROOT) -> list[Path]:
    return sorted((root / ZH).glob("book/*.yml")) + sorted((root / ZH).glob("exercises/*.yml"))
