"""``python -m grader train rnnlm ...``: train a chapter-4 language model and report perplexities.

Prints JSON lines: one ``config`` line, one ``epoch`` line per epoch (train and validation
perplexity, learning rate, time), and a ``final`` line with the validation and test
perplexity of the kept parameters.  With ``--out DIR`` it also writes ``DIR/history.json``
(configuration, history and final numbers, for plots) and ``DIR/params.npz``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

HELP = "train a language model (rnnlm: tanh RNN or LSTM) on PTB or the dice corpus"

TASKS = ("rnnlm",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Defaults are written out here rather than imported, so that --help stays fast.
    parser.add_argument("task", choices=TASKS, help="what to train")
    parser.add_argument("--model", choices=("rnn", "lstm"), default="lstm",
                        help="recurrent layer (default lstm)")
    parser.add_argument("--corpus", choices=("ptb", "dice"), default="ptb",
                        help="ptb (default) or the dice corpus written by 'grader corpus dice'")
    parser.add_argument("--data-dir", metavar="DIR", default=None,
                        help="corpus directory (PTB: default $RNNS_DATA_DIR, then the user cache, "
                             "then download; dice: required)")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=20.0, help="SGD learning rate (default 20)")
    parser.add_argument("--clip", type=float, default=0.25,
                        help="max global gradient norm; 0 disables clipping (default 0.25)")
    parser.add_argument("--lr-decay", type=float, default=4.0,
                        help="divide the learning rate by this when validation perplexity "
                             "gets worse (default 4)")
    parser.add_argument("--decay-from", type=int, default=None, metavar="EPOCH",
                        help="also divide the learning rate by --lr-decay at the start of this "
                             "epoch and of every later one (default: only when validation "
                             "perplexity gets worse)")
    parser.add_argument("--batch", type=int, default=20, help="parallel streams (default 20)")
    parser.add_argument("--bptt", type=int, default=35, help="truncated BPTT length (default 35)")
    parser.add_argument("--hidden", type=int, default=100, help="hidden size H (default 100)")
    parser.add_argument("--embed", type=int, default=None,
                        help="word vector size D (default: same as --hidden)")
    parser.add_argument("--forget-bias", type=float, default=0.0,
                        help="LSTM only: initial bias of the forget gate (default 0, as in the "
                             "textbook)")
    parser.add_argument("--eval-batch", type=int, default=10,
                        help="streams when evaluating perplexity (default 10)")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="write history.json and params.npz there")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm progress bars")


def _load_corpus(args) -> tuple[dict, int, dict]:
    """{split: ids}, vocabulary size, extra info for the report."""
    if args.corpus == "ptb":
        from grader.data.ptb import load_ptb

        ptb = load_ptb(args.data_dir)
        return ({"train": ptb.train, "valid": ptb.valid, "test": ptb.test}, ptb.vocab_size,
                {"data_dir": str(ptb.directory)})
    if args.data_dir is None:
        raise ValueError("--corpus dice needs --data-dir (write one with 'python -m grader "
                         "corpus dice --out DIR')")
    from grader.corpus.dice import FACES, load_dice_corpus

    dice = load_dice_corpus(args.data_dir)
    bayes = {split: stats.get("bayes_perplexity")
             for split, stats in dice["meta"].get("splits", {}).items()}
    return dict(dice["tokens"]), len(FACES), {"data_dir": str(args.data_dir),
                                              "bayes_ppl": bayes}


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from grader.reference.rnnlm import (LstmRnnlm, SimpleRnnlm, Trainer, evaluate_perplexity,
                                        save_params)

    try:
        splits, vocab_size, info = _load_corpus(args)
    except (OSError, ValueError) as exc:  # PTB errors derive from these
        print(f"grader train: error: {exc}", file=sys.stderr)
        return 2
    D = args.embed or args.hidden
    cls = SimpleRnnlm if args.model == "rnn" else LstmRnnlm
    if args.model == "rnn" and args.forget_bias:
        print("grader train: error: --forget-bias needs --model lstm", file=sys.stderr)
        return 2
    options = {"forget_bias": args.forget_bias} if args.model == "lstm" else {}
    model = cls(vocab_size, D, args.hidden, dtype=np.dtype(args.dtype),
                rng=np.random.default_rng(args.seed), **options)
    config = {"task": args.task, "model": args.model, "corpus": args.corpus, "vocab": vocab_size,
              "embed": D, "hidden": args.hidden, "epochs": args.epochs, "lr": args.lr,
              "clip": args.clip, "lr_decay": args.lr_decay, "decay_from": args.decay_from,
              "batch": args.batch,
              "forget_bias": args.forget_bias if args.model == "lstm" else None,
              "bptt": args.bptt, "eval_batch": args.eval_batch, "dtype": args.dtype,
              "seed": args.seed, **info}
    print(json.dumps({"event": "config", **config}), flush=True)
    trainer = Trainer(model, lr=args.lr, clip=args.clip or None, lr_decay=args.lr_decay,
                      decay_from=args.decay_from, progress=not args.no_progress)

    def report(record: dict) -> None:
        print(json.dumps({"event": "epoch", **record}), flush=True)

    start = time.perf_counter()
    try:
        history = trainer.fit(splits["train"], splits["valid"], epochs=args.epochs,
                              batch_size=args.batch, time_size=args.bptt,
                              eval_batch_size=args.eval_batch, callback=report)
        final = {"event": "final", "best_epoch": trainer.best_epoch,
                 "valid_ppl": evaluate_perplexity(model, splits["valid"], args.eval_batch,
                                                  args.bptt),
                 "test_ppl": evaluate_perplexity(model, splits["test"], args.eval_batch,
                                                 args.bptt),
                 "seconds": time.perf_counter() - start}
    except ValueError as exc:  # e.g. a corpus too short for the batch shape
        print(f"grader train: error: {exc}", file=sys.stderr)
        return 2
    if "bayes_ppl" in info:
        final["bayes_ppl"] = info["bayes_ppl"]
    print(json.dumps(final), flush=True)
    if args.out:
        from pathlib import Path

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        save_params(model, out / "params.npz")
        (out / "history.json").write_text(json.dumps(
            {"config": config, "history": history, "final": final}, indent=1) + "\n")
    return 0
