"""A small in-memory ResourceRepository for measure tests and the benchmark.

Implements what MedQC's measure code asks of the store: read, create/update, and search by
``_id``/``url``/``version``/``name`` on definitional types and ``patient``/``subject``/``beneficiary``
on clinical types (``_count``/``_offset`` paging). A comma in a value ORs the alternatives, as in
FHIR search (``patient=a,b``).
"""

from __future__ import annotations

import copy
import itertools
from collections import defaultdict
from typing import Any

from fhir_ops.errors import NotFound
from fhir_ops.store.protocol import SearchResult

Resource = dict[str, Any]
_REF_PARAMS = {
    "patient": ("subject", "patient", "beneficiary"),
    "subject": ("subject",),
    "beneficiary": ("beneficiary",),
}


class MemoryRepository:
    def __init__(self, resources: list[Resource] | None = None) -> None:
        self._data: dict[str, dict[str, Resource]] = defaultdict(dict)
        self._by_patient: dict[tuple[str, str], list[str]] = defaultdict(list)
        self._ids = itertools.count(1)
        self.searches = 0
        for r in resources or []:
            self.put(r)

    def put(self, resource: Resource) -> Resource:
        resource = copy.deepcopy(resource)
        resource.setdefault("id", f"gen-{next(self._ids)}")
        rtype, rid = resource["resourceType"], resource["id"]
        self._data[rtype][rid] = resource
        for field in ("subject", "patient", "beneficiary"):
            ref = (
                (resource.get(field) or {}).get("reference", "")
                if isinstance(resource.get(field), dict)
                else ""
            )
            if ref.startswith("Patient/"):
                key = (rtype, ref.removeprefix("Patient/"))
                if rid not in self._by_patient[key]:
                    self._by_patient[key].append(rid)
        return resource

    async def read(self, resource_type: str, resource_id: str) -> Resource:
        try:
            return copy.deepcopy(self._data[resource_type][resource_id])
        except KeyError:
            raise NotFound(f"{resource_type}/{resource_id} not found") from None

    async def vread(self, resource_type: str, resource_id: str, version_id: str) -> Resource:
        return await self.read(resource_type, resource_id)

    async def create(self, resource: Resource) -> Resource:
        return self.put(resource)

    async def update(
        self, resource_type: str, resource_id: str, resource: Resource, *, if_match: str | None = None
    ) -> tuple[Resource, bool]:
        created = resource_id not in self._data[resource_type]
        return self.put({**resource, "id": resource_id}), created

    async def delete(self, resource_type: str, resource_id: str) -> None:
        self._data[resource_type].pop(resource_id, None)

    async def search(
        self, resource_type: str, params: list[tuple[str, str]], *, strict: bool = False
    ) -> SearchResult:
        self.searches += 1
        count, offset = 50, 0
        filters = []
        for name, value in params:
            if name == "_count":
                count = int(value)
            elif name == "_offset":
                offset = int(value)
            else:
                filters.append((name, value))
        patient_filter = next(((n, v) for n, v in filters if n in _REF_PARAMS), None)
        if patient_filter is not None:
            candidates: list[Resource] = []
            for value in patient_filter[1].split(","):
                pid = value.removeprefix("Patient/")
                candidates.extend(
                    self._data[resource_type][i] for i in self._by_patient.get((resource_type, pid), [])
                )
        else:
            candidates = list(self._data[resource_type].values())
        matches = [
            r for r in candidates if all(self._match(r, n, v) for n, v in filters if n not in _REF_PARAMS)
        ]
        page = matches[offset : offset + count]
        return SearchResult(matches=copy.deepcopy(page), total=len(matches), offset=offset, count=count)

    @staticmethod
    def _match(resource: Resource, name: str, value: str) -> bool:
        field = "id" if name == "_id" else name.removesuffix(":exact")  # matching here is always exact
        return str(resource.get(field)) in value.split(",")

    async def transaction(self, bundle: Resource) -> Resource:
        for entry in bundle.get("entry", []):
            self.put(entry["resource"])
        return {"resourceType": "Bundle", "type": "transaction-response", "entry": []}
