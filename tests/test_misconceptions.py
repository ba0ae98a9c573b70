"""Why a question failed, read back: every kind of grader.checks failure is recognised from its
message alone (what a visible test leaves in the kernel's output) as the grader's own exception
says (what a hidden test raises in the grader), in English and in Chinese (a Chinese message's
mistake counted under its English name), and a hidden failure's student message names the
mistake, in the notebook's language, without a number of the hidden test.
"""
from __future__ import annotations

import ast
import re
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from grader import checks, i18n
from grader.grading import misconceptions
from grader.i18n_zh import MESSAGES
from grader.translate import strings

ROOT = Path(__file__).resolve().parent.parent

EXPECTED = np.array([[0.25, 0.75], [0.6, 0.4]])
NAME = "you scaled the rows by a secret factor"
# a failure of each kind, made by the real helpers: (kind, call(label, mistake, hint))
CASES = [
    ("named", lambda p, m, h: checks.check_close(EXPECTED * 3.5, EXPECTED, p, mistakes={m: EXPECTED * 3.5},
                                                 hint=h)),
    ("axes", lambda p, m, h: checks.check_close(EXPECTED.T, EXPECTED, p)),
    ("zeros", lambda p, m, h: checks.check_close(np.zeros((2, 2)), EXPECTED, p, hint=h)),
    ("sign", lambda p, m, h: checks.check_close(-EXPECTED, EXPECTED, p)),
    ("factor", lambda p, m, h: checks.check_close(EXPECTED * 2.5, EXPECTED, p, hint=h)),
    ("normalise", lambda p, m, h: checks.check_close(EXPECTED * [[2.0], [3.0]], EXPECTED, p)),
    ("none", lambda p, m, h: checks.check_close(None, EXPECTED, p, hint=h)),
    ("type", lambda p, m, h: checks.check_close("words", EXPECTED, p)),
    ("shape", lambda p, m, h: checks.check_close(np.ones(3), EXPECTED, p)),
    ("axes", lambda p, m, h: checks.check_shape(np.ones((3, 2, 4)), (2, 3, 4), p, axes=("N", "T", "H"))),
    ("float32", lambda p, m, h: checks.check_close(EXPECTED.astype(np.float32) + 1, EXPECTED, p)),
    ("nonfinite", lambda p, m, h: checks.check_close(EXPECTED * np.nan, EXPECTED, p, hint=h)),
    ("values", lambda p, m, h: checks.check_close(EXPECTED + [[0.1, 0.0], [0.0, 0.0]], EXPECTED, p, hint=h)),
    ("raises", lambda p, m, h: checks.check_raises(lambda a: a, (1,), ValueError, p)),
    ("unanswered", lambda p, m, h: checks.check_raises(_unanswered, (1,), ValueError, p)),
    ("named", lambda p, m, h: checks.check_equal((2, 3), (3, 2), p, mistakes={m: (2, 3)})),
    ("values", lambda p, m, h: checks.check_equal((2, 4), (3, 2), p)),
]
IDS = [f"{k}-{i}" for i, (k, _) in enumerate(CASES)]
# a label, a classic mistake and a hint of chapter 1 and 2's test cells, which the catalogue translates
ZH_LABEL, ZH_NAME, ZH_HINT = "step 1, state", "you forgot the tanh", "divide each step's vector by its sum"


def _unanswered(_):
    raise NotImplementedError


def _failure(call, label="p", mistake=NAME, hint="", language="en") -> checks.CheckFailure:
    with i18n.using(language), pytest.raises(checks.CheckFailure) as info:
        call(label, mistake, hint)
    return info.value


@pytest.mark.parametrize("kind, call", CASES, ids=IDS)
def test_each_kind_is_recognised_from_the_exception_and_from_the_message(kind, call):
    exc = _failure(call)
    assert exc.kind == kind
    hidden = misconceptions.from_hidden_failure(exc, "CheckFailure", str(exc))
    assert hidden["kind"] == kind and hidden["stage"] == "hidden"
    known = misconceptions.Known([f"check(x, mistakes={{{NAME!r}: x}})"])
    visible = misconceptions.from_kernel_error("CheckFailure", str(exc), known)
    assert visible["kind"] == kind, (str(exc), visible)
    if kind == "named":
        assert hidden["mistake"] == visible["mistake"] == NAME


def test_a_forged_mistake_name_does_not_count():
    """The kernel's message is the student's to forge: only names the trusted source holds count."""
    forged = "p is wrong: it looks like <script>alert(1)</script>.\n  expected: 1\n  got:      2"
    record = misconceptions.from_kernel_error("CheckFailure", forged,
                                              misconceptions.Known(["check_close(x, 1.0)"]))
    assert record["kind"] == "values" and record["mistake"] == ""


def test_f_string_names_count_as_their_pattern():
    known = misconceptions.Known(['check_close(a, b, mistakes={f"you divided by {k} instead": c})'])
    record = misconceptions.from_kernel_error(
        "CheckFailure", "x is wrong: it looks like you divided by 7 instead.\n  expected: 1", known)
    assert record == misconceptions.record("visible", "named", "you divided by … instead", "x",
                                           "CheckFailure")


@pytest.mark.parametrize("kind, call", CASES, ids=IDS)
def test_hidden_failures_tell_the_student_without_numbers(kind, call):
    exc = _failure(call)
    text = misconceptions.for_student(exc, str(exc))
    assert "  expected: " not in text and "  got: " not in text
    for value in ("0.25", "0.75", "0.6", "0.4", "2.5", "3.5"):
        assert value not in text, (kind, text)
    if kind == "named":
        assert NAME in text
    assert misconceptions.HIDDEN_NOTE in text


def test_instructor_messages_and_student_errors_are_kept():
    err = ValueError("shapes (3,) and (2,2) not aligned")
    assert misconceptions.for_student(err, str(err)) == str(err)
    assert misconceptions.from_hidden_failure(err, "ValueError", str(err))["kind"] == "error"
    assert misconceptions.from_kernel_error("DeadKernelError", "died", misconceptions.Known([]))[
        "kind"] == "crashed"
    assert re.search("not answered", misconceptions.describe({"kind": "unanswered"}))


# -- in Chinese ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, call", CASES, ids=IDS)
def test_a_chinese_failure_is_recognised_as_its_english_twin(kind, call):
    """The same failure in both languages gives the same record: the kind, the mistake's and
    the check's English names (what the class report counts), read from the Chinese message."""
    known = misconceptions.Known([f"check(x, {ZH_LABEL!r}, mistakes={{{ZH_NAME!r}: x}})"])
    records = {}
    for language in i18n.LANGUAGES:
        exc = _failure(call, ZH_LABEL, ZH_NAME, ZH_HINT, language)
        if language == "zh":
            assert re.search(r"[\u4e00-\u9fff]", str(exc)), str(exc)   # it is Chinese
            assert " is wrong" not in str(exc) and "Hint:" not in str(exc)
        visible = misconceptions.from_kernel_error("CheckFailure", str(exc), known)
        hidden = misconceptions.from_hidden_failure(exc, "CheckFailure", str(exc))
        assert visible["kind"] == hidden["kind"] == kind, (language, str(exc), visible)
        assert visible["mistake"] == hidden["mistake"] == (ZH_NAME if kind == "named" else "")
        records[language] = visible
    assert records["zh"] == records["en"]
    assert records["en"]["check"] in (ZH_LABEL, f"{ZH_LABEL}(1)")


@pytest.mark.parametrize("kind, call", CASES, ids=IDS)
def test_a_chinese_hidden_failure_tells_the_student_in_chinese_without_numbers(kind, call):
    exc = _failure(call, ZH_LABEL, ZH_NAME, ZH_HINT, "zh")
    text = misconceptions.for_student(exc, str(exc), "zh")
    assert text.endswith(MESSAGES[misconceptions.HIDDEN_NOTE]), text
    assert text.startswith(MESSAGES[ZH_LABEL]), text
    for english in ("is wrong", "Hint:", "expected", "hidden test", ZH_NAME):
        assert english not in text, (english, text)
    assert MESSAGES["expected: "] not in text and MESSAGES["got:      "] not in text
    for value in ("0.25", "0.75", "0.6", "0.4", "2.5", "3.5"):
        assert value not in text, (kind, text)
    if kind == "named":
        assert MESSAGES[ZH_NAME] in text and "提示" not in text    # a named mistake needs no hint
    elif kind in ("zeros", "factor", "none", "nonfinite", "values") and call.__code__.co_names[-1] \
            == "check_close":
        assert f"提示：{MESSAGES[ZH_HINT]}" in text
    assert misconceptions.for_student(exc, str(exc), "en") != text   # the language is the caller's


def _templates_written_by_checks() -> tuple[set, set, set]:
    """(every template checks.py passes to _t, (kind, template) of each CheckFailure whose message
    begins with a template and whose kind is a literal, (kind, template) of each diagnosis)."""
    tree = ast.parse((ROOT / "grader" / "checks.py").read_text(encoding="utf-8"))
    templates, failures, diagnoses = set(), set(), set()

    def leading(node):
        while isinstance(node, ast.BinOp):
            node = node.left
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "_t" and \
                isinstance(node.args[0], ast.Constant):
            return node.args[0].value
        return None

    functions = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "_t":
            templates.add(node.args[0].value)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "CheckFailure" and node.args:
            kind = next((k.value.value for k in node.keywords
                         if k.arg == "kind" and isinstance(k.value, ast.Constant)), None)
            if kind and leading(node.args[0]):
                failures.add((kind, leading(node.args[0])))
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple) and \
                len(node.value.elts) == 2 and isinstance(node.value.elts[0], ast.Constant) and \
                node.value.elts[0].value:
            kind, what = node.value.elts[0].value, node.value.elts[1]
            if leading(what):
                diagnoses.add((kind, leading(what)))
            elif isinstance(what, ast.Call) and getattr(what.func, "id", "") in functions:
                for inner in ast.walk(functions[what.func.id]):   # _axes_sentence's sentences
                    if isinstance(inner, ast.Return) and leading(inner.value):
                        diagnoses.add((kind, leading(inner.value)))
    return templates, failures, diagnoses


def test_the_templates_read_back_are_the_ones_checks_writes():
    """misconceptions.py names checks.py's templates, kind for kind, and nothing else: a new
    kind of message in checks.py, or a template reworded, fails here until it is listed."""
    templates, failures, diagnoses = _templates_written_by_checks()
    listed = set(misconceptions.MESSAGES) | {("named", misconceptions.LOOKS_LIKE)}
    assert failures - listed == set()
    assert set(misconceptions.DIAGNOSES) == diagnoses
    for _, template in [*misconceptions.MESSAGES, *misconceptions.DIAGNOSES,
                        ("", misconceptions.LOOKS_LIKE), ("", misconceptions.HINT)]:
        assert template in templates, template
        assert template in MESSAGES, template   # read back in Chinese through its translation


def test_a_translated_name_maps_back_to_the_english_it_translates():
    assert misconceptions.english_of("你忘了 tanh", "zh") == ["you forgot the tanh", "你忘了 tanh"]
    assert misconceptions.english_of("状态（T=3，H=2）", "zh")[0] == "states (T=3, H=2)"
    assert misconceptions.english_of("you forgot the tanh", "en") == ["you forgot the tanh"]
    # chapter 2's forward and Viterbi tests name two mistakes with one translation: the
    # failing cell's own source decides
    shared = MESSAGES["you left out the start probabilities at the first step"]
    assert MESSAGES["you left out the start probabilities of the first step"] == shared
    nb = nbformat.read(ROOT / "solutions" / "02_hmm_dice" / "02_hmm_dice.ipynb", as_version=4)
    cells = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
             if c.metadata.get("nbgrader", {}).get("grade")}
    known = misconceptions.Known(list(cells.values()))
    message = f"fair dice: alphas 不对：看起来{shared}。\n  正确答案：[1. 2.]\n  你的答案：[2. 1.]"
    for cell, english in (("q3-tests", "at the first step"), ("q5-tests", "of the first step")):
        record = misconceptions.from_kernel_error("CheckFailure", message, known,
                                                  misconceptions.Known([cells[cell]]))
        assert record["kind"] == "named" and record["mistake"].endswith(english), (cell, record)


def test_no_two_texts_a_failing_cell_can_name_share_a_translation():
    """Which English name a Chinese one stands for is decided by the failing test cell's own
    source, then the notebook's: so no two texts of one test cell and the locked cells, which
    every test can use, may share a translation."""
    for path in sorted((ROOT / "solutions").glob("*/[0-9]*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        meta = [(c, c.metadata.get("nbgrader", {})) for c in nb.cells if c.cell_type == "code"]
        shared = [t for c, m in meta if m.get("locked") and not m.get("grade")
                  for t in strings.cell_strings(c.source).strings]
        for cell, m in meta:
            if not m.get("grade"):
                continue
            texts = {t for t in [*strings.cell_strings(cell.source).strings, *shared] if t in MESSAGES}
            translations = [MESSAGES[t] for t in texts]
            assert len(set(translations)) == len(translations), (path.name, m["grade_id"], sorted(
                t for t in texts if translations.count(MESSAGES[t]) > 1))


def test_a_forged_chinese_mistake_does_not_count_and_a_forged_message_parses_fast():
    known = misconceptions.Known(["check_close(x, 1.0, mistakes={'you forgot the tanh': 2.0})"])
    forged = "p 不对：看起来你忘了 softmax。\n  正确答案：1\n  你的答案：2"
    record = misconceptions.from_kernel_error("CheckFailure", forged, known)
    assert record["kind"] == "values" and record["mistake"] == ""
    # separators of every template repeated, never completed: matching stays linear
    pieces = ["：第 ", " 行第 ", ": expected shape ", ", got ", " 不对：看起来", "（K=", "，M=",
              ": the axes are in the wrong order: ", " should raise ", "，却抛出了 "]
    message = "".join(pieces * 400)[:20_000]
    forged = [message, "x 不对：看起来" + message.replace("\n", " ") + "。",
              "(" * 5000 + " should raise ValueError, but returned normally.",
              ("it looks like x" * 1400)[:20_000] + ".", "\n".join(["灌铅、转移受限的骰子：" * 90] * 30)]
    start = time.process_time()
    for text in forged:
        misconceptions.from_kernel_error("CheckFailure", text, known)
        misconceptions.from_hidden_failure(AssertionError(text), "AssertionError", text)
    # ~30 ms; one regular expression with a lazy group per placeholder took 14 s on 2 kB of this
    assert time.process_time() - start < 2.0
