"""Chapter 6: a character-level LSTM that writes Tang quatrains.

Command line (JSON lines on stdout: ``config``, one ``epoch`` line per epoch, ``final``)::

    python -m grader.experiments.poems --out book/results/poems.json [--data-dir DIR]
        [--epochs 12] [--seed 0] [--hidden 128] [--training poems|stream] [--params PATH]

The model is chapter 4's ``LstmRnnlm`` (Embedding 64 -> LSTM 128 -> fused Affine + softmax)
over the characters of ``grader.data.poetry``, trained with Adam and clipping (chapter 4's
``Trainer.train_step``), keeping the parameters of the best validation epoch.

How it reads the poems (``--training``):

* ``poems`` (the default): one poem per row of a batch, read from a zero state.  The
  inputs are ``<eos> line1 ， line2 。 line3 ， line4 。`` and the targets the same
  tokens shifted by one, ending with ``<eos>``: the ``<eos>`` in front, read from a zero
  state, is the start-of-poem token.  A batch holds poems of one length (25 tokens for
  five-character quatrains, 33 for seven), in a new random order every epoch.
* ``stream``: the first version of this chapter, kept to measure what changed.  The
  poems joined into one stream that chapter 4's ``Trainer.fit`` reads in sequential
  batches (truncated BPTT), so that the state at each ``<eos>`` carries the poem before.

Then, all with fixed seeds, it

* scores the test poems token by token, as it was trained (perplexity overall and on
  characters alone, and the mean loss at each position of a poem) beside the unigram
  baseline;
* writes poems the way it read them: from a zero state, ``<eos>``, then an opening line
  with its comma (``床前明月光，``): a few from each opening in ``OPENINGS`` at each
  temperature to show, and many more to measure (``grader.experiments.poem_measures``):
  form, rhyme, tones, characters and copying, beside the same measures of the held-out
  poems and of chance.

Everything the book quotes is in the one JSON file ``--out``; ``--params`` also saves the
weights (about 3.5 MB in float32: not committed).
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
from grader.reference.rnnlm import LstmRnnlm, Trainer, evaluate_perplexity, perplexity, save_params

# Openings (the first line of a poem): three famous ones and two that no Tang poem has.
OPENINGS = ("床前明月光", "白日依山尽", "春眠不觉晓", "两个黄鹂鸣翠柳", "朝辞白帝彩云间",
            "山中无所事", "深夜读书灯火明")
TEMPERATURES = (0.5, 0.8, 1.0, 1.2)
MAX_TOKENS = 40  # a 7-character quatrain is 32 tokens with its punctuation, 33 with <eos>
TRAINING = ("poems", "stream")


# ----------------------------------------------------------------------------- poems as rows


def poem_rows(stream: np.ndarray, eos: int) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """The poems of ``stream`` (``<eos> poem <eos> poem ... <eos>``) grouped by length.

    Returns ``{n: (starts, rows)}``: for the poems of ``n`` tokens (their ``<eos>``
    included: 25 or 33), ``rows`` (P, n + 1) holds each poem with the ``<eos>`` before it,
    so that ``rows[:, :-1]`` are the inputs and ``rows[:, 1:]`` the targets, and ``starts``
    (P,) the position in ``stream`` of that leading ``<eos>``.
    """
    ends = np.flatnonzero(np.asarray(stream) == eos)
    lengths = np.diff(ends)
    return {int(n): (ends[:-1][lengths == n],
                     np.stack([stream[a:a + n + 1] for a in ends[:-1][lengths == n]]))
            for n in np.unique(lengths)}


def poem_batches(rows: dict[int, tuple[np.ndarray, np.ndarray]], batch_size: int,
                 rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch of batches: the poems of each length shuffled and cut into batches of
    ``batch_size`` rows (the last of each length smaller), all batches in random order."""
    batches = []
    for _, group in rows.values():
        order = rng.permutation(len(group))
        batches += [group[order[k:k + batch_size]] for k in range(0, len(group), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def poem_log_probs(model, stream: np.ndarray, eos: int, chunk: int = 200) -> np.ndarray:
    """log P(stream[i + 1] | its poem so far) for every i, each poem read from a zero state
    after its ``<eos>``, as the model was trained (``--training poems``)."""
    out = np.empty(len(stream) - 1, dtype=np.float64)
    for n, (starts, group) in poem_rows(stream, eos).items():
        for a in range(0, len(group), chunk):
            rows = group[a:a + chunk]
            model.reset_state()
            s = model.predict(rows[:, :-1]).astype(np.float64)
            s -= s.max(axis=2, keepdims=True)
            logp = s - np.log(np.exp(s).sum(axis=2, keepdims=True))
            picked = np.take_along_axis(logp, rows[:, 1:, None].astype(np.int64), axis=2)[..., 0]
            out[starts[a:a + chunk, None] + np.arange(n)] = picked
    model.reset_state()
    return out


def stream_log_probs(model, corpus: np.ndarray, chunk: int = 500) -> np.ndarray:
    """log P(corpus[i + 1] | corpus[: i + 1]) for every i, reading the corpus as one stream
    (``--training stream``)."""
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


# ----------------------------------------------------------------------------- training


def fit_poems(trainer: Trainer, train: np.ndarray, valid: np.ndarray, eos: int, *,
              epochs: int, batch_size: int, rng: np.random.Generator, log_every: int = 50,
              callback: Callable[[dict], None] | None = None) -> dict[str, list]:
    """Train ``trainer.model`` one poem per row, each from a zero state (``poem_batches``).

    The bookkeeping is ``Trainer.fit``'s: each step is ``trainer.train_step`` (clipping,
    the optimiser); after each epoch the validation perplexity (``poem_log_probs``), the
    learning rate divided by ``trainer.lr_decay`` when it got worse, and at the end the
    parameters of the best epoch restored.  Returns (and fills) ``trainer.history``.
    """
    model, history = trainer.model, trainer.history
    train_rows, best, best_params, iteration = poem_rows(train, eos), np.inf, None, 0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        total, tokens, running, running_tokens = 0.0, 0, 0.0, 0
        for batch in poem_batches(train_rows, batch_size, rng):
            model.reset_state()  # every poem starts from zeros
            loss = trainer.train_step(batch[:, :-1], batch[:, 1:])
            n = batch[:, 1:].size
            total, tokens = total + loss * n, tokens + n
            running, running_tokens = running + loss * n, running_tokens + n
            iteration += 1
            if iteration % log_every == 0:
                history["iter"].append(iteration)
                history["iter_ppl"].append(perplexity(running / running_tokens))
                running, running_tokens = 0.0, 0
        seconds = time.perf_counter() - start
        valid_ppl = float(np.exp(-poem_log_probs(model, valid, eos).mean()))
        record = {"epoch": epoch, "train_ppl": perplexity(total / tokens), "valid_ppl": valid_ppl,
                  "lr": float(trainer.optimizer.lr), "seconds": seconds,
                  "tokens_per_s": tokens / seconds}
        if valid_ppl < best:
            best, trainer.best_epoch = valid_ppl, epoch
            best_params = {k: p.copy() for k, p in model.params.items()}
        else:
            trainer.optimizer.lr /= trainer.lr_decay
        for key, value in record.items():
            history[key].append(value)
        if callback is not None:
            callback(record)
    trainer.best_valid_ppl = best
    for k, p in model.params.items():
        p[...] = best_params[k]
    return history


# ----------------------------------------------------------------------------- sampling


def sample_poems(model, poetry: Poetry, opening: str, n: int, temperature: float,
                 rng: np.random.Generator, max_tokens: int = MAX_TOKENS, *,
                 before: np.ndarray | None = None) -> list[tuple[str, bool]]:
    """``n`` poems that start with ``opening`` ("" for none), sampled side by side.

    The model starts from a zero state and reads ``<eos>`` (the start of a poem) and the
    opening (give the comma that ends a first line: ``"床前明月光，"``); or, with ``before``
    (n, L) ids, reads those rows first (whole poems, each ending with its ``<eos>``) and
    then the opening.  Then each row feeds back its own draws from
    ``softmax(scores / temperature)`` (``<unk>`` never drawn) until ``<eos>`` or
    ``max_tokens``.  Returns ``(text, finished)`` per poem: the opening and what follows,
    without ``<eos>``, and whether ``<eos>`` came.
    """
    eos, unk = poetry.char_to_id[EOS], poetry.char_to_id[UNK]
    opening_ids = poetry.encode(opening).astype(np.int64)
    if before is None:
        prompt = np.tile(np.concatenate([[eos], opening_ids]), (n, 1))
    else:
        prompt = np.concatenate([before, np.tile(opening_ids, (n, 1))], axis=1).astype(np.int64)
    model.reset_state()
    scores = model.predict(prompt)[:, -1]
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


def score(model, poetry: Poetry, training: str = "poems") -> dict:
    """Test perplexity of the model (read as it was trained) and of the unigram baseline,
    overall, on characters only (targets other than ，。<eos>), and the mean loss by
    position for 5- and 7-character poems."""
    test = poetry.test
    eos = poetry.char_to_id[EOS]
    specials = [poetry.char_to_id[c] for c in (EOS, COMMA, STOP)]
    model_lp = (poem_log_probs(model, test, eos) if training == "poems"
                else stream_log_probs(model, test))
    uni_lp = pm.unigram_log_probs(poetry.train, test, poetry.vocab_size)
    is_char = ~np.isin(test[1:], specials)
    pos = positions_in_poem(test, eos)
    # A poem's length (tokens) at each target: 5-character quatrains have 25, 7-character 33.
    eos_at = np.flatnonzero(test[1:] == eos)
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
    """The measures of ``poem_measures`` on the held-out (test) poems (what a perfect model
    reaches), and the chance rates of rhyme and tones."""
    test_lines = [p["lines"] for p in poetry.poems["test"]]
    train_lines = [p["lines"] for p in poetry.poems["train"]]
    rate, count = pm.rhyme_rate(test_lines)
    texts = ["".join(ls) for ls in test_lines]
    corpus_set = {line for ls in train_lines for line in ls}
    copied, total = pm.copied_lines(
        ["".join(l + e for l, e in zip(ls, (COMMA, STOP, COMMA, STOP))) for ls in test_lines],
        corpus_set)
    train_chars = pm.char_distribution("".join(ls) for ls in train_lines)
    by_length = {}
    for n in (5, 7):
        group = [ls for ls in test_lines if len(ls[0]) == n]
        by_length[str(n)] = {"poems": len(group), "rhyme_rate": pm.rhyme_rate(group)[0],
                             "chance_rhyme_rate": pm.chance_rhyme_rate(group),
                             **pm.tone_measures(group), **pm.chance_tone_measures(group)}
    return {"poems": count, "rhyme_rate": rate, "chance_rhyme_rate": pm.chance_rhyme_rate(test_lines),
            "length_5": float(np.mean([len(ls[0]) == 5 for ls in test_lines])),
            "copied_lines": copied,
            "tv_vs_train": pm.total_variation(pm.char_distribution(texts), train_chars),
            "distinct_chars": len(pm.char_distribution(texts)),
            "chars": sum(len(t) for t in texts), "by_length": by_length}


def sample_measures(samples: Sequence[tuple[str, bool]], poetry: Poetry, *,
                    line_length: int | None = None, skip_first: int = 0) -> dict:
    """Form (and what went wrong), rhyme and tones (well-formed poems only), character and
    copying measures of samples."""
    train_lines = [p["lines"] for p in poetry.poems["train"]]
    out = pm.shape(samples, line_length)
    out["errors"] = pm.form_errors(samples, line_length)
    good = [pm.split_lines(t)[0] for t, f in samples if pm.is_well_formed(t, f, line_length)]
    out["rhyme_rate"], out["rhymed_poems"] = pm.rhyme_rate(good)
    out.update(pm.tone_measures(good))
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


def train(poetry: Poetry, *, training: str = "poems", epochs: int = 12, seed: int = 0,
          embed: int = 64, hidden: int = 128, lr: float = 0.01, clip: float = 5.0,
          lr_decay: float = 2.0, batch: int = 20, bptt: int = 35,
          printer: Callable[[dict], None] | None = None,
          progress: bool = False) -> tuple[LstmRnnlm, dict, dict]:
    """Build and train the model; returns it (at its best epoch), the config and the history."""
    if training not in TRAINING:
        raise ValueError(f"training must be one of {TRAINING}, not {training!r}")
    emit = printer or (lambda record: None)
    config = {"training": training, "vocab": poetry.vocab_size, "min_count": poetry.min_count,
              "embed": embed, "hidden": hidden, "epochs": epochs, "optimizer": "adam", "lr": lr,
              "clip": clip, "lr_decay": lr_decay, "batch": batch, "seed": seed,
              "poems": {k: len(v) for k, v in poetry.poems.items()},
              "tokens": {k: int(len(getattr(poetry, k))) for k in ("train", "valid", "test")}}
    if training == "stream":
        config["bptt"] = bptt
    emit({"event": "config", **config})
    model = LstmRnnlm(poetry.vocab_size, embed, hidden, rng=np.random.default_rng(seed))
    trainer = Trainer(model, Adam(lr), clip=clip, lr_decay=lr_decay, progress=progress)
    callback = lambda r: emit({"event": "epoch", **r})  # noqa: E731
    if training == "poems":
        history = fit_poems(trainer, poetry.train, poetry.valid, poetry.char_to_id[EOS],
                            epochs=epochs, batch_size=batch, rng=np.random.default_rng(seed + 2),
                            callback=callback)
    else:
        history = trainer.fit(poetry.train, poetry.valid, epochs=epochs, batch_size=batch,
                              time_size=bptt, log_every=50, callback=callback)
    history.pop("grad_norm")  # one number per iteration: too many to store
    return model, config, {**history, "best_epoch": trainer.best_epoch}


def run(poetry: Poetry, *, training: str = "poems", epochs: int = 12, seed: int = 0,
        embed: int = 64, hidden: int = 128, lr: float = 0.01, clip: float = 5.0,
        lr_decay: float = 2.0, batch: int = 20, bptt: int = 35, show: int = 3,
        measure: int = 400, measure_opening: int = 200,
        printer: Callable[[dict], None] | None = None, params_path: Path | None = None,
        progress: bool = False) -> dict:
    """Train, score, sample and measure; returns the dict written to ``--out``."""
    emit = printer or (lambda record: None)
    start = time.perf_counter()
    model, config, history = train(poetry, training=training, epochs=epochs, seed=seed,
                                   embed=embed, hidden=hidden, lr=lr, clip=clip,
                                   lr_decay=lr_decay, batch=batch, bptt=bptt, printer=printer,
                                   progress=progress)
    train_seconds = time.perf_counter() - start
    if params_path is not None:
        save_params(model, params_path)
    best_epoch = history.pop("best_epoch")
    valid_ppl = (float(np.exp(-poem_log_probs(model, poetry.valid, poetry.char_to_id[EOS]).mean()))
                 if training == "poems" else evaluate_perplexity(model, poetry.valid, 10, bptt))
    final = {"best_epoch": best_epoch, "train_seconds": train_seconds, "valid_ppl": valid_ppl,
             **score(model, poetry, training)}
    emit({"event": "final", **{k: v for k, v in final.items() if not isinstance(v, dict)}})
    result = {"config": config, "history": history, "final": final,
              **write_and_measure(model, poetry, seed=seed, show=show, measure=measure,
                                  measure_opening=measure_opening)}
    return result


def write_and_measure(model, poetry: Poetry, *, seed: int = 0, show: int = 3, measure: int = 400,
                      measure_opening: int = 200) -> dict:
    """The poems the book shows and the measures of many more, all seeded: ``samples``
    (``show`` per opening and temperature), ``free`` (``measure`` poems from ``<eos>``
    alone per temperature), ``opened`` (``measure_opening`` per opening and temperature,
    each opening given with its comma), ``openings`` and ``corpus``."""
    rng = np.random.default_rng(seed + 1)
    shown = {o: {str(t): [text for text, _ in sample_poems(model, poetry, o + COMMA, show, t, rng)]
                 for t in TEMPERATURES} for o in OPENINGS}
    train_texts = {"".join(p["lines"]) for p in poetry.poems["train"]}
    free, opened = {}, {}
    for t in TEMPERATURES:
        samples = sample_poems(model, poetry, "", measure, t, rng)
        free[str(t)] = sample_measures(samples, poetry)
        free[str(t)]["top_chars"] = top_chars(pm.char_distribution(s for s, _ in samples))
        free[str(t)]["examples"] = [s for s, _ in samples[:6]]
        opened[str(t)] = {
            o: sample_measures(sample_poems(model, poetry, o + COMMA, measure_opening, t, rng),
                               poetry, line_length=len(o), skip_first=1)
            for o in OPENINGS}
    corpus = corpus_measures(poetry)
    corpus["top_chars"] = top_chars(pm.char_distribution(
        "".join(p["lines"]) for p in poetry.poems["train"]))
    return {"openings": {o: {"in_training_poems": any(x.startswith(o) for x in train_texts),
                             **pm.tone_of_line(o)}
                         for o in OPENINGS},
            "samples": shown, "free": free, "opened": opened, "corpus": corpus}


def command_line(module: str, argv: Sequence[str] | None) -> str:
    """The command that reruns this experiment, as the results file records it."""
    return f"python -m {module} " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))


def write_result(out: Path, result: dict, command: str) -> None:
    """``result`` with the ``command`` that made it, as JSON in ``out`` (book/results/)."""
    result["command"] = command
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.experiments.poems",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, metavar="FILE", help="results JSON to write")
    parser.add_argument("--data-dir", metavar="DIR", default=None,
                        help="where chinese-poetry is (default $RNNS_POETRY_DIR, then the "
                             "user cache, then npm pack)")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hidden", type=int, default=128, help="LSTM units")
    parser.add_argument("--lr", type=float, default=0.01, help="Adam learning rate")
    parser.add_argument("--training", choices=TRAINING, default="poems",
                        help="one poem per row from a zero state (default), or the poems as "
                             "one stream with truncated BPTT (the chapter's first version)")
    parser.add_argument("--params", metavar="FILE", default=None, help="also save the weights")
    parser.add_argument("--progress", action="store_true", help="tqdm progress bars")
    args = parser.parse_args(argv)
    command = command_line("grader.experiments.poems", argv)
    try:
        poetry = load_poetry(args.data_dir)
    except (OSError, ValueError) as exc:
        print(f"poems: error: {exc}", file=sys.stderr)
        return 2
    result = run(poetry, training=args.training, epochs=args.epochs, seed=args.seed,
                 hidden=args.hidden, lr=args.lr,
                 params_path=Path(args.params) if args.params else None, progress=args.progress,
                 printer=lambda r: print(json.dumps(r, ensure_ascii=False), flush=True))
    write_result(Path(args.out), result, command)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
