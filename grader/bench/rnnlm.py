"""Benchmark: training speed of the chapter-4 language models on PTB.

``python -m grader bench rnnlm --data-dir DIR [--iters N]`` trains SimpleRnnlm (tanh RNN)
and LstmRnnlm with the book's settings (batch 20, T = 35, D = H = 100, V = 10,000, SGD
lr 20, clipping 0.25, float32) for a fixed number of iterations after a short warm-up,
and prints one JSON line per model and implementation:

* ``impl: "reference"``: ``grader.reference.rnnlm``, the code the course teaches;
* ``impl: "textbook"``: ``grader.bench.textbook``, a deliberately naive float64 version
  started from the same weights (its perplexity should match the reference's closely,
  a cross-check of both), and the reference's speed-up over it;
* ``impl: "torch"``: the same model in PyTorch on the CPU, only if ``import torch``
  works (torch is never a dependency of the course).

``train_ppl`` is the perplexity over the timed iterations: a cross-check between
implementations, not a quality figure (the tanh RNN at lr 20 diverges within its first
few hundred steps, so its value is huge; the LSTM's falls steadily).

Tokens/s counts the N*T = 700 predicted words of each iteration, over full training
steps (forward, backward, clipping, update, zeroing).  The machine's other load makes
the numbers noisy: ``--repeats`` runs the timed block several times and reports the best
and the median.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time

HELP = "training speed (tokens/s) of the chapter-4 RNN and LSTM language models on PTB"

TARGETS = {"rnn": 20_000, "lstm": 17_000}  # tokens/s expected from the reference code
BATCH, TIME, HIDDEN, LR, CLIP = 20, 35, 100, 20.0, 0.25


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", metavar="DIR", default=None,
                        help="directory with ptb.{train,valid,test}.txt (default: $RNNS_DATA_DIR, "
                             "then the user cache, then download)")
    parser.add_argument("--iters", type=int, default=60, help="timed iterations (default 60)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed iterations first (default 5)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed blocks per model; best and median are reported (default 3)")
    parser.add_argument("--models", default="rnn,lstm", help="comma-separated: rnn, lstm")
    parser.add_argument("--baseline-iters", type=int, default=None, metavar="N",
                        help="timed iterations of the textbook baseline (default: --iters / 3, "
                             "at least 10)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the textbook baseline")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if importable")
    parser.add_argument("--seed", type=int, default=0)


def _step_fn(model, lr: float = LR, clip: float = CLIP):
    from grader.reference.optim import SGD, clip_grads

    optimizer = SGD(lr)

    def step(xs, ts) -> float:
        loss = model.forward(xs, ts)
        model.backward()
        clip_grads(model.grads, clip)
        optimizer.step(model.params, model.grads)
        model.zero_grad()
        return loss

    return step


def time_training(step, batches, warmup: int, iters: int, repeats: int) -> dict:
    """Run ``warmup`` untimed steps, then ``repeats`` timed blocks of ``iters`` steps."""
    for _ in range(warmup):
        step(*next(batches))
    rates, losses = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(iters):
            losses.append(step(*next(batches)))
        rates.append(iters * BATCH * TIME / (time.perf_counter() - start))
    return {"loadavg_1min": round(os.getloadavg()[0], 2),  # other processes: noisy numbers
            "tokens_per_s": round(max(rates)), "tokens_per_s_median": round(statistics.median(rates)),
            "tokens_per_s_all": [round(r) for r in rates],
            "train_ppl": round(math.exp(sum(losses) / len(losses)), 3),
            "final_ppl": round(math.exp(sum(losses[-iters:]) / iters), 3)}


def _torch_result(kind: str, model, corpus, args, iters: int) -> dict:
    """The same model in PyTorch (CPU, float32), started from the same weights."""
    import numpy as np
    import torch

    from grader.reference.rnnlm import sequential_batches

    torch.manual_seed(args.seed)
    p = {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in model.params.items()}
    V, D = p["embed.W"].shape
    H = HIDDEN

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(V, D)
            rnn_cls = torch.nn.RNN if kind == "rnn" else torch.nn.LSTM
            self.rnn = rnn_cls(D, H, batch_first=True)
            self.affine = torch.nn.Linear(H, V)
            with torch.no_grad():
                self.embed.weight.copy_(p["embed.W"])
                self.affine.weight.copy_(p["affine.W"].T)
                self.affine.bias.copy_(p["affine.b"])
                if kind == "rnn":
                    self.rnn.weight_ih_l0.copy_(p["rnn.Wx"].T)
                    self.rnn.weight_hh_l0.copy_(p["rnn.Wh"].T)
                    self.rnn.bias_ih_l0.copy_(p["rnn.b"])
                    self.rnn.bias_hh_l0.zero_()
                else:  # torch's gate order is i, f, g, o; ours is f, i, o, g
                    order = torch.cat([torch.arange(H, 2 * H), torch.arange(0, H),
                                       torch.arange(3 * H, 4 * H), torch.arange(2 * H, 3 * H)])
                    self.rnn.weight_ih_l0.copy_(p["lstm.Wx"].T[order])
                    self.rnn.weight_hh_l0.copy_(p["lstm.Wh"].T[order])
                    self.rnn.bias_ih_l0.copy_(p["lstm.b"][order])
                    self.rnn.bias_hh_l0.zero_()

        def forward(self, xs, state):
            out, state = self.rnn(self.embed(xs), state)
            return self.affine(out), state

    net = Net()
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    state = [None]

    def detach(s):
        if s is None:
            return None
        return tuple(x.detach() for x in s) if isinstance(s, tuple) else s.detach()

    def step(xs, ts) -> float:
        xs_t = torch.from_numpy(np.asarray(xs, dtype=np.int64))
        ts_t = torch.from_numpy(np.asarray(ts, dtype=np.int64))
        scores, new_state = net(xs_t, detach(state[0]))
        state[0] = new_state
        loss = loss_fn(scores.reshape(-1, V), ts_t.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), CLIP)
        opt.step()
        return float(loss)

    batches = sequential_batches(corpus, BATCH, TIME, n_batches=10 ** 9)
    result = time_training(step, batches, args.warmup, iters, args.repeats)
    result.update(torch_version=torch.__version__, torch_threads=torch.get_num_threads())
    return result


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from grader.bench.textbook import TextbookRnnlm
    from grader.data.ptb import PTBChecksumError, PTBNotFoundError, load_ptb
    from grader.reference.rnnlm import LstmRnnlm, SimpleRnnlm, sequential_batches

    try:
        ptb = load_ptb(args.data_dir)
    except (PTBNotFoundError, PTBChecksumError) as exc:
        print(f"grader bench rnnlm: error: {exc}", file=sys.stderr)
        return 2
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = set(models) - {"rnn", "lstm"}
    if unknown:
        print(f"grader bench rnnlm: error: unknown model(s) {sorted(unknown)}", file=sys.stderr)
        return 2
    try:
        import threadpoolctl
        blas = [{k: info.get(k) for k in ("internal_api", "num_threads", "architecture")}
                for info in threadpoolctl.threadpool_info() if info.get("user_api") == "blas"]
    except ImportError:
        blas = None
    torch_ok = False
    if not args.no_torch:
        try:
            import torch  # noqa: F401
            torch_ok = True
        except ImportError:
            pass
    common = {"benchmark": "rnnlm", "batch": BATCH, "bptt": TIME, "hidden": HIDDEN,
              "vocab": ptb.vocab_size, "lr": LR, "clip": CLIP, "cpus": os.cpu_count(),
              "numpy": np.__version__, "blas": blas}
    base_iters = args.baseline_iters or max(10, args.iters // 3)
    status = 0
    for kind in models:
        cls = SimpleRnnlm if kind == "rnn" else LstmRnnlm
        model = cls(ptb.vocab_size, HIDDEN, HIDDEN, dtype=np.float32,
                    rng=np.random.default_rng(args.seed))
        textbook = TextbookRnnlm.from_model(model)  # same initial weights, before training
        batches = sequential_batches(ptb.train, BATCH, TIME, n_batches=10 ** 9)
        ref = time_training(_step_fn(model), batches, args.warmup, args.iters, args.repeats)
        record = dict(common, model=kind, impl="reference", dtype="float32", iters=args.iters,
                      warmup=args.warmup, repeats=args.repeats, **ref,
                      target_tokens_per_s=TARGETS[kind],
                      meets_target=ref["tokens_per_s"] >= TARGETS[kind])
        if not args.no_baseline:
            batches = sequential_batches(ptb.train, BATCH, TIME, n_batches=10 ** 9)
            tb = time_training(_step_fn(textbook), batches, args.warmup, base_iters, args.repeats)
            print(json.dumps(dict(common, model=kind, impl="textbook", dtype="float64",
                                  iters=base_iters, warmup=args.warmup, repeats=args.repeats,
                                  **tb)), flush=True)
            record["speedup_vs_textbook"] = round(ref["tokens_per_s"] / tb["tokens_per_s"], 2)
        if torch_ok:
            try:
                tr = _torch_result(kind, cls(ptb.vocab_size, HIDDEN, HIDDEN, dtype=np.float32,
                                             rng=np.random.default_rng(args.seed)),
                                   ptb.train, args, args.iters)
                print(json.dumps(dict(common, model=kind, impl="torch", dtype="float32",
                                      iters=args.iters, **tr)), flush=True)
                record["ratio_vs_torch"] = round(ref["tokens_per_s"] / tr["tokens_per_s"], 3)
            except Exception as exc:  # noqa: BLE001 - torch is optional; report, don't fail
                print(json.dumps(dict(common, model=kind, impl="torch", error=repr(exc))),
                      flush=True)
        print(json.dumps(record), flush=True)
    return status
