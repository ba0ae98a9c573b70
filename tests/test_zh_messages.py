"""The Chinese catalogue of student-facing messages (grader/i18n_zh.py) is complete and exact.

Every message template of the kit (grader/checks.py, the self-check, grader check) and every
name, hint and classic mistake that a translated chapter's test cells pass to the helpers
must have a translation with exactly the placeholders of its English key; a key that no
code uses any more is stale.  And the messages really come out in Chinese.
"""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from grader import checks, i18n
from grader.grading import selfcheck
from grader.i18n_zh import MESSAGES
from grader.translate import catalogue, strings

ROOT = Path(__file__).resolve().parent.parent
KIT_SOURCES = ["grader/checks.py", "grader/grading/selfcheck.py", "grader/cli/check.py"]


def kit_templates() -> set[str]:
    found = set()
    for name in KIT_SOURCES:
        for node in ast.walk(ast.parse((ROOT / name).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("_t", "t") \
                    and node.args and isinstance(node.args[0], ast.Constant):
                found.add(node.args[0].value)
    found |= set(selfcheck.HINTS.values()) | set(selfcheck.LABELS.values())
    found |= {selfcheck.NEVER_FINISHED, selfcheck.KERNEL_DIED_EARLIER}
    return found | grader_templates()


def grader_templates() -> set[str]:
    """What the grader writes into a Chinese submission's graded notebook and feedback for a
    hidden test's failure (grader/grading/misconceptions.py)."""
    from grader.grading import misconceptions

    found = {node.args[0].value
             for node in ast.walk(ast.parse((ROOT / "grader/grading/misconceptions.py").read_text(
                 encoding="utf-8")))
             if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "t"
             and node.args and isinstance(node.args[0], ast.Constant)}
    return found | set(misconceptions._STUDENT_WORDS.values()) | {
        misconceptions.HIDDEN_NOTE, misconceptions.THE_RESULT}


def assignments() -> list[str]:
    """Every chapter's test cells speak Chinese, whether its Markdown is translated yet or not."""
    return sorted(p.name for p in (ROOT / "solutions").iterdir()
                  if (p / f"{p.name}.ipynb").is_file())


def notebook_texts() -> set[str]:
    found = set()
    for a in assignments():
        found |= {s for s in strings.notebook_strings(ROOT / "solutions" / a / f"{a}.ipynb").strings
                  if strings.needs_translation(s)}
    return found


@pytest.mark.parametrize("assignment", assignments())
def test_every_test_cell_text_can_be_read(assignment):
    """No name, hint, mistake or message that the extractor cannot follow to its text."""
    found = strings.notebook_strings(ROOT / "solutions" / assignment / f"{assignment}.ipynb")
    assert found.unresolved == []


def test_every_kit_message_has_a_translation_with_its_placeholders():
    templates = kit_templates()
    assert len(templates) > 60
    missing = sorted(t for t in templates if t not in MESSAGES)
    assert missing == [], f"{len(missing)} messages of the kit have no Chinese: {missing[:5]}"
    for template in templates:
        assert sorted(i18n.placeholders(MESSAGES[template])) == sorted(i18n.placeholders(template)), template


def test_every_chapters_test_cell_text_has_a_translation():
    assert len(assignments()) >= 6
    texts = notebook_texts()
    assert "you forgot the tanh" in texts and "states (T={T}, H={H})" in texts
    # built by plain Python in the cells: a lambda's and a function's dict of mistakes, a
    # name bound to text, a conditional suffix, a for loop over a literal table
    assert "you multiplied by tau instead of dividing" in texts                 # TAU_MISTAKES
    assert "you concatenated [h ; x]: the first D rows of Wz read x" in texts   # m[...] = ...
    assert any(t.startswith("you are not carrying the hidden state") for t in texts)  # STATE_BUG
    assert {"rnn_states with N={N}, T={T}, D={D}, H={H}",
            "rnn_states with N={N}, T={T}, D={D}, H={H}, given h0"} <= texts
    assert "a quatrain has four lines" in texts                                 # hint=hint
    assert "two calls with the same generator should give new noise" in texts   # assert ..., "..."
    missing = sorted(t for t in texts if t not in MESSAGES)
    assert missing == [], f"test-cell texts without Chinese: {missing[:8]}"
    for text in texts:
        assert sorted(i18n.placeholders(MESSAGES[text])) == sorted(i18n.placeholders(text)), text


def test_no_stale_entry():
    used = kit_templates() | notebook_texts()
    stale = sorted(k for k in MESSAGES if k not in used)
    assert stale == [], f"catalogue entries no code writes any more: {stale[:5]}"


def test_code_like_names_need_no_translation():
    assert not strings.needs_translation("dot_result_shape((2,), (2, 2))")
    assert not strings.needs_translation("as_row([3, 4]) @ as_column([1, 2])")
    assert strings.needs_translation("states")
    assert strings.needs_translation("h_next (H={H}, case {case})")


def test_messages_in_chinese_and_english():
    with pytest.raises(checks.CheckFailure) as english:
        checks.check_close(np.array([0.6, 0.5]), [0.53704957, 0.46211716], "step 1, state",
                           mistakes={"you forgot the tanh": [0.6, 0.5]})
    assert "step 1, state is wrong: it looks like you forgot the tanh." in str(english.value)
    with i18n.using("zh"), pytest.raises(checks.CheckFailure) as chinese:
        checks.check_close(np.array([0.6, 0.5]), [0.53704957, 0.46211716], "step 1, state",
                           mistakes={"you forgot the tanh": [0.6, 0.5]})
    assert "第 1 步的状态 不对：看起来你忘了 tanh。" in str(chinese.value)
    assert "正确答案：" in str(chinese.value) and "你的答案：" in str(chinese.value)
    with i18n.using("zh"):   # an f-string's values carried into the translation
        assert i18n.text("states (T=3, H=2)") == "状态（T=3，H=2）"
        assert i18n.text("an unknown name") == "an unknown name"
        with pytest.raises(checks.CheckFailure, match="应为"):
            checks.check_equal((2,), (2, 2), "dot_result_shape((2,), (2, 2))")
    assert i18n.language() == "en"


def test_the_extractor_follows_what_a_cell_builds():
    cell = """
def MISTAKES(x):
    m = {"a named mistake": x}
    if x:
        m["another one"] = -x
    return m
WORDS = lambda a: {f"scaled by {a}": a}
BUG = "the state is not carried"
for text, (expected, hint) in {"x": (1, "a hint from a table"), "y": (0, "")}.items():
    check_equal(f(text), expected, f"f({text!r})", hint=hint)
what = f"N={N}, " + ("training" if t else "evaluating")
check_close(a, b, f"q ({what})", mistakes=MISTAKES(a) if t else {BUG: 1})
check_close(a, b, "w", mistakes=WORDS(2))
assert ok, f"{what} failed"
raise CheckFailure("a message of its own")
check_close(a, b, name_from_elsewhere)
"""
    found = strings.cell_strings(cell)
    assert sorted(found.strings) == sorted([
        "f({text})", "a hint from a table", "q (N={N}, training)", "q (N={N}, evaluating)",
        "a named mistake", "another one", "the state is not carried", "w", "scaled by {a}",
        "N={N}, training failed", "N={N}, evaluating failed", "a message of its own"])
    assert found.unresolved == ["name_from_elsewhere"]


def test_chinese_messages_of_the_later_chapters():
    from grader.checks import CheckFailure

    with i18n.using("zh"):
        # a mistake from chapter 5's TAU_MISTAKES, under a name with values
        with pytest.raises(checks.CheckFailure) as failure:
            checks.check_close(np.array([1.0, 2.0]), [0.5, 1.0], "gumbel_softmax of (2, 3) arrays at tau = 0.5",
                               mistakes={"you multiplied by tau instead of dividing": [1.0, 2.0]})
        assert "(2, 3) 数组上 tau = 0.5 时的 gumbel_softmax 不对：看起来你乘了 tau，而不是除以它。" \
            in str(failure.value)
        # a helper of chapter 2 called with "fair dice" writes f"{name}: transitions"; a
        # test cell raises CheckFailure(f"...") with it: every part comes out in Chinese
        message = str(CheckFailure("loaded, constrained dice: transitions: row 1, column 0 has "
                                   "probability 0, yet it happened 3 times"))
        assert message == "灌铅、转移受限的骰子：状态转移：第 1 行第 0 列的概率是 0，却出现了 3 次"
        # an assert message of a test cell (the self-check and the grader translate it)
        assert i18n.text("two calls with the same generator should give new noise") == \
            "用同一个生成器调用两次应得到不同的噪声"
        assert i18n.text("a quatrain has four lines") == "绝句有四句"
    assert str(CheckFailure("a quatrain has four lines")) == "a quatrain has four lines"


def test_environment_chooses_the_language(monkeypatch):
    monkeypatch.setenv(i18n.ENV, "zh_CN")
    assert i18n.language() == "zh" and i18n.t("not attempted yet") == "还没有作答"
    monkeypatch.setenv(i18n.ENV, "fr")
    assert i18n.language() == "en"


def test_every_test_cell_text_comes_back_in_chinese_with_its_values():
    """Each text, its placeholders filled in as the cell would, is translated by its own entry
    (not by a shorter template that also matches), the values carried over."""
    texts = notebook_texts()
    with i18n.using("zh"):
        for english in texts:
            names = i18n.placeholders(english)
            values = {name: f"<{k}>" for k, name in enumerate(names)}
            instance = i18n._PLACEHOLDER.sub(lambda m: values[m.group(1)], english)
            expected = i18n._PLACEHOLDER.sub(lambda m: values[m.group(1)], MESSAGES[english])
            assert i18n.text(instance) == expected, english


def test_grader_check_says_what_it_cannot_check_in_the_notebooks_language(tmp_path):
    import subprocess
    import sys

    for name, words in (("bad.zh.ipynb", ("错误：", "不是可以读取的 Jupyter 笔记本")),
                        ("bad.ipynb", ("error: ", "not a readable Jupyter notebook"))):
        (tmp_path / name).write_text("not json")
        proc = subprocess.run([sys.executable, "-m", "grader", "check", name], cwd=tmp_path,
                              capture_output=True, text=True)
        assert proc.returncode == 2 and all(w in proc.stderr for w in words), proc.stderr


def test_translating_a_forged_message_is_fast():
    """Hidden tests' messages can quote a student's values and are translated in the grader:
    a message forged to make the catalogue's templates backtrack costs a bounded multiple of
    its length (a regular expression with lazy groups took 14 s on 2 kB)."""
    import time

    from grader import i18n

    forged = [("x: " * 3000) + "expected " * 500, "(" * 5000 + ", got " * 2000,
              "states (T=" + "1, H=" * 3000 + ")"]
    with i18n.using("zh"):
        start = time.perf_counter()
        for message in forged:
            i18n.text(message)
        assert time.perf_counter() - start < 2.0
