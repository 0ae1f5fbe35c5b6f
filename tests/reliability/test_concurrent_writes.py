"""Concurrent clients over the live HTTP app (SQLite and PostgreSQL): nothing duplicated, nothing lost,
no 500 — conditional creates and updates, crossed-order transactions, parallel PUTs of a new id."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.reliability.conftest import Scale


def _tx(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _patient(system: str, key: int, marker: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": system, "value": str(key)}],
        "name": [{"text": marker}],
    }


async def _gather_posts(base: str, bodies: list[dict[str, Any]], clients: int) -> list[httpx.Response]:
    """POST every body to the transaction endpoint, ``clients`` at a time, in the given order."""
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=f"{base}/fhir", timeout=120, limits=limits) as client:
        gate = asyncio.Semaphore(clients)

        async def one(body: dict[str, Any]) -> httpx.Response:
            async with gate:
                return await client.post("", json=body)

        return list(await asyncio.gather(*(one(b) for b in bodies)))


def _count(fhir: httpx.Client, system: str, key: int) -> int:
    found = fhir.get("/Patient", params={"identifier": f"{system}|{key}", "_summary": "count"})
    assert found.status_code == 200, found.text
    return int(found.json()["total"])


@pytest.fixture(scope="module")
def fhir(server: str) -> httpx.Client:
    return httpx.Client(base_url=f"{server}/fhir", timeout=60)


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_concurrent_conditional_writes_make_one_resource_per_key(
    server: str, fhir: httpx.Client, scale: Scale, method: str
) -> None:
    system = f"urn:reliability:{method.lower()}"
    bodies = []
    for client in range(scale.clients):
        for key in random.sample(range(scale.keys), scale.keys):
            request = (
                {"method": "POST", "url": "Patient", "ifNoneExist": f"identifier={system}|{key}"}
                if method == "POST"
                else {"method": "PUT", "url": f"Patient?identifier={system}|{key}"}
            )
            bodies.append(_tx([{"resource": _patient(system, key, f"c{client}"), "request": request}]))
    responses = asyncio.run(_gather_posts(server, bodies, scale.clients))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: len(bodies)}, statuses
    for key in range(scale.keys):
        assert _count(fhir, system, key) == 1


def test_crossed_order_transactions_never_500_and_every_acknowledged_write_is_kept(
    server: str, fhir: httpx.Client, scale: Scale
) -> None:
    ids = [f"crossed-{k}" for k in range(max(3, scale.keys))]
    bodies, markers = [], []
    for round_ in range(scale.rounds):
        for client in range(scale.clients):
            chosen = random.sample(ids, 3)  # the same resources, in every order
            marker = f"r{round_}c{client}"
            markers.append(marker)
            bodies.append(
                _tx(
                    [
                        {
                            "resource": {"resourceType": "Patient", "id": rid, "name": [{"text": marker}]},
                            "request": {"method": "PUT", "url": f"Patient/{rid}"},
                        }
                        for rid in chosen
                    ]
                )
            )
    responses = asyncio.run(_gather_posts(server, bodies, scale.clients))
    assert not [r.status_code for r in responses if r.status_code >= 500]
    acknowledged = 0
    for marker, response in zip(markers, responses, strict=True):
        if response.status_code != 200:
            assert response.status_code in {409, 412}, response.text
            continue
        acknowledged += 1
        for entry in response.json()["entry"]:
            location = entry["response"]["location"]
            kept = fhir.get(f"/{location}")
            assert kept.status_code == 200
            assert kept.json()["name"][0]["text"] == marker
    assert acknowledged >= len(bodies) * 0.9  # conflicts are retried, a few may remain under load


def test_parallel_puts_of_a_new_id_create_once_then_update(server: str, scale: Scale) -> None:
    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=f"{server}/fhir", timeout=120) as client:
            return list(
                await asyncio.gather(
                    *(
                        client.put(
                            "/Patient/parallel-new",
                            json={
                                "resourceType": "Patient",
                                "id": "parallel-new",
                                "name": [{"text": f"c{i}"}],
                            },
                        )
                        for i in range(scale.clients)
                    )
                )
            )

    responses = asyncio.run(run())
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 200: scale.clients - 1}, statuses
    versions = sorted(int(r.json()["meta"]["versionId"]) for r in responses)
    assert versions == list(range(1, scale.clients + 1))


def test_identical_conditional_entries_are_resolved_once(fhir: httpx.Client) -> None:
    system = "urn:reliability:identical"
    put = {"method": "PUT", "url": f"Patient?identifier={system}|1"}
    post = {"method": "POST", "url": "Patient", "ifNoneExist": f"identifier={system}|2"}
    response = fhir.post(
        "",
        json=_tx(
            [
                {"resource": _patient(system, 1, "same"), "request": put},
                {"resource": _patient(system, 1, "same"), "request": put},
                {"fullUrl": "urn:uuid:a", "resource": _patient(system, 2, "a"), "request": post},
                {"fullUrl": "urn:uuid:b", "resource": _patient(system, 2, "a"), "request": post},
                {
                    "resource": {
                        "resourceType": "Encounter",
                        "status": "finished",
                        "class": {"code": "IMP"},
                        "subject": {"reference": "urn:uuid:b"},
                    },
                    "request": {"method": "POST", "url": "Encounter"},
                },
            ]
        ),
    )
    assert response.status_code == 200, response.text
    entries = response.json()["entry"]
    assert entries[0]["response"]["location"] == entries[1]["response"]["location"]
    assert entries[2]["response"]["location"] == entries[3]["response"]["location"]
    patient = entries[2]["response"]["location"].split("/_history")[0]
    assert entries[4]["resource"]["subject"]["reference"] == patient
    assert _count(fhir, system, 1) == 1
    assert _count(fhir, system, 2) == 1


@pytest.mark.parametrize(
    "second",
    [
        {"request": {"method": "DELETE", "url": "Patient/twice"}},
        {
            "resource": {"resourceType": "Patient", "id": "twice"},
            "request": {"method": "PUT", "url": "Patient/twice"},
        },
        {
            "resource": {"resourceType": "Patient", "name": [{"text": "other"}]},
            "request": {"method": "PUT", "url": "Patient?identifier=urn:reliability:twice|1"},
        },
    ],
    ids=["put-then-delete", "put-twice", "conditional-onto-the-same"],
)
def test_one_entry_per_resource(fhir: httpx.Client, second: dict[str, Any]) -> None:
    seed = {
        "resourceType": "Patient",
        "id": "twice",
        "identifier": [{"system": "urn:reliability:twice", "value": "1"}],
    }
    assert fhir.put("/Patient/twice", json=seed).status_code in {200, 201}
    before = fhir.get("/Patient/twice").json()["meta"]["versionId"]
    first = {"resource": seed, "request": {"method": "PUT", "url": "Patient/twice"}}
    response = fhir.post("", json=_tx([first, second]))
    assert response.status_code == 400, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "Bundle.entry[1]" in outcome["issue"][0]["diagnostics"]
    assert fhir.get("/Patient/twice").json()["meta"]["versionId"] == before  # nothing half-applied
