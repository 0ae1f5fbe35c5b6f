"""``_total`` and multi-value parameters over HTTP: a page carries its total unless the client waives it,
paging works either way, and ``a,b,c`` values (grouped into IN lists) match exactly their union."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

LOINC = "http://loinc.org"
CODES = ["8302-2", "29463-7", "8867-4", "9279-1"]


@pytest.fixture(scope="module")
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server}/fhir", timeout=60) as http:
        yield http


@pytest.fixture(scope="module")
def patient(client: httpx.Client) -> str:
    """A patient with 7 Observations: codes cycling through CODES, one with no system, and a second
    patient's Observation that must never match."""
    pid = client.post("/Patient", json={"resourceType": "Patient", "name": [{"family": "Total"}]}).json()["id"]
    other = client.post("/Patient", json={"resourceType": "Patient"}).json()["id"]

    def observation(subject: str, coding: dict[str, str]) -> dict[str, Any]:
        return {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [coding]},
            "subject": {"reference": f"Patient/{subject}"},
        }

    for i in range(6):
        body = observation(pid, {"system": LOINC, "code": CODES[i % len(CODES)]})
        assert client.post("/Observation", json=body).status_code == 201
    assert client.post("/Observation", json=observation(pid, {"code": "local-1"})).status_code == 201
    assert client.post("/Observation", json=observation(other, {"system": LOINC, "code": CODES[0]})).status_code == 201
    return str(pid)


def _ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


def _next(bundle: dict[str, Any]) -> str | None:
    return next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)


@pytest.mark.parametrize("mode", ["none", "accurate", "estimate", None])
def test_paging_with_and_without_the_total(client: httpx.Client, patient: str, mode: str | None) -> None:
    params = {"patient": patient, "_count": "3", **({"_total": mode} if mode else {})}
    bundle = client.get("/Observation", params=params).json()
    if mode == "none":
        assert "total" not in bundle
    else:
        assert bundle["total"] == 7
    seen = _ids(bundle)
    pages = 1
    while (url := _next(bundle)) is not None and pages < 10:
        bundle = httpx.get(url, timeout=60).json()
        seen += _ids(bundle)
        pages += 1
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7


def test_an_unknown_total_mode_is_a_400(client: httpx.Client, patient: str) -> None:
    response = client.get("/Observation", params={"patient": patient, "_total": "sometimes"})
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"
    assert "_total" in response.json()["issue"][0]["diagnostics"]


def test_a_page_past_the_end_still_has_the_total(client: httpx.Client, patient: str) -> None:
    bundle = client.get("/Observation", params={"patient": patient, "_offset": "50"}).json()
    assert bundle["total"] == 7
    assert "entry" not in bundle


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        (f"{LOINC}|{CODES[0]},{LOINC}|{CODES[1]}", 4),  # one system: one IN list
        (f"{CODES[0]},{CODES[2]},{CODES[2]}", 3),  # any system, a value repeated
        (f"{LOINC}|{CODES[3]},|local-1", 2),  # a system and "no system"
        (f"{LOINC}|{CODES[0]},local-1,http://other|{CODES[1]}", 3),  # mixed shapes
        (f"{LOINC}|,|local-1", 7),  # a whole system (not an equality) with a code without system
    ],
)
def test_comma_values_match_their_union(client: httpx.Client, patient: str, codes: str, expected: int) -> None:
    bundle = client.get("/Observation", params={"patient": patient, "code": codes, "_total": "accurate"}).json()
    assert bundle["total"] == expected
    singles: set[str] = set()
    for code in codes.split(","):
        singles |= set(_ids(client.get("/Observation", params={"patient": patient, "code": code}).json()))
    assert set(_ids(bundle)) == singles


def test_references_in_a_list_match_each_patient(client: httpx.Client, patient: str) -> None:
    stranger = str(uuid.uuid4())
    listed = client.get("/Observation", params={"patient": f"Patient/{patient},{stranger}"}).json()
    alone = client.get("/Observation", params={"subject": f"Patient/{patient}"}).json()
    assert listed["total"] == alone["total"] == 7
