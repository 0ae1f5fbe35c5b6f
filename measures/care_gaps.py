"""DEQM gaps in care: for one patient and a period, which proportion measures the patient is eligible
for and does not meet (an open gap) or meets (a closed gap), as a DEQM Gaps in Care Bundle.

Per group of a proportion measure (``Measure.scoring`` or the group's ``cqfm-scoring``), from the
patient's individual MeasureReport: *eligible* = denominator − exclusions − exceptions, *met* =
numerator − numerator exclusions. With improvement notation ``increase`` (the default) a gap is open
when met < eligible; with ``decrease`` (an inverse measure, where the numerator is the bad outcome) it
is open when met > 0. A group the patient is not eligible for is no gap at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from fhir.resources.R4B.bundle import Bundle

from measures.report import scoring_code

GapStatus = Literal["open-gap", "closed-gap"]
GAP_STATUSES: frozenset[str] = frozenset({"open-gap", "closed-gap"})
GAP_STATUS_URL = "http://hl7.org/fhir/us/davinci-deqm/StructureDefinition/extension-gapStatus"
GAP_STATUS_SYSTEM = "http://hl7.org/fhir/us/davinci-deqm/CodeSystem/gaps-status"
_COMPOSITION_PROFILE = "http://hl7.org/fhir/us/davinci-deqm/StructureDefinition/gaps-composition-deqm"
_BUNDLE_PROFILE = "http://hl7.org/fhir/us/davinci-deqm/StructureDefinition/gaps-bundle-deqm"
_DETECTED_ISSUE_PROFILE = "http://hl7.org/fhir/us/davinci-deqm/StructureDefinition/gaps-detectedissue-deqm"


@dataclass(frozen=True, slots=True)
class Gap:
    """One group of one measure where the patient is eligible."""

    group: int
    status: GapStatus


def _counts(group: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for population in group.get("population", []):
        for coding in population.get("code", {}).get("coding", []):
            code = str(coding.get("code"))
            out[code] = out.get(code, 0) + int(population.get("count") or 0)
    return out


def _improvement(measure: dict[str, Any], group: dict[str, Any]) -> str:
    for ext in group.get("extension", []):
        if str(ext.get("url", "")).endswith("improvementNotation"):
            for coding in (ext.get("valueCodeableConcept") or {}).get("coding", []):
                return str(coding.get("code"))
    for coding in (measure.get("improvementNotation") or {}).get("coding", []):
        return str(coding.get("code"))
    return "increase"


def is_proportion(measure: dict[str, Any]) -> bool:
    return any(scoring_code(measure, group) == "proportion" for group in measure.get("group", []))


def gaps_of(measure: dict[str, Any], report: dict[str, Any]) -> list[Gap]:
    """The gaps one patient's individual report shows, group by group (matched by position)."""
    gaps: list[Gap] = []
    for index, (group, result) in enumerate(
        zip(measure.get("group", []), report.get("group", []), strict=False)
    ):
        if scoring_code(measure, group) != "proportion":
            continue
        counts = _counts(result)
        eligible = (
            counts.get("denominator", 0)
            - counts.get("denominator-exclusion", 0)
            - counts.get("denominator-exception", 0)
        )
        if eligible <= 0:
            continue
        met = counts.get("numerator", 0) - counts.get("numerator-exclusion", 0)
        open_gap = met > 0 if _improvement(measure, group) == "decrease" else met < eligible
        gaps.append(Gap(index, "open-gap" if open_gap else "closed-gap"))
    return gaps


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _detected_issue(patient_ref: str, report_ref: str, gap: Gap, measure: dict[str, Any]) -> dict[str, Any]:
    title = measure.get("title") or measure.get("name") or measure.get("id")
    return {
        "resourceType": "DetectedIssue",
        "meta": {"profile": [_DETECTED_ISSUE_PROFILE]},
        "modifierExtension": [
            {
                "url": GAP_STATUS_URL,
                "valueCodeableConcept": {"coding": [{"system": GAP_STATUS_SYSTEM, "code": gap.status}]},
            }
        ],
        "status": "final",
        "code": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "CAREGAP"}]
        },
        "patient": {"reference": patient_ref},
        "detail": f"{gap.status} in group {gap.group + 1} of {title}",
        "evidence": [{"detail": [{"reference": report_ref}]}],
    }


def gaps_bundle(
    patient: dict[str, Any],
    measured: Sequence[tuple[dict[str, Any], dict[str, Any]]],
    *,
    statuses: frozenset[str],
    reporter: str = "MedQC",
) -> dict[str, Any]:
    """The DEQM Gaps in Care document Bundle for ``patient``: a Composition with one section per
    measure that has a gap of a requested status, each measure's MeasureReport and the gaps as
    DetectedIssues. ``measured`` pairs each Measure with the patient's individual report."""
    patient_urn = _urn()
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    sections: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = [{"fullUrl": patient_urn, "resource": patient}]
    for measure, report in measured:
        gaps = [g for g in gaps_of(measure, report) if g.status in statuses]
        if not gaps:
            continue
        report_urn = _urn()
        entries.append({"fullUrl": report_urn, "resource": report})
        issue_refs = []
        for gap in gaps:
            issue_urn = _urn()
            issue = _detected_issue(patient_urn, report_urn, gap, measure)
            entries.append({"fullUrl": issue_urn, "resource": issue})
            issue_refs.append({"reference": issue_urn})
        sections.append(
            {
                "title": str(measure.get("title") or measure.get("name") or measure.get("id")),
                "code": {
                    "coding": [
                        {"system": "http://loinc.org", "code": "96315-7", "display": "Gaps in care report"}
                    ]
                },
                "focus": {"reference": report_urn},
                "entry": issue_refs,
            }
        )
    composition: dict[str, Any] = {
        "resourceType": "Composition",
        "meta": {"profile": [_COMPOSITION_PROFILE]},
        "status": "final",
        "type": {
            "coding": [{"system": "http://loinc.org", "code": "96315-7", "display": "Gaps in care report"}]
        },
        "subject": {"reference": patient_urn},
        "date": now,
        "author": [{"display": reporter}],
        "title": f"Gaps in care report for Patient/{patient.get('id')}",
    }
    if sections:
        composition["section"] = sections
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "meta": {"profile": [_BUNDLE_PROFILE]},
        "identifier": {"system": "urn:ietf:rfc:3986", "value": _urn()},
        "type": "document",
        "timestamp": now,
        "entry": [{"fullUrl": _urn(), "resource": composition}, *entries],
    }
    Bundle.model_validate(bundle)  # what MedQC emits is valid R4
    return bundle
