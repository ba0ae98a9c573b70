"""Checkpoints of a ``Trainer`` run, so that a long training can stop and go on later.

A checkpoint is two files in one folder, written after every epoch:

* ``checkpoint-<iteration>.npz``: the model's parameters and, under ``best/<name>``, the
  best epoch's;
* ``checkpoint.json``: the name of that arrays file, the trainer's state (history,
  learning rate, best epoch, the first scheduled decay), the state of every random
  generator the model draws from (dropout masks), and a ``key`` describing the run
  (model, sizes, data, schedule).

The arrays are written first, under a new name; then ``checkpoint.json`` is replaced
atomically; only then is the previous arrays file deleted.  A crash at any moment leaves
a JSON file that names a whole arrays file of the same epoch, never the parameters of one
epoch beside the trainer state of another.

Resuming restores all of it, so that a run stopped after epoch k and resumed ends with
the same parameters, bit for bit, as one that never stopped: the training corpus is read
in the same order every epoch, the recurrent state is reset at each epoch's start and the
optimiser keeps no state between steps but its learning rate.  ``load_checkpoint``
refuses a checkpoint whose key differs from the run's, naming the differences.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

STATE_FILE = "checkpoint.json"
PARAMS_GLOB = "checkpoint-*.npz"
_BEST = "best/"


def model_generators(model) -> list[np.random.Generator]:
    """The distinct random generators held by the model's layers, in a fixed order.

    Looks at the model's attributes and at the layers in its lists (e.g. ``dropouts``);
    a generator shared by several layers counts once.
    """
    found: list[np.random.Generator] = []
    seen: set[int] = set()

    def visit(obj) -> None:
        rng = getattr(obj, "rng", None)
        if isinstance(rng, np.random.Generator) and id(rng) not in seen:
            seen.add(id(rng))
            found.append(rng)

    for name in sorted(vars(model)):
        value = getattr(model, name)
        if isinstance(value, (list, tuple)):
            for item in value:
                visit(item)
        elif isinstance(value, dict):
            for key in sorted(value):
                visit(value[key])
        else:
            visit(value)
    return found


def _replace(path: Path, write) -> None:
    """Write through a temporary file and rename it: a crash leaves the old file whole."""
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def save_checkpoint(folder: str | os.PathLike, model, trainer, key: dict,
                    extra: dict | None = None) -> None:
    """Write the run's checkpoint into ``folder`` (created if needed).

    ``extra`` (JSON-serialisable) is stored as it is and returned by ``load_checkpoint``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = dict(model.params)
    for name, p in (trainer.best_params or {}).items():
        arrays[_BEST + name] = p

    def write_arrays(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: np.savez would append ".npz" to the name
            np.savez(f, **arrays)

    trainer_state = trainer.state()
    params_file = f"checkpoint-{trainer_state['iteration']}.npz"
    _replace(folder / params_file, write_arrays)
    state = {"key": key, "params_file": params_file, "trainer": trainer_state,
             "extra": extra or {},
             "generators": [g.bit_generator.state for g in model_generators(model)]}
    _replace(folder / STATE_FILE,
             lambda tmp: tmp.write_text(json.dumps(state, indent=1) + "\n"))
    for old in folder.glob(PARAMS_GLOB):
        if old.name != params_file:
            old.unlink()


def _params_path(folder: Path, state: dict) -> Path:
    name = str(state.get("params_file", ""))
    if Path(name).name != name or not Path(name).match(PARAMS_GLOB):
        raise ValueError(f"the checkpoint in {folder} names no arrays file ({name!r})")
    return folder / name


def has_checkpoint(folder: str | os.PathLike) -> bool:
    """True when ``folder`` holds a checkpoint to go on from (its JSON file exists)."""
    return (Path(folder) / STATE_FILE).is_file()


def load_checkpoint(folder: str | os.PathLike, model, trainer, key: dict) -> dict:
    """Restore ``model`` and ``trainer`` from ``folder``; returns the ``extra`` it was saved with.

    Raises ValueError, and changes nothing, when the checkpoint belongs to another run
    (its key differs) or does not fit the model.
    """
    folder = Path(folder)
    state = json.loads((folder / STATE_FILE).read_text())
    stored_key = state.get("key", {})
    differences = [f"{name}: checkpoint {stored_key.get(name)!r}, now {key.get(name)!r}"
                   for name in sorted(set(stored_key) | set(key))
                   if stored_key.get(name) != key.get(name)]
    if differences:
        raise ValueError(f"the checkpoint in {folder} is of another run ("
                         + "; ".join(differences) + "): use another folder, or delete it")
    params_path = _params_path(folder, state)
    if not params_path.is_file():
        raise ValueError(f"the checkpoint in {folder} is incomplete: {params_path.name} is missing")
    with np.load(params_path, allow_pickle=False) as saved:
        arrays = {name: saved[name] for name in saved.files}
    current = {n: a for n, a in arrays.items() if not n.startswith(_BEST)}
    best = {n[len(_BEST):]: a for n, a in arrays.items() if n.startswith(_BEST)}
    for label, stored in (("parameters", current), ("best parameters", best or current)):
        wrong = sorted(set(stored) ^ set(model.params)) or sorted(
            n for n in stored if stored[n].shape != model.params[n].shape)
        if wrong:
            raise ValueError(f"the checkpoint's {label} in {folder} do not fit the model: {wrong}")
    generators = model_generators(model)
    if len(generators) != len(state["generators"]):
        raise ValueError(f"the checkpoint in {folder} holds {len(state['generators'])} random "
                         f"generator states; the model has {len(generators)}")
    for name, p in model.params.items():
        p[...] = current[name]
    for g, g_state in zip(generators, state["generators"]):
        g.bit_generator.state = g_state
    trainer.restore(state["trainer"], best or None)
    return state.get("extra", {})
