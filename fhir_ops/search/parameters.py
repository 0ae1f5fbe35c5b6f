"""The search parameters the embedded store supports, per resource type (one list, used everywhere).

The CapabilityStatement, the indexer and the query parser all read :data:`SEARCH_PARAMETERS`, so the
store cannot claim a parameter it does not index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ParamType = Literal["token", "reference", "date", "string", "uri"]


@dataclass(frozen=True, slots=True)
class SearchParam:
    name: str
    type: ParamType
    paths: tuple[str, ...]
    """Dotted element paths; a path segment ending in ``[x]`` matches every choice type."""
    targets: tuple[str, ...] = ()
    documentation: str = ""


def _p(name: str, type_: ParamType, *paths: str, targets: tuple[str, ...] = (), doc: str = "") -> SearchParam:
    return SearchParam(name, type_, tuple(paths), targets, doc)


_PATIENT = ("Patient",)
_ENCOUNTER = ("Encounter",)

_CLINICAL_COMMON = (
    _p("patient", "reference", "subject", targets=_PATIENT, doc="The patient (subject) of the resource"),
    _p("subject", "reference", "subject", doc="Who the resource is about"),
    _p("identifier", "token", "identifier"),
)

_CANONICAL_COMMON = (
    _p("url", "uri", "url"),
    _p("version", "token", "version"),
    _p("name", "string", "name"),
    _p("title", "string", "title"),
    _p("status", "token", "status"),
    _p("identifier", "token", "identifier"),
)

SEARCH_PARAMETERS: dict[str, tuple[SearchParam, ...]] = {
    "Patient": (
        _p("identifier", "token", "identifier"),
        _p("name", "string", "name.family", "name.given", "name.text"),
        _p("family", "string", "name.family"),
        _p("given", "string", "name.given"),
        _p("birthdate", "date", "birthDate"),
        _p("gender", "token", "gender"),
    ),
    "Practitioner": (
        _p("identifier", "token", "identifier"),
        _p("name", "string", "name.family", "name.given", "name.text"),
    ),
    "Organization": (
        _p("identifier", "token", "identifier"),
        _p("name", "string", "name"),
    ),
    "Location": (_p("identifier", "token", "identifier"), _p("name", "string", "name")),
    "Group": (
        _p("identifier", "token", "identifier"),
        _p("member", "reference", "member.entity"),
        _p("type", "token", "type"),
    ),
    "Encounter": (
        *_CLINICAL_COMMON,
        _p("status", "token", "status"),
        _p("class", "token", "class"),
        _p("type", "token", "type"),
        _p("date", "date", "period"),
        _p("period", "date", "period", doc="Alias of date: the encounter's period"),
        _p("reason-code", "token", "reasonCode"),
        _p("diagnosis", "reference", "diagnosis.condition"),
    ),
    "Condition": (
        *_CLINICAL_COMMON,
        _p("encounter", "reference", "encounter", targets=_ENCOUNTER),
        _p("code", "token", "code"),
        _p("clinical-status", "token", "clinicalStatus"),
        _p("verification-status", "token", "verificationStatus"),
        _p("category", "token", "category"),
        _p("onset-date", "date", "onset[x]"),
        _p("recorded-date", "date", "recordedDate"),
    ),
    "Observation": (
        *_CLINICAL_COMMON,
        _p("encounter", "reference", "encounter", targets=_ENCOUNTER),
        _p("code", "token", "code"),
        _p("category", "token", "category"),
        _p("status", "token", "status"),
        _p("date", "date", "effective[x]"),
        _p("value-concept", "token", "valueCodeableConcept"),
    ),
    "Procedure": (
        *_CLINICAL_COMMON,
        _p("encounter", "reference", "encounter", targets=_ENCOUNTER),
        _p("code", "token", "code"),
        _p("category", "token", "category"),
        _p("status", "token", "status"),
        _p("date", "date", "performed[x]"),
    ),
    "MedicationRequest": (
        *_CLINICAL_COMMON,
        _p("encounter", "reference", "encounter", targets=_ENCOUNTER),
        _p("code", "token", "medicationCodeableConcept"),
        _p("status", "token", "status"),
        _p("intent", "token", "intent"),
        _p("category", "token", "category"),
        _p("authoredon", "date", "authoredOn"),
    ),
    "MedicationAdministration": (
        *_CLINICAL_COMMON,
        _p("context", "reference", "context", targets=_ENCOUNTER),
        _p("encounter", "reference", "context", targets=_ENCOUNTER, doc="Alias of context"),
        _p("code", "token", "medicationCodeableConcept"),
        _p("status", "token", "status"),
        _p("effective-time", "date", "effective[x]"),
    ),
    "DiagnosticReport": (
        *_CLINICAL_COMMON,
        _p("encounter", "reference", "encounter", targets=_ENCOUNTER),
        _p("code", "token", "code"),
        _p("category", "token", "category"),
        _p("status", "token", "status"),
        _p("date", "date", "effective[x]"),
    ),
    "DocumentReference": (
        *_CLINICAL_COMMON,
        _p("encounter", "reference", "context.encounter", targets=_ENCOUNTER),
        _p("type", "token", "type"),
        _p("category", "token", "category"),
        _p("status", "token", "status"),
        _p("date", "date", "date"),
        _p("period", "date", "context.period"),
    ),
    "Composition": (
        *_CLINICAL_COMMON,
        _p("encounter", "reference", "encounter", targets=_ENCOUNTER),
        _p("type", "token", "type"),
        _p("category", "token", "category"),
        _p("status", "token", "status"),
        _p("date", "date", "date"),
    ),
    "AllergyIntolerance": (*_CLINICAL_COMMON[:1], _p("code", "token", "code")),
    "Immunization": (
        _p("patient", "reference", "patient", targets=_PATIENT),
        _p("date", "date", "occurrence[x]"),
    ),
    "CarePlan": (*_CLINICAL_COMMON, _p("encounter", "reference", "encounter", targets=_ENCOUNTER)),
    "Claim": (_p("patient", "reference", "patient", targets=_PATIENT),),
    "ExplanationOfBenefit": (_p("patient", "reference", "patient", targets=_PATIENT),),
    "Task": (
        _p("patient", "reference", "for", targets=_PATIENT),
        _p("encounter", "reference", "encounter", targets=_ENCOUNTER),
        _p("status", "token", "status"),
        _p("code", "token", "code"),
        _p("identifier", "token", "identifier"),
    ),
    "CommunicationRequest": (
        *_CLINICAL_COMMON,
        _p("encounter", "reference", "encounter", targets=_ENCOUNTER),
        _p("status", "token", "status"),
    ),
    "Measure": _CANONICAL_COMMON,
    "Library": _CANONICAL_COMMON,
    "ValueSet": _CANONICAL_COMMON,
    "CodeSystem": _CANONICAL_COMMON,
    "MeasureReport": (
        _p("patient", "reference", "subject", targets=_PATIENT),
        _p("subject", "reference", "subject"),
        _p("measure", "uri", "measure"),
        _p("evaluated-resource", "reference", "evaluatedResource"),
        _p("status", "token", "status"),
        _p("date", "date", "date"),
        _p("period", "date", "period"),
        _p("identifier", "token", "identifier"),
    ),
    "Provenance": (_p("target", "reference", "target"),),
}

#: Resource types the store accepts beyond those with search parameters (read/write and _id only).
PLAIN_TYPES: tuple[str, ...] = (
    "Device",
    "DeviceRequest",
    "Medication",
    "ImagingStudy",
    "SupplyDelivery",
    "CareTeam",
    "PractitionerRole",
    "Basic",
    "Questionnaire",
    "QuestionnaireResponse",
    "ServiceRequest",
    "Specimen",
    "Goal",
    "FamilyMemberHistory",
    "RiskAssessment",
    "ClinicalImpression",
    "OperationDefinition",
    "StructureDefinition",
    "SearchParameter",
    "Binary",
    "List",
)

#: Parameters every type accepts (handled by the query builder itself).
COMMON_PARAMETERS: tuple[SearchParam, ...] = (
    _p("_id", "token", "id"),
    _p("_lastUpdated", "date", "meta.lastUpdated"),
)

#: Result parameters: control the result, never filter it.
RESULT_PARAMETERS: frozenset[str] = frozenset(
    {"_count", "_offset", "_sort", "_include", "_summary", "_format", "_total", "_elements"}
)


def supported_types() -> tuple[str, ...]:
    return tuple(sorted({*SEARCH_PARAMETERS, *PLAIN_TYPES}))


def params_for(resource_type: str) -> dict[str, SearchParam]:
    return {p.name: p for p in SEARCH_PARAMETERS.get(resource_type, ())}
