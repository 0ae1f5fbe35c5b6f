"""Reads of the FHIR store the pages need, each bounded (pages of 1000, a fixed number of pages)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from fhir_ops.errors import FhirError
from fhir_ops.store.protocol import ResourceRepository, SearchParams
from measures.catalog import IndicatorSpec, indicator_specs, spec_for
from medqc.workstation.views import is_judgement, measure_id

Resource = dict[str, Any]
PAGE = 1000
#: The most stored judgements one worklist or chart reads (then it says it is truncated).
MAX_REPORTS = 20_000
_ID_CHUNK = 100
DECISION_SYSTEM = "http://medqc.org/fhir/CodeSystem/qc-review"
DECISION_CODE = "verdict-review"


@dataclass(slots=True)
class Loaded:
    resources: list[Resource]
    truncated: bool


async def search_all(
    repo: ResourceRepository, resource_type: str, params: SearchParams, *, limit: int
) -> Loaded:
    """Every match of a search, page by page, up to ``limit`` resources."""
    out: list[Resource] = []
    offset = 0
    while len(out) < limit:
        page = await repo.search(resource_type, [*params, ("_count", str(PAGE)), ("_offset", str(offset))])
        out.extend(page.matches)
        offset += PAGE
        if not page.matches or offset >= page.total:
            return Loaded(out[:limit], truncated=False)
    return Loaded(out[:limit], truncated=True)


async def judgements(repo: ResourceRepository, *, measure: str | None = None) -> Loaded:
    """The stored individual reports (``MeasureReport/qc-…``), of one indicator when ``measure`` is given."""
    params: SearchParams = [("_sort", "_id")]
    if measure:
        spec = spec_for(measure)
        params.append(("measure", spec.canonical if spec else f"http://medqc.org/fhir/Measure/{measure}"))
    loaded = await search_all(repo, "MeasureReport", params, limit=MAX_REPORTS)
    return Loaded([r for r in loaded.resources if is_judgement(r)], loaded.truncated)


async def by_ids(repo: ResourceRepository, resource_type: str, ids: set[str]) -> dict[str, Resource]:
    out: dict[str, Resource] = {}
    ordered = sorted(i for i in ids if i)
    for at in range(0, len(ordered), _ID_CHUNK):
        chunk = ordered[at : at + _ID_CHUNK]
        page = await repo.search(resource_type, [("_id", ",".join(chunk)), ("_count", str(len(chunk)))])
        out.update({str(r.get("id")): r for r in page.matches})
    return out


async def decisions(repo: ResourceRepository, *, encounter: str | None = None) -> Loaded:
    """The reviewers' decisions (Tasks), of one encounter when given."""
    params: SearchParams = [("code", f"{DECISION_SYSTEM}|{DECISION_CODE}")]
    if encounter:
        params.append(("encounter", f"Encounter/{encounter}"))
    return await search_all(repo, "Task", params, limit=MAX_REPORTS)


def decided_report(task: Resource) -> str:
    """The id of the report a decision is about (its focus, versioned or not)."""
    ref = str((task.get("focus") or {}).get("reference", ""))
    return ref.removeprefix("MeasureReport/").split("/_history/")[0]


def latest_decisions(tasks: list[Resource]) -> dict[str, Resource]:
    """The latest decision per report id."""
    out: dict[str, Resource] = {}
    for task in sorted(tasks, key=lambda t: str(t.get("lastModified") or t.get("authoredOn") or "")):
        out[decided_report(task)] = task
    return out


@lru_cache(maxsize=1)
def _specs() -> dict[str, IndicatorSpec]:
    return {spec.id: spec for spec in indicator_specs()}


def spec_of(report: Resource) -> IndicatorSpec | None:
    """The catalog indicator a report is about (None for other measures, e.g. an eCQM)."""
    return _specs().get(measure_id(report))


async def read_or_none(repo: ResourceRepository, resource_type: str, resource_id: str) -> Resource | None:
    try:
        return await repo.read(resource_type, resource_id)
    except FhirError:
        return None
