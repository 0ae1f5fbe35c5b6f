"""FHIR Measure and Library resources for the catalog (seeded into the store at start-up)."""

from __future__ import annotations

import base64
import re
from typing import Any

import yaml

from measures.catalog.loader import SPEC_DIR, load_catalog
from measures.catalog.schema import DiseaseSpec, IndicatorSpec

IDENTIFIER_SYSTEM = "urn:cmqcic:indicator"
BASE = "http://medqc.org/fhir"
EXT_FACT_SPEC = f"{BASE}/StructureDefinition/qc-fact-spec"
RULE_LANGUAGE = "text/x-medqc-rule"
CS_POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"
CS_SCORING = "http://terminology.hl7.org/CodeSystem/measure-scoring"


def _name(identifier: str) -> str:
    """A computable Measure.name: ``stk-evt-24h`` → ``StkEvt24h``."""
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", identifier) if p)


def library_id(disease: DiseaseSpec) -> str:
    return f"qc-spec-{disease.slug}"


def catalog_library(disease: DiseaseSpec) -> dict[str, Any]:
    """The disease's spec file carried verbatim (application/yaml) in a logic Library."""
    raw = (SPEC_DIR / f"{disease.slug}.yaml").read_bytes()
    return {
        "resourceType": "Library",
        "id": library_id(disease),
        "url": f"{BASE}/Library/{library_id(disease)}",
        "version": disease.version,
        "name": _name(library_id(disease)),
        "title": f"{disease.disease} fact/rule spec",
        "status": "active",
        "type": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/library-type", "code": "logic-library"}
            ]
        },
        "content": [{"contentType": "application/yaml", "data": base64.b64encode(raw).decode("ascii")}],
    }


def _population(code: str, description: str, expression: str | None) -> dict[str, Any]:
    pop: dict[str, Any] = {
        "code": {"coding": [{"system": CS_POPULATION, "code": code}]},
        "description": description,
    }
    pop["criteria"] = {"language": RULE_LANGUAGE, "expression": expression or "true"}
    return pop


def catalog_measure(ind: IndicatorSpec, disease: DiseaseSpec) -> dict[str, Any]:
    spec = {
        "facts": [f.model_dump(mode="json", exclude_defaults=True) for f in ind.all_facts],
        "rule": ind.rule,
        "on_unknown": ind.on_unknown,
    }
    measure: dict[str, Any] = {
        "resourceType": "Measure",
        "id": ind.id,
        "extension": [
            {"url": EXT_FACT_SPEC, "valueString": yaml.safe_dump(spec, allow_unicode=True, sort_keys=False)}
        ],
        "url": ind.canonical,
        "identifier": [{"system": IDENTIFIER_SYSTEM, "value": ind.key}],
        "version": ind.version,
        "name": _name(ind.id),
        "title": ind.title,
        "subtitle": disease.disease,
        "status": "active",
        "description": ind.text.definition,
        "library": [f"{BASE}/Library/{library_id(disease)}|{disease.version}"],
        "scoring": {"coding": [{"system": CS_SCORING, "code": "proportion"}]},
        "group": [
            {
                "population": [
                    _population("initial-population", ind.text.denominator, None),
                    _population("denominator", ind.text.denominator, ind.denominator.rule),
                    _population("numerator", ind.text.numerator, ind.rule),
                ]
            }
        ],
    }
    if ind.core:
        measure["topic"] = [{"text": "核心指标"}]
    if ind.text.formula:
        measure["rationale"] = ind.text.formula
    if ind.text.other:
        measure["guidance"] = ind.text.other
    return measure


def catalog_measures() -> list[dict[str, Any]]:
    """One Measure per catalog indicator (identifier ``urn:cmqcic:indicator|<key>``)."""
    return [catalog_measure(ind, d) for d in load_catalog() for ind in d.indicators]


def catalog_libraries() -> list[dict[str, Any]]:
    return [catalog_library(d) for d in load_catalog()]


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
