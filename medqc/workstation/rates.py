"""Indicator rates per department over time (SVG), and the override rate per indicator.

Rates count the stored judgements with the reviewers' verdicts (what the worklist shows), by discharge
month. The override rate is the reviewers' overrides over the judgements of an indicator; beside it, the
CDS feedback store's count of clinicians' card overrides (the same ``cds_feedback`` table reviewers feed).
The latency per step comes from the orchestration's audit (:mod:`medqc.workstation.latency`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from cds_services.tables import CdsCardRow, CdsFeedbackRow
from fhir_ops.store.database import Database
from measures.catalog import indicator_specs
from medqc.workstation.chart import SERIES, chart
from medqc.workstation.decisions import WORKSTATION_SERVICE
from medqc.workstation.latency import step_latencies
from medqc.workstation.session import PREFIX
from medqc.workstation.store import by_ids, decisions, judgements, latest_decisions
from medqc.workstation.views import department_of, encounter_ref, measure_id, month_of, verdict_of
from medqc.workstation.web import RESPONSES, PageRoute, page, repo_of, services_of
from medqc.workstation.worklist import is_overridden

router = APIRouter(
    prefix=PREFIX,
    tags=["workstation"],
    route_class=PageRoute,
    default_response_class=HTMLResponse,
    responses=RESPONSES,
)


async def feedback_counts(db: Database) -> dict[str, dict[str, int]]:
    """indicator key → counts of "cds-overridden", "cds-accepted", "ws-overridden", "ws-accepted"."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    async with db.session() as session:
        rows = await session.execute(
            select(CdsFeedbackRow.indicator_key, CdsCardRow.service_id, CdsFeedbackRow.outcome, func.count())
            .join(CdsCardRow, CdsCardRow.uuid == CdsFeedbackRow.card_uuid)
            .group_by(CdsFeedbackRow.indicator_key, CdsCardRow.service_id, CdsFeedbackRow.outcome)
        )
        for key, service, outcome, count in rows.all():
            who = "ws" if service == WORKSTATION_SERVICE else "cds"
            out[str(key)][f"{who}-{outcome}"] += int(count)
    return out


@router.get("/rates", summary="Indicator rates per department over time; override rates", response_model=None)
async def rates(request: Request, indicator: str | None = None) -> Response:
    repo = repo_of(request)
    loaded = await judgements(repo, measure=indicator or None)
    encounters = await by_ids(repo, "Encounter", {e for r in loaded.resources if (e := encounter_ref(r))})
    latest = latest_decisions((await decisions(repo)).resources)
    series: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    per_indicator: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for report in loaded.resources:
        encounter = encounters.get(encounter_ref(report) or "")
        verdict = verdict_of(report)
        mid = measure_id(report)
        per_indicator[mid]["judged"] += 1
        per_indicator[mid]["decided"] += int(str(report.get("id")) in latest)
        per_indicator[mid]["overridden"] += int(is_overridden(report, latest.get(str(report.get("id")))))
        if verdict == "not-applicable":
            continue
        per_indicator[mid]["applicable"] += 1
        series[department_of(encounter)][month_of(encounter, report)][verdict] += 1
    charts = [chart(dept, {m: dict(c) for m, c in months.items()}) for dept, months in sorted(series.items())]
    specs = {spec.id: spec for spec in indicator_specs()}
    feedback = await feedback_counts(services_of(request).db)
    table: list[dict[str, Any]] = []
    for mid, counts in sorted(per_indicator.items()):
        spec = specs.get(mid)
        fb = feedback.get(spec.key if spec else mid, {})
        judged = counts["judged"]
        table.append(
            {
                "id": mid,
                "title": spec.title if spec else mid,
                "judged": judged,
                "decided": counts["decided"],
                "overridden": counts["overridden"],
                "rate": f"{100 * counts['overridden'] / judged:.1f}%" if judged else "—",
                "cds_overridden": fb.get("cds-overridden", 0),
                "cds_total": fb.get("cds-overridden", 0) + fb.get("cds-accepted", 0),
            }
        )
    return page(
        request,
        "ws_rates.html.j2",
        charts=charts,
        series=SERIES,
        table=table,
        indicators=sorted((s.id, s.title) for s in specs.values()),
        indicator=indicator or "",
        truncated=loaded.truncated,
        latencies=await step_latencies(services_of(request).db),
    )
