"""Encounter records read from any :class:`ResourceRepository` (the embedded store by default)."""

from __future__ import annotations

from fhir_ops.data_access.record import Resource
from fhir_ops.data_access.searching import SearchingSource
from fhir_ops.store.protocol import ResourceRepository


class RepositorySource(SearchingSource):
    """:class:`ClinicalDataSource` over a repository: one search per resource type, run concurrently."""

    def __init__(self, repo: ResourceRepository, *, page_size: int = 1000) -> None:
        self.repo = repo
        self.page_size = page_size

    async def read(self, resource_type: str, resource_id: str) -> Resource:
        return await self.repo.read(resource_type, resource_id)

    async def search_all(self, resource_type: str, params: list[tuple[str, str]]) -> list[Resource]:
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
