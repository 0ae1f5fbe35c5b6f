"""Judge encounters with the catalog's CQL: one engine run per disease for many patients.

For an encounter-level judgement (``$qc-evaluate``, the discharge hook) every indicator of a disease is
needed at once, so the engine runs an *evaluation measure* per disease: the disease Library with one
group per indicator, each exactly the published Measure's group (same CQL definitions) plus a
"rule unknown" stratifier. The published one-indicator Measures serve ``$evaluate-measure``; both read
the same definitions of the same Library, so the two cannot disagree.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from measures.builtin import fhirhelpers_cql, library_resource
from measures.catalog.cql import disease_library
from measures.catalog.loader import load_catalog
from measures.catalog.measures import (
    BASE,
    CQFM,
    CQL_IDENTIFIER,
    CS_SCORING,
    catalog_library,
    catalog_resources,
    facts_library,
    indicator_group,
    valueset_resource,
)
from measures.catalog.outcome import Outcome
from measures.catalog.schema import DiseaseSpec, IndicatorSpec
from measures.engine import CqlEngine, PatientResult, calculate_measure, translate_cql
from measures.engine.calculate import measure_bundle_key
from measures.library_content import cql_of, with_elm

RULE_UNKNOWN = "rule-unknown"


@dataclass(frozen=True, slots=True)
class PreparedDisease:
    bundle: dict[str, Any]
    key: str


def evaluation_measure(disease: DiseaseSpec) -> dict[str, Any]:
    """All indicators of ``disease`` as the groups of one Measure (engine use only, never stored)."""
    groups = []
    for ind in disease.indicators:
        group = indicator_group(ind, group_id=ind.id)
        group["stratifier"].append(
            {
                "id": RULE_UNKNOWN,
                "criteria": {"language": CQL_IDENTIFIER, "expression": f"{ind.id} Rule Unknown"},
            }
        )
        groups.append(group)
    lib = disease_library(disease)
    return {
        "resourceType": "Measure",
        "id": f"qc-evaluate-{disease.slug}",
        "url": f"{BASE}/Measure/qc-evaluate-{disease.slug}",
        "version": disease.version,
        "status": "active",
        "extension": [{"url": f"{CQFM}/cqfm-populationBasis", "valueCode": "Encounter"}],
        "library": [f"{BASE}/Library/{lib.name}"],
        "scoring": {"coding": [{"system": CS_SCORING, "code": "proportion"}]},
        "group": groups,
    }


def _outcome(result: PatientResult, ind: IndicatorSpec, encounter_id: str) -> Outcome:
    group = next((g for g in result.groups if g.group_id == ind.id), None)
    episode = None
    if group is not None:
        episode = next((e for e in group.episode_results if e.episode_id == encounter_id), None)
    if episode is None:
        return Outcome(0, 0, 0, None, False)
    pops = {p.population_type: int(p.result) for p in episode.population_results}
    strata = {s.index: s.result for s in episode.stratifier_results if s.index is not None}
    ip, den, num = pops.get("initial-population", 0), pops.get("denominator", 0), pops.get("numerator", 0)
    rule: bool | None = None if strata.get(1) else bool(num)
    return Outcome(ip, den, num, rule if den else None, bool(den) and bool(strata.get(0)))


class CatalogEngine:
    """The catalog indicators on the CQL engine: disease measure bundles prepared once, then
    per-encounter outcomes for many patients per call."""

    def __init__(self, cql: CqlEngine) -> None:
        self.cql = cql
        self._prepared: dict[str, PreparedDisease] = {}
        self._elm: dict[str, dict[str, Any]] | None = None
        self._lock = asyncio.Lock()

    async def library_elm(self) -> dict[str, dict[str, Any]]:
        """ELM of every catalog Library (FHIRHelpers, MedQCFacts, one per disease) by name, translated in
        one batch (cached by content, so the store's seeding and the judgements share it)."""
        async with self._lock:
            if self._elm is None:
                libraries = [r for r in catalog_resources() if r["resourceType"] == "Library"]
                texts = [cql_of(lib) or "" for lib in libraries]
                translated = await translate_cql(texts, engine=self.cql)
                self._elm = {
                    str(lib["name"]): elm.elm or {} for lib, elm in zip(libraries, translated, strict=True)
                }
            return self._elm

    async def prepare(self, disease: DiseaseSpec) -> PreparedDisease:
        """The disease's measure bundle with translated ELM."""
        hit = self._prepared.get(disease.slug)
        if hit is not None:
            return hit
        elm = await self.library_elm()
        helpers = library_resource(fhirhelpers_cql())
        libraries = [
            with_elm(resource, elm[str(resource["name"])])
            for resource in (catalog_library(disease), facts_library(), helpers)
        ]
        valuesets = [valueset_resource(vs, disease.version) for vs in disease_library(disease).valuesets]
        entries = [evaluation_measure(disease), *libraries, *valuesets]
        bundle = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"fullUrl": f"urn:medqc:{r['resourceType']}:{r['id']}", "resource": r} for r in entries
            ],
        }
        prepared = PreparedDisease(bundle, measure_bundle_key(bundle))
        self._prepared[disease.slug] = prepared
        return prepared

    async def outcomes(
        self,
        disease: DiseaseSpec,
        patients: Sequence[tuple[dict[str, Any], list[str]]],
        *,
        period_start: str,
        period_end: str,
        indicators: Sequence[IndicatorSpec] | None = None,
    ) -> list[dict[tuple[str, str], Outcome]]:
        """For each ``(patient bundle, encounter ids)``: the outcome of each indicator (of
        ``indicators``, default all of the disease) for each encounter, keyed ``(indicator id,
        encounter id)``."""
        prepared = await self.prepare(disease)
        results = await calculate_measure(
            prepared.bundle,
            [bundle for bundle, _ in patients],
            period_start=period_start,
            period_end=period_end,
            include_evaluated=False,
            measure_key=prepared.key,
            cql=self.cql,
        )
        wanted = list(indicators) if indicators is not None else disease.indicators
        return [
            {(ind.id, enc): _outcome(result, ind, enc) for ind in wanted for enc in encounters}
            for result, (_, encounters) in zip(results, patients, strict=True)
        ]


def catalog_indicator(measure: dict[str, Any]) -> IndicatorSpec | None:
    """The catalog indicator a Measure resource publishes (by its CMQCIC identifier), if any."""
    from measures.catalog.loader import spec_for
    from measures.catalog.measures import IDENTIFIER_SYSTEM

    for ident in measure.get("identifier") or []:
        if isinstance(ident, dict) and ident.get("system") == IDENTIFIER_SYSTEM:
            return spec_for(str(ident.get("value")))
    return None


def disease_of(spec: IndicatorSpec) -> DiseaseSpec:
    return next(d for d in load_catalog() if d.slug == spec.disease)
