"""One indicator engine, over real HTTP: the rate of a catalog indicator for a period agrees with what
``$qc-evaluate`` judges for each encounter, on a store of never-judged encounters.

The store holds AF inpatient stays inside and outside the period (and a non-AF stay); the quality
department finds the Measure by its CMQCIC identifier and rates the period. The summary report's
denominator counts exactly the in-period AF stays and its numerator the stays ``$qc-evaluate`` judges
met; a second rating judges nothing again (fact Observations keep their versions).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_settings
from tests.support.live import live_server

KEY = "房颤（AF）质控指标_房颤患者出血风险评估率"
IDENTIFIER = f"urn:cmqcic:indicator|{KEY}"

#: (encounter id, discharge date, note, diagnosis ICD-10) — the AF bleeding-risk indicator.
STAYS = [
    (
        "af-in-1",
        "2026-03-10",
        "入院诊断：持续性心房颤动。入院后完成HAS-BLED评分2分，出血风险中等。",
        "I48.x00",
    ),
    ("af-in-2", "2026-03-15", "诊断：阵发性房颤。予利伐沙班抗凝，出院带药。", "I48.x01"),
    ("af-in-3", "2026-03-28", "诊断：心房颤动。ORBIT出血评分1分，低危。", "I48.x00"),
    ("af-out-1", "2026-05-02", "诊断：心房颤动。HAS-BLED评分3分。", "I48.x00"),
    ("cap-in-1", "2026-03-12", "诊断：社区获得性肺炎。CURB-65评分1分。", "J18.900"),
]


def _note(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _stay(encounter_id: str, day: str, note: str, icd: str) -> list[dict[str, Any]]:
    patient = f"p-{encounter_id}"
    return [
        {"resourceType": "Patient", "id": patient, "name": [{"text": f"患者{encounter_id}"}]},
        {
            "resourceType": "Encounter",
            "id": encounter_id,
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": {"reference": f"Patient/{patient}"},
            "period": {"start": f"{day}T08:00:00+08:00", "end": f"{day}T16:00:00+08:00"},
        },
        {
            "resourceType": "Condition",
            "id": f"dx-{encounter_id}",
            "subject": {"reference": f"Patient/{patient}"},
            "encounter": {"reference": f"Encounter/{encounter_id}"},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": icd}]},
        },
        {
            "resourceType": "DocumentReference",
            "id": f"note-{encounter_id}",
            "status": "current",
            "subject": {"reference": f"Patient/{patient}"},
            "context": {"encounter": [{"reference": f"Encounter/{encounter_id}"}]},
            "content": [{"attachment": {"contentType": "text/plain; charset=utf-8", "data": _note(note)}}],
        },
    ]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp: Path = tmp_path_factory.mktemp("one-engine")
    with live_server(make_settings("sqlite", tmp)) as url:
        entries = [
            {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
            for stay in STAYS
            for r in _stay(*stay)
        ]
        response = httpx.post(
            f"{url}/fhir",
            json={"resourceType": "Bundle", "type": "transaction", "entry": entries},
            timeout=120,
        )
        assert response.status_code == 200, response.text
        yield url


def _count(group: dict[str, Any], code: str) -> int:
    return next(p["count"] for p in group["population"] if p["code"]["coding"][0]["code"] == code)


def test_period_rate_equals_encounter_judgements(base: str) -> None:
    with httpx.Client(base_url=f"{base}/fhir", timeout=300) as fhir:
        found = fhir.get("/Measure", params={"identifier": IDENTIFIER}).json()
        (measure,) = [e["resource"] for e in found["entry"] if e["search"]["mode"] == "match"]
        assert measure["group"][0]["population"][0]["criteria"]["language"] == "text/cql-identifier"

        params = {"periodStart": "2026-03-01", "periodEnd": "2026-03-31", "reportType": "population"}
        report = fhir.get(f"/Measure/{measure['id']}/$evaluate-measure", params=params).json()
        assert report["resourceType"] == "MeasureReport", report
        group = report["group"][0]
        assert _count(group, "denominator") == 3  # the in-period AF stays only

        met = 0
        for encounter_id in ("af-in-1", "af-in-2", "af-in-3"):
            bundle = fhir.post(
                f"/Encounter/{encounter_id}/$qc-evaluate",
                json={"resourceType": "Parameters", "parameter": [{"name": "measure", "valueString": KEY}]},
            ).json()
            individual = bundle["entry"][0]["resource"]["group"][0]
            assert _count(individual, "denominator") == 1
            met += _count(individual, "numerator")
        assert met == 2
        assert _count(group, "numerator") == met
        assert group["measureScore"]["value"] == pytest.approx(met / 3)


def test_second_rating_judges_nothing_again(base: str) -> None:
    with httpx.Client(base_url=f"{base}/fhir", timeout=300) as fhir:
        params = {"periodStart": "2026-03-01", "periodEnd": "2026-03-31"}
        fhir.get("/Measure/af-bleeding-risk/$evaluate-measure", params=params).raise_for_status()
        facts = fhir.get("/Observation", params={"encounter": "Encounter/af-in-2", "_count": "100"}).json()
        before = {e["resource"]["id"]: e["resource"]["meta"]["versionId"] for e in facts["entry"]}
        assert before, "the rating stored no fact Observations"
        fhir.get("/Measure/af-bleeding-risk/$evaluate-measure", params=params).raise_for_status()
        facts = fhir.get("/Observation", params={"encounter": "Encounter/af-in-2", "_count": "100"}).json()
        after = {e["resource"]["id"]: e["resource"]["meta"]["versionId"] for e in facts["entry"]}
        assert after == before


def test_fact_observations_follow_the_served_profile(base: str) -> None:
    with httpx.Client(base_url=f"{base}/fhir", timeout=120) as fhir:
        profile = fhir.get("/StructureDefinition/qc-fact-observation").json()
        assert profile["type"] == "Observation"
        codes = {c["code"] for c in fhir.get("/CodeSystem/qc-fact").json()["concept"]}
        facts = fhir.get("/Observation", params={"encounter": "Encounter/af-in-1", "_count": "100"}).json()
        observations = [e["resource"] for e in facts["entry"]]
        assert observations
        for obs in observations:
            assert obs["meta"]["profile"] == [profile["url"]]
            assert obs["code"]["coding"][0]["code"] in codes
            assert ("dataAbsentReason" in obs) != any(k.startswith("value") for k in obs)
            assert obs["encounter"]["reference"] == "Encounter/af-in-1"
        has_bled = next(
            o for o in observations if o["code"]["coding"][0]["code"] == "af-bleeding-risk.has_bled"
        )
        assert has_bled["valueBoolean"] is True
        evidence = [e for e in has_bled["extension"] if e["url"].endswith("/qc-evidence")]
        quote = next(p["valueString"] for p in evidence[0]["extension"] if p["url"] == "quote")
        assert "HAS-BLED" in quote


def test_a_reviewer_verdict_decides_the_stay_in_later_ratings(base: str) -> None:
    """A reviewer's verdict Observation (what the workstation writes on an override) replaces the computed
    outcome: the not-met stay counts as met, a not-applicable one leaves the denominator; withdrawn, the
    computed outcome is back."""
    params = {"periodStart": "2026-03-01", "periodEnd": "2026-03-31", "reportType": "population"}

    def verdict(encounter_id: str, code: str) -> dict[str, Any]:
        return {
            "resourceType": "Observation",
            "id": f"review-{encounter_id}",
            "status": "final",
            "code": {
                "coding": [
                    {
                        "system": "http://medqc.org/fhir/CodeSystem/qc-fact",
                        "code": "af-bleeding-risk.reviewer-verdict",
                    }
                ]
            },
            "subject": {"reference": f"Patient/p-{encounter_id}"},
            "encounter": {"reference": f"Encounter/{encounter_id}"},
            "valueCodeableConcept": {
                "coding": [{"system": "http://medqc.org/fhir/CodeSystem/qc-verdict", "code": code}]
            },
        }

    with httpx.Client(base_url=f"{base}/fhir", timeout=300) as fhir:
        before = fhir.get("/Measure/af-bleeding-risk/$evaluate-measure", params=params).json()["group"][0]
        assert (_count(before, "denominator"), _count(before, "numerator")) == (3, 2)
        fhir.put("/Observation/review-af-in-2", json=verdict("af-in-2", "met")).raise_for_status()
        fhir.put("/Observation/review-af-in-3", json=verdict("af-in-3", "not-applicable")).raise_for_status()
        after = fhir.get("/Measure/af-bleeding-risk/$evaluate-measure", params=params).json()["group"][0]
        assert (_count(after, "denominator"), _count(after, "numerator")) == (2, 2)
        fhir.delete("/Observation/review-af-in-3").raise_for_status()
        again = fhir.get("/Measure/af-bleeding-risk/$evaluate-measure", params=params).json()["group"][0]
        assert (_count(again, "denominator"), _count(again, "numerator")) == (3, 3)
        fhir.delete("/Observation/review-af-in-2").raise_for_status()
        back = fhir.get("/Measure/af-bleeding-risk/$evaluate-measure", params=params).json()["group"][0]
        assert (_count(back, "denominator"), _count(back, "numerator")) == (3, 2)
