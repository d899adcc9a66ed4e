.DEFAULT_GOAL := help
PY ?= python3

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

compile: ## build the Cython extensions in place (editable install)
	$(PY) -m pip install --no-build-isolation -e ".[test]"

debug: ## build with annotate HTML and line tracing (TORC_DEBUG=1)
	TORC_DEBUG=1 $(PY) -m pip install --no-build-isolation -e ".[test]"

protos: ## regenerate torc_grpc/_pb from protos/
	$(PY) protos/generate.py

test: ## the whole suite, as CI runs it
	pytest

test-fast: ## everything but the slow tests
	pytest -m "not slow"

ci: ## run CI locally (fresh venv in .venv)
	bash .ci/run

.PHONY: help compile debug protos test test-fast ci
