"""An encounter's record read from the embedded store in one statement (the hook with no prefetch).

The generic path (:class:`fhir_ops.data_access.searching.SearchingSource`) reads the Encounter, its
Patient and then searches each clinical type: ten round trips and ten statements to build. Here one
prepared statement (built once, compiled once per dialect by SQLAlchemy's cache) returns the Encounter,
the Patient its ``subject`` names, and every resource of the clinical types whose ``encounter`` parameter
points at it — the same resources the searches find (``MedicationAdministration.encounter`` is MedQC's
alias of its ``context``), each type in id order as a search returns them. Stored content was validated
on the way in, so nothing is validated again here.
"""

from __future__ import annotations

import orjson
from sqlalchemy import CompoundSelect, bindparam, select, union_all

from fhir_ops.data_access.record import CLINICAL_TYPES, EncounterRecord, Resource, notes_of
from fhir_ops.store.database import Database
from fhir_ops.store.tables import ResourceRow, SearchIndexRow

_ENCOUNTER = bindparam("encounter_id", type_=ResourceRow.id.type)


def _record_statement() -> CompoundSelect[str, str, str]:
    r, si = ResourceRow, SearchIndexRow
    live = r.deleted.is_(False)
    encounter = select(r.resource_type, r.id, r.content).where(
        r.resource_type == "Encounter", r.id == _ENCOUNTER, live
    )
    subject = select(si.value).where(
        si.resource_type == "Encounter",
        si.resource_id == _ENCOUNTER,
        si.param == "subject",
        si.system == "Patient",
    )
    patient = select(r.resource_type, r.id, r.content).where(
        r.resource_type == "Patient", r.id.in_(subject), live
    )
    linked = (
        select(si.resource_type, si.resource_id)
        .where(
            si.resource_type.in_(sorted(CLINICAL_TYPES.values())),
            si.param == "encounter",
            si.value == _ENCOUNTER,
            si.system == "Encounter",
        )
        .distinct()
        .subquery()
    )
    clinical = (
        select(r.resource_type, r.id, r.content)
        .join(linked, (r.resource_type == linked.c.resource_type) & (r.id == linked.c.resource_id))
        .where(live)
    )
    return union_all(encounter, patient, clinical)


#: Built once: a call only binds the encounter id.
RECORD_STATEMENT = _record_statement()


async def store_record(db: Database, encounter_id: str) -> EncounterRecord | None:
    """The record of ``encounter_id``, or None when the store has no live Encounter of that id."""
    async with db.session() as session:
        rows = (await session.execute(RECORD_STATEMENT, {"encounter_id": encounter_id})).all()
    by_type: dict[str, list[tuple[str, Resource]]] = {}
    for rtype, rid, content in rows:
        by_type.setdefault(rtype, []).append((rid, orjson.loads(content)))
    encounters = by_type.pop("Encounter", [])
    if not encounters:
        return None
    patients = by_type.pop("Patient", [])
    record = EncounterRecord(patient=patients[0][1] if patients else None, encounter=encounters[0][1])
    for attr, rtype in CLINICAL_TYPES.items():
        setattr(record, attr, [resource for _, resource in sorted(by_type.get(rtype, []), key=_first)])
    record.notes = notes_of(record.document_references, record.compositions)
    return record


def _first(item: tuple[str, Resource]) -> str:
    return item[0]
