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

Models (``--models``): ``rnn`` and ``lstm`` are chapter 4's (D = H = 100); ``lstm2`` is the
better model of the chapter's last section at its book sizes (``BetterRnnlm``: two LSTM
layers of 300, dropout 0.3, tied weights), and ``lstm650`` the same model at the
textbook's sizes (two layers of 650, dropout 0.5; not in the default set: its steps are
slow), both timed against PyTorch only (the textbook version has one layer).  Sizes
(``--sizes``): ``book`` is the setting above; ``small`` is the source's first experiment
(the first 1000 PTB words, V = 418, batch 10, T = 5, SGD lr 0.1, no clipping), where a
step is 50 tokens and fixed costs per step (thread hand-offs, BLAS thread limits) would
show: there the textbook version runs with BLAS held to one thread, its fastest setting
at that size.  Every line says its ``size``.

``train_ppl`` is the perplexity over the timed iterations: a cross-check between
implementations, not a quality figure (the tanh RNN at lr 20 diverges within its first
few hundred steps, so its value is huge; the LSTM's falls steadily).

Tokens/s counts the N*T = 700 predicted words of each iteration, over full training
steps (forward, backward, clipping, update, zeroing): for the reference, exactly the
step of ``Trainer`` (what ``python -m grader train`` runs).  The machine's other load
makes the numbers noisy: ``--repeats`` times several blocks of each implementation,
interleaved (reference, textbook, torch, reference, ...), and reports the best and the
median block, and the ratios of both.
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

# Problem sizes: batch, bptt, hidden, lr, clip (None: no clipping), the first ``words``
# training words (None: all of PTB; the vocabulary is then the words they use).
SIZES = {
    "book": {"batch": BATCH, "bptt": TIME, "hidden": HIDDEN, "lr": LR, "clip": CLIP,
             "words": None},
    "small": {"batch": 10, "bptt": 5, "hidden": 100, "lr": 0.1, "clip": None, "words": 1000},
}
# The better model of chapter 4's last section: at its book sizes (the PTB run in
# book/results/rnnlm_ptb_better.jsonl), and at the textbook's.
BETTER = {
    "lstm2": {"layers": 2, "hidden": 300, "dropout": 0.3, "tie_weights": True},
    "lstm650": {"layers": 2, "hidden": 650, "dropout": 0.5, "tie_weights": True},
}
MODELS = ("rnn", "lstm", *BETTER)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", metavar="DIR", default=None,
                        help="directory with ptb.{train,valid,test}.txt (default: $RNNS_DATA_DIR, "
                             "then the user cache, then download)")
    parser.add_argument("--iters", type=int, default=60, help="timed iterations (default 60)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed iterations first (default 5)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed blocks per model; best and median are reported (default 3)")
    parser.add_argument("--models", default="rnn,lstm,lstm2",
                        help="comma-separated: rnn, lstm, lstm2, lstm650 (default the first "
                             "three)")
    parser.add_argument("--sizes", default="book,small",
                        help="comma-separated: book, small (default both; lstm2 and lstm650 "
                             "run at the book's batch and T only)")
    parser.add_argument("--baseline-iters", type=int, default=None, metavar="N",
                        help="timed iterations of the textbook baseline (default: --iters / 3, "
                             "at least 10)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the textbook baseline")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if importable")
    parser.add_argument("--seed", type=int, default=0)


def _reference_step(model, lr: float = LR, clip: float = CLIP):
    """The training step of the course's ``Trainer`` (what ``train rnnlm`` runs)."""
    from grader.reference.rnnlm import Trainer

    return Trainer(model, lr=lr, clip=clip, progress=False).train_step


def clip_sgd_step(model, lr: float = LR, clip: float | None = CLIP):
    """The textbook's training step: clip the gradients in place (unless ``clip`` is None),
    then plain SGD, in one thread.  (The MRNN benchmark times every model with it.)"""
    from grader.reference.optim import SGD, clip_grads

    optimizer = SGD(lr)

    def step(xs, ts) -> float:
        loss = model.forward(xs, ts)
        model.backward()
        if clip is not None:
            clip_grads(model.grads, clip)
        optimizer.step(model.params, model.grads)
        model.zero_grad()
        return loss

    return step


# Pause before each timed block: the BLAS (and OpenMP) threads that the previous block's
# implementation left spinning go to sleep meanwhile instead of competing with this one.
SETTLE_SECONDS = 0.3


def _time_block(step, batches, iters: int) -> tuple[float, list[float]]:
    time.sleep(SETTLE_SECONDS)
    tokens = 0
    start = time.perf_counter()
    losses = []
    for _ in range(iters):
        xs, ts = next(batches)
        losses.append(step(xs, ts))
        tokens += xs.size
    return tokens / (time.perf_counter() - start), losses


def time_implementations(impls: dict, warmup: int, repeats: int) -> dict[str, dict]:
    """Time several implementations of a training step, interleaved.

    ``impls`` maps a name to ``(step, batches, iters)``.  After ``warmup`` untimed steps
    each, every repeat times one block of ``iters`` steps of each implementation in turn,
    so that a change in the machine's load affects them all alike and their ratios stay
    meaningful.  Returns per name the best and median tokens/s, all of them, and the
    perplexity over the timed steps.
    """
    for step, batches, _ in impls.values():
        for _ in range(warmup):
            step(*next(batches))
    rates = {name: [] for name in impls}
    losses = {name: [] for name in impls}
    for _ in range(repeats):
        for name, (step, batches, iters) in impls.items():
            rate, block_losses = _time_block(step, batches, iters)
            rates[name].append(rate)
            losses[name].extend(block_losses)
    result = {}
    for name, (_, _, iters) in impls.items():
        r, l = rates[name], losses[name]
        result[name] = {"iters": iters, "tokens_per_s": round(max(r)),
                        "tokens_per_s_median": round(statistics.median(r)),
                        "tokens_per_s_all": [round(x) for x in r],
                        "train_ppl": round(math.exp(sum(l) / len(l)), 3),
                        "final_ppl": round(math.exp(sum(l[-iters:]) / iters), 3)}
    return result


def torch_rnnlm(kind: str, params: dict, hidden: int, lr: float = LR, clip: float | None = CLIP,
                *, layers: int = 1, dropout: float = 0.0):
    """The same language model in PyTorch (CPU, float32), from the reference's weights.

    kind "rnn" or "lstm"; ``params`` the reference model's ``{name: array}``: those of
    ``SimpleRnnlm`` / ``LstmRnnlm`` (``rnn.*`` / ``lstm.*``), or of ``BetterRnnlm``
    (``lstm1.*`` ... ``lstm{layers}.*``, dropout ``dropout`` on the LSTMs' inputs and on
    the output layer's, as ``torch.nn.LSTM(dropout=...)`` plus two ``Dropout`` layers, and
    the output weights tied to the embedding when ``params`` has no ``affine.W``).
    Returns ``(loss_fn, step)``: ``loss_fn(xs, ts)`` the mean cross-entropy of a batch
    without training (no dropout) or carrying the state, and ``step(xs, ts)`` one training
    step (SGD ``lr``, clipping at ``clip`` unless None, the state carried across calls as
    in truncated BPTT).
    """
    import numpy as np
    import torch

    p = {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in params.items()}
    V, D = p["embed.W"].shape
    H = hidden
    tied = "affine.W" not in p
    prefixes = ([kind] if layers == 1 and f"{kind}.Wx" in p
                else [f"{kind}{k + 1}" for k in range(layers)])

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(V, D)
            rnn_cls = torch.nn.RNN if kind == "rnn" else torch.nn.LSTM
            self.rnn = rnn_cls(D, H, num_layers=layers, dropout=dropout if layers > 1 else 0.0,
                               batch_first=True)
            self.drop = torch.nn.Dropout(dropout)
            self.affine = torch.nn.Linear(H, V)
            if tied:
                self.affine.weight = self.embed.weight  # (V, H) either way
            with torch.no_grad():
                self.embed.weight.copy_(p["embed.W"])
                if not tied:
                    self.affine.weight.copy_(p["affine.W"].T)
                self.affine.bias.copy_(p["affine.b"])
                # torch's LSTM gate order is i, f, g, o; ours is f, i, o, g
                order = (torch.arange(H) if kind == "rnn" else
                         torch.cat([torch.arange(H, 2 * H), torch.arange(0, H),
                                    torch.arange(3 * H, 4 * H), torch.arange(2 * H, 3 * H)]))
                for k, prefix in enumerate(prefixes):
                    getattr(self.rnn, f"weight_ih_l{k}").copy_(p[f"{prefix}.Wx"].T[order])
                    getattr(self.rnn, f"weight_hh_l{k}").copy_(p[f"{prefix}.Wh"].T[order])
                    getattr(self.rnn, f"bias_ih_l{k}").copy_(p[f"{prefix}.b"][order])
                    getattr(self.rnn, f"bias_hh_l{k}").zero_()

        def forward(self, xs, state):
            out, state = self.rnn(self.drop(self.embed(xs)), state)
            return self.affine(self.drop(out)), state

    net = Net()
    # torch adds two bias vectors (bias_ih + bias_hh) where the reference has one b: keep
    # bias_hh at zero, or SGD would move the sum twice as fast and clipping would count it
    # twice.
    for k in range(layers):
        getattr(net.rnn, f"bias_hh_l{k}").requires_grad_(False)
    opt = torch.optim.SGD([q for q in net.parameters() if q.requires_grad], lr=lr)
    cross_entropy = torch.nn.CrossEntropyLoss()
    state = [None]

    def tensors(xs, ts):
        return (torch.from_numpy(np.asarray(xs, dtype=np.int64)),
                torch.from_numpy(np.asarray(ts, dtype=np.int64)))

    def loss_fn(xs, ts) -> float:
        xs_t, ts_t = tensors(xs, ts)
        net.eval()
        with torch.no_grad():
            scores, _ = net(xs_t, None)
        net.train()
        return float(cross_entropy(scores.reshape(-1, V), ts_t.reshape(-1)))

    def detach(s):
        if s is None:
            return None
        return tuple(x.detach() for x in s) if isinstance(s, tuple) else s.detach()

    def step(xs, ts) -> float:
        xs_t, ts_t = tensors(xs, ts)
        scores, new_state = net(xs_t, detach(state[0]))
        state[0] = new_state
        loss = cross_entropy(scores.reshape(-1, V), ts_t.reshape(-1))
        opt.zero_grad()
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_([q for q in net.parameters() if q.requires_grad],
                                           clip)
        opt.step()
        return float(loss.detach())

    return loss_fn, step


def _one_blas_thread(step):
    """``step`` with BLAS held to one thread (the textbook version's best at small sizes)."""
    from threadpoolctl import threadpool_limits

    def held(xs, ts):
        with threadpool_limits(1, user_api="blas"):
            return step(xs, ts)

    return held


def _cases(models: list[str], sizes: list[str]) -> list[tuple[str, str]]:
    """(model, size) pairs in the order they run; the better models only at the book's
    batch and T."""
    return [(m, size) for size in sizes for m in models if m not in BETTER or size == "book"]


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from grader.bench.textbook import TextbookRnnlm
    from grader.data.ptb import PTBChecksumError, PTBNotFoundError, load_ptb
    from grader.reference.better_rnnlm import BetterRnnlm
    from grader.reference.rnnlm import LstmRnnlm, SimpleRnnlm, sequential_batches

    try:
        ptb = load_ptb(args.data_dir)
    except (PTBNotFoundError, PTBChecksumError) as exc:
        print(f"grader bench rnnlm: error: {exc}", file=sys.stderr)
        return 2
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    sizes = [m.strip() for m in args.sizes.split(",") if m.strip()]
    unknown = (set(models) - set(MODELS)) | (set(sizes) - set(SIZES))
    if unknown:
        print(f"grader bench rnnlm: error: unknown model(s) or size(s) {sorted(unknown)}",
              file=sys.stderr)
        return 2
    try:
        import threadpoolctl
        blas = [{k: info.get(k) for k in ("internal_api", "num_threads", "architecture")}
                for info in threadpoolctl.threadpool_info() if info.get("user_api") == "blas"]
    except ImportError:
        blas = None
    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            pass
    for kind, size in _cases(models, sizes):
        cfg = dict(SIZES[size])
        corpus = ptb.train if cfg["words"] is None else np.asarray(ptb.train[:cfg["words"]])
        V = ptb.vocab_size if cfg["words"] is None else int(corpus.max()) + 1
        rng = np.random.default_rng(args.seed)
        better = BETTER.get(kind)
        if better:
            cfg["hidden"] = better["hidden"]
            model = BetterRnnlm(V, cfg["hidden"], cfg["hidden"], num_layers=better["layers"],
                                dropout=better["dropout"], tie_weights=better["tie_weights"],
                                dtype=np.float32, rng=rng)
        else:
            cls = SimpleRnnlm if kind == "rnn" else LstmRnnlm
            model = cls(V, cfg["hidden"], cfg["hidden"], dtype=np.float32, rng=rng)
        common = {"benchmark": "rnnlm", "size": size, "batch": cfg["batch"],
                  "bptt": cfg["bptt"], "hidden": cfg["hidden"], "vocab": V, "lr": cfg["lr"],
                  "clip": cfg["clip"], "cpus": os.cpu_count(), "numpy": np.__version__,
                  "blas": blas, "warmup": args.warmup, "repeats": args.repeats}
        if better:
            common.update(layers=better["layers"], dropout=better["dropout"],
                          tie_weights=better["tie_weights"])
        # Blocks of about the same duration at every size.
        scale = 1 if cfg["words"] is None else 10
        iters = args.iters * scale
        base_iters = (args.baseline_iters or max(10, args.iters // 3)) * scale

        def batches():
            return sequential_batches(corpus, cfg["batch"], cfg["bptt"], n_batches=10 ** 9)

        # Every implementation starts from the same weights and reads the same batches.
        impls = {}
        details = {"textbook": {"dtype": "float64"}, "torch": {"dtype": "float32"}}
        if not args.no_baseline and not better:
            step = clip_sgd_step(TextbookRnnlm.from_model(model), cfg["lr"], cfg["clip"])
            if size == "small":
                step = _one_blas_thread(step)
                details["textbook"]["blas_threads"] = 1
            impls["textbook"] = (step, batches(), base_iters)
        if torch is not None:
            try:
                options = ({"layers": better["layers"], "dropout": better["dropout"]}
                           if better else {})
                impls["torch"] = (torch_rnnlm("lstm" if better else kind,
                                              model.params, cfg["hidden"], cfg["lr"],
                                              cfg["clip"], **options)[1], batches(), iters)
                details["torch"].update(torch_version=torch.__version__,
                                        torch_threads=torch.get_num_threads())
            except Exception as exc:  # noqa: BLE001 - torch is optional; report, don't fail
                print(json.dumps(dict(common, model=kind, impl="torch", error=repr(exc))),
                      flush=True)
        impls = {"reference": (_reference_step(model, cfg["lr"], cfg["clip"]), batches(),
                               iters), **impls}
        results = time_implementations(impls, args.warmup, args.repeats)
        loadavg = round(os.getloadavg()[0], 2)  # other processes: noisy numbers
        for name in [n for n in impls if n != "reference"]:
            print(json.dumps(dict(common, model=kind, impl=name, loadavg_1min=loadavg,
                                  **details[name], **results[name])), flush=True)
        ref = results["reference"]
        record = dict(common, model=kind, impl="reference", dtype="float32",
                      loadavg_1min=loadavg, **ref)
        if size == "book" and kind in TARGETS:
            record.update(target_tokens_per_s=TARGETS[kind],
                          meets_target=ref["tokens_per_s"] >= TARGETS[kind])
        # Ratios of the best blocks, and of the medians (both interleaved in time).
        for name, key in (("textbook", "speedup_vs_textbook"), ("torch", "ratio_vs_torch")):
            if name in results:
                other = results[name]
                record[key] = round(ref["tokens_per_s"] / other["tokens_per_s"], 2)
                record[key + "_median"] = round(ref["tokens_per_s_median"]
                                                / other["tokens_per_s_median"], 2)
        print(json.dumps(record), flush=True)
    return 0
