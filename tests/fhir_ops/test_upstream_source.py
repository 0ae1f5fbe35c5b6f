"""The upstream data source reads an encounter from a second MedQC over real HTTP (bearer token, paging,
retries on 503), and a down server becomes a clear error, not a hang."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fhir_ops.data_access.embedded import RepositorySource
from fhir_ops.data_access.upstream import UpstreamSource
from fhir_ops.errors import NotFound, UpstreamUnavailable
from medqc.bundles import as_transaction, read_resources
from tests.conftest import make_settings
from tests.support.live import free_port, live_server

TOKEN = "upstream-secret"
LUNG = "Bundle-lung_cancer_sepsis_CABGhx-129c6ac7-8d06-89de-ad63-0204a93e76c3.json"


@pytest.fixture(scope="module")
def ehr(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[str]:
    settings = make_settings("sqlite", tmp_path_factory.mktemp("ehr"), fhir_access_token=TOKEN)
    with live_server(settings) as base:
        bundle = as_transaction(read_resources(shared_data / "fhir" / "synthea" / LUNG))
        response = httpx.post(
            f"{base}/fhir", json=bundle, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120
        )
        assert response.status_code == 200
        yield f"{base}/fhir"


def _encounter_with_notes(base: str) -> str:
    docs = httpx.get(
        f"{base}/DocumentReference", params={"_count": "1"}, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    return str(docs.json()["entry"][0]["resource"]["context"]["encounter"][0]["reference"]).split("/")[-1]


def test_token_is_checked_by_the_ehr(ehr: str) -> None:
    assert httpx.get(f"{ehr}/Patient").status_code == 401
    assert httpx.get(f"{ehr}/Patient", headers={"Authorization": "Bearer wrong"}).status_code == 401


async def test_reads_an_encounter_record_over_http(ehr: str) -> None:
    encounter_id = _encounter_with_notes(ehr)
    source = UpstreamSource(ehr, token=TOKEN, page_size=5)
    record = await source.encounter_record(encounter_id)
    assert record.encounter is not None
    assert record.encounter["id"] == encounter_id
    assert record.patient is not None
    assert record.patient["id"].startswith("129c6ac7")
    assert record.notes
    assert record.notes[0].text.strip()
    assert all(
        d["context"]["encounter"][0]["reference"].endswith(encounter_id) for d in record.document_references
    )
    encounters = await source.patient_encounters(record.patient["id"])
    assert len(encounters) == 90  # paged 5 at a time through next links


async def test_missing_encounter_is_not_found(ehr: str) -> None:
    with pytest.raises(NotFound):
        await UpstreamSource(ehr, token=TOKEN).encounter_record("no-such-encounter")


async def test_wrong_token_is_an_upstream_error(ehr: str) -> None:
    with pytest.raises(UpstreamUnavailable):
        await UpstreamSource(ehr, token="wrong").encounter_record("x")


async def test_down_server_is_an_upstream_error() -> None:
    source = UpstreamSource(f"http://127.0.0.1:{free_port()}/fhir", attempts=2, timeout_s=2)
    with pytest.raises(UpstreamUnavailable):
        await source.encounter_record("x")


@pytest.fixture
def flaky_proxy(ehr: str) -> Iterator[tuple[str, dict[str, int]]]:
    """Answers 503 (then 429) to the first two requests of each path, then forwards to the EHR."""
    seen: dict[str, int] = {}

    async def forward(request: Request) -> Response:
        key = request.url.path
        seen[key] = seen.get(key, 0) + 1
        if seen[key] == 1:
            return Response(status_code=503)
        if seen[key] == 2:
            return Response(status_code=429, headers={"Retry-After": "0"})
        upstream = ehr + key.removeprefix("/fhir")
        async with httpx.AsyncClient() as client:
            answer = await client.get(
                upstream,
                params=request.query_params,
                headers={"Authorization": request.headers.get("authorization", "")},
            )
        return Response(answer.content, status_code=answer.status_code, media_type="application/fhir+json")

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(Starlette(routes=[Route("/{path:path}", forward)]), port=port, log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.05)
    yield f"http://127.0.0.1:{port}/fhir", seen
    server.should_exit = True
    thread.join(10)


async def test_retries_on_503_and_429(flaky_proxy: tuple[str, dict[str, int]], ehr: str) -> None:
    base, seen = flaky_proxy
    encounter_id = _encounter_with_notes(ehr)
    record = await UpstreamSource(base, token=TOKEN, attempts=4).encounter_record(encounter_id)
    assert record.encounter is not None
    assert seen[f"/fhir/Encounter/{encounter_id}"] == 3


async def test_embedded_source_matches_upstream(
    ehr: str, tmp_path_factory: pytest.TempPathFactory, shared_data: Path
) -> None:
    from medqc.services import build_services

    settings = make_settings("sqlite", tmp_path_factory.mktemp("local"))
    services = await build_services(settings, seed=False)
    try:
        await services.repo.transaction(
            as_transaction(read_resources(shared_data / "fhir" / "synthea" / LUNG))
        )
        encounter_id = _encounter_with_notes(ehr)
        local = await RepositorySource(services.repo).encounter_record(encounter_id)
        remote = await UpstreamSource(ehr, token=TOKEN).encounter_record(encounter_id)
        assert [n.text for n in local.notes] == [n.text for n in remote.notes]
        assert len(local.procedures) == len(remote.procedures)
        assert len(local.conditions) == len(remote.conditions)
    finally:
        await services.close()
