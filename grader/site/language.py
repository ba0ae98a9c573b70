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

In the Chinese edition it speaks Chinese around the pages too (``zh/interface.yml``, handed
over by :mod:`grader.translate.interface` as ``rnns_interface`` and gettext catalogues under
``locale_dirs``): it registers the book theme's catalogue before the theme does (it is the
first extension of that build), puts the search box's text in Chinese, and, once the pages
are written, the few attributes that templates write in English without asking gettext
(:func:`translate_attributes`).

Configuration (``_config.yml``, ``sphinx.config``): ``rnns_language`` (``"en"`` or ``"zh"``)
and ``rnns_editions`` (the editions built; the switch appears only when both are).  The
Chinese edition's configuration is written by ``python -m grader zh pages``.
"""
from __future__ import annotations

import re
import shutil
from html import escape, unescape
from pathlib import Path

from grader.site import launch

ZH_ROOT = "zh/"          # the Chinese edition, relative to the English site root
ZH_SUFFIX = ".zh"        # exercises/<a>/<a>  <->  exercises/<a>/<a>.zh
# the other edition's name in its own language; the tooltip for the reader of this page, who
# is most likely to read Chinese on either (an English reader needs no help to find "English")
LABELS = {"en": ("English", "en", "阅读本页的英文版"),
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


# The Chinese edition's interface text (zh/interface.yml, grader.translate.interface)

CATALOGUES = ("booktheme",)   # the theme's gettext domain; Sphinx's own reads locale_dirs


def _register_catalogues(app) -> None:
    """Our catalogues of the theme's domain, registered before the theme registers its own
    (this extension comes first in the Chinese build), so that ours win where both have a
    string and the theme's fill in the rest."""
    if not str(app.config.language or "").startswith("zh"):
        return
    for folder in app.config.locale_dirs or []:
        path = Path(app.srcdir) / folder
        if path.is_dir():
            for domain in CATALOGUES:
                app.add_message_catalog(domain, str(path))


def _search_text(app, config):
    table = config.rnns_interface or {}
    text = config.html_theme_options.get("search_bar_text")
    if text in table:
        config.html_theme_options = {**config.html_theme_options, "search_bar_text": table[text]}


_ATTRIBUTE = re.compile(r'(?<![\w-])(title|aria-label|alt|placeholder|data-bs-title)="([^"]*)"')


def translate_attributes(html: str, table: dict[str, str]) -> str:
    """``html`` with every interface attribute whose whole value is a key of ``table``
    (``title="Toggle primary sidebar"``) in Chinese: the strings that templates write
    without gettext."""
    def one(match: re.Match) -> str:
        chinese = table.get(unescape(match.group(2)))
        return match.group(0) if chinese is None else f'{match.group(1)}="{escape(chinese)}"'
    return _ATTRIBUTE.sub(one, html)


# the extensions' scripts that write HTML with English attributes (sphinx-togglebutton's
# button says aria-label="Toggle hidden content"; sphinx-copybutton has its own zh-CN)
SCRIPTS = ("_static/togglebutton.js",)


def _translate_pages(app, exception):
    table = app.config.rnns_interface or {}
    if exception is not None or not table or app.builder.format != "html":
        return
    out = Path(app.outdir)
    pages = [p for p in out.rglob("*.html")
             if not {"_static", "_sources", "_images"} & set(p.relative_to(out).parts)]
    for page in pages + [out / s for s in SCRIPTS if (out / s).is_file()]:
        text = page.read_text(encoding="utf-8")
        new = translate_attributes(text, table)
        if new != text:
            page.write_text(new, encoding="utf-8")


def _drop_own_mathjax(app, exception):
    """An edition that loads the site's MathJax (the Chinese one: ``mathjax_path``
    ``../../_static/mathjax/...``, :func:`grader.translate.pages.zh_config`) serves no copy of
    its own; Sphinx never empties ``_static``, so one that an earlier build copied would be
    published again with the edition (9.4 MB)."""
    path = str(app.config.mathjax_path or "")
    if exception is not None or app.config.rnns_language == "en" or not path.startswith("../"):
        return
    own = Path(app.outdir) / "_static" / Path(path).parent.name
    if own.name not in ("", "_static", "..") and own.is_dir() and not own.is_symlink():
        shutil.rmtree(own)


def setup(app):
    app.add_config_value("rnns_language", "en", "html")
    app.add_config_value("rnns_editions", ["en"], "html")
    app.add_config_value("rnns_interface", {}, "html")
    _register_catalogues(app)
    app.connect("config-inited", _search_text)
    app.connect("build-finished", _translate_pages)
    app.connect("build-finished", _drop_own_mathjax)
    app.connect("html-page-context", _switch, priority=700)
    app.connect("html-page-context", _zh_launch_menu, priority=550)   # before launch.py's
    app.add_css_file("language.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
