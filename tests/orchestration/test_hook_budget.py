"""The hook's budget: the stay's first diseases are judged before the answer, the other indicators come
back pending (and as one card saying so), are judged in the background, and a later call on the same
record shows them judged."""

from __future__ import annotations

import base64
from typing import Any

from agents.orchestration.runs import encounter_discharge
from cds_services.cards import PENDING_KEY, CardContext, build_cards
from cds_services.qc_adapter import IndicatorMeta, findings_from_qc_bundle
from fhir_ops.data_access.record import record_from_resources
from measures.catalog import indicator_specs
from medqc.bundles import as_transaction
from medqc.services import Services
from tests.orchestration.conftest import af_resources

#: an AF stay whose notes also name pneumonia and a stroke; pneumonia is the coded diagnosis
NOTE = "诊断：1.社区获得性肺炎 2.持续性心房颤动 3.脑梗死。HAS-BLED评分2分。CURB-65评分1分。"


def _record_resources() -> list[dict[str, Any]]:
    resources = af_resources("e-budget", NOTE)
    resources.append(
        {
            "resourceType": "Condition",
            "id": "e-budget-dx",
            "subject": {"reference": "Patient/p-orch"},
            "encounter": {"reference": "Encounter/e-budget"},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "J18.900"}]},
        }
    )
    return resources


def _statuses(bundle: dict[str, Any]) -> dict[str, str]:
    return {
        e["resource"]["measure"].split("|")[0].rsplit("/", 1)[-1]: e["resource"]["status"]
        for e in bundle["entry"]
    }


async def test_the_first_disease_now_the_rest_pending_then_judged(services: Services) -> None:
    resources = _record_resources()
    await _stored(services, resources)
    record = record_from_resources(resources, "e-budget")
    first = await encounter_discharge(services.orchestrator, record, inline_diseases=1)
    statuses = _statuses(first)
    assert {m.split("-")[0] for m in statuses} >= {"af", "cap", "stk"}  # every applicable indicator
    now = {m for m, status in statuses.items() if status == "complete"}
    assert now
    assert all(m.startswith("cap-") for m in now)
    pending = {m for m, status in statuses.items() if status == "pending"}
    assert pending == statuses.keys() - now

    metas = {s.canonical: IndicatorMeta(key=s.key, title=s.title, core=s.core) for s in indicator_specs()}
    ctx = CardContext(base_url="http://medqc.test", patient_id="p-orch", encounter_id="e-budget")
    cards = build_cards(findings_from_qc_bundle(first, metas.get), ctx)
    (pending_card,) = [card for card, finding in cards if finding.key == PENDING_KEY]
    assert pending_card.indicator == "info"
    assert pending_card.summary.startswith(f"{len(pending)} more quality indicators")

    await services.orchestrator.drain()  # the background judged the deferred indicators and stored them
    again = _statuses(await encounter_discharge(services.orchestrator, record, inline_diseases=1))
    assert again.keys() == statuses.keys()
    assert set(again.values()) == {"complete"}
    stored = await services.repo.search("MeasureReport", [("evaluated-resource", "Encounter/e-budget")])
    assert stored.total == len(statuses)  # each indicator's report stored once


#: a stay of many notes: only the last one documents the bleeding-risk score
OLD_NOTE = "入院第{n}天：持续性心房颤动，心室率控制可，继续观察病情变化。" * 8
LAST_NOTE = "出院小结：诊断持续性心房颤动。入院后HAS-BLED评分2分，CHA2DS2-VASc评分3分。"


def _long_stay(encounter: str) -> list[dict[str, Any]]:
    resources = af_resources(encounter, LAST_NOTE)
    note = resources.pop()  # the record's notes in order: the old ones, then the discharge summary
    for n in range(12):
        text = OLD_NOTE.format(n=n + 1)
        old = {
            **note,
            "id": f"{encounter}-old{n}",
            "date": f"2024-03-0{1 + n // 2}T08:00:00+08:00",
            "content": [{"attachment": {"contentType": "text/plain", "data": _b64(text)}}],
        }
        resources.append(old)
    resources.append({**note, "date": "2024-03-08T09:00:00+08:00"})
    return resources


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _populations(bundle: dict[str, Any]) -> dict[str, list[tuple[str, int]]]:
    return {
        e["resource"]["measure"].split("|")[0].rsplit("/", 1)[-1]: [
            (p["code"]["coding"][0]["code"], p["count"])
            for g in e["resource"].get("group") or []
            for p in g.get("population") or []
        ]
        for e in bundle["entry"]
    }


async def _stored(services: Services, resources: list[dict[str, Any]]) -> None:
    await services.repo.transaction(as_transaction(resources))


async def test_a_long_stay_reads_the_latest_notes_and_leaves_what_they_cannot_settle_pending(
    services: Services,
) -> None:
    whole_stay, budget_stay = _long_stay("e-whole"), _long_stay("e-long")
    await _stored(services, whole_stay)
    await _stored(services, budget_stay)
    whole = await encounter_discharge(services.orchestrator, record_from_resources(whole_stay, "e-whole"))
    record = record_from_resources(budget_stay, "e-long")
    assert len(record.notes) == 13
    budget = len(LAST_NOTE) + 10  # the discharge summary only

    first = await encounter_discharge(services.orchestrator, record, inline_note_chars=budget)
    statuses = _statuses(first)
    assert statuses.keys() == _statuses(whole).keys()  # every indicator answered: judged, or pending
    assert statuses["af-bleeding-risk"] == "complete"  # met from the discharge summary alone
    assert "pending" in statuses.values()  # failing on the summary alone: unread notes could change it

    await services.orchestrator.drain()  # the background judged every indicator on every note
    again = await encounter_discharge(services.orchestrator, record, inline_note_chars=budget)
    assert set(_statuses(again).values()) == {"complete"}
    assert _populations(again) == _populations(whole)  # the same judgement as reading every note
