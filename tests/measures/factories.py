"""Factories for synthetic FHIR R4 resources used by the indicator test patients and the benchmark."""

from __future__ import annotations

from typing import Any

ICD10_CN = "http://medqc.org/fhir/CodeSystem/icd-10-cn-clinical-2.0"
ICD9CM3 = "http://hl7.org/fhir/sid/icd-9-cm"
FACTS = "http://medqc.org/fhir/CodeSystem/medqc-facts"
LOINC = "http://loinc.org"
ATC = "http://www.whocc.no/atc"

Resource = dict[str, Any]


def patient(pid: str, *, birth: str = "1950-05-01", gender: str = "male") -> Resource:
    return {"resourceType": "Patient", "id": pid, "gender": gender, "birthDate": birth}


def encounter(
    eid: str,
    pid: str,
    *,
    start: str = "2024-03-01T08:00:00Z",
    end: str = "2024-03-08T10:00:00Z",
    status: str = "finished",
    klass: str = "IMP",
    died: bool = False,
) -> Resource:
    enc: Resource = {
        "resourceType": "Encounter",
        "id": eid,
        "status": status,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": klass},
        "subject": {"reference": f"Patient/{pid}"},
        "period": {"start": start, "end": end},
    }
    if died:
        enc["hospitalization"] = {
            "dischargeDisposition": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/discharge-disposition", "code": "exp"}
                ]
            }
        }
    return enc


def condition(cid: str, pid: str, eid: str, code: str, *, system: str = ICD10_CN) -> Resource:
    return {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}
            ]
        },
        "verificationStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}
            ]
        },
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": f"Patient/{pid}"},
        "encounter": {"reference": f"Encounter/{eid}"},
    }


def observation(
    oid: str,
    pid: str,
    eid: str,
    code: str,
    *,
    system: str = FACTS,
    when: str = "2024-03-02T09:00:00Z",
    value: Resource | None = None,
    status: str = "final",
) -> Resource:
    obs: Resource = {
        "resourceType": "Observation",
        "id": oid,
        "status": status,
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": f"Patient/{pid}"},
        "encounter": {"reference": f"Encounter/{eid}"},
        "effectiveDateTime": when,
    }
    obs.update(value if value is not None else {"valueInteger": 3})
    return obs


def percent(value: float) -> Resource:
    return {
        "valueQuantity": {"value": value, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}
    }


def procedure(prid: str, pid: str, eid: str, code: str, *, when: str = "2024-03-02T10:00:00Z") -> Resource:
    return {
        "resourceType": "Procedure",
        "id": prid,
        "status": "completed",
        "code": {"coding": [{"system": ICD9CM3, "code": code}]},
        "subject": {"reference": f"Patient/{pid}"},
        "encounter": {"reference": f"Encounter/{eid}"},
        "performedDateTime": when,
    }


def discharge_rx(mid: str, pid: str, eid: str, atc: str) -> Resource:
    return {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": "active",
        "intent": "order",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category",
                        "code": "discharge",
                    }
                ]
            }
        ],
        "medicationCodeableConcept": {"coding": [{"system": ATC, "code": atc}]},
        "subject": {"reference": f"Patient/{pid}"},
        "encounter": {"reference": f"Encounter/{eid}"},
        "authoredOn": "2024-03-08T09:00:00Z",
    }


def allergy(aid: str, pid: str, atc: str) -> Resource:
    return {
        "resourceType": "AllergyIntolerance",
        "id": aid,
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                    "code": "active",
                }
            ]
        },
        "code": {"coding": [{"system": ATC, "code": atc}]},
        "patient": {"reference": f"Patient/{pid}"},
    }
