"""Sphinx extension: the two editions of the book, English (site root) and Chinese (``zh/``).

On every page of either edition it puts a link, at the top of the article, to the same page
in the other language (``<a hreflang="zh-CN">中文</a>`` / ``<a hreflang="en">English</a>``),
and a ``<link rel="alternate" hreflang>`` in the head.  Page names correspond one to one, but
for the exercises, whose Chinese notebooks are ``<a>.zh.ipynb`` (:func:`other_page`).

In the Chinese edition it also points the launch menu (Binder, Colab, JupyterLite) of a
chapter and of its exercise at the Chinese notebook (instead of :mod:`grader.site.launch`,
which would point it at the English one): ``exercises/<a>/<a>.zh.ipynb`` of the student
edition, where ``python -m grader publish student`` puts it beside its English twin, and
``<a>.zh.ipynb`` in the site's one JupyterLite (``lite/``, beside ``zh/``).

Configuration (``_config.yml``, ``sphinx.config``): ``rnns_language`` (``"en"`` or ``"zh"``)
and ``rnns_editions`` (the editions built; the switch appears only when both are).  The
Chinese edition's configuration is written by ``python -m grader zh pages``.
"""
from __future__ import annotations

from html import escape
from pathlib import Path

from grader.site import launch

ZH_ROOT = "zh/"          # the Chinese edition, relative to the English site root
ZH_SUFFIX = ".zh"        # exercises/<a>/<a>  <->  exercises/<a>/<a>.zh
LABELS = {"en": ("English", "en", "Read this page in English"),
          "zh": ("中文", "zh-CN", "阅读本页的中文版")}


def other_page(pagename: str, language: str) -> str:
    """The name of ``pagename``'s counterpart in the other edition."""
    parts = pagename.split("/")
    if len(parts) == 3 and parts[0] == "exercises":
        if language == "en" and parts[2] == parts[1]:
            return pagename + ZH_SUFFIX
        if language == "zh" and parts[2] == parts[1] + ZH_SUFFIX:
            return pagename[: -len(ZH_SUFFIX)]
    return pagename


def other_url(pagename: str, language: str) -> str:
    """The relative URL, from ``pagename``'s HTML file, of its counterpart."""
    up = "../" * pagename.count("/")
    root = ZH_ROOT if language == "en" else "../"
    return f"{up}{root}{other_page(pagename, language)}.html"


def _switch(app, pagename, templatename, context, doctree):
    config = app.config
    language = config.rnns_language
    if "body" not in context or len(set(config.rnns_editions)) < 2:
        return
    other = "zh" if language == "en" else "en"
    text, hreflang, title = LABELS[other]
    url = other_url(pagename, language)
    link = (f'<nav class="rnns-language" aria-label="{escape(title)}">'
            f'<a href="{escape(url)}" hreflang="{hreflang}" lang="{hreflang}" '
            f'title="{escape(title)}">{escape(text)}</a></nav>\n')
    context["body"] = link + context["body"]
    context["metatags"] = context.get("metatags", "") + (
        f'\n<link rel="alternate" hreflang="{hreflang}" href="{escape(url)}" />')


def _zh_launch_menu(app, pagename, templatename, context, doctree):
    """The Chinese edition's launch menu opens the Chinese notebook."""
    if app.config.rnns_language != "zh":
        return
    buttons = context.get("header_buttons") or []
    menu = next((b for b in buttons if b.get("label") == "launch-buttons"), None)
    if menu is None:
        return
    parts = other_page(pagename, "zh").split("/")
    name = parts[1] if parts[0] in ("book", "exercises") and len(parts) >= 2 else None
    if name is None or not (Path(app.srcdir) / "exercises" / name / f"{name}{ZH_SUFFIX}.ipynb").is_file():
        buttons.remove(menu)
        return
    org, repo = context.get("github_user"), context.get("github_repo")
    options = app.config.html_theme_options
    lite_page = "../" * pagename.count("/") + "../" + launch.LITE_APP
    menu["tooltip"] = "打开本章的练习"
    menu["label"] = "launch-buttons-zh"   # rebuilt here: grader.site.launch leaves it alone
    menu["buttons"] = launch.launch_buttons(
        f"exercises/{name}/{name}{ZH_SUFFIX}.ipynb", org, repo,
        options.get("repository_branch") or "main",
        options.get("launch_buttons", {}).get("binderhub_url", ""),
        options.get("launch_buttons", {}).get("colab_url", ""),
        lite_page if app.config.rnns_lite_built else None)


def setup(app):
    app.add_config_value("rnns_language", "en", "html")
    app.add_config_value("rnns_editions", ["en"], "html")
    app.connect("html-page-context", _switch, priority=700)
    app.connect("html-page-context", _zh_launch_menu, priority=550)   # before launch.py's
    app.add_css_file("language.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
