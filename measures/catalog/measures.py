"""The catalog as standard FHIR artefacts (HL7 CQF Measures IG): Measures, CQL Libraries, ValueSets and the
fact CodeSystem, generated deterministically from the YAML specs (seeded into the store at start-up and
exported as a package by ``medqc catalog export``)."""

from __future__ import annotations

import base64
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from measures.builtin import fhirhelpers_cql, library_resource
from measures.catalog.cql import (
    CS_FACT,
    FACTS_LIBRARY,
    FACTS_VERSION,
    ValueSetDef,
    asserted_code,
    denominator_code,
    disease_library,
    fact_code,
    reviewer_code,
)
from measures.catalog.loader import load_catalog
from measures.catalog.schema import DiseaseSpec, IndicatorSpec

IDENTIFIER_SYSTEM = "urn:cmqcic:indicator"
BASE = "http://medqc.org/fhir"
LIBRARY_BASE = f"{BASE}/Library/"
CQFM = "http://hl7.org/fhir/us/cqfmeasures/StructureDefinition"
CS_POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"
CS_SCORING = "http://terminology.hl7.org/CodeSystem/measure-scoring"
CS_IMPROVEMENT = "http://terminology.hl7.org/CodeSystem/measure-improvement-notation"
CS_LIBRARY_TYPE = "http://terminology.hl7.org/CodeSystem/library-type"
CQL_IDENTIFIER = "text/cql-identifier"
FACTS_CQL = Path(__file__).parent / "cql" / f"{FACTS_LIBRARY}.cql"
FACT_CODESYSTEM_VERSION = "2.0.0"
#: The stratifier every indicator reports: encounters whose verdict rests on an unknown fact.
NEEDS_REVIEW = "needs-review"


def _name(identifier: str) -> str:
    """A computable name: ``stk-evt-24h`` → ``StkEvt24h``."""
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", identifier) if p)


def _coding(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def cql_library(name: str, version: str, cql: str, *, title: str, description: str) -> dict[str, Any]:
    """A logic Library carrying ``cql`` (the store's Library hook adds the translated ELM)."""
    includes = re.findall(r"^include (\w+) version '([^']+)'", cql, flags=re.MULTILINE)
    library: dict[str, Any] = {
        "resourceType": "Library",
        "id": name,
        "url": LIBRARY_BASE + name,
        "version": version,
        "name": name,
        "title": title,
        "status": "active",
        "type": _coding(CS_LIBRARY_TYPE, "logic-library"),
        "description": description,
        "content": [{"contentType": "text/cql", "data": base64.b64encode(cql.encode()).decode("ascii")}],
    }
    if includes:
        library["relatedArtifact"] = [
            {"type": "depends-on", "resource": f"{LIBRARY_BASE}{inc}|{ver}"} for inc, ver in includes
        ]
    return library


def facts_library() -> dict[str, Any]:
    return cql_library(
        FACTS_LIBRARY,
        FACTS_VERSION,
        FACTS_CQL.read_text(encoding="utf-8"),
        title="MedQC facts (shared by the indicator libraries)",
        description="Qualifying inpatient encounters, encounter references, coded-data status and the "
        "reading of fact Observations.",
    )


def catalog_library(disease: DiseaseSpec) -> dict[str, Any]:
    lib = disease_library(disease)
    return cql_library(
        lib.name,
        lib.version,
        lib.cql,
        title=f"{disease.disease}（CQL）",
        description=f"The {len(disease.indicators)} indicators of {disease.disease}, generated from "
        f"measures/catalog/specs/{disease.slug}.yaml.",
    )


def valueset_resource(vs: ValueSetDef, version: str) -> dict[str, Any]:
    return {
        "resourceType": "ValueSet",
        "id": vs.id,
        "url": vs.url,
        "version": version,
        "name": _name(vs.id),
        "title": vs.title,
        "status": "active",
        "compose": {
            "include": [
                {"system": system, "concept": [{"code": c} for c in codes]} for system, codes in vs.concepts
            ]
        },
        "expansion": {
            "identifier": f"urn:medqc:expansion:{vs.id}:{version}",
            "timestamp": "2026-01-01T00:00:00Z",
            "contains": [{"system": system, "code": c} for system, codes in vs.concepts for c in codes],
        },
    }


def _population(code: str, description: str, expression: str) -> dict[str, Any]:
    return {
        "id": code,
        "code": _coding(CS_POPULATION, code),
        "description": description,
        "criteria": {"language": CQL_IDENTIFIER, "expression": expression},
    }


def indicator_group(ind: IndicatorSpec, *, group_id: str = "main") -> dict[str, Any]:
    """The proportion group of one indicator (Encounter basis) with its needs-review stratifier."""
    return {
        "id": group_id,
        "extension": [
            {"url": f"{CQFM}/cqfm-scoring", "valueCodeableConcept": _coding(CS_SCORING, "proportion")},
            {"url": f"{CQFM}/cqfm-populationBasis", "valueCode": "Encounter"},
            {
                "url": f"{CQFM}/cqfm-improvementNotation",
                "valueCodeableConcept": _coding(CS_IMPROVEMENT, ind.improvement),
            },
        ],
        "population": [
            _population("initial-population", ind.text.denominator, f"{ind.id} Initial Population"),
            _population("denominator", ind.text.denominator, f"{ind.id} Denominator"),
            _population("numerator", ind.text.numerator, f"{ind.id} Numerator"),
        ],
        "stratifier": [
            {
                "id": NEEDS_REVIEW,
                "code": {"text": "needs review: the verdict rests on a fact the record leaves unknown"},
                "criteria": {"language": CQL_IDENTIFIER, "expression": f"{ind.id} Needs Review"},
            }
        ],
    }


def catalog_measure(ind: IndicatorSpec, disease: DiseaseSpec) -> dict[str, Any]:
    measure: dict[str, Any] = {
        "resourceType": "Measure",
        "id": ind.id,
        "extension": [{"url": f"{CQFM}/cqfm-populationBasis", "valueCode": "Encounter"}],
        "url": ind.canonical,
        "identifier": [{"system": IDENTIFIER_SYSTEM, "value": ind.key}],
        "version": ind.version,
        "name": _name(ind.id),
        "title": ind.title,
        "subtitle": disease.disease,
        "status": "active",
        "publisher": "MedQC",
        "description": ind.text.definition,
        "library": [f"{LIBRARY_BASE}{disease_library(disease).name}|{disease.version}"],
        "scoring": _coding(CS_SCORING, "proportion"),
        "improvementNotation": _coding(CS_IMPROVEMENT, ind.improvement),
        "group": [indicator_group(ind)],
    }
    if ind.core:
        measure["topic"] = [{"text": "核心指标"}]
    if ind.text.formula:
        measure["rationale"] = ind.text.formula
    if ind.text.other:
        measure["guidance"] = ind.text.other
    return measure


def fact_codesystem() -> dict[str, Any]:
    """Every fact the indicators verify (``<indicator or disease>.<fact>``) and every denominator
    diagnosis fact, with the question as display."""
    concepts: dict[str, dict[str, str]] = {}
    for disease in load_catalog():
        for ind in disease.indicators:
            concepts[denominator_code(ind)] = {
                "code": denominator_code(ind),
                "display": f"是否为{ind.text.denominator}中的病例",
            }
            if ind.denominator.rule:
                concepts[asserted_code(ind)] = {"code": asserted_code(ind), "display": "分母由调用方确认"}
            concepts[reviewer_code(ind)] = {
                "code": reviewer_code(ind),
                "display": "质控复核结论（met / not-met / not-applicable）",
                "definition": "A reviewer's verdict on the stay; when present it decides the outcome.",
            }
            for fact in ind.all_facts:
                concepts[fact_code(ind, fact)] = {
                    "code": fact_code(ind, fact),
                    "display": fact.question,
                    "definition": fact.evidence,
                }
    return {
        "resourceType": "CodeSystem",
        "id": "qc-fact",
        "url": CS_FACT,
        "version": FACT_CODESYSTEM_VERSION,
        "name": "QCFact",
        "title": "MedQC verified clinical facts",
        "status": "active",
        "publisher": "MedQC",
        "description": "The clinical facts the national single-disease indicators are decomposed into; a "
        "fact Observation of an encounter carries one of these codes.",
        "caseSensitive": True,
        "content": "complete",
        "count": len(concepts),
        "concept": [concepts[k] for k in sorted(concepts)],
    }


RESOURCES = Path(__file__).parent / "resources"


@cache
def _catalog_resources() -> tuple[dict[str, Any], ...]:
    out: list[dict[str, Any]] = [
        *(json.loads(p.read_text(encoding="utf-8")) for p in sorted(RESOURCES.glob("*.json"))),
        fact_codesystem(),
        library_resource(fhirhelpers_cql(), title="FHIRHelpers (MedQC)"),
        facts_library(),
    ]
    for disease in load_catalog():
        lib = disease_library(disease)
        out.extend(valueset_resource(vs, disease.version) for vs in lib.valuesets)
        out.append(catalog_library(disease))
        out.extend(catalog_measure(ind, disease) for ind in disease.indicators)
    return tuple(out)


def catalog_resources() -> list[dict[str, Any]]:
    """Fresh copies of every generated artefact: CodeSystem, Libraries, ValueSets, Measures."""
    import copy

    return copy.deepcopy(list(_catalog_resources()))


def catalog_measures() -> list[dict[str, Any]]:
    """One Measure per catalog indicator (identifier ``urn:cmqcic:indicator|<key>``)."""
    return [r for r in catalog_resources() if r["resourceType"] == "Measure"]


def catalog_libraries() -> list[dict[str, Any]]:
    return [r for r in catalog_resources() if r["resourceType"] == "Library"]


def catalog_rows() -> list[dict[str, str]]:
    """What ``medqc catalog list`` prints: id, version, core flag, disease, key."""
    return [
        {
            "id": ind.id,
            "version": ind.version,
            "core": "core" if ind.core else "",
            "disease": d.slug,
            "key": ind.key,
        }
        for d in load_catalog()
        for ind in d.indicators
    ]
