# pulse-echo: every target works from a fresh clone (it sets itself up).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help venv build test unit e2e lane-unit $(E2E_LANES) lint fmt docs demo bench clean test-urllib3-1.26 chromium

help: ## list the targets
	@grep -E '^[a-z0-9.-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP) ## create .venv with the pinned dev dependencies

# dist/ is committed: every module source (git::, registry, path) deploys it with no build
# step. The test targets do not rebuild it: tests/unit/test_build_zips.py fails when it is
# not a build of lambda_src, so a stale dist/ cannot be committed unnoticed.
build: ## rebuild the committed Lambda zips in dist/ after changing lambda_src (then commit dist/)
	$(PYTHON) tools/build_zips.py

# The suite runs in four lanes side by side, each lane's output printed whole when it ends: the
# unit tests, the end-to-end tests on the main deployment (one session, in order), and the two
# end-to-end files that apply a deployment of their own. An apply spends most of its time in the
# provider's pollers, not on the CPU. `make test LANES_JOBS=1` runs the lanes one after another.
E2E_OWN_DEPLOYMENT := tests/e2e/test_upgrade.py tests/e2e/test_day_one.py
E2E_LANES := lane-e2e-main lane-e2e-upgrade lane-e2e-day-one
LANES_JOBS ?= 4
LANE_PYTEST := $(PY) -m pytest -p no:cacheprovider

test: $(STAMP) chromium lint test-urllib3-1.26 ## the whole suite: lint, unit and end-to-end tests (sets everything up)
	@$(MAKE) --no-print-directory -j$(LANES_JOBS) --output-sync=target lane-unit $(E2E_LANES)

lane-unit: $(STAMP)
	$(LANE_PYTEST) tests --ignore=tests/e2e

lane-e2e-main: $(STAMP)
	$(LANE_PYTEST) tests/e2e $(addprefix --ignore=,$(E2E_OWN_DEPLOYMENT))

lane-e2e-upgrade: $(STAMP)
	$(LANE_PYTEST) tests/e2e/test_upgrade.py

lane-e2e-day-one: $(STAMP)
	$(LANE_PYTEST) tests/e2e/test_day_one.py

VENV_U126 := .venv-urllib3-1.26
$(VENV_U126)/.installed: requirements-urllib3-1.26.txt
	$(PYTHON) -m venv $(VENV_U126)
	$(VENV_U126)/bin/python -m pip install --quiet -r requirements-urllib3-1.26.txt
	touch $@

test-urllib3-1.26: $(VENV_U126)/.installed ## the probe and webhook tests again on urllib3 1.26.x (older Lambda runtimes)
	$(VENV_U126)/bin/python -m pytest -p no:cacheprovider tests/unit/test_probe.py tests/unit/test_webhook.py

unit: $(STAMP) chromium ## unit tests only
	$(PY) -m pytest tests/unit

# The status page's browser test (tests/unit/test_status_page_browser.py) needs headless Chromium:
# Debian's package, installed once where we are root with apt-get; elsewhere the test skips, loudly.
chromium: ## install headless Chromium for the status page's browser test (Debian, as root; a no-op when present)
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || [ -n "$$CHROMIUM" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "make chromium: installing Debian's chromium (once)"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; } \
			|| echo "make chromium: WARNING: apt-get could not install chromium: the browser test will be skipped"; \
	else echo "make chromium: WARNING: no chromium and no way to install it (root and apt-get): the browser test will be skipped"; fi

e2e: $(STAMP) ## end-to-end tests only (real Terraform and hashicorp/aws 5.100.0 against the local emulator)
	@$(MAKE) --no-print-directory -j$(LANES_JOBS) --output-sync=target $(E2E_LANES)

# checkov pins an old `packaging` that conflicts with pytest 9: its own venv.
VENV_CHECKOV := .venv-checkov
$(VENV_CHECKOV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(VENV_CHECKOV)
	$(VENV_CHECKOV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

# The module only (the example and generated test roots are not the product).
# BC_SKIP_MAPPING and --skip-download keep checkov offline.
CHECKOV_FLAGS := --directory . --framework terraform --skip-download --compact --quiet \
	--skip-path '\.toolchain' --skip-path '\.venv' --skip-path '\.terraform' \
	--skip-path tests --skip-path examples --skip-path build --skip-path dist

lint: $(STAMP) $(VENV_CHECKOV)/.installed ## ruff, terraform fmt -check and validate (module, examples; 5.100.0), checkov
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) tools/tf.py lint
	BC_SKIP_MAPPING=TRUE $(VENV_CHECKOV)/bin/checkov $(CHECKOV_FLAGS)

docs: $(STAMP) ## write the README's inputs/outputs tables from variables.tf and outputs.tf
	$(PY) tools/tfdocs.py

fmt: $(STAMP) ## format Python and Terraform
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
	$(PY) tools/tf.py fmt

demo: $(STAMP) build ## the main job, end to end, on a local AWS emulator (40 story minutes in about one)
	$(PY) tools/demo.py

bench: $(STAMP) build ## benchmarks: scale, cold start, time to alert, cost (not part of test)
	$(PY) bench/run.py

clean: ## remove the virtual environments, the toolchain cache and local state (not the committed dist/)
	rm -rf build $(VENV) .venv-* .toolchain .pytest_cache .ruff_cache .terraform.lock.hcl bench/results.json
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
