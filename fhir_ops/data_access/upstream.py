"""Encounter records read from the hospital's FHIR server with the ``fhirpy`` async client."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from fhirpy import AsyncFHIRClient
from fhirpy.base.exceptions import BaseFHIRError, ResourceNotFound
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from fhir_ops.data_access.record import Resource
from fhir_ops.data_access.searching import SearchingSource
from fhir_ops.errors import NotFound, UpstreamUnavailable

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


class UpstreamSource(SearchingSource):
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

    async def read(self, resource_type: str, resource_id: str) -> Resource:
        try:
            res = await self._retry(lambda: self.client.reference(resource_type, resource_id).to_resource())
        except ResourceNotFound as exc:
            raise NotFound(f"{resource_type}/{resource_id} is not known to {self.base_url}") from exc
        except _FAILURES as exc:
            raise UpstreamUnavailable(f"FHIR server {self.base_url} failed: {type(exc).__name__}") from exc
        return dict(res.serialize())

    async def search_all(self, resource_type: str, params: list[tuple[str, str]]) -> list[Resource]:
        search = self.client.resources(resource_type).search(**dict(params)).limit(self.page_size)
        try:
            found = await self._retry(search.fetch_all)
        except _FAILURES as exc:
            raise UpstreamUnavailable(f"FHIR server {self.base_url} failed: {type(exc).__name__}") from exc
        return [dict(r.serialize()) for r in found]
