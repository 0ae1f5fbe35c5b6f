"""``transaction`` and ``batch`` Bundles: urn:uuid resolution, FHIR processing order, all-or-nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from fhir_ops.errors import BadRequest, FhirError, MethodNotAllowed, PreconditionFailed
from fhir_ops.store.protocol import Resource, weak_etag
from fhir_ops.validation import check_id

if TYPE_CHECKING:
    from fhir_ops.store.sql_repository import SqlRepository

#: The FHIR processing order of a transaction's entries (the response keeps the request order).
_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "GET": 3}


@dataclass(slots=True)
class _Entry:
    index: int
    method: str
    url: str
    resource: Resource | None
    if_match: str | None
    if_none_exist: str | None
    full_url: str | None
    target_id: str | None = None


def _parse_entries(bundle: Resource) -> list[_Entry]:
    entries: list[_Entry] = []
    for i, raw in enumerate(bundle.get("entry") or []):
        if not isinstance(raw, dict):
            raise BadRequest(f"Bundle.entry[{i}] is not an object", expression=[f"Bundle.entry[{i}]"])
        request = raw.get("request")
        if not isinstance(request, dict) or not request.get("method") or not request.get("url"):
            raise BadRequest(
                f"Bundle.entry[{i}].request with method and url is required",
                expression=[f"Bundle.entry[{i}].request"],
            )
        method = str(request["method"]).upper()
        if method not in _ORDER:
            raise MethodNotAllowed(
                f"Bundle.entry[{i}]: method {method} is not supported",
                expression=[f"Bundle.entry[{i}].request"],
            )
        resource = raw.get("resource")
        if method in {"POST", "PUT"} and not isinstance(resource, dict):
            raise BadRequest(
                f"Bundle.entry[{i}] needs a resource for {method}", expression=[f"Bundle.entry[{i}]"]
            )
        entries.append(
            _Entry(
                index=i,
                method=method,
                url=str(request["url"]).lstrip("/"),
                resource=resource if isinstance(resource, dict) else None,
                if_match=request.get("ifMatch"),
                if_none_exist=request.get("ifNoneExist"),
                full_url=raw.get("fullUrl"),
            )
        )
    return entries


def _rewrite_references(node: Any, mapping: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "reference" and isinstance(value, str) and value in mapping:
                out[key] = mapping[value]
            else:
                out[key] = _rewrite_references(value, mapping)
        return out
    if isinstance(node, list):
        return [_rewrite_references(v, mapping) for v in node]
    return node


def _split_url(url: str) -> tuple[str, str | None, list[tuple[str, str]]]:
    parts = urlsplit(url)
    path = parts.path.strip("/").split("/")
    return path[0], (path[1] if len(path) > 1 else None), parse_qsl(parts.query, keep_blank_values=True)


def _response(status: str, resource: Resource | None = None, *, outcome: Resource | None = None) -> Resource:
    response: Resource = {"status": status}
    entry: Resource = {"response": response}
    if resource is not None:
        meta = resource.get("meta") or {}
        response["location"] = f"{resource['resourceType']}/{resource['id']}/_history/{meta.get('versionId')}"
        response["etag"] = weak_etag(resource)
        response["lastModified"] = meta.get("lastUpdated")
        entry["resource"] = resource
    if outcome is not None:
        response["outcome"] = outcome
    return entry


async def process_bundle(repo: SqlRepository, bundle: Resource) -> Resource:
    """Process a transaction or batch Bundle and return its response Bundle."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise BadRequest("POST to the base URL needs a Bundle", expression=["resourceType"])
    kind = bundle.get("type")
    if kind not in {"transaction", "batch"}:
        raise BadRequest(
            f"Bundle.type must be transaction or batch, not '{kind}'", expression=["Bundle.type"]
        )
    entries = _parse_entries(bundle)
    if kind == "batch":
        return await _batch(repo, entries)
    return await _transaction(repo, entries)


def _assign_ids(entries: list[_Entry]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for entry in entries:
        type_, id_, _ = _split_url(entry.url)
        if entry.method == "POST" and entry.resource is not None:
            entry.target_id = str(uuid.uuid4())
            if entry.full_url:
                mapping[entry.full_url] = f"{entry.resource.get('resourceType', type_)}/{entry.target_id}"
        elif entry.method == "PUT" and id_ and entry.full_url and entry.full_url.startswith("urn:"):
            mapping[entry.full_url] = f"{type_}/{id_}"
    return mapping


async def _transaction(repo: SqlRepository, entries: list[_Entry]) -> Resource:
    mapping = _assign_ids(entries)
    prepared: dict[int, Resource] = {}
    for entry in entries:  # validate everything before writing anything
        if entry.resource is not None and entry.method in {"POST", "PUT"}:
            try:
                resource = _rewrite_references(entry.resource, mapping)
                type_, _, _ = _split_url(entry.url)
                prepared[entry.index] = await repo.prepare(resource, expected_type=type_)
            except FhirError as exc:
                raise _at_entry(exc, entry.index) from exc
    responses: dict[int, Resource] = {}
    plain = [e for e in entries if _is_plain_write(e)]
    async with repo._writing() as session:
        for entry in sorted(entries, key=lambda e: (_ORDER[e.method], e.index)):
            if entry.method == "PUT" and plain:  # every plain write in one bulk step, before other PUTs
                await _write_plain(repo, session, plain, prepared, responses)
                plain = []
            if _is_plain_write(entry):
                continue
            try:
                responses[entry.index] = await _apply(repo, session, entry, prepared.get(entry.index))
            except FhirError as exc:
                raise _at_entry(exc, entry.index) from exc
        if plain:
            await _write_plain(repo, session, plain, prepared, responses)
    return {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [responses[e.index] for e in entries],
    }


def _is_plain_write(entry: _Entry) -> bool:
    """A POST without ifNoneExist or a PUT Type/id without ifMatch: writable in bulk."""
    if entry.method == "POST":
        return not entry.if_none_exist and "$" not in entry.url
    if entry.method == "PUT":
        _, id_, query = _split_url(entry.url)
        return bool(id_) and not query and not entry.if_match and not id_.startswith("$")  # type: ignore[union-attr]
    return False


async def _write_plain(
    repo: SqlRepository,
    session: Any,
    entries: list[_Entry],
    prepared: dict[int, Resource],
    responses: dict[int, Resource],
) -> None:
    resources = []
    for entry in entries:
        resource = prepared[entry.index]
        if entry.method == "POST":
            resources.append({**resource, "id": entry.target_id})
            continue
        _, id_, _ = _split_url(entry.url)
        if resource.get("id") not in (None, id_):
            raise _at_entry(
                BadRequest(f"The resource id '{resource.get('id')}' does not match the URL id '{id_}'"),
                entry.index,
            )
        try:
            check_id(str(id_))
        except FhirError as exc:
            raise _at_entry(exc, entry.index) from exc
        resources.append({**resource, "id": id_})
    try:
        results = await repo.write_many(session, resources)
    except FhirError as exc:
        raise BadRequest(f"Bundle: {exc.diagnostics}") from exc
    for entry, (stored, created) in zip(entries, results, strict=True):
        responses[entry.index] = _response("201 Created" if created else "200 OK", stored)


async def _batch(repo: SqlRepository, entries: list[_Entry]) -> Resource:
    out: list[Resource] = []
    for entry in entries:
        try:
            prepared = None
            if entry.resource is not None and entry.method in {"POST", "PUT"}:
                prepared = await repo.prepare(entry.resource, expected_type=_split_url(entry.url)[0])
                if entry.method == "POST":
                    entry.target_id = str(uuid.uuid4())
            async with repo._writing() as session:
                out.append(await _apply(repo, session, entry, prepared))
        except FhirError as exc:
            out.append(_response(f"{exc.status} {type(exc).__name__}", outcome=exc.outcome()))
    return {"resourceType": "Bundle", "type": "batch-response", "entry": out}


def _at_entry(exc: FhirError, index: int) -> FhirError:
    exc.diagnostics = f"Bundle.entry[{index}]: {exc.diagnostics}"
    exc.expression = [f"Bundle.entry[{index}]", *list(exc.expression or [])]
    return exc


async def _apply(repo: SqlRepository, session: Any, entry: _Entry, prepared: Resource | None) -> Resource:
    type_, id_, query = _split_url(entry.url)
    if type_.startswith("$") or (id_ or "").startswith("$"):
        raise BadRequest("Operations cannot be invoked inside a transaction or batch")
    if entry.method == "GET":
        try:
            if id_:
                return _response("200 OK", await repo.read(type_, id_))
            result = await repo.search(type_, query)
        except FhirError as exc:  # a failed read changes nothing: reported, never aborts the transaction
            return _response(f"{exc.status} {type(exc).__name__}", outcome=exc.outcome())
        return {
            "response": {"status": "200 OK"},
            "resource": {
                "resourceType": "Bundle",
                "type": "searchset",
                "total": result.total,
                "entry": [{"resource": r, "search": {"mode": "match"}} for r in result.matches],
            },
        }
    if entry.method == "DELETE":
        if not id_:
            found = await repo.search(type_, query, strict=True)
            if found.total > 1:
                raise PreconditionFailed(f"Conditional delete '{entry.url}' matches {found.total} resources")
            if found.total == 0:
                return _response("204 No Content")
            id_ = found.matches[0]["id"]
        await repo.delete_in(session, type_, id_)
        return _response("204 No Content")
    assert prepared is not None
    if entry.method == "POST":
        if entry.if_none_exist:
            found = await repo.search(
                type_, parse_qsl(entry.if_none_exist, keep_blank_values=True), strict=True
            )
            if found.total == 1:
                return _response("200 OK", found.matches[0])
            if found.total > 1:
                raise PreconditionFailed(
                    f"ifNoneExist '{entry.if_none_exist}' matches {found.total} resources"
                )
        stored, _ = (await repo.write_many(session, [{**prepared, "id": entry.target_id}]))[0]
        return _response("201 Created", stored)
    if not id_:
        if not query:
            raise BadRequest("PUT needs Type/id or Type?search (conditional update)")
        found = await repo.search(type_, query, strict=True)
        if found.total > 1:
            raise PreconditionFailed(f"Conditional update '{entry.url}' matches {found.total} resources")
        if found.total == 1:
            id_ = found.matches[0]["id"]
        else:
            id_ = prepared.get("id") or str(uuid.uuid4())
        if prepared.get("id") not in (None, id_):
            raise BadRequest(
                f"Conditional update matched {type_}/{id_} but the resource id is {prepared['id']}"
            )
    stored, created = await repo.update_in(
        session, type_, id_, prepared, if_match=entry.if_match, prepared=True
    )
    return _response("201 Created" if created else "200 OK", stored)
