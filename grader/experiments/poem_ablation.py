"""Chapter 6: why the first poem model wrote no quatrains from an opening, measured.

Command line (JSON lines on stdout, then the whole result in ``--out``)::

    python -m grader.experiments.poem_ablation --out book/results/poems_ablation.json
        [--epochs 3] [--seed 0] [--samples 100] [--temperature 0.8] [--params-dir DIR]

It trains the chapter's model twice with the same sizes, seed and epochs
(``grader.experiments.poems.train``): once as the chapter's first version did (the poems
as one stream, truncated BPTT: the state at each ``<eos>`` carries the poem before), once
one poem per row from a zero state.  Then it writes ``--samples`` poems from each opening
of ``OPENINGS`` at one temperature, in each of these ways, and counts the well-formed
quatrains and what broke the others (``poem_measures.form_error``):

* the opening alone, or followed by its comma (``床前明月光，``);
* from a zero state then ``<eos>`` (as the first version wrote), or, for the stream model,
  after reading a whole held-out poem and its ``<eos>`` (the state that model saw before
  every poem in training).

It also writes as many free poems (no opening) from each start, and counts the well-formed.

With ``--params-dir`` the trained weights are saved there and, when present, loaded
instead of training again (the command recorded is the same either way).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from grader.data.poetry import COMMA, EOS, Poetry, load_poetry
from grader.experiments import poem_measures as pm
from grader.experiments.poems import (OPENINGS, TRAINING, command_line, poem_log_probs, poem_rows,
                                      sample_poems, train, write_result)
from grader.reference.layer import load_params, save_params
from grader.reference.rnnlm import LstmRnnlm, evaluate_perplexity

# (name, training, comma after the opening, read a held-out poem first)
VARIANTS = (
    ("stream, zero state, no comma", "stream", False, False),
    ("stream, zero state, comma", "stream", True, False),
    ("stream, after a poem, no comma", "stream", False, True),
    ("stream, after a poem, comma", "stream", True, True),
    ("poems, zero state, no comma", "poems", False, False),
    ("poems, zero state, comma", "poems", True, False),
)


def held_out_poems(poetry: Poetry, n: int) -> np.ndarray:
    """``n`` rows of held-out seven-character poems, ``<eos> poem <eos>`` (repeated if needed)."""
    rows = poem_rows(poetry.valid, poetry.char_to_id[EOS])[33][1]
    return rows[np.arange(n) % len(rows)]


def measure_free(model, poetry: Poetry, *, after_poem: bool, n: int, temperature: float,
                 seed: int) -> float:
    """The share of ``n`` free poems (no opening) that are well-formed quatrains."""
    before = held_out_poems(poetry, n) if after_poem else None
    free = sample_poems(model, poetry, "", n, temperature, np.random.default_rng(seed),
                        before=before)
    return pm.shape(free)["well_formed"]


def measure(model, poetry: Poetry, *, comma: bool, after_poem: bool, samples: int,
            temperature: float, seed: int) -> dict:
    """Well-formed share and form errors per opening (and over all of them) for one way of
    prompting, ``samples`` poems per opening."""
    rng = np.random.default_rng(seed)
    before = held_out_poems(poetry, samples) if after_poem else None
    per_opening, everything = {}, []
    for opening in OPENINGS:
        got = sample_poems(model, poetry, opening + (COMMA if comma else ""), samples,
                           temperature, rng, before=before)
        everything += [(t, f, len(opening)) for t, f in got]
        per_opening[opening] = {"well_formed": pm.shape(got, len(opening))["well_formed"],
                                "errors": pm.form_errors(got, len(opening))}
    errors = {name: float(np.mean([pm.form_error(t, f, n) == name for t, f, n in everything]))
              for name in pm.FORM_ERRORS}
    return {"well_formed": float(np.mean([pm.is_well_formed(t, f, n) for t, f, n in everything])),
            "errors": errors, "by_opening": per_opening,
            "examples": {o: [t for t, _ in sample_poems(model, poetry, o + (COMMA if comma else ""),
                                                        2, temperature, rng,
                                                        before=None if before is None
                                                        else before[:2])]
                         for o in OPENINGS[:2]}}


def run(poetry: Poetry, *, epochs: int = 3, seed: int = 0, samples: int = 100,
        temperature: float = 0.8, params_dir: Path | None = None, printer=None) -> dict:
    emit = printer or (lambda record: None)
    models, trained = {}, {}
    for training in TRAINING:
        path = params_dir / f"{training}-e{epochs}-s{seed}.npz" if params_dir else None
        if path is not None and path.exists():
            model = LstmRnnlm(poetry.vocab_size, 64, 128, rng=np.random.default_rng(seed))
            load_params(model, path)
            info = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        else:
            start = time.perf_counter()
            model, config, history = train(poetry, training=training, epochs=epochs, seed=seed,
                                           printer=printer)
            info = {"config": config, "history": history,
                    "train_seconds": time.perf_counter() - start}
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                save_params(model, path)
                path.with_suffix(".json").write_text(json.dumps(info), encoding="utf-8")
        eos = poetry.char_to_id[EOS]
        info["valid_ppl_per_poem"] = float(np.exp(-poem_log_probs(model, poetry.valid, eos).mean()))
        info["valid_ppl_stream"] = evaluate_perplexity(model, poetry.valid, 10, 35)
        models[training], trained[training] = model, info
        emit({"event": "trained", "training": training,
              **{k: v for k, v in info.items() if not isinstance(v, dict)}})
    variants, free = {}, {}
    for name, training, comma, after_poem in VARIANTS:
        if (training, after_poem) not in free:
            free[training, after_poem] = measure_free(
                models[training], poetry, after_poem=after_poem, n=samples * len(OPENINGS),
                temperature=temperature, seed=seed + 2)
        variants[name] = {"training": training, "comma": comma, "after_poem": after_poem,
                          **measure(models[training], poetry, comma=comma, after_poem=after_poem,
                                    samples=samples, temperature=temperature, seed=seed + 1),
                          "free_well_formed": free[training, after_poem]}
        emit({"event": "variant", "name": name, "well_formed": variants[name]["well_formed"],
              "free_well_formed": variants[name]["free_well_formed"],
              "errors": variants[name]["errors"]})
    return {"config": {"epochs": epochs, "seed": seed, "samples": samples,
                       "temperature": temperature, "openings": list(OPENINGS)},
            "models": trained, "variants": variants}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.experiments.poem_ablation",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, metavar="FILE", help="results JSON to write")
    parser.add_argument("--data-dir", metavar="DIR", default=None)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=100, help="poems per opening and variant")
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--params-dir", metavar="DIR", default=None,
                        help="save the trained weights there, or load them if present")
    args = parser.parse_args(argv)
    command = command_line("grader.experiments.poem_ablation", argv)
    try:
        poetry = load_poetry(args.data_dir)
    except (OSError, ValueError) as exc:
        print(f"poem_ablation: error: {exc}", file=sys.stderr)
        return 2
    result = run(poetry, epochs=args.epochs, seed=args.seed, samples=args.samples,
                 temperature=args.temperature,
                 params_dir=Path(args.params_dir) if args.params_dir else None,
                 printer=lambda r: print(json.dumps(r, ensure_ascii=False), flush=True))
    write_result(Path(args.out), result, command)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
