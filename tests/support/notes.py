"""The smallest record a note test needs (one inpatient encounter whose only document is the note), and
readers of the reports judged on it."""

from __future__ import annotations

import base64
from typing import Any

from fhir_ops.data_access.record import EncounterRecord, record_from_resources


def note_resources(text: str, *extra: dict[str, Any]) -> list[dict[str, Any]]:
    """Patient ``p1``, inpatient Encounter ``e1`` and ``text`` as DocumentReference ``d1``, then ``extra``."""
    data = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return [
        {"resourceType": "Patient", "id": "p1"},
        {
            "resourceType": "Encounter",
            "id": "e1",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        },
        {
            "resourceType": "DocumentReference",
            "id": "d1",
            "status": "current",
            "content": [{"attachment": {"contentType": "text/plain", "data": data}}],
        },
        *extra,
    ]


def note_record(text: str, *extra: dict[str, Any]) -> EncounterRecord:
    """The record of :func:`note_resources`."""
    return record_from_resources(note_resources(text, *extra))


def note_bundle(text: str, *extra: dict[str, Any]) -> dict[str, Any]:
    """The resources of :func:`note_resources` as a collection Bundle (the ``bundle`` of $qc-evaluate)."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in note_resources(text, *extra)],
    }


def population_counts(report: dict[str, Any]) -> dict[str, int]:
    """Population code → count of a MeasureReport's first group."""
    return {p["code"]["coding"][0]["code"]: p["count"] for p in report["group"][0]["population"]}


def evidence_quotes(report: dict[str, Any]) -> list[str]:
    """Every evidence quote of a qc-evaluate MeasureReport's fact Observations."""
    return [
        part["valueString"]
        for obs in report["contained"]
        for ev in obs.get("extension", [])
        if ev["url"].endswith("qc-evidence")
        for part in ev["extension"]
        if part["url"] == "quote"
    ]
