"""Judge a period's encounters before an indicator is rated over them.

``$evaluate-measure`` on a catalog indicator counts every inpatient encounter discharged in the period.
Its CQL reads fact Observations, so each such encounter must have current ones: an encounter whose
stored Observations were judged on the same record (same digest) is left alone; any other is verified
now and its Observations written (superseding the old ones). Idempotent: a second run judges nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from agents.discharge import record_hash
from agents.fact_observations import EXT_RECORD_DIGEST, observation_id
from agents.qc_evaluate import Policy, verify_record
from fhir_ops.data_access.record import Resource
from fhir_ops.data_access.searching import SearchingSource
from fhir_ops.errors import FhirError
from fhir_ops.store.protocol import ResourceRepository
from measures.catalog.cql import denominator_code
from measures.catalog.schema import IndicatorSpec

log = logging.getLogger(__name__)
INPATIENT_CLASSES = {"IMP", "ACUTE", "NONAC"}
EXCLUDED_STATUS = {"planned", "cancelled", "entered-in-error"}
#: The most encounters one rating judges (a larger period is rated in parts).
MAX_ENCOUNTERS = 200_000


@dataclass(slots=True)
class JudgeStats:
    encounters: int = 0
    judged: int = 0
    current: int = 0
    failed: int = 0


def _instant(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=datetime.now().astimezone().tzinfo)


def discharged_in(encounter: Resource, start: datetime, end: datetime) -> bool:
    """The CQL's qualifying-encounter test (MedQCFacts "Qualifying Encounters"), in Python, to find the
    encounters worth judging: inpatient (or class not stated), not planned/cancelled, ended (or, still
    open, began) in the period."""
    if encounter.get("status") in EXCLUDED_STATUS:
        return False
    code = (encounter.get("class") or {}).get("code")
    if code is not None and code not in INPATIENT_CLASSES:
        return False
    period = encounter.get("period") or {}
    when = _instant(period.get("end")) or _instant(period.get("start"))
    return when is not None and start <= when <= end


async def period_encounters(source: SearchingSource, start: datetime, end: datetime) -> list[Resource]:
    """Inpatient encounters discharged in ``[start, end]`` (the store's period search, then the exact
    test)."""
    found = await source.search_all(
        "Encounter", [("date", f"ge{start.date().isoformat()}"), ("date", f"le{end.date().isoformat()}")]
    )
    return [e for e in found[:MAX_ENCOUNTERS] if discharged_in(e, start, end)]


async def _current(repo: ResourceRepository, encounter_id: str, spec: IndicatorSpec, digest: str) -> bool:
    try:
        obs = await repo.read("Observation", observation_id(encounter_id, denominator_code(spec)))
    except FhirError:
        return False
    stamps = [e.get("valueString") for e in obs.get("extension") or [] if e.get("url") == EXT_RECORD_DIGEST]
    return digest in stamps


async def judge_encounter(
    source: SearchingSource,
    repo: ResourceRepository,
    specs: list[IndicatorSpec],
    policy: Policy,
    encounter_id: str,
) -> bool:
    """Make the fact Observations of ``specs`` current for one encounter; False when they already were
    (every indicator's placement judged on this very record), True when it was judged now. Raises
    :class:`FhirError` when the record cannot be read or the Observations stored."""
    record = await source.encounter_record(encounter_id)
    digest = record_hash(record)
    if all([await _current(repo, encounter_id, spec, digest) for spec in specs]):
        return False
    verified = await verify_record(record, specs, policy=policy, denominator_asserted=False, digest=digest)
    observations = list({o["id"]: o for v in verified for o in v.observations}.values())
    await repo.transaction(
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {"resource": o, "request": {"method": "PUT", "url": f"Observation/{o['id']}"}}
                for o in observations
            ],
        }
    )
    return True


async def judge_period(
    *,
    source: SearchingSource,
    repo: ResourceRepository,
    specs: list[IndicatorSpec],
    policy: Policy,
    start: datetime,
    end: datetime,
    progress: Callable[[int, int], None] | None = None,
) -> JudgeStats:
    """Make the fact Observations of ``specs`` current for every encounter discharged in the period."""
    stats = JudgeStats()
    encounters = await period_encounters(source, start, end)
    stats.encounters = len(encounters)
    for i, encounter in enumerate(encounters, 1):
        encounter_id = str(encounter.get("id"))
        try:
            if await judge_encounter(source, repo, specs, policy, encounter_id):
                stats.judged += 1
            else:
                stats.current += 1
        except FhirError as exc:  # one unreadable encounter must not sink the period's rating
            stats.failed += 1
            log.warning("could not judge an encounter", extra={"error": type(exc).__name__})
        if progress is not None:
            progress(i, len(encounters))
    return stats
