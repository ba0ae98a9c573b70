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
    return found


def translated_assignments() -> list[str]:
    return sorted(p.stem for p in (ROOT / "zh" / "exercises").glob("*.yml"))


def notebook_texts() -> set[str]:
    found = set()
    for a in translated_assignments():
        found |= {s for s in strings.notebook_strings(ROOT / "solutions" / a / f"{a}.ipynb").strings
                  if strings.needs_translation(s)}
    return found


def test_every_kit_message_has_a_translation_with_its_placeholders():
    templates = kit_templates()
    assert len(templates) > 60
    missing = sorted(t for t in templates if t not in MESSAGES)
    assert missing == [], f"{len(missing)} messages of the kit have no Chinese: {missing[:5]}"
    for template in templates:
        assert sorted(i18n.placeholders(MESSAGES[template])) == sorted(i18n.placeholders(template)), template


def test_every_translated_chapters_test_cell_text_has_a_translation():
    assert "01_rnn_by_hand" in translated_assignments()
    texts = notebook_texts()
    assert "you forgot the tanh" in texts and "states (T={T}, H={H})" in texts
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


def test_environment_chooses_the_language(monkeypatch):
    monkeypatch.setenv(i18n.ENV, "zh_CN")
    assert i18n.language() == "zh" and i18n.t("not attempted yet") == "还没有作答"
    monkeypatch.setenv(i18n.ENV, "fr")
    assert i18n.language() == "en"
