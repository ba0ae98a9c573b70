"""No number typed into the book's prose: every figure quoted from a run comes from that run.

The chapters quote results through myst-nb's ``glue`` (``{glue:text}`key:.3f```), computed
by the page's own code or read from ``book/results/``. This test reads the prose of every
``book/*.md`` page (outside front matter, code cells and other code blocks, math and
inline code, and outside the roles that hold no prose) and finds every decimal number and
every percentage. Each must be on the allow-list below, which holds only numbers that no
run produces (definitions, hyperparameters the text sets, numbers reported by a cited
source, versions), each with its reason. A result typed by hand fails the test; so does an
allow-list entry that the book no longer uses, so the list cannot go stale.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"

# (page stem, number as written) -> why it is not a result of a run.
ALLOWED: dict[tuple[str, str], str] = {
    # chapter 2: the dice game's parameters, set by the text
    ("02_hmm_dice", "0.9"): "probability of keeping the D6 / the die (the model's definition)",
    ("02_hmm_dice", "0.1"): "probability of moving D6 -> D8 (the model's definition)",
    # chapter 3: hyperparameters the text sets
    ("03_embeddings", "0.01"): "Adam's learning rate, set by the text",
    ("03_embeddings", "100%"): "the goal of the exercise (perfect accuracy), not a result",
    # chapter 4: hyperparameters, the source's reported results, the test's tolerance
    ("04_rnnlm", "0.1"): "learning rate of the source's 1000-word experiment",
    ("04_rnnlm", "5.48"): "training perplexity reported by the cited source (Saito 2018)",
    ("04_rnnlm", "1.0"): "learning rate of the clipping demonstration, set by the text",
    ("04_rnnlm", "0.5"): "clipping threshold of the demonstration, set by the text",
    ("04_rnnlm", "0.25"): "clipping threshold of the PTB runs, set by the text",
    # the appendix on speed: the benchmark's settings and the PyTorch version it ran with
    ("appendix_speed", "0.25"): "clipping threshold of the benchmarked training step, set by the text",
    ("appendix_speed", "0.5"): "dropout of the textbook's better model (a hyperparameter)",
    ("appendix_speed", "2.13.0"): "the PyTorch version the benchmark was run with",
    # chapter 5: hyperparameters, the paper's reported results
    ("05_mrnn", "0.3"): "learning-rate decay factor of the trainer, set by the text",
    ("05_mrnn", "0.9"): "probability of keeping the die (the corpus's definition)",
    ("05_mrnn", "0.25"): "clipping threshold, set by the text",
    ("05_mrnn", "0.1"): "the temperature floor tau_min, set by the text",
    ("05_mrnn", "0.2"): "init scale and embedding dropout of the source (hyperparameters)",
    ("05_mrnn", "0.4"): "input dropout of the source (a hyperparameter)",
    ("05_mrnn", "83.44"): "test perplexity reported by Kuo and Chien (2018), K = 2",
    ("05_mrnn", "81.39"): "test perplexity reported by Kuo and Chien (2018), K = 8",
    # the students' guide: the Python version of Pyodide, which the site's JupyterLite runs
    # (the versions the kit supports come from pyproject.toml, through book/ways_in.md)
    ("student_guide", "3.12"): "the Python version of the browser's Pyodide",
}

NUMBER = re.compile(r"(?<![\w.])(\d+(?:,\d{3})*(?:\.\d+)+(?:\s?%| percent)?"
                    r"|\d+(?:,\d{3})*\s?%|\d+(?:,\d{3})* percent)(?![\w.]*\d)")
# Roles whose content is not prose: glue (the numbers we want), references, code, math.
ROLES = re.compile(r"\{(glue(?::\w+)?|cite(?::\w+)?|doc|download|term|ref|numref|math|eq)\}`[^`]*`")


def prose(text: str) -> str:
    """The prose of a MyST page: no front matter, code, math, inline code or role content.

    Lines that are removed become empty lines, so that paragraph breaks survive.
    """
    lines = text.splitlines()
    if lines and lines[0].strip() == "---":  # front matter
        end = lines.index("---", 1)
        lines = [""] * (end + 1) + lines[end + 1:]
    out, fence, options = [], None, False
    for line in lines:
        stripped = line.strip()
        if fence is not None:
            if stripped == fence:
                fence = None
            elif fence_is_prose and not (options and re.match(r"^:[\w-]+:", stripped)):
                options = False
                out.append(line)
                continue
            out.append("")
            continue
        match = re.match(r"^(`{3,}|~{3,}|:{3,})(.*)$", stripped)
        if match:
            fence, info = match.group(1), match.group(2).strip()
            # Directives whose body is prose (admonitions, glossary, figures' captions);
            # code cells, code blocks and {math} are not.
            fence_is_prose = info.startswith("{") and not re.match(r"\{(code-cell|code|math|eval-rst)\}", info)
            options = fence_is_prose
            out.append("")
            continue
        out.append(line)
    text = "\n".join(out)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"(?<!\\)\$(?:[^$\n]|\n(?!\s*\n))+?(?<!\\)\$", " ", text)  # inline math
    text = ROLES.sub(" ", text)
    text = re.sub(r"`[^`\n]+`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)  # link targets
    return text


def numbers_in(text: str) -> list[str]:
    return [m.group(1) for m in NUMBER.finditer(prose(text))]


def _pages() -> list[Path]:
    return sorted(BOOK.glob("*.md"))


def test_the_scanner_finds_typed_numbers_and_only_those():
    page = "\n".join([
        "---", "version: 1.5", "---", "",
        "Recovery rose to 0.49, about 12% better, and {glue:text}`acc:.3f` here.",
        "Inline math $x = 0.25$ and $$y = 3.5$$ and `code 1.5` are not prose.",
        "A cited {cite:p}`kuo2018` and a range of 1 to 1.5 percent.", "",
        "```{code-cell} ipython3", "print(0.75)", "```", "",
        "```{admonition} Note", ":class: tip", "Typed in a note: 2.5.", "```",
        "A version 2.13.0 and an integer 581 (integers are not checked).",
    ])
    assert numbers_in(page) == ["0.49", "12%", "1.5 percent", "2.5", "2.13.0"]


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.stem)
def test_no_typed_number_in_the_prose(page):
    found = numbers_in(page.read_text(encoding="utf-8"))
    typed = sorted({n for n in found if (page.stem, n) not in ALLOWED})
    assert typed == [], (
        f"{page.name} quotes numbers typed by hand: {typed}. Insert each from the run that "
        "produced it (myst-nb glue, or read book/results/), or, if no run produces it "
        "(a definition, a hyperparameter the text sets, a cited source's result), add it "
        "to ALLOWED in this test with the reason.")


def test_every_allowed_number_is_still_used():
    used = {(page.stem, n) for page in _pages() for n in numbers_in(page.read_text(encoding="utf-8"))}
    stale = sorted(set(ALLOWED) - used)
    assert stale == [], f"allow-list entries that no page uses any more (remove them): {stale}"
