"""CDS Hooks prefetch as a :class:`ClinicalDataSource`.

A service declares prefetch templates (``key`` → ``Patient/{{context.patientId}}``). For a call, each
key is answered by the prefetch the CDS client sent or, when the key is absent (or the client put an
OperationOutcome there, meaning it failed to prefetch), fetched from the client's ``fhirServer`` with
the ``fhirAuthorization`` bearer token. A key present with value ``null`` means "no data" and is not
fetched. Data that cannot be obtained raises :class:`fhir_ops.errors.PreconditionFailed` (412).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, quote

import httpx

from fhir_ops.data_access.record import EncounterRecord, Resource, record_from_resources
from fhir_ops.errors import NotFound, PreconditionFailed

_TOKEN = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
_USER_TOKENS = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}


def render_template(template: str, context: Mapping[str, Any]) -> str | None:
    """Fill ``{{context.x}}`` and ``{{userPractitionerId}}``-style tokens; None if one has no value.

    >>> render_template("Condition?patient={{context.patientId}}", {"patientId": "p 1"})
    'Condition?patient=p%201'
    >>> render_template("PractitionerRole?_id={{userPractitionerRoleId}}", {"userId": "Practitioner/9"})
    """
    missing = False

    def substitute(match: re.Match[str]) -> str:
        nonlocal missing
        value = _token_value(match.group(1), context)
        if value is None:
            missing = True
            return ""
        return quote(value, safe="")

    rendered = _TOKEN.sub(substitute, template)
    return None if missing else rendered


def _token_value(token: str, context: Mapping[str, Any]) -> str | None:
    if token.startswith("context."):
        value = context.get(token.removeprefix("context."))
        return str(value) if isinstance(value, str | int) and str(value) else None
    resource_type = _USER_TOKENS.get(token)
    user = context.get("userId")
    if resource_type and isinstance(user, str) and user.startswith(resource_type + "/"):
        return user.removeprefix(resource_type + "/") or None
    return None


class FhirServerClient:
    """Reads from the CDS client's FHIR server. The bearer token is sent to that server only."""

    def __init__(
        self,
        base_url: str,
        *,
        access_token: str | None,
        http: httpx.AsyncClient,
        timeout_s: float = 3.0,
        max_pages: int = 20,
        deadline_s: float = 10.0,
    ) -> None:
        """``timeout_s`` bounds one GET with its whole body (a server trickling bytes is cut off),
        ``deadline_s`` one read or search with all its pages, ``max_pages`` the pages a search follows."""
        self.base_url = base_url.rstrip("/")
        self._token = access_token
        self._http = http
        self._timeout_s = timeout_s
        self._max_pages = max_pages
        self._deadline_s = deadline_s

    def __repr__(self) -> str:
        return f"FhirServerClient({self.base_url!r})"

    async def fetch(self, relative: str) -> Resource | None:
        """GET ``relative`` (a read or a search); searches follow ``next`` links unless they ask for one page
        (``_count``, e.g. the 5 latest encounters). None: no such resource."""
        try:
            async with asyncio.timeout(self._deadline_s):
                resource = await self._get(f"{self.base_url}/{relative.lstrip('/')}")
                one_page = asks_for_one_page(relative)
                if resource is None or resource.get("resourceType") != "Bundle" or one_page:
                    return resource
                return await self._complete(resource)
        except TimeoutError as exc:
            raise PreconditionFailed(f"fhirServer did not answer within {self._deadline_s}s") from exc

    async def complete(self, bundle: Resource) -> Resource:
        """The bundle with the entries of every following page (within the deadline)."""
        try:
            async with asyncio.timeout(self._deadline_s):
                return await self._complete(bundle)
        except TimeoutError as exc:
            raise PreconditionFailed(f"fhirServer did not page within {self._deadline_s}s") from exc

    async def _complete(self, bundle: Resource) -> Resource:
        entries = list(bundle.get("entry") or [])
        page, pages = bundle, 1
        while (next_url := _next_link(page)) is not None:
            if pages >= self._max_pages:
                raise PreconditionFailed(f"search at {self.base_url} has more than {self._max_pages} pages")
            if not self._owns(next_url):
                raise PreconditionFailed("a next link points outside fhirServer; not following it")
            fetched = await self._get(next_url)
            if fetched is None or fetched.get("resourceType") != "Bundle":
                raise PreconditionFailed("a next page of a search could not be read")
            page, pages = fetched, pages + 1
            entries.extend(page.get("entry") or [])
        links = [link for link in bundle.get("link") or [] if link.get("relation") != "next"]
        return {**bundle, "entry": entries, "link": links}

    def _owns(self, url: str) -> bool:
        return url == self.base_url or url.startswith((self.base_url + "/", self.base_url + "?"))

    async def _get(self, url: str) -> Resource | None:
        headers = {"Accept": "application/fhir+json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            async with asyncio.timeout(self._timeout_s):  # the whole exchange, body included
                response = await self._http.get(url, headers=headers, timeout=self._timeout_s)
        except (httpx.HTTPError, TimeoutError) as exc:
            raise PreconditionFailed(f"fhirServer unreachable: {type(exc).__name__}") from exc
        if response.status_code in (404, 410):
            return None
        if response.status_code != 200:
            raise PreconditionFailed(f"fhirServer answered {response.status_code} for a prefetch query")
        try:
            body = response.json()
        except ValueError as exc:
            raise PreconditionFailed("fhirServer answered with something that is not JSON") from exc
        if not isinstance(body, dict):
            raise PreconditionFailed("fhirServer answered with something that is not a FHIR resource")
        return body


def asks_for_one_page(query: str) -> bool:
    """True for a search that sets its page size: its first page is the answer, not the whole result.

    >>> asks_for_one_page("Encounter?patient=1&_sort=-date&_count=5")
    True
    >>> asks_for_one_page("Condition?patient=1")
    False
    """
    _, _, params = query.partition("?")
    return "_count" in parse_qs(params)


def _next_link(bundle: Resource) -> str | None:
    for link in bundle.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return str(link["url"])
    return None


def _is_failure(value: object) -> bool:
    """A prefetch slot the client filled with an OperationOutcome: it could not prefetch it."""
    return isinstance(value, dict) and value.get("resourceType") == "OperationOutcome"


class PrefetchSource:
    """A :class:`ClinicalDataSource` over one hook call's prefetch (plus the client's fhirServer)."""

    def __init__(
        self,
        *,
        templates: Mapping[str, str],
        context: Mapping[str, Any],
        prefetch: Mapping[str, Any] | None,
        server: FhirServerClient | None,
    ) -> None:
        self._templates = dict(templates)
        self._context = dict(context)
        self._prefetch = dict(prefetch or {})
        self._server = server
        self._resolved: dict[str, Resource | None] | None = None
        self._lock = asyncio.Lock()

    async def resolve(self) -> dict[str, Resource | None]:
        """Every template key → its resource or Bundle, or None for "no data"."""
        async with self._lock:
            if self._resolved is None:
                keys = list(self._templates)
                values = await asyncio.gather(*(self._slot(k) for k in keys))
                self._resolved = dict(zip(keys, values, strict=True))
            return self._resolved

    async def _slot(self, key: str) -> Resource | None:
        if key in self._prefetch and not _is_failure(self._prefetch[key]):
            value = self._prefetch[key]
            if value is None:
                return None
            if not isinstance(value, dict):
                raise PreconditionFailed(f"prefetch {key!r} is not a FHIR resource")
            paged = _next_link(value) is not None and not asks_for_one_page(self._templates[key])
            if value.get("resourceType") == "Bundle" and paged:
                if self._server is None:
                    raise PreconditionFailed(f"prefetch {key!r} is paged and there is no fhirServer to page")
                return await self._server.complete(value)
            return value
        if self._server is None:
            raise PreconditionFailed(f"prefetch {key!r} is missing and there is no fhirServer to fetch it")
        query = render_template(self._templates[key], self._context)
        if query is None:
            raise PreconditionFailed(f"prefetch {key!r} needs context the request does not carry")
        return await self._server.fetch(query)

    async def resources(self) -> list[Resource]:
        """The resources of every slot, Bundles flattened, without OperationOutcomes or duplicates."""
        seen: set[tuple[str, str]] = set()
        out: list[Resource] = []
        for value in (await self.resolve()).values():
            for resource in _flatten(value):
                ident = (str(resource.get("resourceType")), str(resource.get("id", id(resource))))
                if ident not in seen:
                    seen.add(ident)
                    out.append(resource)
        return out

    async def encounter_record(self, encounter_id: str) -> EncounterRecord:
        record = record_from_resources(await self.resources(), encounter_id)
        if record.encounter is None:
            raise NotFound(f"Encounter/{encounter_id} is not in the prefetched or fetched data")
        return record

    async def patient_encounters(self, patient_id: str) -> list[Resource]:
        target = f"Patient/{patient_id}"
        return [
            r
            for r in await self.resources()
            if r.get("resourceType") == "Encounter"
            and str(((r.get("subject") or {}).get("reference")) or target).endswith(target)
        ]


def _flatten(value: Resource | None) -> list[Resource]:
    if value is None:
        return []
    if value.get("resourceType") != "Bundle":
        return [value]
    out: list[Resource] = []
    for entry in value.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") not in (None, "OperationOutcome"):
            out.append(resource)
    return out
