"""Prometheus metrics of the CDS service (default registry, exposed by the app's ``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

FEEDBACK_TOTAL = Counter(
    "medqc_cds_feedback",
    "CDS card feedback received, by indicator and outcome",
    ["indicator", "outcome"],
)
CARDS_TOTAL = Counter(
    "medqc_cds_cards",
    "CDS cards returned, by service and card indicator (info, warning, critical)",
    ["service", "indicator"],
)
HOOK_SECONDS = Histogram(
    "medqc_cds_hook_duration_seconds",
    "Time to answer a CDS hook call, by service and HTTP status",
    ["service", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0),
)
