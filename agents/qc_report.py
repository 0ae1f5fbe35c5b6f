"""Build the individual MeasureReport of one indicator (profile: conformance/qc-measurereport-profile.md)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agents.verifiers.base import FactVerdict
from agents.verifiers.context import EvidenceStats
from fhir_ops.data_access.record import EncounterRecord
from measures.catalog.schema import FactSpec, IndicatorSpec
from medqc.observability import trace_id_var

SD = "http://medqc.org/fhir/StructureDefinition"
EXT_FACT = f"{SD}/qc-fact"
EXT_NEEDS_REVIEW = f"{SD}/qc-needs-review"
EXT_RULE = f"{SD}/qc-rule"
EXT_RULE_RESULT = f"{SD}/qc-rule-result"
EXT_DENOMINATOR_ASSERTED = f"{SD}/qc-denominator-asserted"
EXT_EVIDENCE = f"{SD}/qc-evidence"
EXT_CONFIDENCE = f"{SD}/qc-confidence"
EXT_EVIDENCE_CHECK = f"{SD}/qc-evidence-check"
EXT_PROVENANCE = f"{SD}/qc-provenance"
EXT_TRACE = f"{SD}/qc-trace"
CS_FACT = "http://medqc.org/fhir/CodeSystem/qc-fact"
CS_METHOD = "http://medqc.org/fhir/CodeSystem/qc-verification-method"
CS_POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"
CS_DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
UCUM = "http://unitsofmeasure.org"
UCUM_CODES = {"h": "h", "min": "min", "d": "d", "%": "%", "分": "{score}", "mm": "mm", "mmHg": "mm[Hg]"}
_DATETIME = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$")


@dataclass(frozen=True, slots=True)
class Outcome:
    """The judgement of one indicator for one encounter."""

    initial_population: int
    denominator: int
    numerator: int
    rule_result: bool | None
    needs_review: bool


def _ref(resource: dict[str, Any] | None) -> dict[str, str] | None:
    if not resource:
        return None
    return {"reference": f"{resource['resourceType']}/{resource.get('id')}"}


def _value(fact: FactSpec, verdict: FactVerdict) -> dict[str, Any]:
    v = verdict.value
    if v is None:
        return {"dataAbsentReason": {"coding": [{"system": CS_DATA_ABSENT, "code": "unknown"}]}}
    if isinstance(v, bool):
        return {"valueBoolean": v}
    if isinstance(v, int | float):
        unit = fact.unit or "1"
        return {
            "valueQuantity": {
                "value": round(float(v), 4),
                "unit": unit,
                "system": UCUM,
                "code": UCUM_CODES.get(unit, "1"),
            }
        }
    if fact.type == "datetime" and _DATETIME.match(v):
        return {"valueDateTime": v}
    return {"valueString": v}


def _evidence_extensions(verdict: FactVerdict) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for ev in verdict.evidence:
        parts: list[dict[str, Any]] = []
        if ev.reference:
            parts.append({"url": "source", "valueReference": {"reference": ev.reference}})
        if ev.quote is not None:
            parts.append({"url": "quote", "valueString": ev.quote})
            if ev.start is not None and ev.end is not None:
                parts.extend(
                    [{"url": "start", "valueInteger": ev.start}, {"url": "end", "valueInteger": ev.end}]
                )
        if parts:
            out.append({"url": EXT_EVIDENCE, "extension": parts})
    return out


def _provenance_extensions(verdict: FactVerdict) -> list[dict[str, Any]]:
    """Which model, prompt template and knowledge-base version produced a model verdict (for audit)."""
    parts = [{"url": k, "valueString": v} for k, v in sorted(verdict.provenance.items()) if v]
    return [{"url": EXT_PROVENANCE, "extension": parts}] if parts else []


def fact_observation(fact: FactSpec, verdict: FactVerdict, record: EncounterRecord) -> dict[str, Any]:
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"fact-{fact.id.replace('_', '-')}",
        "extension": [
            {"url": EXT_CONFIDENCE, "valueDecimal": round(verdict.confidence, 3)},
            *_evidence_extensions(verdict),
            *_provenance_extensions(verdict),
        ],
        "status": "final" if verdict.known else "preliminary",
        "code": {
            "coding": [{"system": CS_FACT, "code": fact.id, "display": fact.question}],
            "text": fact.question,
        },
        **_value(fact, verdict),
        "method": {"coding": [{"system": CS_METHOD, "code": verdict.method}]},
    }
    if (subject := _ref(record.patient)) is not None:
        obs["subject"] = subject
    if (encounter := _ref(record.encounter)) is not None:
        obs["encounter"] = encounter
    sources = list(dict.fromkeys(ev.reference for ev in verdict.evidence if ev.reference))
    if sources:
        obs["derivedFrom"] = [{"reference": r} for r in sources]
    notes = [ev.quote for ev in verdict.evidence if ev.quote]
    if notes or verdict.detail:
        obs["note"] = [{"text": t} for t in (notes or [verdict.detail or ""])]
    return obs


def _period(record: EncounterRecord, now: str) -> dict[str, str]:
    period = (record.encounter or {}).get("period") or {}
    start = period.get("start") or period.get("end") or now
    return {"start": start, "end": period.get("end") or start}


def measure_report(
    spec: IndicatorSpec,
    record: EncounterRecord,
    verdicts: dict[str, FactVerdict],
    outcome: Outcome,
    *,
    denominator_asserted: bool,
    stats: EvidenceStats | None = None,
) -> dict[str, Any]:
    """The individual MeasureReport (R4) of ``spec`` for ``record``."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    facts = [f for f in spec.all_facts if f.id in verdicts]
    contained = [fact_observation(f, verdicts[f.id], record) for f in facts]
    rule_code = {True: "true", False: "false", None: "unknown"}[outcome.rule_result]
    populations = [
        ("initial-population", outcome.initial_population),
        ("denominator", outcome.denominator),
        ("numerator", outcome.numerator),
    ]
    group: dict[str, Any] = {
        "extension": [
            *({"url": EXT_FACT, "valueReference": {"reference": f"#{o['id']}"}} for o in contained),
            {"url": EXT_RULE, "valueString": spec.rule},
            {"url": EXT_RULE_RESULT, "valueCode": rule_code},
            {"url": EXT_NEEDS_REVIEW, "valueBoolean": outcome.needs_review},
        ],
        "population": [
            {"code": {"coding": [{"system": CS_POPULATION, "code": code}]}, "count": count}
            for code, count in populations
        ],
    }
    if outcome.denominator:
        group["measureScore"] = {"value": float(outcome.numerator)}
    extensions: list[dict[str, Any]] = [
        {"url": EXT_DENOMINATOR_ASSERTED, "valueBoolean": denominator_asserted}
    ]
    if (trace_id := trace_id_var.get()) != "-":  # the request's W3C trace: logs and report line up
        extensions.append({"url": EXT_TRACE, "valueString": trace_id})
    if stats is not None:
        extensions.append(
            {
                "url": EXT_EVIDENCE_CHECK,
                "extension": [
                    {"url": "quotesChecked", "valueInteger": stats.quotes_checked},
                    {"url": "quotesDiscarded", "valueInteger": stats.quotes_discarded},
                ],
            }
        )
    evaluated = [r for r in (_ref(record.encounter),) if r is not None]
    evaluated += [{"reference": n.reference} for n in record.notes]
    for verdict in verdicts.values():
        evaluated += [
            {"reference": ev.reference} for ev in verdict.evidence if ev.reference and ev.quote is None
        ]
    report: dict[str, Any] = {
        "resourceType": "MeasureReport",
        "id": str(uuid.uuid4()),
        "contained": contained,
        "extension": extensions,
        "status": "complete",
        "type": "individual",
        "measure": f"{spec.canonical}|{spec.version}" if spec.version else spec.canonical,
        "date": now,
        "period": _period(record, now),
        "group": [group],
        "evaluatedResource": list({r["reference"]: r for r in evaluated}.values()),
    }
    if (subject := _ref(record.patient)) is not None:
        report["subject"] = subject
    return report
