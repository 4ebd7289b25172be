# `make demo` and `make test` work on a fresh machine: each builds .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast lint typecheck schemas docs bench bench-quick bench-image image-python clean help lock

help:
	@echo "make demo   - run the validator on the embedded broker with sample claims"
	@echo "make test   - lint, type-check and run every test (what CI runs)"
	@echo "make test-fast - lint and the tests that need no broker (about two minutes)"

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

CHROMIUM := $(VENV)/.chromium

# Debian's chromium, for the test that renders `j9262 validate --report` in a browser.
$(CHROMIUM):
	@if ! command -v chromium >/dev/null; then \
	  echo "installing Debian's chromium package for the report test"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; \
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

# Two tiers (docs/testing.md): `test` is everything; `test-fast` leaves out the tests
# marked `integration` (a real broker and worker processes; all of tests/integration/).
# Hypothesis runs its `dev` profile unless HYPOTHESIS_PROFILE=ci or CI=true.
test: lint typecheck $(TOOLS) $(CHROMIUM)
	$(BIN)/pytest -q

test-fast: lint $(TOOLS)
	$(BIN)/pytest -q -m "not integration"

schemas: $(STAMP)
	$(BIN)/j9262 schemas export --dir schemas

# The benchmark behind BENCHMARKS.md (several minutes; bench-quick: under two).
bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py --json benchmarks/results.json

bench-quick: $(STAMP)
	$(BIN)/python benchmarks/bench.py --quick

# The same benchmark on CPython built as the image's base builds it (profile-guided and
# link-time optimized), so its figures are what the image runs: docs/performance/interpreter.md.
# The interpreter is built once into .cache/ (about 20 minutes on two cores).
IMAGE_PY   := .cache/image-python
IMAGE_VENV := .venv-image

image-python:
	sh benchmarks/image_python.sh $(IMAGE_PY) $(IMAGE_VENV)

bench-image: image-python
	$(IMAGE_VENV)/bin/python benchmarks/bench.py --json benchmarks/results-image.json

docs: $(STAMP)
	$(BIN)/j9262 edits --markdown > docs/rules.md
	$(BIN)/j9262 settings --markdown > docs/configuration.md

clean:
	rm -rf $(VENV) $(IMAGE_VENV) .cache .pytest_cache .mypy_cache .ruff_cache .j9262-data

# The container image's pinned, hashed dependencies (tests/deploy/test_lock.py checks them).
lock: $(STAMP)
	$(BIN)/pip-compile --quiet --no-emit-index-url --no-emit-find-links --allow-unsafe \
	  --extra=rocksdb --generate-hashes --strip-extras -o deploy/requirements.lock pyproject.toml
