"""Judge a period's encounters before an indicator is rated over them.

``$evaluate-measure`` on a catalog indicator counts every inpatient encounter discharged in the period.
Its CQL reads fact Observations, so each such encounter must have current ones: an encounter whose
stored Observations were judged on the same record (same digest) is left alone; any other is verified
now and its Observations written (superseding the old ones). Idempotent: a second run judges nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from agents.discharge import record_hash
from agents.fact_observations import EXT_RECORD_DIGEST, observation_id
from agents.qc_evaluate import Policy, verify_record
from fhir_ops.data_access.record import CLINICAL_TYPES, EncounterRecord, Resource, notes_of
from fhir_ops.data_access.searching import ENCOUNTER_PARAM, SearchingSource
from fhir_ops.errors import FhirError
from fhir_ops.search.indexer import normalise_reference
from fhir_ops.store.protocol import ResourceRepository
from measures.catalog.cql import denominator_code
from measures.catalog.schema import IndicatorSpec

log = logging.getLogger(__name__)
INPATIENT_CLASSES = {"IMP", "ACUTE", "NONAC"}
EXCLUDED_STATUS = {"planned", "cancelled", "entered-in-error"}
#: The most encounters one rating judges (a larger period is rated in parts).
MAX_ENCOUNTERS = 200_000
#: Encounters whose records are gathered together (one search per clinical type for the lot).
CHUNK = 50


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


def patients_of(encounters: list[Resource]) -> list[str]:
    """The distinct patient ids the encounters' subjects name, in order."""
    refs = (normalise_reference(str((e.get("subject") or {}).get("reference") or "")) for e in encounters)
    return list(dict.fromkeys(ref_id for ref_type, ref_id in refs if ref_type == "Patient" and ref_id))


def _current(record: EncounterRecord, spec: IndicatorSpec, digest: str) -> bool:
    """The indicator's placement fact, among the record's Observations, was judged on this very record."""
    wanted = observation_id(str((record.encounter or {}).get("id")), denominator_code(spec))
    for obs in record.observations:
        if obs.get("id") == wanted:
            return any(
                e.get("url") == EXT_RECORD_DIGEST and e.get("valueString") == digest
                for e in obs.get("extension") or []
            )
    return False


async def _judge(
    record: EncounterRecord, repo: ResourceRepository, specs: list[IndicatorSpec], policy: Policy
) -> list[Resource] | None:
    """The fact Observations to store for the record, or None when the stored ones are current."""
    digest = record_hash(record)
    if all(_current(record, spec, digest) for spec in specs):
        return None
    verified = await verify_record(record, specs, policy=policy, denominator_asserted=False, digest=digest)
    return list({o["id"]: o for v in verified for o in v.observations}.values())


async def _store(repo: ResourceRepository, observations: list[Resource]) -> None:
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
    observations = await _judge(await source.encounter_record(encounter_id), repo, specs, policy)
    if observations is None:
        return False
    await _store(repo, observations)
    return True


def _encounter_of(resource: Resource) -> str | None:
    """The id of the encounter a clinical resource names (``encounter``, ``context`` or
    ``context.encounter``, as the types' encounter search parameters read them)."""
    for named in (resource.get("encounter"), resource.get("context")):
        ref = named
        if isinstance(named, dict) and isinstance(named.get("encounter"), list):  # DocumentReference
            ref = named["encounter"][0] if named["encounter"] else None
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            ref_type, ref_id = normalise_reference(ref["reference"])
            if ref_type == "Encounter":
                return ref_id
    return None


async def encounter_records(source: SearchingSource, encounters: list[Resource]) -> list[EncounterRecord]:
    """The records of ``encounters`` (as :meth:`SearchingSource.encounter_record` builds one), gathered
    for the lot: one search per clinical type and one for the patients, not one set per encounter."""
    ids = [str(e.get("id")) for e in encounters]
    refs = ",".join(f"Encounter/{i}" for i in ids)
    found = await asyncio.gather(
        *(
            source.search_all(t, [(ENCOUNTER_PARAM.get(t, "encounter"), refs)])
            for t in CLINICAL_TYPES.values()
        )
    )
    subjects = {
        normalise_reference(str((e.get("subject") or {}).get("reference") or ""))[1]: e
        for e in encounters
        if normalise_reference(str((e.get("subject") or {}).get("reference") or ""))[0] == "Patient"
    }
    patients = (
        {str(p.get("id")): p for p in await source.search_all("Patient", [("_id", ",".join(subjects))])}
        if subjects
        else {}
    )
    records: dict[str, EncounterRecord] = {}
    for encounter in encounters:
        ref_type, ref_id = normalise_reference(str((encounter.get("subject") or {}).get("reference") or ""))
        records[str(encounter.get("id"))] = EncounterRecord(
            patient=patients.get(ref_id) if ref_type == "Patient" else None, encounter=encounter
        )
    for attr, resources in zip(CLINICAL_TYPES, found, strict=True):
        for resource in resources:
            record = records.get(_encounter_of(resource) or "")
            if record is not None:
                getattr(record, attr).append(resource)
    for record in records.values():
        record.notes = notes_of(record.document_references, record.compositions)
    return [records[i] for i in ids]


async def judge_encounters(
    source: SearchingSource,
    repo: ResourceRepository,
    specs: list[IndicatorSpec],
    policy: Policy,
    encounters: list[Resource],
    stats: JudgeStats,
) -> None:
    """Make the fact Observations of ``specs`` current for ``encounters`` (a chunk: records gathered
    together, the new Observations stored in one transaction — per encounter if that one fails, so one
    bad record does not sink its neighbours)."""
    try:
        records = await encounter_records(source, encounters)
    except FhirError as exc:
        stats.failed += len(encounters)
        log.warning("could not read a chunk of encounters", extra={"error": type(exc).__name__})
        return
    pending: list[list[Resource]] = []
    for record in records:
        observations = await _judge(record, repo, specs, policy)
        if observations is None:
            stats.current += 1
        else:
            pending.append(observations)
    if not pending:
        return
    try:
        await _store(repo, [o for obs in pending for o in obs])
        stats.judged += len(pending)
        return
    except FhirError:
        pass
    for observations in pending:
        try:
            await _store(repo, observations)
            stats.judged += 1
        except FhirError as exc:
            stats.failed += 1
            log.warning("could not store an encounter's facts", extra={"error": type(exc).__name__})


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
    for done in range(0, len(encounters), CHUNK):
        await judge_encounters(source, repo, specs, policy, encounters[done : done + CHUNK], stats)
        if progress is not None:
            progress(min(done + CHUNK, len(encounters)), len(encounters))
    return stats
