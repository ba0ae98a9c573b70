"""``python -m grader corpus dice --out DIR``: generate a synthetic corpus."""
from __future__ import annotations

import argparse
import json
import sys

HELP = "generate a synthetic corpus (dice: sticky dice rolls with known Bayes perplexity)"

CORPORA = ("dice",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Defaults are written out here rather than imported, so that --help stays fast.
    parser.add_argument("corpus", choices=CORPORA, help="which corpus to generate")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="output directory (created if missing; files in it are overwritten)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--stickiness", type=float, default=0.9,
                        help="probability of keeping the same die, in [0, 1) (default 0.9)")
    parser.add_argument("--train", type=int, default=100_000, metavar="N",
                        help="tokens in the training split (default 100000)")
    parser.add_argument("--valid", type=int, default=10_000, metavar="N",
                        help="tokens in the validation split (default 10000)")
    parser.add_argument("--test", type=int, default=10_000, metavar="N",
                        help="tokens in the test split (default 10000)")


def run(args: argparse.Namespace) -> int:
    from grader.corpus.dice import SPLITS, make_dice_corpus

    sizes = {"train": args.train, "valid": args.valid, "test": args.test}
    try:
        meta = make_dice_corpus(args.out, seed=args.seed, stickiness=args.stickiness, sizes=sizes)
    except (ValueError, OSError) as exc:
        print(f"grader corpus: error: {exc}", file=sys.stderr)
        return 2
    for split in SPLITS:
        stats = meta["splits"][split]
        print(json.dumps({"split": split, "tokens": stats["tokens"],
                          "bayes_perplexity": round(stats["bayes_perplexity"], 6),
                          "viterbi_accuracy": round(stats["viterbi_accuracy"], 6),
                          "posterior_accuracy": round(stats["posterior_accuracy"], 6)}))
    return 0
