"""transaction (all-or-nothing, urn:uuid references) and batch Bundles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest


@pytest.fixture(scope="module")
def fhir(server: str) -> httpx.Client:
    return httpx.Client(base_url=f"{server}/fhir", timeout=60)


def _bundle(kind: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def test_transaction_resolves_urn_uuid_references(fhir: httpx.Client) -> None:
    bundle = _bundle(
        "transaction",
        [
            {
                "fullUrl": "urn:uuid:11111111-1111-4111-8111-111111111111",
                "resource": {"resourceType": "Patient", "name": [{"family": "李"}]},
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": "urn:uuid:22222222-2222-4222-8222-222222222222",
                "resource": {
                    "resourceType": "Encounter",
                    "status": "finished",
                    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
                    "subject": {"reference": "urn:uuid:11111111-1111-4111-8111-111111111111"},
                },
                "request": {"method": "POST", "url": "Encounter"},
            },
        ],
    )
    response = fhir.post("/", json=bundle)
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in body["entry"]]
    assert statuses == ["201 Created", "201 Created"]
    patient_loc = body["entry"][0]["response"]["location"]
    patient_id = patient_loc.split("/")[1]
    encounter = body["entry"][1]["resource"]
    assert encounter["subject"]["reference"] == f"Patient/{patient_id}"
    assert fhir.get("/Encounter", params={"patient": patient_id}).json()["total"] == 1


def test_transaction_is_all_or_nothing(fhir: httpx.Client) -> None:
    before = fhir.get("/Patient", params={"family": "回滚", "_summary": "count"}).json()["total"]
    bundle = _bundle(
        "transaction",
        [
            {
                "resource": {"resourceType": "Patient", "name": [{"family": "回滚"}]},
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {"resourceType": "Patient", "name": [{"family": "回滚"}], "id": "rb-1"},
                "request": {"method": "PUT", "url": "Patient/rb-1", "ifMatch": 'W/"7"'},
            },
        ],
    )
    response = fhir.post("", json=bundle)
    assert response.status_code == 412
    issue = response.json()["issue"][0]
    assert "Bundle.entry[1]" in issue["diagnostics"]
    assert fhir.get("/Patient", params={"family": "回滚", "_summary": "count"}).json()["total"] == before


def test_invalid_entry_fails_the_transaction_with_its_location(fhir: httpx.Client) -> None:
    bundle = _bundle(
        "transaction",
        [
            {"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}},
            {
                "resource": {"resourceType": "Patient", "birthDate": "not-a-date"},
                "request": {"method": "POST", "url": "Patient"},
            },
        ],
    )
    response = fhir.post("", json=bundle)
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"][0] == "Bundle.entry[1]"


def test_batch_entries_succeed_or_fail_alone(fhir: httpx.Client) -> None:
    bundle = _bundle(
        "batch",
        [
            {"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}},
            {
                "resource": {"resourceType": "Patient", "gender": 5},
                "request": {"method": "POST", "url": "Patient"},
            },
            {"request": {"method": "GET", "url": "Patient/definitely-missing"}},
        ],
    )
    response = fhir.post("", json=bundle)
    assert response.status_code == 200
    statuses = [e["response"]["status"].split()[0] for e in response.json()["entry"]]
    assert statuses == ["201", "422", "404"]


def test_hl7_transaction_example(fhir: httpx.Client, shared_data: Path) -> None:
    """The HL7 example needs state it does not create (Patient/123a at version 2) and calls ValueSet/$lookup
    inside the transaction. Run as published it must fail as a whole; as a batch every entry gets a status;
    with its precondition met and the operation entry left out, the transaction succeeds entry by entry."""
    example = json.loads((shared_data / "fhir/hl7-r4-examples/Bundle-bundle-transaction.json").read_text())
    failed = fhir.post("", json=example)
    assert failed.status_code in {400, 412}
    assert failed.json()["resourceType"] == "OperationOutcome"

    as_batch = fhir.post("", json={**example, "type": "batch"})
    assert as_batch.status_code == 200
    batch_entries = as_batch.json()["entry"]
    assert len(batch_entries) == len(example["entry"])
    assert all(e["response"]["status"][:3].isdigit() for e in batch_entries)

    for _ in range(2):  # make Patient/123a exist at version 2, as the example assumes
        fhir.put("/Patient/123a", json={"resourceType": "Patient", "id": "123a"})
    runnable = {**example, "entry": [e for e in example["entry"] if "$" not in e["request"]["url"]]}
    response = fhir.post("", json=runnable)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in body["entry"]]
    assert len(statuses) == len(runnable["entry"])
    # the batch run above created the ifNoneExist, PUT and conditional-PUT targets: they now match
    assert statuses[:5] == ["201 Created", "200 OK", "200 OK", "200 OK", "200 OK"]
    assert statuses[5:7] == ["204 No Content", "204 No Content"]
    assert statuses[7] == "200 OK"  # the search
    assert statuses[8].startswith("404")  # reading a resource that is not there
