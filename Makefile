# RNNs from Scratch: `make book` builds the site, `make test` runs every test.
# Both bootstrap the virtual environment (.venv) from the pinned requirements.lock.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
# nbgrader starts `alembic` through PATH: the venv's bin/ must come first.
export PATH := $(BIN):$(PATH)
# Where the Penn Treebank files are; override with `make test RNNS_DATA_DIR=...`.
RNNS_DATA_DIR ?= $(abspath ../shared/data/ptb)
export RNNS_DATA_DIR
PYTEST_ARGS ?=

.PHONY: install mathjax lite-fetch lite pdf pdf-zh book book-zh test test-scale release release-check nbfmt clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# The site works offline: MathJax is served from the site itself, not from a CDN.
# `make book` fetches a pinned MathJax 4 and its default font (New Computer Modern, a
# separate npm package that MathJax would otherwise load from a CDN) from the npm registry
# (npm pack, checksums verified) into _build/vendor/mathjax, which _config.yml adds to
# html_static_path (and points MathJax's font path at: loader.paths.fonts). MathJax 4 breaks
# long display equations to the column's width, which version 3 could not.
MATHJAX_VERSION    := 4.1.3
MATHJAX_SHA256     := b7109f516f3d842de62b95d653e35fa0976dc223706a2a77440e7f7723f0c54d
MATHJAX_FONT       := mathjax-newcm-font
MATHJAX_FONT_SHA256 := 87d7b869c6a2a6169d9a53acc4eab6c846a9cbe11752738226461bb5070c8b88
MATHJAX_DIR        := _build/vendor/mathjax
MATHJAX_TMP        := _build/vendor/.tmp

mathjax: $(MATHJAX_DIR)/.v$(MATHJAX_VERSION)

$(MATHJAX_DIR)/.v$(MATHJAX_VERSION):
	@command -v npm >/dev/null || { echo "make book needs npm to fetch MathJax (apt-get install npm)" >&2; exit 1; }
	rm -rf $(MATHJAX_DIR) $(MATHJAX_TMP) && mkdir -p $(MATHJAX_TMP)/font
	cd $(MATHJAX_TMP) && npm pack --silent mathjax@$(MATHJAX_VERSION) @mathjax/$(MATHJAX_FONT)@$(MATHJAX_VERSION) >/dev/null \
	    || { echo "MathJax $(MATHJAX_VERSION) cannot be fetched from the npm registry (offline?): make book needs it once" >&2; exit 1; }
	printf '%s  %s\n' $(MATHJAX_SHA256) $(MATHJAX_TMP)/mathjax-$(MATHJAX_VERSION).tgz \
	    $(MATHJAX_FONT_SHA256) $(MATHJAX_TMP)/mathjax-$(MATHJAX_FONT)-$(MATHJAX_VERSION).tgz | sha256sum --check --quiet
	tar -xzf $(MATHJAX_TMP)/mathjax-$(MATHJAX_VERSION).tgz -C $(MATHJAX_TMP)
	tar -xzf $(MATHJAX_TMP)/mathjax-$(MATHJAX_FONT)-$(MATHJAX_VERSION).tgz -C $(MATHJAX_TMP)/font
	# The CommonHTML output with its TeX extensions, menu and accessibility parts (speech
	# rules for the menu's speech option); the font's CommonHTML data and web fonts.
	mkdir -p $(MATHJAX_DIR)/fonts/$(MATHJAX_FONT)
	cd $(MATHJAX_TMP)/package && cp -r LICENSE tex-mml-chtml.js input a11y ui sre $(CURDIR)/$(MATHJAX_DIR)/
	cd $(MATHJAX_TMP)/font/package && cp -r package.json chtml.js chtml $(CURDIR)/$(MATHJAX_DIR)/fonts/$(MATHJAX_FONT)/
	rm -rf $(MATHJAX_TMP)
	touch $@

# The exercises in the browser: JupyterLite with a Pyodide kernel, served under lite/.
# `make lite-fetch` fetches Pyodide's runtime from the npm registry and, from PyPI, the
# wheels of lite/browser-wheels.txt and the build tools of lite/requirements.txt (pinned,
# SHA-256 checked) into _build/lite-cache (not _build/vendor, which the site serves);
# `make lite` builds _build/lite from that cache only (offline) when an exercise, the kit
# or lite/ changed. `make book LITE=0` skips it.
LITE ?= 1
PYODIDE_VERSION := 0.27.7
PYODIDE_SHA256  := 89d5d952675eb08e11286e52c7238f1248ce71726e896db9703e73bef23dc343
LITE_CACHE      := _build/lite-cache
LITE_OFFLINE    := cannot be fetched (offline?): make book needs the registries once to fill $(LITE_CACHE), or build without the browser exercises: make book LITE=0

lite-fetch: $(LITE_CACHE)/.v$(PYODIDE_VERSION)

$(LITE_CACHE)/.v$(PYODIDE_VERSION): lite/requirements.txt lite/browser-wheels.txt | install
	@command -v npm >/dev/null || { echo "make lite needs npm to fetch Pyodide (apt-get install npm)" >&2; exit 1; }
	rm -rf $(LITE_CACHE) && mkdir -p $(LITE_CACHE)/wheels
	cd $(LITE_CACHE) && npm pack --silent pyodide@$(PYODIDE_VERSION) >/dev/null || { echo "pyodide@$(PYODIDE_VERSION) $(LITE_OFFLINE)" >&2; exit 1; }
	echo "$(PYODIDE_SHA256)  $(LITE_CACHE)/pyodide-$(PYODIDE_VERSION).tgz" | sha256sum --check --quiet
	$(BIN)/python -m pip download --quiet --no-deps --require-hashes -r lite/browser-wheels.txt -d $(LITE_CACHE)/wheels || { echo "the wheels of lite/browser-wheels.txt $(LITE_OFFLINE)" >&2; exit 1; }
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r lite/requirements.txt --target $(LITE_CACHE)/tools || { echo "the tools of lite/requirements.txt $(LITE_OFFLINE)" >&2; exit 1; }
	touch $@

LITE_INPUTS := $(wildcard exercises/*/*.ipynb zh/exercises/*/*.ipynb lite/*.json grader/site/lite.py grader/kit.py grader/*.py grader/cli/check.py grader/grading/selfcheck.py kit/pyproject.toml)
lite: _build/lite/.built

_build/lite/.built: $(LITE_CACHE)/.v$(PYODIDE_VERSION) $(LITE_INPUTS) | install
	$(BIN)/python -m grader lite --cache $(LITE_CACHE) --out _build/lite
	touch $@

# The PDF edition (`make pdf`; `make book` builds it first, so that every page's download menu
# links it, wherever Debian's Chromium is installed, as on CI; `make book PDF=0` skips it):
# the whole book as one page (jupyter-book's singlehtml
# builder, from the same execution cache as the site, so the same executed notebooks), printed
# by Debian's headless Chromium with the print stylesheet (book/_static/book.css) by
# `python -m grader pdf`, which fails if anything would not fit the paper. Built again only
# when the book's sources, its configuration or the printing code changed.
PDF ?= $(if $(wildcard /usr/bin/chromium),1,0)
PDF_OUT    := _build/pdf/rnns-from-scratch.pdf
PDF_INPUTS := $(wildcard _config.yml _toc.yml book/*.md book/*.bib book/_static/* book/results/* \
                exercises/*/*.ipynb grader/site/*.py grader/reference/*.py grader/cli/pdf.py)

pdf: $(PDF_OUT) $(PDF_ZH_OUT)

# The execution cache matches a page by its code alone; the figure module and the Chinese
# figure phrases change what a page's run stores (each figure's Chinese twin) without
# changing its code: when they change, the pages run again.
FIGURE_STAMP := _build/.figures-stamp
$(FIGURE_STAMP): grader/site/figures.py grader/translate/figures.py zh/outputs.yml
	rm -rf _build/.jupyter_cache _build/.doctrees _build/jupyter_execute
	mkdir -p _build && touch $@

$(PDF_OUT): $(PDF_INPUTS) $(FIGURE_STAMP) | install mathjax
	$(BIN)/jupyter-book build . --builder singlehtml -W --keep-going
	$(BIN)/python -m grader pdf --site _build/singlehtml --out $@

# The Chinese PDF edition (`make pdf-zh`; `make pdf` and `make book` build it with the English
# one, under the same condition): the Chinese edition's own sources (python -m grader zh
# pages, from the English build's executed notebooks, which the English PDF's build leaves in
# the execution cache) built as one page and printed by the same `python -m grader pdf`.
# Built again when the English inputs, the translations or the code writing them changed.
PDF_ZH_OUT    := _build/zh/rnns-from-scratch.zh.pdf
PDF_ZH_INPUTS := $(PDF_INPUTS) $(wildcard zh/*.yml zh/*/*.yml zh/exercises/*/*.ipynb \
                   grader/translate/*.py grader/i18n_zh.py)

pdf-zh: $(PDF_ZH_OUT)

$(PDF_ZH_OUT): $(PDF_ZH_INPUTS) | install mathjax $(PDF_OUT)
	$(BIN)/python -m grader zh pages --out _build/zh/src
	$(BIN)/jupyter-book build _build/zh/src --path-output _build/zh --builder singlehtml -W --keep-going
	@# its pages load the site's one MathJax (../_static/mathjax), which the printer serves here
	ln -sfn $(abspath $(MATHJAX_DIR)) _build/zh/_build/singlehtml/_static/mathjax
	$(BIN)/python -m grader pdf --site _build/zh/_build/singlehtml --out $@

# The student bundle is built first: the site links it (book/student_guide.md).
BOOK_DEPS := install mathjax $(FIGURE_STAMP) student-bundle $(if $(filter 1,$(LITE)),lite) $(if $(filter 1,$(PDF)),pdf)

# -W turns warnings (broken cross-references, notebook errors) into a failed build.
# The JupyterLite build is copied in afterwards (Sphinx would copy 60 MB on every build).
book: $(BOOK_DEPS)
	$(if $(filter 1,$(PDF)),,@echo "make book: no PDF edition (English or Chinese) in this build (PDF=0, or no /usr/bin/chromium: apt-get install chromium chromium-driver)")
	$(BIN)/jupyter-book build . -W --keep-going
	rm -rf _build/html/lite
	$(if $(filter 1,$(LITE)),cp -r _build/lite _build/html/lite && rm -f _build/html/lite/.built)
	# The pages link the PDF whenever it exists (grader/site/pdf.py): so is it served.
	if [ -f $(PDF_OUT) ]; then cp $(PDF_OUT) _build/html/; else rm -f _build/html/rnns-from-scratch.pdf; fi
	$(MAKE) --no-print-directory book-zh

# The Chinese edition (中文版), served under zh/: its sources are written from the English
# pages, the English build's executed notebooks and the translations in zh/ (nothing is
# executed again), then built like the English book (python -m grader zh --help).
# With PDF=1 (as in make book) the Chinese PDF is built first, so that its pages link it.
book-zh: install $(if $(filter 1,$(PDF)),pdf-zh)
	$(if $(filter 1,$(PDF)),,@echo "make book-zh: no Chinese PDF edition in this build (PDF=0, or no /usr/bin/chromium: apt-get install chromium chromium-driver)")
	$(BIN)/python -m grader zh pages --out _build/zh/src
	$(BIN)/jupyter-book build _build/zh/src --path-output _build/zh -W --keep-going
	rm -rf _build/html/zh && cp -r _build/zh/_build/html _build/html/zh
	# Its pages link the Chinese PDF whenever it exists (grader/site/pdf.py): so is it served.
	if [ -f $(PDF_ZH_OUT) ]; then cp $(PDF_ZH_OUT) _build/html/zh/; fi

test: book
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

# Issue 15's class at full size: 60 submissions per chapter graded on this machine and on a
# local Dask cluster (tests/test_scripted_class.py; `make test` grades the small class).
test-scale: install
	$(BIN)/python -m pytest -m scale tests/test_scripted_class.py $(PYTEST_ARGS)

release: install
	$(BIN)/python -m grader release

release-check: install
	$(BIN)/python -m grader release --check

nbfmt: install
	$(BIN)/python -m grader nbfmt

clean:
	rm -rf _build $(VENV)

# The zip students download: the student edition (python -m grader publish student) as one file, audited.
.PHONY: student-bundle
student-bundle: install
	$(BIN)/python -m grader bundle --out dist/rnns-from-scratch-student.zip
