"""$evaluate-measure (all three report types), $qc-evaluate and the review page, over HTTP."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.measurereport import MeasureReport
from fhir.resources.R4B.operationdefinition import OperationDefinition

from measures.builtin import builtin_resources
from tests.support.notes import evidence_quotes, note_bundle, population_counts

FIXTURES = Path(__file__).resolve().parents[1] / "measures" / "fixtures" / "medqc-pci-angiographic-success"
DEMO = Path(__file__).resolve().parents[2] / "medqc" / "demo_data" / "af-inpatient.json"
PCI = "medqc-pci-angiographic-success"


@pytest.fixture(scope="module")
def fhir(server: str) -> httpx.Client:
    client = httpx.Client(base_url=f"{server}/fhir", timeout=120)
    # The engine's hand-written reference measures (not seeded: the catalog is generated), loaded as a
    # package over REST.
    package = [
        {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
        for r in builtin_resources()
    ]
    response = client.post("", json={"resourceType": "Bundle", "type": "transaction", "entry": package})
    assert response.status_code == 200, response.text[:300]
    cases = [json.loads(p.read_text()) for p in sorted(FIXTURES.glob("*.json"))]
    entries = [
        {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
        for case in cases
        for r in case["resources"]
    ]
    response = client.post("", json={"resourceType": "Bundle", "type": "transaction", "entry": entries})
    assert response.status_code == 200, response.text[:300]
    assert client.post("", json=json.loads(DEMO.read_text())).status_code == 200
    return client


def _expected() -> dict[str, dict[str, int]]:
    out = {}
    for path in sorted(FIXTURES.glob("*.json")):
        case = json.loads(path.read_text())
        patient = next(r["id"] for r in case["resources"] if r["resourceType"] == "Patient")
        out[patient] = case["expected"]
    return out


def test_operation_definitions_are_served_and_valid(fhir: httpx.Client) -> None:
    for op in ("evaluate-measure", "qc-evaluate"):
        OperationDefinition.model_validate(fhir.get(f"/OperationDefinition/{op}").json())


def test_population_report(fhir: httpx.Client) -> None:
    response = fhir.get(
        f"/Measure/{PCI}/$evaluate-measure", params={"periodStart": "2024", "periodEnd": "2024"}
    )
    assert response.status_code == 200, response.text[:500]
    report = response.json()
    MeasureReport.model_validate(report)
    assert report["type"] == "summary"
    assert report["period"]["start"].startswith("2024-01-01")
    expected = _expected()
    counts = population_counts(report)
    for code in ("initial-population", "denominator", "numerator"):
        assert counts[code] == sum(e.get(code, 0) for e in expected.values()), code
    den = (
        counts["denominator"]
        - counts.get("denominator-exclusion", 0)
        - counts.get("denominator-exception", 0)
    )
    score = report["group"][0]["measureScore"]["value"]
    assert score == pytest.approx((counts["numerator"] - counts.get("numerator-exclusion", 0)) / den)


def test_subject_list_report(fhir: httpx.Client) -> None:
    response = fhir.post(
        f"/Measure/{PCI}/$evaluate-measure",
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "periodStart", "valueDate": "2024-01-01"},
                {"name": "periodEnd", "valueDate": "2024-12-31"},
                {"name": "reportType", "valueCode": "subject-list"},
            ],
        },
    )
    assert response.status_code == 200, response.text[:500]
    report = response.json()
    MeasureReport.model_validate(report)
    assert report["type"] == "subject-list"
    lists = [p.get("subjectResults") for p in report["group"][0]["population"] if p.get("count")]
    assert all(lists)


@pytest.mark.parametrize(("patient", "expected"), sorted(_expected().items()))
def test_individual_reports_match_the_test_patients(
    fhir: httpx.Client, patient: str, expected: dict[str, int]
) -> None:
    response = fhir.get(
        f"/Measure/{PCI}/$evaluate-measure",
        params={"periodStart": "2024", "periodEnd": "2024", "subject": f"Patient/{patient}"},
    )
    assert response.status_code == 200, response.text[:500]
    report = response.json()
    MeasureReport.model_validate(report)
    assert report["type"] == "individual"
    assert report["subject"]["reference"] == f"Patient/{patient}"
    counts = population_counts(report)
    for code, value in expected.items():
        assert counts.get(code, 0) == value, (patient, code)


def test_type_level_form_by_canonical(fhir: httpx.Client) -> None:
    response = fhir.post(
        "/Measure/$evaluate-measure",
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "measure", "valueString": f"http://medqc.org/fhir/Measure/{PCI}"},
                {"name": "periodStart", "valueDate": "2024-01-01"},
                {"name": "periodEnd", "valueDate": "2024-12-31"},
            ],
        },
    )
    assert response.status_code == 200, response.text[:500]
    assert response.json()["type"] == "summary"


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        (f"/Measure/{PCI}/$evaluate-measure", {"periodStart": "yesterday"}, 400),
        (f"/Measure/{PCI}/$evaluate-measure", {"reportType": "everything"}, 400),
        (f"/Measure/{PCI}/$evaluate-measure", {"colour": "blue"}, 400),
        ("/Measure/no-such-measure/$evaluate-measure", {}, 404),
        ("/Measure/$evaluate-measure", {}, 400),
    ],
)
def test_evaluate_measure_bad_input(
    fhir: httpx.Client, path: str, params: dict[str, str], status: int
) -> None:
    response = fhir.get(path, params=params)
    assert response.status_code == status
    assert response.json()["resourceType"] == "OperationOutcome"


def test_qc_evaluate_system_level_with_evidence(fhir: httpx.Client) -> None:
    note = "诊断：持续性心房颤动。入院后完成CHA2DS2-VASc评分3分，HAS-BLED评分1分，给予胺碘酮复律。"
    response = fhir.post(
        "/$qc-evaluate",
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "bundle", "resource": note_bundle(note)},
                {"name": "measure", "valueString": "Measure/af-thromboembolism-risk"},
                {"name": "measure", "valueCanonical": "http://medqc.org/fhir/Measure/af-bleeding-risk"},
                {"name": "denominatorAsserted", "valueBoolean": True},
            ],
        },
    )
    assert response.status_code == 200, response.text[:500]
    bundle = response.json()
    Bundle.model_validate(bundle)
    assert bundle["type"] == "collection"
    reports = [e["resource"] for e in bundle["entry"]]
    assert len(reports) == 2
    for report in reports:
        MeasureReport.model_validate(report)
        assert population_counts(report)["numerator"] == 1
        quotes = evidence_quotes(report)
        assert quotes
        assert all(q in note for q in quotes)


def test_qc_evaluate_default_measures_from_the_encounter(fhir: httpx.Client) -> None:
    response = fhir.post("/Encounter/demo-af-encounter/$qc-evaluate", json={"resourceType": "Parameters"})
    assert response.status_code == 200
    measures = {e["resource"]["measure"].split("|")[0].rsplit("/", 1)[-1] for e in response.json()["entry"]}
    assert {"af-thromboembolism-risk", "af-bleeding-risk", "af-rhythm-control"} <= measures
    by_measure = {
        e["resource"]["measure"].split("|")[0].rsplit("/", 1)[-1]: population_counts(e["resource"])
        for e in response.json()["entry"]
    }
    assert by_measure["af-bleeding-risk"]["numerator"] == 1  # HAS-BLED评分2分
    assert by_measure["af-thromboembolism-risk"]["numerator"] == 0  # no CHA2DS2-VASc documented
    stored = fhir.get("/MeasureReport", params={"evaluated-resource": "Encounter/demo-af-encounter"}).json()
    assert stored["total"] >= 3


def test_review_page_shows_the_judgements(fhir: httpx.Client, server: str) -> None:
    fhir.post("/Encounter/demo-af-encounter/$qc-evaluate", json={"resourceType": "Parameters"})
    page = httpx.get(f"{server}/review/Encounter/demo-af-encounter")
    assert page.status_code == 200
    assert "房颤患者出血风险评估率" in page.text
    assert "HAS-BLED评分2分" in page.text
    assert "not met" in page.text


def test_catalog_measure_found_by_cmqcic_key(fhir: httpx.Client) -> None:
    key = "房颤（AF）质控指标_房颤患者出血风险评估率"
    found = fhir.get("/Measure", params={"identifier": f"urn:cmqcic:indicator|{key}"}).json()
    assert found["total"] == 1
    assert found["entry"][0]["resource"]["id"] == "af-bleeding-risk"
    assert (
        fhir.get("/Measure", params={"identifier": "urn:cmqcic:indicator|", "_summary": "count"}).json()[
            "total"
        ]
        == 98
    )


@pytest.mark.parametrize(
    ("parameters", "status"),
    [
        ([], 400),
        ([{"name": "bundle", "valueString": "x"}], 400),
        (
            [
                {"name": "measure", "valueString": "Measure/nope"},
                {"name": "bundle", "resource": {"resourceType": "Bundle", "type": "collection"}},
            ],
            404,
        ),
        ([{"name": "denominatorAsserted", "valueString": "yes"}], 400),
        ([{"name": "frobnicate", "valueString": "x"}], 400),
    ],
)
def test_qc_evaluate_bad_input(fhir: httpx.Client, parameters: list[dict[str, Any]], status: int) -> None:
    response = fhir.post("/$qc-evaluate", json={"resourceType": "Parameters", "parameter": parameters})
    assert response.status_code == status
    assert response.json()["resourceType"] == "OperationOutcome"
    assert fhir.post("/Encounter/nope/$qc-evaluate", json={"resourceType": "Parameters"}).status_code == 404


def _library(cql: str) -> dict[str, Any]:
    return {
        "resourceType": "Library",
        "id": "user-lib",
        "name": "UserLib",
        "version": "1.0.0",
        "status": "active",
        "type": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/library-type", "code": "logic-library"}
            ]
        },
        "content": [{"contentType": "text/cql", "data": base64.b64encode(cql.encode()).decode()}],
    }


def test_library_cql_is_translated_on_load(fhir: httpx.Client) -> None:
    good = "library UserLib version '1.0.0'\nusing FHIR version '4.0.1'\ndefine \"Answer\": 40 + 2\n"
    stored = fhir.put("/Library/user-lib", json=_library(good))
    assert stored.status_code in {200, 201}
    types = [c["contentType"] for c in stored.json()["content"]]
    assert "application/elm+json" in types


def test_library_translation_error_names_line_and_column(fhir: httpx.Client) -> None:
    bad = "library UserLib version '1.0.0'\nusing FHIR version '4.0.1'\ndefine \"Broken\": NoSuchThing + 1\n"
    response = fhir.put("/Library/user-lib-bad", json={**_library(bad), "id": "user-lib-bad"})
    assert response.status_code == 422
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert "line 3" in json.dumps(body)
