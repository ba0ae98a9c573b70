"""Chapter-5 experiments with the Markov RNN: the dice corpus, and a short PTB comparison.

Command line (JSON lines on stdout: one ``"event": "epoch"`` line per epoch, then one
``"event": "result"`` line)::

    python -m grader.experiments.mrnn_dice dice --corpus-dir DIR [--states 3] [--epochs 10]
    python -m grader.experiments.mrnn_dice ptb  --data-dir DIR [--states 2,4] [--epochs 1]

``dice``: train an MRNN on the dice corpus (generated into DIR first if DIR has no
meta.json) and compare it with what the true HMM achieves: its perplexity against the
corpus's Bayes floor, and the state it picks at each step against the true die
(``state_recovery_accuracy``, best renaming of states).  The true parameters decode the
dice with the ``viterbi_accuracy`` / ``posterior_accuracy`` of meta.json (about 0.78 /
0.81 on the default 0.9-sticky corpus), using the whole sequence; the result also gives
the *filtering* accuracy of the true HMM, argmax P(die_t | rolls up to t), the fairer
ceiling for a left-to-right model.

``ptb``: MRNN with K = 2 and 4 beside an LSTM of the same size, same data, same budget
and same optimiser; valid and test perplexity.  The defaults (a slice of the training
text, one epoch) finish in minutes on two cores; the numbers are then a smoke test of the
comparison, not the paper's.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from grader.reference.gumbel import TAU0, TAU_MIN
from grader.reference.mrnn import MrnnLM, MrnnTrainer, collect_states, state_recovery_accuracy
from grader.reference.rnnlm import LstmRnnlm, Trainer, evaluate_perplexity


def _auto_rate(epochs: int, tau0: float = TAU0, tau_min: float = TAU_MIN) -> float:
    """A decay rate that brings tau from tau0 to tau_min after 3/4 of the epochs.

    The source's rate 0.1 is made for about 40 epochs (5 e^{-3.9} = 0.1); a short run
    with it would end at a temperature far from the hard samples used in evaluation.
    """
    return math.log(tau0 / tau_min) / max(1.0, 0.75 * (epochs - 1))


def _emit(printer: Callable[[dict], None] | None, record: dict) -> None:
    if printer is not None:
        printer(record)


def _round(x, digits: int = 4):
    return None if x is None else round(float(x), digits)


def _hmm_filtering(meta: dict, tokens: np.ndarray, states: np.ndarray) -> dict:
    """Accuracy of the true HMM's filtered (argmax P(die_t | o_..t)) and one-step predicted
    (argmax P(die_{t+1} | o_..t)) dice: the ceilings of a left-to-right model."""
    from grader.reference.hmm import HMM, forward

    p = meta["parameters"]
    hmm = HMM(np.array(p["start"]), np.array(p["transition"]), np.array(p["emission"]))
    alphas = forward(hmm, tokens).alphas
    return {"filtering_accuracy": float(np.mean(alphas.argmax(axis=1) == states)),
            "prediction_accuracy": float(np.mean((alphas[:-1] @ hmm.A).argmax(axis=1)
                                                 == states[1:]))}


# ----------------------------------------------------------------------------- dice


def run_dice_experiment(corpus_dir, K: int = 3, H: int = 32, epochs: int = 10, seed: int = 0, *,
                        D: int = 16, cell: str = "lstm", beta: float = 0.01,
                        batch_size: int = 50, time_size: int = 35, lr: float = 5.0,
                        clip: float = 0.25, tau_rate: float | None = None,
                        baseline: bool = True, return_model: bool = False,
                        printer: Callable[[dict], None] | None = None) -> dict:
    """Train an MRNN (K states) on the dice corpus in ``corpus_dir`` and evaluate it.

    Returns a dict with, for valid and test: the MRNN's perplexity (evaluation mode, argmax
    states), the Bayes and unigram perplexities of the split, the state-recovery accuracy
    aligned with the input's die and with the target's die, the true HMM's ceilings
    (Viterbi, posterior, filtering, prediction); the state usage; the final training
    entropy; the history; with ``baseline`` also an LSTM of the same size trained alike.
    ``tau_rate=None`` anneals tau from 5 to 0.1 over the first 3/4 of the epochs.
    ``printer`` receives each epoch's record and is how the command line streams progress.
    ``return_model``: also return the trained model under ``"model"`` (for figures; not JSON).
    """
    from grader.corpus.dice import load_dice_corpus

    corpus = load_dice_corpus(corpus_dir)
    meta = corpus["meta"]
    V = len(meta["vocab"])
    rate = _auto_rate(epochs) if tau_rate is None else tau_rate
    rng = np.random.default_rng(seed)
    model = MrnnLM(V, D, H, K, cell=cell, beta=beta, tau_rate=rate, dtype=np.float32, rng=rng)
    trainer = MrnnTrainer(model, lr=lr, clip=clip, progress=False)
    start = time.perf_counter()

    def on_epoch(record: dict) -> None:
        _emit(printer, {"event": "epoch", "experiment": "dice", "model": f"mrnn K={K}",
                        **{k: _round(v) if isinstance(v, float) else v
                           for k, v in record.items()}})

    history = trainer.fit(corpus["tokens"]["train"], corpus["tokens"]["valid"], epochs=epochs,
                          batch_size=batch_size, time_size=time_size, eval_batch_size=10,
                          callback=on_epoch)
    train_seconds = time.perf_counter() - start
    result = {"event": "result", "experiment": "dice", "corpus_dir": str(corpus_dir),
              "K": K, "H": H, "D": D, "cell": cell, "beta": beta, "epochs": epochs,
              "seed": seed, "lr": lr, "clip": clip, "tau_rate": _round(rate),
              "final_tau": _round(model.tau), "best_epoch": trainer.best_epoch,
              "train_seconds": round(train_seconds, 1)}
    model.set_training(False)
    for split in ("valid", "test"):
        tokens, states = corpus["tokens"][split], corpus["states"][split]
        split_meta = meta["splits"][split]
        ppl = evaluate_perplexity(model, tokens, 10, time_size)
        res = collect_states(model, tokens, batch_size=1, max_tokens=None, logits=False)
        usage = np.bincount(res["state"], minlength=K) / res["state"].size
        ceilings = _hmm_filtering(meta, tokens, states)
        result[split] = {
            "perplexity": _round(ppl),
            "bayes_perplexity": _round(split_meta["bayes_perplexity"]),
            "unigram_perplexity": _round(split_meta["unigram_perplexity"]),
            "excess_over_bayes": _round(ppl / split_meta["bayes_perplexity"] - 1),
            # batch_size=1: one stream, the same reading as the HMM's forward pass.
            "state_accuracy_input": _round(state_recovery_accuracy(
                model, corpus, split, align="input", batch_size=1)),
            "state_accuracy_target": _round(state_recovery_accuracy(
                model, corpus, split, align="target", batch_size=1)),
            "hmm_viterbi_accuracy": _round(split_meta["viterbi_accuracy"]),
            "hmm_posterior_accuracy": _round(split_meta["posterior_accuracy"]),
            "hmm_filtering_accuracy": _round(ceilings["filtering_accuracy"]),
            "hmm_prediction_accuracy": _round(ceilings["prediction_accuracy"]),
            "state_usage": [_round(u) for u in usage],
            "mean_entropy": _round(float(np.mean(-(res["q"] * np.log(np.maximum(res["q"], 1e-30))
                                                   ).sum(axis=1)))),
        }
    result["history"] = {k: [_round(x) for x in history[k]]
                         for k in ("train_ppl", "valid_ppl", "lr", "tau", "entropy", "kl")}
    if baseline:
        lstm = LstmRnnlm(V, D, H, dtype=np.float32, rng=np.random.default_rng(seed))
        lstm_trainer = Trainer(lstm, lr=lr, clip=clip, lr_decay=1 / 0.3, progress=False)
        lstm_trainer.fit(corpus["tokens"]["train"], corpus["tokens"]["valid"], epochs=epochs,
                         batch_size=batch_size, time_size=time_size, eval_batch_size=10)
        result["lstm_baseline"] = {
            split: _round(evaluate_perplexity(lstm, corpus["tokens"][split], 10, time_size))
            for split in ("valid", "test")}
    if return_model:
        result["model"] = model
    return result


# ----------------------------------------------------------------------------- PTB


def run_ptb_experiment(data_dir=None, K: int | Sequence[int] = (2, 4), H: int = 100,
                       epochs: int = 1, *, D: int | None = None, seed: int = 0,
                       max_train_tokens: int | None = 150_000,
                       max_eval_tokens: int | None = 30_000, batch_size: int = 20,
                       time_size: int = 35, lr: float = 20.0, clip: float = 0.25,
                       beta: float = 0.01, tau_rate: float | None = None,
                       lstm_baseline: bool = True,
                       printer: Callable[[dict], None] | None = None) -> dict:
    """MRNN (each K in ``K``, LSTM encoders) and an LSTM of the same size on PTB.

    Same data (the first ``max_train_tokens`` training words; None: all), same epochs,
    same optimiser (SGD ``lr``, clipping, lr x 0.3 when validation gets worse) and the same
    initial embedding and output weights.  Valid and test perplexity on the first
    ``max_eval_tokens`` words of each split (None: all).  ``D`` defaults to ``H``.
    Returns ``{"models": {name: {valid_ppl, test_ppl, seconds, tokens_per_s, ...}}, ...}``.
    """
    from grader.data.ptb import load_ptb

    ptb = load_ptb(data_dir)
    D = H if D is None else D
    Ks = [K] if isinstance(K, int) else list(K)
    train = ptb.train if max_train_tokens is None else ptb.train[:max_train_tokens + 1]
    valid = ptb.valid if max_eval_tokens is None else ptb.valid[:max_eval_tokens + 1]
    test = ptb.test if max_eval_tokens is None else ptb.test[:max_eval_tokens + 1]
    rate = _auto_rate(epochs) if tau_rate is None else tau_rate
    V = ptb.vocab_size
    result = {"event": "result", "experiment": "ptb", "H": H, "D": D, "epochs": epochs,
              "seed": seed, "train_tokens": int(len(train) - 1), "eval_tokens": int(len(valid) - 1),
              "batch_size": batch_size, "time_size": time_size, "lr": lr, "clip": clip,
              "beta": beta, "tau_rate": _round(rate), "models": {}}
    runs: list[tuple[str, object]] = []
    if lstm_baseline:
        runs.append(("lstm", None))
    runs += [(f"mrnn K={k}", k) for k in Ks]
    for name, k in runs:
        rng = np.random.default_rng(seed)
        if k is None:
            model = LstmRnnlm(V, D, H, dtype=np.float32, rng=rng)
            trainer = Trainer(model, lr=lr, clip=clip, lr_decay=1 / 0.3, progress=False)
        else:
            model = MrnnLM(V, D, H, k, beta=beta, tau_rate=rate, dtype=np.float32, rng=rng)
            trainer = MrnnTrainer(model, lr=lr, clip=clip, progress=False)

        def on_epoch(record: dict, name=name) -> None:
            _emit(printer, {"event": "epoch", "experiment": "ptb", "model": name,
                            **{key: _round(v) if isinstance(v, float) else v
                               for key, v in record.items()}})

        start = time.perf_counter()
        history = trainer.fit(train, valid, epochs=epochs, batch_size=batch_size,
                              time_size=time_size, eval_batch_size=10, callback=on_epoch)
        entry = {"valid_ppl": _round(evaluate_perplexity(model, valid, 10, time_size), 3),
                 "test_ppl": _round(evaluate_perplexity(model, test, 10, time_size), 3),
                 "train_ppl": [_round(x, 3) for x in history["train_ppl"]],
                 "seconds": round(time.perf_counter() - start, 1),
                 "tokens_per_s": [round(x) for x in history["tokens_per_s"]]}
        if k is not None:
            res = collect_states(model, valid, batch_size=10, max_tokens=10_000, logits=False)
            entry["K"] = k
            entry["state_usage"] = [_round(u) for u in
                                    np.bincount(res["state"], minlength=k) / res["state"].size]
            entry["tau"] = [_round(x) for x in history["tau"]]
        result["models"][name] = entry
    return result


# ----------------------------------------------------------------------------- CLI


def _print_json(record: dict) -> None:
    print(json.dumps(record), flush=True)


def _ensure_dice_corpus(directory: Path) -> None:
    if not (directory / "meta.json").exists():
        from grader.corpus.dice import make_dice_corpus

        print(f"mrnn_dice: no corpus in {directory}; generating the default dice corpus there",
              file=sys.stderr)
        make_dice_corpus(directory)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.experiments.mrnn_dice",
                                     description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="experiment", required=True)
    d = sub.add_parser("dice", help="MRNN on the dice corpus: perplexity vs Bayes, state recovery")
    d.add_argument("--corpus-dir", required=True, type=Path,
                   help="dice corpus directory (generated there if it has no meta.json)")
    d.add_argument("--states", type=int, default=3, help="K (default 3)")
    d.add_argument("--hidden", type=int, default=32, help="H (default 32)")
    d.add_argument("--wordvec", type=int, default=16, help="D (default 16)")
    d.add_argument("--epochs", type=int, default=10, help="default 10")
    d.add_argument("--batch", type=int, default=50, help="batch size (default 50, as the source)")
    d.add_argument("--cell", choices=("lstm", "rnn"), default="lstm")
    d.add_argument("--beta", type=float, default=0.01, help="entropy weight (default 0.01)")
    d.add_argument("--lr", type=float, default=5.0, help="SGD learning rate (default 5)")
    d.add_argument("--tau-rate", type=float, default=None,
                   help="temperature decay per epoch (default: reach 0.1 at 3/4 of the epochs)")
    d.add_argument("--no-baseline", action="store_true", help="skip the LSTM baseline")
    d.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("ptb", help="MRNN K = 2, 4 vs LSTM of the same size on PTB")
    p.add_argument("--data-dir", default=None, help="PTB directory (default: $RNNS_DATA_DIR...)")
    p.add_argument("--states", default="2,4", help="comma-separated K values (default 2,4)")
    p.add_argument("--hidden", type=int, default=100, help="H = D (default 100)")
    p.add_argument("--epochs", type=int, default=1, help="default 1")
    p.add_argument("--train-tokens", type=int, default=150_000,
                   help="training words used (default 150000; 0: all 929k)")
    p.add_argument("--eval-tokens", type=int, default=30_000,
                   help="valid/test words scored (default 30000; 0: all)")
    p.add_argument("--lr", type=float, default=20.0)
    p.add_argument("--beta", type=float, default=0.01)
    p.add_argument("--tau-rate", type=float, default=None)
    p.add_argument("--no-baseline", action="store_true", help="skip the LSTM")
    p.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.experiment == "dice":
        _ensure_dice_corpus(args.corpus_dir)
        result = run_dice_experiment(args.corpus_dir, K=args.states, H=args.hidden,
                                     epochs=args.epochs, seed=args.seed, D=args.wordvec,
                                     cell=args.cell, beta=args.beta, lr=args.lr,
                                     batch_size=args.batch,
                                     tau_rate=args.tau_rate, baseline=not args.no_baseline,
                                     printer=_print_json)
    else:
        result = run_ptb_experiment(
            args.data_dir, K=[int(k) for k in args.states.split(",") if k.strip()],
            H=args.hidden, epochs=args.epochs, seed=args.seed,
            max_train_tokens=args.train_tokens or None, max_eval_tokens=args.eval_tokens or None,
            lr=args.lr, beta=args.beta, tau_rate=args.tau_rate,
            lstm_baseline=not args.no_baseline, printer=_print_json)
    _print_json(result)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
