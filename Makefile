# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast typecheck install lock build-deps system-deps conform bench clean

# Installs come from requirements.lock (exact versions with hashes), never from open ranges:
# the same commit installs the same libraries on every machine. `make lock` refreshes it.
$(STAMP): pyproject.toml requirements.lock
	@$(MAKE) --no-print-directory build-deps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

# Debian packages, installed only where missing (as root, with apt-get):
# - to build: ICU's headers for PyICU (rigour's name normalisation; PyPI has only its sdist);
# - to test: Debian's chromium for the browser tests (Playwright's own download does not work
#   here) and poppler-utils' pdftoppm to look at invoice PDFs as pictures.
BUILD_PACKAGES := $(if $(wildcard /usr/include/unicode/utypes.h),,libicu-dev) $(if $(shell command -v pkg-config),,pkg-config)
SYSTEM_PACKAGES := $(if $(wildcard /usr/bin/chromium),,chromium) $(if $(wildcard /usr/bin/pdftoppm),,poppler-utils)
APT_INSTALL = if [ -n "$(strip $(1))" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian packages: $(strip $(1))"; \
		apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1) >/dev/null; \
	fi

build-deps:
	@$(call APT_INSTALL,$(BUILD_PACKAGES))

system-deps:
	@$(call APT_INSTALL,$(SYSTEM_PACKAGES))

test: $(STAMP) system-deps typecheck
	$(BIN)/pytest -n 2 --timeout=600

# The unit tests alone, for the edit-test loop: the engine (tests/engine, the event rules), the
# simulator's units and the layer and lock checks, after the type check; no served HTTP, no
# PostgreSQL, no browser, no Dask cluster, no `ordinance` subprocess (marker `command`), nothing
# marked slow. `make test` runs everything.
FAST_TESTS := tests/engine tests/orchestration/test_engine_events.py tests/simulator \
	tests/test_layers.py tests/test_lock.py
FAST_SKIP := --ignore=tests/simulator/test_routes.py --ignore=tests/simulator/test_executors.py \
	--ignore=tests/simulator/test_report_browser.py
test-fast: $(STAMP) typecheck
	$(BIN)/pytest -n 2 --timeout=120 -m "not slow and not command and not postgres and not browser" \
		$(FAST_SKIP) $(FAST_TESTS)

# mypy --strict over all of engine/ (configured in pyproject.toml [tool.mypy]); a few seconds.
typecheck: $(STAMP)
	$(BIN)/mypy

run: $(STAMP)
	$(BIN)/ordinance serve --bootstrap

conform: $(STAMP)
	$(BIN)/python ../shared/tools/conform.py $(BIN)/ordinance ../shared/conformance

bench: $(STAMP)
	$(BIN)/python bench/engine.py

# Refreshes requirements.lock from pyproject.toml against PyPI alone (the machine's local
# indexes are ignored so the hashes are PyPI's), with pip-tools in a venv of its own. Review the
# diff, run `make test`, and commit both files together.
LOCK_VENV := .venv-lock
lock:
	test -x $(LOCK_VENV)/bin/pip-compile || ($(PYTHON) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/pip install --quiet pip-tools==7.6.2)
	PIP_CONFIG_FILE=/dev/null $(LOCK_VENV)/bin/pip-compile --quiet --upgrade --generate-hashes --allow-unsafe \
		--all-build-deps --extra dev --strip-extras --no-emit-index-url --no-emit-find-links \
		-o requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) $(LOCK_VENV) *.egg-info
