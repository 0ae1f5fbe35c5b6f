"""The structured verifier: facts answered by coded resources (Procedure, Observation, medications...)."""

from __future__ import annotations

from typing import Any

from fhirpathpy import evaluate as fhirpath

from agents.verifiers.base import Evidence, FactValue, FactVerdict
from agents.verifiers.context import VerificationContext
from fhir_ops.data_access.record import Resource
from measures.catalog.schema import FactSpec, StructuredMapping

#: The CodeableConcept holding a resource's code, per resource type.
CODE_PATH: dict[str, str] = {
    "Procedure": "code",
    "Observation": "code",
    "Condition": "code",
    "DiagnosticReport": "code",
    "MedicationRequest": "medicationCodeableConcept",
    "MedicationAdministration": "medicationCodeableConcept",
}
RECORD_ATTR: dict[str, str] = {
    "Procedure": "procedures",
    "Observation": "observations",
    "Condition": "conditions",
    "DiagnosticReport": "diagnostic_reports",
    "MedicationRequest": "medication_requests",
    "MedicationAdministration": "medication_administrations",
}
#: Statuses that say the thing did not happen (negative evidence) or must be ignored.
NEGATIVE_STATUS = {"not-done", "cancelled", "stopped", "refuted"}
IGNORED_STATUS = {"entered-in-error"}
DEFAULT_VALUE_PATH = {
    "number": "valueQuantity.value",
    "datetime": "effectiveDateTime | performedDateTime | performedPeriod.start | authoredOn",
    "category": "valueCodeableConcept.coding.code | valueString",
    "boolean": "valueBoolean",
}
STRUCTURED_CONFIDENCE = 0.99


def _codes_match(resource: Resource, mapping: StructuredMapping) -> bool:
    concept = resource.get(CODE_PATH[mapping.resource]) or {}
    for coding in concept.get("coding") or []:
        if coding.get("system") != mapping.system_url:
            continue
        code = str(coding.get("code") or "")
        for wanted in mapping.codes:
            if code == wanted or (wanted.endswith("*") and code.startswith(wanted[:-1])):
                return True
    return False


def _category_match(resource: Resource, category: str | None) -> bool:
    if category is None:
        return True
    cats = resource.get("category") or []
    cats = cats if isinstance(cats, list) else [cats]
    return any(c.get("code") == category for cat in cats for c in (cat.get("coding") or []))


def _status(resource: Resource) -> str:
    status = resource.get("status")
    if resource.get("resourceType") == "Condition":
        codings = (resource.get("verificationStatus") or {}).get("coding") or [{}]
        status = codings[0].get("code")
    return str(status or "")


def _value(resource: Resource, fact: FactSpec, mapping: StructuredMapping) -> FactValue:
    path = mapping.value or DEFAULT_VALUE_PATH[fact.type]
    try:
        found: list[Any] = fhirpath(resource, path)
    except Exception:  # fhirpathpy raises bare exceptions on bad paths
        return None
    for item in found:
        if isinstance(item, bool):
            return item
        if isinstance(item, int | float):
            return float(item)
        if isinstance(item, str):
            return item
    return None


class StructuredVerifier:
    """Looks for the fact's code mappings in the record's coded resources; absence is *unknown*."""

    name = "structured"

    async def verify(self, fact: FactSpec, ctx: VerificationContext) -> FactVerdict:
        positive: list[Resource] = []
        negative: list[Resource] = []
        values: list[tuple[FactValue, Resource]] = []
        for mapping in fact.structured:
            for res in getattr(ctx.record, RECORD_ATTR[mapping.resource]):
                status = _status(res)
                if status in IGNORED_STATUS or not _codes_match(res, mapping):
                    continue
                if not _category_match(res, mapping.category):
                    continue
                if status in NEGATIVE_STATUS:
                    negative.append(res)
                    continue
                positive.append(res)
                if fact.type != "boolean" or mapping.value:
                    value = _value(res, fact, mapping)
                    if value is not None:
                        values.append((value, res))
        if fact.type == "boolean":
            if positive:
                return self._verdict(fact, True, positive)
            if negative:
                return self._verdict(fact, False, negative)
        elif values:
            return self._verdict(fact, values[0][0], [values[0][1]])
        return FactVerdict(fact_id=fact.id, method="structured", detail="no coded data")

    @staticmethod
    def _verdict(fact: FactSpec, value: FactValue, resources: list[Resource]) -> FactVerdict:
        return FactVerdict(
            fact_id=fact.id,
            value=value,
            method="structured",
            confidence=STRUCTURED_CONFIDENCE,
            evidence=[Evidence(reference=f"{r['resourceType']}/{r.get('id')}") for r in resources[:5]],
        )
