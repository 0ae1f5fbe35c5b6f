"""Search over the Synthea bundles: the counts a client gets equal the counts the bundles contain."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from fhirpy import AsyncFHIRClient

from medqc.bundles import as_transaction, read_resources


def _patient_of(resource: dict[str, Any]) -> str | None:
    for key in ("subject", "patient"):
        ref = (resource.get(key) or {}).get("reference")
        if isinstance(ref, str):
            return ref.rsplit("/", 1)[-1].removeprefix("urn:uuid:")
    return None


@pytest.fixture(scope="module")
def synthea(shared_data: Path) -> list[dict[str, Any]]:
    """Every resource of the Synthea bundles, with the ids the loader gives them."""
    out = []
    for path in sorted((shared_data / "fhir" / "synthea").glob("*.json")):
        for entry in as_transaction(read_resources(path))["entry"]:
            out.append(entry["resource"])
    return out


@pytest.fixture(scope="module")
def loaded(server: str, shared_data: Path) -> httpx.Client:
    client = httpx.Client(base_url=f"{server}/fhir", timeout=120)
    for path in sorted((shared_data / "fhir" / "synthea").glob("*.json")):
        response = client.post("", json=as_transaction(read_resources(path)))
        assert response.status_code == 200, response.text[:500]
        assert response.json()["type"] == "transaction-response"
    return client


def _count(client: httpx.Client, path: str, **params: str) -> int:
    response = client.get(path, params={**params, "_summary": "count"})
    assert response.status_code == 200, response.text[:500]  # an OperationOutcome says why
    return int(response.json()["total"])


def test_counts_per_patient_match_the_bundles(loaded: httpx.Client, synthea: list[dict[str, Any]]) -> None:
    expected: Counter[tuple[str, str]] = Counter()
    for r in synthea:
        patient = _patient_of(r)
        if patient and r["resourceType"] in {"Encounter", "Observation", "DocumentReference", "Condition"}:
            expected[(r["resourceType"], patient)] += 1
    patients = [r["id"] for r in synthea if r["resourceType"] == "Patient"]
    assert len(patients) == 8
    for pid in patients:
        for rtype in ("Encounter", "Observation", "DocumentReference", "Condition"):
            assert _count(loaded, f"/{rtype}", patient=pid) == expected[(rtype, pid)], (rtype, pid)
            assert _count(loaded, f"/{rtype}", subject=f"Patient/{pid}") == expected[(rtype, pid)]


def test_observation_by_patient_and_code(loaded: httpx.Client, synthea: list[dict[str, Any]]) -> None:
    observations = [r for r in synthea if r["resourceType"] == "Observation"]
    by_key = Counter(
        (_patient_of(o), c["system"], c["code"]) for o in observations for c in o["code"]["coding"][:1]
    )
    (pid, system, code), n = by_key.most_common(1)[0]
    assert _count(loaded, "/Observation", patient=str(pid), code=f"{system}|{code}") == n
    assert _count(loaded, "/Observation", patient=str(pid), code=code) == n
    assert _count(loaded, "/Observation", patient=str(pid), code=f"{system}|") == sum(
        1
        for o in observations
        if _patient_of(o) == pid and any(c.get("system") == system for c in o["code"]["coding"])
    )
    assert _count(loaded, "/Observation", patient=str(pid), code=f"{system}|{code},{system}|no-such") == n
    assert _count(loaded, "/Observation", patient=str(pid), code="|" + code) == 0


def test_date_prefixes(loaded: httpx.Client, synthea: list[dict[str, Any]]) -> None:
    encounters = [r for r in synthea if r["resourceType"] == "Encounter" and r.get("period", {}).get("start")]
    pid = _patient_of(encounters[0])
    mine = [e for e in encounters if _patient_of(e) == pid]
    year = sorted(e["period"]["start"][:4] for e in mine)[len(mine) // 2]
    before = sum(1 for e in mine if e["period"]["start"][:4] < year)
    total = _count(loaded, "/Encounter", patient=str(pid))
    lt = _count(loaded, "/Encounter", patient=str(pid), date=f"lt{year}")
    ge = _count(loaded, "/Encounter", patient=str(pid), date=f"ge{year}")
    assert lt == before
    assert lt + ge == total
    eq = _count(loaded, "/Encounter", patient=str(pid), date=year)
    ne = _count(loaded, "/Encounter", patient=str(pid), date=f"ne{year}")
    assert eq + ne == total
    assert eq == sum(
        1 for e in mine if e["period"]["start"][:4] == year and e["period"].get("end", year)[:4] == year
    )


def test_paging_and_next_links(loaded: httpx.Client) -> None:
    total = _count(loaded, "/Observation")
    seen: set[str] = set()
    url: str | None = str(loaded.base_url).rstrip("/") + "/Observation?_count=100&_sort=_id"
    while url:
        page = loaded.get(url).json()
        assert page["total"] == total
        seen.update(e["resource"]["id"] for e in page.get("entry", []))
        url = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
    assert len(seen) == total


def test_include_and_sort(loaded: httpx.Client) -> None:
    bundle = loaded.get(
        "/Encounter", params={"_include": "Encounter:patient", "_count": "5", "_sort": "-date"}
    ).json()
    modes = Counter(e["search"]["mode"] for e in bundle["entry"])
    assert modes["match"] == 5
    assert modes["include"] >= 1
    assert all(
        e["resource"]["resourceType"] == "Patient"
        for e in bundle["entry"]
        if e["search"]["mode"] == "include"
    )
    starts = [e["resource"]["period"]["start"] for e in bundle["entry"] if e["search"]["mode"] == "match"]
    assert starts == sorted(starts, reverse=True)


def test_unknown_parameter_lenient_and_strict(loaded: httpx.Client) -> None:
    lenient = loaded.get("/Encounter", params={"colour": "blue", "_count": "1"})
    assert lenient.status_code == 200
    outcomes = [e for e in lenient.json()["entry"] if e["search"]["mode"] == "outcome"]
    assert "colour" in json.dumps(outcomes)
    strict = loaded.get("/Encounter", params={"colour": "blue"}, headers={"Prefer": "handling=strict"})
    assert strict.status_code == 400
    assert strict.json()["issue"][0]["expression"] == ["colour"]


@pytest.mark.parametrize(
    "params",
    [{"date": "gt20x"}, {"_count": "-1"}, {"_sort": "colour"}, {"_include": "Patient:general-practitioner"}],
)
def test_bad_search_values_are_400(loaded: httpx.Client, params: dict[str, str]) -> None:
    response = loaded.get("/Encounter", params=params)
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


async def test_fhirpy_client_sees_the_same_counts(
    loaded: httpx.Client, synthea: list[dict[str, Any]]
) -> None:
    client = AsyncFHIRClient(str(loaded.base_url).rstrip("/"))
    pid = next(r["id"] for r in synthea if r["resourceType"] == "Patient" and r["id"].startswith("129c6ac7"))
    expected = sum(1 for r in synthea if r["resourceType"] == "DocumentReference" and _patient_of(r) == pid)
    docs = await client.resources("DocumentReference").search(patient=pid).limit(40).fetch_all()
    assert len(docs) == expected == 90
    assert await client.resources("Encounter").search(patient=pid).count() == 90
