"""The student's self-check (``python -m grader check``): real kernels, real notebooks."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import student_helpers
from nbformat.v4 import new_code_cell, new_notebook

from grader.cli import check as check_command
from grader.cli import main
from grader.grading import selfcheck

ROOT = Path(__file__).resolve().parent.parent
A = "01_rnn_by_hand"
EXERCISE = ROOT / "exercises" / A / f"{A}.ipynb"

# A student's answers to chapter 1, written independently of the solution notebook:
# q1 passes the visible tests only (a 1-D left operand is never checked), q4 restarts every
# step from h0 (wrong), q5 is left alone, q6 is right but prints a warning on stderr.
ANSWERS = {
    "q1-dot-shape": '''\
def dot_result_shape(a_shape, b_shape):
    a, b = list(a_shape), list(b_shape)
    if len(a) == 2 and a[1] != b[0]:
        raise ValueError("the inner sizes do not agree")
    return tuple(a[:-1] + b[1:])
''',
    "q2-row-column": '''\
def as_row(v):
    return np.array(v, dtype=float)[np.newaxis, :]


def as_column(v):
    return np.array(v, dtype=float)[:, np.newaxis]
''',
    "q3-rnn-cell": '''\
def rnn_cell(x_t, h_prev, W_state, W_input, b_cell):
    W_input = np.asarray(W_input)
    drive = x_t * W_input if W_input.ndim == 1 else np.dot(x_t, W_input)
    a = np.dot(h_prev, W_state) + drive + b_cell
    return a, np.tanh(a)
''',
    "q4-rnn-forward": '''\
def rnn_forward(X, h0, W_state, W_input, b_cell, W_output, b_output):
    hs = np.array([rnn_cell(x, h0, W_state, W_input, b_cell)[1] for x in X])
    return hs, np.dot(hs, W_output) + b_output
''',
    "q6-batch": '''\
def rnn_forward_batch(X, h0, W_state, W_input, b_cell, W_output, b_output):
    import warnings
    warnings.warn("still slow, vectorise later")
    N, T, _ = X.shape
    out_states = np.zeros((N, T, np.shape(W_state)[0]))
    h = h0
    for t in range(T):
        h = rnn_cell(X[:, t, :], h, W_state, W_input, b_cell)[1]
        out_states[:, t, :] = h
    return out_states, np.dot(out_states, W_output) + b_output
''',
}


# The same student's answers once finished: right everywhere, hidden tests included (and
# still written independently of the solution notebook, so that no line of theirs is one
# of its secret lines).
FINISHED = dict(ANSWERS)
FINISHED["q1-dot-shape"] = ANSWERS["q1-dot-shape"].replace("if len(a) == 2 and a[1] != b[0]:",
                                                           "if a[-1] != b[0]:")
FINISHED["q4-rnn-forward"] = '''\
def rnn_forward(X, h0, W_state, W_input, b_cell, W_output, b_output):
    h, hs = h0, []
    for x in X:
        h = rnn_cell(x, h, W_state, W_input, b_cell)[1]
        hs.append(h)
    hs = np.array(hs)
    return hs, np.dot(hs, W_output) + b_output
'''
FINISHED["q5-linear"] = FINISHED["q4-rnn-forward"].replace(
    "def rnn_forward(", "def rnn_forward_linear(").replace(")[1]", ")[0]")
FINISHED["q6-batch"] = "\n".join(line for line in ANSWERS["q6-batch"].splitlines()
                                 if "warn" not in line) + "\n"


def answered(target: Path, answers: dict[str, str], source: Path = EXERCISE) -> Path:
    return student_helpers.answered(target, answers, source)


def run_check(capsys, *args) -> tuple[int, dict]:
    code = main(["check", *map(str, args), "--json"])
    return code, json.loads(capsys.readouterr().out)


def by_id(result: dict) -> dict[str, dict]:
    return {q["grade_id"]: q for q in result["questions"]}


def test_checksums_are_nbgrader_s():
    """Edits are detected with nbgrader's own checksum, computed without nbgrader."""
    from nbgrader.utils import compute_checksum as nbgrader_checksum

    checked = 0
    for path in sorted((ROOT / "exercises").glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            md = cell.metadata.get("nbgrader", {})
            if "checksum" in md:
                assert selfcheck.compute_checksum(cell) == nbgrader_checksum(cell) == md["checksum"]
                checked += 1
        cell = next(c for c in nbformat.read(path, as_version=4).cells if selfcheck.is_test_cell(c))
        cell.source += "\n# edited"
        edited = selfcheck.compute_checksum(cell)
        assert edited == nbgrader_checksum(cell) != cell.metadata.nbgrader.checksum
    assert checked > 10


def test_a_blank_exercise_is_not_attempted(tmp_path, capsys):
    notebook = tmp_path / EXERCISE.name
    notebook.write_bytes(EXERCISE.read_bytes())
    code, result = run_check(capsys, notebook)
    assert code == 1 and not result["ok"]
    assert [q["grade_id"] for q in result["questions"]] == [
        "q1-tests", "q2-tests", "q3-tests", "q4-tests", "q5-tests", "q6-tests"]
    assert {q["status"] for q in result["questions"]} == {selfcheck.NOT_ATTEMPTED}
    assert sum(q["points"] for q in result["questions"]) == 11
    assert result["warnings"] == []
    assert result["checks_module"] == str(ROOT / "grader" / "checks.py")
    assert notebook.read_bytes() == EXERCISE.read_bytes()  # checking never writes


def test_partial_work_edited_tests_and_the_printed_table(tmp_path):
    folder = tmp_path / "my work"
    folder.mkdir()
    notebook = answered(folder / "attempt.ipynb", ANSWERS)
    nb = nbformat.read(notebook, as_version=4)
    q2_tests = next(c for c in nb.cells if c.metadata.nbgrader.get("grade_id") == "q2-tests")
    q2_tests.source += "\n# I checked this by hand too"
    # cells run in the notebook's folder, wherever the check is started from
    nb.cells.insert(2, new_code_cell("NOTES = open('notes.txt').read()"))
    nbformat.write(nb, notebook)
    (folder / "notes.txt").write_text("my notes")

    checked = selfcheck.check_notebook(notebook, timeout=60)
    assert not checked.ok
    result = checked.to_dict()
    q = by_id(result)
    assert {k: v["status"] for k, v in q.items()} == {
        "q1-tests": "passed", "q2-tests": "passed", "q3-tests": "passed",
        "q4-tests": "failed", "q5-tests": "not attempted", "q6-tests": "failed"}
    # the answer restarts every step from h0: a classic mistake the test names
    assert q["q4-tests"]["message"].startswith("states is wrong: it looks like each step starts "
                                               "again from h0")
    assert "expected:" in q["q4-tests"]["message"] and q["q4-tests"]["hint"]
    assert "standard error" in q["q6-tests"]["message"]
    assert "still slow, vectorise later" in q["q6-tests"]["message"]
    assert q["q2-tests"]["edited"] and not q["q1-tests"]["edited"]
    assert result["warnings"] == [
        "q2-tests: your test cell was edited; it will be restored before grading"]

    table = selfcheck.format_result(checked)
    assert "WARNING: q2-tests: your test cell was edited" in table
    rows = {line.split()[0]: line for line in table.splitlines() if line.startswith("q")}
    assert "PASS" in rows["q1-tests"] and "FAIL" in rows["q4-tests"]
    assert "TODO" in rows["q5-tests"] and "not attempted" in rows["q5-tests"]
    assert "hint: replace `raise NotImplementedError()`" in table
    assert "Public tests passed: 3 of 6 questions (5 of 11 points)." in table


def _graded(source: str, grade_id: str, solution: bool = False):
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": not solution, "grade_id": grade_id,
                                 "locked": not solution, "points": 1, "schema_version": 3,
                                 "solution": solution, "task": False}
    if solution:
        del cell.metadata["nbgrader"]["points"]
    return cell


def test_timeouts_crashes_and_errors_are_reported(tmp_path):
    nb = new_notebook(cells=[
        _graded("import time", "a-setup", solution=True),
        _graded("time.sleep(120)", "t-sleeps"),           # stopped, then the kernel goes on
        _graded("x = 1", "t-after-sleep"),
        _graded("len(5)", "t-type-error"),
        _graded("undefined_function()", "t-name-error"),
        _graded("def f(:\n    pass", "a-syntax", solution=True),
        _graded("import os\nos._exit(3)", "t-exits"),     # the kernel dies
        _graded("x = 2", "t-never-runs"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = tmp_path / "synthetic.ipynb"
    nbformat.write(nb, path)
    result = selfcheck.check_notebook(path, timeout=3)
    status = {q.grade_id: q.status for q in result.questions}
    assert status == {"t-sleeps": "error", "t-after-sleep": "passed", "t-type-error": "error",
                      "t-name-error": "error", "t-exits": "error", "t-never-runs": "not run"}
    q = {q.grade_id: q for q in result.questions}
    assert "did not finish within 3 s" in q["t-sleeps"].message
    assert q["t-type-error"].message.startswith("TypeError: object of type 'int' has no len()")
    assert q["t-name-error"].message.startswith("NameError") and "rename" in q["t-name-error"].hint
    assert "kernel died" in q["t-exits"].message
    assert "kernel died" in q["t-never-runs"].message
    assert any(w.startswith("a-syntax raised SyntaxError") for w in result.warnings)
    assert not result.ok


def test_what_cannot_be_checked_exits_2(tmp_path, capsys):
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not a notebook")
    assert main(["check", str(broken)]) == 2
    plain = tmp_path / "plain.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("1 + 1")]), plain)
    assert main(["check", str(plain)]) == 2
    assert "no graded test cells" in capsys.readouterr().out
    assert main(["check", str(tmp_path / "missing.ipynb")]) == 2


def _first_question_of_chapter_4(target: Path, answer: str) -> Path:
    """Exercise 4 up to its first test cell, with ``answer`` in the first answer cell."""
    nb = nbformat.read(student_helpers.exercise_path("04_rnnlm"), as_version=4)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    nb.cells = nb.cells[:ids.index("q1-tests") + 1]
    nb.cells[ids.index("q1-time-embedding")].source = answer
    nbformat.write(nb, target)
    return target


def test_failure_messages_are_whole_wrapped_and_plain(tmp_path, capsys):
    """The dW[ids] += dout explanation and the "got" values survive, wrapped, never cut."""
    answer = student_helpers.solution_answers("04_rnnlm")["q1-time-embedding"]
    assert answer.count("np.add.at(self.grads[\"W\"], self.ids, dout)") == 1
    answer = answer.replace("np.add.at(self.grads[\"W\"], self.ids, dout)",
                            "self.grads[\"W\"][self.ids] += dout")
    notebook = _first_question_of_chapter_4(tmp_path / "04_rnnlm.ipynb", answer)

    code, result = run_check(capsys, notebook)
    assert code == 1
    (q,) = result["questions"]
    assert q["status"] == "failed" and not q["passed"]
    # whole: every line of the CheckFailure, unwrapped, in the JSON
    assert q["message"].splitlines() == [
        "grads['W'] after backward of ids [[3, 0, 3]] is wrong: it looks like you wrote "
        "dW[ids] += dout: with a repeated id only its last occurrence counts. A word seen k "
        "times must receive the sum of its k gradient rows: use np.add.at.",
        "  expected: [[3. 4.]", "             [0. 0.]", "             [0. 0.]",
        "             [6. 8.]]",
        "  got:      [[3. 4.]", "             [0. 0.]", "             [0. 0.]",
        "             [5. 6.]]"]

    checked = selfcheck.check_notebook(notebook, timeout=60)
    table = selfcheck.format_result(checked, width=80)
    lines = table.splitlines()
    assert all(len(line) <= 80 for line in lines), table
    assert "..." not in table and "[...]" not in table
    row = next(i for i, line in enumerate(lines) if line.startswith("q1-tests"))
    indent = len(lines[row]) - len(lines[row].split("FAIL", 1)[1].lstrip())
    body = lines[row][indent:] + "".join(" " + line.strip() for line in lines[row + 1:row + 4])
    assert body.startswith("grads['W'] after backward of ids [[3, 0, 3]] is wrong: it looks "
                           "like you wrote dW[ids] += dout: with a repeated id only its last "
                           "occurrence counts.")
    # NumPy's rows keep their columns, under the label they belong to
    assert " " * indent + "  got:      [[3. 4.]" in lines
    assert " " * indent + "             [5. 6.]]" in lines


def test_json_for_tools(tmp_path, capsys):
    """--json: every field documented in `python -m grader check --help`, also on exit 2."""
    notebook = answered(tmp_path / "attempt.ipynb", ANSWERS)
    code, result = run_check(capsys, notebook)
    assert code == 1
    assert set(result) == {"version", "notebook", "ok", "passed", "questions_total", "points",
                           "points_total", "questions", "warnings", "checks_module", "language"}
    assert (result["version"], result["ok"], result["notebook"]) == (1, False, str(notebook))
    assert (result["passed"], result["questions_total"]) == (3, 6)
    assert (result["points"], result["points_total"]) == (5, 11)
    for q in result["questions"]:
        assert set(q) == {"grade_id", "points", "status", "passed", "message", "hint", "edited"}
        assert q["passed"] == (q["status"] == "passed")
    for field in [*result, *result["questions"][0], "error"]:
        assert field in check_command.EPILOG, field

    missing = tmp_path / "missing.ipynb"
    assert main(["check", str(missing), "--json"]) == 2
    error = json.loads(capsys.readouterr().out)
    assert error["ok"] is False and "does not exist" in error["error"]
    assert error["questions"] == [] and error["version"] == 1


def test_a_kernel_without_the_kit_is_reported_once(tmp_path):
    """The first cell cannot import the kit: one warning, no NameError per question; another
    missing module (its name starts like "kit") is an ordinary error."""
    def notebook(name: str, setup: str) -> Path:
        nb = new_notebook(cells=[_graded(setup, "setup"), _graded("check_close(1, 1)", "t-one"),
                                 _graded("check_equal(2, 2)", "t-two")])
        nb.cells[0].metadata["nbgrader"].update(grade=False, points=0)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nbformat.write(nb, tmp_path / name)
        return tmp_path / name

    no_kit = selfcheck.check_notebook(notebook("no_kit.ipynb", "import grader.checks_missing"),
                                      timeout=60)
    assert [(q.status, q.message) for q in no_kit.questions] == [
        (selfcheck.NOT_RUN, "not run: the course kit is missing in the notebook's kernel")] * 2
    assert sum("cannot import the course kit" in w for w in no_kit.warnings) == 1

    other = selfcheck.check_notebook(notebook("other.ipynb", "import kitchen_sink"), timeout=60)
    assert [q.status for q in other.questions] == [selfcheck.ERROR] * 2
    assert all(q.message.startswith("NameError") for q in other.questions)
