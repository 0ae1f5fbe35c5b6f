"""What the three documentation operations share: the record they work on and the ICD index."""

from __future__ import annotations

import asyncio
from typing import Any

from fhir_ops.data_access.record import EncounterRecord, record_from_resources
from fhir_ops.errors import BadRequest, BusinessRuleViolation, NotFound
from fhir_ops.operations.registry import OperationParam, OperationRequest
from fhir_ops.search.indexer import normalise_reference
from knowledge_base.icd.index import IcdIndex, index_for
from knowledge_base.icd.table import load_table

RECORD_PARAMETERS = (
    OperationParam(
        "bundle",
        "Bundle",
        documentation="System level: Patient, Encounter, notes (DocumentReference, base64 text/plain) and "
        "coded resources",
    ),
    OperationParam(
        "encounter",
        "Reference",
        also=("string",),
        documentation="Which Encounter of the bundle (default: the only one)",
    ),
)


async def record_of(request: OperationRequest, *, encounter_required: bool = True) -> EncounterRecord:
    """The encounter's record: from the data source (instance level) or the ``bundle`` (system level;
    see :func:`bundle_record`)."""
    if request.resource_id is not None:
        if request.one("bundle") is not None:
            raise BadRequest("'bundle' is only accepted at the system level", expression=["bundle"])
        record: EncounterRecord = await request.services.data_source.encounter_record(request.resource_id)
        return record
    bundle = request.one("bundle")
    if bundle is None:
        raise BadRequest("Parameter 'bundle' is required at the system level", expression=["bundle"])
    return bundle_record(bundle, request.one("encounter"), encounter_required=encounter_required)


def bundle_record(
    bundle: dict[str, Any], encounter: Any, *, encounter_required: bool = True
) -> EncounterRecord:
    """The record of the Bundle's Encounter (named by ``encounter`` when the Bundle holds several). With
    ``encounter_required`` False a Bundle without any Encounter is one stay's record too."""
    entries = [e.get("resource") for e in bundle.get("entry") or [] if isinstance(e, dict)]
    resources: list[dict[str, Any]] = [r for r in entries if isinstance(r, dict)]
    if len(resources) != len(entries) or not all(isinstance(r.get("resourceType"), str) for r in resources):
        raise BadRequest(
            "Every bundle entry must carry a resource with a resourceType", expression=["bundle"]
        )
    encounters = [r for r in resources if r["resourceType"] == "Encounter"]
    encounter_id: str | None = None
    if isinstance(encounter, dict):
        encounter = encounter.get("reference")
    if isinstance(encounter, str):
        encounter_id = normalise_reference(encounter)[1].removeprefix("urn:uuid:")
        if not any(e.get("id") == encounter_id for e in encounters):
            raise NotFound(f"Encounter '{encounter}' is not in the bundle", expression=["encounter"])
    elif len(encounters) > 1:
        raise BadRequest(
            "The bundle holds several Encounters: name one with 'encounter'", expression=["encounter"]
        )
    elif not encounters and encounter_required:
        raise BadRequest(
            "The bundle must hold one Encounter or name one with 'encounter'", expression=["encounter"]
        )
    return record_from_resources(resources, encounter_id)


async def icd_index() -> IcdIndex:
    """The index over the 国家临床版2.0 table (built once per process, off the event loop)."""
    try:
        return await asyncio.to_thread(lambda: index_for(load_table()))
    except FileNotFoundError as exc:
        raise BusinessRuleViolation(
            "The 国家临床版2.0 ICD-10 table is not available to this server (../shared/data/icd)"
        ) from exc
