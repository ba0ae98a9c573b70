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

.PHONY: install book test release release-check nbfmt clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# -W turns warnings (broken cross-references, notebook errors) into a failed build.
book: install
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
