"""``transaction`` and ``batch`` Bundles: urn:uuid resolution, FHIR processing order, all-or-nothing.

A transaction is checked before anything is written: every entry is well-formed, no two entries
target the same resource (a PUT and a DELETE of one id, two PUTs of one id → 400), and identical
conditional entries (same method and criteria) are resolved once and share one answer. The writes then
run as one unit of work of the repository (:meth:`SqlRepository.write`) holding the locks of every
target and every conditional criteria, so concurrent transactions serialise per key; conditional
searches run inside that unit and see its own writes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from fhir_ops.errors import BadRequest, FhirError, MethodNotAllowed, PreconditionFailed
from fhir_ops.store.concurrency import criteria_key, resource_key
from fhir_ops.store.protocol import Resource, weak_etag
from fhir_ops.validation import check_id, check_supported_type, validate_resource

if TYPE_CHECKING:
    from fhir_ops.store.sql_repository import SqlRepository

#: The FHIR processing order of a transaction's entries (the response keeps the request order).
_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "GET": 3}


@dataclass(slots=True)
class _Entry:
    index: int
    method: str
    url: str
    type_: str
    id_: str | None
    query: list[tuple[str, str]]
    resource: Resource | None
    if_match: str | None
    if_none_exist: str | None
    full_url: str | None
    #: the earlier identical conditional entry whose resolution this one shares
    same_as: int | None = None

    @property
    def criteria(self) -> list[tuple[str, str]] | None:
        """The search of a conditional create/update/delete, None for a plain entry."""
        if self.method == "POST" and self.if_none_exist:
            return parse_qsl(self.if_none_exist.lstrip("?"), keep_blank_values=True)
        if self.method in {"PUT", "DELETE"} and self.id_ is None:
            return self.query
        return None


@dataclass(slots=True)
class _Plan:
    """Where each entry lands, decided inside the unit of work (conditional searches)."""

    target: dict[int, str | None] = field(default_factory=dict)
    matched: dict[int, Resource] = field(default_factory=dict)


def _optional_str(request: dict[str, Any], key: str, where: str) -> str | None:
    value = request.get(key)
    if value is None or isinstance(value, str):
        return value
    raise BadRequest(f"{where}.{key} must be a string", expression=[f"{where}.{key}"])


def _parse_entries(bundle: Resource) -> list[_Entry]:
    raw_entries = bundle.get("entry") or []
    if not isinstance(raw_entries, list):
        raise BadRequest("Bundle.entry must be a list", expression=["Bundle.entry"])
    entries: list[_Entry] = []
    for i, raw in enumerate(raw_entries):
        where = f"Bundle.entry[{i}]"
        if not isinstance(raw, dict):
            raise BadRequest(f"{where} is not an object", expression=[where])
        request = raw.get("request")
        if not isinstance(request, dict) or not request.get("method") or not request.get("url"):
            raise BadRequest(
                f"{where}.request with method and url is required", expression=[f"{where}.request"]
            )
        method_raw = _optional_str(request, "method", f"{where}.request")
        url = _optional_str(request, "url", f"{where}.request")
        assert method_raw is not None
        assert url is not None
        method = method_raw.upper()
        if method not in _ORDER:
            raise MethodNotAllowed(
                f"{where}: method {method} is not supported", expression=[f"{where}.request"]
            )
        full_url = raw.get("fullUrl")
        if full_url is not None and not isinstance(full_url, str):
            raise BadRequest(f"{where}.fullUrl must be a string", expression=[f"{where}.fullUrl"])
        resource = raw.get("resource")
        if method in {"POST", "PUT"} and not isinstance(resource, dict):
            raise BadRequest(f"{where} needs a resource for {method}", expression=[where])
        type_, id_, query = _split_url(url.lstrip("/"))
        if not type_:
            raise BadRequest(f"{where}.request.url names no resource type", expression=[f"{where}.request"])
        entries.append(
            _Entry(
                index=i,
                method=method,
                url=url.lstrip("/"),
                type_=type_,
                id_=id_,
                query=query,
                resource=resource if isinstance(resource, dict) else None,
                if_match=_optional_str(request, "ifMatch", f"{where}.request"),
                if_none_exist=_optional_str(request, "ifNoneExist", f"{where}.request"),
                full_url=full_url,
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


def _at_entry(exc: FhirError, index: int) -> FhirError:
    if not exc.diagnostics.startswith("Bundle.entry["):
        exc.diagnostics = f"Bundle.entry[{index}]: {exc.diagnostics}"
        exc.expression = [f"Bundle.entry[{index}]", *list(exc.expression or [])]
    return exc


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
    responses = await _execute(repo, entries)
    return {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [responses[e.index] for e in entries],
    }


async def process_conditional(
    repo: SqlRepository,
    *,
    method: str,
    url: str,
    resource: Resource | None,
    if_none_exist: str | None,
    if_match: str | None,
) -> Resource:
    """One REST interaction as the single entry of a transaction; its response entry."""
    type_, id_, query = _split_url(url.lstrip("/"))
    entry = _Entry(
        index=0,
        method=method,
        url=url.lstrip("/"),
        type_=type_,
        id_=id_,
        query=query,
        resource=resource,
        if_match=if_match,
        if_none_exist=if_none_exist or None,
        full_url=None,
    )
    try:
        return (await _execute(repo, [entry]))[0]
    except FhirError as exc:
        exc.diagnostics = exc.diagnostics.removeprefix("Bundle.entry[0]: ")
        exc.expression = [e for e in exc.expression or [] if e != "Bundle.entry[0]"] or None
        raise


async def _batch(repo: SqlRepository, entries: list[_Entry]) -> Resource:
    out: list[Resource] = []
    for entry in entries:
        try:
            out.append((await _execute(repo, [entry]))[entry.index])
        except FhirError as exc:
            out.append(_response(f"{exc.status} {type(exc).__name__}", outcome=exc.outcome()))
    return {"resourceType": "Bundle", "type": "batch-response", "entry": out}


def _touched_twice(resource_type: str, resource_id: str, first: int) -> BadRequest:
    return BadRequest(
        f"{resource_type}/{resource_id} is already the target of Bundle.entry[{first}]; "
        "a transaction may touch each resource once"
    )


def _check_entries(entries: list[_Entry]) -> list[str]:
    """Refuse entries that cannot be processed, link identical conditional entries, and return the lock
    keys of the unit of work (each target id and each conditional criteria)."""
    keys: list[str] = []
    plain_targets: dict[tuple[str, str], int] = {}
    conditionals: dict[tuple[str, str], _Entry] = {}
    for entry in entries:
        if entry.type_.startswith("$") or (entry.id_ or "").startswith("$"):
            raise _at_entry(BadRequest("Operations cannot be invoked in a transaction or batch"), entry.index)
        criteria = entry.criteria
        if entry.method in {"PUT", "DELETE"} and entry.id_ is None and not criteria:
            raise _at_entry(
                BadRequest(f"{entry.method} needs Type/id or Type?search (conditional)"), entry.index
            )
        if entry.method in {"PUT", "DELETE"} and entry.id_ is not None:
            target = (entry.type_, entry.id_)
            if target in plain_targets:
                raise _at_entry(_touched_twice(entry.type_, entry.id_, plain_targets[target]), entry.index)
            plain_targets[target] = entry.index
            keys.append(resource_key(*target))
        if criteria is None:
            continue
        key = criteria_key(entry.type_, criteria)
        keys.append(key)
        first = conditionals.get((entry.method, key))
        if first is None:
            conditionals[(entry.method, key)] = entry
            continue
        if entry.method == "PUT" and entry.resource != first.resource:
            raise _at_entry(
                BadRequest(
                    f"Conditional update '{entry.url}' also appears in Bundle.entry[{first.index}] "
                    "with other content; a transaction may touch each resource once"
                ),
                entry.index,
            )
        entry.same_as = first.index
    return keys


async def _execute(repo: SqlRepository, entries: list[_Entry]) -> dict[int, Resource]:
    """Validate, then run every entry in one unit of work; the response entry of each index."""
    keys = _check_entries(entries)
    prepared: dict[int, Resource] = {}
    for entry in entries:  # validate everything before writing anything
        if entry.resource is not None and entry.method in {"POST", "PUT"} and entry.same_as is None:
            try:
                prepared[entry.index] = await repo.prepare(entry.resource, expected_type=entry.type_)
            except FhirError as exc:
                raise _at_entry(exc, entry.index) from exc

    async def unit(session: AsyncSession) -> dict[int, Resource]:
        plan = await _resolve(repo, session, entries, prepared)
        return await _apply(repo, session, entries, prepared, plan)

    return await repo.write(unit, keys=keys)


async def _resolve(
    repo: SqlRepository, session: AsyncSession, entries: list[_Entry], prepared: dict[int, Resource]
) -> _Plan:
    plan = _Plan()
    for entry in entries:
        if entry.same_as is not None:
            continue
        try:
            await _resolve_one(repo, session, entry, prepared, plan)
        except FhirError as exc:
            raise _at_entry(exc, entry.index) from exc
    for entry in entries:
        if entry.same_as is not None:
            plan.target[entry.index] = plan.target[entry.same_as]
    written: dict[tuple[str, str], int] = {}
    for entry in entries:
        target = plan.target.get(entry.index)
        if (
            entry.method == "GET"
            or target is None
            or entry.same_as is not None
            or entry.index in plan.matched
        ):
            continue
        if (entry.type_, target) in written:
            raise _at_entry(_touched_twice(entry.type_, target, written[(entry.type_, target)]), entry.index)
        written[(entry.type_, target)] = entry.index
    return plan


async def _resolve_one(
    repo: SqlRepository, session: AsyncSession, entry: _Entry, prepared: dict[int, Resource], plan: _Plan
) -> None:
    criteria = entry.criteria
    if entry.method == "GET":
        return
    if criteria is None:
        if entry.method == "POST":
            plan.target[entry.index] = str(uuid.uuid4())
            return
        assert entry.id_ is not None
        if entry.method == "PUT":
            check_id(entry.id_)
            _check_body_id(prepared[entry.index], entry.id_)
        plan.target[entry.index] = entry.id_
        return
    found = await repo.search_in(session, entry.type_, criteria, strict=True)
    what = {"POST": "ifNoneExist", "PUT": "Conditional update", "DELETE": "Conditional delete"}[entry.method]
    if found.total > 1:
        raise PreconditionFailed(
            f"{what} '{entry.if_none_exist or entry.url}' matches {found.total} resources"
        )
    match = found.matches[0] if found.total == 1 else None
    if entry.method == "POST":
        if match is not None:
            plan.matched[entry.index] = match
        plan.target[entry.index] = str(match["id"]) if match is not None else str(uuid.uuid4())
    elif entry.method == "DELETE":
        plan.target[entry.index] = str(match["id"]) if match is not None else None
    else:
        body_id = prepared[entry.index].get("id")
        target = str(match["id"]) if match is not None else str(body_id or uuid.uuid4())
        if body_id not in (None, target):
            raise BadRequest(
                f"Conditional update matched {entry.type_}/{target} but the resource id is {body_id}"
            )
        check_id(target)
        plan.target[entry.index] = target


def _check_body_id(resource: Resource, url_id: str) -> None:
    if resource.get("id") not in (None, url_id):
        raise BadRequest(f"The resource id '{resource.get('id')}' does not match the URL id '{url_id}'")


async def _apply(
    repo: SqlRepository,
    session: AsyncSession,
    entries: list[_Entry],
    prepared: dict[int, Resource],
    plan: _Plan,
) -> dict[int, Resource]:
    mapping: dict[str, str] = {}
    for entry in entries:
        target = plan.target.get(entry.index)
        if entry.full_url and target and entry.method in {"POST", "PUT"}:
            if entry.method == "POST" or entry.full_url.startswith("urn:"):
                mapping[entry.full_url] = f"{entry.type_}/{target}"
    responses: dict[int, Resource] = {}
    leaders = sorted((e for e in entries if e.same_as is None), key=lambda e: (_ORDER[e.method], e.index))
    writes: list[tuple[_Entry, Resource]] = []
    for entry in leaders:
        target = plan.target.get(entry.index)
        try:
            if entry.method == "DELETE":
                if target is not None:
                    await repo.delete_in(session, entry.type_, target)
                responses[entry.index] = _response("204 No Content")
            elif entry.index in plan.matched:
                responses[entry.index] = _response("200 OK", plan.matched[entry.index])
            elif entry.method in {"POST", "PUT"}:
                assert target is not None
                if entry.if_match is not None:
                    await repo.check_if_match(session, entry.type_, target, entry.if_match)
                resource = _rewrite_references(prepared[entry.index], mapping)
                writes.append((entry, {**resource, "id": target}))
        except FhirError as exc:
            raise _at_entry(exc, entry.index) from exc
    if writes:
        results = await repo.write_many(session, [resource for _, resource in writes])
        for (entry, _), (stored, created) in zip(writes, results, strict=True):
            responses[entry.index] = _response("201 Created" if created else "200 OK", stored)
    for entry in leaders:
        if entry.method == "GET":
            responses[entry.index] = await _read(repo, session, entry)
    for entry in entries:
        if entry.same_as is not None:
            responses[entry.index] = responses[entry.same_as]
    return responses


async def _read(repo: SqlRepository, session: AsyncSession, entry: _Entry) -> Resource:
    """A GET entry; a failed read changes nothing: reported in its entry, never aborting the rest."""
    try:
        if entry.id_:
            return _response("200 OK", await repo.read_in(session, entry.type_, entry.id_))
        result = await repo.search_in(session, entry.type_, entry.query)
    except FhirError as exc:
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


def plain_writes(bundle: Resource) -> list[Resource] | None:
    """The resources a transaction Bundle stores, checked as :func:`process_bundle` checks them, when
    every entry is a plain ``PUT Type/id`` (no conditions, no ``ifMatch``): validated, each with its
    id, and the references to the entries' ``urn:`` fullUrls rewritten to ``Type/id``. None when the
    Bundle needs the full processing (a POST, a DELETE, a read, a condition). Pure and synchronous, so a
    bulk loader runs it in worker processes; the write hooks of the repository are the caller's to run.
    Raises the FhirError the transaction would (``Bundle.entry[i]: …``)."""
    if (
        not isinstance(bundle, dict)
        or bundle.get("resourceType") != "Bundle"
        or bundle.get("type") != "transaction"
    ):
        return None
    entries = _parse_entries(bundle)
    if any(e.method != "PUT" or e.id_ is None or e.query or e.if_match or e.if_none_exist for e in entries):
        return None
    _check_entries(entries)
    mapping = {
        e.full_url: f"{e.type_}/{e.id_}" for e in entries if e.full_url and e.full_url.startswith("urn:")
    }
    out: list[Resource] = []
    for entry in entries:
        assert entry.resource is not None
        assert entry.id_ is not None
        try:
            resource = validate_resource(entry.resource, expected_type=entry.type_)
            check_supported_type(entry.type_)
            check_id(entry.id_)
            _check_body_id(resource, entry.id_)
        except FhirError as exc:
            raise _at_entry(exc, entry.index) from exc
        out.append({**_rewrite_references(resource, mapping), "id": entry.id_})
    return out
