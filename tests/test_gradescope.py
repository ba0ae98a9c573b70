"""The Gradescope autograder, without Gradescope: the zip of ``python -m grader gradescope``,
installed and run exactly where Gradescope runs it.

``installed_autograder`` (``tests/container_env.py``) builds chapter 1's zip from this
checkout, lays it out as Gradescope documents (``/autograder/source`` = the zip,
``/autograder/run_autograder``), and runs ``setup.sh`` in a private mount namespace with that
folder at the real path ``/autograder``, without CAP_SYS_ADMIN (so bubblewrap cannot run, as
in Gradescope's Docker containers): pip installs the pinned requirements from this machine's
package sources, and setup.sh ends by grading the instructor's notebook once.

Then, per submission, ``/autograder/submission`` and ``submission_metadata.json`` are written
as Gradescope writes them and ``/autograder/run_autograder`` runs: a correct notebook, a
partly wrong one handed in late, a blank one, a symbolic link to the solutions, and a
hostile notebook (the test helpers' code swapped, the kernel's call handler forging
replies, a number displayed as fake partial credit).  Each ``results.json`` must follow the
schema written from Gradescope's specification (``gradescope_results.schema.json``), and
its scores must be the ones ``python -m grader autograde`` gives the same notebooks with the
same times.  One more run uses ``RNNS_AUTOGRADER_ROOT`` (a local try) with a broken gradebook:
a 0 that names the autograder's problem, never a missing file.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import nbformat
import pytest

import container_env
from grader.course import make_course
from grading_helpers import build_once
from grader.grading import verdicts
from grader.grading.autograde import autograde

ROOT = Path(__file__).resolve().parent.parent
A = "01_rnn_by_hand"
NOTEBOOK = f"{A}.ipynb"
sys.path.insert(0, str(Path(__file__).parent / "submissions"))
import make_submissions as subs  # noqa: E402

pytestmark = [pytest.mark.skipif(bool(container_env.available()),
                                 reason=container_env.available() or "n/a"),
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is missing")]
SCHEMA = json.loads((Path(__file__).parent / "gradescope_results.schema.json").read_text())
DUE = datetime(2026, 3, 1, 23, 59, tzinfo=timezone(timedelta(hours=8)))


def _partly_wrong(root: Path, course: Path):
    nb = subs.set_answer(subs.answered(root), "q2-row-column", subs.WRONG_Q2)
    return subs.set_answer(nb, "q5-linear", subs.blank(root).cells[
        subs._index(subs.blank(root), "q5-linear")].source)


def _hostile(root: Path, course: Path):
    """Blank answers, the test helpers' and numpy's code swapped (swap-code), the kernel's call
    handler answering every call with forged values (forge-replies), and a displayed number
    nbgrader would read as partial credit."""
    nb = subs.swap_code(root, course)
    forged = subs.forge_replies(root, course)
    (cell,) = [c for c in forged.cells if "__rnns_probe__" in c.source]
    nb.cells.insert(subs._index(nb, "setup") + 1, cell)
    return subs.append_to(nb, "q3-rnn-cell", "get_ipython().displayhook(2)")


# who, their notebook, hours after the due date (None: no metadata time)
SUBMISSIONS = {
    "correct": (lambda root, course: subs.answered(root), -2),
    "partly-wrong": (_partly_wrong, 30.5),
    "blank": (lambda root, course: subs.blank(root), -1),
    "hostile": (_hostile, -0.5),
    "symlink": (None, -3),
}
IDS = {name: 5000 + i for i, name in enumerate(SUBMISSIONS)}


def _metadata(who: str) -> dict:
    created = DUE + timedelta(hours=SUBMISSIONS[who][1])
    return {"id": 900 + IDS[who], "created_at": created.isoformat(timespec="microseconds"),
            "assignment": {"due_date": DUE.isoformat(timespec="microseconds"), "group_size": None,
                           "group_submission": False, "id": 25828, "course_id": 1234,
                           "late_due_date": None, "release_date": "2026-02-20T00:00:00.000000+08:00",
                           "title": "Chapter 1", "total_points": "11.0"},
            "submission_method": "upload",
            "users": [{"email": f"{who}@example.edu", "id": IDS[who], "name": who}],
            "previous_submissions": []}


def _lay_out(root: Path, who: str, notebook: Path | None) -> None:
    """/autograder as Gradescope's harness leaves it for one submission."""
    for name in ("submission", "results"):
        shutil.rmtree(root / name, ignore_errors=True)
        (root / name).mkdir()
    if notebook is None:   # a link to the solutions, as a student's upload could carry
        (root / "submission" / NOTEBOOK).symlink_to(
            f"/autograder/source/course/solutions/{A}/{NOTEBOOK}")
    else:
        shutil.copyfile(notebook, root / "submission" / NOTEBOOK)
    (root / "submission_metadata.json").write_text(json.dumps(_metadata(who)))


@pytest.fixture(scope="module")
def gradescope_runs(installed_autograder, tmp_path_factory):
    """run_autograder for each submission at /autograder; their results.json.  Once per test
    run (pytest-xdist's workers share it: they must not use /autograder at the same time)."""
    return build_once(tmp_path_factory, "gradescope-runs",
                      lambda folder: _run_all(Path(installed_autograder["root"]), folder))


def _run_all(root: Path, work: Path) -> dict:
    notebooks: dict[str, Path | None] = {}
    for who, (build, _) in SUBMISSIONS.items():
        if build is None:
            notebooks[who] = None
            continue
        notebooks[who] = work / f"{who}.ipynb"
        nbformat.write(build(ROOT, Path("/autograder/source/course")), notebooks[who])
    results, logs = {}, {}
    for who, notebook in notebooks.items():
        _lay_out(root, who, notebook)
        proc = container_env.run_in_container(["/autograder/run_autograder"], autograder=root,
                                              env={"PATH": "/usr/bin:/bin"}, timeout=900)
        logs[who] = proc.stdout[-3000:] + proc.stderr[-3000:]
        assert proc.returncode == 0, logs[who]
        results[who] = json.loads((root / "results" / "results.json").read_text())
        print(who, json.dumps(results[who])[:3000])
    return {"results": results, "notebooks": notebooks, "logs": logs, "root": root}


@pytest.fixture(scope="module")
def autograded_here(gradescope_runs, tmp_path_factory):
    """The same notebooks, same times and due date, graded by `python -m grader autograde`'s
    batch (bubblewrap) in a course of this checkout (once per test run)."""
    return build_once(tmp_path_factory, "gradescope-compare",
                      lambda folder: _autograde_here(gradescope_runs, folder))


def _autograde_here(gradescope_runs: dict, folder: Path) -> dict:
    from nbgrader.api import Gradebook

    course = make_course(folder / "course", [A])
    with Gradebook(course.db_url) as gb:
        gb.update_or_create_assignment(A, duedate=DUE.astimezone(timezone.utc).replace(tzinfo=None))
    for who, notebook in gradescope_runs["notebooks"].items():
        folder = course.root / "submitted" / f"gs-{IDS[who]}" / A
        folder.mkdir(parents=True)
        if notebook is None:
            (folder / NOTEBOOK).symlink_to(course.root / "solutions" / A / NOTEBOOK)
        else:
            shutil.copyfile(notebook, folder / NOTEBOOK)
        created = DUE + timedelta(hours=SUBMISSIONS[who][1])
        (folder / "timestamp.txt").write_text(
            created.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
    batch = autograde(course.root, A, jobs=2, progress=False)
    return {s.student: s for s in batch.students}


def test_zip_holds_what_gradescope_needs(installed_autograder):
    with zipfile.ZipFile(installed_autograder["zip"]) as zf:
        names = set(zf.namelist())
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
        requirements = zf.read("requirements.txt").decode().split("\n")
    assert {"setup.sh", "run_autograder", "requirements.txt", "gradescope.json",
            "course/gradebook.db", "course/nbgrader_config.py",
            f"course/solutions/{A}/{NOTEBOOK}"} <= names
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755
    lock = set((ROOT / "requirements.lock").read_text().split("\n"))
    pins = [r for r in requirements if r and not r.startswith("#")]
    assert pins and all("==" in r and r in lock for r in pins)
    assert {p.split("==")[0].lower() for p in pins} >= {"nbgrader", "numpy", "ipykernel", "nbclient"}
    assert not any(p.lower().startswith(("jupyter-book", "sphinx", "dask", "pytest")) for p in pins)
    # the gradebook in the zip: the assignment's graded cells and points, as register writes
    from nbgrader.api import Gradebook

    db = Path(installed_autograder["root"]) / "source" / "course" / "gradebook.db"
    with Gradebook(f"sqlite:///{db}") as gb:
        cells = {c.name: c.max_score for nb in gb.find_assignment(A).notebooks for c in nb.grade_cells}
    solution = nbformat.read(ROOT / "solutions" / A / NOTEBOOK, as_version=4)
    points = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
              for c in solution.cells if c.metadata.get("nbgrader", {}).get("grade")}
    assert cells == points
    assert "self-test: the instructor's notebook scored 11 of 11 (graded)" in \
        installed_autograder["setup_log"]


def test_results_follow_gradescopes_schema(gradescope_runs):
    for who, results in gradescope_runs["results"].items():
        jsonschema.validate(results, SCHEMA)
        assert len(results["tests"]) == 6, who
        assert sum(t["max_score"] for t in results["tests"]) == 11


def test_scores_are_those_of_grader_autograde(gradescope_runs, autograded_here):
    for who, results in gradescope_runs["results"].items():
        here = autograded_here[f"gs-{IDS[who]}"]
        if here.status == "failed":   # refused at intake there: a 0 with the reason here
            assert results["score"] == 0 and results["extra_data"]["status"] == "refused", who
            assert "symbolic link" in results["output"] and "symbolic link" in here.reason
            continue
        per_test = {t["extra_data"]["grade_id"]: t["score"] for t in results["tests"]}
        assert per_test == here.scores, who
        assert results["score"] == pytest.approx(here.final), who
        assert results["extra_data"]["late_penalty"] == pytest.approx(here.late_penalty)


def test_what_each_submission_earned(gradescope_runs):
    r = gradescope_runs["results"]
    assert r["correct"]["score"] == 11 and all(t["status"] == "passed" for t in r["correct"]["tests"])
    assert r["blank"]["score"] == 0
    assert r["hostile"]["score"] == 0 and r["hostile"]["extra_data"]["status"] == "graded"
    assert r["symlink"]["score"] == 0 and r["symlink"]["extra_data"]["status"] == "refused"
    wrong = {t["extra_data"]["grade_id"]: t for t in r["partly-wrong"]["tests"]}
    assert wrong["q2-tests"]["score"] == wrong["q5-tests"]["score"] == 0
    assert r["partly-wrong"]["extra_data"]["score_before_penalty"] == 9
    # 30.5 hours late: 31 started hours at 1 % each of the 9 points earned
    assert r["partly-wrong"]["score"] == pytest.approx(9 * (1 - 0.31))
    assert "late penalty 2.79" in r["partly-wrong"]["output"]
    assert "NotImplementedError" in wrong["q5-tests"]["output"]


def test_outputs_say_the_mistake_never_the_hidden_tests(gradescope_runs):
    solution = nbformat.read(ROOT / "solutions" / A / NOTEBOOK, as_version=4)
    hidden = [ln.strip() for c in solution.cells if c.cell_type == "code"
              for ln in verdicts.split(c.source)[1].splitlines() if len(ln.strip()) > 12]
    assert len(hidden) > 20
    for who, results in gradescope_runs["results"].items():
        text = json.dumps(results, ensure_ascii=False)
        outputs = "\n".join([results["output"]] + [t["output"] for t in results["tests"]])
        assert not [ln for ln in hidden if ln in text], who
        assert "expected:" not in outputs and "got:" not in outputs
        assert "### BEGIN" not in text and "grader.reference" not in text
    for t in gradescope_runs["results"]["partly-wrong"]["tests"]:
        if t["score"] < t["max_score"]:
            assert t["output"] and t["status"] == "failed"


def test_a_broken_autograder_is_a_zero_with_the_reason(installed_autograder, tmp_path):
    """A local try (RNNS_AUTOGRADER_ROOT) of a copy whose gradebook is broken: the grader
    crashes and results.json says so, with a 0."""
    copy = tmp_path / "autograder"
    shutil.copytree(Path(installed_autograder["root"]) / "source", copy / "source")
    (copy / "source" / "course" / "gradebook.db").write_bytes(b"not a database")
    (copy / "submission").mkdir()
    shutil.copyfile(ROOT / "exercises" / A / NOTEBOOK, copy / "submission" / NOTEBOOK)
    proc = container_env.run_in_container(
        ["/autograder/run_autograder"], autograder=Path(installed_autograder["root"]),
        env={"RNNS_AUTOGRADER_ROOT": str(copy), "RNNS_GRADER_HOME": "/autograder/rnns-grader"},
        timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads((copy / "results" / "results.json").read_text())
    jsonschema.validate(results, {**SCHEMA, "required": ["score", "output"]})
    assert results["score"] == 0 and results["extra_data"]["status"] == "grader-error"
    assert "problem of the autograder, not of your work" in results["output"]
    assert oct(os.stat(copy / "source").st_mode & 0o777) == "0o700"
    # no grader at all (a broken image): run_autograder itself writes the 0
    shutil.rmtree(copy / "results")
    proc = container_env.run_in_container(
        ["/autograder/run_autograder"], autograder=Path(installed_autograder["root"]),
        env={"RNNS_AUTOGRADER_ROOT": str(copy), "RNNS_GRADER_HOME": str(copy / "nothing")},
        timeout=60)
    assert proc.returncode == 0
    results = json.loads((copy / "results" / "results.json").read_text())
    assert results["score"] == 0 and "could not start (exit status 127)" in results["output"]
