"""Create, read, update (versions, ETag, If-Match), delete — and bad input — over HTTP, on both backends."""

from __future__ import annotations

import httpx
import pytest
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

PATIENT = {"resourceType": "Patient", "name": [{"family": "王", "given": ["小明"]}], "gender": "male"}


@pytest.fixture(scope="module")
def fhir(server: str) -> httpx.Client:
    return httpx.Client(base_url=f"{server}/fhir", timeout=30)


def outcome_issue(response: httpx.Response) -> dict[str, object]:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert response.headers["content-type"].startswith("application/fhir+json")
    return body["issue"][0]  # type: ignore[no-any-return]


def test_create_read_update_delete_roundtrip(fhir: httpx.Client) -> None:
    created = fhir.post("/Patient", json=PATIENT)
    assert created.status_code == 201
    body = created.json()
    pid = body["id"]
    assert body["meta"]["versionId"] == "1"
    assert created.headers["etag"] == 'W/"1"'
    assert created.headers["location"].endswith(f"/fhir/Patient/{pid}/_history/1")

    read = fhir.get(f"/Patient/{pid}")
    assert read.status_code == 200
    assert read.json()["name"][0]["family"] == "王"

    updated = fhir.put(
        f"/Patient/{pid}", json={**PATIENT, "id": pid, "gender": "female"}, headers={"If-Match": 'W/"1"'}
    )
    assert updated.status_code == 200
    assert updated.json()["meta"]["versionId"] == "2"
    assert updated.headers["etag"] == 'W/"2"'

    stale = fhir.put(f"/Patient/{pid}", json={**PATIENT, "id": pid}, headers={"If-Match": 'W/"1"'})
    assert stale.status_code == 412
    assert outcome_issue(stale)["code"] == "conflict"

    assert fhir.get(f"/Patient/{pid}/_history/1").json()["gender"] == "male"
    assert fhir.get(f"/Patient/{pid}/_history/2").json()["gender"] == "female"

    assert fhir.delete(f"/Patient/{pid}").status_code == 204
    assert fhir.get(f"/Patient/{pid}").status_code == 410
    assert fhir.delete(f"/Patient/{pid}").status_code == 204  # idempotent


def test_put_creates_with_client_id(fhir: httpx.Client) -> None:
    response = fhir.put("/Patient/client-chosen-1", json={**PATIENT, "id": "client-chosen-1"})
    assert response.status_code == 201
    assert fhir.put("/Patient/client-chosen-1", json={**PATIENT, "id": "client-chosen-1"}).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "needle"),
    [
        ("post", "/Patient", b"{not json", 400, "not valid JSON"),
        ("post", "/Patient", b"[1, 2]", 400, "JSON object"),
        (
            "post",
            "/Patient",
            b'{"resourceType": "Observation", "status": "final", "code": {}}',
            400,
            "does not match",
        ),
        ("post", "/Patient", b'{"resourceType": "Patient", "birthDate": "yesterday"}', 422, "Date"),
        ("post", "/Patient", b'{"resourceType": "Patient", "unknownElement": 1}', 422, ""),
        ("post", "/NoSuchType", b'{"resourceType": "NoSuchType"}', 404, "NoSuchType"),
        ("get", "/NoSuchType/1", None, 404, "NoSuchType"),
        ("get", "/Patient/does-not-exist", None, 404, "not known"),
        ("put", "/Patient/abc", b'{"resourceType": "Patient", "id": "xyz"}', 400, "does not match"),
        ("put", "/Patient/bad$id", b'{"resourceType": "Patient"}', 400, "Invalid resource id"),
        ("post", "/Patient", b"", 400, "empty"),
    ],
)
def test_bad_input_is_an_operation_outcome(
    fhir: httpx.Client, method: str, path: str, body: bytes | None, status: int, needle: str
) -> None:
    response = fhir.request(method, path, content=body, headers={"content-type": "application/fhir+json"})
    assert response.status_code == status
    issue = outcome_issue(response)
    assert needle in str(issue["diagnostics"])


def test_invalid_resource_names_the_element(fhir: httpx.Client) -> None:
    response = fhir.post("/Patient", json={"resourceType": "Patient", "birthDate": "yesterday"})
    assert response.status_code == 422
    assert outcome_issue(response)["expression"] == ["Patient.birthDate"]


def test_wrong_media_type_is_415(fhir: httpx.Client) -> None:
    response = fhir.post("/Patient", content=b"<Patient/>", headers={"content-type": "application/fhir+xml"})
    assert response.status_code == 415


def test_oversized_body_is_413(server: str) -> None:
    big = b'{"resourceType": "Patient", "text": "' + b"x" * (51 * 1024 * 1024) + b'"}'
    response = httpx.post(
        f"{server}/fhir/Patient", content=big, headers={"content-type": "application/json"}, timeout=60
    )
    assert response.status_code == 413
    assert response.json()["resourceType"] == "OperationOutcome"


def test_metadata_tells_the_truth(fhir: httpx.Client) -> None:
    cs = fhir.get("/metadata").json()
    CapabilityStatement.model_validate(cs)
    assert cs["resourceType"] == "CapabilityStatement"
    assert cs["fhirVersion"] == "4.0.1"
    resources = {r["type"]: r for r in cs["rest"][0]["resource"]}
    observation = {p["name"] for p in resources["Observation"]["searchParam"]}
    assert {"patient", "subject", "encounter", "code", "date", "category", "status", "_id"} <= observation
    assert "Encounter:patient" in resources["Encounter"]["searchInclude"]
    assert "Observation:encounter" in resources["Observation"]["searchInclude"]
    ops = {o["name"] for o in resources["Measure"].get("operation", [])}
    assert "evaluate-measure" in ops
    assert "qc-evaluate" in {o["name"] for o in resources["Encounter"].get("operation", [])}
    assert "qc-evaluate" in {o["name"] for o in cs["rest"][0]["operation"]}
    for op in resources["Measure"]["operation"]:
        definition = httpx.get(
            op["definition"].replace("http://medqc.org/fhir", fhir.base_url.__str__().rstrip("/"))
        )
        assert definition.status_code == 200, op


def test_health_and_metrics(server: str) -> None:
    assert httpx.get(f"{server}/healthz").json()["status"] == "ok"
    assert httpx.get(f"{server}/readyz").status_code == 200
    metrics = httpx.get(f"{server}/metrics").text
    assert "medqc_http_requests_total" in metrics


def test_traceparent_is_continued(server: str) -> None:
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    response = httpx.get(f"{server}/healthz", headers={"traceparent": parent, "x-request-id": "req-42"})
    assert response.headers["x-request-id"] == "req-42"
    assert response.headers["traceparent"].startswith("00-4bf92f3577b34da6a3ce929d0e0e4736-")
    assert not response.headers["traceparent"].endswith("00f067aa0ba902b7-01")
