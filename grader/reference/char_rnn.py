"""Exercise 6's character RNN: write a poem from an opening, one character at a time.

The smallest model that has what chapter 6's LSTM has in a generation loop: an embedding,
a recurrent state carried from character to character, scores over the vocabulary, and a
draw at a temperature (:func:`grader.reference.rnnlm.sample_index`).  ``params``:

    E (V, D)      embedding            Wx (D, H), Wh (H, H), b (H,)   tanh RNN cell
    W_out (H, V), b_out (V,)           scores = h W_out + b_out

The state starts at zeros; every id of the opening goes through the cell; then each new
character is drawn from the scores of the current state with one ``rng.random()``,
appended, and (unless it is ``eos_id``) fed back through the cell.  Chapter 6 starts its
LSTM the same way, as it was trained (one poem per row, from a zero state): the opening it
is given is ``<eos>``, the first line and its comma.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from grader.reference.rnnlm import sample_index


def rnn_cell(params: Mapping[str, np.ndarray], h: np.ndarray, token: int) -> np.ndarray:
    """h (H,), a token id -> the next state (H,)."""
    return np.tanh(params["E"][token] @ params["Wx"] + h @ params["Wh"] + params["b"])


def write_poem(params: Mapping[str, np.ndarray], opening_ids: Sequence[int], eos_id: int,
               max_new: int, temperature: float, rng: np.random.Generator,
               sample: Callable[[np.ndarray, float, float], int] = sample_index) -> list[int]:
    """The ids drawn after ``opening_ids`` (not included): up to ``max_new`` of them, the
    last one ``eos_id`` if it was drawn."""
    h = np.zeros(params["Wh"].shape[0])
    for token in opening_ids:
        h = rnn_cell(params, h, int(token))
    new: list[int] = []
    while len(new) < max_new:
        token = int(sample(h @ params["W_out"] + params["b_out"], temperature, rng.random()))
        new.append(token)
        if token == eos_id:
            break
        h = rnn_cell(params, h, token)
    return new
