"""The embedded FHIR store on SQLAlchemy (SQLite or PostgreSQL)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fhir_ops.errors import BadRequest, Gone, NotFound, PreconditionFailed
from fhir_ops.search.indexer import IndexEntry, index_resource
from fhir_ops.search.query import count_query, page_query, plan_search
from fhir_ops.store.bulk import insert_rows, update_rows
from fhir_ops.store.concurrency import lock_keys, resource_key, translated, with_retry
from fhir_ops.store.database import Database
from fhir_ops.store.history import HistoryPage, HistoryQuery, read_history
from fhir_ops.store.patch import apply_patch
from fhir_ops.store.protocol import Resource, SearchParams, SearchResult
from fhir_ops.store.tables import ResourceRow, ResourceVersionRow, SearchIndexRow
from fhir_ops.store.transaction import process_bundle, process_conditional
from fhir_ops.validation import check_id, check_supported_type, validate_resource

#: Called before a resource of a given type is written (e.g. translate a Library's CQL to ELM).
WriteHook = Callable[[Resource], Awaitable[Resource]]
T = TypeVar("T")

_ID_RE = re.compile(r"[A-Za-z0-9\-.]{1,64}")
#: Versions are 32-bit integers in the database; a larger one cannot exist.
_VERSION_RE = re.compile(r"[0-9]{1,10}")
_MAX_VERSION = 2**31 - 1
_RESOURCES: Table = ResourceRow.__table__  # type: ignore[assignment]
_VERSIONS: Table = ResourceVersionRow.__table__  # type: ignore[assignment]
_INDEX: Table = SearchIndexRow.__table__  # type: ignore[assignment]
#: the columns of a resource row and of a version row, in the order of the bulk row tuples
_ROW_COLUMNS = ("resource_type", "id", "version_id", "last_updated", "deleted", "content")
_INDEX_COLUMNS = ("resource_type", "resource_id", "param", "system", "value", "lo", "hi")


def _dumps(resource: Resource) -> str:
    return orjson.dumps(resource).decode()


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_etag(value: str) -> str:
    """The version in an ``If-Match``/``ETag`` header: ``W/"3"`` → ``3``."""
    return value.strip().removeprefix("W/").strip('"')


class SqlRepository:
    """:class:`fhir_ops.store.protocol.ResourceRepository` on a relational database."""

    def __init__(
        self,
        db: Database,
        *,
        default_count: int = 50,
        max_count: int = 1000,
        write_hooks: dict[str, WriteHook] | None = None,
        write_attempts: int = 5,
    ) -> None:
        self.db = db
        self.default_count = default_count
        self.max_count = max_count
        self.write_attempts = max(1, write_attempts)
        self.write_hooks: dict[str, WriteHook] = dict(write_hooks or {})

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncSession]:
        async with self.db.writer() as session, session.begin():
            yield session

    async def write(self, work: Callable[[AsyncSession], Awaitable[T]], *, keys: Collection[str]) -> T:
        """Run ``work`` in one database transaction holding the locks of ``keys`` (see
        :mod:`fhir_ops.store.concurrency`), retried on serialisation failures, deadlocks and unique-key
        races; database failures become FHIR errors (409 conflict, 503 unavailable, 400 bad value)."""

        async def attempt() -> T:
            async with self._writing() as session:
                await lock_keys(session, keys)
                return await work(session)

        return await with_retry(attempt, attempts=self.write_attempts)

    # ---- reads -----------------------------------------------------------------------------------
    async def read(self, resource_type: str, resource_id: str) -> Resource:
        with translated():
            async with self.db.session() as session:
                return await self.read_in(session, resource_type, resource_id)

    async def read_in(self, session: AsyncSession, resource_type: str, resource_id: str) -> Resource:
        check_supported_type(resource_type)
        if not _ID_RE.fullmatch(resource_id):
            raise NotFound(f"{resource_type}/{resource_id[:64]!r} is not a valid id, so it is not known")
        row = await session.get(ResourceRow, (resource_type, resource_id))
        if row is None:
            raise NotFound(f"{resource_type}/{resource_id} is not known")
        if row.deleted:
            raise Gone(f"{resource_type}/{resource_id} was deleted")
        return orjson.loads(row.content)  # type: ignore[no-any-return]

    async def vread(self, resource_type: str, resource_id: str, version_id: str) -> Resource:
        check_supported_type(resource_type)
        known_shape = _ID_RE.fullmatch(resource_id) and _VERSION_RE.fullmatch(version_id)
        if not known_shape or int(version_id) > _MAX_VERSION:
            raise NotFound(f"Version {version_id[:16]!r} of {resource_type}/{resource_id[:64]} is not known")
        with translated():
            async with self.db.session() as session:
                row = await session.get(ResourceVersionRow, (resource_type, resource_id, int(version_id)))
        if row is None:
            raise NotFound(f"Version {version_id} of {resource_type}/{resource_id} is not known")
        if row.deleted:
            raise Gone(f"Version {version_id} of {resource_type}/{resource_id} is a deletion")
        return orjson.loads(row.content)  # type: ignore[no-any-return]

    async def history(
        self, resource_type: str | None, resource_id: str | None, query: HistoryQuery
    ) -> HistoryPage:
        """Versions of one resource, one type (``resource_id`` None) or everything (both None)."""
        if resource_type is not None:
            check_supported_type(resource_type)
        if resource_id is not None and not _ID_RE.fullmatch(resource_id):
            raise NotFound(f"{resource_type}/{resource_id[:64]!r} is not a valid id, so it is not known")
        with translated():
            async with self.db.session() as session:
                page = await read_history(
                    session, resource_type=resource_type, resource_id=resource_id, query=query
                )
        if resource_id is not None and page.total == 0:
            raise NotFound(f"{resource_type}/{resource_id} is not known")
        return page

    async def search(self, resource_type: str, params: SearchParams, *, strict: bool = False) -> SearchResult:
        with translated():
            async with self.db.session() as session:
                return await self.search_in(session, resource_type, params, strict=strict)

    async def search_in(
        self, session: AsyncSession, resource_type: str, params: SearchParams, *, strict: bool = False
    ) -> SearchResult:
        """Search in the caller's session (a transaction sees its own writes)."""
        check_supported_type(resource_type)
        plan = plan_search(
            resource_type, params, strict=strict, default_count=self.default_count, max_count=self.max_count
        )
        matches: list[Resource] = []
        included: list[Resource] = []
        total: int | None = None
        if not plan.summary_count and plan.count > 0:
            # one statement: the page and (unless ``_total=none``) its total
            rows = list((await session.execute(page_query(plan))).all())
            if plan.total == "none":
                more = len(rows) > plan.count
                rows = rows[: plan.count]
                # not a count: enough for paging links (a next page exists iff ``more``)
                total = plan.offset + len(rows) + int(more)
            elif rows:
                total = int(rows[0].total)
            elif plan.offset == 0:
                total = 0
            matches = [orjson.loads(row.content) for row in rows]
            if plan.includes and rows:
                included = await self._included(session, plan.includes, [row.id for row in rows])
            if plan.revincludes and rows:
                included += await self._revincluded(
                    session, plan.resource_type, plan.revincludes, [row.id for row in rows]
                )
        if total is None:  # ``_summary=count``, ``_count=0``, or a page past the end
            total = int((await session.execute(count_query(plan))).scalar_one())
        return SearchResult(
            matches=matches,
            total=total,
            included=included,
            warnings=plan.ignored,
            offset=plan.offset,
            count=plan.count,
            total_known=plan.total == "accurate",
        )

    async def _included(
        self, session: AsyncSession, includes: list[tuple[str, str, str | None]], ids: list[str]
    ) -> list[Resource]:
        targets: set[tuple[str, str]] = set()
        for source_type, param, target_type in includes:
            query = select(SearchIndexRow.system, SearchIndexRow.value).where(
                SearchIndexRow.resource_type == source_type,
                SearchIndexRow.param == param,
                SearchIndexRow.resource_id.in_(ids),
            )
            for system, value in (await session.execute(query)).all():
                if system and value and (target_type is None or system == target_type):
                    targets.add((system, value))
        out: list[Resource] = []
        for target in sorted(targets):
            row = await session.get(ResourceRow, target)
            if row is not None and not row.deleted:
                out.append(orjson.loads(row.content))
        return out

    async def _revincluded(
        self, session: AsyncSession, target_type: str, revincludes: list[tuple[str, str]], ids: list[str]
    ) -> list[Resource]:
        """Resources whose reference parameter points at one of ``ids`` (``_revinclude``), at most
        ``max_count`` of them per page (the rest are left out, like any bounded result)."""
        si = SearchIndexRow
        sources: set[tuple[str, str]] = set()
        for source_type, param in revincludes:
            query = (
                select(si.resource_type, si.resource_id)
                .where(
                    si.resource_type == source_type,
                    si.param == param,
                    si.system == target_type,
                    si.value.in_(ids),
                )
                .distinct()
                .limit(self.max_count)
            )
            sources.update((rtype, rid) for rtype, rid in (await session.execute(query)).all())
        out: list[Resource] = []
        for source in sorted(sources)[: self.max_count]:
            row = await session.get(ResourceRow, source)
            if row is not None and not row.deleted:
                out.append(orjson.loads(row.content))
        return out

    # ---- writes ----------------------------------------------------------------------------------
    async def create(self, resource: Resource, *, expected_type: str | None = None) -> Resource:
        prepared = await self.prepare(resource, expected_type=expected_type)
        return await self.write(lambda session: self.create_in(session, prepared, prepared=True), keys=())

    async def update(
        self, resource_type: str, resource_id: str, resource: Resource, *, if_match: str | None = None
    ) -> tuple[Resource, bool]:
        check_id(resource_id)
        prepared = await self.prepare(resource, expected_type=resource_type)
        return await self.write(
            lambda session: self.update_in(
                session, resource_type, resource_id, prepared, if_match=if_match, prepared=True
            ),
            keys=[resource_key(resource_type, resource_id)],
        )

    async def delete(self, resource_type: str, resource_id: str) -> None:
        check_supported_type(resource_type)
        if not _ID_RE.fullmatch(resource_id):
            return  # an id that cannot exist is already deleted
        await self.write(
            lambda session: self.delete_in(session, resource_type, resource_id),
            keys=[resource_key(resource_type, resource_id)],
        )

    async def patch(
        self, resource_type: str, resource_id: str, operations: Any, *, if_match: str | None = None
    ) -> Resource:
        """Apply a patch (a JSON Patch array or a Merge Patch object, see :mod:`fhir_ops.store.patch`) to
        the current version, in one unit of work holding the resource's lock (so no write lands between
        the read and the new version)."""
        check_supported_type(resource_type)

        async def unit(session: AsyncSession) -> Resource:
            current = await self.read_in(session, resource_type, resource_id)
            if if_match is not None:
                await self.check_if_match(session, resource_type, resource_id, if_match)
            patched = apply_patch(current, operations)
            prepared = await self.prepare(patched, expected_type=resource_type)
            stored, _ = (await self.write_many(session, [{**prepared, "id": resource_id}]))[0]
            return stored

        return await self.write(unit, keys=[resource_key(resource_type, resource_id)])

    async def conditional(
        self,
        method: str,
        url: str,
        resource: Resource | None = None,
        *,
        if_none_exist: str | None = None,
        if_match: str | None = None,
    ) -> Resource:
        """A conditional create (``If-None-Exist``), update or delete (``Type?criteria``) over REST:
        processed exactly as the one entry of a transaction (criteria locked, 412 on several
        matches). Returns that entry's response (``response.status``, ``resource``)."""
        return await process_conditional(
            self, method=method, url=url, resource=resource, if_none_exist=if_none_exist, if_match=if_match
        )

    async def transaction(self, bundle: Resource) -> Resource:
        return await process_bundle(self, bundle)

    # ---- the same writes inside a caller's session (transactions) --------------------------------
    async def prepare(self, resource: Resource, *, expected_type: str | None = None) -> Resource:
        """Validate a resource and run the write hook of its type."""
        resource = validate_resource(resource, expected_type=expected_type)
        check_supported_type(resource["resourceType"])
        hook = self.write_hooks.get(resource["resourceType"])
        return await hook(resource) if hook else resource

    async def create_in(
        self, session: AsyncSession, resource: Resource, *, prepared: bool = False
    ) -> Resource:
        if not prepared:
            resource = await self.prepare(resource)
        stored, _ = (await self.write_many(session, [{**resource, "id": str(uuid.uuid4())}]))[0]
        return stored

    async def update_in(
        self,
        session: AsyncSession,
        resource_type: str,
        resource_id: str,
        resource: Resource,
        *,
        if_match: str | None = None,
        prepared: bool = False,
    ) -> tuple[Resource, bool]:
        check_id(resource_id)
        if not prepared:
            resource = await self.prepare(resource, expected_type=resource_type)
        if resource.get("id") not in (None, resource_id):
            raise BadRequest(
                f"The resource id '{resource.get('id')}' does not match the URL id '{resource_id}'",
                expression=[f"{resource_type}.id"],
            )
        if if_match is not None:
            await self.check_if_match(session, resource_type, resource_id, if_match)
        return (await self.write_many(session, [{**resource, "id": resource_id}]))[0]

    async def check_if_match(
        self, session: AsyncSession, resource_type: str, resource_id: str, if_match: str
    ) -> None:
        """412 unless ``if_match`` names the current version (the row is locked until the commit)."""
        current = (await self._current_versions(session, resource_type, [resource_id])).get(resource_id)
        expected = parse_etag(if_match)
        actual = str(current[0]) if current is not None and not current[1] else None
        if actual != expected:
            raise PreconditionFailed(
                f"If-Match version {expected[:16]} does not match the current version "
                f"{actual or '(none)'} of {resource_type}/{resource_id}"
            )

    async def delete_in(self, session: AsyncSession, resource_type: str, resource_id: str) -> None:
        check_supported_type(resource_type)
        current = (await self._current_versions(session, resource_type, [resource_id])).get(resource_id)
        if current is None or current[1]:
            return  # deleting what is not there succeeds (idempotent, per the FHIR spec)
        now = datetime.now(UTC)
        version = current[0] + 1
        key = (ResourceRow.resource_type == resource_type, ResourceRow.id == resource_id)
        await session.execute(
            update(ResourceRow).where(*key).values(version_id=version, deleted=True, last_updated=now)
        )
        content = (await session.execute(select(ResourceRow.content).where(*key))).scalar_one()
        await session.execute(
            insert(ResourceVersionRow).values(
                resource_type=resource_type,
                id=resource_id,
                version_id=version,
                last_updated=now,
                deleted=True,
                content=content,
            )
        )
        await session.execute(
            delete(SearchIndexRow).where(
                SearchIndexRow.resource_type == resource_type, SearchIndexRow.resource_id == resource_id
            )
        )

    async def _current_versions(
        self, session: AsyncSession, resource_type: str, ids: list[str]
    ) -> dict[str, tuple[int, bool]]:
        """``id → (version, deleted)`` of the stored rows among ``ids``."""
        found: dict[str, tuple[int, bool]] = {}
        for chunk in _chunks(sorted(ids), 500):
            query = select(ResourceRow.id, ResourceRow.version_id, ResourceRow.deleted).where(
                ResourceRow.resource_type == resource_type, ResourceRow.id.in_(chunk)
            )
            if not self.db.is_sqlite:
                query = query.with_for_update()
            for rid, version, deleted in (await session.execute(query)).all():
                found[rid] = (version, deleted)
        return found

    async def store_checked(self, resources: list[Resource], rows: list[IndexRow] | None = None) -> int:
        """Store resources already checked as a transaction's plain PUTs are
        (:func:`~fhir_ops.store.transaction.plain_writes`: validated, each with its id), in one unit of
        work, all or nothing; the write hooks of their types run first. ``rows`` are their search-index
        rows (:func:`search_rows`), when made elsewhere (a bulk load's worker processes). Returns how many
        were stored."""
        if any(r["resourceType"] in self.write_hooks for r in resources):
            rows = None  # a hook may change the resource: index what it returns
            resources = [
                await hook(r) if (hook := self.write_hooks.get(r["resourceType"])) else r for r in resources
            ]
        keys = [resource_key(r["resourceType"], r["id"]) for r in resources]
        stored = await self.write(lambda session: self.write_many(session, resources, rows), keys=keys)
        return len(stored)

    async def write_many(
        self,
        session: AsyncSession,
        resources: list[Resource],
        rows: list[IndexRow] | None = None,
    ) -> list[tuple[Resource, bool]]:
        """Store validated resources (each with its id) as new versions, in bulk; ``rows``, when given,
        are their search-index rows (see :meth:`store_checked`): what is indexed is the content, never
        the ``meta`` the store sets, so rows made before the write are the rows of the stored version.

        Returns each stored resource (with ``meta.versionId``/``lastUpdated``) and whether it was created.
        """
        keys = [(r["resourceType"], r["id"]) for r in resources]
        if len(set(keys)) != len(keys):
            dup = next(k for k in keys if keys.count(k) > 1)
            raise BadRequest(f"{dup[0]}/{dup[1]} is written twice in one request")
        current: dict[tuple[str, str], tuple[int, bool]] = {}
        by_type: dict[str, list[str]] = {}
        for rtype, rid in keys:
            by_type.setdefault(rtype, []).append(rid)
        for rtype, ids in by_type.items():
            for rid, state in (await self._current_versions(session, rtype, ids)).items():
                current[(rtype, rid)] = state
        now = datetime.now(UTC)
        stamp = _instant(now)
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        versions: list[tuple[Any, ...]] = []
        index_rows: list[IndexRow] = [] if rows is None else rows  # extended only when made here
        results: list[tuple[Resource, bool]] = []
        for resource in resources:
            key = (resource["resourceType"], resource["id"])
            known = current.get(key)
            version = known[0] + 1 if known else 1
            stored = {
                **resource,
                "meta": {**(resource.get("meta") or {}), "versionId": str(version), "lastUpdated": stamp},
            }
            content = _dumps(stored)
            if known:
                updates.append((key[0], key[1], version, now, False, content))
            else:
                inserts.append((key[0], key[1], version, now, False, content))
            versions.append((key[0], key[1], version, now, False, content))
            if rows is None:
                index_rows.extend(search_rows(stored))
            results.append((stored, known is None or known[1]))
        for rtype in by_type:
            stale = [rid for (t, rid) in current if t == rtype]
            for chunk in _chunks(stale, 500):
                await session.execute(
                    delete(SearchIndexRow).where(
                        SearchIndexRow.resource_type == rtype, SearchIndexRow.resource_id.in_(chunk)
                    )
                )
        await insert_rows(session, _RESOURCES, _ROW_COLUMNS, inserts)
        await update_rows(session, _RESOURCES, _ROW_COLUMNS[:2], _ROW_COLUMNS[2:], updates)
        await insert_rows(session, _VERSIONS, _ROW_COLUMNS, versions)
        await insert_rows(session, _INDEX, _INDEX_COLUMNS, index_rows)
        return results


#: A search-index row: the values of ``_INDEX_COLUMNS``.
IndexRow = tuple[str, str, str, str | None, str | None, float | None, float | None]


def search_rows(resource: Resource) -> list[IndexRow]:
    """The search-index rows of a resource (with its ``resourceType`` and ``id``)."""
    rtype, rid = str(resource["resourceType"]), str(resource["id"])
    return [_row(rtype, rid, e) for e in index_resource(resource)]


def _row(rtype: str, rid: str, e: IndexEntry) -> IndexRow:
    return (
        rtype,
        rid,
        e.param,
        e.system[:512] if e.system else e.system,
        e.value[:512] if e.value else e.value,
        e.lo,
        e.hi,
    )


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
