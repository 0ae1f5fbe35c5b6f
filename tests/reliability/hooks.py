"""The demo AF stay as a discharge hook call (prefetch complete, so the hook needs no FHIR server)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conformance.cds_checks import DISCHARGE_SERVICE, discharge_context, discharge_prefetch, hook_request

DEMO = Path(__file__).resolve().parents[2] / "medqc" / "demo_data" / "af-inpatient.json"
ENCOUNTER = "demo-af-encounter"
HOOK_PATH = f"/cds-services/{DISCHARGE_SERVICE}"


def demo_bundle() -> dict[str, Any]:
    return dict(json.loads(DEMO.read_text()))


def demo_resources() -> list[dict[str, Any]]:
    return [e["resource"] for e in demo_bundle()["entry"]]


def discharge_call() -> dict[str, Any]:
    prefetch = discharge_prefetch(demo_resources(), ENCOUNTER)
    return hook_request("encounter-discharge", discharge_context(prefetch), prefetch=prefetch)
