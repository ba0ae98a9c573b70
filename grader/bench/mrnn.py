"""Benchmark: training speed of the chapter-5 Markov RNN beside the chapter-4 LSTM on PTB.

``python -m grader bench mrnn --data-dir DIR`` trains, with the chapter-4 benchmark's
settings (batch 20, T = 35, D = H = 100, V = 10,000, SGD lr 20, clipping 0.25, float32):

* ``model: "lstm"``: ``LstmRnnlm``, the baseline;
* ``model: "mrnn", states: K`` for each K of ``--states`` (default 2 and 4): ``MrnnLM``
  with LSTM encoders, in training mode (Gumbel-softmax samples, entropy term, beta 0.01);

and prints one JSON line per model: tokens/s (best and median of ``--repeats`` timed
blocks, the machine's other load makes single numbers noisy), the ratio of the MRNN's
speed to the baseline's (``speed_vs_lstm``) and its inverse, the cost in units of one
LSTM (``cost_vs_lstm``).  The recurrent part of an MRNN does K times the LSTM's work but
the vocabulary softmax, the bulk of the time with V = 10,000, is shared by the K states,
so ``cost_vs_lstm`` should stay well under K.  ``cpu_ms_per_iter`` is the process CPU time
of one training step (all threads; the best block) and ``cpu_cost_vs_lstm`` its ratio: on
a machine shared with other jobs it is steadier than the wall-clock ratio.  The models
are timed in turn, block by block (LSTM, MRNN 2, MRNN 4, LSTM, ...), so that a change of
load hits all of them.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

HELP = "training speed (tokens/s) of the chapter-5 Markov RNN (K = 2, 4) beside the LSTM on PTB"

BATCH, TIME, HIDDEN, LR, CLIP, BETA = 20, 35, 100, 20.0, 0.25, 0.01


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", metavar="DIR", default=None,
                        help="directory with ptb.{train,valid,test}.txt (default: $RNNS_DATA_DIR, "
                             "then the user cache, then download)")
    parser.add_argument("--states", default="2,4", help="comma-separated K values (default 2,4)")
    parser.add_argument("--cell", choices=("lstm", "rnn"), default="lstm",
                        help="MRNN encoder cell (default lstm)")
    parser.add_argument("--iters", type=int, default=40,
                        help="timed iterations per block (default 40)")
    parser.add_argument("--warmup", type=int, default=5,
                        help="untimed iterations first (default 5)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed blocks per model; best and median are reported (default 3)")
    parser.add_argument("--blas-threads", type=int, default=None, metavar="N",
                        help="hold the BLAS library to N threads for every model (default: "
                             "its own setting; 1 gives a fair comparison on a busy machine)")
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    if args.blas_threads is None:
        return _run(args)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=args.blas_threads, user_api="blas"):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    import numpy as np

    from grader.bench.rnnlm import clip_sgd_step
    from grader.data.ptb import PTBChecksumError, PTBNotFoundError, load_ptb
    from grader.reference.mrnn import MrnnLM
    from grader.reference.rnnlm import LstmRnnlm, sequential_batches

    try:
        ptb = load_ptb(args.data_dir)
    except (PTBNotFoundError, PTBChecksumError) as exc:
        print(f"grader bench mrnn: error: {exc}", file=sys.stderr)
        return 2
    try:
        states = [int(k) for k in args.states.split(",") if k.strip()]
    except ValueError:
        print(f"grader bench mrnn: error: --states must be integers, got {args.states!r}",
              file=sys.stderr)
        return 2
    if not states or min(states) < 1:
        print("grader bench mrnn: error: --states needs K >= 1", file=sys.stderr)
        return 2
    V = ptb.vocab_size
    runs = [("lstm", None, LstmRnnlm(V, HIDDEN, HIDDEN, dtype=np.float32,
                                     rng=np.random.default_rng(args.seed)))]
    for K in states:
        model = MrnnLM(V, HIDDEN, HIDDEN, K, cell=args.cell, beta=BETA, dtype=np.float32,
                       rng=np.random.default_rng(args.seed))
        model.set_training(True)
        runs.append(("mrnn", K, model))
    steps = {}
    for name, K, model in runs:
        steps[(name, K)] = (clip_sgd_step(model, LR, CLIP),
                            sequential_batches(ptb.train, BATCH, TIME, n_batches=10 ** 9))
        step, batches = steps[(name, K)]
        for _ in range(args.warmup):
            step(*next(batches))
    rates = {key: [] for key in steps}
    cpu = {key: [] for key in steps}
    losses = {key: [] for key in steps}
    for _ in range(args.repeats):          # interleaved: load changes hit every model
        for key, (step, batches) in steps.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            for _ in range(args.iters):
                losses[key].append(step(*next(batches)))
            rates[key].append(args.iters * BATCH * TIME / (time.perf_counter() - start))
            cpu[key].append((time.process_time() - start_cpu) / args.iters)
    common = {"benchmark": "mrnn", "batch": BATCH, "bptt": TIME, "hidden": HIDDEN, "vocab": V,
              "lr": LR, "clip": CLIP, "dtype": "float32", "iters": args.iters,
              "warmup": args.warmup, "repeats": args.repeats, "cpus": os.cpu_count(),
              "numpy": np.__version__, "blas_threads": args.blas_threads}
    base = ("lstm", None)
    base_best, base_median = max(rates[base]), statistics.median(rates[base])
    base_cpu = min(cpu[base])
    for (name, K), r in rates.items():
        record = dict(common, model=name, tokens_per_s=round(max(r)),
                      tokens_per_s_median=round(statistics.median(r)),
                      tokens_per_s_all=[round(x) for x in r],
                      cpu_ms_per_iter=round(1e3 * min(cpu[(name, K)]), 2),
                      train_ppl=round(float(np.exp(np.mean(losses[(name, K)]))), 3))
        if name == "mrnn":
            speed = max(r) / base_best
            record.update(states=K, cell=args.cell, beta=BETA,
                          speed_vs_lstm=round(speed, 3), cost_vs_lstm=round(1 / speed, 3),
                          cost_vs_lstm_median=round(base_median / statistics.median(r), 3),
                          cpu_cost_vs_lstm=round(min(cpu[(name, K)]) / base_cpu, 3),
                          cost_below_K=1 / speed < K)
        print(json.dumps(record), flush=True)
    return 0
