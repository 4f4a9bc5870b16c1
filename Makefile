# Two commands matter: `make run` and `make test`. Everything else supports them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app wsgi
# `make run` serves on 127.0.0.1:5000; FLASK_RUN_PORT (or PORT=...) picks another port.
PORT ?= $(or $(FLASK_RUN_PORT),5000)
# Debian packages WeasyPrint loads at run time: pango for text layout, harfbuzz-subset for font subsetting;
# DejaVu Sans, the PDF reports' font for every script Atkinson Hyperlegible lacks; poppler-utils (pdftotext,
# pdftoppm) for the report tests.
DEB_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core poppler-utils
TRANSLATIONS := survey_app/translations
MO_FILES := $(patsubst %.po,%.mo,$(wildcard $(TRANSLATIONS)/*/LC_MESSAGES/messages.po))

.PHONY: help install system-deps browser-deps run test lint format typecheck bench reliability translations clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: system-deps $(STAMP) $(MO_FILES) ## create .venv, install the locked dependencies, compile translations

system-deps: ## install WeasyPrint's Debian libraries, the report fonts and poppler if they are missing
	@command -v dpkg >/dev/null || { echo "Not Debian: make sure pango and harfbuzz are installed."; exit 0; }; \
	missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo"; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

browser-deps: ## install Debian's Chromium for the browser tests if it is missing
	@test -x /usr/bin/chromium && exit 0; \
	command -v apt-get >/dev/null || { echo "Not Debian: install Chromium at /usr/bin/chromium for the browser tests."; exit 1; }; \
	echo "Installing Debian package: chromium"; \
	SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo"; \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	@touch $@

$(MO_FILES): %.mo: %.po
	$(BIN)/pybabel compile --use-fuzzy --statistics -i $< -o $@

run: install ## migrate, load questionnaires and demo data (once), serve on http://127.0.0.1:5000 (PORT=...)
	$(FLASK) db upgrade
	$(FLASK) questionnaires load
	$(FLASK) demo seed --if-empty
	@creds="$${SURVEY_INSTANCE_PATH:-instance}/demo-credentials.txt"; \
	if [ -f "$$creds" ]; then echo; cat "$$creds"; echo; fi
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

test: install browser-deps ## run the whole suite (PostgreSQL too when TEST_DATABASE_URL is set)
	$(BIN)/pytest

lint: install ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install ## mypy (strict on domain/ and services/; bench/ too)
	$(BIN)/mypy

translations: install ## extract interface texts and update the nl and fr catalogues (then translate the .po files)
	$(BIN)/pybabel extract --no-location --sort-by-file -F $(TRANSLATIONS)/babel.cfg -o $(TRANSLATIONS)/messages.pot .
	$(BIN)/pybabel update --no-fuzzy-matching -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS)

bench: install ## run every benchmark in bench/ and write bench/results.json (QUICK=1 for small runs)
	$(BIN)/python -m bench.run $(if $(QUICK),--quick,)

reliability: install ## fault and load runs on 127.0.0.1 (15-20 min; QUICK=1 for short runs; disk-full needs root)
	$(BIN)/python -m bench.reliability $(if $(QUICK),--quick,)

clean: ## remove the virtualenv and caches (keeps instance/)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
