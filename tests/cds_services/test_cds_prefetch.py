"""PrefetchSource: null vs missing keys, fetching with the bearer token, paging, failures → 412."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from cds_testkit import EHR_FHIR, EHR_TOKEN, FakeEhrFhir, af_patient_resources, full_prefetch, searchset

from cds_services.services.discharge_qc import PREFETCH
from fhir_ops.data_access.prefetch import FhirServerClient, PrefetchSource, render_template
from fhir_ops.errors import NotFound, PreconditionFailed

CONTEXT = {"userId": "Practitioner/doc1", "patientId": "p1", "encounterId": "e1"}


def _source(
    prefetch: dict[str, Any] | None, ehr: FakeEhrFhir | None, http: httpx.AsyncClient
) -> PrefetchSource:
    server = FhirServerClient(EHR_FHIR, access_token=EHR_TOKEN, http=http) if ehr else None
    return PrefetchSource(templates=PREFETCH, context=CONTEXT, prefetch=prefetch, server=server)


@pytest.fixture
def ehr() -> FakeEhrFhir:
    return FakeEhrFhir(resources=af_patient_resources())


@pytest.fixture
async def http(ehr: FakeEhrFhir) -> Any:
    async with httpx.AsyncClient(transport=httpx.MockTransport(ehr.handler)) as client:
        yield client


def test_render_template() -> None:
    assert render_template(PREFETCH["conditions"], CONTEXT) == "Condition?patient=p1&encounter=e1"
    assert render_template("Encounter/{{context.encounterId}}", {"encounterId": "a/b"}) == "Encounter/a%2Fb"
    assert render_template("Patient/{{context.patientId}}", {}) is None
    assert render_template("Practitioner/{{userPractitionerId}}", CONTEXT) == "Practitioner/doc1"


async def test_null_is_no_data_and_not_fetched(ehr: FakeEhrFhir, http: httpx.AsyncClient) -> None:
    prefetch = full_prefetch(af_patient_resources())
    prefetch["conditions"] = None
    record = await _source(prefetch, ehr, http).encounter_record("e1")
    assert record.conditions == []
    assert not ehr.requests


async def test_absent_is_fetched(ehr: FakeEhrFhir, http: httpx.AsyncClient) -> None:
    prefetch = full_prefetch(af_patient_resources())
    del prefetch["conditions"]
    record = await _source(prefetch, ehr, http).encounter_record("e1")
    assert [c["id"] for c in record.conditions] == ["c1"]
    [request] = ehr.requests
    assert str(request.url) == f"{EHR_FHIR}/Condition?patient=p1&encounter=e1"
    assert request.headers["authorization"] == f"Bearer {EHR_TOKEN}"


async def test_operation_outcome_slot_is_refetched(ehr: FakeEhrFhir, http: httpx.AsyncClient) -> None:
    prefetch = full_prefetch(af_patient_resources())
    prefetch["conditions"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout"}],
    }
    record = await _source(prefetch, ehr, http).encounter_record("e1")
    assert len(record.conditions) == 1
    assert len(ehr.requests) == 1


async def test_nothing_prefetched_everything_fetched(ehr: FakeEhrFhir, http: httpx.AsyncClient) -> None:
    record = await _source(None, ehr, http).encounter_record("e1")
    assert record.patient is not None
    assert record.encounter is not None
    assert record.encounter["id"] == "e1"
    assert len(record.notes) == 1
    assert len(ehr.requests) == len(PREFETCH)


async def test_absent_without_server_is_412(http: httpx.AsyncClient) -> None:
    prefetch = full_prefetch(af_patient_resources())
    del prefetch["observations"]
    with pytest.raises(PreconditionFailed, match="observations"):
        await _source(prefetch, None, http).encounter_record("e1")


async def test_server_down_is_412(ehr: FakeEhrFhir, http: httpx.AsyncClient) -> None:
    ehr.down = True
    with pytest.raises(PreconditionFailed, match="unreachable"):
        await _source({}, ehr, http).encounter_record("e1")


async def test_missing_encounter_is_not_found(ehr: FakeEhrFhir, http: httpx.AsyncClient) -> None:
    prefetch = full_prefetch(af_patient_resources())
    prefetch["encounter"] = None
    with pytest.raises(NotFound):
        await _source(prefetch, ehr, http).encounter_record("e1")


async def test_paged_prefetch_is_completed_from_the_server(ehr: FakeEhrFhir, http: httpx.AsyncClient) -> None:
    prefetch = full_prefetch(af_patient_resources())
    first = searchset([])
    first["link"] = [{"relation": "next", "url": f"{EHR_FHIR}/Condition?patient=p1&encounter=e1"}]
    prefetch["conditions"] = first
    record = await _source(prefetch, ehr, http).encounter_record("e1")
    assert [c["id"] for c in record.conditions] == ["c1"]


async def test_next_link_outside_the_server_is_refused(ehr: FakeEhrFhir, http: httpx.AsyncClient) -> None:
    prefetch = full_prefetch(af_patient_resources())
    page = searchset([])
    page["link"] = [{"relation": "next", "url": "https://attacker.example.org/fhir/Condition?page=2"}]
    prefetch["conditions"] = page
    with pytest.raises(PreconditionFailed, match="outside"):
        await _source(prefetch, ehr, http).encounter_record("e1")
    assert not ehr.requests  # the token never left for another host


async def test_paged_prefetch_without_server_is_412(http: httpx.AsyncClient) -> None:
    prefetch = full_prefetch(af_patient_resources())
    prefetch["conditions"]["link"] = [{"relation": "next", "url": f"{EHR_FHIR}/Condition?page=2"}]
    with pytest.raises(PreconditionFailed, match="paged"):
        await _source(prefetch, None, http).encounter_record("e1")


async def test_lenient_prefetch(http: httpx.AsyncClient) -> None:
    """Spec-style prefetch: resources missing required elements, snipped members, outcome entries."""
    prefetch = full_prefetch(af_patient_resources())
    prefetch["patient"] = {"resourceType": "Patient", "gender": "male", "...": "<snipped for brevity>"}
    prefetch["observations"]["entry"].append(
        {"resource": {"resourceType": "OperationOutcome", "issue": []}, "search": {"mode": "outcome"}}
    )
    prefetch["observations"]["entry"].append({"resource": {"resourceType": "Observation", "...": "snip"}})
    record = await _source(prefetch, None, http).encounter_record("e1")
    assert record.patient is not None
    assert len(record.observations) == 1


async def test_patient_encounters(ehr: FakeEhrFhir, http: httpx.AsyncClient) -> None:
    source = PrefetchSource(
        templates={"encounters": "Encounter?patient={{context.patientId}}"},
        context=CONTEXT,
        prefetch={},
        server=FhirServerClient(EHR_FHIR, access_token=EHR_TOKEN, http=http),
    )
    assert [e["id"] for e in await source.patient_encounters("p1")] == ["e1"]
    assert await source.patient_encounters("p2") == []
