"""The student edition: everything students need, nothing of the answer key, in any disguise.

The edition is published for real (``python -m grader publish student``, once per run) and
read back from disk.  The leak audit is shown to catch what an exact search misses: lines of
solutions, hidden tests and reference functions, renamed, re-indented and re-commented,
planted in a copy of the published tree (and an answer to a chapter's question, re-wrapped,
in a copy of the course); and to pass the real tree.  Every page of the built site and every
file of the edition is searched for an instruction to clone the instructor's repository or
to run make.
"""
from __future__ import annotations

import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tokenize
from pathlib import Path

import nbformat
import pytest
from edition_helpers import copy_course, published_edition

from grader import leaks
from grader.edition import audit, manifest, ways_in
from grader.edition.config import EditionConfigError, instructor_repository, student_edition
from grader.edition.publish import PublishError, write_tree
from grader.kit import kit_files
from grader.translate.exercises import zh_name, zh_path

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> Path:
    return published_edition(tmp_path_factory)


@pytest.fixture(scope="module")
def index() -> leaks.SecretIndex:
    return leaks.instructor_secrets(ROOT)


def tree_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and ".git" not in p.parts}


# ------------------------------------------------------------------------------------------
# what the edition holds

def test_the_edition_holds_the_exercises_the_kit_binder_readme_and_licence(edition):
    files = tree_files(edition)
    exercises = {p.relative_to(ROOT).as_posix(): p.read_bytes()
                 for p in sorted((ROOT / "exercises").rglob("*"))
                 if p.is_file() and ".ipynb_checkpoints" not in p.parts}
    assert exercises and all(files.get(name) == data for name, data in exercises.items())
    # each exercise's Chinese notebook beside its English twin (where the Chinese site opens it)
    chinese = {f"exercises/{a}/{zh_name(a)}": zh_path(a).read_bytes()
               for a in ways_in.exercise_names(ROOT)}
    assert all(files.get(name) == data for name, data in chinese.items())
    kit = {f"kit/{name}": data for name, data in kit_files(ROOT).items()}
    assert all(files[name] == data for name, data in kit.items())
    assert files["kit/pyproject.toml"] == (ROOT / "kit/pyproject.toml").read_bytes()
    binder = {f"binder/{p.name}" for p in (ROOT / "binder").iterdir()}
    assert binder <= set(files) and os.access(edition / "binder/postBuild", os.X_OK)
    assert files["LICENSE"] == (ROOT / "LICENSE").read_bytes()
    assert set(files) == set(exercises) | set(chinese) | set(kit) | binder | {
        "kit/pyproject.toml", "kit/kit_backend.py", "README.md", "LICENSE", ".gitignore"}
    # nothing of the answer key, by name
    assert not any(part in {"solutions", "reference", "answers"}
                   for name in files for part in name.split("/"))
    assert not any(name.startswith("kit/grader/grading/") and name.endswith(
        ("autograde.py", "executor.py", "sandbox.py", "verdicts.py")) for name in files)


def test_the_published_tree_passes_its_audit(edition):
    proc = subprocess.run([sys.executable, "-m", "grader", "publish", "check", str(edition)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().endswith("a clean student edition")


def test_publishing_twice_gives_the_same_tree(edition, tmp_path):
    again = tmp_path / "again"
    write_tree(again)
    assert tree_files(again) == tree_files(edition)


def test_publish_replaces_a_clone_but_never_empties_a_stranger(tmp_path):
    clone = tmp_path / "clone"
    (clone / ".git").mkdir(parents=True)
    (clone / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (clone / "exercises" / "old").mkdir(parents=True)
    (clone / "exercises" / "old" / "stale.ipynb").write_text("{}")
    write_tree(clone)
    assert (clone / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"
    assert not (clone / "exercises" / "old").exists() and (clone / "README.md").is_file()
    write_tree(clone)  # an earlier edition is replaced too

    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "thesis.tex").write_text("years of work")
    with pytest.raises(PublishError, match="not empty"):
        write_tree(stranger)
    assert (stranger / "thesis.tex").read_text() == "years of work"


def test_another_language_and_a_data_file_are_published_with_their_exercise(tmp_path):
    """Whatever nbgrader releases into an assignment's folder goes out with it (a notebook in
    another language: the Chinese ones come from zh/, the next test)."""
    course = copy_course(tmp_path / "course")
    folder = course / "exercises" / "01_rnn_by_hand"
    shutil.copy(folder / "01_rnn_by_hand.ipynb", folder / "01_rnn_by_hand.fr.ipynb")
    (folder / "data").mkdir()
    (folder / "data" / "sequence.txt").write_text("1.0 2.0\n")
    files = write_tree(tmp_path / "out", root=course)
    assert {"exercises/01_rnn_by_hand/01_rnn_by_hand.fr.ipynb",
            "exercises/01_rnn_by_hand/data/sequence.txt"} <= set(files)
    readme = (tmp_path / "out" / "README.md").read_text()
    assert "(exercises/01_rnn_by_hand/01_rnn_by_hand.fr.ipynb)" in readme
    assert audit.audit_tree(tmp_path / "out", course) == []


def test_a_chinese_notebook_that_is_not_its_english_twin_is_refused(edition):
    """The Chinese notebook must grade like its twin: its code, cells, grade ids and points
    are the English release's, its text is its own."""
    files = tree_files(edition)
    name = "exercises/03_embeddings/03_embeddings.zh.ipynb"
    assert audit.twin_problems(files) == []

    def changed(edit) -> dict[str, bytes]:
        nb = json.loads(files[name])
        edit(nb["cells"])
        return {**files, name: json.dumps(nb).encode()}

    def code(cells, grade_id):
        return next(c for c in cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)

    def weaker_test(cells):
        cell = code(cells, "q1-tests")
        cell["source"] = "".join(cell["source"]).replace("check_", "print and check_", 1)

    def more_points(cells):
        code(cells, "q1-tests")["metadata"]["nbgrader"]["points"] += 1

    def an_extra_cell(cells):
        cells.insert(3, {**code(cells, "q1-tests"), "id": "language", "source": "x = 1"})

    def translated_text(cells):
        cell = next(c for c in cells if c["cell_type"] == "markdown")
        cell["source"] = "".join(cell["source"]) + "\n\n另一句话。"

    for edit in (weaker_test, more_points, an_extra_cell):
        found = audit.twin_problems(changed(edit))
        assert found and "zh release" in found[0], edit.__name__
    assert audit.twin_problems(changed(translated_text)) == []
    alone = {k: v for k, v in files.items() if k != name.replace(".zh.ipynb", ".ipynb")}
    assert "without its English twin" in audit.twin_problems(alone)[0]
    assert any("zh release" in p for p in audit.problems(changed(weaker_test), ROOT))


def test_the_readme_says_the_ways_in_and_links_what_exists(edition):
    from test_launch_links import BINDER, COLAB, repo_path_of_binder, repo_path_of_colab

    readme = (edition / "README.md").read_text()
    assert ways_in.render(ROOT, "edition").strip() in readme
    launches = 0
    for target in re.findall(r"\]\(([^)]+)\)", readme):
        if target.startswith((COLAB + "/", BINDER + "/")):
            path = (repo_path_of_colab if target.startswith(COLAB) else repo_path_of_binder)(target)
            assert (edition / path).is_file(), f"the README opens {path}, not in the tree"
            launches += 1
        elif not re.match(r"https?://", target):
            assert (edition / target).exists(), f"the README links {target}, not in the tree"
    assert launches == 2 * len(ways_in.exercise_names(ROOT))
    assert "exercises/01_rnn_by_hand/01_rnn_by_hand.zh.ipynb" in readme and "中文版" in readme
    assert "instructor_guide" not in readme and "solutions/" not in readme


def test_the_instructor_readme_shows_the_same_ways_in():
    proc = subprocess.run([sys.executable, "-m", "grader", "publish", "readme", "--check"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert ways_in.render(ROOT, "readme").strip() in (ROOT / "README.md").read_text()


def test_the_ways_in_are_one_text_with_generated_numbers():
    source = (ROOT / ways_in.SOURCE).read_text()
    for page in ("intro.md", "student_guide.md"):
        assert "```{include} ways_in.md" in (ROOT / "book" / page).read_text(), page
    text = ways_in.render(ROOT, "site")
    assert "{{" not in text and "python -m grader check" in text
    n = len(ways_in.exercise_names(ROOT))
    assert f"the\n{ways_in.number_word(n)} exercise notebooks" in text or \
        f"the {ways_in.number_word(n)} exercise notebooks" in " ".join(text.split())
    assert not re.search(r"\d\.\d", source), "a version typed by hand: use a substitution"
    assert ways_in.python_versions(ROOT)[0] == "3.11"


def test_a_wrong_edition_address_is_refused(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(ROOT / "_config.yml", course)
    config = (course / "_config.yml").read_text()
    (course / "_config.yml").write_text(config.replace(
        student_edition(ROOT).url, "https://gitlab.example/one/two"))
    with pytest.raises(EditionConfigError, match="GitHub repository"):
        student_edition(course)


# ------------------------------------------------------------------------------------------
# the leak audit: normalised

def test_normalised_code_keeps_what_a_renamer_cannot_change():
    def form(line):
        return leaks.canonical(leaks.code_tokens(line))

    assert form("h = np.tanh(a @ W + b)") == form("  out=numpy.tanh( z@V+c )  # why not")
    assert form("x.sum(axis=-1, keepdims=True)") != form("x.sum(axis=0, keepdims=True)")
    assert form("x.sum(axis=-1)") != form("x.mean(axis=-1)")          # attributes stay
    assert form("f(x, axis=1)") != form("f(x, dim=1)")                # keyword arguments stay
    assert form("y = len(x)") != form("y = max(x)")                   # builtins stay
    assert form("s = 'ab' + \"c\"") == form('t = "ab" + \'c\'')      # one spelling of literals
    assert form("a = b + a") != form("a = b + c")                     # which names repeat stays
    assert leaks.code_tokens("# only a comment") == []
    # code commented out is code; a sentence is not, in a comment or anywhere
    assert form("h = np.tanh(a @ W + b)") in leaks.code_fingerprints(["# h = np.tanh(x @ V + c)"])
    assert leaks.code_fingerprints(["# the state carries all that the network has seen so far",
                                    "we sum the losses of every step then divide by their count"]) == {}
    assert leaks.code_tokens("")  == []


def _renamed(line: str) -> str:
    """``line`` with every name a student could choose spelled differently, re-indented,
    its quotes swapped and a comment added: no longer the same text, the same code."""
    renamable = {text for rename, text in leaks.code_tokens(line) if rename}
    out = []
    tokens = list(tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline))
    for i, tok in enumerate(tokens):
        text = tok.string
        before = tokens[i - 1].string if i else ""
        if tok.type == tokenize.NAME and text in renamable and before != ".":
            text = f"renamed_{text}_x"
        elif tok.type == tokenize.STRING and text[:1] in "'\"" and not text.startswith(("'''", '"""')):
            text = repr(eval(text))  # noqa: S307 - a literal from the course's own source
        out.append((tok.type, text))
    return "        " + tokenize.untokenize(out).strip() + "   # my own work"


def _complete(line: str) -> bool:
    """Whether ``line`` is a whole statement (tokenises on its own)."""
    try:
        list(tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline))
    except (tokenize.TokenError, SyntaxError):
        return False
    return True


def _secret_parts(kind: str) -> list[tuple[str, list[str]]]:
    parts = []
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        for part_kind, grade_id, lines in leaks.notebook_regions(path):
            if part_kind == kind:
                parts.append((f"{path.parent.name}:{grade_id}", lines))
    return parts


def _plant_in_notebook(edition: Path, lines: list[str], tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(edition, copy)
    notebook = copy / "exercises" / "01_rnn_by_hand" / "01_rnn_by_hand.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
    cell.source = cell.source.replace("raise NotImplementedError()", "\n".join(lines))
    nbformat.write(nb, notebook)
    return copy


@pytest.mark.parametrize("kind", ["solution", "hidden test"])
def test_a_renamed_reindented_secret_line_is_caught(edition, index, tmp_path, kind):
    # the longest secret line of its kind that identifies code on its own
    candidates = [(len(leaks.code_tokens(line)), where, line) for where, lines in _secret_parts(kind)
                  for line in lines
                  if leaks.canonical(leaks.code_tokens(line)) in index.code and _complete(line)]
    _, where, line = max(candidates)
    planted = _renamed(line)
    assert leaks.squash(planted) != leaks.squash(line)
    assert leaks.squash(planted) not in index.lines, "the exact audit alone would catch this"
    copy = _plant_in_notebook(edition, [planted], tmp_path)
    found = audit.audit_tree(copy)
    assert any("secret code (normalised)" in p and where.split(":")[0] in p for p in found), found
    proc = subprocess.run([sys.executable, "-m", "grader", "publish", "check", str(copy)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 1 and "secret code (normalised)" in proc.stdout


def test_a_solution_of_short_lines_is_caught_by_its_run_of_lines(edition, index, tmp_path):
    # a solution part none of whose lines identifies code alone: found as a run of lines
    for where, lines in _secret_parts("solution"):
        code = [line for line in lines if leaks.code_tokens(line)]
        short = [line for line in code if len(leaks.code_tokens(line)) < leaks.MIN_CODE_TOKENS]
        if len(code) >= 2 and short == code and any(
                form in index.code for form in leaks.code_fingerprints(code)):
            break
    else:
        pytest.fail("no solution made only of short lines")
    assert all(_complete(line) for line in code)
    copy = _plant_in_notebook(edition, [_renamed(line) for line in code], tmp_path)
    found = [p for p in audit.audit_tree(copy) if "secret code (normalised)" in p]
    assert found and all(where.split(":")[0] in p for p in found), (where, code, found)


def test_a_renamed_reference_function_in_the_kit_is_caught(edition, index, tmp_path):
    body = max((lines for path in sorted((ROOT / "grader/reference").glob("*.py"))
                for name, lines in leaks.function_bodies(path) if "lstm" in name.lower()),
               key=len)
    copy = tmp_path / "copy"
    shutil.copytree(edition, copy)
    checks = copy / "kit" / "grader" / "checks.py"
    checks.write_text(checks.read_text() + "\n\ndef helper(x):\n"
                      + "\n".join(_renamed(line) if _complete(line) else line
                                  for line in body) + "\n")
    found = [p for p in audit.audit_tree(copy) if p.startswith("kit/grader/checks.py")]
    assert any("grader/reference/" in p and "body of" in p for p in found), found


def test_a_reference_function_pasted_into_the_source_kit_refuses_the_edition(tmp_path):
    """The other way a leak happens: in the instructor's repository itself."""
    course = copy_course(tmp_path / "course")
    assert audit.problems({n: f.data for n, f in manifest.contents(course).items()}, course) == []
    _, body = max(leaks.function_bodies(course / "grader/reference/rnn_by_hand.py"),
                  key=lambda item: len(item[1]))
    checks = course / "grader" / "checks.py"
    checks.write_text(checks.read_text() + "\n\ndef _hint(x):\n" + "\n".join(body) + "\n")
    with pytest.raises(PublishError, match="kit/grader/checks.py"):
        write_tree(tmp_path / "out", root=course)
    assert not (tmp_path / "out").exists()


def test_an_instructor_answer_rewrapped_is_caught_and_the_question_is_not(edition, tmp_path):
    course = copy_course(tmp_path / "course")
    chapter = (course / "book" / "02_hmm_dice.md").read_text()
    question = re.search(r"^[A-Z][^\n]{60,}$", chapter, re.MULTILINE).group(0)
    answer = ("The loaded die shows itself in the counts long before the forward algorithm "
              "is sure of it, because a sticky chain repeats its state for many rolls in a row.")
    (course / "solutions" / "answers").mkdir(exist_ok=True)    # beside the course's own answers
    (course / "solutions" / "answers" / "planted.md").write_text(
        f"## Question 1\n\n> {question}\n\n{answer}\n")
    index = leaks.instructor_secrets(course)
    assert index.prose
    files = tree_files(edition)
    assert leaks.audit_files(files, index) == []          # the real tree: clean
    rewrapped = "\n".join(re.findall(r".{1,40}(?:\s|$)", answer.upper()))
    files["README.md"] += f"\n\nA hint: *{rewrapped}*\n".encode()
    files["exercises/02_hmm_dice/notes.md"] = f"{question}\n".encode()  # the question is public
    found = leaks.audit_files(files, index)
    assert found and {f.path for f in found} == {"README.md"}
    assert all(f.kind == "answer text" for f in found)


def test_every_reviewed_idiom_is_still_needed(edition):
    """Each idiom is secret by origin and found in the shipped kit: no stale entry."""
    unfiltered = leaks.instructor_secrets(ROOT, idioms=frozenset())
    kit = {name: data for name, data in tree_files(edition).items() if name.startswith("kit/")}
    shipped = {form for data in kit.values()
               for form in leaks.code_fingerprints(data.decode().splitlines())}
    for idiom in leaks.IDIOMS:
        assert idiom in unfiltered.code, f"{idiom!r} is no longer secret: remove it from IDIOMS"
        assert idiom in shipped, f"{idiom!r} is no longer in the kit: remove it from IDIOMS"


def test_the_audit_reports_files_that_do_not_belong(edition, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(edition, copy)
    (copy / "solutions").mkdir()
    (copy / "solutions" / "x.txt").write_text("x")
    (copy / "kit" / "grader" / "reference").mkdir()
    (copy / "kit" / "grader" / "reference" / "__init__.py").write_text("")
    (copy / "kit" / "grader" / "extra.py").write_text("x = 1\n")
    (copy / "notes.txt").symlink_to(ROOT / "README.md")
    (copy / "LICENSE").unlink()
    found = "\n".join(audit.audit_tree(copy))
    for expected in ("solutions/x.txt: a path of the answer key's kind",
                     "kit/grader/reference/__init__.py: a path of the answer key's kind",
                     "kit/grader/extra.py: not in the kit's allow-list",
                     "notes.txt: a symbolic link", "LICENSE: missing"):
        assert expected in found


# ------------------------------------------------------------------------------------------
# Binder

def test_binder_resolves_and_its_post_build_installs_the_kit(edition, tmp_path):
    files = tree_files(edition)
    assert audit.binder_problems(files, ROOT) == []
    broken = dict(files, **{"binder/postBuild": files["binder/postBuild"] + b"\npip install ./kitt\n"})
    assert audit.binder_problems(broken, ROOT) == ["binder/postBuild names ./kitt, which is not in the tree"]
    assert files["binder/runtime.txt"].decode().strip() in {
        f"python-{v}" for v in ways_in.python_versions(ROOT)}
    # postBuild as Binder runs it, from the tree's root: here into a folder of its own
    target = tmp_path / "site-packages"
    env = {**os.environ, "PIP_TARGET": str(target), "PIP_NO_DEPS": "1", "PIP_NO_INDEX": "1",
           "PIP_NO_BUILD_ISOLATION": "0",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(["bash", "binder/postBuild"], cwd=edition, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert {p.relative_to(target).as_posix() for p in (target / "grader").rglob("*.py")} == {
        name for name in kit_files(ROOT) if name.endswith(".py")}
    assert not list(edition.rglob("*.egg-info")) and not (edition / "kit" / "build").exists()


# ------------------------------------------------------------------------------------------
# no student is sent into the instructor's repository

CLONE = re.compile(r"git\s+clone\s+(\S+)")
# make as a command: first on a line (after a prompt, ! or %) or after && ; |, then targets
MAKE = re.compile(r"(?:^|&&|;|\|)[ \t]*(?:\$[ \t]*|!|%)?make(?:[ \t]+[\w.=/-]+)*[ \t]*(?:#.*)?$",
                  re.MULTILINE)


def _code_text(page_html: str) -> list[str]:
    blocks = re.findall(r"<(pre|code)[^>]*>(.*?)</\1>", page_html, flags=re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", body)) for _, body in blocks]


def _markdown_code(text: str) -> list[str]:
    return re.findall(r"```[^\n]*\n(.*?)```", text, flags=re.S) + re.findall(r"`([^`\n]+)`", text)


def sends_students_astray(name: str, text: str, code: list[str]) -> list[str]:
    instructor = instructor_repository(ROOT)
    edition = student_edition(ROOT).url
    found = []
    if instructor and re.search(re.escape(instructor) + r"(?![\w.-])(?!-)", text):
        found.append(f"{name}: names the instructor's repository")
    for snippet in code:
        for target in CLONE.findall(snippet):
            if not target.rstrip("/").removesuffix(".git") == edition:
                found.append(f"{name}: git clone {target}")
        if MAKE.search(snippet):
            found.append(f"{name}: runs make ({MAKE.search(snippet).group(0).strip()})")
    return found


def test_the_checker_finds_what_it_is_for():
    instructor = instructor_repository(ROOT)
    assert sends_students_astray("a", f"see {instructor}", [])
    assert sends_students_astray("b", "", [f"git clone {instructor}.git"])
    assert sends_students_astray("c", "", ["cd course\nmake install"])
    assert sends_students_astray("e", "", ["cd course && make   # builds it"])
    assert not sends_students_astray("d", "", [f"git clone {student_edition(ROOT).url}.git",
                                               "X, y = make_dataset(LETTERS)",
                                               'hint="reset_state() must make the next call"'])


def test_no_file_of_the_edition_sends_students_astray(edition):
    found = []
    for name, data in tree_files(edition).items():
        text = data.decode("utf-8", errors="replace")
        if name.endswith(".ipynb"):
            cells = json.loads(text)["cells"]
            code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
            code += [s for c in cells if c["cell_type"] == "markdown"
                     for s in _markdown_code("".join(c["source"]))]
        elif name.endswith(".md"):
            code = _markdown_code(text)
        else:
            code = [text]
        found += sends_students_astray(name, text, code)
    assert found == []


@pytest.mark.book
def test_no_page_of_the_site_sends_students_astray(site):
    found = []
    for page in sorted(site.rglob("*.html")):
        rel = page.relative_to(site).as_posix()
        if rel.startswith(("_static/", "lite/")):
            continue
        text = page.read_text(encoding="utf-8", errors="replace")
        problems = sends_students_astray(rel, text, _code_text(text))
        # the instructor guide (either edition) is for instructors, who build the site and
        # clone their own student edition (YOUR-ORG/...), never the instructor's repository
        if rel in ("book/instructor_guide.html", "zh/book/instructor_guide.html"):
            problems = [p for p in problems if "runs make" not in p and "YOUR-ORG" not in p]
        found += problems
    assert found == []
    guide = (site / "book" / "instructor_guide.html").read_text(encoding="utf-8")
    assert "make book" in "".join(_code_text(guide)), "the exemption above is no longer needed"
