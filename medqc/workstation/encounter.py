"""The encounter view (the page a CDS card links to), a reviewer's decision on a verdict, and a note with
its quoted evidence highlighted.

Quotes never travel in URLs (they are patient data): a note link carries the quote's offsets only.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from agents.drafting.document import draft_id
from cds_services.cards import OVERRIDE_REASONS
from fhir_ops.data_access.record import notes_of
from fhir_ops.errors import BadRequest, NotFound
from fhir_ops.store.protocol import ResourceRepository
from fhir_ops.validation import check_id
from medqc.workstation.decisions import TARGETS, decide, parse_decision
from medqc.workstation.evidence import in_context, locate
from medqc.workstation.session import PREFIX
from medqc.workstation.store import decisions, latest_decisions, read_or_none, spec_of
from medqc.workstation.views import (
    VERDICTS,
    ReportView,
    department_of,
    encounter_ref,
    failing_first,
    measure_id,
    mrn_of,
    patient_name,
    report_view,
    stay_dates,
)
from medqc.workstation.web import RESPONSES, PageRoute, form, page, repo_of, services_of, viewer

router = APIRouter(
    prefix=PREFIX,
    tags=["workstation"],
    route_class=PageRoute,
    default_response_class=HTMLResponse,
    responses=RESPONSES,
)
#: The most distinct notes one encounter page reads to place quotes (the rest link to the note).
MAX_NOTES = 50
#: Characters of a note shown around a quote, then when the reviewer expands it.
SHORT, WIDE = 24, 240
NOTE_TYPES = ("DocumentReference", "Composition")


async def note_text(repo: ResourceRepository, reference: str) -> tuple[str, str | None] | None:
    """(text, title) of a note (``DocumentReference/x`` or ``Composition/x``); None when unreadable."""
    kind, _, rid = reference.partition("/")
    if kind not in NOTE_TYPES or not rid:
        return None
    resource = await read_or_none(repo, kind, rid)
    if resource is None:
        return None
    notes = notes_of([resource], []) if kind == "DocumentReference" else notes_of([], [resource])
    return (notes[0].text, notes[0].title) if notes else None


async def _place_quotes(repo: ResourceRepository, views: list[ReportView]) -> None:
    cache: dict[str, tuple[str, str | None] | None] = {}
    for view in views:
        for fact in view.facts:
            for ev in fact.evidence:
                if not ev.quote or not ev.source:
                    continue
                if ev.source not in cache:
                    if len(cache) >= MAX_NOTES:
                        continue
                    cache[ev.source] = await note_text(repo, ev.source)
                note = cache[ev.source]
                span = locate(note[0], ev.quote, ev.start, ev.end) if note else None
                if note and span:
                    ev.context = in_context(note[0], span, context=SHORT)
                    ev.wide = in_context(note[0], span, context=WIDE)
                    ev.start, ev.end = span


@router.get("/Encounter/{encounter_id}", summary="Review page of an encounter", response_model=None)
async def encounter_page(request: Request, encounter_id: str) -> Response:
    check_id(encounter_id)
    repo = repo_of(request)
    found = await repo.search(
        "MeasureReport", [("evaluated-resource", f"Encounter/{encounter_id}"), ("_count", "200")]
    )
    encounter = await read_or_none(repo, "Encounter", encounter_id)
    if not found.matches and encounter is None:
        await repo.read("Encounter", encounter_id)  # 404 (or 410) when there is no such encounter
    subject = (encounter or {}).get("subject") or next(
        (r.get("subject") for r in found.matches if r.get("subject")), None
    )
    patient_ref = str((subject or {}).get("reference", ""))
    patient = (
        await read_or_none(repo, "Patient", patient_ref.removeprefix("Patient/")) if patient_ref else None
    )
    latest = latest_decisions((await decisions(repo, encounter=encounter_id)).resources)
    views: list[ReportView] = []
    stale: dict[str, dict[str, Any]] = {}
    for report in found.matches:
        spec = spec_of(report)
        measure = None if spec else await read_or_none(repo, "Measure", measure_id(report))
        view = report_view(report, spec, measure)
        views.append(view)
        task = latest.get(view.id)
        if (
            task is not None
            and view.decided_by is None
            and (view.review is None or view.review.task != f"Task/{task.get('id')}")
        ):
            stale[view.id] = task  # decided, then re-judged: the decision was on an earlier judgement
    views = failing_first(views)
    await _place_quotes(repo, views)
    draft = await read_or_none(repo, "DocumentReference", draft_id(encounter_id))
    admitted, discharged = stay_dates(encounter)
    who = viewer(request)
    return page(
        request,
        "ws_encounter.html.j2",
        encounter_id=encounter_id,
        patient_ref=patient_ref,
        name=patient_name(patient),
        mrn=mrn_of(patient),
        gender=(patient or {}).get("gender", ""),
        birth=(patient or {}).get("birthDate", ""),
        department=department_of(encounter),
        admitted=admitted,
        discharged=discharged,
        reports=views,
        stale=stale,
        reasons=OVERRIDE_REASONS,
        targets=[(t, VERDICTS[t][0]) for t in TARGETS],
        draft=draft,
        counts={v: sum(1 for r in views if r.verdict == v) for v in VERDICTS},
        launch=who.session.launch if who.session else None,
        iss=who.session.iss if who.session else None,
    )


@router.post(
    "/Encounter/{encounter_id}/decision",
    summary="Accept or override a verdict (stores a Task, the amended report and a Provenance)",
    response_model=None,
)
async def decision(request: Request, encounter_id: str) -> Response:
    check_id(encounter_id)
    who = viewer(request)
    fields = await form(request)
    for resource_type in ("Task", "MeasureReport", "Provenance"):
        who.require(resource_type)
    report_id = fields.get("report") or ""
    check_id(report_id)
    repo = repo_of(request)
    report = await repo.read("MeasureReport", report_id)
    if encounter_ref(report) != encounter_id:
        raise BadRequest(f"MeasureReport/{report_id} is not a judgement of Encounter/{encounter_id}")
    choice = parse_decision(fields, who.name, report)
    if fields.get("version") and fields["version"] != str((report.get("meta") or {}).get("versionId", "1")):
        raise BadRequest("The verdict was re-judged since the page was loaded: reload and decide again")
    await decide(
        repo,
        services_of(request).db,
        report=report,
        spec=spec_of(report),
        encounter=encounter_id,
        decision=choice,
    )
    return RedirectResponse(f"{PREFIX}/Encounter/{encounter_id}#{report_id}", status_code=303)


@router.get(
    "/note/{note_type}/{note_id}", summary="A note with a quoted span highlighted", response_model=None
)
async def note_page(
    request: Request, note_type: str, note_id: str, start: int | None = None, end: int | None = None
) -> Response:
    if note_type not in NOTE_TYPES:
        raise NotFound("No such page")
    check_id(note_id)
    repo = repo_of(request)
    note = await note_text(repo, f"{note_type}/{note_id}")
    if note is None:
        await repo.read(note_type, note_id)  # 404/410 when it is not there
        raise BadRequest(f"{note_type}/{note_id} carries no text to show")
    text, title = note
    span = (start, end) if start is not None and end is not None and 0 <= start < end <= len(text) else None
    return page(
        request,
        "ws_note.html.j2",
        reference=f"{note_type}/{note_id}",
        title=title,
        before=text[: span[0]] if span else text,
        quote=text[span[0] : span[1]] if span else "",
        after=text[span[1] :] if span else "",
    )
