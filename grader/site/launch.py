"""Sphinx extension: the launch buttons (Binder, Colab, JupyterLite) open exercise notebooks.

sphinx-book-theme puts a launch menu on every executable page and points it at the page's
own source.  For a chapter that source is ``book/<chapter>.md``, which Colab cannot open and
which is not what a student should work on.  This extension runs after the theme and, on
every page that has the menu, rebuilds it:

* on a chapter page (``book/<a>``) and on its exercise page (``exercises/<a>/<a>``), every
  button opens the exercise notebook ``exercises/<a>/<a>.ipynb``: on Binder (the environment
  in ``binder/``), on Colab, and in the site's own JupyterLite (``lite/``, when it is built);
* on any other page (the landing page, ...) the menu is removed.

Every button opens the notebook from the **student edition** (``student_edition`` in
``_config.yml``, :mod:`grader.edition.config`), the public repository that ``python -m
grader publish student`` writes: never the instructor's repository, which may be private.
The theme's repository and issue buttons are pointed there as well, and the pages'
substitutions (``{{ kit_pip }}``, the ones ``book/ways_in.md`` uses) come from the same
place (:func:`grader.edition.ways_in.substitutions`): no URL is written here.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

LITE_APP = "lite/notebooks/index.html"  # JupyterLite's notebook app, relative to the site root


def exercise_for(pagename: str, srcdir: Path) -> str | None:
    """The exercise notebook (path in the repository) that ``pagename`` launches, if any."""
    parts = pagename.split("/")
    if len(parts) == 3 and parts[0] == "exercises" and parts[1] == parts[2]:
        name = parts[1]
    elif len(parts) == 2 and parts[0] == "book":
        name = parts[1]
    else:
        return None
    path = f"exercises/{name}/{name}.ipynb"
    return path if (srcdir / path).is_file() else None


def launch_buttons(notebook: str, org: str, repo: str, branch: str, binderhub: str,
                   colab: str, lite_url: str | None) -> list[dict]:
    """The theme's button dicts for one exercise notebook (a path in the repository)."""
    buttons = []
    if lite_url:
        buttons.append({"type": "link", "text": "JupyterLite (in this browser)",
                        "tooltip": "Open the exercise in the browser, nothing to install",
                        "icon": "_static/images/logo_jupyterlite.svg",
                        "url": f"{lite_url}?path={quote(Path(notebook).name)}"})
    if binderhub:
        buttons.append({"type": "link", "text": "Binder",
                        "tooltip": "Open the exercise on Binder",
                        "icon": "_static/images/logo_binder.svg",
                        "url": f"{binderhub.rstrip('/')}/v2/gh/{org}/{repo}/{branch}"
                               f"?urlpath={quote(f'lab/tree/{notebook}', safe='/')}"})
    if colab:
        buttons.append({"type": "link", "text": "Colab",
                        "tooltip": "Open the exercise on Colab",
                        "icon": "_static/images/logo_colab.png",
                        "url": f"{colab.rstrip('/')}/github/{org}/{repo}/blob/{branch}/{notebook}"})
    return buttons


def _rebuild_launch_menu(app, pagename, templatename, context, doctree):
    buttons = context.get("header_buttons") or []
    menu = next((b for b in buttons if b.get("label") == "launch-buttons"), None)
    if menu is None:
        return
    notebook = exercise_for(pagename, Path(app.srcdir))
    org, repo = context.get("github_user"), context.get("github_repo")
    if notebook is None or not (org and repo):
        buttons.remove(menu)
        return
    options = app.config.html_theme_options
    launch = options.get("launch_buttons", {})
    lite = context["pathto"](LITE_APP, 1) if app.config.rnns_lite_built else None
    menu["tooltip"] = "Open this chapter's exercise"
    menu["buttons"] = launch_buttons(notebook, org, repo, options.get("repository_branch") or "main",
                                     launch.get("binderhub_url", ""), launch.get("colab_url", ""),
                                     lite)


def lite_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{lite}`01_rnn_by_hand``: a link that opens that exercise in the site's JupyterLite,
    or, in a build without JupyterLite (``make book LITE=0``), a plain note saying so."""
    from docutils import nodes

    env = inliner.document.settings.env
    chinese = _language(env.config) == "zh"   # the Chinese edition opens the Chinese notebook
    if not env.config.rnns_lite_built:
        return [nodes.emphasis(text="（本站的这次构建不含 JupyterLite）" if chinese
                               else "(not in this build of the site)")], []
    up = "../" * env.docname.count("/")
    name = f"{text.strip()}.zh.ipynb" if chinese else f"{text.strip()}.ipynb"
    if chinese:   # the Chinese edition is served under zh/, JupyterLite at the site's root
        up += "../"
    uri = f"{up}{LITE_APP}?path={quote(name)}"
    label = f"在浏览器中打开 {name}" if chinese else f"{name} in the browser"
    return [nodes.reference(rawtext, label, refuri=uri)], []


def _language(config) -> str:
    # rnns_language is grader.site.language's ("zh" in the Chinese edition's build)
    return getattr(config, "rnns_language", "en") or "en"


def _student_edition(app, config):
    # The site is public: its buttons name the student edition, not repository.url (the
    # instructor's). The theme reads these options when the builder starts, after this.
    from grader.edition.config import student_edition
    from grader.edition.ways_in import substitutions

    # the Chinese edition is built from sources written elsewhere: it names the course's root
    root = Path(config.rnns_course_root or app.srcdir)
    edition = student_edition(root)
    config.html_theme_options = {**config.html_theme_options, "repository_url": edition.url,
                                 "repository_branch": edition.branch}
    config.myst_substitutions = {**(config.myst_substitutions or {}),
                                 **substitutions(root, "site", _language(config))}


def _note_lite(app, config):
    # A config value that Sphinx compares between builds: when the JupyterLite build
    # appears or goes, every page is written again with or without its button.
    config.rnns_lite_built = (Path(app.srcdir) / config.rnns_lite_dir / "notebooks" / "index.html").is_file()


def setup(app):
    app.setup_extension("grader.site.plan")  # the instructor guide, read again when the material changes
    app.add_config_value("rnns_lite_dir", "_build/lite", "html")
    # "env": the {lite} role is resolved when a page is read, so a change re-reads every page
    app.add_config_value("rnns_lite_built", False, "env")
    app.add_config_value("rnns_course_root", "", "html")
    app.connect("config-inited", _note_lite)
    app.connect("config-inited", _student_edition)
    app.add_role("lite", lite_role)
    app.connect("html-page-context", _rebuild_launch_menu, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
