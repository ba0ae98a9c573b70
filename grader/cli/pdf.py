"""python -m grader pdf: the book's PDF edition, printed from its single-page build.

The same command prints either edition: the Chinese one from the single-page build of the
Chinese sources (make pdf-zh), its language read from the page (grader.site.pdf)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = ("print the single-page build of the book (either edition) to PDF with headless Chromium "
        "(make pdf, make pdf-zh)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--site", type=Path, default=Path("_build/singlehtml"),
                        help="the single-page build (jupyter-book build . --builder singlehtml; "
                             "the Chinese edition's: _build/zh/_build/singlehtml; default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("_build/pdf/rnns-from-scratch.pdf"),
                        help="the PDF to write (default: %(default)s; the Chinese edition's: "
                             "_build/zh/rnns-from-scratch.zh.pdf)")


def run(args: argparse.Namespace) -> int:
    from grader.site.pdf import PdfError, print_book

    try:
        summary = print_book(args.site, args.out)
    except PdfError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary))
    return 0
