"""Regenerate ``measures/builtin/resources/*.json`` (Measures, ValueSets, the MedQC CodeSystem).

Developer tool, not used at run time. ICD-10 (国家临床版2.0) and ICD-9-CM-3 value-set members are
selected by code prefix from the reference tables in ``../shared/data/icd``::

    .venv/bin/python -m measures.builtin.tools.build_resources [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

from measures.builtin.catalog_spec import (
    CODE_SYSTEM,
    ICD9CM3,
    ICD10_CN,
    MEASURES,
    VALUE_SETS,
    MeasureSpec,
    ValueSetSpec,
)

OUT = Path(__file__).resolve().parent.parent / "resources"
MEASURE_POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"
POPULATION_BASIS = "http://hl7.org/fhir/us/cqfmeasures/StructureDefinition/cqfm-populationBasis"


def load_icd10(shared: Path) -> list[tuple[str, str]]:
    with (shared / "icd" / "icd10_national_clinical_v2.csv").open(encoding="utf-8") as handle:
        rows = csv.reader(handle)
        next(rows)
        return [(r[0].strip(), r[1].strip()) for r in rows if r]


def load_icd9cm3(shared: Path) -> list[tuple[str, str]]:
    out = []
    for line in (
        (shared / "icd" / "opendrg_beijing2022_procedures.dat").read_text(encoding="utf-8").splitlines()
    ):
        code, _, name = line.strip().partition(" ")
        if code:
            out.append((code, name.strip()))
    return out


def value_set(spec: ValueSetSpec, tables: dict[str, list[tuple[str, str]]]) -> dict[str, Any]:
    includes: list[dict[str, Any]] = []
    for system, prefixes in spec.prefixes.items():
        concepts = [
            {"code": code, "display": name}
            for code, name in tables[system]
            if any(code.startswith(p) for p in prefixes)
        ]
        if not concepts:
            raise SystemExit(f"{spec.id}: no {system} code starts with {prefixes}")
        includes.append({"system": system, "concept": concepts})
    for system, pairs in spec.concepts.items():
        includes.append({"system": system, "concept": [{"code": c, "display": d} for c, d in pairs]})
    contains = [
        {"system": inc["system"], "code": c["code"], "display": c["display"]}
        for inc in includes
        for c in inc["concept"]
    ]
    return {
        "resourceType": "ValueSet",
        "id": spec.id,
        "url": f"http://medqc.org/fhir/ValueSet/{spec.id}",
        "version": "1.0.0",
        "name": spec.name,
        "title": spec.title,
        "status": "active",
        "publisher": "MedQC",
        "description": spec.description,
        "compose": {"include": includes},
        "expansion": {
            "identifier": f"urn:medqc:expansion:{spec.id}:1.0.0",
            "timestamp": "2025-01-01T00:00:00Z",
            "total": len(contains),
            "contains": contains,
        },
    }


def population(code: str, expression: str) -> dict[str, Any]:
    return {
        "id": code,
        "code": {"coding": [{"system": MEASURE_POPULATION, "code": code}]},
        "criteria": {"language": "text/cql-identifier", "expression": expression},
    }


def measure(spec: MeasureSpec) -> dict[str, Any]:
    groups = []
    for group in spec.groups:
        pops = [population(code, expr) for code, expr in group.populations]
        entry: dict[str, Any] = {
            "id": group.id,
            "extension": [{"url": POPULATION_BASIS, "valueCode": "Encounter"}],
            "population": pops,
        }
        if group.title:
            entry["description"] = group.title
        if group.stratifiers:
            entry["stratifier"] = [
                {
                    "id": sid,
                    "code": {"text": sid},
                    "criteria": {"language": "text/cql-identifier", "expression": expr},
                }
                for sid, expr in group.stratifiers
            ]
        groups.append(entry)
    return {
        "resourceType": "Measure",
        "id": spec.id,
        "url": f"http://medqc.org/fhir/Measure/{spec.id}",
        "version": "1.0.0",
        "name": spec.library,
        "title": spec.title,
        "status": "active",
        "experimental": False,
        "publisher": "MedQC",
        "description": spec.description,
        "library": [f"http://medqc.org/fhir/Library/{spec.library}"],
        "scoring": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/measure-scoring", "code": "proportion"}
            ]
        },
        "improvementNotation": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/measure-improvement-notation",
                    "code": "increase",
                }
            ]
        },
        "extension": [{"url": POPULATION_BASIS, "valueCode": "Encounter"}],
        "group": groups,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    args = parser.parse_args()
    tables = {ICD10_CN: load_icd10(args.shared), ICD9CM3: load_icd9cm3(args.shared)}
    OUT.mkdir(parents=True, exist_ok=True)
    resources = [CODE_SYSTEM] + [value_set(v, tables) for v in VALUE_SETS] + [measure(m) for m in MEASURES]
    for res in resources:
        path = OUT / f"{res['resourceType']}-{res['id']}.json"
        path.write_text(json.dumps(res, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(resources)} resources to {OUT}")


if __name__ == "__main__":
    main()
