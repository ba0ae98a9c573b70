"""The dice corpus: rolls of three dice chosen by a "sticky" hidden Markov chain.

Chapters 4 and 5 train language models on it. Because the generating HMM is known, every
split comes with the best perplexity any model can reach (the Bayes-optimal one, computed
with the forward algorithm under the true parameters) and the decoding accuracies that the
true parameters achieve, so a student's result can be judged against the ceiling.

Layout of a corpus directory (see :func:`make_dice_corpus`)::

    dice.{train,valid,test}.txt         faces "1".."8", space separated, 20 per line
    dice.{train,valid,test}.states.txt  the die behind each face, "D4"/"D6"/"D8", same layout
    meta.json                           parameters, seed, token counts, Bayes perplexities

Each split is ONE continuous token stream: line breaks are only there to keep the files
readable, and readers must not add end-of-sentence tokens. Token ids are face - 1 (0..7);
state ids are 0, 1, 2 for D4, D6, D8.

Generating needs the instructor-only :mod:`grader.reference.hmm`; loading needs only NumPy.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

SPLITS = ("train", "valid", "test")
DEFAULT_SEED = 0
DEFAULT_STICKINESS = 0.9
DEFAULT_SIZES = {"train": 100_000, "valid": 10_000, "test": 10_000}
TOKENS_PER_LINE = 20
FACES = tuple(str(face) for face in range(1, 9))  # token id i is the face FACES[i]
STATE_NAMES = ("D4", "D6", "D8")  # the order of grader.reference.hmm.DICE_NAMES
META_FILE = "meta.json"


def token_file(split: str) -> str:
    return f"dice.{split}.txt"


def state_file(split: str) -> str:
    return f"dice.{split}.states.txt"


def sticky_dice_hmm(stickiness: float = DEFAULT_STICKINESS):
    """The generating HMM: D4, D6, D8 stay with probability ``stickiness`` and otherwise move
    to one of the two other dice with equal probability; fair dice; uniform start."""
    from grader.reference.hmm import HMM, dice_hmm  # instructor-only, so imported only here

    _check_stickiness(stickiness)
    A = np.full((3, 3), (1.0 - stickiness) / 2)
    np.fill_diagonal(A, stickiness)
    return HMM(np.full(3, 1 / 3), A, dice_hmm().B)


def _check_stickiness(stickiness: float) -> None:
    if not 0.0 <= stickiness < 1.0:  # also rejects NaN
        raise ValueError(f"stickiness must lie in [0, 1), got {stickiness}")


def _check_sizes(sizes) -> dict[str, int]:
    sizes = dict(DEFAULT_SIZES if sizes is None else sizes)
    if set(sizes) != set(SPLITS):
        raise ValueError(f"sizes must give exactly the splits {list(SPLITS)}, got {sorted(sizes)}")
    for split in SPLITS:
        size = sizes[split]
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0:
            raise ValueError(f"the {split} size must be a positive integer, got {size!r}")
    return {split: int(sizes[split]) for split in SPLITS}


def _write_wrapped(path: Path, tokens: list[str]) -> None:
    lines = (" ".join(tokens[i:i + TOKENS_PER_LINE]) for i in range(0, len(tokens), TOKENS_PER_LINE))
    path.write_text("\n".join(lines) + "\n", encoding="ascii", newline="\n")


def _split_statistics(hmm, states: np.ndarray, obs: np.ndarray) -> dict:
    """What the true parameters achieve on one split (T tokens)."""
    from grader.reference.hmm import forward, posteriors, viterbi

    T = obs.size
    log_likelihood = forward(hmm, obs).log_likelihood
    # The best context-free model predicts every token from the stationary marginal.
    marginal = hmm.start @ hmm.B  # (M,); the start is stationary for this symmetric chain
    return {
        "tokens": T,
        "log_likelihood": log_likelihood,
        "bayes_perplexity": math.exp(-log_likelihood / T),
        "unigram_perplexity": math.exp(-np.log(marginal[obs]).mean()),
        "viterbi_accuracy": float(np.mean(viterbi(hmm, obs)[0] == states)),
        "posterior_accuracy": float(np.mean(posteriors(hmm, obs).argmax(axis=1) == states)),
    }


def make_dice_corpus(out_dir, seed: int = DEFAULT_SEED, stickiness: float = DEFAULT_STICKINESS,
                     sizes: dict[str, int] | None = None) -> dict:
    """Generate the corpus into ``out_dir`` (created if needed) and return its metadata.

    ``sizes`` maps "train", "valid", "test" to token counts (default ``DEFAULT_SIZES``).
    Each split is drawn from its own random stream spawned from ``seed``, so the same seed
    gives byte-identical files, and changing one split's size leaves the others unchanged.
    """
    from grader.reference.hmm import sample

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    _check_stickiness(stickiness)
    sizes = _check_sizes(sizes)
    hmm = sticky_dice_hmm(stickiness)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    streams = np.random.SeedSequence(int(seed)).spawn(len(SPLITS))
    split_meta = {}
    for split, stream in zip(SPLITS, streams):
        states, obs = sample(hmm, sizes[split], np.random.default_rng(stream))
        _write_wrapped(out_dir / token_file(split), [FACES[o] for o in obs.tolist()])
        _write_wrapped(out_dir / state_file(split), [STATE_NAMES[x] for x in states.tolist()])
        split_meta[split] = _split_statistics(hmm, states, obs)

    meta = {
        "corpus": "dice",
        "description": "Rolls of a D4, D6 and D8 picked by a sticky hidden Markov chain.",
        "seed": int(seed),
        "stickiness": float(stickiness),
        "tokens_per_line": TOKENS_PER_LINE,
        "vocab": list(FACES),
        "state_names": list(STATE_NAMES),
        "continuous_stream": True,  # no sentence boundaries: never add end-of-sentence tokens
        "parameters": {"start": hmm.start.tolist(), "transition": hmm.A.tolist(),
                       "emission": hmm.B.tolist()},
        "splits": split_meta,
    }
    (out_dir / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="ascii",
                                     newline="\n")
    return meta


def _read_ids(path: Path, names: tuple[str, ...]) -> np.ndarray:
    ids = {name: i for i, name in enumerate(names)}
    tokens = path.read_text(encoding="ascii").split()
    try:
        return np.array([ids[token] for token in tokens], dtype=np.int32)
    except KeyError as exc:
        raise ValueError(f"{path}: unexpected token {exc.args[0]!r} (expected one of {names})") \
            from None


def load_dice_corpus(directory) -> dict:
    """Read a corpus written by :func:`make_dice_corpus`.

    Returns ``{"tokens": {split: ids}, "states": {split: ids}, "meta": meta}`` where the token
    ids (T,) are int32 in 0..7 (faces 1..8), the state ids (T,) int32 in 0..2 (D4, D6, D8)
    and ``meta`` is the parsed meta.json.
    """
    directory = Path(directory)
    meta = json.loads((directory / META_FILE).read_text(encoding="ascii"))
    corpus = {"tokens": {}, "states": {}, "meta": meta}
    for split in SPLITS:
        tokens = _read_ids(directory / token_file(split), FACES)
        states = _read_ids(directory / state_file(split), STATE_NAMES)
        expected = meta["splits"][split]["tokens"]
        if tokens.size != expected or states.size != expected:
            raise ValueError(f"{directory}: the {split} split has {tokens.size} tokens and "
                             f"{states.size} states, but meta.json says {expected}")
        corpus["tokens"][split] = tokens
        corpus["states"][split] = states
    return corpus
