"""Turn FHIR search parameters into a SQL query over the search index."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import cache, partial
from typing import Any, cast

from sqlalchemy import Column, ColumnElement, Select, Table, and_, false, func, not_, null, or_, select
from sqlalchemy.sql.base import ReadOnlyColumnCollection

from fhir_ops.errors import BadRequest
from fhir_ops.search.dates import parse_range
from fhir_ops.search.indexer import fold_string
from fhir_ops.search.parameters import RESULT_PARAMETERS, SearchParam, params_for, supported_types
from fhir_ops.search.subsetting import parse_elements, parse_summary
from fhir_ops.store.tables import ResourceRow, SearchIndexRow

#: the columns of the search index table, or of an alias of it (a search that joins the index to itself);
#: Core columns: an ORM alias adapts every attribute it is asked for, a millisecond per search
IndexRows = ReadOnlyColumnCollection[str, Column[Any]]
_INDEX: Table = SearchIndexRow.__table__  # type: ignore[assignment]


@cache
def _alias(name: str) -> IndexRows:
    """The columns of a named alias of the index (made once: building an alias's columns is not free)."""
    return _INDEX.alias(name).c


DATE_PREFIXES = ("eq", "ne", "lt", "le", "gt", "ge", "sa", "eb")
NUMBER_PREFIXES = (*DATE_PREFIXES, "ap")

#: Limits of one search (README "Reliability"): a request beyond them is a 400, never a runaway query.
MAX_OR_VALUES = 1000
"""Comma-separated values of one parameter (``code=a,b,c``) and ``_id`` values."""
MAX_PARAMETERS = 100
"""Search parameters in one request (filters and result parameters together)."""
MAX_SORT_KEYS = 8
"""Keys of ``_sort``."""
MAX_OFFSET = 2**31 - 1
"""``_offset``: deeper pages are refused (both databases take 32-bit offsets cheaply)."""
TOTAL_MODES = ("none", "estimate", "accurate")
"""``_total``. The default is ``accurate``: paging links, conditional interactions and every client of the
store read ``Bundle.total``, and counting in the page's own statement costs one index range, not a round
trip. ``none`` is for callers that only page (the store's own record gathering)."""
_MODIFIERS: dict[str, frozenset[str]] = {
    "token": frozenset({"", "not"}),
    "reference": frozenset({""}),
    "date": frozenset({""}),
    "string": frozenset({"", "exact", "contains"}),
    "uri": frozenset({"", "below"}),
    "quantity": frozenset({""}),
    "number": frozenset({""}),
}


@dataclass(slots=True)
class SearchPlan:
    """A parsed search: filters, paging, sorting, includes, and the parameters that were ignored."""

    resource_type: str
    filters: list[ColumnElement[bool]] = field(default_factory=list)
    #: parameters answered from the index; :func:`_matching` picks the one that drives the search
    lookups: list[Lookup] = field(default_factory=list)
    count: int = 50
    offset: int = 0
    sort: list[tuple[str, bool]] = field(default_factory=list)
    includes: list[tuple[str, str, str | None]] = field(default_factory=list)
    #: ``_revinclude``: (source type, its reference parameter) pointing at the matches
    revincludes: list[tuple[str, str]] = field(default_factory=list)
    summary_count: bool = False
    #: ``_total``: ``accurate`` (the default) or ``none`` (``estimate`` is answered accurately)
    total: str = "accurate"
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


def _number_condition(col: Any, raw: str) -> ColumnElement[bool]:
    """A ``[prefix]number`` search on a stored number: ``eq`` spans the value's implicit precision
    (``5.4`` is [5.35, 5.45)), ``ap`` is within 10%.

    >>> str(_number_condition(SearchIndexRow.lo, "5.4").compile(compile_kwargs={"literal_binds": True}))
    'fhir_search_index.lo >= 5.35 AND fhir_search_index.lo < 5.45'
    """
    prefix = raw[:2] if raw[:2] in NUMBER_PREFIXES else "eq"
    text = raw[2:] if raw[:2] in NUMBER_PREFIXES else raw
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise BadRequest(f"Invalid number search value '{raw[:40]}'") from exc
    if not number.is_finite() or len(text) > 40:
        raise BadRequest(f"Invalid number search value '{raw[:40]}'")
    exponent = number.as_tuple().exponent
    half = Decimal(5).scaleb(int(exponent) - 1) if isinstance(exponent, int) else Decimal(0)
    value, lo, hi = float(number), float(number - half), float(number + half)
    margin = abs(value) * 0.1
    match prefix:
        case "eq":
            return and_(col >= lo, col < hi)
        case "ne":
            return or_(col < lo, col >= hi)
        case "lt" | "eb":
            return cast("ColumnElement[bool]", col < value)
        case "le":
            return cast("ColumnElement[bool]", col <= value)
        case "gt" | "sa":
            return cast("ColumnElement[bool]", col > value)
        case "ge":
            return cast("ColumnElement[bool]", col >= value)
        case _:  # ap
            return and_(col >= value - margin, col <= value + margin)


def _quantity_condition(raw: str, si: IndexRows) -> ColumnElement[bool]:
    """``[prefix]number[|system|code]``: the number, and the system and code (or unit) when given."""
    number, _, rest = raw.partition("|")
    conditions = [_number_condition(si.lo, number)]
    if rest:
        system, _, code = rest.partition("|")
        if system:
            conditions.append(si.system == system)
        if code:
            conditions.append(si.value == code)
    return and_(*conditions)


def _value_condition(param: SearchParam, modifier: str, raw: str, si: IndexRows) -> ColumnElement[bool]:
    if param.type == "number":
        return _number_condition(si.lo, raw)
    if param.type == "quantity":
        return _quantity_condition(raw, si)
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


#: The system column of an equality lookup may be anything (no condition on it).
_ANY_SYSTEM = "\x00any"


def _equality(param: SearchParam, modifier: str, raw: str) -> tuple[str | None, str] | None:
    """``(system, value)`` when ``raw`` matches exactly one indexed value (``system`` ``None``: no system,
    :data:`_ANY_SYSTEM`: any system); None when the match is not an equality on ``value`` (dates, numbers,
    prefixes, a system without a code). Must agree with :func:`_value_condition`.

    >>> from fhir_ops.search.parameters import params_for
    >>> _equality(params_for("Observation")["code"], "", "http://loinc.org|8302-2")
    ('http://loinc.org', '8302-2')
    >>> _equality(params_for("Observation")["patient"], "", "Patient/7")
    ('Patient', '7')
    >>> _equality(params_for("Observation")["date"], "", "2020") is None
    True
    """
    if param.type == "token":
        if "|" not in raw:
            return _ANY_SYSTEM, raw
        system, code = raw.split("|", 1)
        if system and not code:
            return None
        return system or None, code
    if param.type == "reference":
        ref_type, _, ref_id = raw.rpartition("/")
        if ref_type:
            return ref_type.rsplit("/", 1)[-1], ref_id
        if len(param.targets) == 1:
            return param.targets[0], raw
        return _ANY_SYSTEM, raw
    if param.type == "string" and modifier == "exact":
        return _ANY_SYSTEM, fold_string(raw)
    if param.type == "uri" and modifier == "":
        return _ANY_SYSTEM, raw
    return None


def _in_list(values: list[str], si: IndexRows) -> ColumnElement[bool]:
    return si.value == values[0] if len(values) == 1 else si.value.in_(values)


def _values_condition(
    param: SearchParam, modifier: str, values: list[str], si: IndexRows
) -> ColumnElement[bool]:
    """Any of ``values`` (the comma-separated values of one parameter): equalities grouped into one
    ``IN`` list per system (an index range each, whatever the number of values), the rest OR-ed."""
    by_system: dict[str | None, list[str]] = {}
    others: list[ColumnElement[bool]] = []
    for raw in values:
        equal = _equality(param, modifier, raw)
        if equal is None:
            others.append(_value_condition(param, modifier, raw, si))
        elif equal[1] not in (listed := by_system.setdefault(equal[0], [])):
            listed.append(equal[1])
    conditions = [
        _in_list(listed, si)
        if system == _ANY_SYSTEM
        else and_(si.system.is_(None) if system is None else si.system == system, _in_list(listed, si))
        for system, listed in by_system.items()
    ]
    conditions += others
    return conditions[0] if len(conditions) == 1 else or_(*conditions)


def _index_condition(
    resource_type: str, param: SearchParam, modifier: str, raw: str, si: IndexRows = _INDEX.c
) -> ColumnElement[bool]:
    """The index rows (of ``si``: the table, or an alias of it) of ``resource_type`` with a value of
    ``param`` matching ``raw`` (ignoring ``:not``, which the caller applies)."""
    values = [v for v in raw.split(",") if v != ""]
    if not values:
        raise BadRequest(f"Search parameter '{param.name}' has no value")
    if param.type == "reference" and modifier and modifier != "not":  # subject:Patient=7
        values = [v if "/" in v else f"{modifier}/{v}" for v in values]
        modifier = ""
    return and_(
        si.resource_type == resource_type,
        si.param == param.name,
        _values_condition(param, modifier, values, si),
    )


def _indexed_ids(resource_type: str, param: SearchParam, modifier: str, raw: str) -> Select[str]:
    """The ids of ``resource_type`` whose index has a value of ``param`` matching ``raw``."""
    return select(SearchIndexRow.resource_id).where(_index_condition(resource_type, param, modifier, raw))


#: Which lookup drives a search (lowest first): a reference (a patient, an encounter) matches few rows
#: whatever the store's size; a code or a date range may match a large share of the type.
_DRIVER_RANK = {"reference": 0, "token": 1, "string": 2, "uri": 2}


@dataclass(frozen=True, slots=True)
class Lookup:
    """One parameter a search answers from the index (``:not`` excepted): the index rows that match."""

    kind: str
    #: the matching rows of the index table, and how to say the same of an alias of it
    rows: ColumnElement[bool]
    rows_of: Callable[[IndexRows], ColumnElement[bool]]

    def driving(self) -> ColumnElement[bool]:
        """The resources listed by the index rows: the search starts from them."""
        return ResourceRow.id.in_(select(SearchIndexRow.resource_id).where(self.rows))

    def driving_checked(self, checks: list[Lookup]) -> ColumnElement[bool]:
        """:meth:`driving`, with the ``checks`` applied to the driving index rows themselves: a candidate
        is dropped by index probes before its resource row is read (``Observation?patient&code`` reads
        the rows of the patient's few matches, not of every Observation of the patient)."""
        if not checks:
            return self.driving()
        driver = _alias("driver")
        probes = []
        for n, check in enumerate(checks):
            probe = _alias(f"probe{n}")
            probes.append(
                select(probe.pk).where(check.rows_of(probe), probe.resource_id == driver.resource_id).exists()
            )
        return ResourceRow.id.in_(select(driver.resource_id).where(self.rows_of(driver), *probes))


def _matching_ids(resource_type: str, param: SearchParam, modifier: str, raw: str) -> Select[str]:
    """The ids of live ``resource_type`` resources matching one parameter (``:not`` included)."""
    sub = _indexed_ids(resource_type, param, modifier, raw)
    if modifier != "not":
        return sub
    return select(ResourceRow.id).where(
        ResourceRow.resource_type == resource_type, ResourceRow.deleted.is_(False), ResourceRow.id.not_in(sub)
    )


def _param_filter(resource_type: str, param: SearchParam, modifier: str, raw: str) -> ColumnElement[bool]:
    sub = _indexed_ids(resource_type, param, modifier, raw)
    return ResourceRow.id.not_in(sub) if modifier == "not" else ResourceRow.id.in_(sub)


def _modifier_ok(param: SearchParam, modifier: str) -> bool:
    if param.type == "reference" and modifier in supported_types():
        return not param.targets or modifier in param.targets
    return modifier in _MODIFIERS[param.type]


def _target_ids(target_type: str, key: str, raw: str) -> Select[str] | None:
    """Ids of ``target_type`` matching ``key=raw`` (``key`` a parameter of that type, with modifier),
    or None when the type has no such parameter."""
    name, _, modifier = key.partition(":")
    if name == "_id" and not modifier:
        return select(ResourceRow.id).where(
            ResourceRow.resource_type == target_type,
            ResourceRow.deleted.is_(False),
            ResourceRow.id.in_([v for v in raw.split(",") if v]),
        )
    param = params_for(target_type).get(name)
    if param is None or not _modifier_ok(param, modifier):
        return None
    return _matching_ids(target_type, param, modifier, raw)


def chain_filter(
    resource_type: str, known: dict[str, SearchParam], key: str, raw: str
) -> ColumnElement[bool] | str:
    """``subject.name=x`` / ``subject:Patient.name=x``: resources whose reference parameter points at a
    resource matching the chained parameter (one level). Returns the filter, or why it cannot apply."""
    head, _, tail = key.partition(".")
    if "." in tail:
        return f"Chained parameter '{key}' goes more than one level deep (one is supported)"
    ref_name, _, target = head.partition(":")
    ref = known.get(ref_name)
    if ref is None or ref.type != "reference":
        return f"Chained parameter '{key}': '{ref_name}' is not a reference parameter of {resource_type}"
    targets = (target,) if target else ref.targets
    if target and ref.targets and target not in ref.targets:
        return f"Chained parameter '{key}': {ref_name} does not refer to {target}"
    si = SearchIndexRow
    conditions = []
    for target_type in targets:
        ids = _target_ids(target_type, tail, raw)
        if ids is not None:
            conditions.append(and_(si.system == target_type, si.value.in_(ids)))
    if not conditions:
        return f"Chained parameter '{key}': no target type of {ref_name} has a parameter '{tail}'"
    sub = select(si.resource_id).where(
        si.resource_type == resource_type, si.param == ref_name, or_(*conditions)
    )
    return ResourceRow.id.in_(sub)


def has_filter(resource_type: str, key: str, raw: str) -> ColumnElement[bool] | str:
    """``_has:Observation:patient:code=x``: resources that an Observation matching ``code=x`` refers
    to through its ``patient`` parameter (reverse chaining, one level)."""
    parts = key.split(":")
    if len(parts) < 4 or parts[3] == "_has":
        return f"'{key}' must be _has:<type>:<reference parameter>:<parameter> (one level)"
    source_type, ref_name, inner = parts[1], parts[2], ":".join(parts[3:])
    if source_type not in supported_types():
        return f"'{key}': unknown resource type '{source_type}'"
    ref = params_for(source_type).get(ref_name)
    if ref is None or ref.type != "reference" or (ref.targets and resource_type not in ref.targets):
        return f"'{key}': {source_type}.{ref_name} is not a reference parameter to {resource_type}"
    ids = _target_ids(source_type, inner, raw)
    if ids is None:
        return f"'{key}': {source_type} has no search parameter '{inner}'"
    si = SearchIndexRow
    sub = select(si.value).where(
        si.resource_type == source_type,
        si.param == ref_name,
        si.system == resource_type,
        si.resource_id.in_(ids),
    )
    return ResourceRow.id.in_(sub)


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
        if name == "_has" or "." in name.split(":", 1)[0] or "." in modifier:
            built = (
                has_filter(resource_type, key, raw)
                if name == "_has"
                else chain_filter(resource_type, known, key, raw)
            )
            if isinstance(built, str):
                if strict:
                    raise BadRequest(built, expression=[key[:64]])
                plan.ignored.append(built)
            else:
                plan.filters.append(built)
            continue
        param = known.get(name)
        if param is None or not _modifier_ok(param, modifier):
            what = f"Unknown search parameter '{key}' for {resource_type}"
            if param is not None:
                what = f"Unsupported modifier ':{modifier}' on search parameter '{name}'"
            if strict:
                raise BadRequest(what, expression=[key])
            plan.ignored.append(what)
            continue
        if modifier == "not":
            plan.filters.append(_param_filter(resource_type, param, modifier, raw))
        else:
            rows_of = partial(_index_condition, resource_type, param, modifier, raw)
            plan.lookups.append(Lookup(param.type, rows_of(_INDEX.c), rows_of))
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
    elif name == "_revinclude":
        parts = raw.split(":")
        if len(parts) not in (2, 3) or parts[0] not in supported_types():
            raise BadRequest("_revinclude must be '<type>:<reference parameter>[:<target type>]'")
        param = params_for(parts[0]).get(parts[1])
        if param is None or param.type != "reference":
            raise BadRequest(f"_revinclude parameter '{parts[1]}' is not a reference parameter of {parts[0]}")
        if len(parts) == 3 and parts[2] != plan.resource_type:
            return  # it names another target type: nothing of this search's type to add
        plan.revincludes.append((parts[0], parts[1]))
    elif name == "_summary":
        plan.summary_count = parse_summary(raw) == "count"
    elif name == "_elements":
        parse_elements(raw)  # validated here, applied to the resources by the REST layer
    elif name == "_total":
        if raw not in TOTAL_MODES:
            raise BadRequest(
                f"_total must be one of {', '.join(TOTAL_MODES)}, not '{raw[:40]}'", expression=["_total"]
            )
        plan.total = "none" if raw == "none" else "accurate"
    elif name == "_format":
        pass  # the REST layer answers 406 for anything but JSON
    else:
        plan.ignored.append(f"Result parameter '{name}' is not supported and was ignored")
    if modifier == "iterate" and name in {"_include", "_revinclude"}:
        plan.ignored.append(f"{name}:iterate is applied one level deep (not iterated)")


def base_query(plan: SearchPlan) -> Select[str, str]:
    return select(ResourceRow.id, ResourceRow.content).where(*_matching(plan))


def _matching(plan: SearchPlan) -> list[ColumnElement[bool]]:
    """The conditions of a match: the most selective-looking lookup lists candidates (an ``IN``), the
    others check each candidate's index rows (``EXISTS``, see :meth:`Lookup.driving_checked`): without
    statistics (SQLite) an ``IN`` of a common code would be read whole for every search."""
    lookups = plan.lookups
    driver = min(range(len(lookups)), key=lambda i: _DRIVER_RANK.get(lookups[i].kind, 3), default=-1)
    checked = [lookup for i, lookup in enumerate(lookups) if i != driver]
    return [
        ResourceRow.resource_type == plan.resource_type,
        ResourceRow.deleted.is_(False),
        *plan.filters,
        *([lookups[driver].driving_checked(checked)] if lookups else []),
    ]


def count_query(plan: SearchPlan, matching: list[ColumnElement[bool]] | None = None) -> Select[int]:
    matching = _matching(plan) if matching is None else matching
    return select(func.count()).select_from(select(ResourceRow.id).where(*matching).subquery())


def page_query(plan: SearchPlan) -> Select[str, str, int | None]:
    """One page of matches (``id``, ``content``) with the total in the same statement (``total``: an
    uncorrelated sub-query, counted once per statement by both databases; NULL with ``_total=none``).

    With ``_total=none`` one row more than the page is read, so the caller knows whether a next page
    exists without counting."""
    matching = _matching(plan)
    total: Any = count_query(plan, matching).scalar_subquery() if plan.total == "accurate" else null()
    query = select(ResourceRow.id, ResourceRow.content, total.label("total")).where(*matching)
    return ordered(plan, query, extra=plan.total != "accurate")


def ordered(plan: SearchPlan, query: Select[Any], *, extra: bool = False) -> Select[Any]:
    """``query`` sorted by ``plan.sort`` then id, cut to the page (plus one row when ``extra``).

    A date key is the resource's lowest ``lo`` of that parameter: a correlated sub-query that is one probe
    of ``ix_fhir_search_resource`` per match (its cost follows the matches, not the store)."""
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
    return query.order_by(*order).offset(plan.offset).limit(plan.count + 1 if extra else plan.count)
