"""Measure calculation: one fqm-execution call for many patient bundles.

The measure bundle (Measure + Libraries with ELM + ValueSets) is prepared once per worker process
and kept there under its content hash: later calls send only the hash and the patient bundles.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from measures.engine.errors import CqlWorkerError
from measures.engine.models import PatientResult
from measures.engine.pool import CqlEngine
from measures.engine.worker import CqlWorker

Engine = Literal["prepared", "fqm"]


def measure_bundle_key(measure_bundle: dict[str, Any]) -> str:
    """Content hash of a measure bundle (key order does not matter).

    >>> measure_bundle_key({"a": 1, "b": [2]}) == measure_bundle_key({"b": [2], "a": 1})
    True
    """
    canonical = json.dumps(measure_bundle, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def calculate_measure(
    measure_bundle: dict[str, Any],
    patient_bundles: list[dict[str, Any]],
    *,
    period_start: str,
    period_end: str,
    include_evaluated: bool = True,
    measure_key: str | None = None,
    engine: Engine = "prepared",
    cql: CqlEngine,
    timeout_s: float | None = None,
) -> list[PatientResult]:
    """Run the Measure in ``measure_bundle`` over all ``patient_bundles`` in one worker request;
    one :class:`PatientResult` per patient, in order.

    ``measure_key`` is the bundle's content hash (:func:`measure_bundle_key`, computed when not
    given): the bundle travels only to a worker process that has not prepared it yet.

    ``engine="fqm"`` runs fqm-execution's stock ``Calculator.calculate`` instead, sending the whole
    measure bundle every call and building the clause-level results MedQC does not use: the
    reference the lean ``prepared`` path is checked and benchmarked against.

    The call leases one worker process of ``cql`` for its whole run (see :class:`CqlEngine`).
    """
    if not patient_bundles:
        return []
    async with cql.lease(timeout_s=timeout_s) as worker:
        return await _calculate_on(
            worker,
            measure_bundle,
            patient_bundles,
            period_start=period_start,
            period_end=period_end,
            include_evaluated=include_evaluated,
            measure_key=measure_key,
            engine=engine,
            timeout_s=timeout_s,
        )


async def _calculate_on(
    worker: CqlWorker,
    measure_bundle: dict[str, Any],
    patient_bundles: list[dict[str, Any]],
    *,
    period_start: str,
    period_end: str,
    include_evaluated: bool,
    measure_key: str | None,
    engine: Engine,
    timeout_s: float | None,
) -> list[PatientResult]:
    if engine == "fqm":
        reference = await worker.request(
            "calculate",
            {
                "engine": "fqm",
                "measureBundle": measure_bundle,
                "patientBundles": patient_bundles,
                "periodStart": period_start,
                "periodEnd": period_end,
                "includeEvaluated": include_evaluated,
            },
            timeout_s=timeout_s,
        )
        return [PatientResult.model_validate(item) for item in reference]
    key = measure_key or measure_bundle_key(measure_bundle)
    payload: dict[str, Any] = {
        "measureKey": key,
        "patientBundles": patient_bundles,
        "periodStart": period_start,
        "periodEnd": period_end,
        "includeEvaluated": include_evaluated,
    }
    raw: Any = None
    for attempt in range(2):
        await worker.start()
        send_bundle = attempt > 0 or not worker.has_prepared(key)
        generation = worker.starts
        try:
            raw = await worker.request(
                "calculate",
                {**payload, "measureBundle": measure_bundle} if send_bundle else payload,
                timeout_s=timeout_s,
            )
        except CqlWorkerError as exc:
            if exc.code == "unknown-measure" and not send_bundle:
                continue  # the process was restarted since: send the bundle with the patients
            raise
        if worker.starts == generation:
            worker.mark_prepared(key)
        break
    return [PatientResult.model_validate(item) for item in raw]
