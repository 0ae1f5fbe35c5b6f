"""The resource repository seam: what every part of MedQC may ask of a FHIR store.

Resources travel as plain JSON dicts (R4, validated on the way in by :mod:`fhir_ops.validation`);
``fhir.resources.R4B`` models are used at the edges where typed access helps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

Resource = dict[str, Any]
SearchParams = list[tuple[str, str]]


@dataclass(slots=True)
class SearchResult:
    """One page of a search: the matches, the total, ``_include``d resources and warnings."""

    matches: list[Resource]
    total: int
    included: list[Resource] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    offset: int = 0
    count: int = 50
    #: False with ``_total=none``: ``total`` is then only a bound for paging (``offset + len(matches)``,
    #: plus one when a next page exists) and is not shown as ``Bundle.total``
    total_known: bool = True


def weak_etag(resource: Resource) -> str:
    """The ETag of a stored resource: ``W/"<versionId>"``."""
    return f'W/"{(resource.get("meta") or {}).get("versionId", "1")}"'


class ResourceRepository(Protocol):
    """CRUD + search + transaction over FHIR resources. Errors are :class:`fhir_ops.errors.FhirError`."""

    async def read(self, resource_type: str, resource_id: str) -> Resource: ...

    async def vread(self, resource_type: str, resource_id: str, version_id: str) -> Resource: ...

    async def create(self, resource: Resource) -> Resource: ...

    async def update(
        self, resource_type: str, resource_id: str, resource: Resource, *, if_match: str | None = None
    ) -> tuple[Resource, bool]:
        """Create-or-update; returns the stored resource and whether it was created."""
        ...

    async def delete(self, resource_type: str, resource_id: str) -> None: ...

    async def search(self, resource_type: str, params: SearchParams, *, strict: bool = False) -> SearchResult:
        """FHIR search. ``params`` are the raw query pairs (``code``→``http://loinc.org|1234-5``)."""
        ...

    async def transaction(self, bundle: Resource) -> Resource:
        """Process a ``transaction`` (all-or-nothing) or ``batch`` Bundle; returns the response Bundle."""
        ...
