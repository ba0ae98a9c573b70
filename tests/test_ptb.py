"""The PTB loader: counts, vocabulary, lookup order, checksums, download and offline errors."""
from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest

import grader.data.ptb as ptb_module
from grader.data.ptb import (PTB_SHA256, TOKEN_COUNTS, PTBChecksumError, PTBNotFoundError,
                             find_ptb, load_ptb)


@pytest.fixture(scope="module")
def real_dir(ptb_dir) -> Path:
    directory = ptb_dir
    return directory


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No env var, an empty user cache, and a downloader that fails (offline)."""
    monkeypatch.delenv("RNNS_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    calls = []

    def offline(url, timeout=None):
        calls.append(url)
        raise OSError("network is unreachable (test)")

    monkeypatch.setattr(ptb_module, "_download", offline)
    return calls


def test_counts_and_vocabulary_via_env_var(real_dir, monkeypatch, isolated):
    monkeypatch.setenv("RNNS_DATA_DIR", str(real_dir))
    ptb = load_ptb()
    assert {s: len(getattr(ptb, s)) for s in ("train", "valid", "test")} == TOKEN_COUNTS
    assert ptb.vocab_size == 10_000
    assert "<eos>" in ptb.word_to_id and "<unk>" in ptb.word_to_id
    # ids in order of first appearance in the training file
    assert ptb.id_to_word[:3] == ["aer", "banknote", "berlitz"]
    assert ptb.train[:3].tolist() == [0, 1, 2]
    assert all(ptb.word_to_id[w] == i for i, w in enumerate(ptb.id_to_word))
    assert ptb.train.dtype == np.int32 and ptb.train.max() == 9_999
    # every line ends with <eos>
    eos = ptb.word_to_id["<eos>"]
    assert ptb.train[-1] == eos and ptb.test[-1] == eos
    assert ptb.decode(ptb.encode("the cat <eos>")) == "the cat <eos>"
    assert isolated == []  # nothing was downloaded


def test_explicit_directory_comes_first(real_dir, monkeypatch, tmp_path, isolated):
    other = tmp_path / "other"
    shutil.copytree(real_dir, other)
    monkeypatch.setenv("RNNS_DATA_DIR", str(real_dir))
    assert find_ptb(other) == other
    assert find_ptb() == real_dir


def test_checksum_mismatch_is_a_clear_error(real_dir, tmp_path, isolated):
    copy = tmp_path / "ptb"
    copy.mkdir()
    for name in PTB_SHA256:
        shutil.copy(real_dir / name, copy / name)
    path = copy / "ptb.valid.txt"
    path.chmod(0o644)
    path.write_text(path.read_text().replace(" the ", " teh ", 1))
    with pytest.raises(PTBChecksumError) as info:
        load_ptb(copy)
    message = str(info.value)
    assert "ptb.valid.txt" in message and PTB_SHA256["ptb.valid.txt"] in message
    assert "ptb.train.txt" not in message


def test_absent_and_offline_is_a_clear_error(tmp_path, monkeypatch, isolated):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("RNNS_DATA_DIR", str(tmp_path / "also-empty"))
    with pytest.raises(PTBNotFoundError) as info:
        load_ptb(empty)
    message = str(info.value)
    for expected in (str(empty), str(tmp_path / "also-empty"), str(tmp_path / "cache"),
                     "--data-dir", "RNNS_DATA_DIR", "dice", "network is unreachable"):
        assert expected in message, f"{expected!r} missing from: {message}"
    assert isolated, "a download was not attempted"
    assert not any((tmp_path / "cache").rglob("*.txt")), "no partial files may be left"
    with pytest.raises(PTBNotFoundError):
        load_ptb(empty, allow_download=False)


def test_download_into_the_cache(real_dir, monkeypatch, tmp_path, isolated):
    served = []

    def fake_download(url, timeout=None):
        served.append(url)
        return (real_dir / url.rsplit("/", 1)[1]).read_bytes()

    monkeypatch.setattr(ptb_module, "_download", fake_download)
    directory = find_ptb()
    assert directory == tmp_path / "cache" / "rnns-from-scratch" / "ptb"
    assert sorted(p.name for p in directory.iterdir()) == sorted(PTB_SHA256)
    assert len(served) == 3
    # the second time, the cache is used
    assert find_ptb() == directory and len(served) == 3


def test_download_falls_back_to_the_archive(real_dir, monkeypatch, tmp_path, isolated):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        for name in PTB_SHA256:
            tar.add(real_dir / name, arcname=f"./simple-examples/data/{name}")

    def fake_download(url, timeout=None):
        if url == ptb_module.ARCHIVE_URL:
            return buf.getvalue()
        raise OSError("404")

    monkeypatch.setattr(ptb_module, "_download", fake_download)
    assert _has_all(find_ptb())


def test_corrupt_download_writes_nothing(monkeypatch, tmp_path, isolated):
    monkeypatch.setattr(ptb_module, "_download", lambda url, timeout=None: b"not ptb")
    with pytest.raises(PTBChecksumError):
        find_ptb()
    assert not any((tmp_path / "cache").rglob("*.txt"))


def _has_all(directory: Path) -> bool:
    return all((directory / name).is_file() for name in PTB_SHA256)
