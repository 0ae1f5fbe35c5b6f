"""Prometheus metrics of the language-model path (default registry, exported by the app's /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

TOKENS = Counter("medqc_llm_tokens_total", "Tokens used by language-model requests", ["kind", "model"])
REQUESTS = Counter(
    "medqc_llm_requests_total",
    "Language-model requests by outcome (ok, cached, unavailable, bad-response)",
    ["model", "outcome"],
)
RETRIES = Counter("medqc_llm_retries_total", "Language-model request retries", ["model"])
LATENCY = Histogram(
    "medqc_llm_request_seconds",
    "Latency of language-model HTTP requests (cache hits excluded)",
    ["model"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120),
)
HALLUCINATED_QUOTES = Counter(
    "medqc_llm_hallucinated_quotes_total",
    "Model answers whose evidence quote was not found in the note",
    ["task"],
)
