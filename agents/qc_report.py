"""Build the individual MeasureReport of one indicator (profile: conformance/qc-measurereport-profile.md)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from agents.fact_observations import EXT_EVIDENCE
from agents.verifiers.context import EvidenceStats
from fhir_ops.data_access.record import EncounterRecord
from fhir_ops.tracing import trace_id_var
from measures.catalog.outcome import Outcome
from measures.catalog.schema import IndicatorSpec

SD = "http://medqc.org/fhir/StructureDefinition"
EXT_FACT = f"{SD}/qc-fact"
EXT_NEEDS_REVIEW = f"{SD}/qc-needs-review"
EXT_RULE = f"{SD}/qc-rule"
EXT_RULE_RESULT = f"{SD}/qc-rule-result"
EXT_DENOMINATOR_ASSERTED = f"{SD}/qc-denominator-asserted"
EXT_EVIDENCE_CHECK = f"{SD}/qc-evidence-check"
EXT_TRACE = f"{SD}/qc-trace"
#: the reviewer's verdict Observation that decided the stay (the CQL takes it over the facts)
EXT_REVIEWER_VERDICT = f"{SD}/qc-reviewer-verdict"
CS_POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"


def _ref(resource: dict[str, Any] | None) -> dict[str, str] | None:
    if not resource:
        return None
    return {"reference": f"{resource['resourceType']}/{resource.get('id')}"}


def _period(record: EncounterRecord, now: str) -> dict[str, str]:
    period = (record.encounter or {}).get("period") or {}
    start = period.get("start") or period.get("end") or now
    return {"start": start, "end": period.get("end") or start}


def measure_report(
    spec: IndicatorSpec,
    record: EncounterRecord,
    observations: list[dict[str, Any]],
    outcome: Outcome,
    *,
    placement: dict[str, Any] | None = None,
    denominator_asserted: bool,
    stats: EvidenceStats | None = None,
) -> dict[str, Any]:
    """The individual MeasureReport (R4) of ``spec`` for ``record``: the populations the indicator's CQL
    placed the encounter in, with the fact Observations it read contained as evidence."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    facts = [{k: v for k, v in o.items() if k != "meta"} for o in observations]
    contained = [*facts, *([{k: v for k, v in placement.items() if k != "meta"}] if placement else [])]
    rule_code = {True: "true", False: "false", None: "unknown"}[outcome.rule_result]
    populations = [
        ("initial-population", outcome.initial_population),
        ("denominator", outcome.denominator),
        ("numerator", outcome.numerator),
    ]
    group: dict[str, Any] = {
        "extension": [
            *({"url": EXT_FACT, "valueReference": {"reference": f"#{o['id']}"}} for o in facts),
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
    if outcome.reviewed:
        extensions.append({"url": EXT_REVIEWER_VERDICT, "valueReference": {"reference": outcome.reviewed}})
        evaluated.append({"reference": outcome.reviewed})
    evaluated += [{"reference": n.reference} for n in record.notes]
    for obs in observations:
        evaluated += [
            {"reference": src["valueReference"]["reference"]}
            for ext in obs.get("extension") or []
            if ext.get("url") == EXT_EVIDENCE
            for src in ext.get("extension") or []
            if src.get("url") == "source" and not any(p.get("url") == "quote" for p in ext["extension"])
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


def pending_report(spec: IndicatorSpec, record: EncounterRecord) -> dict[str, Any]:
    """The individual MeasureReport of an indicator not judged yet (``status`` pending, no populations):
    the hook judged it in the background, after answering."""
    now = datetime.now(UTC).isoformat()
    report: dict[str, Any] = {
        "resourceType": "MeasureReport",
        "id": str(uuid.uuid4()),
        "status": "pending",
        "type": "individual",
        "measure": f"{spec.canonical}|{spec.version}" if spec.version else spec.canonical,
        "date": now,
        "period": _period(record, now),
    }
    if (subject := _ref(record.patient)) is not None:
        report["subject"] = subject
    return report
