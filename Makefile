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

.PHONY: install mathjax book test release release-check nbfmt clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# The site works offline: MathJax is served from the site itself, not from a CDN.
# `make book` fetches a pinned MathJax 3 from the npm registry (npm pack, checksum
# verified) into _build/vendor/mathjax, which _config.yml adds to html_static_path.
MATHJAX_VERSION := 3.2.2
MATHJAX_SHA256  := 1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09
MATHJAX_DIR     := _build/vendor/mathjax

mathjax: $(MATHJAX_DIR)/.v$(MATHJAX_VERSION)

$(MATHJAX_DIR)/.v$(MATHJAX_VERSION):
	@command -v npm >/dev/null || { echo "make book needs npm to fetch MathJax (apt-get install npm)" >&2; exit 1; }
	rm -rf $(MATHJAX_DIR) _build/vendor/.tmp && mkdir -p _build/vendor/.tmp
	cd _build/vendor/.tmp && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null
	echo "$(MATHJAX_SHA256)  _build/vendor/.tmp/mathjax-$(MATHJAX_VERSION).tgz" | sha256sum --check --quiet
	tar -xzf _build/vendor/.tmp/mathjax-$(MATHJAX_VERSION).tgz -C _build/vendor/.tmp
	# Only what the CommonHTML output needs (with its menu, accessibility and TeX extensions).
	mkdir -p $(MATHJAX_DIR)/output
	cd _build/vendor/.tmp/package && cp -r LICENSE es5/tex-mml-chtml.js es5/input es5/a11y es5/ui es5/sre es5/adaptors $(CURDIR)/$(MATHJAX_DIR)/
	cp -r _build/vendor/.tmp/package/es5/output/chtml $(MATHJAX_DIR)/output/
	rm -rf _build/vendor/.tmp
	touch $@

# -W turns warnings (broken cross-references, notebook errors) into a failed build.
book: install mathjax
	$(BIN)/jupyter-book build . -W --keep-going

test: book
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

release: install
	$(BIN)/python -m grader release

release-check: install
	$(BIN)/python -m grader release --check

nbfmt: install
	$(BIN)/python -m grader nbfmt

clean:
	rm -rf _build $(VENV)

# The zip students download: exercises/ and the self-check tool (python -m grader check), audited.
.PHONY: student-bundle
student-bundle: install
	$(BIN)/python -m grader bundle --out dist/rnns-from-scratch-student.zip
