"""python -m grader zh ...: the Chinese edition (中文版) -- translations, notebooks, pages.

  zh status              which pages and exercises are translated, and what is missing
  zh sync [SOURCE...]    bring translation files in line with the English (--new: create them)
  zh release [--check]   the Chinese exercise notebooks zh/exercises/<a>/<a>.zh.ipynb
  zh check               every translation complete and current, notebooks up to date, every
                         word a built figure draws translated (CI)
  zh pages --out DIR     the Chinese book's sources for jupyter-book (make book runs it)
  zh outputs             the phrases of the translated pages' code outputs (tables, figures) that
                         zh/outputs.yml lacks, as lines to paste into it (after make book)
"""
from __future__ import annotations

import argparse
from pathlib import Path

HELP = "the Chinese edition: translation files, Chinese notebooks, the Chinese book's sources"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = __doc__.split("\n", 1)[1]
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("status", help="what is translated and what is not")
    sync = sub.add_parser("sync", help="update translation files after the English changed")
    sync.add_argument("sources", nargs="*", type=Path,
                      help="English pages (book/x.md) or solutions notebooks; default: every "
                           "source that has a translation file")
    sync.add_argument("--new", action="store_true", help="create the files that do not exist")
    release = sub.add_parser("release", help="write the Chinese exercise notebooks")
    release.add_argument("--check", action="store_true", help="only say what is out of date")
    check = sub.add_parser("check", help="fail unless every translation is complete and current")
    check.add_argument("--executed", type=Path, default=Path("_build/.jupyter_cache"),
                       help="the English build's execution cache (for the figures' words)")
    pages = sub.add_parser("pages", help="write the Chinese book's sources")
    pages.add_argument("--out", type=Path, default=Path("_build/zh/src"))
    pages.add_argument("--executed", type=Path, default=Path("_build/.jupyter_cache"),
                       help="the English build's execution cache")
    printed = sub.add_parser("outputs",
                             help="what zh/outputs.yml lacks for the pages' tables and figures")
    printed.add_argument("--executed", type=Path, default=Path("_build/.jupyter_cache"),
                         help="the English build's execution cache")


def _sources(root: Path) -> list[Path]:
    import yaml

    from grader.translate import exercises, pages

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    found = [(root / f"{n}.md").resolve() for n in pages.toc_files(toc)
             if not n.startswith("exercises/")]
    # files the pages include (book/ways_in.md) are translated on their own
    for page in list(found):
        found += [path for path in pages.included(page, root) if path not in found]
    return found + [root / "solutions" / a / f"{a}.ipynb" for a in exercises.assignments(root)]


def run(args: argparse.Namespace) -> int:
    from grader.translate import catalogue, exercises, figures, outputs, pages

    root = catalogue.ROOT
    if args.action == "status":
        for source in _sources(root):
            cat = catalogue.catalogue_path(source, root)
            rel = source.relative_to(root)
            if not cat.is_file():
                print(f"not translated  {rel}  ({len(catalogue.units(source))} blocks)")
            else:
                problems = catalogue.problems(cat, root)
                print(f"{'translated' if not problems else 'incomplete':<15} {rel}"
                      + (f"  ({len(problems)} problems)" if problems else ""))
        return 0
    if args.action == "sync":
        sources = [s.resolve() for s in args.sources] or _sources(root)
        for source in sources:
            path, added, staled = catalogue.sync(source, root, create=args.new or bool(args.sources))
            if path.is_file():
                print(f"{path.relative_to(root)}: {added} new or changed blocks to translate, "
                      f"{staled} translations moved to stale")
        return 0
    if args.action == "release":
        problems = exercises.release(check=args.check, root=root)
        for p in problems:
            print(p)
        return 1 if problems else 0
    if args.action == "check":
        problems = [p for cat in catalogue.all_catalogues(root)
                    for p in catalogue.problems(cat, root)]
        from grader.translate import interface   # zh/interface.yml: the site around the pages
        problems += interface.problems(root)
        problems += exercises.release(check=True, root=root)
        problems += outputs.file_problems(root)
        if not problems:   # the figures' words, if the English book is built
            found, notes = figures.book_problems(args.executed.resolve(), root)
            problems += found
            print("\n".join(notes), end="\n" if notes else "")
        for p in problems:
            print(p)
        print(f"{len(catalogue.all_catalogues(root))} translation files, {len(problems)} problems")
        return 1 if problems else 0
    if args.action == "pages":
        try:
            summary = pages.build_source(args.out.resolve(), args.executed.resolve(), root)
        except pages.PagesError as exc:
            print(f"error: {exc}")
            return 2
        print(f"{args.out}: {len(summary['translated'])} pages translated, "
              f"{len(summary['not_translated'])} in English under a notice")
        return 0
    if args.action == "outputs":
        import json

        try:
            found = list(outputs.book_phrases(args.executed.resolve(), root))
        except pages.PagesError as exc:
            print(f"error: {exc}")
            return 2
        missing = outputs.missing(phrase for _, phrase in found)
        for key in missing:
            pages_of = sorted({n for n, p in found if outputs.key_of(p.strip())[0] == key})
            print(f"  {json.dumps(key, ensure_ascii=False)}: \"\"   # {', '.join(pages_of)}")
        print(f"{len(found)} phrases on the translated pages' outputs, {len(missing)} without a "
              f"translation in {outputs.FILE}")
        return 1 if missing else 0
    return 2
