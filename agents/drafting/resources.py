"""FHIR shapes shared by the documentation agents: evidence extensions and DetectedIssues.

Evidence uses the ``qc-evidence`` extension of the fact Observations (parts ``source``, ``quote``,
``start``, ``end``; see :mod:`agents.qc_report`), so a reviewer reads every agent's evidence one way.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Literal

from fhir.resources.R4B.detectedissue import DetectedIssue

from agents.drafting.sections import Span
from agents.fact_observations import EXT_EVIDENCE, SD
from fhir_ops.data_access.record import EncounterRecord

EXT_IMPACT = f"{SD}/cdi-impact"
EXT_RECOMMENDED_FIELD = f"{SD}/cdi-recommended-field"
CS_CDI = "http://medqc.org/fhir/CodeSystem/cdi-rule"
CS_CONSISTENCY = "http://medqc.org/fhir/CodeSystem/draft-consistency"
MEDQC_AGENT = {"display": "MedQC"}
IssueSeverity = Literal["high", "moderate", "low"]
SEVERITY_ORDER: dict[str, int] = {"high": 0, "moderate": 1, "low": 2}


def evidence_extension(span: Span) -> dict[str, Any]:
    """One ``qc-evidence`` extension: the source resource and, for a note, the verbatim quote and offsets."""
    parts: list[dict[str, Any]] = [{"url": "source", "valueReference": {"reference": span.reference}}]
    if span.text and not span.reference.startswith(("Encounter/", "Condition/", "Patient/", "Procedure/")):
        parts += [
            {"url": "quote", "valueString": span.text},
            {"url": "start", "valueInteger": span.start},
            {"url": "end", "valueInteger": span.end},
        ]
    return {"url": EXT_EVIDENCE, "extension": parts}


def ref(resource: dict[str, Any] | None) -> dict[str, str] | None:
    if not resource:
        return None
    return {"reference": f"{resource['resourceType']}/{resource.get('id')}"}


def issue_id(*parts: str) -> str:
    """A stable id (FHIR id: ≤ 64 of ``[A-Za-z0-9-.]``) for an issue of a record."""
    return "di-" + hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:32]


def detected_issue(
    record: EncounterRecord,
    *,
    system: str,
    code: str,
    title: str,
    severity: IssueSeverity,
    detail: str,
    evidence: list[Span],
    fix: str,
    implicated: list[str] = (),  # type: ignore[assignment]
    extensions: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> dict[str, Any]:
    """A preliminary DetectedIssue (R4) with its evidence and a suggested fix, validated before it leaves."""
    encounter = ref(record.encounter)
    targets = [*([encounter["reference"]] if encounter else []), *implicated]
    issue: dict[str, Any] = {
        "resourceType": "DetectedIssue",
        "id": issue_id(encounter["reference"] if encounter else "", code, *(s.text for s in evidence[:1])),
        "extension": [*(evidence_extension(s) for s in evidence), *extensions],
        "status": "preliminary",
        "code": {"coding": [{"system": system, "code": code, "display": title}], "text": title},
        "severity": severity,
        "identifiedDateTime": datetime.now(UTC).isoformat(timespec="seconds"),
        "author": MEDQC_AGENT,
        "detail": detail,
        "mitigation": [{"action": {"text": fix}}],
    }
    if (patient := ref(record.patient)) is not None:
        issue["patient"] = patient
    if targets:
        issue["implicated"] = [{"reference": r} for r in dict.fromkeys(targets)]
    sources = list(dict.fromkeys(s.reference for s in evidence))
    if sources:
        issue["evidence"] = [{"detail": [{"reference": r} for r in sources]}]
    DetectedIssue.model_validate(issue)
    return issue
