"""Turn FHIR search parameters into a SQL query over the search index."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, and_, false, func, not_, or_, select

from fhir_ops.errors import BadRequest
from fhir_ops.search.dates import parse_range
from fhir_ops.search.indexer import fold_string
from fhir_ops.search.parameters import RESULT_PARAMETERS, SearchParam, params_for
from fhir_ops.store.tables import ResourceRow, SearchIndexRow

DATE_PREFIXES = ("eq", "ne", "lt", "le", "gt", "ge", "sa", "eb")

#: Limits of one search (README "Reliability"): a request beyond them is a 400, never a runaway query.
MAX_OR_VALUES = 1000
"""Comma-separated values of one parameter (``code=a,b,c``) and ``_id`` values."""
MAX_PARAMETERS = 100
"""Search parameters in one request (filters and result parameters together)."""
MAX_SORT_KEYS = 8
"""Keys of ``_sort``."""
MAX_OFFSET = 2**31 - 1
"""``_offset``: deeper pages are refused (both databases take 32-bit offsets cheaply)."""
_MODIFIERS: dict[str, frozenset[str]] = {
    "token": frozenset({"", "not"}),
    "reference": frozenset({""}),
    "date": frozenset({""}),
    "string": frozenset({"", "exact", "contains"}),
    "uri": frozenset({"", "below"}),
}


@dataclass(slots=True)
class SearchPlan:
    """A parsed search: filters, paging, sorting, includes, and the parameters that were ignored."""

    resource_type: str
    filters: list[ColumnElement[bool]] = field(default_factory=list)
    count: int = 50
    offset: int = 0
    sort: list[tuple[str, bool]] = field(default_factory=list)
    includes: list[tuple[str, str, str | None]] = field(default_factory=list)
    summary_count: bool = False
    ignored: list[str] = field(default_factory=list)


def _date_condition(lo_col: Any, hi_col: Any, raw: str) -> Any:
    prefix = raw[:2] if raw[:2] in DATE_PREFIXES else "eq"
    text = raw[2:] if raw[:2] in DATE_PREFIXES else raw
    try:
        vlo, vhi = parse_range(text)
    except ValueError as exc:
        raise BadRequest(f"Invalid date search value '{raw}'") from exc
    match prefix:
        case "eq":
            return and_(lo_col >= vlo, hi_col <= vhi)
        case "ne":
            return not_(and_(lo_col >= vlo, hi_col <= vhi))
        case "lt":
            return lo_col < vlo
        case "le":
            return lo_col < vhi
        case "gt":
            return hi_col > vhi
        case "ge":
            return hi_col > vlo
        case "sa":
            return lo_col >= vhi
        case _:  # eb
            return hi_col <= vlo


def _value_condition(param: SearchParam, modifier: str, raw: str) -> ColumnElement[bool]:
    si = SearchIndexRow
    if param.type == "token":
        if "|" in raw:
            system, code = raw.split("|", 1)
            if system and code:
                return and_(si.system == system, si.value == code)
            if system:
                return si.system == system
            return and_(si.system.is_(None), si.value == code)
        return si.value == raw
    if param.type == "reference":
        ref_type, _, ref_id = raw.rpartition("/")
        if ref_type:
            ref_type = ref_type.rsplit("/", 1)[-1]
            return and_(si.system == ref_type, si.value == ref_id)
        if len(param.targets) == 1:
            return and_(si.system == param.targets[0], si.value == raw)
        return si.value == raw
    if param.type == "date":
        return cast("ColumnElement[bool]", _date_condition(si.lo, si.hi, raw))
    if param.type == "string":
        folded = fold_string(raw)
        if modifier == "exact":
            return si.value == folded
        if modifier == "contains":
            return si.value.contains(folded, autoescape=True)
        return si.value.startswith(folded, autoescape=True)
    if modifier == "below":
        return si.value.startswith(raw, autoescape=True)
    return si.value == raw


def _param_filter(resource_type: str, param: SearchParam, modifier: str, raw: str) -> ColumnElement[bool]:
    values = [v for v in raw.split(",") if v != ""]
    if not values:
        raise BadRequest(f"Search parameter '{param.name}' has no value")
    conditions = [_value_condition(param, modifier, v) for v in values]
    negate = modifier == "not"
    sub = select(SearchIndexRow.resource_id).where(
        SearchIndexRow.resource_type == resource_type,
        SearchIndexRow.param == param.name,
        or_(*conditions),
    )
    return ResourceRow.id.not_in(sub) if negate else ResourceRow.id.in_(sub)


def _common_filter(name: str, raw: str) -> ColumnElement[bool]:
    if name == "_id":
        return ResourceRow.id.in_([v for v in raw.split(",") if v])
    conditions = []
    for value in raw.split(","):
        prefix = value[:2] if value[:2] in DATE_PREFIXES else ""
        vlo, vhi = parse_range(value[len(prefix) :]) if value else (0.0, 0.0)
        lo = _instant(vlo)
        hi = _instant(vhi)
        col = ResourceRow.last_updated
        conditions.append(
            {
                "": and_(col >= lo, col < hi),
                "eq": and_(col >= lo, col < hi),
                "ne": or_(col < lo, col >= hi),
                "lt": col < lo,
                "le": col < hi,
                "gt": col >= hi,
                "ge": col >= lo,
                "sa": col >= hi,
                "eb": col < lo,
            }[prefix]
        )
    return or_(*conditions) if conditions else false()


_LATEST = datetime.max.replace(tzinfo=UTC)


def _instant(epoch: float) -> datetime:
    """An epoch as a datetime; the end of year 9999 (epoch of year 10000) becomes ``datetime.max``."""
    return _LATEST if epoch >= _LATEST.timestamp() else datetime.fromtimestamp(epoch, UTC)


def _int_param(name: str, raw: str, *, minimum: int) -> int:
    if len(raw) > 19:  # beyond any 64-bit integer (and Python's digit limit)
        raise BadRequest(f"{name} is out of range", expression=[name])
    try:
        value = int(raw)
    except ValueError as exc:
        raise BadRequest(f"{name} must be an integer, got '{raw}'") from exc
    if value < minimum:
        raise BadRequest(f"{name} must be ≥ {minimum}")
    return value


def plan_search(
    resource_type: str,
    params: list[tuple[str, str]],
    *,
    strict: bool,
    default_count: int,
    max_count: int,
) -> SearchPlan:
    """Parse raw query pairs into a :class:`SearchPlan`; unknown parameters are errors if ``strict``."""
    plan = SearchPlan(resource_type=resource_type, count=default_count)
    known = params_for(resource_type)
    if len(params) > MAX_PARAMETERS:
        raise BadRequest(f"A search takes at most {MAX_PARAMETERS} parameters, not {len(params)}")
    for key, raw in params:
        if "\x00" in key or "\x00" in raw:
            raise BadRequest("Search parameters cannot contain the NUL character", expression=[key[:64]])
        name, _, modifier = key.partition(":")
        if name != "_sort" and raw.count(",") >= MAX_OR_VALUES:
            raise BadRequest(
                f"Search parameter '{key[:64]}' lists more than {MAX_OR_VALUES} values", expression=[key[:64]]
            )
        if name in RESULT_PARAMETERS:
            _apply_result_param(plan, name, modifier, raw, known, max_count)
            continue
        if name in {"_id", "_lastUpdated"} and not modifier:
            try:
                plan.filters.append(_common_filter(name, raw))
            except ValueError as exc:
                raise BadRequest(f"Invalid value '{raw}' for {name}") from exc
            continue
        param = known.get(name)
        if param is None or modifier not in _MODIFIERS[param.type]:
            what = f"Unknown search parameter '{key}' for {resource_type}"
            if param is not None:
                what = f"Unsupported modifier ':{modifier}' on search parameter '{name}'"
            if strict:
                raise BadRequest(what, expression=[key])
            plan.ignored.append(what)
            continue
        plan.filters.append(_param_filter(resource_type, param, modifier, raw))
    return plan


def _apply_result_param(
    plan: SearchPlan, name: str, modifier: str, raw: str, known: dict[str, SearchParam], max_count: int
) -> None:
    if name == "_count":
        plan.count = min(_int_param("_count", raw, minimum=0), max_count)
    elif name == "_offset":
        plan.offset = _int_param("_offset", raw, minimum=0)
        if plan.offset > MAX_OFFSET:
            raise BadRequest(f"_offset must be ≤ {MAX_OFFSET}", expression=["_offset"])
    elif name == "_sort":
        items = raw.split(",")
        if len(plan.sort) + len(items) > MAX_SORT_KEYS:
            raise BadRequest(f"_sort takes at most {MAX_SORT_KEYS} keys", expression=["_sort"])
        for item in items:
            desc = item.startswith("-")
            key = item.lstrip("-")
            if key not in {"_id", "_lastUpdated"} and (key not in known or known[key].type != "date"):
                raise BadRequest(f"Cannot sort by '{key}': _id, _lastUpdated or a date parameter expected")
            plan.sort.append((key, desc))
    elif name == "_include":
        parts = raw.split(":")
        if len(parts) not in (2, 3) or parts[0] != plan.resource_type:
            raise BadRequest(f"_include must be '{plan.resource_type}:<reference parameter>[:<type>]'")
        param = known.get(parts[1])
        if param is None or param.type != "reference":
            raise BadRequest(f"_include parameter '{parts[1]}' is not a reference parameter")
        plan.includes.append((parts[0], parts[1], parts[2] if len(parts) == 3 else None))
    elif name == "_summary":
        if raw == "count":
            plan.summary_count = True
        elif raw != "false":
            plan.ignored.append(f"_summary={raw} is not supported; full resources returned")
    elif name == "_total":
        pass  # the total is always computed exactly
    elif name == "_format":
        if raw not in {"json", "application/json", "application/fhir+json"}:
            raise BadRequest("Only JSON is supported (_format=json)")
    else:
        plan.ignored.append(f"Result parameter '{name}' is not supported and was ignored")
    del modifier


def base_query(plan: SearchPlan) -> Select[str, str]:
    return select(ResourceRow.id, ResourceRow.content).where(
        ResourceRow.resource_type == plan.resource_type, ResourceRow.deleted.is_(False), *plan.filters
    )


def count_query(plan: SearchPlan) -> Select[Any]:
    return select(func.count()).select_from(
        select(ResourceRow.id)
        .where(ResourceRow.resource_type == plan.resource_type, ResourceRow.deleted.is_(False), *plan.filters)
        .subquery()
    )


def ordered(plan: SearchPlan, query: Select[str, str]) -> Select[str, str]:
    order: list[Any] = []
    for key, desc in plan.sort:
        if key == "_id":
            col: Any = ResourceRow.id
        elif key == "_lastUpdated":
            col = ResourceRow.last_updated
        else:
            col = (
                select(func.min(SearchIndexRow.lo))
                .where(
                    SearchIndexRow.resource_type == plan.resource_type,
                    SearchIndexRow.resource_id == ResourceRow.id,
                    SearchIndexRow.param == key,
                )
                .scalar_subquery()
            )
        order.append(col.desc() if desc else col.asc())
    order.append(ResourceRow.id.asc())
    return query.order_by(*order).offset(plan.offset).limit(plan.count)
