"""Which submissions to look at side by side: similar code, the same wrong answers, the
course's own code handed in.  Evidence to look at, ranked; never a verdict.

Three kinds of evidence, per answer cell, for every graded submission of an assignment:

``code``       the cell's code, tokenised and fingerprinted by ``copydetect`` (PyPI,
               pinned in ``requirements.lock``): pygments tokens with every variable name
               made ``V``, every function name ``F``, strings ``S``, comments and layout
               dropped; k-grams of that, winnowed (Schleimer, Wilkerson and Aiken, 2003).
               So renamed variables, comments, blank lines and reformatting change nothing,
               and reordered statements or dead code only the few k-grams at their seams.
               What two students share counts only when it is *distinctive*: a fingerprint
               found in more than :data:`COMMON_SHARE` of the class (or in the released
               stub) is what everybody writes, and every shared fingerprint weighs
               ``log2(N / df)`` (rarer, heavier).  A pair's score is the weight of what
               they share over the smaller of their two distinctive totals, over all
               answer cells (one short cell alike is no evidence; a notebook alike is);
``behaviour``  the same wrong numbers: for each failed question the grader ran the hidden
               test once more on inputs that are the same for the whole class and kept a
               digest of the first wrong value (:func:`grader.grading.insight.probe_failed`;
               hidden inputs otherwise differ per student).  Two students whose wrong
               answers agree there, when few others' do, is far stronger evidence than
               shared text: a classic mistake named by a test is not counted (everybody
               makes it);
``source``     code of the course's own handed in: every function and class of
               ``grader/reference/`` and the solutions' answer cells are fingerprinted the
               same way; a cell whose distinctive fingerprints are mostly one source's is
               listed with that source; an answer cell that still holds the solution
               notebook's ``### BEGIN SOLUTION`` markers is the instructor's file itself.

:func:`analyse` returns :class:`Finding` objects ranked by evidence (behaviour first, then
code score); ``python -m grader similarity A`` prints them (``--json``: one per line) and the
class report shows each with the two cells side by side.  Thresholds are data
(:class:`Settings`), measured on the scripted class's planted copies and independent
students by ``python -m grader bench similarity``.
"""
from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import math
import pkgutil
import re
import stat
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

COMMON_SHARE = 0.02          # a fingerprint in more of the class than this is everyone's
MIN_CLASS = 8                # below this, what is common cannot be told from what is rare
MARKER = re.compile(r"#+\s*(BEGIN|END) SOLUTION")


@dataclass(frozen=True)
class Settings:
    k: int = 15                  # characters of normalised code per k-gram
    window: int = 4              # winnowing window (a match of k + window - 1 is always seen)
    pair_score: float = 0.5      # what they share over what the less distinctive could share
    pair_cells: float = 3.0      # and at least as rare as this many cells of code no one
                                 # else wrote: pair_cells * log2(N / 2) bits
    cell_score: float = 0.5      # a cell is shown for a flagged pair from this score
    source_score: float = 0.5    # a cell mostly made of one source's distinctive code
    source_prints: int = 20      # and at least this many distinctive fingerprints (a function's worth)
    behaviour_max_group: int = 3   # same wrong numbers shared by at most this many students


@dataclass
class Finding:
    question: str
    students: list[str]
    source: str = ""             # "reference:rnn_by_hand.rnn_step", "solution:q3-rnn-cell"
    score: float = 0.0           # 0..1 for code; the pair's, or the cell's against a source
    evidence: list[str] = field(default_factory=list)   # "code", "behaviour", "source", "markers"
    cell_score: float = 0.0
    shared_weight: float = 0.0
    detail: str = ""

    def to_json(self) -> dict:
        out = asdict(self)
        out["score"], out["cell_score"] = round(self.score, 3), round(self.cell_score, 3)
        out["shared_weight"] = round(self.shared_weight, 1)
        return out


@dataclass
class Analysis:
    assignment: str
    students: list[str]
    questions: list[str]
    findings: list[Finding]
    cells: dict[str, dict[str, str]]          # student -> question -> code (for side by side)
    sources: dict[str, str]                   # source name -> code
    seconds: float = 0.0
    pairs: dict[frozenset, dict] = field(default_factory=dict)   # every pair with evidence

    def flagged_pairs(self) -> list[frozenset]:
        seen, out = set(), []
        for f in self.findings:
            if len(f.students) == 2 and not f.source:
                key = frozenset(f.students)
                if key not in seen:
                    seen.add(key)
                    out.append(key)
        return out


# -- fingerprints ------------------------------------------------------------------------------

def normalised(code: str) -> str:
    """The code as copydetect compares it (names V/F/O, strings S, no comments or layout)."""
    from copydetect.utils import filter_code

    text, _ = filter_code(code, "cell.py", "python")
    return text


def _stable_hash(text: str) -> int:
    # copydetect hashes k-grams with hash(), which differs from process to process
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little",
                          signed=True)


def fingerprints(code: str, settings: Settings) -> set[int]:
    """copydetect's winnowed k-gram fingerprints of the normalised code (stable hashes)."""
    import numpy as np
    from copydetect.utils import winnow

    text = normalised(code)
    if len(text) < settings.k:
        return {_stable_hash(text)} if text else set()
    grams = np.array([_stable_hash(text[i:i + settings.k]) for i in range(len(text) - settings.k + 1)],
                     dtype=np.int64)
    hashes, _ = winnow(grams, settings.window)
    return {int(h) for h in hashes}


def _strip_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines() if not MARKER.search(line))


def _stub(source: str) -> str:
    """What the released notebook shows of a solution cell (its solution regions cut)."""
    out, inside = [], False
    for line in source.splitlines():
        if re.search(r"#+\s*BEGIN SOLUTION", line):
            inside = True
        elif re.search(r"#+\s*END SOLUTION", line):
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


# -- reading the class --------------------------------------------------------------------------

def answer_cells(course_root: Path, assignment: str) -> dict[str, str]:
    """grade_id -> the instructor's source of every answer cell (markers kept), in order."""
    import nbformat

    out = {}
    for path in sorted((Path(course_root) / "solutions" / assignment).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution") and cell.cell_type == "code":
                out[meta["grade_id"]] = cell.source
    return out


def student_cells(course_root: Path, assignment: str, questions: list[str]) -> dict[str, dict[str, str]]:
    """student -> grade_id -> the code of that answer cell, from the autograded notebooks
    (what intake accepted and nbgrader graded; regular files only)."""
    from grader import notebooks

    base = Path(course_root) / "autograded"
    out: dict[str, dict[str, str]] = {}
    if not base.is_dir():
        return out
    for folder in sorted(base.iterdir()):
        sub = folder / assignment
        if not sub.is_dir() or sub.is_symlink():
            continue
        cells: dict[str, str] = {}
        for path in sorted(sub.glob("*.ipynb")):
            try:
                if not stat.S_ISREG(path.lstat().st_mode):
                    continue
                nb = notebooks.read(path)
            except (OSError, ValueError, RecursionError):
                continue
            for cell in nb.cells:
                grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                if grade_id in questions and cell.get("cell_type") == "code" and grade_id not in cells:
                    source = cell.get("source", "")
                    cells[grade_id] = "".join(source) if isinstance(source, list) else str(source)
        if cells:
            out[folder.name] = cells
    return out


def reference_sources() -> dict[str, str]:
    """``reference:module.name`` -> source of every top-level function and class of
    ``grader/reference/`` (the course's public teaching code)."""
    import grader.reference as package

    out = {}
    for info in pkgutil.iter_modules(package.__path__):
        try:
            module = importlib.import_module(f"grader.reference.{info.name}")
            source = inspect.getsource(module)
        except Exception:   # a module that needs an optional dependency
            continue
        for node in ast.parse(source).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                out[f"reference:{info.name}.{node.name}"] = ast.get_source_segment(source, node) or ""
    return out


def behaviour_digests(course_root: Path, assignment: str) -> dict[str, dict[str, str]]:
    """student -> test cell -> digest of the first wrong value on class-common inputs, for
    failures that are not a classic mistake named by the tests."""
    from grader.grading import insight

    out: dict[str, dict[str, str]] = {}
    for student, data in insight.sidecars(course_root, assignment).items():
        for q, entry in (data.get("questions") or {}).items():
            failure = entry.get("failure") or {}
            if entry.get("behaviour") and failure.get("kind") != "named":
                out.setdefault(student, {})[q] = entry["behaviour"]
    return out


def trivial(code: str) -> bool:
    """An answer cell that answers nothing: every function still raises NotImplementedError,
    passes, or returns None or a constant (the released stub, an unfinished answer)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    if not functions:
        return not any(not isinstance(n, (ast.Expr, ast.Pass, ast.Raise)) for n in tree.body)
    for fn in functions:
        body = [n for n in fn.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
        if not all(isinstance(n, (ast.Pass, ast.Raise)) or (
                isinstance(n, ast.Return) and (n.value is None or isinstance(n.value, ast.Constant)))
                for n in body):
            return False
    return True


def _group(source: str) -> str:
    """``reference:module.function`` -> ``reference:module``; solutions stay per cell."""
    return source.rsplit(".", 1)[0] if source.startswith("reference:") else source


def _question_number(grade_id: str) -> str:
    return grade_id.split("-")[0]


# -- the analysis -------------------------------------------------------------------------------

def analyse_cells(assignment: str, cells: dict[str, dict[str, str]], solution: dict[str, str],
                  behaviour: dict[str, dict[str, str]] | None = None,
                  references: dict[str, str] | None = None,
                  settings: Settings = Settings()) -> Analysis:
    """The findings for ``cells`` (student -> answer cell -> code); see the module doc."""
    start = time.perf_counter()
    questions = list(solution)
    students = sorted(cells)
    n = max(len(students), 1)
    cap = max(2, math.ceil(COMMON_SHARE * n))
    references = reference_sources() if references is None else references

    # fingerprints per student and question, the class's document frequencies, the stubs'
    prints: dict[str, dict[str, set[int]]] = {s: {} for s in students}
    df: dict[str, dict[int, int]] = {q: defaultdict(int) for q in questions}
    for s in students:
        for q in questions:
            code = cells[s].get(q, "")
            if code.strip() and not trivial(code):
                fp = fingerprints(_strip_markers(code), settings)
                prints[s][q] = fp
                for h in fp:
                    df[q][h] += 1
    stub = {q: fingerprints(_stub(src), settings) for q, src in solution.items()}

    def weight(q: str, h: int) -> float:
        d = df[q].get(h, 0)
        if h in stub[q] or d > cap or d == 0:
            return 0.0
        return math.log2(n / d) if n > d else 1.0

    distinctive = {s: {q: {h for h in fp if weight(q, h) > 0} for q, fp in prints[s].items()}
                   for s in students}
    # a cell's distinctiveness: the rarity of its rarest code (its fingerprints are not
    # independent evidence: one unusual line makes several of them)
    rarest = {s: {q: max((weight(q, h) for h in hs), default=0.0) for q, hs in distinctive[s].items()}
              for s in students}

    # shared distinctive weight per pair and question, through an inverted index
    shared: dict[frozenset, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for q in questions:
        holders: dict[int, list[str]] = defaultdict(list)
        for s in students:
            for h in distinctive[s].get(q, ()):
                holders[h].append(s)
        for h, who in holders.items():
            if len(who) < 2:
                continue
            w = weight(q, h)
            for i, a in enumerate(who):
                for b in who[i + 1:]:
                    cell = shared[frozenset((a, b))]
                    cell[q] = max(cell[q], w)

    # a pair: the rarity of what they share, cell by cell, added up (bits), over what the
    # less distinctive of the two could share at most
    needed = settings.pair_cells * math.log2(max(n, 4) / 2)
    findings: list[Finding] = []
    pairs: dict[frozenset, dict] = {}
    for key, per_q in shared.items():
        a, b = sorted(key)
        total = sum(per_q.values())
        possible = sum(min(rarest[a].get(q, 0.0), rarest[b].get(q, 0.0)) for q in questions) or 1.0
        pairs[key] = {"score": min(1.0, total / possible), "shared_weight": total, "behaviour": []}

    # behaviour: the same wrong numbers on class-common inputs, in few hands
    behaviour = behaviour or {}
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for s, per_test in behaviour.items():
        for test, d in per_test.items():
            groups[(test, d)].append(s)
    for (test, _), who in groups.items():
        if 2 <= len(who) <= settings.behaviour_max_group:
            for i, a in enumerate(sorted(who)):
                for b in sorted(who)[i + 1:]:
                    entry = pairs.setdefault(frozenset((a, b)), {"score": 0.0, "shared_weight": 0.0,
                                                                 "behaviour": []})
                    entry["behaviour"].append(test)

    for key, entry in pairs.items():
        a, b = sorted(key)
        code_flag = entry["score"] >= settings.pair_score and entry["shared_weight"] >= needed
        if not code_flag and not entry["behaviour"]:
            continue
        evidence = (["behaviour"] if entry["behaviour"] else []) + (["code"] if code_flag else [])
        per_q = shared.get(key, {})
        shown = False
        if code_flag:
            for q in questions:
                w = per_q.get(q, 0.0)
                own = min(rarest[a].get(q, 0.0), rarest[b].get(q, 0.0)) or 1.0
                if w > 0 and w / own >= settings.cell_score:
                    findings.append(Finding(q, [a, b], "", entry["score"], list(evidence),
                                            min(1.0, w / own), w))
                    shown = True
        for test in entry["behaviour"]:
            q = next((x for x in questions if _question_number(x) == _question_number(test)), test)
            findings.append(Finding(q, [a, b], "", entry["score"], list(evidence), 0.0,
                                    per_q.get(q, 0.0), f"the same wrong values in {test}"))
            shown = True
        if not shown:   # flagged on the notebook as a whole: show its closest cell
            q = max(per_q, key=per_q.get)
            findings.append(Finding(q, [a, b], "", entry["score"], list(evidence), 0.0, per_q[q]))

    # sources: the course's reference code and the solutions
    source_prints = {name: fingerprints(code, settings) for name, code in references.items()}
    for q, src in solution.items():
        source_prints[f"solution:{q}"] = fingerprints(_strip_markers(src), settings)
    source_code = dict(references)
    source_code.update({f"solution:{q}": _strip_markers(src) for q, src in solution.items()})
    if len(students) < MIN_CLASS:   # only the markers and the behaviour say anything here
        findings = [f for f in findings if "behaviour" in f.evidence]
        rarity_known = False
    else:
        rarity_known = True
    index: dict[int, list[str]] = defaultdict(list)
    for name, fp in source_prints.items():
        for h in fp:
            index[h].append(name)
    for s in students:
        for q in questions:
            code = cells[s].get(q, "")
            if any(MARKER.search(line) for line in code.splitlines()) and q in solution:
                findings.append(Finding(q, [s], f"solution:{q}", 1.0, ["markers", "source"], 1.0, 0.0,
                                        "the answer cell holds the solution notebook's "
                                        "BEGIN/END SOLUTION markers"))
                continue
            if not rarity_known:
                continue
            mine = {h: weight(q, h) or (1.0 if df[q].get(h, 0) <= 1 and h not in stub[q] else 0.0)
                    for h in prints[s].get(q, ())}
            mine = {h: w for h, w in mine.items() if w > 0}
            if not mine:
                continue
            # by module: a cell may copy several functions of one reference module
            hits: dict[str, float] = defaultdict(float)
            counts: dict[str, int] = defaultdict(int)
            names: dict[str, set[str]] = defaultdict(set)
            for h, w in mine.items():
                groups = {_group(name) for name in index.get(h, ())}
                for name in index.get(h, ()):
                    names[_group(name)].add(name)
                for group in groups:
                    hits[group] += w
                    counts[group] += 1
            own = sum(mine.values())
            for group, w in hits.items():
                if counts[group] >= settings.source_prints and w / own >= settings.source_score:
                    findings.append(Finding(q, [s], group, min(1.0, w / own), ["source"],
                                            min(1.0, w / own), w, ", ".join(sorted(names[group]))))

    # the solutions: a student whose code is the solution's in one short cell may have written
    # it alike; in two cells or more, the solution is listed (markers always are)
    per_student = defaultdict(list)
    for f in findings:
        if f.source.startswith("solution:") and "markers" not in f.evidence:
            per_student[f.students[0]].append(f)
    lone = {id(fs[0]) for fs in per_student.values() if len(fs) < 2}
    findings = [f for f in findings if id(f) not in lone]

    def rank(f: Finding):
        return (-("markers" in f.evidence), -("behaviour" in f.evidence), -f.score,
                -f.cell_score, f.question, f.students)

    findings.sort(key=rank)
    return Analysis(assignment, students, questions, findings, cells, source_code,
                    time.perf_counter() - start, pairs)


def analyse(course_root: Path, assignment: str, settings: Settings = Settings()) -> Analysis:
    """:func:`analyse_cells` for the graded submissions of ``assignment`` in a course folder."""
    solution = answer_cells(course_root, assignment)
    if not solution:
        raise FileNotFoundError(f"no answer cells in {Path(course_root) / 'solutions' / assignment}")
    cells = student_cells(course_root, assignment, list(solution))
    return analyse_cells(assignment, cells, solution, behaviour_digests(course_root, assignment),
                         settings=settings)


def side_by_side(left: str, right: str) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
    """Each side's lines, marked True where the line's normalised code (names, comments and
    layout ignored) is also a line of the other side."""
    def keys(code: str) -> list[str]:
        return [normalised(line.strip()) if line.strip() else "" for line in code.splitlines()]

    lk, rk = keys(left), keys(right)
    ls, rs = {k for k in lk if len(k) > 3}, {k for k in rk if len(k) > 3}
    return ([(line, k in rs) for line, k in zip(left.splitlines(), lk)],
            [(line, k in ls) for line, k in zip(right.splitlines(), rk)])
