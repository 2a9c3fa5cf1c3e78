# speaking-coach: the commands a developer and CI need. `make help` lists them.
#
# Everything bootstraps itself on a fresh clone: the virtualenv (.venv, reinstalled only
# when a requirements file changes), firebase-tools (node_modules, from package-lock.json)
# and a check of the system prerequisites (Java, gcloud emulators, Node), which installs the
# missing Debian packages when run as root.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
REQUIREMENTS_STAMP := $(VENV)/.requirements-installed
# checkov (the Terraform security checks in `make test`) pins packaging and boto3 below what
# our own pins need, so it lives in a virtualenv of its own that the tests call.
TOOLS_VENV := .venv-tools
TOOLS_STAMP := $(TOOLS_VENV)/.requirements-installed
NODE_STAMP := node_modules/.package-lock.json

# Extra arguments: `make run ARGS=--free-ports`, `make test PYTEST_ARGS="-k stack -x"`.
ARGS ?=
PYTEST_ARGS ?=

.PHONY: help setup prereqs run test unit lint fmt settings-table clean-local

help:
	@echo "make run     start the local stack (emulators + every function on :8080); Ctrl-C stops it"
	@echo "make test    lint, then every test (unit, integration, e2e) in one pytest run"
	@echo "make unit    unit tests only (no emulators)"
	@echo "make lint    ruff check, ruff format --check, mypy"
	@echo "make fmt     fix what ruff can fix and format the code"
	@echo "make settings-table  regenerate README.md's configuration table from Settings"
	@echo "make openapi regenerate docs/openapi.json from the routes and models (a test checks it)"
	@echo "make api-fuzz  schemathesis against docs/openapi.json on a running stack (make run)"
	@echo "make setup   create .venv and install node_modules (done by the targets above)"
	@echo "make demo    a scripted learner takes a full mock test over HTTP (ARGS=\"--level 5\")"
	@echo "make bench-turns  per-turn server time by stage at 1 and 20 learners"
	@echo "make clean-local  delete the local stack's data (.local/)"

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "Python 3.11+ is needed as '$(PYTHON)' (found: $$($(PYTHON) --version 2>&1))."; \
	  echo "  install: apt-get install -y python3 python3-venv, or: make PYTHON=python3.11 ..."; \
	  exit 1; }
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "Could not create $(VENV); install: apt-get install -y python3-venv"; exit 1; }

$(REQUIREMENTS_STAMP): $(wildcard requirements*.txt) | $(PY)
	$(PY) -m pip install --disable-pip-version-check --quiet -r requirements-dev.txt
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { \
	  echo "npm is missing: install Node.js 20+ (https://nodejs.org, or NodeSource's apt"; \
	  echo "  repository: apt-get install -y nodejs). It runs the Firebase Auth emulator."; \
	  exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(TOOLS_STAMP): terraform/checkov-requirements.txt | $(PY)
	@test -x $(TOOLS_VENV)/bin/python || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install --disable-pip-version-check --quiet \
	  -r terraform/checkov-requirements.txt
	@touch $@

setup: $(REQUIREMENTS_STAMP) $(NODE_STAMP) $(TOOLS_STAMP)

prereqs: setup
	@$(PY) -m devstack.prereqs --install

run: prereqs
	$(PY) -m devstack $(ARGS)

lint: $(REQUIREMENTS_STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m mypy --strict devstack

fmt: $(REQUIREMENTS_STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

# One pytest run, so the local stack starts once for integration and e2e tests.
test: lint prereqs
	$(PY) -m pytest tests $(PYTEST_ARGS)

unit: $(REQUIREMENTS_STAMP)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

# A scripted learner takes a complete mock test over HTTP on the local stack (the one of
# `make run` when it is up, else one started for the demo): `make demo ARGS="--level 5"`.
.PHONY: demo bench-turns
demo: prereqs
	$(PY) -m devstack.demo $(ARGS)

# Per-turn server time by stage and Firestore operations per turn, at 1 and 20 concurrent
# learners on the local stack: `make bench-turns ARGS="--learners 1,20 --turns 8"`.
bench-turns: prereqs
	$(PY) -m bench.turns $(ARGS)

# README.md's configuration table, between its settings-table markers (a unit test checks it).
settings-table: $(REQUIREMENTS_STAMP)
	$(PY) -c 'import pathlib; from shared.config import settings_markdown_table as table; \
	  readme = pathlib.Path("README.md"); text = readme.read_text(encoding="utf-8"); \
	  start, end = "<!-- settings-table:start -->", "<!-- settings-table:end -->"; \
	  head, rest = text.split(start, 1); tail = rest.split(end, 1)[1]; \
	  readme.write_text(f"{head}{start}\n{table()}\n{end}{tail}", encoding="utf-8")'

# The OpenAPI 3.1 document of every HTTP function (tests/unit/test_openapi.py checks it).
.PHONY: openapi api-fuzz
openapi: $(REQUIREMENTS_STAMP)
	$(PY) -m tools.openapi

# A larger bounded schemathesis run against `make run`: `make api-fuzz ARGS="--max-examples 200"`.
api-fuzz: $(REQUIREMENTS_STAMP)
	$(PY) -m bench.api_fuzz $(ARGS)

clean-local:
	rm -rf .local
