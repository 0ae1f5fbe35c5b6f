"""``$care-gaps`` and ``$data-requirements`` over HTTP, on the ControllingHighBloodPressure package as
shipped (../shared/data/measures): a patient in the denominator without the numerator has an open gap,
one in the numerator a closed gap, a denominator-excluded one none.

The package's group declares ``cqfm-improvementNotation`` code ``decrease`` (display "increase"): MedQC
follows the code, so for the shipped Measure the numerator is the gap. The same Measure with the code
corrected to ``increase`` (stored beside it as ``CHBP-increase``) gives the clinical reading."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from measures.care_gaps import gaps_of
from tests.conftest import make_settings
from tests.support.live import live_server

DECK = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "measures"
    / "ecqm-ControllingHighBloodPressureFHIR"
)
MEASURE_ID = "ControllingHighBloodPressureFHIR"
CORRECTED = "CHBP-increase"
NOTATION = "http://terminology.hl7.org/CodeSystem/measure-improvement-notation"
CQFM = "http://hl7.org/fhir/us/cqfmeasures/StructureDefinition/"
PERIOD = {"periodStart": "2025-01-01", "periodEnd": "2025-12-31"}
OPEN = "048a7212-c19c-4f9d-89e2-13727b23e585"  # denominator 1, numerator 0
CLOSED = "6f37e357-7575-4b40-a63e-4b882532250f"  # numerator 1
EXCLUDED = "0b9cb569-149a-4b47-a535-66b59a77bceb"  # denominator exclusion
ESSENTIAL_HYPERTENSION = "http://cts.nlm.nih.gov/fhir/ValueSet/2.16.840.1.113883.3.464.1003.104.12.1011"

needs_deck = pytest.mark.skipif(not DECK.is_dir(), reason="../shared/data/measures not present")


def _transaction(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
            for r in resources
        ],
    }


def _read(paths: list[Path]) -> list[dict[str, Any]]:
    return [json.loads(p.read_text("utf-8")) for p in sorted(paths)]


@pytest.fixture(scope="module")
def fhir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings("sqlite", tmp_path_factory.mktemp("gaps"), seed_catalog=False)
    with live_server(settings) as base:
        url = f"{base}/fhir"
        package = _read(
            [*DECK.glob("Measure-*.json"), *DECK.glob("library/*.json"), *DECK.glob("valueset/*.json")]
        )
        assert httpx.post(url, json=_transaction(package), timeout=300).status_code == 200
        measure = next(r for r in package if r["resourceType"] == "Measure")
        assert (
            httpx.put(f"{url}/Measure/{CORRECTED}", json=_corrected(measure), timeout=60).status_code == 201
        )
        yield url


def _corrected(measure: dict[str, Any]) -> dict[str, Any]:
    groups = []
    for group in measure["group"]:
        extensions = [e for e in group["extension"] if not e["url"].endswith("improvementNotation")]
        notation = {"coding": [{"system": NOTATION, "code": "increase"}]}
        extensions.append({"url": CQFM + "cqfm-improvementNotation", "valueCodeableConcept": notation})
        groups.append({**group, "extension": extensions})
    return {**measure, "id": CORRECTED, "url": measure["url"] + "-increase", "group": groups}


def _load_case(fhir: str, patient: str) -> None:
    resources = [
        r
        for r in _read(list((DECK / "tests" / patient).glob("*.json")))
        if r["resourceType"] != "MeasureReport"
    ]
    assert httpx.post(fhir, json=_transaction(resources), timeout=120).status_code == 200


def _gaps(fhir: str, patient: str, *statuses: str, measure: str = CORRECTED) -> httpx.Response:
    params = [*PERIOD.items(), ("subject", f"Patient/{patient}"), ("measureId", measure)]
    params += [("status", s) for s in statuses]
    return httpx.get(f"{fhir}/Measure/$care-gaps", params=params, timeout=300)


def _issues(bundle: dict[str, Any]) -> list[str]:
    out = []
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "DetectedIssue":
            out.append(resource["modifierExtension"][0]["valueCodeableConcept"]["coding"][0]["code"])
    return out


@needs_deck
@pytest.mark.parametrize(
    ("measure", "patient", "expected"),
    [
        (CORRECTED, OPEN, ["open-gap"]),
        (CORRECTED, CLOSED, ["closed-gap"]),
        (CORRECTED, EXCLUDED, []),
        (MEASURE_ID, OPEN, ["closed-gap"]),  # as shipped: 'decrease'
        (MEASURE_ID, CLOSED, ["open-gap"]),
    ],
)
def test_care_gaps_per_patient(fhir: str, measure: str, patient: str, expected: list[str]) -> None:
    _load_case(fhir, patient)
    answer = _gaps(fhir, patient, "open-gap", "closed-gap", measure=measure)
    assert answer.status_code == 200, answer.text[:1000]
    parameters = answer.json()
    assert parameters["resourceType"] == "Parameters"
    (bundle,) = [p["resource"] for p in parameters["parameter"] if p["name"] == "return"]
    assert bundle["type"] == "document"
    composition = bundle["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition"
    assert composition["type"]["coding"][0]["code"] == "96315-7"
    assert _issues(bundle) == expected
    patient_entry = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    assert patient_entry["resource"]["id"] == patient
    if expected:
        section = composition["section"][0]
        report = next(e["resource"] for e in bundle["entry"] if e["fullUrl"] == section["focus"]["reference"])
        assert report["resourceType"] == "MeasureReport"
        assert report["type"] == "individual"


@needs_deck
def test_only_the_requested_status_is_listed(fhir: str) -> None:
    _load_case(fhir, CLOSED)
    bundle = _gaps(fhir, CLOSED, "open-gap").json()["parameter"][0]["resource"]
    assert _issues(bundle) == []


@needs_deck
@pytest.mark.parametrize(
    ("params", "status"),
    [
        ([("status", "prospective-gap")], 400),
        ([("status", "open-gap"), ("measureId", "no-such-measure")], 404),
        ([("measureId", MEASURE_ID)], 400),  # status is required
    ],
)
def test_care_gaps_bad_input(fhir: str, params: list[tuple[str, str]], status: int) -> None:
    query = [*PERIOD.items(), ("subject", f"Patient/{OPEN}"), *params]
    answer = httpx.get(f"{fhir}/Measure/$care-gaps", params=query, timeout=60)
    assert answer.status_code == status, answer.text[:500]
    assert answer.json()["resourceType"] == "OperationOutcome"


@needs_deck
def test_measure_data_requirements(fhir: str) -> None:
    answer = httpx.get(f"{fhir}/Measure/{MEASURE_ID}/$data-requirements", params=PERIOD, timeout=120)
    assert answer.status_code == 200, answer.text[:500]
    library = answer.json()
    assert library["resourceType"] == "Library"
    assert library["type"]["coding"][0]["code"] == "module-definition"
    requirements = library["dataRequirement"]
    conditions = [r for r in requirements if r["type"] == "Condition"]
    assert any(
        f.get("valueSet") == ESSENTIAL_HYPERTENSION for r in conditions for f in r.get("codeFilter", [])
    )
    assert any(r["type"] == "Observation" for r in requirements)
    depends = {a["resource"] for a in library["relatedArtifact"]}
    assert any(d.startswith("https://madie.cms.gov/Library/FHIRHelpers") for d in depends)


@needs_deck
def test_library_data_requirements_and_unknown_library(fhir: str) -> None:
    answer = httpx.get(f"{fhir}/Library/Hospice/$data-requirements", timeout=120)
    assert answer.status_code == 200, answer.text[:500]
    types = {r["type"] for r in answer.json()["dataRequirement"]}
    assert "Encounter" in types
    assert httpx.get(f"{fhir}/Library/nope/$data-requirements", timeout=60).status_code == 404


def _report(*groups: dict[str, int]) -> dict[str, Any]:
    return {
        "group": [
            {"population": [{"code": {"coding": [{"code": c}]}, "count": n} for c, n in g.items()]}
            for g in groups
        ]
    }


def _measure(notation: str, groups: int = 1) -> dict[str, Any]:
    scoring = {"coding": [{"code": "proportion"}]}
    return {
        "scoring": scoring,
        "improvementNotation": {"coding": [{"code": notation}]},
        "group": [{"population": []}] * groups,
    }


def test_gaps_of_episodes_and_inverse_measures() -> None:
    episodes = _report({"denominator": 3, "denominator-exclusion": 1, "numerator": 1})
    assert [g.status for g in gaps_of(_measure("increase"), episodes)] == ["open-gap"]
    met = _report({"denominator": 2, "numerator": 2})
    assert [g.status for g in gaps_of(_measure("increase"), met)] == ["closed-gap"]
    # an inverse measure: being in the numerator is the gap
    assert [g.status for g in gaps_of(_measure("decrease"), met)] == ["open-gap"]
    none = _report({"denominator": 1, "denominator-exception": 1})
    assert gaps_of(_measure("increase"), none) == []
