"""Encounter records read from any :class:`ResourceRepository` (the embedded store by default)."""

from __future__ import annotations

from fhir_ops.data_access.record import EncounterRecord, Resource
from fhir_ops.data_access.searching import SearchingSource
from fhir_ops.data_access.store_record import store_record
from fhir_ops.store.concurrency import translated
from fhir_ops.store.protocol import ResourceRepository
from fhir_ops.store.sql_repository import SqlRepository


class RepositorySource(SearchingSource):
    """:class:`ClinicalDataSource` over a repository. On the embedded SQL store a record is one statement
    (:mod:`fhir_ops.data_access.store_record`); on any other repository, one search per resource type."""

    def __init__(self, repo: ResourceRepository, *, page_size: int = 1000) -> None:
        self.repo = repo
        self.page_size = page_size

    async def encounter_record(self, encounter_id: str) -> EncounterRecord:
        if not isinstance(self.repo, SqlRepository):
            return await super().encounter_record(encounter_id)
        with translated():
            record = await store_record(self.repo.db, encounter_id)
        if record is None:  # the read says why: unknown, deleted (410) or not a valid id
            await self.repo.read("Encounter", encounter_id)
            raise AssertionError(
                f"Encounter/{encounter_id} is readable but was not found"
            )  # pragma: no cover
        return record

    async def read(self, resource_type: str, resource_id: str) -> Resource:
        return await self.repo.read(resource_type, resource_id)

    async def search_all(self, resource_type: str, params: list[tuple[str, str]]) -> list[Resource]:
        """Every match, page by page, without counting them (``_total=none``: the page size plus one row
        tells whether another page follows)."""
        out: list[Resource] = []
        offset = 0
        while True:
            page = await self.repo.search(
                resource_type,
                [*params, ("_count", str(self.page_size)), ("_offset", str(offset)), ("_total", "none")],
            )
            out.extend(page.matches)
            offset += self.page_size
            if offset >= page.total or not page.matches:
                return out
