from __future__ import annotations

import base64
from typing import Any

import pytest

from fhir_ops.data_access.record import EncounterRecord, record_from_resources


def note_resources(text: str, *extra: dict[str, Any]) -> list[dict[str, Any]]:
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


@pytest.fixture
def make_record() -> Any:
    def make(text: str, *extra: dict[str, Any]) -> EncounterRecord:
        return record_from_resources(note_resources(text, *extra))

    return make
