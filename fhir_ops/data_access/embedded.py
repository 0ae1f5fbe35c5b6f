"""Encounter records read from any :class:`ResourceRepository` (the embedded store by default)."""

from __future__ import annotations

import asyncio

from fhir_ops.data_access.record import CLINICAL_TYPES, EncounterRecord, Resource, notes_of
from fhir_ops.errors import NotFound
from fhir_ops.search.indexer import normalise_reference
from fhir_ops.store.protocol import ResourceRepository

_ENCOUNTER_PARAM = {"MedicationAdministration": "context"}


class RepositorySource:
    """:class:`ClinicalDataSource` over a repository: one search per resource type, run concurrently."""

    def __init__(self, repo: ResourceRepository, *, page_size: int = 1000) -> None:
        self.repo = repo
        self.page_size = page_size

    async def _all(self, resource_type: str, params: list[tuple[str, str]]) -> list[Resource]:
        out: list[Resource] = []
        offset = 0
        while True:
            page = await self.repo.search(
                resource_type, [*params, ("_count", str(self.page_size)), ("_offset", str(offset))]
            )
            out.extend(page.matches)
            offset += self.page_size
            if offset >= page.total or not page.matches:
                return out

    async def encounter_record(self, encounter_id: str) -> EncounterRecord:
        encounter = await self.repo.read("Encounter", encounter_id)
        patient: Resource | None = None
        subject = (encounter.get("subject") or {}).get("reference")
        if isinstance(subject, str):
            ref_type, ref_id = normalise_reference(subject)
            if ref_type == "Patient":
                try:
                    patient = await self.repo.read("Patient", ref_id)
                except NotFound:
                    patient = None
        lists = await asyncio.gather(
            *(
                self._all(rtype, [(_ENCOUNTER_PARAM.get(rtype, "encounter"), f"Encounter/{encounter_id}")])
                for rtype in CLINICAL_TYPES.values()
            )
        )
        record = EncounterRecord(patient=patient, encounter=encounter)
        for attr, resources in zip(CLINICAL_TYPES, lists, strict=True):
            setattr(record, attr, resources)
        record.notes = notes_of(record.document_references, record.compositions)
        return record

    async def patient_encounters(self, patient_id: str) -> list[Resource]:
        return await self._all("Encounter", [("patient", f"Patient/{patient_id}"), ("_sort", "-date")])
