"""FastAPI adapter of the FHIR facade: thin routes over the repository and the operation registry."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable
from datetime import datetime
from email.utils import format_datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode

import orjson
from fastapi import APIRouter, Depends, Request, Response
from starlette.routing import Match

from fhir_ops.errors import (
    BadRequest,
    ClientClosedRequest,
    FhirError,
    MethodNotAllowed,
    NotAcceptable,
    PayloadTooLarge,
    UnsupportedMediaType,
    information_outcome,
)
from fhir_ops.operations.registry import Level, Operation, OperationRequest
from fhir_ops.search.subsetting import Subset, apply_subset, subset_from
from fhir_ops.store.history import HistoryPage, parse_history_params
from fhir_ops.store.protocol import SearchResult, weak_etag
from fhir_ops.validation import check_json

T = TypeVar("T")
FHIR_JSON = "application/fhir+json"
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
_XML_FORMATS = frozenset(
    {"xml", "text/xml", "application/xml", "application/fhir+xml", "application/xml+fhir"}
)
_JSON_FORMATS = frozenset({"json", "application/json", "application/fhir+json", "application/json+fhir"})
_PATCH_FORMATS = _JSON_FORMATS | {JSON_PATCH, MERGE_PATCH}
_RESOURCE_SCHEMA = {"type": "object", "additionalProperties": True}
_JSON_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            FHIR_JSON: {"schema": _RESOURCE_SCHEMA},
            "application/json": {"schema": _RESOURCE_SCHEMA},
        },
    }
}
_OUTCOME = {"description": "OperationOutcome", "content": {FHIR_JSON: {"schema": _RESOURCE_SCHEMA}}}
_ERROR_STATUSES = (400, 401, 403, 404, 405, 406, 409, 410, 412, 413, 415, 422, 502, 503)
_ERRORS: dict[int | str, dict[str, Any]] = dict.fromkeys(_ERROR_STATUSES, _OUTCOME)


class FhirResponse(Response):
    media_type = FHIR_JSON

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def fhir(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> FhirResponse:
    return FhirResponse(content=content, status_code=status, headers=headers)


async def read_json(request: Request, *, media_types: frozenset[str] = _JSON_FORMATS) -> Any:
    """The request body as JSON, or a FHIR error (415 wrong media type, 413 too large, 400 not JSON)."""
    content_type = request.headers.get("content-type", FHIR_JSON).split(";")[0].strip().lower()
    if content_type not in media_types | {""}:
        expected = FHIR_JSON if FHIR_JSON in media_types else JSON_PATCH
        raise UnsupportedMediaType(f"Content-Type '{content_type}' is not supported; use {expected}")
    body = await request.body()
    limit = request.app.state.services.settings.max_body_bytes
    if len(body) > limit:
        raise PayloadTooLarge(f"The request body exceeds {limit} bytes")
    if not body:
        raise BadRequest("The request body is empty")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"The request body is not valid JSON: {exc}") from exc
    check_json(data)
    return data


def _strict(request: Request) -> bool:
    prefer = request.headers.get("prefer", "")
    return any(p.strip() == "handling=strict" for p in prefer.split(";") + prefer.split(","))


def negotiate(request: Request) -> None:
    """406 when the client asks for XML (``_format`` or an ``Accept`` without any JSON or wildcard):
    MedQC speaks FHIR JSON only, as its CapabilityStatement says."""
    fmt = request.query_params.get("_format")
    if fmt is not None:
        fmt = fmt.split(";")[0].strip().lower()
        if fmt in _XML_FORMATS:
            raise NotAcceptable(f"_format={fmt} is not supported: this server produces {FHIR_JSON} only")
        if fmt not in _JSON_FORMATS:
            raise BadRequest(f"Unknown _format '{fmt[:40]}'; use json", expression=["_format"])
    accept = request.headers.get("accept")
    if not accept:
        return
    kinds = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    if kinds & _XML_FORMATS and not kinds & (_JSON_FORMATS | {"*/*", "application/*", ""}):
        raise NotAcceptable(f"Accept '{accept[:80]}' is not supported: this server produces {FHIR_JSON} only")


def http_date(instant: str | None) -> str:
    """A FHIR instant as an HTTP-date (``Last-Modified``).

    >>> http_date("2026-03-01T10:20:30.123Z")
    'Sun, 01 Mar 2026 10:20:30 GMT'
    """
    if not instant:
        return ""
    try:
        return format_datetime(datetime.fromisoformat(instant.replace("Z", "+00:00")), usegmt=True)
    except ValueError:
        return ""


def _headers_for(resource: dict[str, Any], base: str) -> dict[str, str]:
    meta = resource.get("meta") or {}
    version = meta.get("versionId", "1")
    headers = {
        "ETag": weak_etag(resource),
        "Location": f"{base}/{resource['resourceType']}/{resource['id']}/_history/{version}",
    }
    modified = http_date(meta.get("lastUpdated"))
    if modified:
        headers["Last-Modified"] = modified
    return headers


def _prefer_return(request: Request) -> str:
    """The ``Prefer: return=`` of a write: minimal, representation (default) or OperationOutcome."""
    for part in request.headers.get("prefer", "").replace(";", ",").split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "return" and value.strip().strip('"') in {"minimal", "OperationOutcome"}:
            return value.strip().strip('"')
    return "representation"


def written(request: Request, resource: dict[str, Any], status: int, message: str) -> Response:
    """The answer to a create/update/patch: headers always, the body the client's ``Prefer`` asks for."""
    headers = _headers_for(resource, request.app.state.services.settings.fhir_base)
    preference = _prefer_return(request)
    if preference == "minimal":
        return Response(status_code=status, headers=headers)
    if preference == "OperationOutcome":
        return fhir(information_outcome(message), status, headers)
    return fhir(resource, status, headers)


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    """The methods some route fully matches on this path (the ``Allow`` header of a 405)."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)
    ]


def method_not_allowed(request: Request) -> Response:
    """405 with ``Allow`` naming the methods the path does answer."""
    allow = ", ".join(allowed_methods(request))
    return error_response(
        MethodNotAllowed(
            f"{request.method} is not allowed on this endpoint (allowed: {allow})", headers={"Allow": allow}
        )
    )


def _paging_links(
    url: str, params: list[tuple[str, str]], *, offset: int, count: int, total: int
) -> list[dict[str, str]]:
    kept = [(k, v) for k, v in params if k not in {"_offset"}]

    def link(relation: str, at: int) -> dict[str, str]:
        query = urlencode([*kept, ("_offset", str(at))] if at else kept)
        return {"relation": relation, "url": url + (f"?{query}" if query else "")}

    links = [link("self", offset)]
    if count and offset + count < total:
        links.append(link("next", offset + count))
    if offset > 0:
        links.append(link("previous", max(0, offset - count)))
    return links


def searchset(
    result: SearchResult,
    *,
    base: str,
    resource_type: str,
    params: list[tuple[str, str]],
    subset: Subset | None = None,
) -> dict[str, Any]:
    """A searchset Bundle with total, self/next/previous links, included resources and warnings."""
    links = _paging_links(
        f"{base}/{resource_type}", params, offset=result.offset, count=result.count, total=result.total
    )
    shown = subset or Subset()
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
            "resource": apply_subset(r, shown),
            "search": {"mode": "match"},
        }
        for r in result.matches
    ]
    entries += [
        {
            "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
            "resource": apply_subset(r, shown),
            "search": {"mode": "include"},
        }
        for r in result.included
    ]
    if result.warnings:
        entries.append(
            {
                "resource": {
                    "resourceType": "OperationOutcome",
                    "issue": [
                        {"severity": "warning", "code": "not-supported", "diagnostics": w}
                        for w in result.warnings
                    ],
                },
                "search": {"mode": "outcome"},
            }
        )
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
    if result.total_known:  # ``_total=none``: FHIR lets the server leave the total out
        bundle["total"] = result.total
    bundle["link"] = links
    if entries:
        bundle["entry"] = entries
    return bundle


def history_bundle(
    page: HistoryPage, *, base: str, path: str, params: list[tuple[str, str]]
) -> dict[str, Any]:
    """A ``history`` Bundle: each version with the request that made it and its response."""
    entries: list[dict[str, Any]] = []
    for version in page.entries:
        ref = f"{version.resource_type}/{version.id}"
        stamp = version.resource.get("meta", {}).get("lastUpdated") or version.last_updated.isoformat()
        response = {"status": "200 OK", "etag": f'W/"{version.version}"', "lastModified": stamp}
        entry: dict[str, Any] = {"fullUrl": f"{base}/{ref}"}
        if version.deleted:
            entry["request"] = {"method": "DELETE", "url": ref}
            response = {"status": "204 No Content", "etag": f'W/"{version.version}"', "lastModified": stamp}
        elif version.version == 1:
            entry["resource"] = version.resource
            entry["request"] = {"method": "POST", "url": version.resource_type}
            response["status"] = "201 Created"
        else:
            entry["resource"] = version.resource
            entry["request"] = {"method": "PUT", "url": ref}
        entry["response"] = response
        entries.append(entry)
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "history",
        "total": page.total,
        "link": _paging_links(
            f"{base}{path}", params, offset=page.offset, count=page.count, total=page.total
        ),
    }
    if entries:
        bundle["entry"] = entries
    return bundle


def build_router(operations: Iterable[Operation] = ()) -> APIRouter:
    router = APIRouter(prefix="/fhir", tags=["fhir"], responses=_ERRORS, dependencies=[Depends(negotiate)])

    @router.get("/metadata", summary="CapabilityStatement")
    async def metadata(request: Request) -> FhirResponse:
        return fhir(request.app.state.services.capability_statement())

    @router.post("", summary="Process a transaction or batch Bundle", openapi_extra=_JSON_BODY)
    @router.post("/", include_in_schema=False)
    async def transaction(request: Request) -> FhirResponse:
        body = await read_json(request)
        return fhir(await request.app.state.services.repo.transaction(body))

    @router.get("/_history", summary="History of every resource")
    async def system_history(request: Request) -> FhirResponse:
        return await _history(request, None, None)

    for operation in operations:
        _add_operation_routes(router, operation)

    @router.get("/{resource_type}/_history", summary="History of a resource type")
    async def type_history(request: Request, resource_type: str) -> FhirResponse:
        return await _history(request, resource_type, None)

    @router.get("/{resource_type}/{resource_id}/_history", summary="History of a resource")
    async def instance_history(request: Request, resource_type: str, resource_id: str) -> FhirResponse:
        return await _history(request, resource_type, resource_id)

    @router.get("/{resource_type}", summary="Search")
    async def search(request: Request, resource_type: str) -> FhirResponse:
        return await _search(request, resource_type, list(request.query_params.multi_items()))

    @router.post("/{resource_type}/_search", summary="Search (form POST)")
    async def search_post(request: Request, resource_type: str) -> FhirResponse:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body = await request.body()
        if body and content_type != "application/x-www-form-urlencoded":
            raise UnsupportedMediaType("POST _search takes application/x-www-form-urlencoded parameters")
        try:
            form = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=bool(body))
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadRequest(f"The form body could not be parsed: {exc}") from exc
        params = form + list(request.query_params.multi_items())
        return await _search(request, resource_type, params)

    @router.post(
        "/{resource_type}",
        summary="Create (conditional with If-None-Exist or search criteria in the query)",
        status_code=201,
        openapi_extra=_JSON_BODY,
        responses={200: {"description": "Conditional create: the one existing match"}},
    )
    async def create(request: Request, resource_type: str) -> Response:
        services = request.app.state.services
        body = await read_json(request)
        if_none_exist = request.headers.get("if-none-exist")
        criteria = [(k, v) for k, v in request.query_params.multi_items() if k != "_format"]
        if if_none_exist is None and criteria:  # POST Type?criteria: conditional create (fhirpy, Aidbox)
            if_none_exist = urlencode(criteria)
        if if_none_exist is not None:
            entry = await services.repo.conditional(
                "POST", resource_type, body, if_none_exist=if_none_exist.lstrip("?")
            )
            return _entry_answer(request, entry)
        stored = await services.repo.create(body, expected_type=resource_type)
        return written(request, stored, 201, f"Created {resource_type}/{stored['id']}")

    @router.put(
        "/{resource_type}",
        summary="Conditional update",
        openapi_extra=_JSON_BODY,
        responses={201: {"description": "Created: nothing matched the criteria"}},
    )
    async def conditional_update(request: Request, resource_type: str) -> Response:
        body = await read_json(request)
        entry = await request.app.state.services.repo.conditional(
            "PUT", _criteria_url(request, resource_type), body, if_match=request.headers.get("if-match")
        )
        return _entry_answer(request, entry)

    @router.delete("/{resource_type}", summary="Conditional delete", status_code=204)
    async def conditional_delete(request: Request, resource_type: str) -> Response:
        await request.app.state.services.repo.conditional("DELETE", _criteria_url(request, resource_type))
        return Response(status_code=204)

    @router.get("/{resource_type}/{resource_id}", summary="Read")
    async def read(request: Request, resource_type: str, resource_id: str) -> FhirResponse:
        services = request.app.state.services
        subset = subset_from(list(request.query_params.multi_items()))
        resource = await services.repo.read(resource_type, resource_id)
        headers = _headers_for(resource, services.settings.fhir_base)
        headers.pop("Location")
        return fhir(apply_subset(resource, subset), 200, headers)

    @router.put(
        "/{resource_type}/{resource_id}",
        summary="Update (or create with this id)",
        openapi_extra=_JSON_BODY,
        responses={201: {"description": "Created with this id"}},
    )
    async def update(request: Request, resource_type: str, resource_id: str) -> Response:
        services = request.app.state.services
        body = await read_json(request)
        stored, created = await services.repo.update(
            resource_type, resource_id, body, if_match=request.headers.get("if-match")
        )
        what = f"{'Created' if created else 'Updated'} {resource_type}/{resource_id}"
        return written(request, stored, 201 if created else 200, what)

    @router.patch(
        "/{resource_type}/{resource_id}",
        summary="Patch (JSON Patch array, or JSON Merge Patch object)",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    JSON_PATCH: {"schema": {"type": "array", "items": _RESOURCE_SCHEMA}},
                    MERGE_PATCH: {"schema": _RESOURCE_SCHEMA},
                },
            }
        },
    )
    async def patch(request: Request, resource_type: str, resource_id: str) -> Response:
        operations = await read_json(request, media_types=_PATCH_FORMATS)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == JSON_PATCH and not isinstance(operations, list):
            raise BadRequest("A JSON Patch (application/json-patch+json) body is an array of operations")
        if content_type == MERGE_PATCH and not isinstance(operations, dict):
            raise BadRequest("A merge patch (application/merge-patch+json) body is a JSON object")
        stored = await request.app.state.services.repo.patch(
            resource_type, resource_id, operations, if_match=request.headers.get("if-match")
        )
        return written(request, stored, 200, f"Patched {resource_type}/{resource_id}")

    @router.delete("/{resource_type}/{resource_id}", summary="Delete", status_code=204)
    async def delete(request: Request, resource_type: str, resource_id: str) -> Response:
        await request.app.state.services.repo.delete(resource_type, resource_id)
        return Response(status_code=204)

    @router.get("/{resource_type}/{resource_id}/_history/{version_id}", summary="Read a version")
    async def vread(request: Request, resource_type: str, resource_id: str, version_id: str) -> FhirResponse:
        services = request.app.state.services
        resource = await services.repo.vread(resource_type, resource_id, version_id)
        headers = _headers_for(resource, services.settings.fhir_base)
        headers.pop("Location")
        return fhir(resource, 200, headers)

    return router


async def _search(request: Request, resource_type: str, params: list[tuple[str, str]]) -> FhirResponse:
    services = request.app.state.services
    subset = subset_from(params)
    result = await until_disconnected(
        request, services.repo.search(resource_type, params, strict=_strict(request))
    )
    base = services.settings.fhir_base
    return fhir(searchset(result, base=base, resource_type=resource_type, params=params, subset=subset))


async def _history(request: Request, resource_type: str | None, resource_id: str | None) -> FhirResponse:
    services = request.app.state.services
    params = list(request.query_params.multi_items())
    query = parse_history_params(
        params, default_count=services.repo.default_count, max_count=services.repo.max_count
    )
    page = await services.repo.history(resource_type, resource_id, query)
    path = "/".join(p for p in ("", resource_type, resource_id, "_history") if p is not None)
    return fhir(history_bundle(page, base=services.settings.fhir_base, path=path, params=params))


def _criteria_url(request: Request, resource_type: str) -> str:
    """``Type?criteria`` of a conditional update/delete; 400 without criteria (that would match all)."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "_format"]
    if not query:
        raise BadRequest(f"A conditional {request.method} on {resource_type} needs search criteria")
    return f"{resource_type}?{urlencode(query)}"


def _entry_answer(request: Request, entry: dict[str, Any]) -> Response:
    """The REST answer to a conditional interaction from its transaction response entry."""
    status = int(str(entry["response"]["status"]).split()[0])
    resource = entry.get("resource")
    if resource is None:
        return Response(status_code=status)
    what = f"{resource['resourceType']}/{resource['id']}"
    message = {201: f"Created {what}", 200: f"{what} matched the criteria"}.get(status, what)
    if request.method == "PUT" and status == 200:
        message = f"Updated {what}"
    return written(request, resource, status, message)


async def until_disconnected(request: Request, work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` unless the client goes away first: then it is cancelled (a PostgreSQL query with it,
    asyncpg sends the server a cancel request) and :class:`ClientClosedRequest` is raised."""
    task = asyncio.ensure_future(work)

    async def disconnected() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    watcher = asyncio.ensure_future(disconnected())
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not task.done():
            task.cancel()
    if task.cancelled():
        raise ClientClosedRequest("The client closed the connection; the search was cancelled")
    return task.result()


def _add_operation_routes(router: APIRouter, operation: Operation) -> None:
    methods = ["POST"] if operation.affects_state else ["GET", "POST"]
    for level in operation.levels:
        for resource_type in operation.resource_types if level != "system" else (None,):
            if level == "system":
                path = f"/${operation.code}"
            elif level == "type":
                path = f"/{resource_type}/${operation.code}"
            else:
                path = f"/{resource_type}/{{resource_id}}/${operation.code}"
            for method in methods:
                _add_operation_route(router, operation, level, resource_type, path, method)


def _add_operation_route(
    router: APIRouter, operation: Operation, level: Level, resource_type: str | None, path: str, method: str
) -> None:
    body_schema = {FHIR_JSON: {"schema": _RESOURCE_SCHEMA}, "application/json": {"schema": _RESOURCE_SCHEMA}}
    extra: dict[str, Any] = {}
    if method == "POST":
        extra["requestBody"] = {"required": False, "content": body_schema}
    if level == "instance":  # read from the path by the endpoint; declared for clients and fuzzers
        extra["parameters"] = [
            {
                "name": "resource_id",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9\\-.]{1,64}$"},
            }
        ]
    router.add_api_route(
        path,
        _operation_endpoint(operation, level, resource_type),
        methods=[method],
        operation_id=f"{operation.id}_{level}_{resource_type or 'system'}_{method.lower()}",
        summary=f"${operation.code} ({level}{' ' + resource_type if resource_type else ''})",
        description=operation.description,
        openapi_extra=extra or None,
        response_class=FhirResponse,
    )


def _operation_endpoint(operation: Operation, level: Level, resource_type: str | None) -> Any:
    async def endpoint(request: Request) -> FhirResponse:
        body = None
        if request.method == "POST" and (await request.body()):
            body = await read_json(request)
            if not isinstance(body, dict):
                raise BadRequest("The body must be a Parameters resource")
        query = list(request.query_params.multi_items())
        params = operation.parse(body, query)
        resource_id = request.path_params.get("resource_id") if level == "instance" else None
        services = request.app.state.services
        if (
            resource_id is not None
            and resource_type is not None
            and operation.extra.get("instance_must_exist", True)
        ):
            await services.repo.read(resource_type, resource_id)
        result = await operation.handler(
            OperationRequest(
                operation=operation,
                resource_type=resource_type,
                resource_id=resource_id,
                params=params,
                services=services,
            )
        )
        return fhir(result)

    endpoint.__name__ = f"op_{operation.id.replace('-', '_')}_{level}_{resource_type or 'system'}"
    return endpoint


def error_response(exc: FhirError) -> FhirResponse:
    return fhir(exc.outcome(), exc.status, exc.headers)
