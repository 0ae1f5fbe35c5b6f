"""Hand-written cases for the cap spec (indicators without or with few dev rows): positive, negative, negated/planned."""

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
    spec = next(i for i in load_disease(Path(SPEC_DIR) / "cap.yaml").indicators if i.id == measure_id)
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
    ("cap-severity-assessment", "入院诊断：社区获得性肺炎。入院后行CURB-65评分2分，中危，收入院治疗。", True),
    ("cap-severity-assessment", "社区获得性肺炎，PSI评分85分，Ⅲ级。予头孢曲松抗感染。", True),
    ("cap-severity-assessment", "CRB-65评分1分。", True),
    ("cap-severity-assessment", "诊断：社区获得性肺炎。予莫西沙星抗感染治疗，体温正常后出院。", False),
    ("cap-severity-assessment", "未行CURB-65评分。予抗感染治疗。", False),
    ("cap-low-risk-admission", "入院CURB-65评分1分，低危。", True),
    ("cap-low-risk-admission", "CURB-65评分0分。", True),
    ("cap-low-risk-admission", "CURB-65评分3分，高危，收入ICU。", False),
    ("cap-low-risk-admission", "CRB-65评分0分。", True),
    ("cap-low-risk-admission", "CRB-65评分1分。", False),
    ("cap-low-risk-admission", "PSI评分90分。", True),
    ("cap-low-risk-admission", "PSI评分95分，Ⅳ级。", False),
    ("cap-low-risk-admission", "社区获得性肺炎，予抗感染治疗。", False),
]


@_params(CASES)
async def test_cap_case(measure_id: str, text: str, expected: bool) -> None:
    assert await _numerator("cap", measure_id, text) is expected
