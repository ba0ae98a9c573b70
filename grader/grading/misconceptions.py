"""Why a question failed, in words an instructor can count and a student can read.

Every failed test cell gets one *record* when it is graded (:func:`from_kernel_error` for a
visible test that failed in the student's kernel, :func:`from_hidden_failure` for a hidden
test that failed in the grader's process)::

    {"stage": "visible" | "hidden", "kind": "named" | one of grader.checks.KINDS | "error"
     | "crashed", "mistake": "you forgot the tanh", "check": "step 1, state", "error": "CheckFailure"}

``kind == "named"`` when the failure is one of the classic mistakes a test names with
``mistakes=`` (:mod:`grader.checks`); ``mistake`` is then that name, exactly as the
gradebook's trusted source writes it (an f-string name is kept as its pattern, its
replacement fields shown as ``…``), in English whatever the notebook's language, so that the
class report counts a Chinese student's mistake under the same name as an English student's.
Other kinds are what any question can show (``axes``, ``factor``, ``float32``, ``none``...),
``unanswered`` (``NotImplementedError`` left in), ``error`` (the student's code raised),
``crashed`` (the kernel died or ran out of time) and ``values`` (wrong numbers, nothing
recognised: the report calls it *unrecognised*).

Where the words come from, and why they can be trusted:

* a hidden test fails in the grader's process, with the grader's own :class:`~grader.checks.
  CheckFailure`, whose ``kind``/``mistake``/``label`` fields say what was recognised;
* a visible test fails in the student's kernel, which a student controls: its message is
  only *parsed*, and a mistake name found in it counts only if it is one of the strings of
  the cell's (and the notebook's locked cells') source as the gradebook keeps it
  (:class:`Known`).  A forged message can at worst mislabel its own author's failure.

Messages are read back in every language of :mod:`grader.i18n`: the patterns are the English
templates of :mod:`grader.checks` (:data:`LOOKS_LIKE`, :data:`DIAGNOSES`, :data:`MESSAGES`,
each a key of the catalogue; ``tests/test_misconceptions.py`` checks that they are the ones
``checks.py`` writes, kind for kind) and their translations in the catalogue; a mistake's
name in another language is mapped back to the English texts it translates
(:func:`english_of`) before :class:`Known` is asked.  Matching is linear in the message's
length (no regular expression runs over student text with more than one free part).

Records hold no hidden-test source and no expected value.  The student-facing message of a
hidden failure (:func:`for_student`) names the mistake the same way, in the notebook's
language, and leaves out what a hidden test computed: its expected values, and the student's
values on its inputs (from which, with the mistake's name, the expected ones could often be
worked out).
"""
from __future__ import annotations

import ast
import functools
import re
from typing import Any

from grader import checks, i18n

# kinds that are not about the student's understanding of the question
NOT_ANSWERED = ("unanswered", "crashed")
UNRECOGNISED = "values"

# -- the English templates of grader.checks that say what a failure was ------------------------
# (each is a key of grader/i18n_zh.py; their translations are read the same way)
LOOKS_LIKE = "{name} is wrong: it looks like {diagnosis}."
HINT = "Hint: {hint}"
# what fills {diagnosis} when no named mistake matched (checks._diagnose), by kind
DIAGNOSES = (
    ("axes", "your axes are ({yours}) = {got}, but the expected order is ({axes}) = {expected}"),
    ("axes", "the rows and columns are swapped (transposed){shapes}"),
    ("axes", "the axes are in another order{shapes}"),
    ("zeros", "every value is zero: it was never computed, or never added (+=) into the array "
              "you return"),
    ("sign", "the sign is flipped: every value has the opposite sign"),
    ("factor", "every value is {factor:.6g} times the expected one: a factor is missing or extra "
               "(a sum instead of a mean? a division forgotten?)"),
    ("normalise", "each row should be a probability distribution summing to 1, but yours sum to "
                  "other numbers: the rows are right up to their sum, so normalise each row by "
                  "dividing by its sum"),
)
# the messages of the other kinds, each beginning a line of the failure's text; in this order
# (the ones that only say "wrong values" last: they name the check, nothing else)
MESSAGES = (
    ("unanswered", "{name} is not implemented yet."),
    ("none", "{name}: your code returned None. Did you forget a `return` statement, or leave "
             "`raise NotImplementedError()` in place?"),
    ("type", "{name}: expected numbers, got {kind}: {value}"),
    ("axes", "{name}: expected shape {expected}, got {got}: the axes are in the wrong order: "
             "{axes}. Stack or transpose so that the axes come in the expected order."),
    ("axes", "{name}: the numbers are right but the axes are in the wrong order: {axes}. Stack or "
             "transpose so that the axes come in the expected order."),
    ("shape", "{name}: expected shape {expected}, got {got}. Check which axis is time, which is "
              "the batch, and whether a vector should be a row (1, n), a column (n, 1) or plain "
              "(n,)."),
    ("shape", "{name}: the numbers may be right but the shape is {got}, expected {expected}. "
              "Reshape, or check the order of the axes."),
    ("float32", "{name} is {dtype} (single precision), but this course works in float64, NumPy's "
                "default: the tests compare with tolerances meant for float64. Find where "
                "float32 enters (dtype=np.float32, .astype(np.float32), numbers that were float32 "
                "to begin with) and keep every array float64. "),
    ("nonfinite", "{name}: contains NaN or infinity: {values}. {why}"),
    ("raises", "{call} should raise {wanted}, but raised {kind}: {error}"),
    ("raises", "{call} should raise {wanted}{why}, but returned normally."),
    (UNRECOGNISED, "{name} is wrong."),
    (UNRECOGNISED, "{name}: expected {expected}, got {got}."),
)

# What a student reads for a hidden failure of each kind (no numbers from the hidden test);
# translated by grader.i18n (the zeros and sign words are checks.py's own diagnoses).
_STUDENT_WORDS = {
    "axes": "the axes are in another order than expected (transposed, or stacked along "
            "another axis)",
    "zeros": "every value is zero: it was never computed, or never added (+=) into the array "
             "you return",
    "sign": "the sign is flipped: every value has the opposite sign",
    "factor": "every value is off by the same factor: a factor is missing or extra (a sum "
              "instead of a mean? a division forgotten?)",
    "normalise": "each row should be a probability distribution summing to 1, but yours sum "
                 "to other numbers",
    "none": "your code returned None (a missing `return`?)",
    "type": "your code did not return numbers",
    "shape": "your answer has another shape than the expected one (check which axis is time, which "
             "is the batch, and whether a vector should be a row, a column or plain)",
    "float32": "your answer is float32, but this course works in float64",
    "nonfinite": "your answer contains NaN or infinity: look for an overflow (exp of a large "
                 "number?), a division by zero or the logarithm of 0",
    "values": "your values differ from the expected ones",
    "unanswered": "it is not implemented yet",
}
HIDDEN_NOTE = ("(a hidden test, on inputs of its own; its expected values are not shown: "
               "try your code on inputs of other shapes and sizes)")
THE_RESULT = "the result"


# Templates are matched without backtracking: grader.i18n.Template (a forged message costs a
# bounded multiple of its length).
Template = i18n.Template
_MAX_TRIES = i18n._MAX_TRIES


@functools.lru_cache(maxsize=None)
def _templates(language: str) -> dict[str, Any]:
    """The templates of one language: the English ones through the catalogue."""
    messages = i18n.catalogue(language)
    own = lambda english: Template(messages.get(english, english))   # noqa: E731
    return {"looks_like": own(LOOKS_LIKE), "hint": own(HINT),
            "diagnoses": [(kind, own(t)) for kind, t in DIAGNOSES],
            "messages": [(kind, own(t)) for kind, t in MESSAGES]}


@functools.lru_cache(maxsize=None)
def _reverse(language: str) -> tuple[dict[str, list[str]], list[tuple[Template, str]]]:
    """The catalogue of ``language`` read backwards: translation -> its English texts, and
    the translations with placeholders (longest first) beside their English templates."""
    exact: dict[str, list[str]] = {}
    patterned = []
    for english, translated in i18n.catalogue(language).items():
        if i18n._PLACEHOLDER.search(translated):
            patterned.append((Template(translated), english))
        else:
            exact.setdefault(translated, []).append(english)
    patterned.sort(key=lambda entry: -len(entry[0].template))
    return exact, patterned


def english_of(text: str, language: str) -> list[str]:
    """The English texts that ``text`` (a name or mistake in ``language``) translates, most
    literal first, ``text`` itself last (an untranslated text stays English): every entry of
    the catalogue whose translation is ``text``, and every templated entry (``"states
    (T={T}, H={H})"``) whose translation ``text`` is an instance of, filled in with the values
    read back (themselves mapped back when the catalogue translates them)."""
    if i18n.normalise(language) == "en" or not i18n.catalogue(language) or len(text) > 2000:
        return [text]
    exact, patterned = _reverse(i18n.normalise(language))
    found = list(exact.get(text, []))
    for template, english in patterned:
        values = template.match(text)
        if values is not None:
            values = {k: (exact.get(v) or [v])[0] for k, v in values.items()}
            found.append(i18n._PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), english))
    found.append(text)
    return list(dict.fromkeys(found))


def _hint(message: str, language: str = "en") -> str:
    """The hint a check appended to its message (``\\n  Hint: ...``), if any."""
    prefix = i18n.catalogue(language).get(HINT, HINT).split("{hint}")[0]
    _, sep, hint = message.rpartition(f"\n  {prefix}")
    return hint.strip() if sep else ""


def record(stage: str, kind: str, mistake: str = "", check: str = "", error: str = "") -> dict:
    return {"stage": stage, "kind": kind, "mistake": mistake, "check": check[:200],
            "error": error[:100]}


# -- hidden tests: the grader's own exceptions ---------------------------------------------

def from_hidden_failure(exc: BaseException | None, ename: str, message: str) -> dict:
    """The record of a hidden test that raised ``exc`` in the grader's process."""
    from grader.grading.remote import StudentCrash, StudentTimeout

    if isinstance(exc, checks.CheckFailure) and getattr(exc, "kind", ""):
        return record("hidden", exc.kind, exc.mistake if exc.kind == "named" else "",
                      exc.label, ename)
    if isinstance(exc, (StudentCrash, StudentTimeout)):
        return record("hidden", "crashed", error=ename)
    if isinstance(exc, NotImplementedError):
        return record("hidden", "unanswered", error=ename)
    if isinstance(exc, AssertionError):   # an instructor's own assert or CheckFailure
        named = _named_in(message, None)
        return record("hidden", "named" if named else UNRECOGNISED, named,
                      _in_english(message.splitlines()[0]) if message else "", ename)
    return record("hidden", "error", error=ename)


def for_student(exc: BaseException | None, message: str, language: str = "en") -> str:
    """What the student's feedback shows for a hidden failure: the mistake named, no values,
    in ``language`` (the submission's notebook's: :func:`grader.grading.verdicts.notebook_language`).

    A failure of a :mod:`grader.checks` helper is written again from its fields (its message
    quotes the expected values); anything else -- the student's own exception, an
    instructor's assert message -- is shown as it was.
    """
    if not (isinstance(exc, checks.CheckFailure) and getattr(exc, "kind", "")):
        return message
    t = i18n.t
    with i18n.using(language):
        label = i18n.text(exc.label or THE_RESULT)
        if exc.kind == "named":
            text = t("{name} is wrong: it looks like {diagnosis}.", name=label,
                     diagnosis=i18n.text(exc.mistake))
        elif exc.kind == "raises":
            text = message.split("\n")[0]     # inputs and the exception expected: no values
        else:
            why = i18n.text(_STUDENT_WORDS.get(exc.kind, _STUDENT_WORDS["values"]))
            text = t("{name} is wrong: {why}.", name=label, why=why)
        hint = _hint(message, i18n.language())
        if hint and exc.kind != "named":
            text += "\n  " + t("Hint: {hint}", hint=hint)
        return f"{text}\n  {i18n.text(HIDDEN_NOTE)}"


# -- visible tests: the kernel's message, parsed and checked against trusted source ----------

class Known:
    """The strings a notebook's trusted source could name a mistake with: every string
    constant of the test cells and locked cells (implicit concatenations joined), and every
    f-string as a pattern (its replacement fields match anything)."""

    def __init__(self, sources: list[str]) -> None:
        self.constants: set[str] = set()
        self.patterns: list[tuple[Template, str]] = []
        for source in sources:
            self._add(source)

    def _add(self, source: str) -> None:
        from grader.grading.verdicts import parse   # under the grader's AST lock (threads)

        lines = [line for line in source.splitlines()
                 if not line.lstrip().startswith(("%", "!", "### BEGIN HIDDEN", "### END HIDDEN"))]
        try:
            tree = parse("\n".join(lines))
        except SyntaxError:
            return
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) > 5:
                self.constants.add(node.value)
            elif isinstance(node, ast.JoinedStr):
                literals, shown = [""], []
                for value in node.values:
                    if isinstance(value, ast.Constant):
                        literals[-1] += str(value.value)
                        shown.append(str(value.value))
                    else:
                        literals.append("")
                        shown.append("…")
                if any(isinstance(v, ast.Constant) and len(str(v.value)) > 5 for v in node.values):
                    self.patterns.append((Template.of(literals), "".join(shown)))

    def name_of(self, phrase: str) -> str:
        """The canonical name of ``phrase`` when the source holds it, else ""."""
        if phrase in self.constants:
            return phrase
        for pattern, shown in self.patterns:
            if pattern.match(phrase) is not None:
                return shown
        return ""


_CRASHES = {"DeadKernelError", "CellTimeoutError", "NotExecuted", "KernelError", "TimeoutError",
            "KeyboardInterrupt"}
_KIND_TEXT = 4000   # a helper's message says its kind in its first lines


def _diagnoses(message: str):
    """(language, name, diagnosis) of each line of ``message`` that says "{name} is wrong: it
    looks like {diagnosis}." in one of the languages."""
    lines = message.split("\n")
    for language in i18n.LANGUAGES:
        template = _templates(language)["looks_like"]
        for line in lines:
            values = template.match(line, line_bound=True)
            if values is not None:
                yield language, values["name"], values["diagnosis"].strip()


def _generic(diagnosis: str, language: str) -> str:
    """The kind of a diagnosis that any question can show (axes, zeros, ...), else ""."""
    return next((kind for kind, template in _templates(language)["diagnoses"]
                 if template.match(diagnosis, line_bound=True) is not None), "")


def _resolve(candidates: list[str], *knowns: Known | None) -> str:
    """The canonical name of the first candidate that a source holds, the sources in order."""
    for known in knowns:
        if known is None:
            continue
        for candidate in candidates:
            name = known.name_of(candidate)
            if name:
                return name
    return ""


def _in_english(text: str) -> str:
    """The English text that ``text`` translates (a test cell's own message, translated as a
    whole by the catalogue), else ``text`` itself."""
    for language in i18n.LANGUAGES[1:]:
        candidates = english_of(text, language)
        if len(candidates) > 1:
            return candidates[0]
    return text


_SAYS = "it looks like "
_FREE_LINES = 20   # a test cell's own message: its first lines are read back into English


def _free_form(message: str) -> list[str]:
    """What a test cell's own message names after "it looks like" (``raise CheckFailure(f"...:
    it looks like {BUG}.")``), up to the first full stop that ends a line, read in English: a
    translated message is mapped back, as a whole and line by line."""
    texts = [message] + ([_in_english(message)] if len(message) <= 2000 else [])
    texts += [_in_english(line) for line in message.split("\n")[:_FREE_LINES]]
    found = []
    for text in dict.fromkeys(texts):
        at = 0
        for _ in range(_MAX_TRIES):
            at = text.find(_SAYS, at)
            if at < 0:
                break
            at += len(_SAYS)
            end = text.find(".\n", at)
            if end < 0 and text.endswith("."):
                end = len(text) - 1
            if end > at:
                found.append(text[at:end].strip())
    return found


def _named_in(message: str, known: Known | None, cell: Known | None = None) -> str:
    """The mistake that ``message`` names, as the trusted source writes it (in English): with
    no ``known``, the English text it translates (a hidden test's message, the grader's own).
    ``cell`` (the failing cell's own source) is asked first: two names can share a translation."""
    for language, _, phrase in _diagnoses(message):
        if _generic(phrase, language):
            continue
        candidates = english_of(phrase, language)
        if known is None:
            return candidates[0]
        name = _resolve(candidates, cell, known)
        if name:
            return name
    for phrase in _free_form(message):
        if any(template.match(phrase, line_bound=True) is not None
               for _, template in _templates("en")["diagnoses"]):
            continue
        if known is None:
            return phrase
        name = _resolve([phrase], cell, known)
        if name:
            return name
    return ""


def kind_of_message(message: str) -> str:
    """The kind of a :mod:`grader.checks` failure, read from its message alone (in any language)."""
    for language, _, phrase in _diagnoses(message):
        kind = _generic(phrase, language)
        if kind:
            return kind
    text = message[:_KIND_TEXT]
    starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
    for position in range(len(MESSAGES)):
        for language in i18n.LANGUAGES:
            kind, template = _templates(language)["messages"][position]
            if any(template.match(text, s, whole=False) is not None for s in starts):
                return kind
    return UNRECOGNISED


def _label(message: str, known: Known | None, cell: Known | None) -> str:
    """The name of the check that a failure's message begins with, in English when it is a
    translation (the one that the failing cell holds, when a translation has several)."""
    for language in i18n.LANGUAGES:
        own = _templates(language)
        for template in [own["looks_like"]] + [t for _, t in own["messages"]]:
            values = template.match(message, whole=False)
            label = values and (values.get("name") or values.get("call"))
            if label:
                if "name" not in values:      # a call, name(arguments): the name in English
                    opening = [i for i, c in enumerate(label) if c == "("][:3]
                    cut = next((i for i in opening if len(english_of(label[:i], language)) > 1),
                               len(label))
                    return english_of(label[:cut], language)[0] + label[cut:]
                candidates = english_of(label, language)
                held = [c for c in candidates if _resolve([c], cell)] or \
                    [c for c in candidates if _resolve([c], known)]
                return (held or candidates)[0]
    # a test cell's own message: what comes before its first colon, in English
    first = _in_english(message.split("\n", 1)[0])
    return re.split(r": |：", first, maxsplit=1)[0] if re.search(r": |：", first) else ""


def from_kernel_error(ename: str, evalue: str, known: Known, cell: Known | None = None) -> dict:
    """The record of a test cell whose visible part failed in the kernel with this error.

    ``cell``: the failing test cell's trusted source alone, asked before ``known`` (the
    notebook's) when a name in another language translates more than one English text."""
    ename, evalue = str(ename)[:100], str(evalue)[:20_000]
    if ename in _CRASHES:
        return record("visible", "crashed", error=ename)
    if ename == "NotImplementedError":
        return record("visible", "unanswered", error=ename)
    if ename in ("CheckFailure", "AssertionError"):
        label = _label(evalue[:_KIND_TEXT], known, cell)
        named = _named_in(evalue, known, cell)
        if named:
            return record("visible", "named", named, label, ename)
        return record("visible", kind_of_message(evalue), "", label, ename)
    return record("visible", "error", error=ename)


def describe(rec: dict) -> str:
    """The words of a record for an instructor: the mistake's name, or what was seen."""
    kind = rec.get("kind", "")
    if kind == "named":
        return rec.get("mistake", "")
    if kind == "error":
        return f"the code raised {rec.get('error') or 'an error'}"
    if kind == "crashed":
        return "crashed or ran out of time"
    if kind == UNRECOGNISED:
        return "unrecognised"
    return checks.KINDS.get(kind, kind or "unrecognised")


def summary_key(rec: dict[str, Any]) -> tuple[str, str]:
    """(kind, words): how the report groups failures."""
    return rec.get("kind", UNRECOGNISED), describe(rec)
