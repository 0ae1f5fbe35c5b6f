"""``medqc-patient-quality`` on ``patient-view``: open quality findings of the patient's recent stays.

Findings come from the cards ``medqc-discharge-qc`` issued and that are still current (not replaced by
a later evaluation of the same encounter, not overridden); one card per encounter.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from cds_services.cards import OVERRIDE_REASONS, SEVERITY_ORDER, SOURCE_LABEL, links_for, md_escape, truncate
from cds_services.models import Card, Coding, Source
from cds_services.repository import open_findings
from cds_services.service import CdsService, HookCall, HookOutcome, IssuedCard
from cds_services.services.discharge_qc import SERVICE_ID as DISCHARGE_SERVICE_ID
from cds_services.tables import CdsCardRow

SERVICE_ID = "medqc-patient-quality"
RECENT_ENCOUNTERS = 5
OPEN_FINDINGS_KEY = "open-findings"
TOPIC_SYSTEM = "urn:medqc:cds:topic"

PREFETCH: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "recentEncounters": "Encounter?patient={{context.patientId}}&_sort=-date&_count=5",
}


def _start(encounter: dict[str, Any]) -> str:
    period = encounter.get("period") or {}
    return str(period.get("end") or period.get("start") or "")


async def handle(call: HookCall) -> HookOutcome:
    patient_id = str(call.request.context["patientId"])
    encounters = sorted(await call.source.patient_encounters(patient_id), key=_start, reverse=True)
    recent = {str(e["id"]): e for e in encounters[:RECENT_ENCOUNTERS] if e.get("id")}
    async with call.database.session() as session:
        rows = await open_findings(session, service_id=DISCHARGE_SERVICE_ID, encounter_ids=list(recent))
    by_encounter: dict[str, list[CdsCardRow]] = {}
    for row in rows:
        by_encounter.setdefault(str(row.encounter_id), []).append(row)
    issued = [
        IssuedCard(card=_card(call, eid, recent[eid], rs), indicator_key=OPEN_FINDINGS_KEY, encounter_id=eid)
        for eid, rs in by_encounter.items()
    ]
    issued.sort(key=lambda i: SEVERITY_ORDER[i.card.indicator])
    return HookOutcome(issued=issued)


def _card(call: HookCall, encounter_id: str, encounter: dict[str, Any], rows: list[CdsCardRow]) -> Card:
    rows = sorted(rows, key=lambda r: SEVERITY_ORDER.get(r.severity, 3))
    worst = rows[0].severity
    when = _start(encounter)[:10] or "date unknown"
    n = len(rows)
    summary = truncate(f"{n} open quality finding{'s' if n > 1 else ''} for the stay of {when}", 139)
    detail = "\n".join(
        [f"Open quality-control findings of Encounter/{md_escape(encounter_id)} ({when}):", ""]
        + [f"- **{r.severity}** {md_escape(r.summary)} (`{r.indicator_key}`)" for r in rows]
    )
    ctx = replace(call.cards, encounter_id=encounter_id)
    return Card(
        uuid=str(uuid.uuid4()),
        summary=summary,
        detail=detail,
        indicator="critical" if worst == "critical" else "warning" if worst == "warning" else "info",
        source=Source(
            label=SOURCE_LABEL,
            topic=Coding(system=TOPIC_SYSTEM, code=OPEN_FINDINGS_KEY, display="Open quality findings"),
        ),
        overrideReasons=list(OVERRIDE_REASONS),
        links=links_for(ctx),
    )


SERVICE = CdsService(
    id=SERVICE_ID,
    hook="patient-view",
    title="MedQC open quality findings",
    description=(
        "Shows the quality-control findings still open on the patient's recent encounters "
        "(indicators not met or needing review at discharge)."
    ),
    prefetch=PREFETCH,
    required_context=("userId", "patientId"),
    handler=handle,
)
