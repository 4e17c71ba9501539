# Developer loop: the same commands locally and in CI.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint typecheck pytest uitest ui-schema screenshots clean

UI_STAMP := ui/node_modules/.installed
UI_BUILD := src/cronium/web/dist/index.html
UI_SOURCES := $(shell find ui/src ui/public -type f 2>/dev/null) ui/index.html ui/vite.config.ts ui/tsconfig.json

install: $(STAMP) $(UI_BUILD)

# the web UI: npm ci from the committed lockfile, then the Vite build into the package
$(UI_STAMP): ui/package.json ui/package-lock.json
	@command -v npm >/dev/null 2>&1 || ./scripts/install-system-packages nodejs npm
	cd ui && npm ci --no-audit --no-fund
	@touch $(UI_STAMP)

$(UI_BUILD): $(UI_STAMP) $(UI_SOURCES)
	cd ui && npm run build

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed: $$($(PYTHON) --version 2>&1)"; exit 1; }
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || ./scripts/install-system-packages python3-venv
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: install
	@VENV=$(VENV) ./scripts/prepare-machine run
	$(BIN)/cronium server

lint: install
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench

typecheck: install
	$(BIN)/mypy src bench
	cd src/cronium/helpers/python && $(abspath $(BIN))/mypy --strict --no-site-packages cronium

pytest: install
	@VENV=$(VENV) ./scripts/prepare-machine test
	$(BIN)/pytest

uitest: $(UI_STAMP)
	cd ui && npm test

# the web UI's types of the API, after a change of the API
ui-schema: $(STAMP) $(UI_STAMP)
	$(BIN)/python scripts/openapi-schema > ui/openapi.json
	cd ui && npx openapi-typescript openapi.json -o src/lib/schema.d.ts && rm openapi.json

# the screenshots in docs/screenshots, taken by the web UI's end-to-end tests
screenshots: install
	@VENV=$(VENV) ./scripts/prepare-machine test
	CRONIUM_SCREENSHOTS=$(abspath docs/screenshots) $(BIN)/pytest tests/ui

test: lint typecheck uitest pytest

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache ui/node_modules src/cronium/web/dist
