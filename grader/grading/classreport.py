"""What the class got wrong and whose work to look at: the instructor's page of a class report.

:func:`write` adds to the class report of :mod:`grader.grading.report` (same folder,
``reports/<assignment>/``):

``misconceptions.json``  per question: how many failed, the item's difficulty and
                         discrimination, the book section that teaches it, and per mistake
                         its words, kind, count and students (for tools);
``misconceptions.csv``   the same, one row per question and mistake (for spreadsheets);
``misconceptions.png``   one figure: questions x mistakes, the number of students in each cell;
``index.html``           one static page, no script and nothing loaded from elsewhere, that an
                         instructor reads in a minute: what to re-teach first, every question
                         with its mistakes and its section, the figure, the similarity
                         findings with the two cells side by side, and the last regrades.

Why a question failed comes from the grader's sidecars (:mod:`grader.grading.insight`), the
similarity findings from :mod:`grader.grading.similarity`.  *Difficulty* is the share of
graded students who earned the question's full points (classical item difficulty, higher is
easier); *discrimination* the point-biserial correlation between the question's score and
the rest of the score (the total without that question): near 0 or negative, the question
does not separate students who know the material from those who do not.  Every string a
student controls (ids, code, messages read from their kernel) is escaped for its viewer
(:mod:`grader.grading.viewers`).
"""
from __future__ import annotations

import csv
import html
import json
import math
import os
import re
import time
from collections import defaultdict
from pathlib import Path

from grader.grading import insight, misconceptions
from grader.grading.viewers import for_csv_row, for_html

FILES = {"misconceptions_json": "misconceptions.json", "misconceptions_csv": "misconceptions.csv",
         "figure": "misconceptions.png", "html": "index.html"}
SECTIONS = Path(__file__).with_name("sections.json")
_KIND_ORDER = {"named": 0, "values": 2, "error": 3, "unanswered": 4, "crashed": 5}


# -- data -----------------------------------------------------------------------------------

def anchor(title: str) -> str:
    """The id Sphinx gives a section titled ``title`` (docutils' rule)."""
    from docutils.nodes import make_id

    return make_id(re.sub(r"`", "", title))


def sections(assignment: str) -> dict[str, dict]:
    """test cell -> {"page", "title", "anchor"} from ``sections.json``."""
    data = json.loads(SECTIONS.read_text(encoding="utf-8")).get(assignment, {})
    return {q: {"page": page, "title": title, "anchor": anchor(title)}
            for q, (page, title) in data.items()}


def _pearson(x: list[float], y: list[float]) -> float | None:
    n = len(x)
    if n < 3:
        return None
    mx, my = sum(x) / n, sum(y) / n
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    if sxx <= 0 or syy <= 0:
        return None
    return sum((a - mx) * (b - my) for a, b in zip(x, y)) / math.sqrt(sxx * syy)


def item_statistics(questions, rows) -> dict[tuple[str, str], dict]:
    """(notebook, question) -> difficulty and discrimination, over the graded students."""
    from grader.grading.report import GRADED

    graded = [r for r in rows if r.status == GRADED]
    out = {}
    for q in questions:
        key = (q.notebook, q.grade_id)
        item = [r.scores.get(key, 0.0) / q.max_score for r in graded]
        rest = [r.total - r.scores.get(key, 0.0) for r in graded]
        passed = sum(r.scores.get(key, 0.0) >= q.max_score - 1e-9 for r in graded)
        disc = _pearson(item, rest)
        out[key] = {"difficulty": round(passed / len(graded), 3) if graded else None,
                    "discrimination": None if disc is None else round(disc, 3)}
    return out


def analyse(course_root: Path, assignment: str, questions, rows) -> dict:
    """The report's data (what ``misconceptions.json`` holds)."""
    from grader.grading.report import GRADED

    several = len({q.notebook for q in questions}) > 1
    found = insight.sidecars(course_root, assignment)
    stats = item_statistics(questions, rows)
    where = sections(assignment)
    graded = [r for r in rows if r.status == GRADED]
    out = []
    for q in questions:
        key = (q.notebook, q.grade_id)
        column = q.column(several)
        failed = [r.student for r in graded if r.scores.get(key, 0.0) < q.max_score - 1e-9]
        groups: dict[tuple[str, str], list[str]] = defaultdict(list)
        for student in failed:
            entry = (found.get(student, {}).get("questions") or {}).get(column) or {}
            record = entry.get("failure") or misconceptions.record("", "values")
            groups[misconceptions.summary_key(record)].append(student)
        mistakes = [{"kind": kind, "message": words, "count": len(who), "students": sorted(who)}
                    for (kind, words), who in groups.items()]
        mistakes.sort(key=lambda m: (_KIND_ORDER.get(m["kind"], 1), -m["count"], m["message"]))
        out.append({"question": column, "notebook": q.notebook, "max_score": q.max_score,
                    "graded": len(graded), "failed": len(failed), **stats[key],
                    "section": where.get(q.grade_id), "mistakes": mistakes})
    return {"assignment": assignment, "graded": len(graded), "questions": out}


# -- files ----------------------------------------------------------------------------------

def _write_csv(path: Path, data: dict) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["question", "failed", "graded", "difficulty", "discrimination",
                         "section", "kind", "mistake", "count", "students"])
        for q in data["questions"]:
            section = f"{q['section']['page']}#{q['section']['anchor']}" if q["section"] else ""
            head = [q["question"], q["failed"], q["graded"], q["difficulty"], q["discrimination"],
                    section]
            if not q["mistakes"]:
                writer.writerow(for_csv_row(head + ["", "", 0, ""]))
            for m in q["mistakes"]:
                writer.writerow(for_csv_row(head + [m["kind"], m["message"], m["count"],
                                                    "; ".join(m["students"])]))


def mistake_columns(data: dict, limit: int = 12) -> list[tuple[str, str]]:
    """The figure's columns: the (kind, words) seen most often, classic mistakes first."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for q in data["questions"]:
        for m in q["mistakes"]:
            counts[(m["kind"], m["message"])] += m["count"]
    ranked = sorted(counts, key=lambda k: (_KIND_ORDER.get(k[0], 1), -counts[k], k[1]))
    return ranked[:limit]


def figure(data: dict):
    """Questions x mistakes: how many students made each mistake in each question."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    columns = mistake_columns(data)
    rows = [q["question"] for q in data["questions"]]
    counts = np.zeros((len(rows), max(len(columns), 1)))
    for i, q in enumerate(data["questions"]):
        for m in q["mistakes"]:
            if (m["kind"], m["message"]) in columns:
                counts[i, columns.index((m["kind"], m["message"]))] = m["count"]
    fig = Figure(figsize=(max(6.0, 1.0 + 0.7 * len(columns)), max(3.0, 0.9 + 0.45 * len(rows))), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    image = ax.imshow(counts, cmap="Blues", aspect="auto", vmin=0)
    ax.set_yticks(range(len(rows)), rows, fontsize=10)
    ax.set_xticks(range(len(columns)), [f"M{i + 1}" for i in range(len(columns))], fontsize=10)
    for i in range(len(rows)):
        for j in range(len(columns)):
            if counts[i, j]:
                ax.text(j, i, f"{counts[i, j]:g}", ha="center", va="center", fontsize=10,
                        color="white" if counts[i, j] > counts.max() / 2 else "black")
    ax.set_xlabel("mistake (M1, M2, ...: see the list under the figure)")
    ax.set_ylabel("question")
    ax.set_title(f"{data['assignment']}: students per question and mistake "
                 f"({data['graded']} graded)", fontsize=11)
    from matplotlib.ticker import MaxNLocator

    fig.colorbar(image, ax=ax, label="students", ticks=MaxNLocator(integer=True))
    fig.tight_layout()
    return fig, columns


# -- the page -------------------------------------------------------------------------------

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1100px;padding:1em;color:#1b1b1b}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;margin:.5em 0}td,th{border:1px solid #ddd;padding:.3em .5em;vertical-align:top;text-align:left}
th{background:#f3f5f8}td.n{text-align:right;white-space:nowrap}.muted{color:#555}
.wrap{overflow-x:auto}figure{margin:1em 0}figure img{max-width:100%;height:auto}
pre{margin:0;font:12px/1.35 ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-word}
.sbs{display:grid;grid-template-columns:1fr 1fr;gap:.5em}.sbs>div{border:1px solid #ddd;padding:.4em;overflow-x:auto}
mark{background:#fff0a8}details{margin:.2em 0}summary{cursor:pointer}
ol.teach li{margin:.3em 0}ul.legend{list-style:none;padding-left:0}.tag{display:inline-block;font-size:.8em;padding:0 .4em;border-radius:.3em;background:#e8eef7;margin-right:.3em}
@media (max-width:640px){.sbs{grid-template-columns:1fr}}
"""


def _fmt(value, pattern="{:.2f}") -> str:
    return "n/a" if value is None else pattern.format(value)


def _section_link(section: dict | None, book_url: str | None) -> str:
    if not section:
        return '<span class="muted">(no section mapped)</span>'
    title = for_html(section["title"].replace("`", ""))
    if book_url is None:
        return f"{title} <span class=\"muted\">({for_html(section['page'])})</span>"
    href = f"{book_url.rstrip('/')}/{section['page']}.html#{section['anchor']}"
    return f'<a href="{for_html(href)}">{title}</a>'


def _code(lines: list[tuple[str, bool]]) -> str:
    return "<pre>" + "\n".join(f"<mark>{for_html(line)}</mark>" if marked else for_html(line)
                               for line, marked in lines) + "</pre>"


def _side_by_side(left_title: str, left: str, right_title: str, right: str) -> str:
    from grader.grading.similarity import side_by_side

    a, b = side_by_side(left, right)
    return (f'<div class="sbs"><div><b>{for_html(left_title)}</b>{_code(a)}</div>'
            f'<div><b>{for_html(right_title)}</b>{_code(b)}</div></div>')


def _source_code(analysis, finding) -> str:
    if finding.source in analysis.sources:
        return analysis.sources[finding.source]
    names = [n.strip() for n in finding.detail.split(",") if n.strip() in analysis.sources]
    return "\n\n".join(analysis.sources[n] for n in names)


def _similarity_html(analysis, limit: int = 40) -> str:
    if analysis is None:
        return "<p class=\"muted\">Not computed.</p>"
    if not analysis.findings:
        return (f"<p>Nothing to look at: no two of the {len(analysis.students)} graded "
                "submissions share code that the rest of the class does not write, or the same "
                "wrong answers, and none holds the course's own code.</p>")
    parts = [f"<p>{len(analysis.findings)} finding(s) over {len(analysis.students)} graded "
             "submissions, strongest evidence first. Similar code is a reason to look, not a "
             "verdict: students who learn together, or answer a short question the usual "
             "way, write alike. <i>behaviour</i>: the same wrong numbers on inputs that are the "
             "same for the whole class; <i>code</i>: code that few others in the class write; "
             "<i>source</i>: the course's reference code or the solution; <i>markers</i>: the "
             "solution notebook's own BEGIN/END SOLUTION lines.</p>", "<ol>"]
    for f in analysis.findings[:limit]:
        tags = "".join(f'<span class="tag">{for_html(e)}</span>' for e in f.evidence)
        if f.source:
            who = f"{for_html(f.students[0])} and <b>{for_html(f.source)}</b>"
            view = _side_by_side(f.students[0], analysis.cells[f.students[0]].get(f.question, ""),
                                 f.source, _source_code(analysis, f))
        else:
            a, b = f.students
            who = f"{for_html(a)} and {for_html(b)}"
            view = _side_by_side(a, analysis.cells.get(a, {}).get(f.question, ""),
                                 b, analysis.cells.get(b, {}).get(f.question, ""))
        detail = f" — {for_html(f.detail)}" if f.detail else ""
        parts.append(f"<li>{tags} <b>{for_html(f.question)}</b>: {who}, score "
                     f"{f.score:.2f}{detail}<details><summary>side by side (lines alike "
                     f"marked)</summary>{view}</details></li>")
    parts.append("</ol>")
    if len(analysis.findings) > limit:
        parts.append(f"<p class=\"muted\">{len(analysis.findings) - limit} more: "
                     "<code>python -m grader similarity</code> lists them all.</p>")
    return "\n".join(parts)


def _regrades_html(course_root: Path, assignment: str) -> str:
    rows = []
    for student, data in insight.sidecars(course_root, assignment).items():
        regrade = data.get("regrade") or {}
        for q, c in sorted(regrade.get("questions", {}).items()):
            final = f"{c['final']:g}" + (" (kept: never_lower)" if c.get("kept") else "")
            rows.append(f"<tr><td>{for_html(student)}</td><td>{for_html(q)}</td><td class=n>"
                        f"{c['old']:g}</td><td class=n>{c['new']:g}</td><td class=n>{final}</td>"
                        f"<td>{for_html(', '.join(regrade.get('why', [])))}</td></tr>")
    if not rows:
        return "<p class=\"muted\">No score was changed by a regrade.</p>"
    return ("<div class=wrap><table><tr><th>student</th><th>question</th><th>old</th><th>new</th>"
            "<th>final</th><th>why</th></tr>" + "".join(rows) + "</table></div>")


def _page(data: dict, summary: dict, columns, analysis, regrades: str, book_url: str | None) -> str:
    graded = data["graded"]
    teach = sorted((q for q in data["questions"] if q["failed"]), key=lambda q: -q["failed"])[:3]
    items = []
    for q in teach:
        named = [m for m in q["mistakes"] if m["kind"] == "named"]
        top = named[0] if named else q["mistakes"][0]
        items.append(f"<li><b>{for_html(q['question'])}</b>: {q['failed']} of {graded} failed; most "
                     f"often <i>{for_html(top['message'])}</i> ({top['count']}). Re-read: "
                     f"{_section_link(q['section'], book_url)}</li>")
    rows = []
    for q in data["questions"]:
        ms = []
        for m in q["mistakes"]:
            label = f"M{columns.index((m['kind'], m['message'])) + 1}: " \
                if (m["kind"], m["message"]) in columns else ""
            ms.append(f"<details><summary>{for_html(label)}{for_html(m['message'])} "
                      f"<b>({m['count']})</b></summary>{for_html(', '.join(m['students']))}</details>")
        rows.append(f"<tr><td>{for_html(q['question'])}</td><td class=n>{q['failed']} of {graded}</td>"
                    f"<td class=n>{_fmt(q['difficulty'])}</td><td class=n>{_fmt(q['discrimination'])}</td>"
                    f"<td>{''.join(ms) or '<span class=muted>none</span>'}</td>"
                    f"<td>{_section_link(q['section'], book_url)}</td></tr>")
    legend = "".join(f"<li>M{i + 1}: {for_html(words)}</li>" for i, (_, words) in enumerate(columns))
    alt = (f"A grid of {len(data['questions'])} questions by {len(columns)} mistakes; each cell "
           "gives the number of students who failed that question with that mistake.")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'">
<link rel="icon" href="data:,">
<title>Class report: {for_html(data['assignment'])}</title><style>{CSS}</style></head>
<body>
<h1>Class report: {for_html(data['assignment'])}</h1>
<p>{summary.get('students', 0)} students, {graded} graded; final score (after late penalties) out of
{summary.get('max_score', 0):g}: mean {_fmt(summary.get('mean'))}, median {_fmt(summary.get('median'))}.
Written {for_html(time.strftime('%Y-%m-%d %H:%M'))}; scores per student in <a href="scores.csv">scores.csv</a>,
the same data as this page in <a href="misconceptions.json">misconceptions.json</a> and
<a href="misconceptions.csv">misconceptions.csv</a>.</p>
<h2>What to re-teach first</h2>
{'<ol class="teach">' + ''.join(items) + '</ol>' if items else '<p>Every graded student passed every question.</p>'}
<h2>Questions and the mistakes behind their failures</h2>
<p class="muted">A mistake in italics is one a test names; "unrecognised" means wrong values no
test recognises. Difficulty: the share who earned full points. Discrimination: the correlation
of the question's score with the rest of the score (below 0.2: the question tells little).</p>
<div class=wrap><table><tr><th>question</th><th>failed</th><th>difficulty</th>
<th>discrimination</th><th>mistakes (students)</th><th>taught in</th></tr>{''.join(rows)}</table></div>
<figure><img src="{FILES['figure']}" alt="{for_html(alt)}" width="700">
<figcaption>Students per question and mistake. {'<ul class="muted legend">' + legend + '</ul>' if legend else ''}</figcaption></figure>
<h2>Whose work to look at</h2>
{_similarity_html(analysis)}
<h2>Regrades</h2>
{regrades}
</body></html>
"""


def write(course_root: Path, assignment: str, out_dir: Path, questions, rows, summary: dict,
          *, similarity: bool = True, book_url: str | None = None) -> dict[str, str]:
    """Write the files of the module docstring into ``out_dir``; return {kind: path}."""
    out_dir = Path(out_dir)
    course_root = Path(course_root).resolve()
    data = analyse(course_root, assignment, questions, rows)
    (out_dir / FILES["misconceptions_json"]).write_text(
        json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    _write_csv(out_dir / FILES["misconceptions_csv"], data)
    fig, columns = figure(data)
    fig.savefig(out_dir / FILES["figure"])
    analysis = None
    if similarity:
        from grader.grading import similarity as sim

        try:
            analysis = sim.analyse(course_root, assignment)
        except FileNotFoundError:
            analysis = None
    if book_url is None:
        site = course_root / "_build" / "html"
        if (site / "index.html").is_file():
            book_url = os.path.relpath(site, out_dir.resolve())
    page = _page(data, summary, columns, analysis, _regrades_html(course_root, assignment), book_url)
    (out_dir / FILES["html"]).write_text(page, encoding="utf-8")
    summary_md = out_dir / "summary.md"
    if summary_md.is_file():
        with summary_md.open("a", encoding="utf-8") as f:
            f.write(markdown(data))
    return {kind: str(out_dir / name) for kind, name in FILES.items()}


def markdown(data: dict) -> str:
    """The misconceptions as a section of ``summary.md`` (and of ``report``'s output)."""
    from grader.grading.viewers import for_markdown

    lines = ["", "## What the class got wrong", "",
             "| question | failed | difficulty | discrimination | mistakes (students) |",
             "|---|---:|---:|---:|---|"]
    for q in data["questions"]:
        ms = "; ".join(f"{for_markdown(m['message'])} ({m['count']}: "
                       f"{for_markdown(', '.join(m['students']))})" for m in q["mistakes"])
        lines.append(f"| {for_markdown(q['question'])} | {q['failed']} of {q['graded']} | "
                     f"{_fmt(q['difficulty'])} | {_fmt(q['discrimination'])} | {ms} |")
    lines += ["", f"![questions by mistakes]({FILES['figure']})", ""]
    return "\n".join(lines)
