"""Figures of chapter 5: what the Markov RNN's states do.

Every function takes plain arrays (as returned by ``grader.reference.mrnn.collect_states``
or a trainer's ``history``), draws with matplotlib and returns the ``Figure``; nothing is
shown or saved here.  Colours: state k is ``tab10`` colour k everywhere.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np


def _figure(figsize):
    from matplotlib.figure import Figure

    # A bare Figure (no pyplot): no global state, nothing left open in scripts and tests.
    # Jupyter displays a returned Figure like any other.
    return Figure(figsize=figsize, layout="constrained")


def _colors(K: int):
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return [cmap(k % 10) for k in range(K)]


def plot_tsne(h: np.ndarray, states: np.ndarray, *, max_points: int = 1000,
              perplexity: float = 30.0, random_state: int = 0, max_iter: int = 1000,
              threads: int | None = 1, state_names: Sequence[str] | None = None,
              title: str = "t-SNE of the hidden states"):
    """2-D t-SNE (scikit-learn) of hidden states ``h`` (M, H), one dot per step coloured by
    ``states`` (M,) int (the chosen MRNN state, or the true die).

    At most ``max_points`` steps are drawn, an evenly spaced subsample (t-SNE costs
    O(M log M) and the picture does not change with more).  ``random_state`` fixes the
    embedding so the figure is reproducible.  ``threads`` caps scikit-learn's OpenMP
    threads (None: its default, all cores).  The default 1 is deliberate: on a busy
    machine OpenMP threads that spin waiting for each other made t-SNE five times slower
    than one thread (1,000 points: about 8 s with one thread).
    """
    from sklearn.manifold import TSNE

    h = np.asarray(h, dtype=np.float64)
    states = np.asarray(states)
    if h.shape[0] != states.shape[0]:
        raise ValueError(f"{h.shape[0]} hidden states but {states.shape[0]} state labels")
    if h.shape[0] > max_points:
        keep = np.linspace(0, h.shape[0] - 1, max_points).astype(int)
        h, states = h[keep], states[keep]
    perplexity = min(perplexity, max(1.0, (h.shape[0] - 1) / 3))
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=random_state,
                max_iter=max_iter)
    if threads is None:
        xy = tsne.fit_transform(h)
    else:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=threads, user_api="openmp"):
            xy = tsne.fit_transform(h)
    K = int(states.max()) + 1
    names = state_names or [f"state {k}" for k in range(K)]
    fig = _figure((4.8, 4.8))
    ax = fig.add_subplot()
    for k, color in enumerate(_colors(K)):
        sel = states == k
        if sel.any():
            ax.scatter(xy[sel, 0], xy[sel, 1], s=6, color=color, label=f"{names[k]} ({sel.sum()})")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    # t-SNE's coordinates have no unit or meaning of their own; only distances count.
    ax.set_xlabel("t-SNE coordinate 1")
    ax.set_ylabel("t-SNE coordinate 2")
    ax.legend(markerscale=3)
    return fig


def plot_state_windows(z: np.ndarray, q: np.ndarray, *, window: int = 20, n_windows: int = 3,
                       start: int = 0, tokens: np.ndarray | None = None,
                       token_names: Sequence[str] | None = None,
                       true_states: np.ndarray | None = None):
    """The samples ``z`` and probabilities ``q`` (M, K) over time, as K x ``window`` images.

    One pair of panels per window of ``window`` consecutive steps (from ``start``), one under
    the other, so that the figure stays narrow enough for a phone: above the samples z
    (one-hot when evaluating), below the probabilities q; darker = larger. ``tokens`` (M,)
    ids label the time axis (through ``token_names`` if given); with ``true_states`` (M,) a
    dot marks the true state of each step on the q image.
    """
    z, q = np.asarray(z), np.asarray(q)
    K = z.shape[1]
    n_windows = max(1, min(n_windows, (z.shape[0] - start) // window))
    panel = 0.3 * K + 0.25
    fig = _figure((4.8, n_windows * (2 * panel + 0.9)))
    axes = fig.subplots(2 * n_windows, 1, gridspec_kw={"hspace": 0.1})
    for w in range(n_windows):
        lo = start + w * window
        hi = lo + window
        for row, (arr, name) in enumerate(((z, "z"), (q, "q"))):
            ax = axes[2 * w + row]
            ax.imshow(arr[lo:hi].T, aspect="auto", cmap="Greys", vmin=0.0, vmax=1.0,
                      interpolation="nearest")
            ax.set_yticks(range(K))
            ax.set_yticklabels([str(k) for k in range(K)])
            ax.set_ylabel(name)
            if row == 0:  # the samples: the probabilities below share its time axis
                ax.set_xticks([])
                continue
            if tokens is not None:
                labels = [token_names[int(i)] if token_names is not None else str(int(i))
                          for i in tokens[lo:hi]]
                ax.set_xticks(range(len(labels)))
                ax.set_xticklabels(labels, rotation=90 if max(map(len, labels)) > 2 else 0)
            else:
                ax.set_xticks(range(0, window, 5))
                ax.set_xticklabels([str(lo + t) for t in range(0, window, 5)])
            if true_states is not None:
                ax.plot(range(hi - lo), true_states[lo:hi], "o", color="tab:red", ms=3,
                        label="true state")
            ax.set_xlabel(f"input token at steps {lo} to {hi - 1}" if tokens is not None
                          else "step t")
    return fig


def plot_state_usage(z: np.ndarray, *, num_states: int | None = None, q: np.ndarray | None = None,
                     title: str = "State usage"):
    """Bars of how often each state is chosen: ``z`` (M, K) samples or (M,) state ids.

    With ``q`` (M, K), the mean probability of each state is drawn beside its frequency.
    """
    z = np.asarray(z)
    if z.ndim == 2:
        K = z.shape[1] if num_states is None else num_states
        chosen = z.argmax(axis=1)
    else:
        chosen = z.astype(int)
        K = int(chosen.max()) + 1 if num_states is None else num_states
    freq = np.bincount(chosen, minlength=K) / max(len(chosen), 1)
    fig = _figure((1.6 + 0.8 * K, 3.2))
    ax = fig.add_subplot()
    x = np.arange(K)
    width = 0.4 if q is not None else 0.7
    ax.bar(x - (width / 2 if q is not None else 0), freq, width, color=_colors(K),
           label="chosen (argmax z)")
    if q is not None:
        ax.bar(x + width / 2, np.asarray(q).mean(axis=0), width, color=_colors(K), alpha=0.45,
               hatch="//", label="mean q")
        ax.legend()
    ax.axhline(1 / K, color="grey", lw=0.8, ls="--")
    ax.set_xticks(x)
    ax.set_xlabel("state")
    ax.set_ylabel("frequency")
    ax.set_ylim(0, 1)
    ax.set_title(title)
    return fig


def plot_perplexity(history: Mapping[str, Sequence] | None = None, *,
                    curves: Mapping[str, Mapping[str, Sequence]] | None = None,
                    floor: float | None = None, log_scale: bool = False,
                    title: str = "Perplexity"):
    """Train (dashed) and validation (solid) perplexity per epoch.

    ``history``: one trainer history (keys ``epoch``, ``train_ppl``, ``valid_ppl``);
    ``curves``: several, ``{"LSTM": history, "MRNN K=2": history, ...}``, one colour each.
    ``floor``: a horizontal line, e.g. the dice corpus's Bayes perplexity.
    """
    if curves is None:
        if history is None:
            raise ValueError("give a history or curves")
        curves = {"": history}
    fig = _figure((4.8, 3.8))
    ax = fig.add_subplot()
    for (name, hist), color in zip(curves.items(), _colors(len(curves))):
        epochs = list(hist.get("epoch") or range(1, len(hist["train_ppl"]) + 1))
        prefix = f"{name} " if name else ""
        ax.plot(epochs, hist["train_ppl"], "--", color=color, label=f"{prefix}train")
        valid = [v for v in hist.get("valid_ppl", []) if v is not None]
        if valid:
            ax.plot(epochs[:len(valid)], valid, "-o", ms=3, color=color, label=f"{prefix}valid")
    if floor is not None:
        ax.axhline(floor, color="grey", lw=0.8, ls=":", label=f"floor {floor:.3f}")
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("perplexity")
    ax.set_title(title)
    ax.legend()
    return fig
