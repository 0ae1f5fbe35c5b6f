"""The search parameters the embedded store indexes, per resource type (one table, used everywhere).

They come from the official FHIR R4 SearchParameter definitions, compacted into
``r4/search_parameters.json`` by ``r4/generate.py`` (see there), plus the few MedQC aliases in
:data:`MEDQC_PARAMETERS`. The CapabilityStatement, the indexer and the query parser all read this
table, so the store cannot claim a parameter it does not index. Every R4 resource type is accepted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal, cast

ParamType = Literal["token", "reference", "date", "string", "uri", "quantity", "number"]
#: Parameter types the query builder searches (composite and special ones are not indexed).
SEARCHABLE_TYPES: frozenset[str] = frozenset(
    {"token", "reference", "date", "string", "uri", "quantity", "number"}
)
TABLE = Path(__file__).resolve().parent / "r4" / "search_parameters.json"


@dataclass(frozen=True, slots=True)
class SearchParam:
    name: str
    type: ParamType
    paths: tuple[str, ...]
    """Dotted element paths; a path segment ending in ``[x]`` matches every choice type."""
    targets: tuple[str, ...] = ()
    documentation: str = ""


def _p(name: str, type_: ParamType, *paths: str, targets: tuple[str, ...] = (), doc: str = "") -> SearchParam:
    return SearchParam(name, type_, tuple(paths), targets, doc)


#: MedQC's own parameters beside the official ones (aliases its clients and catalog use).
MEDQC_PARAMETERS: dict[str, tuple[SearchParam, ...]] = {
    "Encounter": (_p("period", "date", "period", doc="Alias of date: the encounter's period"),),
    "MedicationAdministration": (
        _p("encounter", "reference", "context", targets=("Encounter",), doc="Alias of context"),
    ),
}

#: Parameters every type accepts (handled by the query builder itself).
COMMON_PARAMETERS: tuple[SearchParam, ...] = (
    _p("_id", "token", "id"),
    _p("_lastUpdated", "date", "meta.lastUpdated"),
)

#: Result parameters: control the result, never filter it.
RESULT_PARAMETERS: frozenset[str] = frozenset(
    {"_count", "_offset", "_sort", "_include", "_revinclude", "_summary", "_format", "_total", "_elements"}
)


@cache
def _table() -> tuple[tuple[str, ...], dict[str, dict[str, SearchParam]]]:
    data = json.loads(TABLE.read_text(encoding="utf-8"))
    types = tuple(str(t) for t in data["types"])
    params: dict[str, dict[str, SearchParam]] = {}
    for resource_type, rows in data["parameters"].items():
        params[resource_type] = {
            str(name): SearchParam(str(name), cast(ParamType, kind), tuple(paths), tuple(targets))
            for name, kind, paths, targets in rows
        }
    for resource_type, extras in MEDQC_PARAMETERS.items():
        for param in extras:
            params.setdefault(resource_type, {})[param.name] = param
    return types, params


def supported_types() -> tuple[str, ...]:
    """Every FHIR R4 resource type."""
    return _table()[0]


def indexed_params_for(resource_type: str) -> dict[str, SearchParam]:
    """Every parameter the indexer extracts for ``resource_type``."""
    return _table()[1].get(resource_type, {})


@cache
def params_for(resource_type: str) -> dict[str, SearchParam]:
    """The parameters a search on ``resource_type`` may use (indexed and of a searchable type)."""
    return {n: p for n, p in indexed_params_for(resource_type).items() if p.type in SEARCHABLE_TYPES}
