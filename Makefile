# Two commands on a fresh machine: `make run` and `make test`. Set-up is shared and idempotent.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= config.toml

TORCH := torch==2.13.0

.PHONY: setup install run test lint demo screenshot clean

setup: $(STAMP)

# Torch is pinned and installed first: the local CPU wheel, not gigabytes of CUDA packages.
# pip is upgraded first because an old pip misses lxml's html-clean extra that trafilatura needs.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# For a server (the systemd recipe in README.md): the monitor and what it needs to run, copied
# into the venv (not linked to this checkout, which may change under a running service) and
# without the test tools. Run it again after updating the code.
install:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet .

run: setup
	$(BIN)/rumour-monitor --config $(CONFIG) init
	$(BIN)/rumour-monitor --config $(CONFIG) --log-level info run

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: setup lint
	$(BIN)/python -m pytest

demo: setup
	$(BIN)/rumour-monitor demo

# The README's picture of a rumour page: the demo's database in headless Chromium (the code
# path of tests/service/test_browser.py). Needs `apt-get install chromium`.
screenshot: setup
	rm -rf $(VENV)/screenshot-demo
	$(BIN)/rumour-monitor demo --keep $(VENV)/screenshot-demo >/dev/null
	PYTHONPATH=. $(BIN)/python -m tests.browser $(VENV)/screenshot-demo/demo.db /rumours/xiaomi-ev docs/rumour-page.png

clean:
	rm -rf $(VENV) state .mypy_cache .pytest_cache .ruff_cache
