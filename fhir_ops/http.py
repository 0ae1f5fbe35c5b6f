"""FastAPI adapter of the FHIR facade: thin routes over the repository and the operation registry."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode

import orjson
from fastapi import APIRouter, Request, Response

from fhir_ops.errors import BadRequest, ClientClosedRequest, FhirError, PayloadTooLarge, UnsupportedMediaType
from fhir_ops.operations.registry import Level, Operation, OperationRequest
from fhir_ops.store.protocol import SearchResult, weak_etag
from fhir_ops.validation import check_json

T = TypeVar("T")
FHIR_JSON = "application/fhir+json"
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
_ERROR_STATUSES = (400, 401, 403, 404, 405, 409, 410, 412, 413, 415, 422, 502, 503)
_ERRORS: dict[int | str, dict[str, Any]] = dict.fromkeys(_ERROR_STATUSES, _OUTCOME)


class FhirResponse(Response):
    media_type = FHIR_JSON

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def fhir(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> FhirResponse:
    return FhirResponse(content=content, status_code=status, headers=headers)


async def read_json(request: Request) -> Any:
    """The request body as JSON, or a FHIR error (415 wrong media type, 413 too large, 400 not JSON)."""
    content_type = request.headers.get("content-type", FHIR_JSON).split(";")[0].strip().lower()
    if content_type not in {FHIR_JSON, "application/json", "application/json+fhir", ""}:
        raise UnsupportedMediaType(f"Content-Type '{content_type}' is not supported; use {FHIR_JSON}")
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


def _headers_for(resource: dict[str, Any], base: str) -> dict[str, str]:
    meta = resource.get("meta") or {}
    version = meta.get("versionId", "1")
    return {
        "ETag": weak_etag(resource),
        "Last-Modified": str(meta.get("lastUpdated", "")),
        "Location": f"{base}/{resource['resourceType']}/{resource['id']}/_history/{version}",
    }


def searchset(
    result: SearchResult, *, base: str, resource_type: str, params: list[tuple[str, str]]
) -> dict[str, Any]:
    """A searchset Bundle with total, self/next/previous links, included resources and warnings."""
    kept = [(k, v) for k, v in params if k not in {"_offset"}]

    def link(relation: str, offset: int) -> dict[str, str]:
        query = urlencode([*kept, ("_offset", str(offset))] if offset else kept)
        return {"relation": relation, "url": f"{base}/{resource_type}" + (f"?{query}" if query else "")}

    links = [link("self", result.offset)]
    if result.count and result.offset + result.count < result.total:
        links.append(link("next", result.offset + result.count))
    if result.offset > 0:
        links.append(link("previous", max(0, result.offset - result.count)))
    entries: list[dict[str, Any]] = [
        {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
        for r in result.matches
    ]
    entries += [
        {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "include"}}
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
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": result.total,
        "link": links,
    }
    if entries:
        bundle["entry"] = entries
    return bundle


def build_router(operations: Iterable[Operation] = ()) -> APIRouter:
    router = APIRouter(prefix="/fhir", tags=["fhir"], responses=_ERRORS)

    @router.get("/metadata", summary="CapabilityStatement")
    async def metadata(request: Request) -> FhirResponse:
        return fhir(request.app.state.services.capability_statement())

    @router.post("", summary="Process a transaction or batch Bundle", openapi_extra=_JSON_BODY)
    @router.post("/", include_in_schema=False)
    async def transaction(request: Request) -> FhirResponse:
        body = await read_json(request)
        return fhir(await request.app.state.services.repo.transaction(body))

    for operation in operations:
        _add_operation_routes(router, operation)

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

    @router.post("/{resource_type}", summary="Create", status_code=201, openapi_extra=_JSON_BODY)
    async def create(request: Request, resource_type: str) -> FhirResponse:
        services = request.app.state.services
        body = await read_json(request)
        stored = await services.repo.create(body, expected_type=resource_type)
        return fhir(stored, 201, _headers_for(stored, services.settings.fhir_base))

    @router.get("/{resource_type}/{resource_id}", summary="Read")
    async def read(request: Request, resource_type: str, resource_id: str) -> FhirResponse:
        services = request.app.state.services
        resource = await services.repo.read(resource_type, resource_id)
        headers = _headers_for(resource, services.settings.fhir_base)
        headers.pop("Location")
        return fhir(resource, 200, headers)

    @router.put(
        "/{resource_type}/{resource_id}", summary="Update (or create with this id)", openapi_extra=_JSON_BODY
    )
    async def update(request: Request, resource_type: str, resource_id: str) -> FhirResponse:
        services = request.app.state.services
        body = await read_json(request)
        stored, created = await services.repo.update(
            resource_type, resource_id, body, if_match=request.headers.get("if-match")
        )
        return fhir(stored, 201 if created else 200, _headers_for(stored, services.settings.fhir_base))

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
    result = await until_disconnected(
        request, services.repo.search(resource_type, params, strict=_strict(request))
    )
    return fhir(
        searchset(result, base=services.settings.fhir_base, resource_type=resource_type, params=params)
    )


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
