# One obvious command each: run, test, lint, migrate, bench.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The console (Vue 3 + Element Plus), built by Vite from the npm lock (console/package-lock.json)
# into console/dist, which the platform serves; no CDN, nothing fetched at run time.
CONSOLE_STAMP := console/dist/.built
CONSOLE_SOURCES := $(shell find console/src -type f 2>/dev/null) console/index.html console/vite.config.js
# The mini-program's test tools (jest, miniprogram-simulate, ws), from miniprogram/package-lock.json.
MINIPROGRAM_STAMP := miniprogram/node_modules/.installed

# The suite runs against these real services first, then on the embedded default. Where no
# server answers at one of them, the suite starts a throwaway one itself (tests/throwaway.py).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: install console run test test-services test-embedded test-miniprogram test-console icons screenshots lint format migrate makemigrations bench clean staging staging-down smoke

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

console/node_modules/.installed: console/package.json console/package-lock.json
	cd console && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CONSOLE_STAMP): console/node_modules/.installed $(CONSOLE_SOURCES)
	cd console && npx vite build --logLevel warn
	touch $(CONSOLE_STAMP)

$(MINIPROGRAM_STAMP): miniprogram/package.json miniprogram/package-lock.json
	cd miniprogram && npm ci --no-audit --no-fund --loglevel=error
	touch $(MINIPROGRAM_STAMP)

install: $(STAMP) $(CONSOLE_STAMP) $(MINIPROGRAM_STAMP)

console: $(CONSOLE_STAMP)

run: $(STAMP) $(CONSOLE_STAMP)
	$(BIN)/b2bc run

test: test-services test-embedded test-miniprogram test-console

test-services: install
	B2BC_TEST_DATABASE_URL=$(TEST_DATABASE_URL) B2BC_TEST_REDIS_URL=$(TEST_REDIS_URL) \
		$(BIN)/pytest -p no:cacheprovider

test-embedded: install
	B2BC_TEST_DATABASE_URL=sqlite://:memory: B2BC_TEST_REDIS_URL=memory:// \
		$(BIN)/pytest -p no:cacheprovider

# The console's own unit tests (formatters) under Node's test runner; its pages are tested in a
# browser by pytest (tests/test_console_*.py).
test-console: console/node_modules/.installed
	cd console && npm test --silent

# The mini-program's jest suite: utils, pages and components (no server needed).
test-miniprogram: $(MINIPROGRAM_STAMP)
	cd miniprogram && npm test --silent

# The mini-program's tab bar icons and app icon, from the SVGs in miniprogram/tools/icons/svg
# (headless Chromium; commit the PNGs it writes).
icons:
	cd miniprogram && node tools/icons/render.js

# Every mini-program page (and the store owner's journey) as PNGs in test-artifacts/miniprogram/,
# rendered against the embedded demo it starts (or `make screenshots API=http://host:port`).
screenshots: $(STAMP) $(MINIPROGRAM_STAMP)
	cd miniprogram && B2BC_BIN=$(abspath $(BIN))/b2bc node tools/screenshots/run.js $(API)

lint: $(STAMP)
	$(BIN)/ruff check backend realtime tests bench deploy
	$(BIN)/ruff format --check backend realtime tests bench deploy
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix backend realtime tests bench deploy
	$(BIN)/ruff format backend realtime tests bench deploy

migrate: $(STAMP)
	$(BIN)/b2bc migrate

makemigrations: $(STAMP)
	$(BIN)/b2bc makemigrations

bench: $(STAMP)
	$(BIN)/python bench/auth_get.py
	$(BIN)/python bench/order_placement.py
	$(BIN)/python bench/notifications.py
	$(BIN)/python bench/promotion_quote.py
	$(BIN)/python bench/quote_promotions.py
	$(BIN)/python bench/display_neardup.py

# The staging fleet on this machine, in production mode behind nginx (deploy/staging/fleet.py:
# PostgreSQL database b2bc_staging and Redis db 3, both recreated; logs in .staging/logs),
# the smoke test that drives it only through nginx, and its teardown. docs/production.md.
staging: $(STAMP) $(CONSOLE_STAMP)
	$(BIN)/python deploy/staging/fleet.py up

smoke: $(STAMP)
	$(BIN)/python deploy/staging/smoke.py

staging-down:
	$(BIN)/python deploy/staging/fleet.py down

clean:
	rm -rf $(VENV) data test-artifacts console/node_modules console/dist
