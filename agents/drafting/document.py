"""The draft as FHIR: a DocumentReference (LOINC 18842-5, docStatus preliminary, text/plain content with
the sections as headings, evidence per sentence, what produced each section) and the Provenance of its
drafting (the model and prompt when a section is abstractive)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from fhir.resources.R4B.provenance import Provenance

from agents.drafting.abstractive import ABSTRACTIVE_VERSION
from agents.drafting.drafter import DRAFTER_VERSION, Draft, DraftSection
from agents.drafting.resources import MEDQC_AGENT, evidence_extension, ref
from agents.fact_observations import EXT_PROVENANCE, SD
from fhir_ops.data_access.record import EncounterRecord
from knowledge_base.icd.table import ICD_TABLE_VERSION

LOINC = "http://loinc.org"
DISCHARGE_SUMMARY = "18842-5"
EXT_UNSUPPORTED = f"{SD}/draft-unsupported-sentences"
EXT_TEMPLATE = f"{SD}/draft-template"
#: one per section: ``section`` (its heading), ``mode`` (extractive | abstractive), and ``model``/``prompt``
#: of an abstractive section, ``fallback`` (why a section meant for the model is extractive), ``dropped``
EXT_SECTION = f"{SD}/draft-section"


def section_extension(section: DraftSection, draft: Draft) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [
        {"url": "section", "valueString": section.name},
        {"url": "mode", "valueCode": section.mode},
    ]
    if section.mode == "abstractive":
        parts += [
            {"url": "model", "valueString": draft.model or "unknown"},
            {"url": "prompt", "valueString": draft.prompt or "unknown"},
        ]
    if section.fallback:
        parts.append({"url": "fallback", "valueString": section.fallback})
    if section.dropped:
        parts.append({"url": "dropped", "valueInteger": section.dropped})
    return {"url": EXT_SECTION, "extension": parts}


def draft_id(encounter_id: str) -> str:
    return f"discharge-{encounter_id}"[:64]


def document_reference(draft: Draft, record: EncounterRecord, *, resource_id: str) -> dict[str, Any]:
    """The draft as a DocumentReference. A fixed shape whose validity ``tests/agents/test_drafting.py``
    checks with fhir.resources; validating it on every hook (one evidence extension per quoted span)
    cost a seventh of a long stay's hook."""
    text = draft.text()
    doc: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": resource_id,
        "extension": [
            {"url": EXT_TEMPLATE, "valueString": draft.template.label},
            {"url": EXT_UNSUPPORTED, "valueInteger": draft.unverified},
            *(section_extension(s, draft) for s in draft.sections),
            *(evidence_extension(span) for s in draft.sentences() for span in s.spans()),
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
    return doc


def provenance(draft: Draft, record: EncounterRecord, *, target: str, resource_id: str) -> dict[str, Any]:
    """MedQC as the agent; template, prompt and model versions; the source resources as entities."""
    sources = list(dict.fromkeys(span.reference for s in draft.sentences() for span in s.spans()))
    versions = {
        "template": draft.template.label,
        "drafter": DRAFTER_VERSION if draft.model is None else f"{DRAFTER_VERSION}+{ABSTRACTIVE_VERSION}",
        "prompt": draft.prompt or "none (extractive)",
        "model": draft.model or "none",
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
            },
            *(_model_agent(draft) if draft.model is not None else []),
        ],
        "entity": [{"role": "source", "what": {"reference": r}} for r in sources],
    }
    Provenance.model_validate(prov)
    return prov


def _model_agent(draft: Draft) -> list[dict[str, Any]]:
    """The language model that wrote the abstractive sections, as a performer (device) of the drafting."""
    sections = "、".join(s.name for s in draft.sections if s.mode == "abstractive")
    return [
        {
            "type": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                        "code": "performer",
                    }
                ]
            },
            "who": {"display": f"language model {draft.model} (prompt {draft.prompt}; sections {sections})"},
        }
    ]
