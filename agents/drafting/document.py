"""The draft as FHIR: a DocumentReference (LOINC 18842-5, docStatus preliminary, text/plain content with
the sections as headings, evidence per sentence) and the Provenance of its drafting."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.provenance import Provenance

from agents.drafting.drafter import DRAFTER_VERSION, Draft
from agents.drafting.resources import MEDQC_AGENT, evidence_extension, ref
from agents.fact_observations import EXT_PROVENANCE, SD
from fhir_ops.data_access.record import EncounterRecord
from knowledge_base.icd.table import ICD_TABLE_VERSION

LOINC = "http://loinc.org"
DISCHARGE_SUMMARY = "18842-5"
EXT_UNSUPPORTED = f"{SD}/draft-unsupported-sentences"
EXT_TEMPLATE = f"{SD}/draft-template"


def draft_id(encounter_id: str) -> str:
    return f"discharge-{encounter_id}"[:64]


def document_reference(draft: Draft, record: EncounterRecord, *, resource_id: str) -> dict[str, Any]:
    text = draft.text()
    doc: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": resource_id,
        "extension": [
            {"url": EXT_TEMPLATE, "valueString": draft.template.label},
            {"url": EXT_UNSUPPORTED, "valueInteger": draft.unverified},
            *(evidence_extension(s.evidence) for s in draft.sentences()),
        ],
        "status": "current",
        "docStatus": "preliminary",
        "type": {
            "coding": [{"system": LOINC, "code": DISCHARGE_SUMMARY, "display": "Discharge summary"}],
            "text": "出院记录",
        },
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "author": [MEDQC_AGENT],
        "description": "出院记录（MedQC 草稿，待医师审核签名）",
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "language": "zh-CN",
                    "title": draft.template.title,
                    "data": base64.b64encode(text.encode("utf-8")).decode("ascii"),
                }
            }
        ],
    }
    if (patient := ref(record.patient)) is not None:
        doc["subject"] = patient
    if (encounter := ref(record.encounter)) is not None:
        doc["context"] = {"encounter": [encounter]}
        period = (record.encounter or {}).get("period")
        if period:
            doc["context"]["period"] = period
    DocumentReference.model_validate(doc)
    return doc


def provenance(
    draft: Draft, record: EncounterRecord, *, target: str, resource_id: str, model: str | None
) -> dict[str, Any]:
    """MedQC as the agent; template, prompt and model versions; the source resources as entities."""
    sources = list(dict.fromkeys(s.evidence.reference for s in draft.sentences()))
    versions = {
        "template": draft.template.label,
        "drafter": DRAFTER_VERSION,
        "prompt": "none (extractive)" if model is None else "discharge-summary-1",
        "model": model or "none",
        "icd": ICD_TABLE_VERSION,
    }
    prov: dict[str, Any] = {
        "resourceType": "Provenance",
        "id": resource_id,
        "extension": [
            {"url": EXT_PROVENANCE, "extension": [{"url": k, "valueString": v} for k, v in versions.items()]}
        ],
        "target": [{"reference": target}],
        "recorded": datetime.now(UTC).isoformat(timespec="seconds"),
        "activity": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation", "code": "CREATE"}]
        },
        "agent": [
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                            "code": "assembler",
                        }
                    ]
                },
                "who": {"display": "MedQC discharge-summary drafter"},
            }
        ],
        "entity": [{"role": "source", "what": {"reference": r}} for r in sources],
    }
    Provenance.model_validate(prov)
    return prov
