"""Search beyond single parameters, over HTTP on both backends: quantity and number parameters, chained
references, _has, _revinclude, _elements and _summary."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

SUBSETTED = "SUBSETTED"


@pytest.fixture(scope="module")
def fhir(server: str) -> httpx.Client:
    return httpx.Client(base_url=f"{server}/fhir", timeout=30)


@pytest.fixture(scope="module")
def world(fhir: httpx.Client) -> dict[str, str]:
    """Two patients (distinct families), each with a weight Observation; one with an Encounter."""
    tag = uuid.uuid4().hex[:8]
    ids: dict[str, str] = {"tag": tag}
    for who, family, weight in (("a", f"Alpha{tag}", 72.5), ("b", f"Beta{tag}", 90)):
        patient = {"resourceType": "Patient", "name": [{"family": family}], "gender": "female"}
        pid = fhir.post("/Patient", json=patient).json()["id"]
        ids[who] = pid
        observation = {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
            "subject": {"reference": f"Patient/{pid}"},
            "valueQuantity": {
                "value": weight,
                "unit": "kg",
                "system": "http://unitsofmeasure.org",
                "code": "kg",
            },
        }
        ids[f"obs-{who}"] = fhir.post("/Observation", json=observation).json()["id"]
    encounter = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "subject": {"reference": f"Patient/{ids['a']}"},
    }
    ids["enc-a"] = fhir.post("/Encounter", json=encounter).json()["id"]
    risk = {
        "resourceType": "RiskAssessment",
        "status": "final",
        "subject": {"reference": f"Patient/{ids['b']}"},
        "prediction": [{"probabilityDecimal": 0.25}],
    }
    ids["risk-b"] = fhir.post("/RiskAssessment", json=risk).json()["id"]
    return ids


def _ids(bundle: dict[str, Any], mode: str = "match") -> set[str]:
    return {
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in bundle.get("entry", [])
        if e.get("search", {}).get("mode") == mode
    }


def _search(fhir: httpx.Client, resource_type: str, **params: str) -> dict[str, Any]:
    answer = fhir.get(f"/{resource_type}", params=params, headers={"Prefer": "handling=strict"})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("72.5", {"a"}),
        ("72", set()),  # precision: 72 means [71.5, 72.5)
        ("gt80", {"b"}),
        ("le72.5", {"a"}),
        ("ap80", {"a"}),  # within 10% of 80: [72, 88]
        ("90|http://unitsofmeasure.org|kg", {"b"}),
        ("90||kg", {"b"}),
        ("90|http://unitsofmeasure.org|g", set()),
        ("lt100,gt1000", {"a", "b"}),
    ],
)
def test_quantity_search(fhir: httpx.Client, world: dict[str, str], value: str, expected: set[str]) -> None:
    subjects = [f"Patient/{world['a']}", f"Patient/{world['b']}"]
    bundle = _search(fhir, "Observation", **{"value-quantity": value, "subject": ",".join(subjects)})
    assert _ids(bundle) == {f"Observation/{world[f'obs-{w}']}" for w in expected}


def test_number_search(fhir: httpx.Client, world: dict[str, str]) -> None:
    subject = f"Patient/{world['b']}"
    assert _ids(_search(fhir, "RiskAssessment", probability="0.25", subject=subject)) == {
        f"RiskAssessment/{world['risk-b']}"
    }
    assert _search(fhir, "RiskAssessment", probability="gt0.5", subject=subject)["total"] == 0


def test_bad_number_is_400(fhir: httpx.Client) -> None:
    assert fhir.get("/RiskAssessment", params={"probability": "lots"}).status_code == 400
    assert fhir.get("/Observation", params={"value-quantity": "ge|x|y"}).status_code == 400


@pytest.mark.parametrize("key", ["subject.family", "subject:Patient.family", "patient.name"])
def test_chained_reference_search(fhir: httpx.Client, world: dict[str, str], key: str) -> None:
    bundle = _search(fhir, "Observation", **{key: f"Alpha{world['tag']}"})
    assert _ids(bundle) == {f"Observation/{world['obs-a']}"}


def test_reference_type_modifier(fhir: httpx.Client, world: dict[str, str]) -> None:
    bundle = _search(fhir, "Observation", **{"subject:Patient": world["b"]})
    assert _ids(bundle) == {f"Observation/{world['obs-b']}"}


def test_chains_deeper_than_one_level_are_refused_in_strict_mode(fhir: httpx.Client) -> None:
    answer = fhir.get(
        "/Observation",
        params={"encounter.subject.family": "x"},
        headers={"Prefer": "handling=strict"},
    )
    assert answer.status_code == 400
    lenient = fhir.get("/Observation", params={"encounter.subject.family": "x", "_count": "1"}).json()
    outcome = next(e for e in lenient["entry"] if e["search"]["mode"] == "outcome")
    assert "one level" in outcome["resource"]["issue"][0]["diagnostics"]


def test_has_finds_patients_by_their_observations(fhir: httpx.Client, world: dict[str, str]) -> None:
    family = f"Alpha{world['tag']},Beta{world['tag']}"
    bundle = _search(fhir, "Patient", family=family, **{"_has:Encounter:subject:status": "finished"})
    assert _ids(bundle) == {f"Patient/{world['a']}"}
    both = _search(fhir, "Patient", family=family, **{"_has:Observation:subject:code": "29463-7"})
    assert _ids(both) == {f"Patient/{world['a']}", f"Patient/{world['b']}"}


def test_revinclude_adds_the_resources_that_point_at_the_matches(
    fhir: httpx.Client, world: dict[str, str]
) -> None:
    bundle = _search(
        fhir,
        "Patient",
        _id=world["a"],
        _revinclude="Observation:subject",
        **{"_revinclude:iterate": "Encounter:subject"},
    )
    assert _ids(bundle) == {f"Patient/{world['a']}"}
    assert _ids(bundle, "include") == {f"Observation/{world['obs-a']}", f"Encounter/{world['enc-a']}"}


def test_revinclude_of_a_non_reference_parameter_is_400(fhir: httpx.Client) -> None:
    assert fhir.get("/Patient", params={"_revinclude": "Observation:code"}).status_code == 400


def test_elements_keeps_the_named_elements(fhir: httpx.Client, world: dict[str, str]) -> None:
    bundle = _search(fhir, "Observation", _id=world["obs-a"], _elements="subject")
    resource = bundle["entry"][0]["resource"]
    assert "valueQuantity" not in resource
    assert resource["subject"]["reference"] == f"Patient/{world['a']}"
    assert {"code", "status"} <= resource.keys()  # mandatory elements stay
    assert resource["meta"]["tag"][-1]["code"] == SUBSETTED
    read = fhir.get(f"/Observation/{world['obs-a']}", params={"_elements": "status"}).json()
    assert "valueQuantity" not in read


def test_summary_true_keeps_summary_elements(fhir: httpx.Client, world: dict[str, str]) -> None:
    encounter = fhir.get(f"/Encounter/{world['enc-a']}").json()
    noted = {**encounter, "text": {"status": "generated", "div": "<div>x</div>"}}
    fhir.put(f"/Encounter/{world['enc-a']}", json=noted)
    summary = fhir.get(f"/Encounter/{world['enc-a']}", params={"_summary": "true"}).json()
    assert "text" not in summary
    assert summary["subject"]["reference"] == f"Patient/{world['a']}"
    assert summary["meta"]["tag"][-1]["code"] == SUBSETTED
    data = fhir.get(f"/Encounter/{world['enc-a']}", params={"_summary": "data"}).json()
    assert "text" not in data
    assert "class" in data
    assert fhir.get("/Encounter", params={"_summary": "sometimes"}).status_code == 400
