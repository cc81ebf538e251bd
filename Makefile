# `make run` and `make test` work on a fresh machine: both create .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
MAGAZINE_PORT ?= 8001
AUCTION_PORT ?= 8002

.PHONY: install run test lint types contracts pytest fuzz bench format clean browser audit screenshots

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml sdk/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e './sdk[x402,mpp,gate]'
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

run: install
	$(BIN)/obolo serve --host $(HOST) --port $(PORT) --demo --magazine-port $(MAGAZINE_PORT) --auction-port $(AUCTION_PORT)

test: install lint types contracts pytest

lint: install
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts

types: install
	$(BIN)/mypy

contracts: install
	$(BIN)/lint-imports

pytest: install browser
	$(BIN)/pytest -q -n auto --durations=30 -m 'not long'

# widget: the browser tests drive Debian's chromium; installed here when running as root
# with apt, else those tests skip with one line saying why. The accessibility test also
# needs axe-core, fetched once with npm into .cache/axe (git-ignored).
AXE_VERSION ?= 4.14.1
AXE := .cache/axe/node_modules/axe-core/axe.min.js
browser:
	@command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null) \
	      || echo "chromium could not be installed: the browser tests will skip"; \
	  else echo "no chromium and not root: the browser tests will skip"; fi; }
	@[ -f $(AXE) ] || { command -v npm >/dev/null 2>&1 \
	  && npm install --silent --no-save --no-audit --no-fund --prefix .cache/axe axe-core@$(AXE_VERSION) >/dev/null \
	  || echo "axe-core could not be fetched with npm: the accessibility test will skip"; }

fuzz: install
	OBOLO_FUZZ=1 $(BIN)/pytest -q -m 'slow or long' tests --hypothesis-seed=random

# security: known vulnerabilities in the installed dependencies (PyPI's advisory data, so it
# needs the network; --strict fails when a dependency could not be checked at all).
audit: install
	$(BIN)/pip-audit --strict --skip-editable --progress-spinner off

bench: install
	$(BIN)/obolo bench ledger

# pictures of every page (English and Italian, desktop and phone) from a fresh demo server
# (the checkout, payment handler and auction pictures come from their browser tests)
screenshots: install browser
	$(BIN)/python scripts/screenshots.py docs/screenshots
	OBOLO_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q -p no:cacheprovider \
	    tests/e2e/test_checkout_browser.py tests/e2e/test_auction_browser.py

format: install
	$(BIN)/ruff format src tests scripts
	$(BIN)/ruff check --fix src tests scripts

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis obolo.db*
