"""Encounter records read from the hospital's FHIR server with the ``fhirpy`` async client."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from fhirpy import AsyncFHIRClient
from fhirpy.base.exceptions import BaseFHIRError, ResourceNotFound
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from fhir_ops.data_access.record import CLINICAL_TYPES, EncounterRecord, Resource, notes_of
from fhir_ops.errors import NotFound, UpstreamUnavailable
from fhir_ops.search.indexer import normalise_reference

_ENCOUNTER_PARAM = {"MedicationAdministration": "context"}
_RETRY_STATUSES = {429, 502, 503, 504}


class RetryableStatus(Exception):
    """The server answered 429/502/503/504: worth another try after a pause."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


async def _raise_retryable(response: aiohttp.ClientResponse) -> None:
    if response.status in _RETRY_STATUSES:
        raise RetryableStatus(response.status)


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, RetryableStatus | aiohttp.ClientConnectionError | asyncio.TimeoutError)


_FAILURES = (BaseFHIRError, RetryableStatus, aiohttp.ClientError, asyncio.TimeoutError, OSError)


class UpstreamSource:
    """:class:`ClinicalDataSource` over an external FHIR R4 server (bearer token, paging, retries)."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout_s: float = 10.0,
        attempts: int = 4,
        page_size: int = 200,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = AsyncFHIRClient(
            self.base_url,
            authorization=f"Bearer {token}" if token else None,
            aiohttp_config={
                "timeout": aiohttp.ClientTimeout(total=timeout_s),
                "raise_for_status": _raise_retryable,
            },
        )
        self.timeout_s = timeout_s
        self.attempts = attempts
        self.page_size = page_size

    async def _retry(self, make: Any) -> Any:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(_retryable),
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=0.2, max=3),
            reraise=True,
        ):
            with attempt:
                return await asyncio.wait_for(make(), self.timeout_s)
        raise AssertionError("unreachable")

    async def _read(self, resource_type: str, resource_id: str) -> Resource:
        try:
            res = await self._retry(lambda: self.client.reference(resource_type, resource_id).to_resource())
        except ResourceNotFound as exc:
            raise NotFound(f"{resource_type}/{resource_id} is not known to {self.base_url}") from exc
        except _FAILURES as exc:
            raise UpstreamUnavailable(f"FHIR server {self.base_url} failed: {type(exc).__name__}") from exc
        return dict(res.serialize())

    async def _search(self, resource_type: str, **params: str) -> list[Resource]:
        search = self.client.resources(resource_type).search(**params).limit(self.page_size)
        try:
            found = await self._retry(search.fetch_all)
        except _FAILURES as exc:
            raise UpstreamUnavailable(f"FHIR server {self.base_url} failed: {type(exc).__name__}") from exc
        return [dict(r.serialize()) for r in found]

    async def encounter_record(self, encounter_id: str) -> EncounterRecord:
        encounter = await self._read("Encounter", encounter_id)
        patient = None
        subject = (encounter.get("subject") or {}).get("reference")
        if isinstance(subject, str):
            ref_type, ref_id = normalise_reference(subject)
            if ref_type == "Patient":
                patient = await self._read("Patient", ref_id)
        lists = await asyncio.gather(
            *(
                self._search(rtype, **{_ENCOUNTER_PARAM.get(rtype, "encounter"): f"Encounter/{encounter_id}"})
                for rtype in CLINICAL_TYPES.values()
            )
        )
        record = EncounterRecord(patient=patient, encounter=encounter)
        for attr, resources in zip(CLINICAL_TYPES, lists, strict=True):
            setattr(record, attr, resources)
        record.notes = notes_of(record.document_references, record.compositions)
        return record

    async def patient_encounters(self, patient_id: str) -> list[Resource]:
        return await self._search("Encounter", patient=f"Patient/{patient_id}", _sort="-date")
