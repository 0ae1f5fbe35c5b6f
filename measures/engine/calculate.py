"""Measure calculation: one fqm-execution call for many patient bundles."""

from __future__ import annotations

from typing import Any

from measures.engine.models import PatientResult
from measures.engine.worker import CqlWorker, get_worker


async def calculate_measure(
    measure_bundle: dict[str, Any],
    patient_bundles: list[dict[str, Any]],
    *,
    period_start: str,
    period_end: str,
    include_evaluated: bool = True,
    worker: CqlWorker | None = None,
    timeout_s: float | None = None,
) -> list[PatientResult]:
    """Run the Measure in ``measure_bundle`` (Measure + Libraries with ELM + ValueSets) over all
    ``patient_bundles`` in one worker request; one :class:`PatientResult` per patient, in order."""
    if not patient_bundles:
        return []
    raw = await (worker or get_worker()).request(
        "calculate",
        {
            "measureBundle": measure_bundle,
            "patientBundles": patient_bundles,
            "periodStart": period_start,
            "periodEnd": period_end,
            "includeEvaluated": include_evaluated,
        },
        timeout_s=timeout_s,
    )
    return [PatientResult.model_validate(item) for item in raw]
