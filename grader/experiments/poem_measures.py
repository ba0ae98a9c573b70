"""What a poem model learned, measured against the corpus (chapter 6).

* ``shape``: do generated poems have four lines of the right length, punctuated
  ，。，。 and then ended?  And, line by line, does each line end where it should?
* ``rhyme_class`` / ``rhyme_rate``: do lines 2 and 4 end on characters of the same rhyme
  class?  The classes are the thirteen rhyme classes of modern Chinese verse (十三辙),
  read from the characters' Mandarin finals (``pypinyin``, most common reading).  Tang
  rhymes followed Middle Chinese, so this is an approximation: the corpus's own rate,
  measured the same way, is the ceiling to compare with, and ``chance_rhyme_rate`` (two
  line-final characters drawn independently) the floor.
* ``tones`` / ``tone_rules`` / ``tone_measures``: do the even-numbered characters follow
  the level/oblique (平仄) pattern of regulated verse?  Each character's tone is read
  from its modern Mandarin reading (tones 1 and 2 level, 3 and 4 oblique), another
  approximation: characters of the Middle-Chinese entering tone (入声), oblique to a Tang
  poet, are often level in Mandarin.  ``chance_tone_measures`` is the floor.
* ``char_distribution`` / ``total_variation``: which characters a model writes, against
  the corpus's frequencies; ``copied_lines``: how many generated lines are verbatim lines
  of the training poems (memorising is not composing).
* ``unigram_log_probs``: the baseline a language model has to beat, every token scored
  by its training frequency alone.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Iterable, Sequence

import numpy as np

from grader.data.poetry import COMMA, STOP

# 十三辙: class name -> Mandarin finals (pypinyin strict finals, ü written v).
THIRTEEN_RHYMES = {
    "发花 a": ("a", "ia", "ua"),
    "梭波 o": ("o", "uo", "e"),
    "乜斜 ie": ("ie", "ve"),
    "一七 i": ("i", "v", "er"),
    "姑苏 u": ("u",),
    "怀来 ai": ("ai", "uai"),
    "灰堆 ei": ("ei", "uei"),
    "遥条 ao": ("ao", "iao"),
    "油求 ou": ("ou", "iou"),
    "言前 an": ("an", "ian", "uan", "van"),
    "人辰 en": ("en", "in", "uen", "vn"),
    "江阳 ang": ("ang", "iang", "uang"),
    "中东 eng": ("eng", "ing", "ueng", "ong", "iong"),
}
_FINAL_TO_CLASS = {f: name for name, finals in THIRTEEN_RHYMES.items() for f in finals}
_LINE = re.compile(f"[{COMMA}{STOP}]")
_OWN_TONE = "一不"  # read alone by ``tones``


def rhyme_class(char: str) -> str | None:
    """The 十三辙 class of a character's Mandarin final, or None if it has no reading."""
    from pypinyin import Style, lazy_pinyin

    final = lazy_pinyin(char, style=Style.FINALS, strict=True)[0]
    return _FINAL_TO_CLASS.get(final)


def rhymes(a: str, b: str) -> bool:
    ca = rhyme_class(a)
    return ca is not None and ca == rhyme_class(b)


# ----------------------------------------------------------------------------- shape


def split_lines(text: str) -> tuple[list[str], str]:
    """A generated poem's lines (text between ，/。) and the punctuation after each."""
    parts = _LINE.split(text)
    marks = _LINE.findall(text)
    if parts and parts[-1] == "":
        parts.pop()
    return parts, "".join(marks)


def is_well_formed(text: str, finished: bool, line_length: int | None = None) -> bool:
    """Four lines of ``line_length`` (5 or 7, or either when None) characters, punctuated
    ，。，。, and the poem ended (``<eos>``) right after."""
    lines, marks = split_lines(text)
    n = line_length or (len(lines[0]) if lines else 0)
    return (finished and n in (5, 7) and len(lines) == 4 and marks == COMMA + STOP + COMMA + STOP
            and text.endswith(STOP) and all(len(line) == n for line in lines))


FORM_ERRORS = ("first line", "line length", "punctuation", "too few lines", "too many lines",
               "not ended")


def form_error(text: str, finished: bool, line_length: int | None = None) -> str | None:
    """What first breaks the quatrain's form, or None for a well-formed poem.

    In this order: ``first line`` (not 5 or 7 characters, or not ``line_length``),
    ``line length`` (a later line of another length), ``punctuation`` (a mark other than
    the ，。，。 of its place), ``too few lines`` (ended before four), ``too many lines``
    (a fifth line begun), ``not ended`` (no ``<eos>`` after the fourth line's ``。``).
    """
    lines, marks = split_lines(text)
    n = line_length or (len(lines[0]) if lines else 0)
    ended = len(marks)                     # lines that got their mark
    if not lines or len(lines[0]) != n or n not in (5, 7):
        return "first line"
    if any(len(line) != n for line in lines[1:min(ended, 4)]):
        return "line length"
    if marks[:4] != (COMMA + STOP + COMMA + STOP)[:min(ended, 4)]:
        return "punctuation"
    if ended < 4:
        # An unfinished line longer than n is a line of the wrong length, not a short poem.
        if len(lines) > ended and len(lines[-1]) > n:
            return "line length"
        return "too few lines" if finished else "not ended"
    if len(lines) > 4 or ended > 4:
        return "too many lines"
    return None if finished else "not ended"


def form_errors(samples: Sequence[tuple[str, bool]], line_length: int | None = None) -> dict:
    """Share of samples with each ``form_error`` (the rest are well formed)."""
    counts = Counter(form_error(t, f, line_length) for t, f in samples)
    return {name: counts[name] / max(len(samples), 1) for name in FORM_ERRORS}


def shape(samples: Sequence[tuple[str, bool]], line_length: int | None = None) -> dict:
    """Shape statistics of ``(text, finished)`` samples (text without ``<eos>``).

    ``well_formed``: share of poems that are quatrains (``is_well_formed``);
    ``lines_right_length``: share of the first four lines, over all poems, whose length
    is the poem's line length (``line_length``, or the first line's);
    ``length_5`` / ``length_7``: share of well-formed poems with 5- / 7-character lines.
    """
    ok, right, total, fives = 0, 0, 0, 0
    for text, finished in samples:
        lines, _ = split_lines(text)
        n = line_length or (len(lines[0]) if lines else 0)
        for k in range(4):
            total += 1
            right += k < len(lines) and len(lines[k]) == n
        if is_well_formed(text, finished, line_length):
            ok += 1
            fives += n == 5
    count = max(len(samples), 1)
    return {"poems": len(samples), "well_formed": ok / count,
            "lines_right_length": right / max(total, 1),
            "length_5": fives / max(ok, 1), "length_7": (ok - fives) / max(ok, 1)}


# ----------------------------------------------------------------------------- rhyme


def rhyme_rate(poems: Iterable[Sequence[str]]) -> tuple[float | None, int]:
    """Share of poems (4 lines each) whose lines 2 and 4 end in the same rhyme class (None
    without poems); and the count."""
    hits = [rhymes(lines[1][-1], lines[3][-1]) for lines in poems]
    return (float(np.mean(hits)) if hits else None), len(hits)


def chance_rhyme_rate(poems: Sequence[Sequence[str]]) -> float:
    """The rate if lines 2 and 4 ended on two characters drawn independently from the
    corpus's line-2 and line-4 final characters: sum over classes of p2(class) * p4(class)."""
    def class_dist(k: int) -> Counter:
        return Counter(rhyme_class(lines[k][-1]) for lines in poems)

    p2, p4 = class_dist(1), class_dist(3)
    n = len(poems) ** 2
    return float(sum(p2[c] * p4[c] for c in p2 if c is not None) / n)


# ----------------------------------------------------------------------------- tones


def tones(line: str) -> list[str | None]:
    """``"P"`` (平, level: Mandarin tones 1 and 2), ``"Z"`` (仄, oblique: tones 3 and 4) or
    None (no tone) for each character of ``line``.

    Characters are read in context by ``pypinyin`` (长安 is chang'an, not zhang'an), except
    一 and 不, which keep their own tones: the phrase dictionary writes the tone changes of
    modern speech (不住 bú zhù), which are no part of a line's tonal pattern.
    """
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(line, style=Style.TONE3, neutral_tone_with_five=True)
    if len(syllables) != len(line):
        return [None] * len(line)
    out: list[str | None] = []
    for char, syllable in zip(line, syllables):
        if char in _OWN_TONE:
            syllable = lazy_pinyin(char, style=Style.TONE3)[0]
        tone = syllable[-1:] if len(syllable) > 1 else ""
        out.append("P" if tone in ("1", "2") else "Z" if tone in ("3", "4") else None)
    return out


def tone_rules(lines: Sequence[str]) -> list[bool]:
    """The 平仄 rules of a regulated quatrain on the even-numbered characters, kept or not.

    Within each line the 2nd and 4th characters differ (二四不同), and in seven-character
    lines the 4th and 6th too; between lines the 2nd characters of lines 1 and 2 differ
    (对), of lines 2 and 3 agree (粘), of lines 3 and 4 differ (对).  That is 7 rules for
    five-character poems, 11 for seven; a rule with a character of no tone is not kept.
    Keeping all of them is keeping one of the two patterns of a regulated quatrain.
    """
    line_tones = [tones(line) for line in lines]
    even = range(1, len(lines[0]), 2)      # 0-based: the 2nd, 4th (and 6th) characters
    kept = [t[a] is not None and t[b] is not None and t[a] != t[b]
            for t in line_tones for a, b in zip(even, even[1:])]
    for i, same in ((0, False), (1, True), (2, False)):
        a, b = line_tones[i][1], line_tones[i + 1][1]
        kept.append(a is not None and b is not None and (a == b) == same)
    return kept


def tone_measures(poems: Sequence[Sequence[str]]) -> dict:
    """``tone_rules``: the mean share of the rules kept per poem; ``tone_pattern``: the share
    of poems that keep them all (None without poems)."""
    kept = [tone_rules(lines) for lines in poems]
    if not kept:
        return {"tone_rules": None, "tone_pattern": None}
    return {"tone_rules": float(np.mean([np.mean(k) for k in kept])),
            "tone_pattern": float(np.mean([all(k) for k in kept]))}


def chance_tone_measures(poems: Sequence[Sequence[str]]) -> dict:
    """``tone_measures`` if every even-numbered character's tone were drawn independently,
    level with probability p, the share of level tones at those places in ``poems`` (all of
    one line length): a rule "differ" is kept with 2p(1 - p), "agree" with p² + (1 - p)²;
    the whole pattern (half the places level, half oblique, two patterns) with
    2 p^k (1 - p)^k, k = half the places."""
    n = len(poems[0][0])
    levels = [t for lines in poems for line in lines for t in tones(line)[1::2]]
    p = float(np.mean([t == "P" for t in levels]))
    differ, agree = 2 * p * (1 - p), p * p + (1 - p) ** 2
    rules = 4 * (len(range(1, n, 2)) - 1) + 3     # 7 or 11; one of them "agree"
    k = 2 * len(range(1, n, 2))
    return {"level_share": p, "chance_tone_rules": ((rules - 1) * differ + agree) / rules,
            "chance_tone_pattern": 2 * p ** k * (1 - p) ** k}


def tone_of_line(line: str) -> dict:
    """A line's tones as a string (平 level, 仄 oblique, ? none) and whether its even-numbered
    characters alternate, as the first line of a regulated quatrain's do."""
    t = tones(line)
    even = t[1::2]
    return {"tones": "".join({"P": "平", "Z": "仄"}.get(x, "?") for x in t),
            "alternates": all(a is not None and b is not None and a != b
                              for a, b in zip(even, even[1:]))}


# ----------------------------------------------------------------------------- characters


def char_distribution(texts: Iterable[str]) -> Counter:
    """Counts of the characters of ``texts``, punctuation left out."""
    return Counter(c for t in texts for c in t if c not in (COMMA, STOP))


def total_variation(p: Counter, q: Counter) -> float:
    """Half the L1 distance between two normalised count tables (0 = same, 1 = disjoint)."""
    sp, sq = sum(p.values()), sum(q.values())
    keys = set(p) | set(q)
    return 0.5 * sum(abs(p[k] / sp - q[k] / sq) for k in keys)


def copied_lines(samples: Iterable[str], corpus_lines: set[str],
                 skip_first: int = 0) -> tuple[float | None, int]:
    """Share of generated lines (complete lines of 5 or 7 characters, after the first
    ``skip_first`` of each poem, e.g. a given opening) found verbatim in ``corpus_lines``."""
    hits, total = 0, 0
    for text in samples:
        lines, marks = split_lines(text)
        for line in lines[skip_first:len(marks)]:  # only lines that were ended
            if len(line) in (5, 7):
                total += 1
                hits += line in corpus_lines
    return (hits / total if total else None), total


# ----------------------------------------------------------------------------- baseline


def unigram_log_probs(train: np.ndarray, corpus: np.ndarray, vocab_size: int) -> np.ndarray:
    """log P(token) for every token of ``corpus[1:]`` under the training unigram frequencies
    (add-one smoothed, so that a token absent from training is not impossible)."""
    counts = np.bincount(train[1:], minlength=vocab_size).astype(np.float64) + 1.0
    return np.log(counts / counts.sum())[corpus[1:]]
