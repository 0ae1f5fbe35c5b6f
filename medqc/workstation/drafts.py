"""Discharge summary drafts: review, edit and sign off (``DocumentReference/discharge-<encounter>``).

A draft comes from ``$draft-discharge-summary`` (docStatus preliminary); the page can ask for one. Saving
an edit writes a new version (still preliminary); signing off sets docStatus final and the
authenticator. Both use ``If-Match`` on the version the reviewer read, so an edit made meanwhile (or a
redraft) is a 412, not a silent overwrite; each write has a Provenance naming the reviewer.
"""

from __future__ import annotations

import base64
import copy
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from agents.drafting.document import DISCHARGE_SUMMARY, LOINC, draft_id
from fhir_ops.data_access.record import decode_attachment_text
from fhir_ops.errors import BadRequest, Conflict
from fhir_ops.operations.registry import OperationRequest
from fhir_ops.validation import check_id
from medqc.workstation.session import PREFIX
from medqc.workstation.store import by_ids, read_or_none, search_all
from medqc.workstation.views import mrn_of, patient_name
from medqc.workstation.web import RESPONSES, PageRoute, form, page, repo_of, services_of, viewer

router = APIRouter(
    prefix=PREFIX,
    tags=["workstation"],
    route_class=PageRoute,
    default_response_class=HTMLResponse,
    responses=RESPONSES,
)
CS_DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
CS_PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
#: The most drafts the list shows.
MAX_DRAFTS = 2000
TEXT_MAX = 200_000


def draft_text(doc: dict[str, Any]) -> str:
    for content in doc.get("content") or []:
        text = decode_attachment_text(content.get("attachment") or {})
        if text is not None:
            return text
    return ""


def revised(doc: dict[str, Any], text: str | None, *, sign: bool, reviewer: str) -> dict[str, Any]:
    """The draft with the reviewer's text (when given) and, on sign-off, docStatus final."""
    new = copy.deepcopy({k: v for k, v in doc.items() if k != "meta"})
    if text is not None:
        for content in new.get("content") or []:
            attachment = content.get("attachment") or {}
            if str(attachment.get("contentType", "text/plain")).startswith("text/"):
                attachment["data"] = base64.b64encode(text.encode("utf-8")).decode("ascii")
                attachment["contentType"] = "text/plain; charset=utf-8"
                break
    new["date"] = datetime.now(UTC).isoformat(timespec="seconds")
    if sign:
        new["docStatus"] = "final"
        new["authenticator"] = {"display": reviewer}
        new["description"] = "出院记录（已审核签名）"
    return new


def revision_provenance(doc_id: str, version: int, *, sign: bool, reviewer: str) -> dict[str, Any]:
    return {
        "resourceType": "Provenance",
        "id": f"{doc_id}-{'signed' if sign else 'r'}{version + 1}"[:64],
        "target": [{"reference": f"DocumentReference/{doc_id}/_history/{version + 1}"}],
        "recorded": datetime.now(UTC).isoformat(timespec="seconds"),
        "activity": {
            "coding": [{"system": CS_DATA_OPERATION, "code": "UPDATE"}],
            "text": "sign off" if sign else "edit",
        },
        "agent": [
            {
                "type": {"coding": [{"system": CS_PARTICIPANT, "code": "attester" if sign else "author"}]},
                "who": {"display": reviewer},
            }
        ],
        "entity": [
            {"role": "revision", "what": {"reference": f"DocumentReference/{doc_id}/_history/{version}"}}
        ],
    }


@router.get("/drafts", summary="Discharge summary drafts to review", response_model=None)
async def drafts(request: Request) -> Response:
    repo = repo_of(request)
    loaded = await search_all(
        repo, "DocumentReference", [("type", f"{LOINC}|{DISCHARGE_SUMMARY}")], limit=MAX_DRAFTS
    )
    docs = [d for d in loaded.resources if str(d.get("id", "")).startswith("discharge-")]
    patients = await by_ids(
        repo,
        "Patient",
        {str((d.get("subject") or {}).get("reference", "")).removeprefix("Patient/") for d in docs},
    )
    rows = []
    for doc in docs:
        patient = patients.get(str((doc.get("subject") or {}).get("reference", "")).removeprefix("Patient/"))
        encounters = ((doc.get("context") or {}).get("encounter")) or [{}]
        rows.append(
            {
                "encounter": str(encounters[0].get("reference", "")).removeprefix("Encounter/"),
                "name": patient_name(patient),
                "mrn": mrn_of(patient),
                "status": doc.get("docStatus", ""),
                "date": str(doc.get("date", ""))[:16],
                "version": (doc.get("meta") or {}).get("versionId", "1"),
            }
        )
    rows.sort(key=lambda r: (r["status"] == "final", r["date"]))
    return page(request, "ws_drafts.html.j2", rows=rows, truncated=loaded.truncated)


@router.get(
    "/Encounter/{encounter_id}/draft", summary="Review a discharge summary draft", response_model=None
)
async def draft_page(request: Request, encounter_id: str) -> Response:
    check_id(encounter_id)
    repo = repo_of(request)
    doc_id = draft_id(encounter_id)
    doc = await read_or_none(repo, "DocumentReference", doc_id)
    if doc is None:
        await repo.read("Encounter", encounter_id)  # 404 for an unknown encounter
    issues = []
    if doc is not None:
        found = await repo.search(
            "DetectedIssue", [("implicated", f"DocumentReference/{doc_id}"), ("_count", "100")]
        )
        issues = [i for i in found.matches if i.get("status") != "cancelled"]
    unverified = next(
        (
            e.get("valueInteger")
            for e in (doc or {}).get("extension") or []
            if str(e.get("url")).endswith("/draft-unsupported-sentences")
        ),
        None,
    )
    return page(
        request,
        "ws_draft.html.j2",
        encounter_id=encounter_id,
        doc=doc,
        doc_id=doc_id,
        text=draft_text(doc) if doc else "",
        version=((doc or {}).get("meta") or {}).get("versionId", "1"),
        issues=issues,
        unverified=unverified,
    )


@router.post(
    "/Encounter/{encounter_id}/draft/generate", summary="Draft the discharge summary", response_model=None
)
async def generate(request: Request, encounter_id: str) -> Response:
    check_id(encounter_id)
    viewer(request).require("DocumentReference")
    await form(request)
    services = services_of(request)
    operation = services.registry.find("draft-discharge-summary", "instance", "Encounter")
    if operation is None:
        raise BadRequest("$draft-discharge-summary is not registered")
    await services.repo.read("Encounter", encounter_id)
    await operation.handler(
        OperationRequest(
            operation=operation,
            resource_type="Encounter",
            resource_id=encounter_id,
            params={},
            services=services,
        )
    )
    return RedirectResponse(f"{PREFIX}/Encounter/{encounter_id}/draft", status_code=303)


@router.post(
    "/Encounter/{encounter_id}/draft", summary="Save an edit of the draft or sign it off", response_model=None
)
async def save(request: Request, encounter_id: str) -> Response:
    check_id(encounter_id)
    who = viewer(request)
    who.require("DocumentReference")
    who.require("Provenance")
    fields = await form(request)
    action = fields.get("action")
    if action not in {"save", "sign"}:
        raise BadRequest("action must be 'save' or 'sign'")
    version = fields.get("version") or ""
    if not version.isdigit():
        raise BadRequest("version must be the version the draft was read at")
    text = fields.get("text")
    if text is not None:
        text = text.replace("\r\n", "\n")
        if len(text) > TEXT_MAX:
            raise BadRequest(f"The summary is longer than {TEXT_MAX} characters")
    repo = repo_of(request)
    doc_id = draft_id(encounter_id)
    doc = await repo.read("DocumentReference", doc_id)
    if doc.get("docStatus") == "final":
        raise Conflict(f"DocumentReference/{doc_id} is already signed off")
    changed = text if text is not None and text != draft_text(doc) else None
    if action == "save" and changed is None:
        return RedirectResponse(f"{PREFIX}/Encounter/{encounter_id}/draft", status_code=303)
    sign = action == "sign"
    prov = revision_provenance(doc_id, int(version), sign=sign, reviewer=who.name)
    entries = [
        {
            "resource": revised(doc, changed, sign=sign, reviewer=who.name),
            "request": {"method": "PUT", "url": f"DocumentReference/{doc_id}", "ifMatch": f'W/"{version}"'},
        },
        {"resource": prov, "request": {"method": "PUT", "url": f"Provenance/{prov['id']}"}},
    ]
    await repo.transaction({"resourceType": "Bundle", "type": "transaction", "entry": entries})
    return RedirectResponse(f"{PREFIX}/Encounter/{encounter_id}/draft", status_code=303)
