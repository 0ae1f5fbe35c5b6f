"""Encounter records from any source that can read and search FHIR resources (template method)."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod

from fhir_ops.data_access.record import CLINICAL_TYPES, EncounterRecord, Resource, notes_of
from fhir_ops.errors import NotFound
from fhir_ops.search.indexer import normalise_reference

#: The search parameter that links each clinical type to its encounter.
ENCOUNTER_PARAM = {"MedicationAdministration": "context"}


class SearchingSource(ABC):
    """A :class:`ClinicalDataSource` built from two primitives its subclasses provide: read and search."""

    @abstractmethod
    async def read(self, resource_type: str, resource_id: str) -> Resource:
        """One resource; raises :class:`fhir_ops.errors.NotFound` when there is none."""

    @abstractmethod
    async def search_all(self, resource_type: str, params: list[tuple[str, str]]) -> list[Resource]:
        """Every match of a search, all pages."""

    async def encounter_record(self, encounter_id: str) -> EncounterRecord:
        encounter = await self.read("Encounter", encounter_id)
        lists = await asyncio.gather(
            *(
                self.search_all(
                    rtype, [(ENCOUNTER_PARAM.get(rtype, "encounter"), f"Encounter/{encounter_id}")]
                )
                for rtype in CLINICAL_TYPES.values()
            )
        )
        record = EncounterRecord(patient=await self._patient_of(encounter), encounter=encounter)
        for attr, resources in zip(CLINICAL_TYPES, lists, strict=True):
            setattr(record, attr, resources)
        record.notes = notes_of(record.document_references, record.compositions)
        return record

    async def patient_encounters(self, patient_id: str) -> list[Resource]:
        return await self.search_all("Encounter", [("patient", f"Patient/{patient_id}"), ("_sort", "-date")])

    async def _patient_of(self, encounter: Resource) -> Resource | None:
        subject = (encounter.get("subject") or {}).get("reference")
        if not isinstance(subject, str):
            return None
        ref_type, ref_id = normalise_reference(subject)
        if ref_type != "Patient":
            return None
        try:
            return await self.read("Patient", ref_id)
        except NotFound:
            return None
