"""``$icd-suggest``: ranked 国家临床版2.0 ICD-10 codes for an encounter, as ``Parameters``.

Each ``suggestion`` has the parts ``code`` (valueCoding), ``rank`` (1 = best), ``confidence``, ``tier``
(accept ≥ 0.9, review 0.7–0.9, reference below), ``role`` (primary | secondary), ``evidence`` (verbatim
quotes, repeatable) and ``condition`` (a provisional encounter-diagnosis Condition to create on
acceptance). Exactly one suggestion is the primary with rank 1.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.parameters import Parameters

from agents.drafting.resources import ref
from agents.icd.suggest import Suggestion
from agents.operations.common import RECORD_PARAMETERS, record_of
from fhir_ops.data_access.record import EncounterRecord
from fhir_ops.operations.registry import Operation, OperationParam, OperationRequest
from knowledge_base.icd.table import ICD_SYSTEM

CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"


def coding(s: Suggestion) -> dict[str, str]:
    return {"system": ICD_SYSTEM, "code": s.entry.code, "display": s.entry.name}


def condition(s: Suggestion, record: EncounterRecord) -> dict[str, Any]:
    """The Condition the suggestion proposes: provisional, encounter-diagnosis."""
    cond: dict[str, Any] = {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": VERIFICATION, "code": "provisional"}]},
        "category": [{"coding": [{"system": CONDITION_CATEGORY, "code": "encounter-diagnosis"}]}],
        "code": {"coding": [coding(s)], "text": s.mention},
        "note": [{"text": f"MedQC ICD-10 suggestion ({s.role}, rank {s.rank}, confidence {s.confidence})"}],
    }
    subject = ref(record.patient)
    cond["subject"] = subject or {"display": "unknown patient"}
    if (encounter := ref(record.encounter)) is not None:
        cond["encounter"] = encounter
    return cond


def suggestion_parameters(suggestions: list[Suggestion], record: EncounterRecord) -> dict[str, Any]:
    params: list[dict[str, Any]] = []
    for s in suggestions:
        quotes = list(dict.fromkeys(e.text for e in s.evidence if e.text))
        params.append(
            {
                "name": "suggestion",
                "part": [
                    {"name": "code", "valueCoding": coding(s)},
                    {"name": "rank", "valueInteger": s.rank},
                    {"name": "confidence", "valueDecimal": s.confidence},
                    {"name": "tier", "valueCode": s.tier},
                    {"name": "role", "valueCode": s.role},
                    *({"name": "evidence", "valueString": q} for q in quotes),
                    {"name": "condition", "resource": condition(s, record)},
                ],
            }
        )
    out = {"resourceType": "Parameters", "parameter": params}
    Parameters.model_validate(out)
    for s in suggestions:
        Condition.model_validate(condition(s, record))
    return out


async def icd_suggest_handler(request: OperationRequest) -> dict[str, Any]:
    from agents.orchestration.runs import icd_suggest  # the run's step uses this module

    return await icd_suggest(request.services.orchestrator, await record_of(request))


OPERATION = Operation(
    code="icd-suggest",
    title="ICD-10 (国家临床版2.0) code suggestions for an encounter",
    description="Diagnosis mentions of the record (入院诊断, 出院诊断, 诊疗经过, 出院情况, "
    "coded Conditions) matched to the 国家临床版2.0 table by retrieval over code names and "
    "synonyms, ranked with the primary-diagnosis rules. Returns Parameters with one repeated "
    "'suggestion' (code, rank, confidence, tier, role, evidence, condition); exactly one primary "
    "suggestion has rank 1.",
    levels=("system", "instance"),
    resource_types=("Encounter",),
    handler=icd_suggest_handler,
    parameters=(
        *RECORD_PARAMETERS,
        OperationParam("suggestion", "Element", use="out", max="*", documentation="One suggested code"),
    ),
    affects_state=False,
)
