# trashseg: every target installs into the project-local .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TRASHSEG := $(VENV)/bin/trashseg
RUN_DIR ?= runs/kfp
STAMP := $(VENV)/.installed

.PHONY: help setup run run-cv test test-fast test-containers lint images push base-image bench compile clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

$(STAMP): pyproject.toml requirements/constraints.txt
	@echo "setting up $(VENV): pinned installs from requirements/constraints.txt (a few minutes the first time)"
	@$(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install --quiet --quiet --upgrade pip
	@$(VENV)/bin/pip install --quiet --quiet -c requirements/constraints.txt -e '.[test]'
	@touch $(STAMP)

setup: $(STAMP)  ## create .venv and install the project with pinned dependencies

run: $(STAMP)  ## generate sample data and run the whole main pipeline locally with kfp (outputs in runs/kfp)
	$(TRASHSEG) pipeline run-local --pipeline trashseg --pipeline-root $(RUN_DIR)

run-cv: $(STAMP)  ## the cross-validation pipeline (2 folds of 5, tiny preset) locally
	$(TRASHSEG) pipeline run-local --pipeline trashseg-cv --pipeline-root $(RUN_DIR)

compile: $(STAMP)  ## recompile pipelines/compiled/*.yaml (REGISTRY=host:port/path: into build/compiled/REGISTRY with its images)
	$(TRASHSEG) pipeline compile $(if $(REGISTRY),--registry $(REGISTRY))

test: $(STAMP)  ## run the whole test suite (container tests skip themselves without a Docker engine)
	TRASHSEG_PROGRESS=0 $(PY) -m pytest tests

test-fast: $(STAMP)  ## the suite without slow training and container tests
	TRASHSEG_PROGRESS=0 $(PY) -m pytest tests -m "not slow and not containers"

lint: $(STAMP)  ## ruff's formatter (check only) and linter, as CI runs them
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

test-containers: $(STAMP)  ## only the container tests (needs a running Docker engine and debootstrap)
	TRASHSEG_PROGRESS=0 $(PY) -m pytest tests -m containers

BASE ?= trashseg-base:bookworm
REGISTRY ?=
images: $(STAMP)  ## build trashseg-cpu and trashseg-gpu on the Debian base (wheelhouses made here); REGISTRY=host:port/path also tags them for it
	@docker image inspect $(BASE) >/dev/null 2>&1 || [ "$(BASE)" != trashseg-base:bookworm ] || docker/make_base.sh $(BASE)
	$(PY) docker/build_images.py --kind all --base $(BASE) $(if $(REGISTRY),--registry $(REGISTRY))

push: $(STAMP)  ## push both images to the registry given to `make images REGISTRY=...` (or REGISTRY=) and compile the pipelines for it
	$(PY) docker/build_images.py --push $(if $(REGISTRY),--registry $(REGISTRY))
	$(TRASHSEG) pipeline compile --registry $$(if [ -n "$(REGISTRY)" ]; then echo "$(REGISTRY)"; else cat build/registry; fi)

base-image:  ## make a Debian bookworm base image locally with debootstrap (for machines without registry access)
	docker/make_base.sh $(BASE)

bench: $(STAMP)  ## run the benchmarks; figures in bench/results/latest.json and a table on stdout
	$(VENV)/bin/pip install --quiet --quiet -c requirements/constraints.txt -e '.[test,bench]'
	TRASHSEG_PROGRESS=0 $(PY) -m bench.run

clean:  ## remove .venv and runs/
	rm -rf $(VENV) runs
