"""The student edition's README: what the course is, the ways in, the exercises, what is here.

Generated with the edition, never edited: the ways in are ``book/ways_in.md`` (the text the
site shows), the exercise table links each chapter's page and opens its notebook on Colab,
Binder and the site's JupyterLite with the same URLs as the site's launch buttons
(``grader.site.launch.launch_buttons``), and "what is here" is the manifest's own list.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from grader.edition import ways_in
from grader.edition.config import ROOT, student_edition

TITLE = "RNNs from Scratch · 从零实现循环神经网络: the student edition"


def chapter_title(root: Path, assignment: str) -> str:
    page = Path(root) / "book" / f"{assignment}.md"
    match = re.search(r"^# (.+)$", page.read_text(encoding="utf-8"), re.MULTILINE) if page.is_file() else None
    return match.group(1).strip() if match else assignment


def exercise_rows(root: Path = ROOT) -> list[str]:
    from grader.site.launch import LITE_APP, launch_buttons
    from grader.translate.exercises import zh_name, zh_path

    edition = student_edition(root)
    launch = yaml.safe_load((Path(root) / "_config.yml").read_text(encoding="utf-8")).get(
        "launch_buttons", {})
    rows = ["| chapter | notebook | open it in |", "|---|---|---|"]
    for number, name in enumerate(ways_in.exercise_names(root), start=1):
        notebook = f"exercises/{name}/{name}.ipynb"
        # every notebook of the assignment (other languages too), the chapter's own first
        others = sorted(p.relative_to(root).as_posix()
                        for p in (Path(root) / "exercises" / name).glob("*.ipynb")
                        if p.name != f"{name}.ipynb")
        if zh_path(name, Path(root)).is_file():   # published beside it (grader.edition.manifest)
            others = sorted({*others, f"exercises/{name}/{zh_name(name)}"})
        listed = " · ".join(f"[`{path}`]({path})" for path in [notebook, *others])
        buttons = launch_buttons(notebook, edition.org, edition.repo, edition.branch,
                                 launch.get("binderhub_url", ""), launch.get("colab_url", ""),
                                 f"{edition.site}{LITE_APP}")
        opens = " · ".join(f"[{b['text'].split(' (')[0]}]({b['url']})" for b in buttons)
        title = f"[{chapter_title(root, name)}]({edition.site}book/{name}.html)"
        rows.append(f"| {number}. {title} | {listed} | {opens} |")
    return rows


def chinese_note(root: Path = ROOT) -> list[str]:
    """Two sentences on the Chinese notebooks (one in each language), if the edition has them."""
    from grader.translate.exercises import zh_path

    if not any(zh_path(name, Path(root)).is_file() for name in ways_in.exercise_names(root)):
        return []
    site = f"{student_edition(root).site}zh/book/intro.html"
    return [
        "Each exercise also comes in Chinese, `<name>.zh.ipynb` beside the English notebook: the "
        "same questions, tests and points, with its text and test messages in Chinese. Either "
        "one may be handed in. The course site's [Chinese edition](" + site + ") opens it from "
        "every chapter page.",
        "",
        "每个练习都有中文版笔记本 `<name>.zh.ipynb`，与英文版放在同一个文件夹里：题目、测试和分数完全"
        "相同，说明和测试信息是中文的，两种都可以提交。课程网站的[中文版](" + site + ")在每一章的"
        "页面上都能直接打开它。",
        "",
    ]


def student_readme(root: Path = ROOT) -> str:
    from grader.edition.manifest import PARTS

    edition = student_edition(root)
    parts = [f"| `{part.path}` | {part.holds} |" for part in PARTS]
    return "\n".join([
        f"# {TITLE}",
        "",
        "An open course that takes you from a recurrent network computed by hand to a Markov "
        "RNN and a character-level LSTM that writes Tang poems, with NumPy alone. Read each "
        f"chapter on the [course site]({edition.site}), then complete its exercise notebook "
        "here; the tests in the notebook tell you at once whether your answer is right.",
        "",
        "This repository is generated from the course's source for students: it holds the "
        "exercises and the kit that checks them, and nothing of the solutions. Please do not "
        "send changes here; report a mistake with an issue instead.",
        "",
        "## Three ways in",
        "",
        ways_in.render(root, "edition").rstrip(),
        "",
        "From a clone of this repository (or its ZIP), `pip install ./kit` installs the same "
        "kit, and `pip install \"./kit[jupyter]\"` adds JupyterLab.",
        "",
        "## The exercises",
        "",
        *exercise_rows(root),
        "",
        *chinese_note(root),
        "## What is here",
        "",
        "| path | what it holds |",
        "|---|---|",
        *parts,
        "",
        "## Licence",
        "",
        "See [LICENSE](LICENSE).",
        "",
    ])
