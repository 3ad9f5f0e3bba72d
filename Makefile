# Charla: `make run` for a working portal, `make test` for the suite, `make lint` for the checks.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# Settings default to production; these targets opt into development (DEBUG, a key kept in var/secret_key).
EMBEDDED := $(PY) scripts/embedded_env.py

.PHONY: install run test lint format migrate demo bench clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# Chart.js for the reports comes from the npm registry, pinned by package-lock.json; WhiteNoise serves its
# dist folder (portal/settings.py STATICFILES_DIRS). node_modules is never committed.
node_modules/.installed: package.json package-lock.json
	npm ci --prefer-offline --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed

migrate: install
	$(EMBEDDED) manage.py migrate --noinput

demo: migrate
	@echo "Demo logins (one per role):"
	@$(EMBEDDED) manage.py seed_demo

run: demo
	@# run_embedded prints the URL and the logins again once web, worker and beat are up.
	PORT=$(PORT) $(EMBEDDED) scripts/run_embedded.py

test: install
	$(PY) scripts/run_tests.py $(ARGS)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(EMBEDDED) manage.py makemigrations --check --dry-run

format: install
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: install
	$(PY) bench/chat.py
	$(PY) bench/campaign.py

clean:
	rm -rf var staticfiles .pytest_cache .ruff_cache node_modules
