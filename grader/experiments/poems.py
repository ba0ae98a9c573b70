"""Chapter 6: a character-level LSTM that writes Tang quatrains.

Command line (JSON lines on stdout: ``config``, one ``epoch`` line per epoch, ``final``)::

    python -m grader.experiments.poems --out book/results/poems.json [--data-dir DIR]
        [--epochs 12] [--seed 0] [--params PATH]

The model is chapter 4's ``LstmRnnlm`` (Embedding 64 -> LSTM 128 -> fused Affine + softmax)
over the characters of ``grader.data.poetry``, trained by chapter 4's ``Trainer`` with
Adam and clipping, keeping the parameters of the best validation epoch.  Then, all with
fixed seeds, it

* scores the test poems token by token (perplexity overall and on characters alone, and
  the mean loss at each position of a poem) beside the unigram baseline;
* writes poems: a few from each opening in ``OPENINGS`` at each temperature to show, and
  many more to measure (``grader.experiments.poem_measures``): shape, rhyme, characters
  and copying, beside the same measures of the held-out poems.

Everything the book quotes is in the one JSON file ``--out``; ``--params`` also saves the
weights (about 5 MB in float32: not committed).
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from grader.data.poetry import COMMA, EOS, STOP, UNK, Poetry, load_poetry
from grader.experiments import poem_measures as pm
from grader.reference.optim import Adam
from grader.reference.rnnlm import LstmRnnlm, Trainer, evaluate_perplexity, save_params

# Openings (the first line of a poem): three famous ones and two that no Tang poem has.
OPENINGS = ("床前明月光", "白日依山尽", "春眠不觉晓", "两个黄鹂鸣翠柳", "朝辞白帝彩云间",
            "山中无所事", "深夜读书灯火明")
TEMPERATURES = (0.5, 0.8, 1.0, 1.2)
MAX_TOKENS = 40  # a 7-character quatrain is 32 tokens with its punctuation, 33 with <eos>


# ----------------------------------------------------------------------------- sampling


def sample_poems(model, poetry: Poetry, opening: str, n: int, temperature: float,
                 rng: np.random.Generator, max_tokens: int = MAX_TOKENS) -> list[tuple[str, bool]]:
    """``n`` poems that start with ``opening`` ("" for none), sampled side by side.

    The model reads ``<eos>`` (the end of a previous poem) and the opening, then each row
    feeds back its own draws from ``softmax(scores / temperature)`` (``<unk>`` never drawn)
    until ``<eos>`` or ``max_tokens``.  Returns ``(text, finished)`` per poem: the opening
    and what follows, without ``<eos>``, and whether ``<eos>`` came.
    """
    eos, unk = poetry.char_to_id[EOS], poetry.char_to_id[UNK]
    prompt = np.concatenate([[eos], poetry.encode(opening)]).astype(np.int64)
    model.reset_state()
    scores = model.predict(np.tile(prompt, (n, 1)))[:, -1]
    out = np.full((n, max_tokens), eos, dtype=np.int64)
    done = np.zeros(n, dtype=bool)
    for k in range(max_tokens):
        z = scores.astype(np.float64) / temperature
        z[:, unk] = -np.inf
        p = np.exp(z - z.max(axis=1, keepdims=True))
        cdf = np.cumsum(p, axis=1)
        u = rng.random(n)[:, None] * cdf[:, -1:]
        draw = np.minimum((cdf <= u).sum(axis=1), p.shape[1] - 1)
        draw[done] = eos
        out[:, k] = draw
        done |= draw == eos
        if done.all():
            break
        scores = model.predict(draw[:, None])[:, -1]
    model.reset_state()
    poems = []
    for row in out:
        ends = np.flatnonzero(row == eos)
        stop = ends[0] if ends.size else max_tokens
        poems.append((opening + poetry.decode(row[:stop]), bool(ends.size)))
    return poems


# ----------------------------------------------------------------------------- scoring


def token_log_probs(model, corpus: np.ndarray, chunk: int = 500) -> np.ndarray:
    """log P(corpus[i + 1] | corpus[: i + 1]) for every i, reading the corpus as one stream."""
    model.reset_state()
    out = np.empty(len(corpus) - 1, dtype=np.float64)
    for a in range(0, len(corpus) - 1, chunk):
        xs = corpus[a:min(a + chunk, len(corpus) - 1)]
        s = model.predict(xs[None, :])[0].astype(np.float64)
        s -= s.max(axis=1, keepdims=True)
        logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
        out[a:a + len(xs)] = logp[np.arange(len(xs)), corpus[a + 1:a + 1 + len(xs)]]
    model.reset_state()
    return out


def positions_in_poem(corpus: np.ndarray, eos: int) -> np.ndarray:
    """For each target ``corpus[1:]``, its index within its poem (0 = first character;
    the poem's ``<eos>`` has the index after its last ``。``)."""
    targets = corpus[1:]
    pos = np.empty(len(targets), dtype=np.int64)
    k = 0
    for i, t in enumerate(targets):
        pos[i] = k
        k = 0 if t == eos else k + 1
    return pos


def score(model, poetry: Poetry) -> dict:
    """Test perplexity of the model and of the unigram baseline, overall, on characters only
    (targets other than ，。<eos>), and the mean loss by position for 5- and 7-character poems."""
    test = poetry.test
    specials = [poetry.char_to_id[c] for c in (EOS, COMMA, STOP)]
    model_lp = token_log_probs(model, test)
    uni_lp = pm.unigram_log_probs(poetry.train, test, poetry.vocab_size)
    is_char = ~np.isin(test[1:], specials)
    pos = positions_in_poem(test, poetry.char_to_id[EOS])
    # A poem's length (tokens) at each target: 5-character quatrains have 25, 7-character 33.
    eos_at = np.flatnonzero(test[1:] == poetry.char_to_id[EOS])
    lengths = np.repeat(pos[eos_at] + 1, np.diff(np.concatenate([[-1], eos_at])))
    out = {"test_tokens": int(len(test) - 1), "test_chars": int(is_char.sum()),
           "test_unk_share": float(np.mean(test[1:] == poetry.char_to_id[UNK]))}
    for name, lp in (("model", model_lp), ("unigram", uni_lp)):
        out[f"{name}_ppl"] = float(np.exp(-lp.mean()))
        out[f"{name}_char_ppl"] = float(np.exp(-lp[is_char].mean()))
        out[f"{name}_loss_by_position"] = {
            str(n): [float(-lp[(lengths == 4 * n + 5) & (pos == k)].mean()) for k in range(4 * n + 5)]
            for n in (5, 7)}
    return out


# ----------------------------------------------------------------------------- measures


def corpus_measures(poetry: Poetry) -> dict:
    """The measures of ``poem_measures`` on the held-out (test) poems: what a perfect model reaches."""
    test_lines = [p["lines"] for p in poetry.poems["test"]]
    train_lines = [p["lines"] for p in poetry.poems["train"]]
    rate, count = pm.rhyme_rate(test_lines)
    texts = ["".join(ls) for ls in test_lines]
    corpus_set = {line for ls in train_lines for line in ls}
    copied, total = pm.copied_lines(
        ["".join(l + e for l, e in zip(ls, (COMMA, STOP, COMMA, STOP))) for ls in test_lines],
        corpus_set)
    train_chars = pm.char_distribution("".join(ls) for ls in train_lines)
    return {"poems": count, "rhyme_rate": rate, "chance_rhyme_rate": pm.chance_rhyme_rate(test_lines),
            "length_5": float(np.mean([len(ls[0]) == 5 for ls in test_lines])),
            "copied_lines": copied,
            "tv_vs_train": pm.total_variation(pm.char_distribution(texts), train_chars),
            "distinct_chars": len(pm.char_distribution(texts)),
            "chars": sum(len(t) for t in texts)}


def sample_measures(samples: Sequence[tuple[str, bool]], poetry: Poetry, *,
                    line_length: int | None = None, skip_first: int = 0) -> dict:
    """Shape, rhyme (well-formed poems only), character and copying measures of samples."""
    train_lines = [p["lines"] for p in poetry.poems["train"]]
    out = pm.shape(samples, line_length)
    good = [pm.split_lines(t)[0] for t, f in samples if pm.is_well_formed(t, f, line_length)]
    out["rhyme_rate"], out["rhymed_poems"] = pm.rhyme_rate(good)
    texts = [t for t, _ in samples]
    chars = pm.char_distribution(texts)
    out["tv_vs_train"] = pm.total_variation(
        chars, pm.char_distribution("".join(ls) for ls in train_lines))
    out["distinct_chars"] = len(chars)
    out["chars"] = sum(chars.values())
    out["copied_lines"], out["complete_lines"] = pm.copied_lines(
        texts, {line for ls in train_lines for line in ls}, skip_first)
    return out


def top_chars(counts: Counter, k: int = 20) -> list[list]:
    total = sum(counts.values())
    return [[c, n / total] for c, n in counts.most_common(k)]


# ----------------------------------------------------------------------------- experiment


def run(poetry: Poetry, *, epochs: int = 12, seed: int = 0, embed: int = 64, hidden: int = 128,
        lr: float = 0.01, clip: float = 5.0, lr_decay: float = 2.0, batch: int = 20,
        bptt: int = 35, show: int = 3, measure: int = 400, measure_opening: int = 100,
        printer: Callable[[dict], None] | None = None, params_path: Path | None = None,
        progress: bool = False) -> dict:
    """Train, score, sample and measure; returns the dict written to ``--out``."""
    emit = printer or (lambda record: None)
    config = {"vocab": poetry.vocab_size, "min_count": poetry.min_count, "embed": embed,
              "hidden": hidden, "epochs": epochs, "optimizer": "adam", "lr": lr, "clip": clip,
              "lr_decay": lr_decay, "batch": batch, "bptt": bptt, "seed": seed,
              "poems": {k: len(v) for k, v in poetry.poems.items()},
              "tokens": {k: int(len(getattr(poetry, k))) for k in ("train", "valid", "test")}}
    emit({"event": "config", **config})
    model = LstmRnnlm(poetry.vocab_size, embed, hidden, rng=np.random.default_rng(seed))
    trainer = Trainer(model, Adam(lr), clip=clip, lr_decay=lr_decay, progress=progress)
    start = time.perf_counter()
    history = trainer.fit(poetry.train, poetry.valid, epochs=epochs, batch_size=batch,
                          time_size=bptt, log_every=50,
                          callback=lambda r: emit({"event": "epoch", **r}))
    train_seconds = time.perf_counter() - start
    if params_path is not None:
        save_params(model, params_path)
    history.pop("grad_norm")  # one number per iteration: too many to store
    final = {"best_epoch": trainer.best_epoch, "train_seconds": train_seconds,
             "valid_ppl": evaluate_perplexity(model, poetry.valid, 10, bptt),
             **score(model, poetry)}
    emit({"event": "final", **{k: v for k, v in final.items() if not isinstance(v, dict)}})

    rng = np.random.default_rng(seed + 1)
    shown = {o: {str(t): [text for text, _ in sample_poems(model, poetry, o, show, t, rng)]
                 for t in TEMPERATURES} for o in OPENINGS}
    train_texts = {"".join(p["lines"]) for p in poetry.poems["train"]}
    free, opened = {}, {}
    for t in TEMPERATURES:
        samples = sample_poems(model, poetry, "", measure, t, rng)
        free[str(t)] = sample_measures(samples, poetry)
        free[str(t)]["top_chars"] = top_chars(pm.char_distribution(s for s, _ in samples))
        free[str(t)]["examples"] = [s for s, _ in samples[:6]]
        with_opening = [s for o in OPENINGS for s in
                        [(text, f, len(o)) for text, f in
                         sample_poems(model, poetry, o, measure_opening, t, rng)]]
        by_length = {}
        for n in (5, 7):
            group = [(text, f) for text, f, L in with_opening if L == n]
            by_length[str(n)] = sample_measures(group, poetry, line_length=n, skip_first=1)
        opened[str(t)] = by_length
    corpus = corpus_measures(poetry)
    corpus["top_chars"] = top_chars(pm.char_distribution(
        "".join(p["lines"]) for p in poetry.poems["train"]))
    return {"config": config, "history": history, "final": final,
            "openings": {o: {"in_training_poems": any(x.startswith(o) for x in train_texts)}
                         for o in OPENINGS},
            "samples": shown, "free": free, "opened": opened, "corpus": corpus}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.experiments.poems",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, metavar="FILE", help="results JSON to write")
    parser.add_argument("--data-dir", metavar="DIR", default=None,
                        help="where chinese-poetry is (default $RNNS_POETRY_DIR, then the "
                             "user cache, then npm pack)")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=0.01, help="Adam learning rate")
    parser.add_argument("--params", metavar="FILE", default=None, help="also save the weights")
    parser.add_argument("--progress", action="store_true", help="tqdm progress bars")
    args = parser.parse_args(argv)
    command = "python -m grader.experiments.poems " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    try:
        poetry = load_poetry(args.data_dir)
    except (OSError, ValueError) as exc:
        print(f"poems: error: {exc}", file=sys.stderr)
        return 2
    result = run(poetry, epochs=args.epochs, seed=args.seed, lr=args.lr,
                 params_path=Path(args.params) if args.params else None, progress=args.progress,
                 printer=lambda r: print(json.dumps(r, ensure_ascii=False), flush=True))
    result["command"] = command
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
