"""Two maintained FHIR client libraries, unchanged, against a live MedQC: fhirpy (async) and fhirclient
(SMART on FHIR client-py). Each creates conditionally, patches, reads history and searches with
``_revinclude`` through its own API; what the library has no call for (fhirclient has no patch,
neither has a history call) goes through the library's own request helpers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fhirclient import client as smart_client
from fhirclient.models.bundle import Bundle
from fhirclient.models.fhirsearch import FHIRSearch
from fhirclient.models.observation import Observation as SmartObservation
from fhirclient.models.patient import Patient as SmartPatient
from fhirpy import AsyncFHIRClient

from tests.conftest import make_settings
from tests.support.live import live_server

SYSTEM = "urn:test:clients"


@pytest.fixture(scope="module")
def fhir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings("sqlite", tmp_path_factory.mktemp("clients"), seed_catalog=False)
    with live_server(settings) as base:
        yield f"{base}/fhir"


def _observation(patient_id: str) -> dict[str, object]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "valueQuantity": {"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
    }


async def test_fhirpy(fhir: str) -> None:
    client = AsyncFHIRClient(fhir)
    value = uuid.uuid4().hex
    patient = client.resource(
        "Patient", identifier=[{"system": SYSTEM, "value": value}], name=[{"family": "Zhang"}]
    )
    search = client.resources("Patient").search(identifier=f"{SYSTEM}|{value}")
    created, was_created = await search.get_or_create(patient)
    again, created_again = await search.get_or_create(patient)
    assert (was_created, created_again) == (True, False)
    assert again.id == created.id
    assert await client.resources("Patient").search(identifier=f"{SYSTEM}|{value}").count() == 1

    patched = await client.patch("Patient", created.id, gender="female")
    assert patched["gender"] == "female"
    assert patched["meta"]["versionId"] == "2"

    history = await client.execute(f"Patient/{created.id}/_history", method="get")
    assert history["type"] == "history"
    assert [e["request"]["method"] for e in history["entry"]] == ["PUT", "POST"]

    await client.resource("Observation", **_observation(created.id)).save()
    found = await (
        client.resources("Patient").search(_id=created.id).revinclude("Observation", "subject").fetch_raw()
    )
    kinds = [(e["resource"]["resourceType"], e["search"]["mode"]) for e in found["entry"]]
    assert sorted(kinds) == [("Observation", "include"), ("Patient", "match")]


def test_fhirclient(fhir: str) -> None:
    smart = smart_client.FHIRClient(settings={"app_id": "medqc-test", "api_base": fhir + "/"})
    server = smart.server
    value = uuid.uuid4().hex
    patient = SmartPatient({"identifier": [{"system": SYSTEM, "value": value}], "gender": "male"})
    path = f"Patient?identifier={SYSTEM}|{value}"
    first = server.post_json(path, patient.as_json())
    second = server.post_json(path, patient.as_json())
    assert (first.status_code, second.status_code) == (201, 200)
    created = SmartPatient(first.json())
    assert SmartPatient(second.json()).id == created.id

    observation = SmartObservation(_observation(created.id))
    observation.create(server)
    patched = server.session.patch(
        f"{server.base_uri}Patient/{created.id}",
        json=[{"op": "replace", "path": "/gender", "value": "other"}],
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert patched.status_code == 200
    assert SmartPatient.read(created.id, server).gender == "other"

    history = Bundle(server.request_json(f"Patient/{created.id}/_history"))
    assert history.type == "history"
    assert [e.request.method for e in history.entry] == ["PUT", "POST"]
    assert history.entry[1].resource.gender == "male"

    search = FHIRSearch(SmartPatient, {"_id": created.id}).include("subject", SmartObservation, reverse=True)
    resources = search.perform_resources(server)
    assert sorted(type(r).__name__ for r in resources) == ["Observation", "Patient"]
