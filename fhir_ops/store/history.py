"""``_history`` of one resource, one type or the whole store: every stored version, newest first.

The version table keeps each version's content (a deletion keeps the last content, flagged deleted),
so a history page is one query over it. Paging is by ``_offset`` (bounded like search), ``_since``
and ``_at`` filter on the version's ``lastUpdated``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fhir_ops.errors import BadRequest
from fhir_ops.search.dates import parse_range
from fhir_ops.search.query import MAX_OFFSET
from fhir_ops.store.protocol import Resource
from fhir_ops.store.tables import ResourceVersionRow


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    resource_type: str
    id: str
    version: int
    last_updated: datetime
    deleted: bool
    resource: Resource


@dataclass(frozen=True, slots=True)
class HistoryPage:
    entries: list[HistoryEntry]
    total: int
    offset: int
    count: int


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """The parsed parameters of a history interaction."""

    count: int
    offset: int = 0
    since: datetime | None = None
    at: tuple[datetime, datetime] | None = None


def _moment(name: str, raw: str) -> tuple[datetime, datetime]:
    try:
        lo, hi = parse_range(raw)
    except ValueError as exc:
        what = f"{name} must be a FHIR instant or date, got '{raw[:40]}'"
        raise BadRequest(what, expression=[name]) from exc
    return _from_epoch(lo), _from_epoch(hi)


def _from_epoch(epoch: float) -> datetime:
    """An epoch as a UTC datetime; beyond year 9999 (the end of ``_at=9999``) is ``datetime.max``."""
    try:
        return datetime.fromtimestamp(epoch, UTC)
    except (OverflowError, ValueError, OSError):
        return datetime.max.replace(tzinfo=UTC)


def parse_history_params(
    params: list[tuple[str, str]], *, default_count: int, max_count: int
) -> HistoryQuery:
    """``_count``, ``_offset``, ``_since``, ``_at`` (others are a 400: history takes no search)."""
    count, offset, since, at = default_count, 0, None, None
    for key, raw in params:
        if key in {"_count", "_offset"}:
            if not raw.isdigit() or len(raw) > 10:
                raise BadRequest(f"{key} must be a non-negative integer", expression=[key])
            if key == "_count":
                count = min(int(raw), max_count)
            else:
                offset = int(raw)
                if offset > MAX_OFFSET:
                    raise BadRequest(f"_offset must be ≤ {MAX_OFFSET}", expression=["_offset"])
        elif key == "_since":
            since = _moment(key, raw)[0]
        elif key == "_at":
            at = _moment(key, raw)
        elif key != "_format":
            raise BadRequest(f"'{key[:64]}' is not a history parameter (_count, _offset, _since, _at)")
    return HistoryQuery(count=count, offset=offset, since=since, at=at)


async def read_history(
    session: AsyncSession, *, resource_type: str | None, resource_id: str | None, query: HistoryQuery
) -> HistoryPage:
    """A page of the versions of ``resource_type``/``resource_id`` (None: every type / every id)."""
    v = ResourceVersionRow
    where: list[Any] = []
    if resource_type is not None:
        where.append(v.resource_type == resource_type)
    if resource_id is not None:
        where.append(v.id == resource_id)
    if query.since is not None:
        where.append(v.last_updated >= query.since)
    if query.at is not None:
        where.append(v.last_updated < query.at[1])
    total = int((await session.execute(select(func.count()).select_from(v).where(*where))).scalar_one())
    entries: list[HistoryEntry] = []
    if query.count > 0:
        rows = await session.execute(
            select(v.resource_type, v.id, v.version_id, v.last_updated, v.deleted, v.content)
            .where(*where)
            .order_by(v.last_updated.desc(), v.resource_type, v.id, v.version_id.desc())
            .offset(query.offset)
            .limit(query.count)
        )
        entries = [
            HistoryEntry(rtype, rid, version, _aware(stamp), deleted, orjson.loads(content))
            for rtype, rid, version, stamp, deleted, content in rows.all()
        ]
    return HistoryPage(entries=entries, total=total, offset=query.offset, count=query.count)


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes (stored as UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
