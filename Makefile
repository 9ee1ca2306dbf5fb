# The project's front door. Every target installs what it needs first (pinned), so each works on a
# fresh clone: `make demo` runs the whole loop locally, `make test` runs the whole test suite.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
# uv's version and hashes: requirements-bootstrap.lock (from requirements-bootstrap.in).
UV_INSTALL := $(VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-bootstrap.lock
LOCK_FLAGS := --python-version 3.11 --no-header --generate-hashes
ENV ?= dev
# The example (a folder of examples/) the targets work on: make demo EXAMPLE=credit.
EXAMPLE ?= abalone

# No AWS account is needed to synthesize, test or run the demo; keep the tools quiet and offline.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true
export MLOPS_ENV := $(ENV)
export MLOPS_EXAMPLE := $(EXAMPLE)
# The serving mode (realtime | serverless | async | batch; docs/serving.md): `make demo SERVING=async`.
# Empty: the environment's settings.serving.mode.
SERVING ?=
ifneq ($(SERVING),)
export MLOPS_SERVING_MODE := $(SERVING)
endif
# Deployment stages, each an account (docs/multi-account.md): `make demo STAGES=staging,prod`
# promotes through them in emulated accounts (or name them: staging:111111111111,...). Empty: one account.
STAGES ?=
ifneq ($(STAGES),)
export MLOPS_STAGES := $(STAGES)
endif
# Where no registry answers: the stand-in base `make base-image` builds, given to the Dockerfile as
# BASE_IMAGE (its own FROM is pinned by digest). Empty: the Dockerfile's pinned base.
MLOPS_BASE_IMAGE ?=
OFFLINE_BASE_IMAGE := mlops-offline-base:python3.11-bookworm

.PHONY: help install test test-fast test-containers fuzz check synth demo bench lint typecheck imports format golden lock image base-image clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# Every file installed must match a hash in the lock files (a tampered or swapped wheel fails).
# Then the project itself, editable and without dependencies (they are all in the lock), which puts
# the `pipelines` command on PATH; uv pip sync removes it, so it is reinstalled after every sync.
$(VENV)/.installed: requirements.lock requirements-bootstrap.lock pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(UV_INSTALL)
	$(VENV)/bin/uv pip sync --quiet --require-hashes --python $(PY) requirements.lock
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps --editable .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed ## create .venv (with the `pipelines` command) and node_modules from the pinned lock files

test: install check ## the gates (lint, import layers, types), then the whole test suite (what CI runs)
	$(PY) -m pytest -n auto --dist loadfile

test-fast: install ## the suite without the slow end-to-end tests
	$(PY) -m pytest -n auto --dist loadfile -m "not slow"

test-containers: install ## only the Docker tests: the project's jobs and model served in its image (needs Docker)
	$(PY) -m pytest tests/containers

FUZZ_EXAMPLES ?= 300
fuzz: install ## the robustness campaign: FUZZ_EXAMPLES (300) malformed inputs per entry point, then its tally
	rm -f build/fuzz.jsonl && mkdir -p build
	FUZZ_PROFILE=fuzz FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_REPORT=build/fuzz.jsonl \
		$(PY) -m pytest tests/robustness -p no:cacheprovider -q; status=$$?; \
		$(PY) -m tests.robustness.campaign build/fuzz.jsonl; exit $$status

synth: install ## write build/pipelines/*.json and cdk.out/*.template.json (offline, deterministic)
	$(PY) -m pipelines --env $(ENV) synth
	npx --no-install cdk synth --no-notices --quiet -c env=$(ENV) > /dev/null

demo: install ## run the closed retraining loop locally, no AWS account and no Docker
	$(PY) -m pipelines --env $(ENV) demo

bench: install ## drift-engine benchmark against Evidently, whylogs and nannyml (separate venv)
	$(MAKE) -C bench run

check: lint imports typecheck ## the static gates make test runs first

lint: install ## ruff check + format check
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

imports: install ## the import layers (pyproject.toml [tool.importlinter]): config <- definitions, infra <- local cloud <- CLI
	$(VENV)/bin/lint-imports --no-cache

typecheck: install ## mypy over pipelines, infra, localcloud, processing_scripts
	$(VENV)/bin/mypy

format: install ## ruff format + autofix
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

golden: install ## rewrite the golden pipeline JSON after an intended change (review the diff)
	UPDATE_GOLDEN=1 $(PY) -m pytest tests/pipelines -k golden -q

lock: ## re-resolve requirements.lock (and uv's own lock) with hashes from requirements*.txt
	test -x $(VENV)/bin/uv || (python3 -m venv $(VENV) && $(UV_INSTALL))
	$(VENV)/bin/uv pip compile requirements-bootstrap.in $(LOCK_FLAGS) -o requirements-bootstrap.lock
	$(VENV)/bin/uv pip compile requirements-dev.txt $(LOCK_FLAGS) -o requirements.lock
	$(VENV)/bin/uv pip compile processing_scripts/requirements.txt $(LOCK_FLAGS) \
		--python-platform x86_64-manylinux_2_28 -c requirements.lock -o processing_scripts/requirements.lock

image: ## build the processing/monitoring image locally (needs Docker; MLOPS_BASE_IMAGE=... to build from a stand-in base)
	docker build $(if $(MLOPS_BASE_IMAGE),--build-arg BASE_IMAGE=$(MLOPS_BASE_IMAGE) --network host) \
		-t $$($(PY) -c 'from pipelines import settings; print(settings.load().processing_image_uri)') .

base-image: ## build a stand-in for the image's base without any registry (mmdebstrap + docker import)
	.ci/offline-base-image $(OFFLINE_BASE_IMAGE)

clean: ## remove build outputs (keeps .venv and node_modules)
	rm -rf build cdk.out .pytest_cache .ruff_cache
