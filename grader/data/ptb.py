"""The Penn Treebank language-modelling corpus (Mikolov's split), as word ids.

Three files, ``ptb.train.txt``, ``ptb.valid.txt`` and ``ptb.test.txt``: one sentence per
line, already lower-cased, numbers replaced by ``N`` and rare words by ``<unk>``.  Every
line break becomes the word ``<eos>``, giving 929,589 / 73,760 / 82,430 tokens and a
vocabulary of exactly 10,000 words.  Word ids are given in order of first appearance in
the training file, so they are the same on every machine.

Where the files are looked for, in order:

1. the ``data_dir`` argument (the command line's ``--data-dir``);
2. the directory in the environment variable ``RNNS_DATA_DIR``;
3. the user cache, ``$XDG_CACHE_HOME/rnns-from-scratch/ptb`` (``~/.cache/...`` by default).

If none has the three files, they are downloaded into the cache.  Every file used is
checked against the SHA-256 sums below, so a truncated download or an edited copy
cannot silently change the numbers in the book.
"""
from __future__ import annotations

import hashlib
import io
import os
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grader.data.locate import describe, search_path

SPLITS = ("train", "valid", "test")
FILENAMES = {split: f"ptb.{split}.txt" for split in SPLITS}

PTB_SHA256 = {
    "ptb.train.txt": "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf",
    "ptb.valid.txt": "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
    "ptb.test.txt": "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
}
TOKEN_COUNTS = {"train": 929_589, "valid": 73_760, "test": 82_430}
VOCAB_SIZE = 10_000
EOS = "<eos>"
ENV_VAR = "RNNS_DATA_DIR"

# The raw files, one URL each, and the original archive as a fallback.
FILE_URL = "https://raw.githubusercontent.com/tomsercu/lstm/master/data/{name}"
ARCHIVE_URL = "http://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz"
ARCHIVE_MEMBER = "./simple-examples/data/{name}"
TIMEOUT = 30.0


class PTBNotFoundError(FileNotFoundError):
    """The PTB files are nowhere to be found and could not be downloaded."""


class PTBChecksumError(ValueError):
    """A PTB file exists but its content is not the expected one."""


def cache_dir() -> Path:
    """The user cache for PTB: ``$XDG_CACHE_HOME/rnns-from-scratch/ptb`` (default ``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rnns-from-scratch" / "ptb"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(directory: Path) -> None:
    """Raise ``PTBChecksumError`` unless the three files in ``directory`` have the known sums."""
    bad = []
    for name, expected in PTB_SHA256.items():
        got = sha256(directory / name)
        if got != expected:
            bad.append(f"{directory / name}: sha256 {got}, expected {expected}")
    if bad:
        raise PTBChecksumError(
            "PTB file(s) with unexpected content:\n  " + "\n  ".join(bad) +
            "\nThe book's numbers assume the standard Mikolov split; replace the file(s) "
            f"with a fresh copy (or delete them from the cache {cache_dir()} to re-download).")


def _has_files(directory: Path) -> bool:
    return all((directory / name).is_file() for name in PTB_SHA256)


def _download(url: str, timeout: float = TIMEOUT) -> bytes:
    """Fetch ``url`` and return its bytes (tests replace this function to simulate offline)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def download(directory: Path | None = None) -> Path:
    """Download the three files into ``directory`` (default: the cache) and verify them.

    Files are written to a temporary name and renamed only after their checksum matched,
    so an interrupted download never leaves a half file that looks complete.
    """
    directory = Path(directory) if directory is not None else cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    errors = []
    contents: dict[str, bytes] = {}
    try:
        for name in PTB_SHA256:
            contents[name] = _download(FILE_URL.format(name=name))
    except Exception as exc:  # noqa: BLE001 - any failure means "try the next source"
        errors.append(f"{FILE_URL.format(name='...')}: {exc}")
        contents = {}
        try:
            archive = _download(ARCHIVE_URL)
            with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
                for name in PTB_SHA256:
                    member = tar.extractfile(ARCHIVE_MEMBER.format(name=name))
                    if member is None:
                        raise FileNotFoundError(f"{name} missing from the archive")
                    contents[name] = member.read()
        except Exception as exc2:  # noqa: BLE001
            errors.append(f"{ARCHIVE_URL}: {exc2}")
            raise PTBNotFoundError("could not download PTB:\n  " + "\n  ".join(errors)) from exc2
    for name, data in contents.items():
        got = hashlib.sha256(data).hexdigest()
        if got != PTB_SHA256[name]:
            raise PTBChecksumError(f"downloaded {name} has sha256 {got}, expected "
                                   f"{PTB_SHA256[name]}; nothing was written")
    for name, data in contents.items():
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=name + ".", suffix=".part")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, directory / name)
    return directory


def find_ptb(data_dir: str | os.PathLike | None = None, *, allow_download: bool = True) -> Path:
    """The directory holding the verified PTB files (see the module docstring for the order).

    Raises ``PTBNotFoundError`` (saying where it looked and what to do) or
    ``PTBChecksumError``.
    """
    candidates = search_path(data_dir, ENV_VAR, cache_dir())
    for _, directory in candidates:
        if _has_files(directory):
            verify(directory)
            return directory
    looked = describe(candidates)
    download_error = ""
    if allow_download:
        try:
            return download(cache_dir())
        except PTBNotFoundError as exc:
            download_error = f"\n{exc}"
    raise PTBNotFoundError(
        f"Penn Treebank files ({', '.join(PTB_SHA256)}) not found. Looked in:\n{looked}"
        f"{download_error}\n"
        f"To provide them, put the three files in a directory and pass it with --data-dir "
        f"(or data_dir=...), or set {ENV_VAR} to it, or copy them to {cache_dir()}. "
        f"They are the Mikolov split, e.g. {FILE_URL.format(name='ptb.train.txt')}.\n"
        f"Without PTB, the book falls back to the dice corpus.")


def read_words(path: str | os.PathLike) -> list[str]:
    """The words of one file, with ``<eos>`` at the end of every line."""
    words: list[str] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            words.extend(line.split())
            words.append(EOS)
    return words


@dataclass
class PTB:
    """The corpus as int32 id arrays, plus the vocabulary both ways."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    word_to_id: dict[str, int]
    id_to_word: list[str]
    directory: Path = field(default_factory=Path)

    @property
    def vocab_size(self) -> int:
        return len(self.id_to_word)

    def decode(self, ids) -> str:
        return " ".join(self.id_to_word[int(i)] for i in ids)

    def encode(self, text: str) -> np.ndarray:
        unk = self.word_to_id.get("<unk>")
        return np.array([self.word_to_id.get(w, unk) for w in text.split()], dtype=np.int32)


def load_ptb(data_dir: str | os.PathLike | None = None, *, allow_download: bool = True) -> PTB:
    """Find (or download), verify and parse PTB; ids in order of first use in the training file.

    (The parse takes about a second; it is not cached on disk, so no stale or foreign
    cache can ever be read back.)
    """
    directory = find_ptb(data_dir, allow_download=allow_download)
    word_to_id: dict[str, int] = {}
    id_to_word: list[str] = []
    splits = {}
    for split in SPLITS:
        words = read_words(directory / FILENAMES[split])
        if split == "train":
            for w in words:
                if w not in word_to_id:
                    word_to_id[w] = len(id_to_word)
                    id_to_word.append(w)
        try:
            splits[split] = np.fromiter((word_to_id[w] for w in words), dtype=np.int32,
                                        count=len(words))
        except KeyError as exc:  # cannot happen with verified files
            raise ValueError(f"{split} word {exc} is not in the training vocabulary") from None
    return PTB(splits["train"], splits["valid"], splits["test"], word_to_id, id_to_word,
               directory)
