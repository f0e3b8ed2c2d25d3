# Targets mirror CI (.ci/run -> `make test`). Everything installs from the project's own files.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SRC_ROOTS := $(CURDIR) $(CURDIR)/training $(CURDIR)/functions/infer $(CURDIR)/functions/trigger_training \
             $(CURDIR)/functions/promote_model
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

.PHONY: help setup demo test test-unit test-integration lint format dataset demo-model bench clean

help:  ## List targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): $(REQS)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade "pip>=24"
	$(VENV)/bin/pip install --quiet -r requirements/torch.txt
	$(VENV)/bin/pip install --quiet -r requirements/train.txt -r requirements/dev.txt
	$(VENV)/bin/pip install --quiet --no-deps -r requirements/ultralytics.txt
	# Source roots on sys.path (what an editable install would do, for several roots at once).
	printf '%s\n' $(SRC_ROOTS) > "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/invoice_yolo_src.pth"
	touch $@

setup: $(STAMP)  ## Create .venv with training, serving and dev dependencies

demo: $(STAMP)  ## The main job, on embedded defaults (no AWS account, no Docker)
	$(PY) -m devkit demo

lint: $(STAMP)  ## ruff
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test-unit: $(STAMP)  ## Unit tests (no network; moto in-process)
	$(PY) -m pytest -m "not integration" tests/unit

test-integration: $(STAMP)  ## Whole system on the embedded stand-ins
	$(PY) -m pytest tests/integration

test: lint test-unit test-integration  ## Everything CI runs

dataset: $(STAMP)  ## Synthetic invoice dataset (YOLO format) under build/invoices
	$(PY) -m devkit.synth --out build/invoices --train 400 --val 100 --seed 0

demo-model: $(STAMP)  ## Reproduce the shipped demo model (models/demo); long on CPU
	$(PY) -m devkit demo-model

bench: $(STAMP)  ## Benchmarks; results go to docs/performance.md
	$(PY) -m bench

clean:
	rm -rf build runs artifacts .cache .pytest_cache .ruff_cache
