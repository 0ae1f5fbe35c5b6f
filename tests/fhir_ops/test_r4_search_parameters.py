"""The search-parameter table is the official R4 one (generated, and up to date with its package), and
every R4 type is indexed by it."""

from __future__ import annotations

import json

import pytest

from fhir_ops.search.indexer import index_resource
from fhir_ops.search.parameters import indexed_params_for, params_for, supported_types
from fhir_ops.search.r4 import generate


@pytest.mark.skipif(not generate.DEFINITIONS.is_dir(), reason="run `npm ci --prefix fhir_ops/search/r4`")
def test_table_is_generated_from_the_package() -> None:
    assert generate.render(generate.generate()) == generate.committed_table()


def test_every_r4_type_is_accepted() -> None:
    types = supported_types()
    assert len(types) == len(set(types)) >= 140
    assert {"Coverage", "AdverseEvent", "Location", "Medication", "MeasureReport"} <= set(types)


def test_allergy_patient_indexes_patient() -> None:
    assert params_for("AllergyIntolerance")["patient"].paths == ("patient",)
    entries = index_resource(
        {"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/p1"}, "code": {"text": "x"}}
    )
    assert any(e.param == "patient" and e.system == "Patient" and e.value == "p1" for e in entries)


def test_coverage_and_adverse_event_are_indexed_by_patient() -> None:
    coverage = index_resource({"resourceType": "Coverage", "beneficiary": {"reference": "Patient/p1"}})
    assert {(e.param, e.value) for e in coverage} >= {("patient", "p1"), ("beneficiary", "p1")}
    event = index_resource({"resourceType": "AdverseEvent", "subject": {"reference": "Patient/p2"}})
    assert ("subject", "p2") in {(e.param, e.value) for e in event}


def test_quantity_choice_and_human_name_are_indexed() -> None:
    entries = index_resource(
        {
            "resourceType": "Observation",
            "valueQuantity": {"value": 7.5, "system": "http://unitsofmeasure.org", "code": "mmol/L"},
            "effectiveDateTime": "2024-05-01",
        }
    )
    quantity = next(e for e in entries if e.param == "value-quantity")
    assert (quantity.lo, quantity.value) == (7.5, "mmol/L")
    assert any(e.param == "date" for e in entries)
    assert "value-quantity" in indexed_params_for("Observation")
    names = index_resource({"resourceType": "Patient", "name": [{"family": "Wang", "given": ["Li"]}]})
    assert {e.value for e in names if e.param == "name"} == {"wang", "li"}


def test_table_is_compact_json() -> None:
    data = json.loads(generate.OUTPUT.read_text(encoding="utf-8"))
    assert data["version"] == "4.0.1"
