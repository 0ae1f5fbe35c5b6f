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
        deadline_s: float = 20.0,
        max_pages: int = 50,
    ) -> None:
        """``timeout_s`` bounds one HTTP exchange, ``deadline_s`` a whole read or search (every retry and
        page, bodies included: a server trickling bytes cannot hold a call longer), ``max_pages`` the
        ``next`` links one search follows."""
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
        self.deadline_s = deadline_s
        self.max_pages = max_pages

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
            async with asyncio.timeout(self.deadline_s):
                res = await self._retry(
                    lambda: self.client.reference(resource_type, resource_id).to_resource()
                )
        except ResourceNotFound as exc:
            raise NotFound(f"{resource_type}/{resource_id} is not known to {self.base_url}") from exc
        except _FAILURES as exc:
            raise UpstreamUnavailable(f"FHIR server {self.base_url} failed: {type(exc).__name__}") from exc
        return dict(res.serialize())

    async def search_all(self, resource_type: str, params: list[tuple[str, str]]) -> list[Resource]:
        """Every match of a search, following ``next`` links up to ``max_pages`` pages (then 502)."""
        query: dict[str, Any] = {}
        for key, value in [*params, ("_count", str(self.page_size))]:
            query.setdefault(key, []).append(value)
        found: list[Resource] = []
        try:
            async with asyncio.timeout(self.deadline_s):
                page = await self._retry(lambda: self.client.execute(resource_type, "get", params=query))
                for pages in range(1, self.max_pages + 1):
                    found += _matches(page)
                    next_url = _next_link(page)
                    if next_url is None:
                        return found
                    if pages == self.max_pages:
                        break
                    page = await self._retry(lambda url=next_url: self.client.execute(url, "get"))
        except _FAILURES as exc:
            raise UpstreamUnavailable(f"FHIR server {self.base_url} failed: {type(exc).__name__}") from exc
        raise UpstreamUnavailable(
            f"A {resource_type} search at {self.base_url} has more than {self.max_pages} pages"
        )


def _matches(bundle: Any) -> list[Resource]:
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise UpstreamUnavailable("The FHIR server answered a search with something that is not a Bundle")
    out: list[Resource] = []
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        mode = ((entry.get("search") or {}) if isinstance(entry, dict) else {}).get("mode", "match")
        if isinstance(resource, dict) and mode == "match":
            out.append(resource)
    return out


def _next_link(bundle: Resource) -> str | None:
    for link in bundle.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return str(link["url"])
    return None
