"""Hook requests: discovery, request validation (400), data selection (prefetch, fhirServer, data source)."""

from __future__ import annotations

from typing import Any

import pytest
from cds_testkit import (
    DISCHARGE_URL,
    DISCOVERY_URL,
    EHR_FHIR,
    EHR_TOKEN,
    CdsHarness,
    af_patient_resources,
    discharge_request,
    full_prefetch,
)

SERVICE = "/cds-services/medqc-discharge-qc"


async def test_discovery(cds: CdsHarness) -> None:
    response = await cds.client.get("/cds-services", headers=cds.auth(DISCOVERY_URL))
    assert response.status_code == 200
    services = {s["id"]: s for s in response.json()["services"]}
    discharge = services["medqc-discharge-qc"]
    assert discharge["hook"] == "encounter-discharge"
    assert discharge["title"]
    assert discharge["description"]
    assert discharge["prefetch"]["patient"] == "Patient/{{context.patientId}}"
    assert discharge["prefetch"]["encounter"] == "Encounter/{{context.encounterId}}"
    for key in ("conditions", "observations", "procedures", "medicationRequests", "documentReferences"):
        assert "patient={{context.patientId}}&encounter={{context.encounterId}}" in discharge["prefetch"][key]
    assert services["medqc-patient-quality"]["hook"] == "patient-view"


def _without(body: dict[str, Any], *path: str) -> dict[str, Any]:
    target = body
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return body


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (discharge_request(hook="patient-view"), "serves hook 'encounter-discharge'"),
        (_without(discharge_request(), "hookInstance"), "hookInstance"),
        (_without(discharge_request(), "hook"), "hook"),
        (_without(discharge_request(), "context"), "context"),
        (_without(discharge_request(), "context", "encounterId"), "encounterId"),
        (_without(discharge_request(), "context", "userId"), "userId"),
        (_without(discharge_request(), "context", "patientId"), "patientId"),
        (
            discharge_request(context={"userId": "Practitioner/1", "patientId": "", "encounterId": "e1"}),
            "patientId",
        ),
        (
            discharge_request(fhirAuthorization={"access_token": "t", "token_type": "Bearer"}),
            "fhirServer is required",
        ),
        (
            discharge_request(
                fhirServer=EHR_FHIR, fhirAuthorization={"access_token": "t", "token_type": "MAC"}
            ),
            "Bearer",
        ),
        (discharge_request(fhirServer="ftp://ehr"), "absolute http"),
        (discharge_request(context="e1"), "context"),
        (discharge_request(prefetch=["x"]), "prefetch"),
    ],
)
async def test_malformed_requests_are_400(cds: CdsHarness, body: dict[str, Any], message: str) -> None:
    response = await cds.client.post(SERVICE, json=body, headers=cds.auth())
    assert response.status_code == 400, response.text
    assert message in response.json()["message"]
    assert "t" != response.json()["message"]  # token values are never echoed


@pytest.mark.parametrize("content", [b"", b"{not json", b"[]"])
async def test_body_not_a_json_object_is_400(cds: CdsHarness, content: bytes) -> None:
    response = await cds.client.post(
        SERVICE, content=content, headers={**cds.auth(), "Content-Type": "application/json"}
    )
    assert response.status_code == 400


async def test_token_not_echoed_in_errors(cds: CdsHarness) -> None:
    body = discharge_request(fhirAuthorization={"access_token": "SECRET-TOKEN", "token_type": "MAC"})
    body["fhirServer"] = EHR_FHIR
    response = await cds.client.post(SERVICE, json=body, headers=cds.auth())
    assert response.status_code == 400
    assert "SECRET-TOKEN" not in response.text


async def test_unknown_service_is_404(cds: CdsHarness) -> None:
    url = "/cds-services/nope"
    response = await cds.client.post(
        url, json=discharge_request(), headers=cds.auth(f"http://testserver{url}")
    )
    assert response.status_code == 404


async def test_full_prefetch_gives_a_critical_card(cds: CdsHarness) -> None:
    response = await cds.client.post(SERVICE, json=discharge_request(), headers=cds.auth())
    assert response.status_code == 200
    body = response.json()
    assert body["systemActions"] == []
    [card] = body["cards"]
    assert card["indicator"] == "critical"
    assert len(card["summary"]) < 140
    assert "未行CHA2DS2\\-VASc评分" in card["detail"] or "未行CHA2DS2-VASc评分" in card["detail"]
    assert card["source"]["topic"] == {
        "system": "urn:cmqcic:indicator",
        "code": "AF-2",
        "display": "房颤患者 CHA2DS2-VASc 评分",
    }
    assert card["links"][0] == {
        "label": "Review in MedQC",
        "url": "http://testserver/review/Encounter/e1",
        "type": "absolute",
    }
    assert card["selectionBehavior"] == "at-most-one"
    task = card["suggestions"][0]["actions"][0]["resource"]
    assert task["resourceType"] == "Task"
    assert task["for"] == {"reference": "Patient/p1"}
    assert task["owner"] == {"reference": "Practitioner/doc1"}
    assert not cds.ehr.requests  # complete prefetch: nothing fetched
    assert cds.data_source.calls == 0


async def test_met_indicator_gives_no_card(cds: CdsHarness) -> None:
    resources = af_patient_resources()
    resources.append(
        {
            "resourceType": "Observation",
            "id": "o1",
            "status": "final",
            "code": {"text": "CHA2DS2-VASc score"},
            "subject": {"reference": "Patient/p1"},
            "encounter": {"reference": "Encounter/e1"},
            "valueInteger": 3,
        }
    )
    body = discharge_request(prefetch=full_prefetch(resources))
    response = await cds.client.post(SERVICE, json=body, headers=cds.auth())
    assert response.status_code == 200
    assert response.json() == {"cards": [], "systemActions": []}


async def test_missing_keys_fetched_from_fhir_server_with_the_bearer_token(cds: CdsHarness) -> None:
    prefetch = full_prefetch(af_patient_resources())
    del prefetch["conditions"], prefetch["documentReferences"]
    body = discharge_request(
        prefetch=prefetch,
        fhirServer=EHR_FHIR,
        fhirAuthorization={"access_token": EHR_TOKEN, "token_type": "Bearer", "expires_in": 300},
    )
    response = await cds.client.post(SERVICE, json=body, headers=cds.auth())
    assert response.status_code == 200, response.text
    assert [c["indicator"] for c in response.json()["cards"]] == ["critical"]
    paths = sorted(r.url.path for r in cds.ehr.requests)
    assert paths == ["/fhir/Condition", "/fhir/DocumentReference"]
    assert all(r.headers["authorization"] == f"Bearer {EHR_TOKEN}" for r in cds.ehr.requests)


async def test_null_prefetch_means_no_data(cds: CdsHarness) -> None:
    prefetch = full_prefetch(af_patient_resources())
    prefetch["conditions"] = None  # the EHR says: no Conditions
    body = discharge_request(prefetch=prefetch, fhirServer=EHR_FHIR)
    response = await cds.client.post(SERVICE, json=body, headers=cds.auth())
    assert response.status_code == 200
    assert response.json()["cards"] == []  # no AF diagnosis, no AF indicator
    assert not cds.ehr.requests


async def test_fhir_server_down_is_412(cds: CdsHarness) -> None:
    cds.ehr.down = True
    prefetch = full_prefetch(af_patient_resources())
    del prefetch["observations"]
    body = discharge_request(
        prefetch=prefetch,
        fhirServer=EHR_FHIR,
        fhirAuthorization={"access_token": EHR_TOKEN, "token_type": "Bearer"},
    )
    response = await cds.client.post(SERVICE, json=body, headers=cds.auth())
    assert response.status_code == 412
    assert "unreachable" in response.json()["message"]


async def test_wrong_token_at_fhir_server_is_412(cds: CdsHarness) -> None:
    body = discharge_request(
        prefetch=None,
        fhirServer=EHR_FHIR,
        fhirAuthorization={"access_token": "wrong", "token_type": "Bearer"},
    )
    response = await cds.client.post(SERVICE, json=body, headers=cds.auth())
    assert response.status_code == 412
    assert "401" in response.json()["message"]


async def test_missing_key_without_fhir_server_is_412(cds: CdsHarness) -> None:
    prefetch = full_prefetch(af_patient_resources())
    del prefetch["procedures"]
    response = await cds.client.post(SERVICE, json=discharge_request(prefetch=prefetch), headers=cds.auth())
    assert response.status_code == 412
    assert "procedures" in response.json()["message"]


async def test_unknown_encounter_is_412(cds: CdsHarness) -> None:
    prefetch = full_prefetch(af_patient_resources())
    prefetch["encounter"] = None
    response = await cds.client.post(SERVICE, json=discharge_request(prefetch=prefetch), headers=cds.auth())
    assert response.status_code == 412


async def test_no_prefetch_no_server_reads_the_data_source(cds: CdsHarness) -> None:
    body = discharge_request()
    del body["prefetch"]
    response = await cds.client.post(SERVICE, json=body, headers=cds.auth())
    assert response.status_code == 200
    assert [c["indicator"] for c in response.json()["cards"]] == ["critical"]
    assert cds.data_source.calls == 1


async def test_no_evaluator_is_503(cds: CdsHarness) -> None:
    cds.app.state.cds_evaluator = None
    response = await cds.client.post(SERVICE, json=discharge_request(), headers=cds.auth())
    assert response.status_code == 503


async def test_smart_link_when_configured(cds: CdsHarness) -> None:
    cds.app.state.settings = cds.app.state.settings.model_copy(
        update={"cds_smart_launch_url": "https://medqc.example/smart/launch"}
    )
    response = await cds.client.post(SERVICE, json=discharge_request(), headers=cds.auth(DISCHARGE_URL))
    links = response.json()["cards"][0]["links"]
    assert links[1]["type"] == "smart"
    assert links[1]["url"] == "https://medqc.example/smart/launch"
    assert '"encounter": "e1"' in links[1]["appContext"]


async def test_cors_preflight_on_cds_paths_only(cds: CdsHarness) -> None:
    headers = {"Origin": "https://sandbox.example.org", "Access-Control-Request-Method": "POST"}
    response = await cds.client.options(SERVICE, headers=headers)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    other = await cds.client.options("/elsewhere", headers=headers)
    assert "access-control-allow-origin" not in other.headers
