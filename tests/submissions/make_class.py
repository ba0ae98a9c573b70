"""A scripted class: the same messy mix of submissions for every chapter, seeded.

:func:`roster` says who hands in what for one assignment (:class:`Student`: the kind of
submission, how late, what the grader must report and score); :func:`lay_out` writes those
submissions into a course's ``submitted/`` folder as nbgrader's collect would (a
``timestamp.txt`` beside each notebook).  Everything is built from the course's own
notebooks, for any chapter: the released exercise with the solution's answers
(``student_helpers``), then left unfinished, got wrong, crashed or misfiled in one way.

The first students of every roster are :data:`CORE`, one of each kind (several anomalies
combined in one student where they do not interfere), so that a small class still shows
every anomaly; a larger class is filled up from :data:`MIX` with a seeded generator
(weights of a real class: mostly correct or partly wrong, some late, a few broken).

Every roster also holds the *planted* students of :data:`PLANTED` (issue 25): a student
with a style of their own and a classmate who copied them (local variables renamed,
independent statements reordered, comments and dead code added: ``copies.py``), a student
who handed in the course's reference code adapted to the exercise's names
(:data:`REFERENCE`), two students who share the same unusual wrong answer (:data:`BUGS`),
and three who make classic mistakes of the catalogue (two the same one, :data:`MISTAKES`).
Students who work on their own (correct, crashing, late...) write in styles of their own:
the catalogue of correct variants (``tests/variants/``), seeded by their id, so that no two
of them hand in the same code.  :func:`planted_pairs` lists the pairs a similarity check
must find.

Run ``python tests/submissions/make_class.py OUT_DIR [SIZE]`` to write one class per
chapter into ``OUT_DIR/<assignment>/<student>/`` for inspection.
"""
from __future__ import annotations

import ast
import functools
import json
import os
import random
import shutil
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]
import copies  # noqa: E402
import make_submissions as subs  # noqa: E402
import variants  # noqa: E402
from student_helpers import ASSIGNMENTS, ROOT, exercise_path, filled_exercise, solution_answers  # noqa: E402

DUE = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
# seconds late: inside the grace period, one started hour, the 6 h 30 min, a day and
# two, past the 50 % cap
LATENESS = (600, 40 * 60, 23400, 26 * 3600, 180000, 5 * 24 * 3600)
SCRATCH = "scratch.ipynb"
RENAMED = "Copy of {nb}"

# what each kind of notebook is graded as: "full", "zero", "partial" (the questions it
# names lost), None (refused at intake: no kernel starts)
OUTCOME = {"correct": "full", "styled": "full", "solution-copy": "full", "crash": "full",
           "own-style": "full", "copy": "full", "reference": "full", "shared-bug": "partial",
           "mistake": "partial",
           "unanswered": "partial", "wrong": "partial", "loop": "partial", "blank": "zero",
           "renamed": None, "no-notebook": None, "empty": None, "symlink": None, "deep": None,
           "huge": None, "not-a-notebook": None, "other-assignment": None}
# the phrase the autograde table and every export must show (intake's wording), by refused
# kind or by what else the folder holds (``extras``)
ANOMALY = {
    "two-notebooks": f"2 notebooks: graded {{nb}}; not graded: {SCRATCH}",
    "extra-files": "ignored (not part of the assignment): data.csv, figures/",
    "renamed": ("renamed notebook: found {renamed}, expected {nb}; if it is the student's "
                "work: python -m grader accept -- {a} {student} '{renamed}'"),
    "no-notebook": "no notebook of this assignment: expected {nb}, found answers.txt",
    "empty": "empty submission: the folder holds no file",
    "symlink": "{nb} is a symbolic link",
    "deep": "{nb} nests JSON more than 64 levels deep: not a notebook",
    "huge": "{nb} has 2100 cells (the limit is 2000)",
    "not-a-notebook": "{nb} is not valid JSON",
    "other-assignment": "{nb} does not come from this assignment's exercise",
}


@dataclass(frozen=True)
class Student:
    """One submission of the class, and what grading it must give."""

    student: str
    kind: str
    late: int | None = None           # seconds after the due date (None: no timestamp.txt)
    extras: tuple[str, ...] = ()      # "two-notebooks", "extra-files": what else the folder holds
    questions: tuple[str, ...] = ()   # unanswered / wrong / loop: the answer cells concerned
    source: str = ""                  # copy: whose work; mistake: the catalogue's id

    @property
    def graded(self) -> bool:
        return OUTCOME[self.kind] is not None

    @property
    def outcome(self) -> str | None:
        return OUTCOME[self.kind]

    @property
    def lost(self) -> tuple[str, ...]:
        """The test cells that must score 0 (``q3-rnn-cell`` is tested by ``q3-tests``)."""
        return tuple(f"{q.split('-')[0]}-tests" for q in self.questions)

    def anomalies(self, assignment: str) -> list[str]:
        """What the table and the exports must say about this submission."""
        nb = f"{assignment}.ipynb"
        return [ANOMALY[k].format(nb=nb, a=assignment, student=self.student,
                                  renamed=RENAMED.format(nb=nb))
                for k in (self.kind, *self.extras) if k in ANOMALY]


# Every kind, several anomalies in one student where they do not interfere, late by
# different amounts (a blank notebook handed in late loses nothing: the penalty is a share of
# the earned score).  The first 13 show every anomaly and every way to lose points; then a
# plain correct notebook on time, the instructor's own notebook, and an answer that loops
# until its cell's time limit (that costs the whole limit of one core).
CORE = (
    ("correct", 23400, ()), ("unanswered", 180000, ("extra-files",)), ("wrong", 600, ()),
    ("blank", 40 * 60, ()), ("crash", None, ("two-notebooks",)), ("renamed", None, ()),
    ("no-notebook", None, ()), ("empty", None, ()), ("symlink", None, ()), ("deep", None, ()),
    ("huge", None, ()), ("not-a-notebook", None, ()), ("other-assignment", None, ()),
    ("correct", -3600, ()), ("solution-copy", None, ()), ("loop", 5 * 24 * 3600, ()),
)
# a class's mix: kind -> weight; and how often a graded folder holds more than its notebook
MIX = {"correct": 30, "unanswered": 14, "wrong": 12, "blank": 3, "crash": 3, "loop": 2,
       "styled": 6, "solution-copy": 1, "renamed": 4, "no-notebook": 2, "empty": 2, "symlink": 1,
       "deep": 1, "huge": 1, "not-a-notebook": 2, "other-assignment": 2}
EXTRAS = {"two-notebooks": 0.06, "extra-files": 0.1}
# ids a real class has: accents, Chinese, Cyrillic, Vietnamese
UNICODE_IDS = ("李华", "zoë.müller", "андрей", "ngô_bảo")

# The planted students of every chapter (issue 25), after CORE: (id, kind, source).
PLANTED = (
    ("p1-own-style", "own-style", ""), ("p2-copy", "copy", "p1-own-style"),
    ("p3-reference", "reference", ""), ("p4-bug", "shared-bug", ""), ("p5-bug", "shared-bug", ""),
    ("p6-mistake", "mistake", "m1"), ("p7-mistake", "mistake", "m1"), ("p8-mistake", "mistake", "m2"),
)
# per chapter, the two classic mistakes of the catalogue the planted students make (m1 twice)
MISTAKES = {
    "01_rnn_by_hand": {"m1": "forward-forgot-output-bias", "m2": "linear-still-has-tanh"},
    "02_hmm_dice": {"m1": "viterbi-forgot-start", "m2": "counting-ignored-pseudocount"},
    "03_embeddings": {"m1": "cross-entropy-summed", "m2": "rnn-forgot-tanh"},
    "04_rnnlm": {"m1": "perplexity-mean-of-exp", "m2": "loss-divided-by-all-positions"},
    "05_mrnn": {"m1": "temperature-not-clipped", "m2": "noise-missing-minus"},
    "06_tang_poems": {"m1": "vocabulary-ties-first-seen", "m2": "write-eos-dropped"},
}
# per chapter, a wrong answer no catalogue names, made by both shared-bug students
BUGS = {
    "01_rnn_by_hand": ("q6-batch", "    h = np.asarray(h0, dtype=float)\n",
                       "    h = np.asarray(h0, dtype=float) * 0.9\n"),
    "02_hmm_dice": ("q3-forward", "        scales[t] = unnormalised.sum()",
                    "        scales[t] = unnormalised.sum() + 1e-3"),
    "03_embeddings": ("q6-softmax-ce", "    return float(loss), dlogits / N",
                      "    return float(loss), dlogits / (N + 1)"),
    "04_rnnlm": ("q4-time-affine", '        self.grads["b"] += d2.sum(axis=0)',
                 '        self.grads["b"] += 0.5 * d2.sum(axis=0)'),
    "05_mrnn": ("q2-gumbel-softmax", "    return softmax((logits + noise) / tau)",
                "    return softmax((logits + noise) / (tau + 0.1))"),
    "06_tang_poems": ("q3-sample-next", "    z = scores / temperature",
                      "    z = scores / (temperature * 1.5)"),
}
# per chapter, an answer cell handed in as the course's reference code (grader/reference/),
# adapted to the exercise's names: (answer cell, [(module, function, [(old, new), ...])])
REFERENCE = {
    "01_rnn_by_hand": ("q3-rnn-cell", [
        ("rnn_by_hand", "_input_term", []),
        ("rnn_by_hand", "rnn_step", [("def rnn_step(", "def rnn_cell("),
                                     (', activation: str = "tanh"', ""),
                                     ("ACTIVATIONS[activation](before_activation)",
                                      "np.tanh(before_activation)")])]),
    "02_hmm_dice": ("q5-viterbi", [
        ("hmm", "viterbi", [("def viterbi(hmm: HMM, obs)", "def viterbi(start, A, B, obs)"),
                            ('obs = _check_sequence(obs, hmm.M, "obs")', "obs = np.asarray(obs)"),
                            ("hmm.K", "len(start)"), ("hmm.start", "start"), ("hmm.A", "A"),
                            ("hmm.B", "B")])]),
    "03_embeddings": ("q1-one-hot", [("embeddings", "one_hot", [])]),
    "04_rnnlm": ("q6-batches", [("rnnlm", "batch_offsets", [])]),
    "05_mrnn": ("q1-gumbel-noise", [("gumbel", "gumbel_noise", [])]),
    "06_tang_poems": ("q3-sample-next", [("rnnlm", "sample_index", [("def sample_index(",
                                                                     "def sample_next(")])]),
}


@functools.lru_cache(maxsize=None)
def _catalogue(assignment: str) -> tuple:
    import mistakes

    return tuple(next(e for a, e in mistakes.catalogue().values() if a == assignment))


@functools.lru_cache(maxsize=None)
def _answer_ids(assignment: str) -> tuple[str, ...]:
    return tuple(solution_answers(assignment))


def roster(assignment: str, size: int = len(CORE), seed: int = 15) -> list[Student]:
    """``size`` students for ``assignment``: :data:`CORE` first, then a seeded mix."""
    rng = random.Random(f"{seed}-{assignment}")
    answers = _answer_ids(assignment)

    def make(i: int, kind: str, late: int | None, extras: tuple[str, ...]) -> Student:
        questions: tuple[str, ...] = ()
        if kind in ("unanswered", "wrong"):
            questions = tuple(sorted(rng.sample(answers, rng.randint(1, max(1, len(answers) // 2)))))
        elif kind == "loop":
            questions = (rng.choice(answers),)
        name = f"s{i:02d}-{kind}"
        if i % 9 == 4 and OUTCOME[kind] is not None:
            name = f"{UNICODE_IDS[(i // 9) % len(UNICODE_IDS)]}-{i:02d}"
        return Student(name, kind, late, extras, questions)

    students = [make(i, *spec) for i, spec in enumerate(CORE[:size], 1)]
    for name, kind, source in PLANTED:
        questions = ()
        if kind == "shared-bug":
            questions = (BUGS[assignment][0],)
        elif kind == "mistake":
            (m,) = [m for m in _catalogue(assignment) if m.id == MISTAKES[assignment][source]]
            questions, source = (m.answer,), m.id
        students.append(Student(name, kind, None, (), questions, source))
    kinds, weights = zip(*MIX.items())
    for i in range(len(CORE[:size]) + 1, size + 1):
        kind = rng.choices(kinds, weights)[0]
        late, extras = None, ()
        if OUTCOME[kind] is not None:
            late = rng.choice(LATENESS) if rng.random() < 0.25 else -rng.randint(60, 72 * 3600)
            extras = tuple(e for e, p in EXTRAS.items() if rng.random() < p)
        students.append(make(i, kind, late, extras))
    return students


# --- the notebooks ---------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _filled(assignment: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        return Path(filled_exercise(assignment, Path(tmp) / "filled.ipynb")).read_text()


@functools.lru_cache(maxsize=None)
def _stub(assignment: str) -> dict[str, str]:
    """grade_id -> the released (unanswered) source of every answer cell."""
    return {c.metadata["nbgrader"]["grade_id"]: c.source
            for c in nbformat.read(exercise_path(assignment), as_version=4).cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def wrong_answer(source: str) -> str:
    """The answer's functions, each returning ``None`` ('' when the answer defines a class)."""
    body = ast.parse(source).body
    names = [n.name for n in body if isinstance(n, ast.FunctionDef)]
    if not names or any(isinstance(n, ast.ClassDef) for n in body):
        return ""
    return "\n\n\n".join(f"def {n}(*args, **kwargs):\n    return None  # not finished"
                          for n in names) + "\n"


def reference_answer(assignment: str) -> tuple[str, str]:
    """(answer cell, its source): the course's reference code adapted to the exercise's names,
    with the cell's other functions as the solution writes them."""
    import importlib
    import inspect

    answer, parts = REFERENCE[assignment]
    pieces, replaced = [], set()
    for module, function, edits in parts:
        source = inspect.getsource(getattr(importlib.import_module(f"grader.reference.{module}"),
                                           function))
        for old, new in edits:
            assert source.count(old) >= 1, (assignment, function, old)
            source = source.replace(old, new)
        pieces.append(source.strip("\n"))
        replaced.add(ast.parse(source).body[0].name)
    for node in ast.parse(solution_answers(assignment)[answer]).body:
        if not (isinstance(node, ast.FunctionDef) and node.name in replaced):
            pieces.append(ast.get_source_segment(solution_answers(assignment)[answer], node))
    return answer, "\n\n\n".join(pieces) + "\n"


def answers_of(assignment: str, who: Student) -> dict[str, str]:
    """Every answer cell of a student who answers (the kinds handled in :func:`notebook`)."""
    answers = solution_answers(assignment)
    own = random.Random(f"style-{assignment}-{who.student}")
    entries = variants.by_assignment()[assignment]
    if who.kind == "copy":
        source = Student(who.source, "own-style")
        return copies.copy_of(answers_of(assignment, source), random.Random(f"copy-{who.student}"))
    if who.kind == "mistake":
        (m,) = [m for m in _catalogue(assignment) if m.id == who.source]
        answers = dict(answers, **{m.answer: m.apply(answers[m.answer])})
    elif who.kind == "shared-bug":
        q, old, new = BUGS[assignment]
        assert answers[q].count(old) == 1, (assignment, who.student, old)
        answers = dict(answers, **{q: answers[q].replace(old, new)})
    styled = copies.own_style(answers, entries, own)
    if who.kind == "own-style":   # debugging lines of their own left in: what a copy keeps
        styled = {q: copies.add_dead_code(src, own) for q, src in styled.items()}
    if who.kind == "reference":
        q, source = reference_answer(assignment)
        styled[q] = source
    return styled


def notebook(assignment: str, who: Student) -> nbformat.NotebookNode:
    """The notebook ``who`` hands in (a renamed one holds correct answers)."""
    kind = who.kind
    if kind == "blank":
        return nbformat.read(exercise_path(assignment), as_version=4)
    if kind == "solution-copy":
        return nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    nb = nbformat.reads(_filled(assignment), as_version=4)
    for q, source in answers_of(assignment, who).items():
        subs.set_answer(nb, q, source)
    stub, first = _stub(assignment), _answer_ids(assignment)[0]
    if kind == "unanswered":
        for q in who.questions:
            subs.set_answer(nb, q, stub[q])
    elif kind == "wrong":
        answers = solution_answers(assignment)
        for q in who.questions:
            subs.set_answer(nb, q, wrong_answer(answers[q]) or stub[q])
    elif kind == "loop":
        (q,) = who.questions
        subs.set_answer(nb, q, "while True:\n    pass\n")
    elif kind == "styled":
        nb.cells.append(nbformat.v4.new_code_cell("_step = None  # a name of my own\nprint('done')"))
    elif kind == "crash":
        # after the first answer, cells of the student's own: one raises, one kills the
        # kernel (restarted, the cells before replayed), one reuses a name of the grader's
        subs.insert_after(nb, first, "_step = None  # a name of my own")
        subs.insert_after(nb, first, "import os\nos._exit(1)")
        subs.insert_after(nb, first, "raise ValueError('my own scratch cell')")
    return nb


def _timestamp(late: int) -> str:
    return (DUE + timedelta(seconds=late)).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def lay_out(course_root: Path, assignment: str, students: list[Student]) -> None:
    """Write every student's submission into ``course_root/submitted/<student>/<assignment>/``."""
    name = f"{assignment}.ipynb"
    for who in students:
        folder = Path(course_root) / "submitted" / who.student / assignment
        folder.mkdir(parents=True)
        if who.late is not None:
            (folder / "timestamp.txt").write_text(_timestamp(who.late))
        kind = who.kind
        if kind == "empty":
            continue
        if kind == "no-notebook":
            (folder / "answers.txt").write_text("I did it on paper")
        elif kind == "symlink":
            # relative: the link still aims at this course's solutions in a copy of the course
            (folder / name).symlink_to(Path("..", "..", "..", "solutions", assignment, name))
        elif kind == "deep":
            (folder / name).write_text("[" * 200_000 + "]" * 200_000)
        elif kind == "huge":
            nb = nbformat.read(exercise_path(assignment), as_version=4)
            nb.cells += [nbformat.v4.new_code_cell(f"x = {i}") for i in range(2100 - len(nb.cells))]
            nbformat.write(nb, folder / name)
        elif kind == "not-a-notebook":
            (folder / name).write_text("this is not a notebook")
        elif kind == "other-assignment":
            other = next(a for a in ASSIGNMENTS if a != assignment)
            shutil.copyfile(exercise_path(other), folder / name)
        else:
            target = RENAMED.format(nb=name) if kind == "renamed" else name
            nb = notebook(assignment, who if kind != "renamed" else Student(who.student, "correct"))
            nbformat.write(nb, folder / target)
        if "two-notebooks" in who.extras:
            shutil.copyfile(exercise_path(assignment), folder / SCRATCH)
        if "extra-files" in who.extras:
            (folder / "data.csv").write_text("x\n1\n")
            (folder / "figures").mkdir()


def planted_pairs(students: list[Student]) -> dict[frozenset, str]:
    """The pairs a similarity check must find: {students: why}, "copy" or "shared-bug"."""
    out = {}
    for s in students:
        if s.kind == "copy":
            out[frozenset((s.student, s.source))] = "copy"
    bugs = [s.student for s in students if s.kind == "shared-bug"]
    for i, a in enumerate(bugs):
        for b in bugs[i + 1:]:
            out[frozenset((a, b))] = "shared-bug"
    return out


def describe(students: list[Student]) -> dict:
    """The roster as plain data (for a test's log or a JSON file)."""
    return {s.student: {"kind": s.kind, "late": s.late, "extras": list(s.extras),
                        "questions": list(s.questions), "source": s.source} for s in students}


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = Path(sys.argv[1])
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    for a in ASSIGNMENTS:
        (out / a).mkdir(parents=True, exist_ok=True)
        shutil.copytree(ROOT / "solutions" / a, out / a / "solutions" / a, dirs_exist_ok=True)
        people = roster(a, size)
        lay_out(out / a, a, people)
        (out / a / "roster.json").write_text(json.dumps(describe(people), indent=1, ensure_ascii=False))
        print(a, len(people), "students:", os.fspath(out / a))
