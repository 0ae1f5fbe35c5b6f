"""Feedback: persisted before 200, unknown cards 400, counted in Prometheus; open findings on patient-view."""

from __future__ import annotations

from typing import Any

from cds_testkit import BASE_URL, DISCHARGE_URL, CdsHarness, discharge_request
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from cds_services.tables import CdsFeedbackRow

FEEDBACK = "/cds-services/medqc-discharge-qc/feedback"
FEEDBACK_URL = f"{BASE_URL}{FEEDBACK}"
PATIENT_VIEW = "/cds-services/medqc-patient-quality"


async def _issue_card(cds: CdsHarness, **overrides: Any) -> dict[str, Any]:
    response = await cds.client.post(
        "/cds-services/medqc-discharge-qc", json=discharge_request(**overrides), headers=cds.auth()
    )
    assert response.status_code == 200
    [card] = response.json()["cards"]
    return dict(card)


async def _feedback_rows(cds: CdsHarness) -> list[CdsFeedbackRow]:
    async with cds.db.session() as session:
        return list((await session.execute(select(CdsFeedbackRow).order_by(CdsFeedbackRow.id))).scalars())


def _counter(indicator: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "medqc_cds_feedback_total", {"indicator": indicator, "outcome": outcome}
    )
    return value or 0.0


async def test_accepted_feedback_is_persisted_and_counted(cds: CdsHarness) -> None:
    card = await _issue_card(cds)
    suggestion = card["suggestions"][0]["uuid"]
    before = _counter("AF-2", "accepted")
    body = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": suggestion}],
                "outcomeTimestamp": "2024-03-08T10:05:31Z",
            }
        ]
    }
    response = await cds.client.post(FEEDBACK, json=body, headers=cds.auth(FEEDBACK_URL))
    assert response.status_code == 200
    [row] = await _feedback_rows(cds)
    assert row.card_uuid == card["uuid"]
    assert row.indicator_key == "AF-2"
    assert row.service_id == "medqc-discharge-qc"
    assert row.accepted_suggestions == [suggestion]
    assert _counter("AF-2", "accepted") == before + 1
    # a retry of the same entry is accepted and neither stored nor counted twice
    again = await cds.client.post(FEEDBACK, json=body, headers=cds.auth(FEEDBACK_URL))
    assert again.status_code == 200
    assert len(await _feedback_rows(cds)) == 1
    assert _counter("AF-2", "accepted") == before + 1


async def test_overridden_feedback_keeps_the_reason(cds: CdsHarness) -> None:
    card = await _issue_card(cds)
    reason = card["overrideReasons"][0]
    body = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "overridden",
                "overrideReason": {"reason": reason, "userComment": "评分记录在护理单"},
                "outcomeTimestamp": "2024-03-08T10:05:31+08:00",
            }
        ]
    }
    response = await cds.client.post(FEEDBACK, json=body, headers=cds.auth(DISCHARGE_URL))  # service aud too
    assert response.status_code == 200
    [row] = await _feedback_rows(cds)
    assert row.outcome == "overridden"
    assert row.override_reason == {"reason": reason, "userComment": "评分记录在护理单"}


async def test_unknown_card_is_400_and_nothing_is_stored(cds: CdsHarness) -> None:
    card = await _issue_card(cds)
    body = {
        "feedback": [
            {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2024-03-08T10:05:31Z"},
            {
                "card": "4e0a3a1e-3283-4575-ab82-028d55fe2719",
                "outcome": "accepted",
                "outcomeTimestamp": "2024-03-08T10:05:31Z",
            },
        ]
    }
    response = await cds.client.post(FEEDBACK, json=body, headers=cds.auth(FEEDBACK_URL))
    assert response.status_code == 400
    assert "4e0a3a1e-3283-4575-ab82-028d55fe2719" in response.json()["message"]
    assert await _feedback_rows(cds) == []


async def test_unknown_suggestion_is_400(cds: CdsHarness) -> None:
    card = await _issue_card(cds)
    body = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": "not-offered"}],
                "outcomeTimestamp": "2024-03-08T10:05:31Z",
            }
        ]
    }
    response = await cds.client.post(FEEDBACK, json=body, headers=cds.auth(FEEDBACK_URL))
    assert response.status_code == 400


async def test_malformed_feedback_is_400(cds: CdsHarness) -> None:
    for body in (
        {},
        {"feedback": []},
        {"feedback": [{"card": "x", "outcome": "ignored", "outcomeTimestamp": "now"}]},
    ):
        response = await cds.client.post(FEEDBACK, json=body, headers=cds.auth(FEEDBACK_URL))
        assert response.status_code == 400


async def test_feedback_to_another_service_is_400(cds: CdsHarness) -> None:
    card = await _issue_card(cds)
    url = "/cds-services/medqc-patient-quality/feedback"
    body = {
        "feedback": [
            {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2024-03-08T10:05:31Z"}
        ]
    }
    response = await cds.client.post(url, json=body, headers=cds.auth(f"{BASE_URL}{url}"))
    assert response.status_code == 400


async def _patient_view(cds: CdsHarness) -> dict[str, Any]:
    body = {
        "hook": "patient-view",
        "hookInstance": "pv-1",
        "context": {"userId": "Practitioner/doc1", "patientId": "p1"},
    }
    response = await cds.client.post(PATIENT_VIEW, json=body, headers=cds.auth(f"{BASE_URL}{PATIENT_VIEW}"))
    assert response.status_code == 200
    return dict(response.json())


async def test_patient_view_shows_open_findings_until_overridden(cds: CdsHarness) -> None:
    assert (await _patient_view(cds))["cards"] == []
    card = await _issue_card(cds)
    [summary] = (await _patient_view(cds))["cards"]
    assert summary["indicator"] == "critical"
    assert summary["summary"] == "1 open quality finding for the stay of 2024-03-08"
    assert "AF-2" in summary["detail"]
    assert summary["links"][0]["url"] == "http://testserver/review/Encounter/e1"
    # the patient-view card itself accepts feedback
    url = f"{PATIENT_VIEW}/feedback"
    body = {
        "feedback": [
            {"card": summary["uuid"], "outcome": "overridden", "outcomeTimestamp": "2024-03-08T11:00:00Z"}
        ]
    }
    assert (await cds.client.post(url, json=body, headers=cds.auth(f"{BASE_URL}{url}"))).status_code == 200
    body = {
        "feedback": [
            {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2024-03-08T11:00:00Z"}
        ]
    }
    assert (await cds.client.post(FEEDBACK, json=body, headers=cds.auth(FEEDBACK_URL))).status_code == 200
    assert (await _patient_view(cds))["cards"] == []


async def test_a_new_evaluation_supersedes_the_old_cards(cds: CdsHarness) -> None:
    await _issue_card(cds)
    await _issue_card(cds)
    [summary] = (await _patient_view(cds))["cards"]
    assert summary["summary"].startswith("1 open")
    # a re-evaluation that finds nothing closes the finding
    body = discharge_request()
    body["prefetch"]["conditions"] = None
    response = await cds.client.post("/cds-services/medqc-discharge-qc", json=body, headers=cds.auth())
    assert response.json()["cards"] == []
    assert (await _patient_view(cds))["cards"] == []
    async with cds.db.session() as session:
        assert (await session.execute(select(func.count()).select_from(CdsFeedbackRow))).scalar_one() == 0
