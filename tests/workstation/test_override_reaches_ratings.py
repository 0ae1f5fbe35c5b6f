"""A reviewer's override reaches every later judgement over live HTTP: the decision stores the verdict
Observation the catalog CQL reads, the next ``$qc-evaluate`` of the stay reports the reviewer's verdict,
the period's ``$evaluate-measure`` counts it, and the override rate counts it.

Its own server (one stay) so the shared workstation site's counts stay as its tests expect."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from agents.fact_observations import observation_id
from tests.conftest import make_settings
from tests.support.live import live_server
from tests.workstation.conftest import TOKEN
from tests.workstation.data import bundles

ENCOUNTER = "ws3-af-encounter"  # October, no CHA2DS2-VASc documented: not met
INDICATOR = "af-thromboembolism-risk"
REPORT = f"qc-{ENCOUNTER}-{INDICATOR}"
PERIOD = {"periodStart": "2026-10-01", "periodEnd": "2026-10-31", "reportType": "population"}


def counts(group: dict[str, Any]) -> dict[str, int]:
    return {p["code"]["coding"][0]["code"]: int(p["count"]) for p in group["population"]}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("override")
    with live_server(make_settings("sqlite", tmp, fhir_access_token=TOKEN)) as url:
        yield url


def test_an_override_reaches_qc_evaluate_the_period_rate_and_the_override_rate(base: str) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with (
        httpx.Client(base_url=f"{base}/fhir", headers=headers, timeout=300) as fhir,
        httpx.Client(base_url=base, headers={"Accept": "text/html"}, timeout=120) as browser,
    ):
        assert fhir.post("", json=bundles()[2]).status_code == 200
        evaluate = {"resourceType": "Parameters"}
        assert fhir.post(f"/Encounter/{ENCOUNTER}/$qc-evaluate", json=evaluate).status_code == 200
        assert counts(fhir.get(f"/MeasureReport/{REPORT}").json()["group"][0])["numerator"] == 0
        rate = fhir.get(f"/Measure/{INDICATOR}/$evaluate-measure", params=PERIOD).json()["group"][0]
        assert (counts(rate)["denominator"], counts(rate)["numerator"]) == (1, 0)

        login = browser.post("/review/login", data={"token": TOKEN, "next": f"/review/Encounter/{ENCOUNTER}"})
        assert login.status_code == 303
        page = browser.get(f"/review/Encounter/{ENCOUNTER}").text
        csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        decided = browser.post(
            f"/review/Encounter/{ENCOUNTER}/decision",
            data={
                "report": REPORT,
                "outcome": "overridden",
                "verdict": "met",
                "reason": "documented-elsewhere",
                "comment": "评分记录在门诊病历",
                "csrf": csrf,
            },
        )
        assert decided.status_code == 303

        verdict_id = observation_id(ENCOUNTER, f"{INDICATOR}.reviewer-verdict")
        verdict = fhir.get(f"/Observation/{verdict_id}").json()
        assert verdict["valueCodeableConcept"]["coding"][0]["code"] == "met"
        assert verdict["encounter"]["reference"] == f"Encounter/{ENCOUNTER}"
        assert verdict["derivedFrom"][0]["reference"].startswith(f"MeasureReport/{REPORT}/_history/")
        assert [n["text"] for n in verdict["note"]] == ["Documented elsewhere", "评分记录在门诊病历"]
        provenance = fhir.get("/Provenance", params={"target": f"Observation/{verdict_id}"}).json()
        assert provenance["total"] == 1

        # a later judgement of the same stay (its facts still say not met) reports the reviewer's verdict
        again = fhir.post(f"/Encounter/{ENCOUNTER}/$qc-evaluate", json=evaluate)
        assert again.status_code == 200
        rejudged = fhir.get(f"/MeasureReport/{REPORT}").json()
        assert counts(rejudged["group"][0])["numerator"] == 1
        # the report says what decided it, and the review page says it is the reviewer's verdict
        deciding = [e for e in rejudged["extension"] if e["url"].endswith("/qc-reviewer-verdict")]
        assert [e["valueReference"]["reference"] for e in deciding] == [f"Observation/{verdict_id}"]
        assert {"reference": f"Observation/{verdict_id}"} in rejudged["evaluatedResource"]
        shown = browser.get(f"/review/Encounter/{ENCOUNTER}").text
        section = shown.split(f'id="{REPORT}"', 1)[1].split("</section>", 1)[0]
        assert "审核结论" in section
        assert f'data-decided-by="Observation/{verdict_id}"' in section
        assert "请再次审核" not in section
        rate = fhir.get(f"/Measure/{INDICATOR}/$evaluate-measure", params=PERIOD).json()["group"][0]
        assert (counts(rate)["denominator"], counts(rate)["numerator"]) == (1, 1)

        rates = browser.get("/review/rates").text
        row = rates.split(f'data-indicator="{INDICATOR}"', 1)[1].split("</tr>", 1)[0]
        assert "100.0%" in row  # one judgement, overridden
        listed = browser.get("/review", params={"status": "overridden"}).text
        assert f'data-encounter="{ENCOUNTER}"' in listed

        # withdrawn (entered in error), the computed verdict is back
        fhir.put(
            f"/Observation/{verdict_id}", json={**verdict, "status": "entered-in-error"}
        ).raise_for_status()
        back = fhir.post(f"/Encounter/{ENCOUNTER}/$qc-evaluate", json=evaluate)
        assert back.status_code == 200
        restored = fhir.get(f"/MeasureReport/{REPORT}").json()
        assert counts(restored["group"][0])["numerator"] == 0
        assert not [e for e in restored["extension"] if e["url"].endswith("/qc-reviewer-verdict")]
