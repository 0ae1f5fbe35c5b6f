"""The worklist: judged encounters by indicator, department and discharge period, filtered by status.

Counts at the top cover every encounter the indicator/department/period filters select; the status
filter then narrows the rows (an encounter shows when any of its judgements has that status).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from fhir_ops.errors import BadRequest
from measures.catalog import indicator_specs
from medqc.workstation.session import PREFIX
from medqc.workstation.store import (
    by_ids,
    decisions,
    judgements,
    latest_decisions,
)
from medqc.workstation.views import (
    VERDICTS,
    department_of,
    encounter_ref,
    measure_id,
    mrn_of,
    patient_name,
    review_of,
    stay_dates,
    verdict_of,
)
from medqc.workstation.web import RESPONSES, PageRoute, page, repo_of

router = APIRouter(
    prefix=PREFIX,
    tags=["workstation"],
    route_class=PageRoute,
    default_response_class=HTMLResponse,
    responses=RESPONSES,
)
STATUSES = {
    "all": "全部",
    "needs-review": "待审核",
    "not-met": "未达标",
    "overridden": "已改判",
    "met": "达标",
}
ROWS_PER_PAGE = 100


@dataclass(slots=True)
class Row:
    encounter: str
    patient: str = ""
    name: str = "—"
    mrn: str = "—"
    department: str = "未注明"
    admitted: str = "—"
    discharged: str = "—"
    items: list[dict[str, Any]] = field(default_factory=list)
    statuses: set[str] = field(default_factory=set)


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise BadRequest(f"{name} must be a date (YYYY-MM-DD)") from exc


def is_overridden(report: dict[str, Any], task: dict[str, Any] | None) -> bool:
    review = review_of(report)
    if review is not None:
        return review.outcome == "overridden"
    codes = [c.get("code") for c in ((task or {}).get("businessStatus") or {}).get("coding") or []]
    return "overridden" in codes


@router.get("", summary="Worklist of judged encounters", response_model=None)
async def worklist(
    request: Request,
    indicator: str | None = None,
    department: str | None = None,
    start: str | None = None,
    end: str | None = None,
    status: str = "all",
    page_no: int = 1,
) -> Response:
    if status not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}")
    since, until = _day(start, "start"), _day(end, "end")
    repo = repo_of(request)
    loaded = await judgements(repo, measure=indicator or None)
    encounters = await by_ids(repo, "Encounter", {e for r in loaded.resources if (e := encounter_ref(r))})
    latest = latest_decisions((await decisions(repo)).resources)
    rows: dict[str, Row] = {}
    departments: set[str] = set()
    counts: dict[str, int] = defaultdict(int)
    for report in loaded.resources:
        eid = encounter_ref(report)
        if eid is None:
            continue
        encounter = encounters.get(eid)
        dept = department_of(encounter)
        departments.add(dept)
        admitted, discharged = stay_dates(encounter)
        day = discharged if discharged != "—" else admitted
        if (
            (department and dept != department)
            or (since and day < since.isoformat())
            or (until and day > until.isoformat())
        ):
            continue
        verdict = verdict_of(report)
        overridden = is_overridden(report, latest.get(str(report.get("id"))))
        row = rows.setdefault(
            eid, Row(encounter=eid, department=dept, admitted=admitted, discharged=discharged)
        )
        row.patient = str(
            (report.get("subject") or (encounter or {}).get("subject") or {}).get("reference", "")
        )
        row.statuses.add(verdict)
        if overridden:
            row.statuses.add("overridden")
        counts["judgements"] += 1
        counts[verdict] += 1
        counts["overridden"] += int(overridden)
        label, css, order = VERDICTS[verdict]
        row.items.append(
            {
                "measure": measure_id(report),
                "label": label,
                "css": css,
                "order": order,
                "overridden": overridden,
            }
        )
    counts["encounters"] = len(rows)
    counts["encounters_open"] = sum(1 for r in rows.values() if r.statuses & {"needs-review", "not-met"})
    shown = [r for r in rows.values() if status == "all" or status in r.statuses]
    shown.sort(key=lambda r: (min((i["order"] for i in r.items), default=9), r.discharged, r.encounter))
    total_pages = max(1, -(-len(shown) // ROWS_PER_PAGE))
    page_no = min(max(1, page_no), total_pages)
    shown = shown[(page_no - 1) * ROWS_PER_PAGE : page_no * ROWS_PER_PAGE]
    patients = await by_ids(repo, "Patient", {r.patient.removeprefix("Patient/") for r in shown})
    for row in shown:
        patient = patients.get(row.patient.removeprefix("Patient/"))
        row.name, row.mrn = patient_name(patient), mrn_of(patient)
        row.items.sort(key=lambda i: (i["order"], i["measure"]))
    titles = {spec.id: spec.title for spec in indicator_specs()}
    return page(
        request,
        "ws_worklist.html.j2",
        rows=shown,
        counts=counts,
        titles=titles,
        indicators=sorted(titles.items(), key=lambda kv: kv[0]),
        departments=sorted(departments),
        statuses=STATUSES,
        filters={
            "indicator": indicator or "",
            "department": department or "",
            "start": start or "",
            "end": end or "",
            "status": status,
        },
        page_no=page_no,
        total_pages=total_pages,
        truncated=loaded.truncated,
    )
