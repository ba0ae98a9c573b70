"""Per-student feedback HTML that shows the student's work, scores and messages, never hidden tests.

``nbgrader generate_feedback`` renders the *autograded* notebook, and that notebook holds the
hidden tests: their source in the test cells, and their lines again in the tracebacks of
failed tests.  It also holds whatever the submission chose to display.  We run the same
nbgrader converter with more preprocessors:

* nbgrader's own ``ClearHiddenTests`` (the one code path that strips hidden tests, as in
  ``generate_assignment``) removes the hidden regions from the cells' source;
* :class:`ScrubOutputs` reduces every error output to its last line, ``ExceptionType:
  message`` (a traceback quotes the source lines it passes through, hidden tests and
  ``grader.reference`` included), and every stderr output to its warning messages;
* :class:`SafeContent` makes everything the submission controls inert: outputs keep only
  text and PNG/JPEG images (no HTML, SVG, JavaScript or widget data), terminal escapes other
  than colours are removed, a markdown cell that is not one of the assignment's own is shown
  as plain text (no raw HTML, no links), and cell metadata keeps only nbgrader's grading keys.
  nbconvert's HTML exporter escapes code, streams and tracebacks, but by default
  (``sanitize_html=False``) it writes ``text/html``, ``application/javascript`` and
  markdown HTML through as they are.

Then every file written is *audited* line by line (:func:`audit`): a visible line that holds
a solution or hidden-test line (or an nbgrader marker) and is not one of the student's own
lines (the cell sources of their submitted notebook, read with nbformat) makes the command
delete that student's feedback and say why, rather than publish it.
"""
from __future__ import annotations

import base64
import binascii
import glob
import html
import os
import re
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from grader import leaks, notebooks
from grader.grading.viewers import for_html
from grader.release import nbgrader_command, nbgrader_env

PREPROCESSORS = (
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "grader.grading.feedback.ScrubOutputs",
    "grader.grading.feedback.SafeContent",
    "grader.translate.feedback.ChineseFeedback",   # a Chinese-edition notebook's page in Chinese
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
)
EXPORTER = "grader.translate.feedback.FeedbackExporter"   # nbgrader's HTMLExporter + its labels in Chinese

# nbgrader's feedback template with the course's MathJax macro (a pinned MathJax whose hash
# the browser checks, where nbconvert's loads an unpinned one): templates/rnns_feedback.
TEMPLATE_NAME = "rnns_feedback"


def template_basedirs() -> list[str]:
    """Where nbconvert finds ``rnns_feedback`` and the nbgrader ``feedback`` template it extends."""
    import nbgrader

    return [str(Path(__file__).resolve().parent / "templates"),
            str(Path(nbgrader.__file__).resolve().parent / "server_extensions" / "formgrader"
                / "templates")]


def nbgrader_feedback_options() -> list[str]:
    """The command-line form of the feedback settings (also set by nbgrader_config.py)."""
    return ([f"--GenerateFeedback.preprocessors={name}" for name in PREPROCESSORS]
            + [f"--GenerateFeedback.exporter_class={EXPORTER}"]
            + [f"--HTMLExporter.template_name={TEMPLATE_NAME}"]
            + [f"--HTMLExporter.extra_template_basedirs={d}" for d in template_basedirs()])


# ``/tmp/ipykernel_1/123.py:5: RuntimeWarning: overflow encountered in exp``
_WARNING = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*(?:Warning|Error)): (.*)$")


def scrub_stderr(text: str) -> str:
    """Only the ``Category: message`` part of warning lines; file names and quoted source go."""
    kept = [f"{m.group(1)}: {m.group(2)}" for line in text.splitlines()
            if (m := _WARNING.search(line))]
    if not kept and text.strip():
        kept = ["(output on standard error, not shown)"]
    return "\n".join(kept) + ("\n" if kept else "")


class ScrubOutputs(Preprocessor):
    """Error outputs keep ``ename: evalue`` only; stderr keeps warning messages only."""

    enabled = Bool(True).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        outputs = []
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                output.traceback = [f"{output.ename}: {output.evalue}"]
            elif output.output_type == "stream" and output.name == "stderr":
                output.text = scrub_stderr(output.text)
                if not output.text:
                    continue
            elif output.output_type == "display_data" and output.get("metadata", {}).get("rnns_stderr"):
                # a test cell's standard error, which the grader kept out of nbgrader's scoring
                text = scrub_stderr(str(output.get("data", {}).get("text/plain", "")))
                if not text:
                    continue
                output = nbformat.v4.new_output("stream", name="stderr", text=text)
            outputs.append(output)
        cell.outputs = outputs
        return cell, resources


# Outputs that nbconvert renders inert: escaped text, and images as base64 ``data:`` URLs.
SAFE_DATA = ("text/plain", "image/png", "image/jpeg")
# Terminal escapes: colours (SGR, ``ESC[...m``) become styled spans; every other sequence
# (cursor moves, OSC 8 hyperlinks, titles) and control character is removed.
_OSC = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")
_CSI_NOT_SGR = re.compile(r"\x1b\[[0-?]*[ -/]*[@-ln-~]")
_OTHER_ESCAPE = re.compile(r"\x1b(?!\[[0-9;]*m)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f]")
# nbgrader's grading keys; ``grade_id`` is written into an attribute unescaped.
NBGRADER_KEYS = ("grade", "solution", "locked", "task", "grade_id", "points", "score",
                 "comment", "checksum", "schema_version")
_SAFE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


def plain_text(text: str) -> str:
    """``text`` without control characters or escape sequences other than colours."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _OTHER_ESCAPE.sub("", _CSI_NOT_SGR.sub("", _OSC.sub("", text)))
    return _CONTROL.sub("", text)


def as_text_block(text: str) -> str:
    """Markdown that shows ``text`` verbatim: a fence longer than any backtick run inside."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}\n"


def _is_base64(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def safe_output(output):
    """The output with only inert content, or None when nothing inert is left."""
    kind = output.get("output_type")
    if kind == "stream":
        output.text = plain_text(leaks.joined_source(output.get("text", "")))
        return output
    if kind == "error":
        output.ename = plain_text(str(output.get("ename", "")))
        output.evalue = plain_text(str(output.get("evalue", "")))
        output.traceback = [plain_text(leaks.joined_source(line))
                            for line in output.get("traceback", [])]
        return output
    if kind not in ("display_data", "execute_result"):
        return None
    data = {}
    for mime in SAFE_DATA:
        value = output.get("data", {}).get(mime)
        if mime == "text/plain" and value is not None:
            data[mime] = plain_text(leaks.joined_source(value))
        elif value is not None and _is_base64(value):
            data[mime] = value
    if not data:
        data["text/plain"] = "(rich output not shown in feedback)"
    output.data = data
    output.metadata = {}  # image sizes, file names: nothing the template must trust
    return output


class SafeContent(Preprocessor):
    """Makes whatever a submission controls render as inert text (see the module docstring)."""

    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook, MissingEntry

        self.trusted_markdown: set[str] = set()
        info = resources.get("nbgrader", {})
        if info.get("db_url"):
            with Gradebook(info["db_url"]) as gb:
                try:
                    source = gb.find_notebook(info["notebook"], info["assignment"])
                except MissingEntry:
                    source = None
                if source is not None:
                    self.trusted_markdown = {c.source for c in source.source_cells
                                             if c.cell_type == "markdown"}
        # nbgrader's feedback template writes the notebook's name into the page's title and
        # heading unescaped; intake admits only the assignment's own notebook names, and this
        # keeps it so whatever reached here (the student and assignment name the output
        # folder: nbgrader uses them after this step, and the page does not show them)
        if isinstance(info.get("notebook"), str) and not _SAFE_ID.match(info["notebook"]):
            info["notebook"] = for_html(info["notebook"])
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        grading = cell.metadata.get("nbgrader", {})
        kept = {k: grading[k] for k in NBGRADER_KEYS if k in grading}
        if "comment" in kept and kept["comment"] is not None:
            kept["comment"] = html.escape(str(kept["comment"]))
        if not _SAFE_ID.match(str(kept.get("grade_id", ""))):
            kept = {}
        cell.metadata = {"nbgrader": kept} if kept else {}
        cell.pop("attachments", None)
        if cell.cell_type == "code":
            cell.outputs = [o for o in map(safe_output, cell.get("outputs", [])) if o is not None]
        elif cell.cell_type == "markdown":
            if cell.source not in self.trusted_markdown:
                cell.source = as_text_block(plain_text(cell.source))
        else:  # a raw cell goes into the page as it is: show it as text instead
            cell.cell_type = "markdown"
            cell.source = as_text_block(plain_text(cell.source))
        return cell, resources


@dataclass
class StudentFeedback:
    student: str
    files: list[Path] = field(default_factory=list)
    problem: str = ""


def own_lines(course_root: Path, student: str, assignment: str) -> set[str]:
    """The whitespace-squashed source lines of the student's submitted notebooks.

    Read with nbformat, cell by cell: what the student wrote can never leak to them, even
    where it coincides with a solution line.  Only regular files are read (a link or a FIFO
    in ``submitted/`` adds nothing), and a file that is not a notebook adds nothing.
    """
    folder = Path(course_root) / "submitted" / student / assignment
    lines: set[str] = set()
    if not folder.is_dir() or folder.is_symlink():
        return lines
    for path in sorted(folder.glob("*.ipynb")):
        if not stat.S_ISREG(os.lstat(path).st_mode):
            continue
        try:
            cells = notebooks.read(path).cells
        except (ValueError, RecursionError):
            continue
        for cell in cells:
            lines.update(leaks.squash(line) for line in leaks.joined_source(
                cell.get("source", "")).splitlines())
    lines.discard("")
    return lines


# Tags after which a browser starts a new line: the visible text keeps the page's lines,
# so that one line of a code cell is one line here.
_BLOCK_TAG = re.compile(r"<(?:/?(?:div|pre|p|li|ol|ul|tr|td|th|table|h[1-6]|blockquote|"
                        r"section|details|summary)\b[^>]*|br\b[^>]*/?)>", re.I)
_TAG = re.compile(r"<[^>]*>")


def visible_lines(page: str) -> list[str]:
    """The whitespace-squashed lines of text an HTML page shows (tags dropped, entities decoded)."""
    text = html.unescape(_TAG.sub("", _BLOCK_TAG.sub("\n", page)))
    return [line for line in map(leaks.squash, text.splitlines()) if line]


def audit(files: list[Path], secrets: set[str], own: set[str]) -> list[str]:
    """Secret lines and nbgrader markers shown in ``files`` outside the student's own lines.

    A page line that is one of the student's own lines (``own``) is theirs, whatever it
    holds; any other line that contains a secret line (a solution or hidden-test line the
    student did not write) or a marker is a leak.
    """
    forbidden = sorted(secrets - own)
    found = []
    for path in files:
        for line in visible_lines(path.read_text(encoding="utf-8", errors="replace")):
            if line in own:
                continue
            hits = [m for m in leaks.MARKERS if m in line] + [s for s in forbidden if s in line]
            found += [f"{path.name}: {hit}" for hit in hits]
    return found


def _autograded_students(course_root: Path, assignment: str) -> list[str]:
    base = course_root / "autograded"
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir()
                  if (p / assignment).is_dir() and any((p / assignment).glob("*.ipynb")))


def _run_nbgrader(course_root: Path, assignment: str,
                  student: str | None) -> subprocess.CompletedProcess:
    args = ["generate_feedback", assignment, "--force", "--log-level=WARN"]
    if student:   # nbgrader globs it: "[" or "*" in an id are letters here
        args.append(f"--student={glob.escape(student)}")
    args += nbgrader_feedback_options()
    return subprocess.run(nbgrader_command(*args), cwd=course_root, env=nbgrader_env(),
                          capture_output=True, text=True)


def generate_feedback(course_root: Path, assignment: str,
                      students: list[str] | None = None) -> list[StudentFeedback]:
    """Feedback HTML in ``feedback/<student>/<assignment>/`` for every autograded student.

    Returns one entry per student; ``problem`` is set (and no feedback file is left) when
    nbgrader failed for that student or the audit found hidden text.
    """
    course_root = Path(course_root).resolve()
    source = sorted((course_root / "solutions" / assignment).glob("*.ipynb"))
    if not source:
        raise FileNotFoundError(f"no source notebook in {course_root / 'solutions' / assignment}"
                                " (needed to audit the feedback)")
    secrets = leaks.secret_lines(source)
    everyone = _autograded_students(course_root, assignment)
    todo = list(students) if students is not None else everyone
    for student in todo:  # never leave an older (possibly unscrubbed) file in place
        shutil.rmtree(course_root / "feedback" / student / assignment, ignore_errors=True)

    # All students in one nbgrader run when asked for all of them; one run each otherwise.
    batch = _run_nbgrader(course_root, assignment, None) if students is None and todo else None
    results = []
    for student in todo:
        entry = StudentFeedback(student)
        results.append(entry)
        expected = sorted((course_root / "autograded" / student / assignment).glob("*.ipynb"))
        if not expected:
            entry.problem = "no autograded notebook"
            continue
        out_dir = course_root / "feedback" / student / assignment

        def missing() -> list[Path]:
            return [p for p in expected if not (out_dir / (p.stem + ".html")).is_file()]

        log = batch.stdout + batch.stderr if batch else ""
        if batch is None or missing():  # (again) alone, so that its error is its own
            single = _run_nbgrader(course_root, assignment, student)
            log = single.stdout + single.stderr
        if missing():
            entry.problem = ("nbgrader generate_feedback failed: "
                             + (_last_error_line(log) or f"no output for {missing()[0].name}"))
        else:
            files = sorted(p for p in out_dir.rglob("*") if p.is_file())
            found = audit(files, secrets, own_lines(course_root, student, assignment))
            if found:
                entry.problem = ("feedback withheld: it would show hidden or solution text ("
                                 + "; ".join(found[:3]) + ")")
            else:
                entry.files = files
        if entry.problem:
            shutil.rmtree(out_dir, ignore_errors=True)
    return results


def _last_error_line(log: str) -> str:
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for line in reversed(lines):
        if "Error" in line or "error" in line:
            return line[:300]
    return lines[-1][:300] if lines else ""
