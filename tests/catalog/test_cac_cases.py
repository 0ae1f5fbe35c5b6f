"""Hand-written cases for the cac spec (indicators without or with few dev rows): positive, negative, negated/planned."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from agents.methods import policy_for
from agents.qc_evaluate import qc_evaluate
from fhir_ops.data_access.record import record_from_resources
from measures.catalog.loader import SPEC_DIR, load_disease


def _record(text: str):  # type: ignore[no-untyped-def]
    data = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return record_from_resources(
        [
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
        ]
    )


async def _numerator(slug: str, measure_id: str, text: str) -> bool:
    """Numerator (denominator asserted) of one of this slug's indicators, loaded from its own spec file."""
    spec = next(i for i in load_disease(Path(SPEC_DIR) / "cac.yaml").indicators if i.id == measure_id)
    bundle = await qc_evaluate(
        _record(text), measures=[spec], denominator_asserted=True, policy=policy_for("lexical")
    )
    pops = bundle["entry"][0]["resource"]["group"][0]["population"]
    return {p["code"]["coding"][0]["code"]: p["count"] for p in pops}["numerator"] == 1


def _params(cases):  # type: ignore[no-untyped-def]
    return pytest.mark.parametrize(
        ("measure_id", "text", "expected"), cases, ids=[f"{c[0]}-{i}" for i, c in enumerate(cases)]
    )


CASES = [
    ("cac-severity-grading", "入院诊断：支气管哮喘急性发作（重度）。予甲泼尼龙静滴。", True),
    ("cac-severity-grading", "评估为中度急性发作，予雾化吸入沙丁胺醇。", True),
    ("cac-severity-grading", "诊断：危重哮喘，转入ICU行机械通气。", True),
    ("cac-severity-grading", "病情严重程度分级：重度。", True),
    ("cac-severity-grading", "诊断：支气管哮喘。予布地奈德福莫特罗吸入，症状缓解出院。", False),
    ("cac-severity-grading", "既往史：重度哮喘病史10年。入院诊断：支气管哮喘。", False),
]


@_params(CASES)
async def test_cac_case(measure_id: str, text: str, expected: bool) -> None:
    assert await _numerator("cac", measure_id, text) is expected
