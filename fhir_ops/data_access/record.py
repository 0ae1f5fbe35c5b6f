"""The encounter record: everything the agents read about one encounter, whatever the source."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from fhir_ops.errors import InvalidResource
from fhir_ops.validation import validate_resource

Resource = dict[str, Any]

#: Resource types a record gathers, keyed by the attribute that holds them.
CLINICAL_TYPES: dict[str, str] = {
    "conditions": "Condition",
    "observations": "Observation",
    "procedures": "Procedure",
    "medication_requests": "MedicationRequest",
    "medication_administrations": "MedicationAdministration",
    "diagnostic_reports": "DiagnosticReport",
    "document_references": "DocumentReference",
    "compositions": "Composition",
}


@dataclass(slots=True)
class Note:
    """A clinical note's decoded text and where it came from (``reference`` like ``DocumentReference/1``)."""

    reference: str
    text: str
    title: str | None = None
    type_code: str | None = None
    date: str | None = None


@dataclass(slots=True)
class EncounterRecord:
    patient: Resource | None
    encounter: Resource | None
    conditions: list[Resource] = field(default_factory=list)
    observations: list[Resource] = field(default_factory=list)
    procedures: list[Resource] = field(default_factory=list)
    medication_requests: list[Resource] = field(default_factory=list)
    medication_administrations: list[Resource] = field(default_factory=list)
    diagnostic_reports: list[Resource] = field(default_factory=list)
    document_references: list[Resource] = field(default_factory=list)
    compositions: list[Resource] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    def resources(self) -> list[Resource]:
        """Every resource of the record, patient and encounter first."""
        out: list[Resource] = [r for r in (self.patient, self.encounter) if r is not None]
        for attr in CLINICAL_TYPES:
            out.extend(getattr(self, attr))
        return out

    def as_bundle(self) -> Resource:
        return {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"fullUrl": f"{r['resourceType']}/{r.get('id', '')}", "resource": r} for r in self.resources()
            ],
        }


class ClinicalDataSource(Protocol):
    """Where encounter records come from: the embedded store, an upstream FHIR server, a CDS prefetch."""

    async def encounter_record(self, encounter_id: str) -> EncounterRecord:
        """The record of one encounter; raises :class:`fhir_ops.errors.NotFound` if there is none."""
        ...

    async def patient_encounters(self, patient_id: str) -> list[Resource]: ...


def decode_attachment_text(attachment: dict[str, Any]) -> str | None:
    """Text of a ``text/*`` attachment carried inline as base64 ``data``; None otherwise."""
    data = attachment.get("data")
    content_type = str(attachment.get("contentType") or "text/plain")
    if not data or not content_type.startswith("text/"):
        return None
    try:
        raw = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None
    return raw.decode("utf-8", errors="replace")


def notes_of(document_references: list[Resource], compositions: list[Resource]) -> list[Note]:
    """Decode the notes carried by DocumentReferences (inline text attachments) and Compositions."""
    notes: list[Note] = []
    for doc in document_references:
        for content in doc.get("content") or []:
            text = decode_attachment_text(content.get("attachment") or {})
            if text:
                type_ = (doc.get("type") or {}).get("coding") or [{}]
                notes.append(
                    Note(
                        reference=f"DocumentReference/{doc.get('id')}",
                        text=text,
                        title=(content.get("attachment") or {}).get("title") or doc.get("description"),
                        type_code=type_[0].get("code"),
                        date=doc.get("date"),
                    )
                )
    for comp in compositions:
        parts = [comp.get("title") or ""]
        for section in comp.get("section") or []:
            div = ((section.get("text") or {}).get("div")) or ""
            parts.append(f"{section.get('title') or ''}\n{_strip_tags(div)}")
        text = "\n".join(p for p in parts if p).strip()
        if text:
            notes.append(Note(reference=f"Composition/{comp.get('id')}", text=text, title=comp.get("title")))
    return notes


def _strip_tags(xhtml: str) -> str:
    return re.sub(r"<[^>]+>", "", xhtml)


#: Validation errors a lenient reader tolerates: data the agents do not read (an unknown element, a
#: missing required element, a placeholder value the published CDS Hooks examples carry).
_TOLERATED = {"extra_forbidden", "missing"}


def _unchecked(resource: Resource) -> Resource:
    return resource


def _checked_resource(resource: Resource) -> Resource:
    """The resource, parsed leniently (requests are not always strictly valid FHIR), unless an element is
    present with the wrong shape (e.g. a Condition.code that is a string, an attachment.data that is a
    number): the agents read those elements as their R4 types, so that is a 422 naming the element."""
    try:
        return validate_resource(resource)
    except InvalidResource as exc:
        if all(kind in _TOLERATED for kind in exc.kinds):
            return resource
        raise


def record_from_resources(
    resources: list[Resource], encounter_id: str | None = None, *, validate: bool = True
) -> EncounterRecord:
    """Assemble the record of one encounter from a flat list of resources (a Bundle's, a prefetch's).

    With ``encounter_id`` None the only Encounter is used; resources that name another encounter are
    left out, resources that name none are kept (a lone bundle is usually one stay). ``validate=False``
    is for an internal hop — resources of a record already assembled (and checked) at the boundary —
    where validating again costs a third of a hook's CPU and changes nothing (validation returns its
    input unchanged).
    """
    _checked = _checked_resource if validate else _unchecked
    resources = [r for r in resources if isinstance(r, dict)]
    encounters = [r for r in resources if r.get("resourceType") == "Encounter"]
    encounter: Resource | None = None
    if encounter_id is not None:
        encounter = next((e for e in encounters if e.get("id") == encounter_id), None)
    elif len(encounters) == 1:
        encounter = encounters[0]
    patient = next((r for r in resources if r.get("resourceType") == "Patient"), None)
    record = EncounterRecord(
        patient=_checked(patient) if patient else None, encounter=_checked(encounter) if encounter else None
    )
    enc_ref = f"Encounter/{encounter.get('id')}" if encounter else None
    by_type = {v: k for k, v in CLINICAL_TYPES.items()}
    for res in resources:
        attr = by_type.get(str(res.get("resourceType")))
        if attr is None:
            continue
        if enc_ref is not None:
            key = "context" if res.get("resourceType") in {"MedicationAdministration"} else "encounter"
            ctx = res.get(key) or (res.get("context") or {}).get("encounter")
            if isinstance(ctx, list):
                ctx = ctx[0] if ctx else None
            if isinstance(ctx, dict) and ctx.get("reference") and not str(ctx["reference"]).endswith(enc_ref):
                continue
        getattr(record, attr).append(_checked(res))
    record.notes = notes_of(record.document_references, record.compositions)
    return record
