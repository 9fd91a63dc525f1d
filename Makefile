# pulse-echo: every target works from a fresh clone (it sets itself up).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help venv build test unit e2e lint fmt docs demo bench clean test-urllib3-1.26

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP) ## create .venv with the pinned dev dependencies

build: $(STAMP) ## build the Lambda zips under build/ (byte-reproducible)
	$(PY) tools/build_zips.py build

test: build lint test-urllib3-1.26 ## the whole suite: lint, unit and end-to-end tests (sets everything up)
	$(PY) -m pytest

VENV_U126 := .venv-urllib3-1.26
$(VENV_U126)/.installed: requirements-urllib3-1.26.txt
	$(PYTHON) -m venv $(VENV_U126)
	$(VENV_U126)/bin/python -m pip install --quiet -r requirements-urllib3-1.26.txt
	touch $@

test-urllib3-1.26: $(VENV_U126)/.installed ## the probe and webhook tests again on urllib3 1.26.x (older Lambda runtimes)
	$(VENV_U126)/bin/python -m pytest -p no:cacheprovider tests/unit/test_probe.py tests/unit/test_webhook.py

unit: build ## unit tests only
	$(PY) -m pytest tests/unit

e2e: build ## end-to-end tests only (real Terraform against the local emulator)
	$(PY) -m pytest tests/e2e

lint: $(STAMP) ## ruff, terraform fmt -check and validate
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: $(STAMP) ## format Python and Terraform
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

demo: build ## the main job, end to end, on a local AWS emulator (about 2 minutes)
	$(PY) tools/demo.py

bench: build ## benchmarks: scale, cold start, time to alert, cost (not part of test)
	$(PY) bench/run.py

clean: ## remove build output, the virtual environments and the toolchain cache
	rm -rf build $(VENV) .venv-* .toolchain .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
