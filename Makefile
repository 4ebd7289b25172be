# `make demo` and `make test` work on a fresh machine: each builds .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck schemas docs bench bench-quick clean help lock

help:
	@echo "make demo   - run the validator on the embedded broker with sample claims"
	@echo "make test   - lint, type-check and run every test"

SUDO   := $(shell if [ "$$(id -u)" -ne 0 ]; then echo sudo; fi)
TOOLS  := $(VENV)/.tools

# Prometheus and promtool from Debian, for the monitoring tests.
$(TOOLS):
	@if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then \
	  echo "installing Debian's prometheus package (promtool) for the monitoring tests"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq prometheus >/dev/null; \
	fi
	@mkdir -p $(VENV) && touch $@

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/j9262 demo

lint: $(STAMP)
	$(BIN)/ruff check streams tests benchmarks
	$(BIN)/ruff format --check streams tests benchmarks
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck $(TOOLS)
	$(BIN)/pytest -q

schemas: $(STAMP)
	$(BIN)/j9262 schemas export --dir schemas

# The benchmark behind BENCHMARKS.md (several minutes; bench-quick: under two).
bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py --json benchmarks/results.json

bench-quick: $(STAMP)
	$(BIN)/python benchmarks/bench.py --quick

docs: $(STAMP)
	$(BIN)/j9262 edits --markdown > docs/rules.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .j9262-data

# The container image's pinned, hashed dependencies (tests/deploy/test_lock.py checks them).
lock: $(STAMP)
	$(BIN)/pip-compile --quiet --no-emit-index-url --no-emit-find-links --allow-unsafe \
	  --extra=rocksdb --generate-hashes --strip-extras -o deploy/requirements.lock pyproject.toml
