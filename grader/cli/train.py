"""``python -m grader train rnnlm ...``: train a chapter-4 language model and report perplexities.

Prints JSON lines: one ``config`` line, one ``epoch`` line per epoch (train and validation
perplexity, learning rate, time), and a ``final`` line with the validation and test
perplexity of the kept parameters.  With ``--out DIR`` it also writes ``DIR/history.json``
(configuration, history and final numbers, for plots) and ``DIR/params.npz``.

With ``--checkpoint DIR`` a long run can stop (or be stopped) and go on later with the
same command: the state after every epoch goes to DIR, a run that finds it there goes on
from it (printing the earlier epochs again, marked ``"resumed": true``), and the result is
the one an uninterrupted run would have given.
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
    parser.add_argument("--layers", type=int, default=1,
                        help="LSTM only: stacked LSTM layers (default 1)")
    parser.add_argument("--dropout", type=float, default=0.0, metavar="P",
                        help="LSTM only: inverted dropout ratio before and after every LSTM "
                             "layer (default 0)")
    parser.add_argument("--tie-weights", action="store_true",
                        help="LSTM only: output weights = embedding matrix transposed "
                             "(needs --embed equal to --hidden)")
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="stop training before an epoch that would end after this many "
                             "minutes (predicted from the epochs so far)")
    parser.add_argument("--decay-last", type=int, default=None, metavar="K",
                        help="divide the learning rate by --lr-decay at the start of every epoch "
                             "from the first predicted to be among the last K (of --epochs, or of "
                             "those --max-minutes allows) until training stops")
    parser.add_argument("--eval-batch", type=int, default=10,
                        help="streams when evaluating perplexity (default 10)")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="write history.json and params.npz there")
    parser.add_argument("--checkpoint", metavar="DIR", default=None,
                        help="save the run's state there after every epoch, and go on from the "
                             "state found there (same model, data and schedule) instead of "
                             "starting afresh; --epochs counts the epochs already run")
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


# Options whose value the command line repeats (the task is positional, flags separate).
_VALUED = ("model", "corpus", "data_dir", "epochs", "lr", "clip", "lr_decay", "decay_from",
           "batch", "bptt", "hidden", "embed", "forget_bias", "layers", "dropout", "max_minutes",
           "decay_last", "eval_batch", "dtype", "seed", "out", "checkpoint")


def command_line(args: argparse.Namespace, **override) -> str:
    """The run as one explicit ``python -m grader train ...`` line (defaults written out)."""
    import shlex

    values = {**vars(args), **override}
    words = ["python", "-m", "grader", "train", values["task"]]
    for name in _VALUED:
        if values.get(name) is not None:
            words += ["--" + name.replace("_", "-"), str(values[name])]
    for flag in ("tie_weights", "no_progress"):
        if values.get(flag):
            words.append("--" + flag.replace("_", "-"))
    return shlex.join(words)


def _build_model(args, vocab_size: int, D: int):
    """LstmRnnlm / SimpleRnnlm as in the chapter; BetterRnnlm when stacking, dropout or tying."""
    import numpy as np

    from grader.reference.rnnlm import LstmRnnlm, SimpleRnnlm

    common = {"dtype": np.dtype(args.dtype), "rng": np.random.default_rng(args.seed)}
    if args.model == "rnn":
        return SimpleRnnlm(vocab_size, D, args.hidden, **common)
    if args.layers > 1 or args.dropout or args.tie_weights:
        from grader.reference.better_rnnlm import BetterRnnlm

        return BetterRnnlm(vocab_size, D, args.hidden, num_layers=args.layers,
                           dropout=args.dropout, tie_weights=args.tie_weights,
                           forget_bias=args.forget_bias, **common)
    return LstmRnnlm(vocab_size, D, args.hidden, forget_bias=args.forget_bias, **common)


def run(args: argparse.Namespace) -> int:
    from grader.reference.rnnlm import Trainer, evaluate_perplexity, save_params

    try:
        splits, vocab_size, info = _load_corpus(args)
    except (OSError, ValueError) as exc:  # PTB errors derive from these
        print(f"grader train: error: {exc}", file=sys.stderr)
        return 2
    D = args.embed or args.hidden
    lstm_only = {"--forget-bias": args.forget_bias, "--layers": args.layers != 1,
                 "--dropout": args.dropout, "--tie-weights": args.tie_weights}
    if args.model == "rnn" and any(lstm_only.values()):
        used = ", ".join(k for k, v in lstm_only.items() if v)
        print(f"grader train: error: {used} needs --model lstm", file=sys.stderr)
        return 2
    try:
        model = _build_model(args, vocab_size, D)
    except ValueError as exc:  # e.g. tying with --embed != --hidden
        print(f"grader train: error: {exc}", file=sys.stderr)
        return 2
    config = {"command": command_line(args), "task": args.task, "model": args.model,
              "class": type(model).__name__, "corpus": args.corpus, "vocab": vocab_size,
              "embed": D, "hidden": args.hidden, "epochs": args.epochs, "lr": args.lr,
              "clip": args.clip, "lr_decay": args.lr_decay, "decay_from": args.decay_from,
              "batch": args.batch,
              "forget_bias": args.forget_bias if args.model == "lstm" else None,
              "layers": args.layers, "dropout": args.dropout, "tie_weights": args.tie_weights,
              "max_minutes": args.max_minutes, "decay_last": args.decay_last,
              "parameters": int(sum(p.size for p in model.params.values())),
              "bptt": args.bptt, "eval_batch": args.eval_batch, "dtype": args.dtype,
              "seed": args.seed, **info}
    print(json.dumps({"event": "config", **config}), flush=True)
    trainer = Trainer(model, lr=args.lr, clip=args.clip or None, lr_decay=args.lr_decay,
                      decay_from=args.decay_from, decay_last=args.decay_last,
                      max_seconds=None if args.max_minutes is None else 60 * args.max_minutes,
                      progress=not args.no_progress)

    start = time.perf_counter()
    seconds_before = 0.0  # spent by the invocations this one goes on from
    if args.checkpoint:
        from grader.reference.checkpoint import has_checkpoint, load_checkpoint, save_checkpoint

        key = {name: config[name] for name in _CHECKPOINT_KEY}
        if has_checkpoint(args.checkpoint):
            try:
                seconds_before = load_checkpoint(args.checkpoint, model, trainer, key)["seconds"]
            except (OSError, ValueError, KeyError) as exc:
                print(f"grader train: error: cannot go on from --checkpoint {args.checkpoint}: "
                      f"{exc}", file=sys.stderr)
                return 2
            for epoch in _epoch_records(trainer.history):
                print(json.dumps({"event": "epoch", **epoch, "resumed": True}), flush=True)

    def report(record: dict) -> None:
        print(json.dumps({"event": "epoch", **record}), flush=True)
        if args.checkpoint:
            save_checkpoint(args.checkpoint, model, trainer, key,
                            {"seconds": seconds_before + time.perf_counter() - start})

    try:
        remaining = args.epochs - len(trainer.history["epoch"])
        if remaining > 0:
            history = trainer.fit(splits["train"], splits["valid"], epochs=remaining,
                                  batch_size=args.batch, time_size=args.bptt,
                                  eval_batch_size=args.eval_batch, callback=report)
        else:  # all epochs ran before: only the final measure is left
            history = trainer.history
            if trainer.best_params is not None:
                for name, p in model.params.items():
                    p[...] = trainer.best_params[name]
        final = {"event": "final", "best_epoch": trainer.best_epoch,
                 "valid_ppl": evaluate_perplexity(model, splits["valid"], args.eval_batch,
                                                  args.bptt),
                 "test_ppl": evaluate_perplexity(model, splits["test"], args.eval_batch,
                                                 args.bptt),
                 "seconds": seconds_before + time.perf_counter() - start,
                 "epochs_run": len(history["epoch"])}
        if args.max_minutes is not None or args.decay_last:
            final["repeat_command"] = _repeat_command(args, trainer)
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


# What must not change between a checkpoint and the run that goes on from it.
_CHECKPOINT_KEY = ("task", "model", "class", "corpus", "vocab", "embed", "hidden", "lr", "clip",
                   "lr_decay", "decay_from", "batch", "forget_bias", "layers", "dropout",
                   "tie_weights", "parameters", "bptt", "eval_batch", "dtype", "seed")


def _epoch_records(history: dict) -> list[dict]:
    """The per-epoch records of a trainer's history, as the epoch lines print them."""
    fields = ("epoch", "train_ppl", "valid_ppl", "lr", "seconds", "tokens_per_s")
    return [dict(zip(fields, values)) for values in zip(*(history[f] for f in fields))]


def _repeat_command(args, trainer) -> str:
    """The same run without a clock: the epochs it ran, the scheduled decays it made."""
    return command_line(args, epochs=len(trainer.history["epoch"]),
                        decay_from=trainer.scheduled_decay_from, max_minutes=None,
                        decay_last=None, checkpoint=None)
