"""What a poem model learned, measured against the corpus (chapter 6).

* ``shape``: do generated poems have four lines of the right length, punctuated
  ，。，。 and then ended?  And, line by line, does each line end where it should?
* ``rhyme_class`` / ``rhyme_rate``: do lines 2 and 4 end on characters of the same rhyme
  class?  The classes are the thirteen rhyme classes of modern Chinese verse (十三辙),
  read from the characters' Mandarin finals (``pypinyin``, most common reading).  Tang
  rhymes followed Middle Chinese, so this is an approximation: the corpus's own rate,
  measured the same way, is the ceiling to compare with, and ``chance_rhyme_rate`` (two
  line-final characters drawn independently) the floor.
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
