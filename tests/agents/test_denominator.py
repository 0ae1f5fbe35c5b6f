"""Which indicators an encounter may belong to, from coded diagnoses or diagnosis terms in the notes."""

from __future__ import annotations

import base64

import pytest

from agents.denominator import may_belong
from fhir_ops.data_access.record import EncounterRecord, record_from_resources
from measures.catalog import spec_for


def _record(text: str, conditions: list[dict[str, object]] | None = None) -> EncounterRecord:
    note = base64.b64encode(text.encode()).decode()
    return record_from_resources(
        [
            {"resourceType": "Encounter", "id": "e", "status": "finished", "class": {"code": "IMP"}},
            {
                "resourceType": "DocumentReference",
                "id": "n",
                "status": "current",
                "content": [{"attachment": {"contentType": "text/plain", "data": note}}],
            },
            *(conditions or []),
        ]
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("既往史：2型糖尿病10年，口服二甲双胍。", True),
        ("否认糖尿病、冠心病病史。", False),
        ("血糖偏高，糖尿病待排。", False),
    ],
)
def test_diagnosis_terms_respect_negation(text: str, expected: bool) -> None:
    spec = spec_for("dm-chronic-complication-assessment")
    assert spec is not None
    assert may_belong(spec, _record(text)) is expected


def test_coded_diagnosis_places_the_encounter() -> None:
    spec = spec_for("af-bleeding-risk")
    assert spec is not None
    condition = {
        "resourceType": "Condition",
        "id": "c",
        "subject": {"reference": "Patient/p"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "49436004"}]},
    }
    assert may_belong(spec, _record("出院。", [condition]))
    assert not may_belong(spec, _record("出院。"))
