"""What grading learns beyond the score: why each question failed, how the wrong answers
behave, and what a regrade changed -- kept in a sidecar next to the regrade fingerprint.

While a notebook is graded (:class:`~grader.grading.executor.TrustedExecute`) the executor
records, per failed test cell, *why* it failed (:mod:`grader.grading.misconceptions`) and,
once every cell has run, *how* the wrong answers behave on inputs that are the same for the
whole class (:func:`probe_failed`): the hidden part of each failed test is run once more
with ``hidden_rng`` keyed by the assignment instead of the submission, and the first wrong
value it meets is kept as a digest.  Two students whose wrong answers agree there made the
same wrong numbers, which per-submission hidden inputs would otherwise hide
(:mod:`grader.grading.similarity` reads it).  Both travel in the executed notebook's
metadata (so the Dask path brings them back too) and are taken out of it before nbgrader
saves the notebook.

After nbgrader saved the grades (:func:`after_grading`, called by the batch) everything is
written to ``autograded/<student>/<assignment>/.grader-verdicts.json``, beside the regrade
fingerprint, and not into the gradebook: nbgrader's tables have no place for it (a
``Comment`` would be shown to the student as the instructor's words), the sidecar is written
in the same step as the fingerprint it explains, and it is one small JSON file per
submission that the class report reads without opening nbgrader.  It holds no hidden-test
source and no expected value: per question the score, the points, the failure record and
the behaviour digest, plus the fingerprint it was graded with.

*Regrades.*  When a graded submission is graded again (:mod:`grader.grading.fingerprint`:
its tests, points or grader changed), the sidecar's previous scores and the new ones give
the regrade: per question old and new score, and why.  The course policy
``c.Regrade.never_lower = True`` (``nbgrader_config.py``; default off) keeps the higher
score when the submission itself did not change: the difference is stored as nbgrader's
``extra_credit`` on that grade (nbgrader adds it to the score, so its own exports, the
formgrader and ours agree), and removed again by the next grading.  The class report, the
scores CSV and the LMS exports say, per student, what the policy did (:func:`policy_note`);
``autograde`` writes the batch's regrade report (:func:`write_regrade_report`).
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from traitlets import Bool, Float
from traitlets.config import LoggingConfigurable

from grader.grading import fingerprint, misconceptions

NB_KEY = "rnns_insight"          # executed notebook metadata, removed before nbgrader saves it
FILE = ".grader-verdicts.json"   # autograded/<student>/<assignment>/, beside fingerprint.FILE
REGRADE_REPORT = "{assignment}-regrade-report"
# failures worth a behaviour probe: wrong answers (not named classics, not missing ones)
PROBED = ("values", "axes", "zeros", "sign", "factor", "normalise", "shape", "float32",
          "nonfinite", "type", "error")


class Regrade(LoggingConfigurable):
    """The course's regrade policy (``c.Regrade.never_lower`` in ``nbgrader_config.py``)."""

    never_lower = Bool(False, help="when a regrade (changed tests, points or grader) would "
                                   "lower a question's score of an unchanged submission, keep "
                                   "the earlier score").tag(config=True)
    probe_seconds = Float(20.0, help="per notebook, the time the behaviour probes of failed "
                                     "questions may take (0: none)").tag(config=True)


# -- in the executor ------------------------------------------------------------------------

def common_key(secret: bytes, assignment: str) -> int:
    """The key of the class-common probe inputs (a student id never holds a NUL)."""
    from grader.grading.verdicts import submission_key

    return submission_key(secret, assignment, "\0class-common")


def start(nb, secret: bytes, assignment: str) -> None:
    """Before a notebook runs: whatever it carried under :data:`NB_KEY` goes; the probes' key."""
    nb.metadata[NB_KEY] = {"common_key": common_key(secret, assignment)}


def digest(value: Any) -> str:
    """A short digest of a wrong answer: numbers to 6 decimals, shape and type kept."""
    h = hashlib.sha256()
    try:
        arr = np.asarray(value, dtype=float)
        h.update(repr(arr.shape).encode())
        h.update((np.round(arr, 6) + 0.0).tobytes())
    except (TypeError, ValueError):
        h.update(repr(value)[:10_000].encode("utf-8", "replace"))
    return h.hexdigest()[:16]


def _behaviour(exc: BaseException | None, ename: str, message: str) -> str:
    from grader import checks

    if isinstance(exc, checks.CheckFailure) and getattr(exc, "got", None) is not None:
        return digest((exc.label, digest(exc.got)))
    if isinstance(exc, checks.CheckFailure) and getattr(exc, "kind", "") == "raises":
        return digest(("raises", exc.label, message.split("\n")[0]))
    if exc is not None and not isinstance(exc, AssertionError):   # the student's code raised
        return digest(("raised", ename, message.split("\n")[0][:300]))
    return ""


def findings(exc: BaseException | None, ename: str, message: str, language: str) -> dict:
    """What grading keeps of a failed hidden test, as plain data, computed where its
    exception is -- in the hidden tests' process (:mod:`grader.grading.hidden_process`),
    which sends this back in its verdict frame and never the exception itself:

    ``failure``    the misconception record (:func:`misconceptions.from_hidden_failure`);
    ``message``    what the student's feedback shows (:func:`misconceptions.for_student`:
                   the mistake named in ``language``, no expected values);
    ``behaviour``  the digest of the first wrong value (what :func:`probe_failed` keeps)."""
    return {"failure": misconceptions.from_hidden_failure(exc, ename, message),
            "message": misconceptions.for_student(exc, message, language),
            "behaviour": _behaviour(exc, ename, message)}


_RECORD_FIELDS = {"stage": 20, "kind": 40, "mistake": 2000, "check": 200, "error": 100}


def plain_findings(sent: Any, ename: str) -> dict:
    """:func:`findings` as a hidden tests' process sent them, checked (strings of bounded
    length, known fields only); a record of their own for a verdict that came without any
    (a process stopped at its deadline, or that sent too much)."""
    sent = sent if isinstance(sent, dict) else {}
    failure = sent.get("failure")
    if isinstance(failure, dict) and isinstance(failure.get("kind"), str):
        failure = {k: str(failure.get(k) or "")[:n] for k, n in _RECORD_FIELDS.items()}
    else:
        failure = misconceptions.record("hidden", "crashed" if ename == "TimeoutError" else "error",
                                        error=ename)
    behaviour = sent.get("behaviour")
    behaviour = behaviour if isinstance(behaviour, str) and len(behaviour) <= 64 else ""
    return {"failure": failure, "behaviour": behaviour}


async def probe_failed(executor, loop) -> None:
    """Run the hidden part of each failed test again on class-common inputs; keep digests.

    After every cell ran (nothing the probes do to the kernel can change a verdict), within
    ``Regrade.probe_seconds`` and the notebook's time limit, and never after a probe left the
    kernel stuck.  Each probe is a hidden part like any other: in a bounded process of its
    own (``executor._run_hidden``), with ``hidden_rng`` keyed by the assignment instead of
    the submission; the process sends back the digest, never the values."""
    from grader.grading.verdicts import GraderFault

    executor._behaviour = {}
    entry = executor.nb.metadata.get(NB_KEY) or {}
    ck = entry.get("common_key")
    budget = Regrade(parent=executor).probe_seconds
    if not isinstance(ck, int) or budget <= 0 or not executor._failures:
        return
    started = time.monotonic()
    for info in executor._plan.values():
        record = executor._failures.get(info.name)
        if not info.graded or not record or record["kind"] not in PROBED:
            continue
        left = min(budget - (time.monotonic() - started), executor._remaining())
        if left <= 0.5 or executor._kernel_suspect or not await executor._alive():
            break
        try:
            passed, _ename, _message, found = await executor._run_hidden(
                info, ck, time.monotonic() + left, loop)
        except GraderFault as exc:   # the verdicts stand: only the probes stop
            executor._incident(f"the behaviour probes stopped (the grader's failure: {str(exc)[:200]})")
            break
        if not passed and found.get("behaviour"):
            executor._behaviour[info.name] = found["behaviour"]


def notebook_entry(executor) -> dict:
    """What the executed notebook carries back (in its metadata) for :func:`after_grading`."""
    failures = dict(getattr(executor, "_failures", {}))
    for info in getattr(executor, "_plan", {}).values():   # cells that never ran
        cell = executor.nb.cells[info.index]
        if info.graded and info.name not in failures and any(
                o.get("output_type") == "error" for o in cell.get("outputs", [])):
            failures[info.name] = misconceptions.record("visible", "crashed", error="NotExecuted")
    return {"failures": failures, "behaviour": dict(getattr(executor, "_behaviour", {}))}


# -- after nbgrader saved the grades ----------------------------------------------------------

def read(folder: Path) -> dict:
    return fingerprint.read(folder, FILE)


def _write(folder: Path, data: dict) -> None:
    tmp = Path(folder) / (FILE + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, Path(folder) / FILE)


def after_grading(app, folder: Path, student: str, assignment: str, job, graded_with: dict,
                  previous: dict) -> dict:
    """Write the sidecar of a submission nbgrader just graded; apply ``never_lower``.

    ``previous`` is the sidecar as it was before nbgrader ran (which empties the folder).
    Called with the gradebook lock held.  Returns the sidecar's content."""
    from nbgrader.api import Gradebook

    policy = Regrade(parent=app)
    old_questions = previous.get("questions", {}) if isinstance(previous.get("questions"), dict) else {}
    same_submission = previous.get("fingerprint", {}).get("submission") == graded_with.get("submission")
    why = fingerprint.changes(previous.get("fingerprint", {}), graded_with) if previous else []
    if previous and not why:
        why = ["graded again unchanged (--force)"]
    questions: dict[str, dict] = {}
    with Gradebook(app.coursedir.db_url, app.coursedir.course_id) as gb:
        sub = gb.find_submission(assignment, student)
        several = len(sub.notebooks) > 1
        for nb in sub.notebooks:
            found = job.insight.get(nb.name, {})
            for g in nb.grades:
                if not g.max_score:
                    continue
                q = f"{nb.name}:{g.name}" if several else g.name
                old = old_questions.get(q) if isinstance(old_questions.get(q), dict) else None
                if old and old.get("kept") is not None and g.extra_credit:
                    g.extra_credit = None          # ours, from the last grading: recomputed
                auto = float(g.auto_score or 0.0) + float(g.extra_credit or 0.0)
                entry = {"score": auto, "max_score": float(g.max_score),
                         "failure": found.get("failures", {}).get(g.name),
                         "behaviour": found.get("behaviour", {}).get(g.name, "")}
                if old is not None and "score" in old:
                    entry["previous"] = float(old["score"])
                    if policy.never_lower and same_submission and float(old.get("max_score") or 0) > 0:
                        target = float(old["score"]) / float(old["max_score"]) * float(g.max_score)
                        if target > auto + 1e-9:
                            g.extra_credit = (g.extra_credit or 0.0) + target - auto
                            entry["kept"], entry["regraded_score"] = target, auto
                            entry["score"] = target
                questions[q] = entry
        gb.db.commit()
    data = {"student": student, "assignment": assignment, "graded_at": time.time(),
            "fingerprint": dict(graded_with), "never_lower": bool(policy.never_lower),
            "questions": questions}
    changes = {q: e for q, e in questions.items()
               if "previous" in e and abs(e["previous"] - (e.get("regraded_score", e["score"]))) > 1e-9}
    kept = {q: e for q, e in questions.items() if "kept" in e}
    if previous and (changes or kept):
        data["regrade"] = {"why": why, "same_submission": same_submission,
                           "questions": {q: {"old": e["previous"],
                                             "new": e.get("regraded_score", e["score"]),
                                             "final": e["score"], "max_score": e["max_score"],
                                             "kept": "kept" in e}
                                         for q, e in {**changes, **kept}.items()}}
    _write(folder, data)
    return data


def _number(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def policy_note(sidecar: dict) -> str:
    """What the last regrade did to this student's scores, for the reports and LMS exports
    ("" when it changed nothing)."""
    regrade = sidecar.get("regrade") or {}
    parts = []
    for q, c in sorted(regrade.get("questions", {}).items()):
        if c.get("kept"):
            parts.append(f"{q} kept at {_number(c['final'])} by never_lower (the regrade gave "
                         f"{_number(c['new'])})")
        elif c["new"] < c["old"]:
            parts.append(f"{q} lowered {_number(c['old'])} -> {_number(c['new'])} "
                         f"(never_lower {'on, but the submission changed' if sidecar.get('never_lower') else 'off'})")
        else:
            parts.append(f"{q} raised {_number(c['old'])} -> {_number(c['new'])}")
    if not parts:
        return ""
    return "regraded (" + ", ".join(regrade.get("why", [])) + "): " + "; ".join(parts)


def sidecars(course_root: Path, assignment: str) -> dict[str, dict]:
    """student -> sidecar, for every autograded submission of ``assignment``."""
    base = Path(course_root) / "autograded"
    out = {}
    if not base.is_dir():
        return out
    for folder in sorted(base.iterdir()):
        data = read(folder / assignment)
        if data:
            out[folder.name] = data
    return out


def write_regrade_report(course_root: Path, assignment: str, since: float) -> Path | None:
    """The regrade report of the batch that started at ``since`` (wall clock): per student
    graded again, old and new score per question, the final one and why.  ``None`` (and no
    file) when the batch regraded nobody's score."""
    from grader.grading.viewers import for_markdown

    entries = []
    for student, data in sidecars(course_root, assignment).items():
        regrade = data.get("regrade")
        if regrade and float(data.get("graded_at", 0)) >= since:
            entries.append({"student": student, **regrade, "never_lower": data.get("never_lower", False)})
    if not entries:
        return None
    out = Path(course_root) / "autograded" / REGRADE_REPORT.format(assignment=assignment)
    report = {"assignment": assignment, "written": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
              "students": entries}
    out.with_suffix(".json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n",
                                        encoding="utf-8")
    lines = [f"# Regrade report: {for_markdown(assignment)}", "",
             "| student | question | old | new | final | why |", "|---|---|---:|---:|---:|---|"]
    for e in entries:
        for q, c in sorted(e["questions"].items()):
            final = f"{_number(c['final'])}" + (" (kept: never_lower)" if c["kept"] else "")
            lines.append(f"| {for_markdown(e['student'])} | {for_markdown(q)} | {_number(c['old'])} | "
                         f"{_number(c['new'])} | {final} | {for_markdown(', '.join(e['why']))} |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out.with_suffix(".md")
