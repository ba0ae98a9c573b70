"""``python -m grader bench figures [PAGE...]``: what the figures' Chinese twins cost the build.

Runs each book page (default: every page of ``book/`` that draws book figures) in a kernel
as ``make book`` does, with the figures timed: one JSON line per page with the figures drawn,
the seconds spent on the English SVGs (measuring and saving them) and on their Chinese twins
(the same, in Chinese: :mod:`grader.translate.figures`), the page's whole run, and the load
beside them.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

HELP = "figures: seconds of the English SVGs and of their Chinese twins, per book page"

# The timing wrapper, run in the page's kernel after its first cell.
_TIMED = r'''
import time as _bench_time, json as _bench_json
import grader.site.figures as _bench_figures
_BENCH = {"figures": 0, "twins": 0, "english_s": 0.0, "twin_s": 0.0}
_bench_in_twin = []
_bench_measure, _bench_svg, _bench_twin = (_bench_figures.measure, _bench_figures._svg,
                                           _bench_figures._twin)
def _bench_english(function):
    def timed(*args):
        started = _bench_time.perf_counter()
        try:
            return function(*args)
        finally:
            if not _bench_in_twin:
                _BENCH["english_s"] += _bench_time.perf_counter() - started
                _BENCH["figures"] += function is _bench_svg
    return timed
def _bench_timed_twin(*args):
    started = _bench_time.perf_counter()
    _bench_in_twin.append(1)
    try:
        return _bench_twin(*args)
    finally:
        _bench_in_twin.pop()
        _BENCH["twins"] += 1
        _BENCH["twin_s"] += _bench_time.perf_counter() - started
_bench_figures.measure = _bench_english(_bench_measure)
_bench_figures._svg = _bench_english(_bench_svg)
_bench_figures._twin = _bench_timed_twin
'''


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pages", nargs="*", help="page names (01_rnn_by_hand); default: every "
                        "page of book/ that runs code")


def measure(page: Path) -> dict:
    import nbformat
    from myst_nb.core.read import read_myst_markdown_notebook
    from nbclient import NotebookClient

    nb = read_myst_markdown_notebook(page.read_text(encoding="utf-8"), path=str(page))
    nb.cells.insert(1, nbformat.v4.new_code_cell(_TIMED))
    nb.cells.append(nbformat.v4.new_code_cell("print(_bench_json.dumps(_BENCH))"))
    started = time.perf_counter()
    NotebookClient(nb, kernel_name="python3", timeout=1800,
                   resources={"metadata": {"path": str(page.parent)}}).execute()
    found = json.loads(nb.cells[-1].outputs[0].text)
    found = {k: round(v, 2) if isinstance(v, float) else v for k, v in found.items()}
    return {"benchmark": "figures", "page": page.stem, **found,
            "page_s": round(time.perf_counter() - started, 1),
            "load": round(os.getloadavg()[0], 2)}


def run(args: argparse.Namespace) -> int:
    from grader.translate import catalogue

    book = Path(__file__).resolve().parents[2] / "book"
    pages = [book / f"{name}.md" for name in args.pages] or sorted(
        p for p in book.glob("*.md")
        if catalogue.is_notebook_page(p.read_text(encoding="utf-8")) and "use_book_figures" in
        p.read_text(encoding="utf-8"))
    for page in pages:
        if not page.is_file():
            print(f"bench figures: no page {page}")
            return 2
        print(json.dumps(measure(page), ensure_ascii=False), flush=True)
    return 0
