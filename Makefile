# MedQC — the two commands: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := measures/cql/node_modules/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1
DEMO_DB := var/demo.sqlite

.PHONY: install demo test test-fast serve bench lint llm-local llm-stop clean soak fuzz

install: $(STAMP) $(NODE_STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(NODE_STAMP): measures/cql/package.json measures/cql/package-lock.json
	npm ci --prefix measures/cql --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

# `make demo` prints under 80 lines and exits; `make serve` then reopens what it showed (its database
# var/demo.sqlite, the development EHR key trusted) on http://127.0.0.1:8080.
demo: install
	@mkdir -p var
	@MEDQC_DATABASE_URL=$${MEDQC_DATABASE_URL:-sqlite+aiosqlite:///$(DEMO_DB)} MEDQC_LOG_LEVEL=WARNING $(BIN)/medqc demo

serve: install
	@if [ -z "$$MEDQC_DATABASE_URL" ] && [ -f $(DEMO_DB) ]; then \
	  export MEDQC_DATABASE_URL=sqlite+aiosqlite:///$(DEMO_DB); echo "serving the demo data ($(DEMO_DB))"; fi; \
	if [ -z "$$MEDQC_CDS_ISSUERS" ] && [ -f var/dev-ehr-key.json ]; then \
	  export MEDQC_CDS_ISSUERS="$$($(BIN)/medqc token --issuers)"; echo "CDS clients trusted: the development EHR key (medqc token)"; fi; \
	$(BIN)/medqc serve

test: install
	./.ci/test.sh

test-fast: install
	$(BIN)/pytest -q -x -m "not slow"

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy medqc fhir_ops cds_services measures agents knowledge_base conformance

soak: install
	MEDQC_SOAK=1 $(BIN)/pytest -q -p no:cacheprovider tests/reliability

fuzz: install
	MEDQC_FUZZ_EXAMPLES=200 $(BIN)/pytest -q -p no:cacheprovider tests/conformance/test_openapi_fuzz.py

bench: install
	$(BIN)/python -m bench

llm-local:
	./deploy/llm/llm-local.sh start

llm-stop:
	./deploy/llm/llm-local.sh stop

clean:
	rm -rf $(VENV) measures/cql/node_modules var .pytest_cache .mypy_cache .ruff_cache
