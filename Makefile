# Two commands do everything on a fresh machine with Python 3.11:
#   make book   set up .venv, build the HTML book into _build/html
#   make test   set up .venv, run every test: unit + doctests, every notebook (nbval), the book build
#   make lab    set up .venv, open the book's notebooks in JupyterLab
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export KERAS_BACKEND := torch
export PYTHONHASHSEED := 0
export OMP_NUM_THREADS ?= 1

.PHONY: setup book test test-unit test-notebooks test-book test-browser chromium bench lab clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

# A notebook runs only when the cache lacks it (its code, the package or the pins changed):
# nbval runs those two at a time and caches them; the build then only renders.
book: setup
	$(BIN)/python -m tests.nbcache execute
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The book is in _build/html: open _build/html/index.html in a browser."

test: setup test-unit test-notebooks test-book test-browser

test-unit: setup
	$(BIN)/python -m pytest -n 2 tests lossbook --ignore=tests/browser

# Every notebook runs here, once, as a test; tests/nbcache.py caches each one that passes for the
# book build, prints the slowest ten and fails any that takes over 90 s.
test-notebooks: setup
	$(BIN)/python -m pytest -p tests.nbcache --nbval-lax -n 2 --dist loadfile --durations=10 book

# The build re-reads every page and renders what nbval executed (about 10 s for the whole book);
# it fails if it had to execute a notebook itself.
test-book: setup
	rm -rf _build/html _build/.doctrees && mkdir -p _build
	$(BIN)/jupyter-book build . -W -n --keep-going 2>&1 | tee _build/book.log
	test -f _build/html/index.html
	$(BIN)/python -m tests.nbcache check-log _build/book.log

# The browser check opens the built book in Debian's chromium (installed here when missing).
test-browser: setup chromium
	test -f _build/html/index.html || $(MAKE) test-book
	$(BIN)/python -m pytest tests/browser

chromium:
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# Speed of every loss against torch and Keras (not part of make test; see benchmarks/).
bench: setup
	$(BIN)/python benchmarks/bench_losses.py
	$(BIN)/python benchmarks/bench_losses.py --memory cold --sizes 1e6
	$(BIN)/python benchmarks/bench_losses.py --memory warm --sizes 1e6

# --allow-root: JupyterLab refuses root without it, and containers (and every machine here) run as root.
LAB_ARGS ?=
lab: setup
	$(BIN)/jupyter lab --allow-root $(LAB_ARGS) book/intro.md

clean:
	rm -rf _build
