"""``python -m grader bench similarity``: precision, recall and speed of the similarity check.

Per chapter, a scripted class of ``--n`` students (``tests/submissions/make_class.py``, so it
runs from a clone of the course): the planted students of every roster (a disguised copy of a
student with a style of their own, the reference code adapted, the instructor's notebook
handed in) plus ``--copies`` more disguised copies of independent students, and otherwise
students who work on their own in seeded styles (the variant catalogue) -- correct, partly
unanswered, partly wrong.  Their answer cells go through
:func:`grader.grading.similarity.analyse_cells` (code and source evidence; behaviour evidence
needs a graded class and is measured by ``tests/test_class_report.py`` instead).

One JSON line per chapter: the planted copy pairs and how many were flagged (recall) and
ranked in the top findings, the flagged pairs that were not planted (independent pairs
flagged; precision), the planted sources found, and the seconds of the analysis alone (the
class is generated first), with the load average beside them.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HELP = "similarity check: precision and recall on planted copies, seconds for a class of N"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=300, help="students per chapter (default 300)")
    parser.add_argument("--copies", type=int, default=10,
                        help="disguised copies of independent students added (default 10)")
    parser.add_argument("--assignment", action="append", default=None,
                        help="a chapter's assignment (repeatable; default: every chapter)")
    parser.add_argument("--seed", type=int, default=0)


def _class_cells(assignment: str, n: int, copies: int, seed: int):
    """(cells by student, planted copy pairs, planted sources {student: kind}) of one chapter."""
    root = Path(__file__).resolve().parents[2]
    for sub in ("tests", "tests/submissions"):
        if str(root / sub) not in sys.path:
            sys.path.insert(0, str(root / sub))
    import make_class

    from grader.grading.similarity import answer_cells

    solution = answer_cells(root, assignment)
    roster = make_class.roster(assignment, max(n - copies - len(make_class.PLANTED), 16))
    cells: dict[str, dict[str, str]] = {}
    for who in roster:
        if not who.graded or who.kind == "blank":
            continue
        nb = make_class.notebook(assignment, who)
        cells[who.student] = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
                              if c.metadata.get("nbgrader", {}).get("grade_id") in solution}
    pairs = {k for k, why in make_class.planted_pairs(roster).items() if why == "copy"}
    for i in range(copies):   # more students with a style of their own, each copied once
        source = make_class.Student(f"x{i:02d}-own-style-{seed}", "own-style")
        copy = make_class.Student(f"x{i:02d}-copy-{seed}", "copy", source=source.student)
        for who in (source, copy):
            cells[who.student] = make_class.answers_of(assignment, who)
        pairs.add(frozenset((source.student, copy.student)))
    sources = {w.student: w.kind for w in roster if w.kind in ("reference", "solution-copy")}
    return cells, solution, pairs, sources


def measure(assignment: str, n: int, copies: int, seed: int) -> dict:
    from grader.grading.similarity import analyse_cells, reference_sources

    cells, solution, planted, sources = _class_cells(assignment, n, copies, seed)
    references = reference_sources()
    start = time.perf_counter()
    result = analyse_cells(assignment, cells, solution, {}, references)
    seconds = time.perf_counter() - start
    flagged = result.flagged_pairs()
    # two students who both handed in the instructor's notebook are a copy of each other too
    # (found as such, or each with the solution as its source): right if flagged, not needed
    same_file = {frozenset((a, b)) for a in sources for b in sources
                 if a < b and sources[a] == sources[b] == "solution-copy"}
    found = [p for p in flagged if p in planted]
    flagged = [p for p in flagged if p not in same_file]
    ranks = [flagged.index(p) + 1 for p in found]
    source_hits = {f.students[0] for f in result.findings if f.source}
    return {
        "benchmark": "similarity", "assignment": assignment, "students": len(cells),
        "answer_cells": len(solution), "planted_copy_pairs": len(planted),
        "copies_found": len(found), "recall": round(len(found) / max(len(planted), 1), 3),
        "copies_in_top": sum(r <= len(planted) for r in ranks),
        "pairs_flagged": len(flagged), "independent_pairs_flagged": len(flagged) - len(found),
        "precision": round(len(found) / len(flagged), 3) if flagged else None,
        "planted_sources": sorted(sources), "planted_sources_found": sorted(set(sources) & source_hits),
        "other_students_with_a_source": sorted(source_hits - set(sources)),
        "seconds": round(seconds, 2), "load": round(os.getloadavg()[0], 2),
        "goal": "every planted copy in the top findings, no independent pair, < 60 s for 300",
    }


def run(args: argparse.Namespace) -> int:
    root = Path(__file__).resolve().parents[2]
    chapters = args.assignment or sorted(p.name for p in (root / "solutions").iterdir() if p.is_dir())
    for assignment in chapters:
        print(json.dumps(measure(assignment, args.n, args.copies, args.seed), ensure_ascii=False),
              flush=True)
    return 0
