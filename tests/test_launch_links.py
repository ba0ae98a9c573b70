"""Every launch and download link of the built site opens something that exists.

The site (``_build/html``) is parsed, not trusted: each Colab link is mapped back to a path
of the repository it names (``/github/<org>/<repo>/blob/<branch>/<path>``), each Binder link
too (``/v2/gh/<org>/<repo>/<branch>?urlpath=lab/tree/<path>``), and that repository must be
the student edition of ``_config.yml`` (``student_edition``, the only place its address is
written) and the path a file of the edition as ``python -m grader publish student`` writes
it.  Each JupyterLite link must open a notebook that the site's JupyterLite serves, and each
download a file of the site.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import yaml
from edition_helpers import published_edition

from grader.edition.audit import problems
from grader.edition.config import instructor_repository, student_edition
from grader.release import assignments

ROOT = Path(__file__).resolve().parent.parent
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
EDITION = student_edition(ROOT)
ORG, REPO, BRANCH = EDITION.org, EDITION.repo, EDITION.branch
COLAB = CONFIG["launch_buttons"]["colab_url"].rstrip("/")
BINDER = CONFIG["launch_buttons"]["binderhub_url"].rstrip("/")
DOWNLOAD_SUFFIXES = (".ipynb", ".md", ".zip", ".pdf", ".py", ".txt")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs += [v for k, v in attrs if k == "href" and v]


def site_links(site: Path) -> dict[str, list[str]]:
    """Page (path in the site) -> every ``<a href>`` on it; JupyterLite's own pages excluded."""
    links = {}
    for page in sorted(site.rglob("*.html")):
        rel = page.relative_to(site)
        if rel.parts[0] in ("_static", "lite"):
            continue
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        links[rel.as_posix()] = parser.hrefs
    return links


def repo_path_of_colab(url: str) -> str:
    match = re.fullmatch(rf"{re.escape(COLAB)}/github/([^/]+)/([^/]+)/blob/([^/]+)/(.+)", url)
    assert match, f"not a Colab GitHub link: {url}"
    org, repo, branch, path = match.groups()
    assert (org, repo, branch) == (ORG, REPO, BRANCH), f"{url} names another repository or branch"
    return unquote(path)


def repo_path_of_binder(url: str) -> str:
    parts = urlsplit(url)
    match = re.fullmatch(r"/v2/gh/([^/]+)/([^/]+)/([^/]+)", parts.path)
    assert url.startswith(BINDER + "/") and match, f"not a Binder GitHub link: {url}"
    assert match.groups() == (ORG, REPO, BRANCH), f"{url} names another repository or branch"
    query = parse_qs(parts.query)
    if "filepath" in query:
        return query["filepath"][0]
    (urlpath,) = query["urlpath"]
    assert urlpath.startswith(("lab/tree/", "tree/")), f"{url}: urlpath {urlpath!r}"
    return urlpath.split("tree/", 1)[1]


def check_link(site: Path, page: str, href: str, edition: Path) -> tuple[str, str] | None:
    """(kind, what it opens) for a launch or download link, after checking that it exists
    (Colab and Binder: in the published student edition, ``edition``); None for any other
    link."""
    if href.startswith(COLAB + "/"):
        path = repo_path_of_colab(href)
        assert (edition / path).is_file(), f"{page}: Colab opens {path}, which is not in the student edition"
        assert path.endswith(".ipynb"), f"{page}: Colab cannot open {path}"
        return "colab", path
    if href.startswith(BINDER + "/"):
        path = repo_path_of_binder(href)
        assert (edition / path).is_file(), f"{page}: Binder opens {path}, which is not in the student edition"
        assert path.endswith(".ipynb"), f"{page}: Binder should open a notebook, not {path}"
        return "binder", path
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    target = (site / page).parent / unquote(parts.path)
    inside = target.resolve().relative_to(site.resolve()).as_posix()
    # the site has one JupyterLite, at its root: a page of the Chinese edition (under zh/)
    # that counts its way up one folder short would link to zh/lite/, which does not exist
    if "lite" in inside.split("/")[:-1]:
        assert inside.startswith("lite/"), f"{page}: links {inside}, not the site's JupyterLite (lite/)"
        assert target.is_file(), f"{page}: JupyterLite link to missing {inside}"
        (notebook,) = parse_qs(parts.query)["path"]
        assert (site / "lite" / "files" / notebook).is_file(), \
            f"{page}: JupyterLite opens {notebook}, which the site's JupyterLite does not serve"
        return "jupyterlite", notebook
    if "_downloads/" in href or "_sources/" in href or inside.endswith(DOWNLOAD_SUFFIXES):
        assert target.is_file(), f"{page}: download link to missing {inside}"
        return "download", inside
    assert target.exists(), f"{page}: links {inside}, which the site does not have"
    return None


@pytest.mark.book
def test_every_launch_and_download_link_resolves(site, tmp_path_factory):
    edition = published_edition(tmp_path_factory)
    found: dict[str, dict[str, set[str]]] = {}
    broken = []
    for page, hrefs in site_links(site).items():
        for href in hrefs:
            try:
                result = check_link(site, page, href, edition)
            except (AssertionError, KeyError, ValueError) as exc:
                broken.append(f"{page}: {href}: {exc}")
                continue
            if result:
                found.setdefault(page, {}).setdefault(result[0], set()).add(result[1])
    assert broken == [], "\n".join(broken)

    # Each chapter page and its exercise page launch that exercise, nothing else.
    for name in assignments():
        notebook = f"exercises/{name}/{name}.ipynb"
        for page in (f"book/{name}.html", f"exercises/{name}/{name}.html"):
            kinds = found.get(page, {})
            assert kinds.get("colab") == {notebook}, f"{page}: Colab opens {kinds.get('colab')}"
            assert kinds.get("binder") == {notebook}, f"{page}: Binder opens {kinds.get('binder')}"
            if (site / "lite").is_dir():
                assert kinds.get("jupyterlite") == {f"{name}.ipynb"}, f"{page}: {kinds}"
    # The Chinese edition's open the Chinese notebook: on Colab and Binder from the student
    # edition, which holds it beside its English twin; in the site's one JupyterLite.
    if (site / "zh").is_dir():
        for name in assignments():
            notebook = f"exercises/{name}/{name}.zh.ipynb"
            for page in (f"zh/book/{name}.html", f"zh/exercises/{name}/{name}.zh.html"):
                kinds = found.get(page, {})
                assert kinds.get("colab") == {notebook}, f"{page}: Colab opens {kinds.get('colab')}"
                assert kinds.get("binder") == {notebook}, f"{page}: Binder opens {kinds.get('binder')}"
                if (site / "lite").is_dir():
                    assert kinds.get("jupyterlite") == {f"{name}.zh.ipynb"}, f"{page}: {kinds}"
            # the chapter's download link gives the Chinese notebook
            downloads = found.get(f"zh/book/{name}.html", {}).get("download", set())
            assert any(d.endswith(f"/{name}.zh.ipynb") for d in downloads), downloads
        # the student guide's JupyterLite links open the Chinese notebooks
        opened = found.get("zh/book/student_guide.html", {}).get("jupyterlite", set())
        if (site / "lite").is_dir():
            assert opened == {f"{n}.zh.ipynb" for n in assignments()}, opened
    # No page other than those launches anything (the landing page has no launch menu).
    launching = {p for p, kinds in found.items() if {"colab", "binder"} & set(kinds)}
    assert launching <= {page for n in assignments() for page in (
        f"book/{n}.html", f"exercises/{n}/{n}.html", f"zh/book/{n}.html", f"zh/exercises/{n}/{n}.zh.html")}
    assert sum("download" in kinds for kinds in found.values()) >= len(assignments())


def test_a_chinese_page_that_links_a_jupyterlite_of_its_own_is_caught(tmp_path):
    """The Chinese edition is served under zh/ and the site has one JupyterLite, at its root:
    a link from zh/book/ that climbs one folder too few reaches zh/lite/ (a 404)."""
    site = tmp_path / "html"
    (site / "lite" / "notebooks").mkdir(parents=True)
    (site / "lite" / "notebooks" / "index.html").write_text("<html></html>")
    (site / "lite" / "files").mkdir()
    (site / "lite" / "files" / "01_rnn_by_hand.zh.ipynb").write_text("{}")
    (site / "zh" / "book").mkdir(parents=True)
    page = "zh/book/student_guide.html"
    good = "../../lite/notebooks/index.html?path=01_rnn_by_hand.zh.ipynb"
    assert check_link(site, page, good, tmp_path) == ("jupyterlite", "01_rnn_by_hand.zh.ipynb")
    for wrong in ("../lite/notebooks/index.html?path=01_rnn_by_hand.zh.ipynb",       # zh/lite/
                  "../../lite/notebooks/index.html?path=01_rnn_by_hand.fr.ipynb",    # not served
                  "../02_hmm_dice.html"):                                           # no such page
        with pytest.raises(AssertionError):
            check_link(site, page, wrong, tmp_path)


@pytest.mark.book
def test_the_site_links_the_student_bundle_and_it_holds_no_solution(site):
    guide = site / "book" / "student_guide.html"
    parser = _Links()
    parser.feed(guide.read_text(encoding="utf-8"))
    zips = [h for h in parser.hrefs if h.endswith("rnns-from-scratch-student.zip")]
    assert zips, "the student guide does not link the student bundle"
    data = (guide.parent / unquote(zips[0])).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        contents = {name.split("/", 1)[1]: zf.read(name) for name in zf.namelist()}
    assert problems(contents, ROOT) == []
    for name in assignments():
        assert f"exercises/{name}/{name}.ipynb" in contents
    assert "kit/grader/checks.py" in contents


@pytest.mark.book
def test_the_site_names_the_student_edition_and_never_the_instructors_repository(site):
    """The repository and issue buttons of every page, and every launch, name the student
    edition; the instructor's repository (which may be private) is named nowhere."""
    instructor = instructor_repository(ROOT)
    pages = [p for p in sorted(site.rglob("*.html")) if p.relative_to(site).parts[0] not in ("_static", "lite")]
    assert pages
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not re.search(re.escape(instructor) + r"(?![\w.-])", text), page
    intro = (site / "book" / "intro.html").read_text(encoding="utf-8")
    assert f'href="{EDITION.url}"' in intro, "the repository button does not name the student edition"
    assert f"{EDITION.url}/issues/new" in intro, "the issue button does not name the student edition"


def test_every_repository_address_is_the_configured_one():
    """What students read names the student edition, written in _config.yml; only the
    instructor's README also names the instructor's repository."""
    github = re.compile(r"github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?(?=[/#\"'\s)`>@]|$)")
    files = [*sorted((ROOT / "binder").iterdir()), *sorted((ROOT / "book").glob("*.md")),
             *sorted((ROOT / "exercises").glob("*/*.ipynb")), *sorted((ROOT / "kit").glob("*"))]
    instructor = urlsplit(instructor_repository(ROOT)).path.strip("/").split("/")
    wrong = {}
    for path in [ROOT / "README.md", *files]:
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        allowed = {(ORG, REPO)} | ({tuple(instructor)} if path.name == "README.md" else set())
        others = {m.group(0) for m in github.finditer(text) if m.groups() not in allowed}
        # Links to other projects' own repositories (citations, tools) are not ours to check.
        others = {o for o in others if REPO in o or ORG in o}
        if others:
            wrong[str(path.relative_to(ROOT))] = sorted(others)
    assert wrong == {}, f"repository addresses other than {EDITION.url}: {wrong}"


def test_binder_installs_the_kit_and_what_the_exercises_import():
    requirements = (ROOT / "binder" / "requirements.txt").read_text()
    pins = dict(re.findall(r"^([\w.-]+)==(\S+)", requirements, re.MULTILINE))
    assert {"numpy", "jupyterlab"} <= set(pins)
    lock = dict(re.findall(r"^([\w.-]+)==(\S+)", (ROOT / "requirements.lock").read_text(), re.MULTILINE))
    assert pins["numpy"] == lock["numpy"], "Binder's NumPy is not the course's"
    post_build = (ROOT / "binder" / "postBuild").read_text()
    assert "pip install" in post_build and "./kit" in post_build
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.12"
    assert (ROOT / "binder" / "postBuild").stat().st_mode & 0o111, "postBuild must be executable"
    assert (ROOT / "kit" / "pyproject.toml").is_file()
    import sys

    imports = set()
    for notebook in sorted((ROOT / "exercises").glob("*/*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            if cell["cell_type"] == "code":
                source = "".join(cell["source"])
                imports |= set(re.findall(r"^\s*(?:from|import)\s+(\w+)", source, re.MULTILINE))
    unknown = imports - set(sys.stdlib_module_names) - {"numpy", "grader", "google", "IPython"}
    assert unknown == set(), f"the exercises import {unknown}, which binder/ does not install"
