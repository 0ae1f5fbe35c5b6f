"""MedQC's own conformance resources: the fact Observation profile, its extensions, and the terminology
they bind (served by ``/fhir`` like any other resource)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def profile_resources() -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(HERE.glob("*.json"))]
