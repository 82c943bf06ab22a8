# FlexPass: `make run` (embedded mode, nothing else needed) and `make test` (full mode).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DATABASE_URL_TEST ?= postgres://postgres@127.0.0.1:5432/flexpass
export REDIS_URL_TEST ?= redis://127.0.0.1:6379/0
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test up lint migrate seed bench clean help

help:
	@echo "make run   - the site in embedded mode on http://$(HOST):$(PORT) (SQLite, demo data)"
	@echo "make test  - the whole suite in full mode against PostgreSQL and Redis"
	@echo "make up    - web + worker + beat in full mode against local PostgreSQL/Redis"
	@echo "make lint  - ruff"
	@echo "make bench - the benchmarks in bench/ against a server started in full mode"

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

$(BIN)/.installed-dev: $(BIN)/.installed pyproject.toml
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

run: $(BIN)/.installed
	@mkdir -p var
	env -u DATABASE_URL -u REDIS_URL $(BIN)/python manage.py migrate --noinput -v0
	env -u DATABASE_URL -u REDIS_URL $(BIN)/python manage.py seed_demo
	@echo "FlexPass (embedded mode) on http://$(HOST):$(PORT)/  - Ctrl-C to stop"
	env -u DATABASE_URL -u REDIS_URL $(BIN)/daphne -b $(HOST) -p $(PORT) flexpass.asgi:application

test: $(BIN)/.installed-dev
	@DATABASE_URL=$${DATABASE_URL:-$(DATABASE_URL_TEST)} REDIS_URL=$${REDIS_URL:-$(REDIS_URL_TEST)} \
		$(BIN)/python scripts/check_services.py
	$(BIN)/ruff check .
	DATABASE_URL=$${DATABASE_URL:-$(DATABASE_URL_TEST)} REDIS_URL=$${REDIS_URL:-$(REDIS_URL_TEST)} \
		DJANGO_SETTINGS_MODULE=flexpass.settings.test \
		$(BIN)/python manage.py makemigrations --check --dry-run
	# Browser tests get their own pass: Playwright keeps an event loop running for
	# the whole session, which would break asyncio tests collected after it.
	DATABASE_URL=$${DATABASE_URL:-$(DATABASE_URL_TEST)} REDIS_URL=$${REDIS_URL:-$(REDIS_URL_TEST)} \
		$(BIN)/pytest -n 2 --dist loadgroup -m "not browser" $(PYTEST_ARGS)
	DATABASE_URL=$${DATABASE_URL:-$(DATABASE_URL_TEST)} REDIS_URL=$${REDIS_URL:-$(REDIS_URL_TEST)} \
		$(BIN)/pytest -n 2 --dist loadgroup -m browser $(PYTEST_ARGS)

up: $(BIN)/.installed
	DATABASE_URL=$${DATABASE_URL:-$(DATABASE_URL_TEST)} REDIS_URL=$${REDIS_URL:-$(REDIS_URL_TEST)} \
		DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-local-full-mode-secret-key-not-for-production} \
		DJANGO_SECURE=false WHITENOISE_USE_FINDERS=true \
		sh -c '$(BIN)/python manage.py migrate --noinput -v0 && $(BIN)/python manage.py seed_demo && $(BIN)/honcho start'

lint: $(BIN)/.installed-dev
	$(BIN)/ruff check .

bench: $(BIN)/.installed-dev
	$(BIN)/python bench/run.py

clean:
	rm -rf var/flexpass.sqlite3* var/staticfiles
