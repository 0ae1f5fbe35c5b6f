"""Verified facts as FHIR Observations of the encounter (profile ``qc-fact-observation``).

One Observation per fact and encounter, with a stable id, so a re-judgement of a changed record
supersedes it as a new version. It carries the value (boolean, quantity, text; unknown = no value and a
``dataAbsentReason``), the verbatim evidence with offsets, the method (structured, lexical, model,
asserted), model / prompt / knowledge-base versions, and the digest of the record it was judged on.
The indicator CQL reads these Observations with the coded data.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import Any

from agents.verifiers.base import FactVerdict
from fhir_ops.data_access.record import EncounterRecord
from measures.catalog.cql import CS_FACT, asserted_code, denominator_code, fact_code
from measures.catalog.schema import FactSpec, IndicatorSpec

SD = "http://medqc.org/fhir/StructureDefinition"
PROFILE = f"{SD}/qc-fact-observation"
EXT_EVIDENCE = f"{SD}/qc-evidence"
EXT_CONFIDENCE = f"{SD}/qc-confidence"
EXT_PROVENANCE = f"{SD}/qc-provenance"
EXT_RECORD_DIGEST = f"{SD}/qc-record-digest"
EXT_ABSENCE = f"{SD}/qc-absent-from-record"
CS_METHOD = "http://medqc.org/fhir/CodeSystem/qc-verification-method"
CS_DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
UCUM = "http://unitsofmeasure.org"
UCUM_CODES = {"h": "h", "min": "min", "d": "d", "%": "%", "分": "{score}", "mm": "mm", "mmHg": "mm[Hg]"}
_DATETIME = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$")


def is_fact_observation(resource: dict[str, Any]) -> bool:
    """MedQC's own statement of a verified fact (never clinical data the facts are verified from)."""
    return PROFILE in ((resource.get("meta") or {}).get("profile") or []) or any(
        c.get("system") == CS_FACT for c in (resource.get("code") or {}).get("coding") or []
    )


def clinical_record(record: EncounterRecord) -> EncounterRecord:
    """The record without MedQC's stored fact Observations: what facts are verified from and what the
    record digest covers (so a stored judgement does not change the record it judged)."""
    kept = [o for o in record.observations if not is_fact_observation(o)]
    return record if len(kept) == len(record.observations) else replace(record, observations=kept)


def observation_id(encounter_id: str, code: str) -> str:
    """A stable id per (encounter, fact): ``qcf-`` and 40 hex digits."""
    return "qcf-" + hashlib.sha256(f"{encounter_id}|{code}".encode()).hexdigest()[:40]


def _ref(resource: dict[str, Any] | None) -> dict[str, str] | None:
    if not resource or not resource.get("id"):
        return None
    return {"reference": f"{resource['resourceType']}/{resource['id']}"}


def _value(fact: FactSpec | None, verdict: FactVerdict) -> dict[str, Any]:
    v = verdict.value
    if v is None:
        return {"dataAbsentReason": {"coding": [{"system": CS_DATA_ABSENT, "code": "unknown"}]}}
    if isinstance(v, bool):
        return {"valueBoolean": v}
    if isinstance(v, int | float):
        unit = (fact.unit if fact else None) or "1"
        return {
            "valueQuantity": {
                "value": round(float(v), 4),
                "unit": unit,
                "system": UCUM,
                "code": UCUM_CODES.get(unit, "1"),
            }
        }
    if fact is not None and fact.type == "datetime" and _DATETIME.match(v):
        return {"valueDateTime": v}
    return {"valueString": v}


def evidence_extensions(verdict: FactVerdict) -> list[dict[str, Any]]:
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


def is_absence(verdict: FactVerdict) -> bool:
    """The verdict is a default from the fact never being mentioned ("not found → No"), not a quoted
    statement: a reviewer can tell absence from a quoted negative."""
    return verdict.known and verdict.absent


def fact_observation(
    code: str,
    question: str,
    fact: FactSpec | None,
    verdict: FactVerdict,
    record: EncounterRecord,
    *,
    digest: str | None,
) -> dict[str, Any]:
    """The Observation stating ``verdict`` about the record's encounter."""
    encounter_id = str((record.encounter or {}).get("id") or "")
    extensions: list[dict[str, Any]] = [
        {"url": EXT_CONFIDENCE, "valueDecimal": round(verdict.confidence, 3)},
        *evidence_extensions(verdict),
        *_provenance_extensions(verdict),
    ]
    if is_absence(verdict):
        extensions.append({"url": EXT_ABSENCE, "valueBoolean": True})
    if digest:
        extensions.append({"url": EXT_RECORD_DIGEST, "valueString": digest})
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": observation_id(encounter_id, code),
        "meta": {"profile": [PROFILE]},
        "extension": extensions,
        "status": "final" if verdict.known else "preliminary",
        "code": {"coding": [{"system": CS_FACT, "code": code, "display": question}], "text": question},
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


def indicator_observations(
    spec: IndicatorSpec,
    verdicts: dict[str, FactVerdict],
    placement: FactVerdict,
    record: EncounterRecord,
    *,
    digest: str | None,
    asserted: bool = False,
) -> list[dict[str, Any]]:
    """The fact Observations of one indicator: its denominator placement, then each verified fact (and,
    when the caller asserted the denominator, that assertion)."""
    out = [
        fact_observation(
            denominator_code(spec),
            f"是否为{spec.text.denominator}中的病例",
            None,
            placement,
            record,
            digest=digest,
        )
    ]
    for fact in spec.all_facts:
        if fact.id in verdicts:
            out.append(
                fact_observation(
                    fact_code(spec, fact), fact.question, fact, verdicts[fact.id], record, digest=digest
                )
            )
    if asserted and spec.denominator.rule:
        assertion = FactVerdict(
            fact_id="denominator-asserted", value=True, confidence=1.0, detail="asserted by the caller"
        )
        out.append(
            fact_observation(asserted_code(spec), "分母由调用方确认", None, assertion, record, digest=digest)
        )
    return out
