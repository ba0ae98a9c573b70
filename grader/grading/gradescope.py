"""Gradescope's side of the autograder: one submission in ``/autograder``, graded by the course's
own pipeline, the result in Gradescope's ``results.json``.

Gradescope (`autograder specification
<https://gradescope-autograders.readthedocs.io/en/latest/specs/>`_) builds a Docker image
from the zip that ``python -m grader gradescope`` writes (:mod:`grader.grading.gradescope_zip`),
running its ``setup.sh`` once, as root; then, for every submission, a fresh container runs
``/autograder/run_autograder`` (working directory ``/autograder``) with the student's files
in ``/autograder/submission/`` and ``/autograder/submission_metadata.json``, and reads
``/autograder/results/results.json``.  ``python -I -m grader.grading.gradescope run`` does,
in order:

1. writes ``results.json`` at once: a 0 saying that grading did not finish, so that a crash
   or a kill (memory, Gradescope's time limit) still leaves a 0 with a reason, never a
   missing file; every later step replaces it;
2. makes the autograder's folders unreadable to other users (``source/``, ``submission/``,
   ``results/`` 0700, the metadata 0600): the kernel's uid is checked not to read them;
3. copies the course (``source/course``: the course's ``nbgrader_config.py``, a gradebook
   holding this assignment's cells and points, the instructor's notebook for the canary, the
   course secret made by ``setup``) into a fresh root-only folder, with this run's settings
   (:data:`RUN_CONFIG`: the container sandbox, the time and memory limits of the zip);
4. reads ``submission/`` with the course's intake (nothing followed, within limits); a lone
   notebook under another name (``01_rnn_by_hand (1).ipynb``) is graded as the assignment's
   and said so, a notebook found once in a subfolder likewise; anything else refused is a 0
   with intake's reason;
5. stages it with ``timestamp.txt`` = the metadata's ``created_at`` and sets the gradebook's
   due date to the metadata's ``assignment.due_date`` (else the one registered in the zip),
   so that nbgrader's late-penalty step applies the course's policy;
6. runs :func:`grader.grading.autograde.autograde` on that class of one: the canary, intake,
   the kernel in the container sandbox (:mod:`grader.grading.container`), hidden tests in
   this process, nbgrader's gradebook and late penalty -- the same code as ``python -m
   grader autograde``;
7. writes ``results.json`` (:data:`RESULTS_SCHEMA`, written from Gradescope's
   specification): one test per question (its heading in the instructor's notebook, points,
   the score the gradebook holds, and what the student reads: the first line of the
   failure, with expected values and value dumps removed, and its hint), the final score
   (after the late penalty) at the top level, with the time late and the penalty in the
   top-level output.  A canary failure or a grader crash is a 0 that says it is the
   autograder's problem, not the student's (``extra_data.status``: ``grader-error``).

Outputs are plain text (``output_format`` ``text``): nothing a student wrote is rendered as
HTML or Markdown on Gradescope's page.  ``RNNS_AUTOGRADER_ROOT`` (or ``--root``) replaces
``/autograder`` for a local try.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

ROOT_ENV = "RNNS_AUTOGRADER_ROOT"
SETTINGS = "gradescope.json"
STUDENT_FALLBACK = "gradescope-student"
MAX_OUTPUT = 2000

# The Gradescope autograder specification's results.json, as a JSON schema (draft 7): the
# fields it documents, their types and the values it lists.
VISIBILITY = ["hidden", "after_due_date", "after_published", "visible"]
FORMATS = ["text", "html", "simple_format", "md", "ansi"]
RESULTS_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "number", "minimum": 0},
        "output": {"type": "string"},
        "output_format": {"enum": FORMATS},
        "test_output_format": {"enum": FORMATS},
        "test_name_format": {"enum": FORMATS},
        "visibility": {"enum": VISIBILITY},
        "stdout_visibility": {"enum": VISIBILITY},
        "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": {
            "type": "object",
            "properties": {
                "score": {"type": "number"},
                "max_score": {"type": "number"},
                "status": {"enum": ["passed", "failed"]},
                "name": {"type": "string"},
                "name_format": {"enum": FORMATS},
                "number": {"type": "string"},
                "output": {"type": "string"},
                "output_format": {"enum": FORMATS},
                "tags": {"type": "array", "items": {"type": "string"}},
                "visibility": {"enum": VISIBILITY},
                "extra_data": {"type": "object"},
            },
            "additionalProperties": False,
        }},
        "leaderboard": {"type": "array", "items": {
            "type": "object", "required": ["name", "value"],
            "properties": {"name": {"type": "string"},
                           "value": {"type": ["number", "string"]},
                           "order": {"enum": ["asc", "desc"]}}}},
    },
    # "score" is required at the top level unless every test has one
    "anyOf": [{"required": ["score"]},
              {"required": ["tests"], "properties": {"tests": {"items": {"required": ["score"]}}}}],
    "additionalProperties": False,
}


# --------------------------------------------------------------------------------------
# What a student reads
# --------------------------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def student_message(ename: str, evalue: str) -> str:
    """The failure as the student reads it on Gradescope: the first line of the message
    (the named mistake) and its hints; expected values, value dumps and shapes of the hidden
    inputs removed; control characters shown as escapes."""
    from grader.grading.viewers import for_terminal

    lines = _ANSI.sub("", str(evalue)).splitlines() or [""]
    first = _hide_values(lines[0].strip())
    hints = [ln.strip() for ln in lines[1:] if ln.strip().startswith("Hint:")]
    text = f"{ename}: {first}" if first else ename
    text = "\n".join([text, *hints])
    return for_terminal(text)[:MAX_OUTPUT]


def _hide_values(line: str) -> str:
    line = re.sub(r"\bexpected( shape)? .*?, got .*?(?=: |\. |\.$|$)",
                  lambda m: f"not the expected{m.group(1) or ' value'}", line)
    line = re.sub(r"(your axes are \([^)]*\)) = \([^)]*\)", r"\1", line)
    line = re.sub(r"(the expected order is \([^)]*\)) = \([^)]*\)", r"\1", line)
    line = re.sub(r", expected \([^)]*\)", "", line)
    line = re.sub(r"(the shape is) \([^)]*\)", r"\1 different", line)
    return line


def question_names(solution: Path) -> dict[str, tuple[str, str]]:
    """grade_id -> (number, name) from the heading before each test cell in the instructor's
    notebook ("## Question 3 — one step of the RNN cell (2 points)" -> "3", "Question 3 — one
    step of the RNN cell")."""
    import nbformat

    names: dict[str, tuple[str, str]] = {}
    heading = ""
    nb = nbformat.read(str(solution), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    heading = line.lstrip("#").strip()
                    break
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade"):
            title = re.sub(r"\s*\(\d+(\.\d+)?\s+points?\)\s*$", "", heading) or meta["grade_id"]
            number = re.search(r"\b(\d+)\b", title)
            names[meta["grade_id"]] = (number.group(1) if number else str(len(names) + 1), title)
    return names


def _cell_failures(autograded: Path) -> dict[str, str]:
    """grade_id -> the student's message for each failed test cell of the graded notebook."""
    import nbformat

    failures = {}
    for cell in nbformat.read(str(autograded), as_version=4).cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("grade"):
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors:
            failures[meta["grade_id"]] = student_message(errors[0].get("ename", "Error"),
                                                         errors[0].get("evalue", ""))
    return failures


# --------------------------------------------------------------------------------------
# results.json
# --------------------------------------------------------------------------------------

def write_results(root: Path, results: dict) -> Path:
    """Validate against :data:`RESULTS_SCHEMA` and write atomically."""
    import jsonschema

    jsonschema.validate(results, RESULTS_SCHEMA)
    folder = root / "results"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "results.json"
    tmp = folder / ".results.json.tmp"
    tmp.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def zero(output: str, status: str, seconds: float, tests: list[dict] | None = None,
         extra: dict | None = None) -> dict:
    return {"score": 0.0, "execution_time": round(seconds, 1), "output": output,
            "output_format": "text", "test_output_format": "text", "test_name_format": "text",
            "stdout_visibility": "hidden", "tests": tests or [],
            "extra_data": {"status": status, **(extra or {})}}


GRADER_PROBLEM = ("The autograder could not grade this submission: this is a problem of the "
                  "autograder, not of your work, and your instructor can see why. Submit again "
                  "later or ask your instructor to regrade it.")


# --------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------

def _lock_down(root: Path) -> list[str]:
    """Make Gradescope's folders unreadable to other users; return them (for the probe)."""
    protected = []
    for name in ("source", "submission", "results"):
        path = root / name
        if path.is_dir() and not path.is_symlink():
            os.chmod(path, 0o700)
            protected.append(str(path))
    meta = root / "submission_metadata.json"
    if meta.is_file() and not meta.is_symlink():
        os.chmod(meta, 0o600)
        protected.append(str(meta))
    return protected


def _read_metadata(root: Path) -> dict:
    path = root / "submission_metadata.json"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as f:
            data = f.read(4 * 2**20)
        value = json.loads(data.decode("utf-8"))
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        return {}


def _moment(text) -> datetime | None:
    """An ISO 8601 time with a zone (Gradescope's) as an aware UTC datetime."""
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    return when.astimezone(timezone.utc)


def _student_id(meta: dict) -> str:
    users = meta.get("users")
    if isinstance(users, list) and users and isinstance(users[0], dict):
        ident = users[0].get("id")
        if isinstance(ident, int) or (isinstance(ident, str) and ident.isdigit()):
            return f"gs-{int(ident)}"
    return STUDENT_FALLBACK


def _find_submission(folder: Path, notebook: str, limit: int = 2000) -> tuple[Path, dict, str]:
    """The folder to grade, a renaming to accept, and a note: the top level when it holds
    the notebook; else the one subfolder holding it; else a lone top-level notebook under
    another name.  Nothing is followed (symbolic links are left for intake to refuse)."""
    if (folder / notebook).exists() or (folder / notebook).is_symlink():
        return folder, {}, ""
    found: list[Path] = []
    seen = 0
    for current, dirs, files in os.walk(folder, followlinks=False):
        seen += len(dirs) + len(files)
        if seen > limit:
            break
        if notebook in files and Path(current) != folder:
            found.append(Path(current))
    if len(found) == 1:
        return found[0], {}, f"graded {found[0].relative_to(folder) / notebook}"
    try:
        top = sorted(e.name for e in os.scandir(folder)
                     if e.name.endswith(".ipynb") and e.is_file(follow_symlinks=False))
    except OSError:
        top = []
    if len(top) == 1:
        return folder, {top[0]: notebook}, f"your notebook {top[0]} was graded as {notebook}"
    return folder, {}, ""


def _course_copy(source: Path, settings: dict, protected: list[str]) -> Path:
    work = Path(tempfile.mkdtemp(prefix="rnns-gradescope-"))
    os.chmod(work, 0o700)
    course = work / "course"
    shutil.copytree(source / "course", course, symlinks=True)
    lines = ["", "# --- this Gradescope run (grader.grading.gradescope) ---"]
    for section, values in settings.get("config", {}).items():
        for key, value in values.items():
            lines.append(f"c.{section}.{key} = {value!r}")
    lines.append(f"c.ContainerSandbox.protected_paths = {protected!r}")
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return course


def _due_date(course: Path, assignment: str, meta: dict) -> datetime | None:
    """The due date to grade against: Gradescope's, else the one registered in the zip;
    stored in the gradebook (naive UTC, as nbgrader keeps it)."""
    from nbgrader.api import Gradebook

    due = _moment((meta.get("assignment") or {}).get("due_date")
                  if isinstance(meta.get("assignment"), dict) else None)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        if due is not None:
            gb.update_or_create_assignment(assignment, duedate=due.replace(tzinfo=None))
            return due
        stored = gb.find_assignment(assignment).duedate
        return stored.replace(tzinfo=timezone.utc) if stored else None


def _max_scores(course: Path, assignment: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {c.name: float(c.max_score) for nb in gb.find_assignment(assignment).notebooks
                for c in nb.grade_cells if c.cell_type == "code" or c.max_score}


def _tests(names: dict, maxima: dict, scores: dict, failures: dict, visibility: str,
           not_graded: str = "") -> list[dict]:
    tests = []
    for grade_id in sorted(maxima, key=lambda g: (int(names.get(g, ("999",))[0])
                                                  if names.get(g, ("x",))[0].isdigit() else 999, g)):
        number, name = names.get(grade_id, (str(len(tests) + 1), grade_id))
        score = float(scores.get(grade_id, 0.0))
        if not_graded:
            output = not_graded
        elif grade_id in failures:
            output = failures[grade_id]
        else:
            output = "Passed." if score >= maxima[grade_id] else ""
        tests.append({"name": name, "number": number, "score": score,
                      "max_score": maxima[grade_id],
                      "status": "passed" if score >= maxima[grade_id] and not not_graded else "failed",
                      "output": output, "output_format": "text", "visibility": visibility,
                      "extra_data": {"grade_id": grade_id}})
    return tests


def run(root: Path) -> int:
    """Grade ``root/submission``; always leaves ``root/results/results.json``."""
    t0 = time.monotonic()
    write_results(root, zero("The autograder started but did not finish (it was stopped: time "
                             "or memory). " + GRADER_PROBLEM, "unfinished", 0.0))
    try:
        return _run(root, t0)
    except Exception as exc:   # the autograder's own failure: a 0 that says so
        traceback.print_exc()
        write_results(root, zero(GRADER_PROBLEM, "grader-error", time.monotonic() - t0,
                                 extra={"error": f"{type(exc).__name__}: {exc}"[:2000]}))
        return 0


def _run(root: Path, t0: float) -> int:
    from grader.grading import intake
    from grader.grading.autograde import autograde, read_assignment
    from grader.grading.results import BatchError

    source = root / "source"
    settings = json.loads((source / SETTINGS).read_text(encoding="utf-8"))
    assignment, visibility = settings["assignment"], settings.get("visibility", "visible")
    notebook = f"{assignment}.ipynb"
    protected = _lock_down(root)
    meta = _read_metadata(root)
    course = _course_copy(source, settings, protected)
    try:
        student = _student_id(meta)
        names = question_names(course / "solutions" / assignment / notebook)
        maxima = _max_scores(course, assignment)
        info = read_assignment(course, assignment)
        folder, renames, found_note = _find_submission(root / "submission", notebook)
        seen = intake.inspect(folder, intake.Limits(), info.expected, renames)
        if seen.refusal:
            reason = seen.refusal
            if reason.startswith("renamed notebook"):
                reason = (f"found {reason.split('found ', 1)[1].split(';')[0]}: upload exactly "
                          f"one notebook, named {notebook}")
            print(f"refused at intake: {seen.refusal}")
            write_results(root, zero(
                f"Your submission could not be graded: {reason}. Nothing was run; submit "
                f"again with your notebook {notebook}.", "refused", time.monotonic() - t0,
                _tests(names, maxima, {}, {}, visibility, not_graded="not graded: " + reason),
                {"reason": seen.refusal}))
            return 0
        created = _moment(meta.get("created_at"))
        staged = course / "submitted" / student / assignment
        intake.stage(seen, staged)
        if created is not None:
            (staged / intake.TIMESTAMP).write_text(
                created.strftime("%Y-%m-%d %H:%M:%S.%f UTC"), encoding="utf-8")
        due = _due_date(course, assignment, meta)
        try:
            batch = autograde(course, assignment, jobs=1, force=True, students=[student],
                              progress=False, canary=settings.get("canary", True))
        except BatchError as exc:
            print(f"the batch could not grade: {exc}")
            write_results(root, zero(GRADER_PROBLEM, "grader-error", time.monotonic() - t0,
                                     _tests(names, maxima, {}, {}, visibility,
                                            not_graded="not graded: autograder problem"),
                                     {"error": str(exc)[:2000]}))
            return 0
        (result,) = batch.students
        print(f"{student}: {result.status} {result.score}/{result.max_score} "
              f"late {result.seconds_late:.0f} s penalty {result.late_penalty} "
              f"reason {result.reason!r} notes {result.notes} incidents {result.incidents}")
        if result.status != "graded":
            write_results(root, zero(
                f"Your submission could not be graded: {result.reason}.", "refused",
                time.monotonic() - t0,
                _tests(names, maxima, {}, {}, visibility, not_graded="not graded"),
                {"reason": result.reason}))
            return 0
        autograded = course / "autograded" / student / assignment / notebook
        tests = _tests(names, maxima, result.scores, _cell_failures(autograded), visibility)
        out = {"score": round(result.final or 0.0, 4),
               "execution_time": round(time.monotonic() - t0, 1),
               "output": _summary(result, due, found_note, [*seen.notes]),
               "output_format": "text", "test_output_format": "text",
               "test_name_format": "text", "visibility": visibility,
               "stdout_visibility": "hidden", "tests": tests,
               "extra_data": {"status": "graded", "score_before_penalty": result.score,
                              "late_penalty": result.late_penalty,
                              "seconds_late": result.seconds_late,
                              "incidents": result.incidents[:20],
                              "sandbox": settings.get("config", {}).get("Sandbox", {}).get("mode", "")}}
        write_results(root, out)
        return 0
    finally:
        shutil.rmtree(course.parent, ignore_errors=True)


def _summary(result, due: datetime | None, found_note: str, notes: list[str]) -> str:
    from grader.grading.report import late_text
    from grader.grading.viewers import for_terminal

    lines = [f"Score: {result.score:g} of {result.max_score:g}."]
    if result.seconds_late > 0 and due is not None:
        percent = 100 * result.late_penalty / result.score if result.score else 0.0
        lines.append(f"Submitted {late_text(result.seconds_late)} after the due date "
                     f"({due:%Y-%m-%d %H:%M} UTC): late penalty {result.late_penalty:g} "
                     f"({percent:.0f} % of the earned score); final score "
                     f"{result.final:g} of {result.max_score:g}.")
    for note in ([found_note] if found_note else []) + notes:
        lines.append(f"Note: {note}.")
    lines.append("Each question below says what is wrong when a test fails; hidden tests try "
                 "other inputs than the ones in your notebook.")
    return for_terminal("\n".join(lines))[:4 * MAX_OUTPUT]


# --------------------------------------------------------------------------------------
# setup.sh's last step: the secret, and a self-test
# --------------------------------------------------------------------------------------

def setup(root: Path) -> int:
    """Create the course secret and grade the instructor's notebook as a submission, in
    this image, exactly as ``run`` will: exit 1 (the image build fails) unless it earns full
    marks."""
    from grader.grading.job import course_secret

    source = root / "source"
    settings = json.loads((source / SETTINGS).read_text(encoding="utf-8"))
    assignment = settings["assignment"]
    course_secret(source / "course")
    with tempfile.TemporaryDirectory(prefix="rnns-gradescope-selftest-") as tmp:
        trial = Path(tmp) / "autograder"
        (trial / "submission").mkdir(parents=True)
        shutil.copytree(source, trial / "source", symlinks=True)
        notebook = f"{assignment}.ipynb"
        shutil.copyfile(source / "course" / "solutions" / assignment / notebook,
                        trial / "submission" / notebook)
        os.chmod(tmp, 0o700)
        run(trial)
        results = json.loads((trial / "results" / "results.json").read_text(encoding="utf-8"))
    total = sum(t.get("max_score", 0) for t in results["tests"])
    print(f"self-test: the instructor's notebook scored {results['score']:g} of {total:g} "
          f"({results['extra_data'].get('status')})")
    if results["extra_data"].get("status") != "graded" or results["score"] < total:
        print(json.dumps(results, indent=2), file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.grading.gradescope",
                                     description="Gradescope's autograder (see the module's doc)")
    parser.add_argument("command", choices=("run", "setup"))
    parser.add_argument("--root", type=Path,
                        default=Path(os.environ.get(ROOT_ENV, "/autograder")),
                        help=f"the autograder folder (default ${ROOT_ENV} or /autograder)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.command == "setup":
        return setup(root)
    return run(root)


if __name__ == "__main__":
    sys.exit(main())
