"""The review page a CDS card links to: the stored quality-control judgements of an encounter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from fhir_ops.errors import FhirError
from fhir_ops.validation import check_id

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html", "j2"])
)
SD = "http://medqc.org/fhir/StructureDefinition/"

router = APIRouter(
    prefix="/review",
    tags=["review"],
    responses={
        400: {"description": "Invalid encounter id (OperationOutcome)"},
        401: {"description": "No valid credentials (OperationOutcome)"},
        404: {"description": "No such encounter (OperationOutcome)"},
    },
)


def _ext(element: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [e for e in element.get("extension") or [] if e.get("url") == SD + name]


def _value(obs: dict[str, Any]) -> str:
    for key, value in obs.items():
        if key.startswith("value"):
            if isinstance(value, dict):
                return f"{value.get('value')} {value.get('unit', '')}".strip()
            return str(value)
    return "unknown"


def _fact(obs: dict[str, Any]) -> dict[str, Any]:
    evidence = []
    for ev in _ext(obs, "qc-evidence"):
        parts = {p["url"]: p for p in ev.get("extension") or []}
        evidence.append(
            {
                "quote": (parts.get("quote") or {}).get("valueString"),
                "source": ((parts.get("source") or {}).get("valueReference") or {}).get("reference", ""),
                "start": (parts.get("start") or {}).get("valueInteger"),
                "end": (parts.get("end") or {}).get("valueInteger"),
            }
        )
    confidence = next((e.get("valueDecimal") for e in _ext(obs, "qc-confidence")), None)
    return {
        "question": (obs.get("code") or {}).get("text", ""),
        "value": _value(obs),
        "method": ((obs.get("method") or {}).get("coding") or [{}])[0].get("code", ""),
        "confidence": confidence,
        "evidence": evidence,
    }


def report_view(report: dict[str, Any], measure: dict[str, Any] | None) -> dict[str, Any]:
    group = (report.get("group") or [{}])[0]
    counts = {p["code"]["coding"][0]["code"]: p.get("count", 0) for p in group.get("population") or []}
    review = any(e.get("valueBoolean") for e in _ext(group, "qc-needs-review"))
    met = bool(counts.get("numerator"))
    verdict, css = (
        ("met", "met") if met else (("needs review", "review") if review else ("not met", "not-met"))
    )
    if not counts.get("denominator"):
        verdict, css = "not applicable", "review"
    policy = next((e.get("valueCode") for e in _ext(report, "qc-policy")), "fast")
    return {
        "title": (measure or {}).get("title") or report.get("measure", ""),
        "definition": (measure or {}).get("description"),
        "verdict": verdict,
        "css": css,
        "rule": next((e.get("valueString") for e in _ext(group, "qc-rule")), ""),
        "rule_result": next((e.get("valueCode") for e in _ext(group, "qc-rule-result")), ""),
        "policy": policy,
        "date": report.get("date", ""),
        "facts": [_fact(o) for o in report.get("contained") or [] if o.get("resourceType") == "Observation"],
    }


@router.get("/Encounter/{encounter_id}", response_class=HTMLResponse, summary="Review page of an encounter")
async def review_encounter(request: Request, encounter_id: str) -> HTMLResponse:
    check_id(encounter_id)
    repo = request.app.state.services.repo
    found = await repo.search(
        "MeasureReport", [("evaluated-resource", f"Encounter/{encounter_id}"), ("_count", "200")]
    )
    if not found.matches:
        await repo.read("Encounter", encounter_id)  # 404 (or 410) when there is no such encounter
    reports = []
    patient = None
    for report in found.matches:
        patient = patient or (report.get("subject") or {}).get("reference")
        measure = None
        canonical = str(report.get("measure", "")).split("|")[0]
        try:
            measure = await repo.read("Measure", canonical.rsplit("/", 1)[-1])
        except FhirError:
            measure = None
        reports.append(report_view(report, measure))
    html = _ENV.get_template("review.html.j2").render(
        encounter_id=encounter_id, patient=patient, reports=reports
    )
    return HTMLResponse(html)
