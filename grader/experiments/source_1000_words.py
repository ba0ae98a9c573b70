"""Chapter 4's first experiment run two ways: the textbook's training loop and the course's.

The source (Saito 2018, chapter 5) trains a ``SimpleRnnlm`` on the first 1000 words of
PTB (batch 10, T = 5, D = H = 100, SGD lr 0.1, no clipping, 100 epochs) and reports a
final training perplexity of 5.48; the course's ``Trainer`` with the same settings gives
a lower one.  The two loops differ in three ways, and this command measures each:

* **where an epoch starts**: the textbook's batch position runs on from one epoch to the
  next (an epoch of 19 batches covers 950 of the 999 word pairs, so every epoch starts 950
  words further on, modulo 999, and cuts the text at other places); the course restarts
  every epoch at position 0, so every epoch shows the model the same 19 batches;
* **the state at an epoch's start**: the textbook never resets the hidden state; the
  course's ``Trainer`` resets it at the start of every epoch;
* **the initial weights**: the textbook draws them from NumPy's global generator without a
  seed, so its 5.48 is one unseeded run; the course seeds ``default_rng``.

For each seed the same initial weights (``default_rng(seed)``) are trained under the four
combinations of the first two differences; the third is covered by running several seeds.
One JSON line per run (``"event": "run"``), then a summary per loop (``"event": "summary"``)::

    python -m grader.experiments.source_1000_words --data-dir DIR --seeds 10 \\
        > book/results/rnnlm_1000_words_loops.jsonl
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time

import numpy as np

from grader.reference.rnnlm import SimpleRnnlm, Trainer, perplexity, sequential_batches

# (name, positions run on across epochs, state carried across epochs)
LOOPS = (
    ("course", False, False),           # Trainer.fit: restart at 0, reset the state
    ("textbook", True, True),           # Saito's loop: positions run on, state never reset
    ("positions run on", True, False),  # one difference at a time
    ("state carried", False, True),
)
SETTINGS = {"words": 1000, "batch": 10, "bptt": 5, "embed": 100, "hidden": 100, "lr": 0.1,
            "epochs": 100}


def train(corpus: np.ndarray, seed: int, positions_run_on: bool, state_carried: bool,
          settings: dict = SETTINGS) -> list[float]:
    """Training perplexity per epoch of one run (the loss averaged over the epoch's batches)."""
    V = int(corpus.max()) + 1
    model = SimpleRnnlm(V, settings["embed"], settings["hidden"], rng=np.random.default_rng(seed))
    trainer = Trainer(model, lr=settings["lr"], clip=None, progress=False)
    n = (len(corpus) - 1) // (settings["batch"] * settings["bptt"])
    position, history = 0, []
    for _ in range(settings["epochs"]):
        if not state_carried:
            model.reset_state()
        if not positions_run_on:
            position = 0
        losses = [trainer.train_step(xs, ts) for xs, ts in sequential_batches(
            corpus, settings["batch"], settings["bptt"], n_batches=n, start=position)]
        position += n * settings["bptt"]
        history.append(perplexity(float(np.mean(losses))))
    return history


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="folder of the PTB files")
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0 .. N-1 (default 10)")
    args = parser.parse_args(argv)

    from grader.data.ptb import load_ptb

    corpus = np.asarray(load_ptb(args.data_dir).train[:SETTINGS["words"]])
    command = f"python -m grader.experiments.source_1000_words --data-dir DIR --seeds {args.seeds}"
    print(json.dumps({"event": "config", **SETTINGS, "vocab": int(corpus.max()) + 1,
                      "seeds": args.seeds, "loops": [name for name, *_ in LOOPS],
                      "command": command, "numpy": np.__version__,
                      "python": platform.python_version()}), flush=True)
    finals: dict[str, list[float]] = {name: [] for name, *_ in LOOPS}
    for seed in range(args.seeds):
        for name, run_on, carried in LOOPS:
            start = time.perf_counter()
            history = train(corpus, seed, run_on, carried)
            finals[name].append(history[-1])
            print(json.dumps({"event": "run", "loop": name, "seed": seed,
                              "positions_run_on": run_on, "state_carried": carried,
                              "train_ppl_first": round(history[0], 4),
                              "train_ppl_final": round(history[-1], 4),
                              "train_ppl": [round(p, 4) for p in history],
                              "seconds": round(time.perf_counter() - start, 2)}), flush=True)
    for name, values in finals.items():
        values_array = np.array(values)
        print(json.dumps({"event": "summary", "loop": name, "seeds": len(values),
                          "mean": round(float(values_array.mean()), 4),
                          "std": round(float(values_array.std(ddof=1)), 4) if len(values) > 1 else None,
                          "min": round(float(values_array.min()), 4),
                          "max": round(float(values_array.max()), 4),
                          "geometric_mean": round(math.exp(float(np.log(values_array).mean())), 4)}),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
