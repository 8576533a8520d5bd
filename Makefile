# trashseg: every target installs into the project-local .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TRASHSEG := $(VENV)/bin/trashseg
RUN_DIR ?= runs/sample
STAMP := $(VENV)/.installed

.PHONY: help setup run test test-fast test-containers bench compile clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

$(STAMP): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -c requirements/constraints.txt -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install the project with pinned dependencies

run: $(STAMP)  ## make the sample data and run the pipeline stages on it (outputs in runs/sample)
	rm -rf $(RUN_DIR)
	$(TRASHSEG) sample-data --out $(RUN_DIR)/data
	$(TRASHSEG) ingest --coco $(RUN_DIR)/data/train/annotations.json --images $(RUN_DIR)/data/train/images --out $(RUN_DIR)/train
	$(TRASHSEG) ingest --coco $(RUN_DIR)/data/test/annotations.json --images $(RUN_DIR)/data/test/images --out $(RUN_DIR)/test
	$(TRASHSEG) split --dataset $(RUN_DIR)/train --folds 5 --seed 42 --out $(RUN_DIR)/split
	$(TRASHSEG) train --dataset $(RUN_DIR)/train --split $(RUN_DIR)/split --fold 0 --model upernet-convnext-tiny --epochs 40 --out $(RUN_DIR)/model
	$(TRASHSEG) infer --model $(RUN_DIR)/model --dataset $(RUN_DIR)/train --out $(RUN_DIR)/pred_train
	$(TRASHSEG) evaluate --predictions $(RUN_DIR)/pred_train --dataset $(RUN_DIR)/train --split $(RUN_DIR)/split --fold 0 --out $(RUN_DIR)/metrics
	$(TRASHSEG) infer --model $(RUN_DIR)/model --dataset $(RUN_DIR)/test --out $(RUN_DIR)/pred_test --tta flip
	$(TRASHSEG) submit --predictions $(RUN_DIR)/pred_test --out $(RUN_DIR)/submission.csv
	@echo "artifacts in $(RUN_DIR); validation metrics in $(RUN_DIR)/metrics/metrics.json"

test: $(STAMP)  ## run the whole test suite (container tests skip themselves without a Docker engine)
	TRASHSEG_PROGRESS=0 $(PY) -m pytest tests

test-fast: $(STAMP)  ## the suite without slow training tests
	TRASHSEG_PROGRESS=0 $(PY) -m pytest tests -m "not slow and not containers"

clean:  ## remove .venv and runs/
	rm -rf $(VENV) runs
