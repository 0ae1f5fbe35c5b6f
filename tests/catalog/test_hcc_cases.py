"""Hand-written cases for the hcc spec (肝癌): staging strategy completeness and ICC pathology."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from agents.methods import policy_for
from agents.qc_evaluate import qc_evaluate
from fhir_ops.data_access.record import record_from_resources
from measures.catalog.loader import SPEC_DIR, load_disease

SLUG = "hcc"


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


async def _numerator(measure_id: str, text: str) -> bool:
    spec = next(i for i in load_disease(Path(SPEC_DIR) / f"{SLUG}.yaml").indicators if i.id == measure_id)
    bundle = await qc_evaluate(
        _record(text), measures=[spec], denominator_asserted=True, policy=policy_for("lexical")
    )
    pops = bundle["entry"][0]["resource"]["group"][0]["population"]
    return {p["code"]["coding"][0]["code"]: p["count"] for p in pops}["numerator"] == 1


CASES = [
    (
        "hcc-cnlc-staging-workup",
        "上腹部增强CT：肝右叶占位，动脉期强化。腹部彩超：肝内实性占位。胸部CT：双肺未见转移。",
        True,
    ),
    ("hcc-cnlc-staging-workup", "上腹部增强CT：肝右叶占位，动脉期强化。腹部彩超：肝内实性占位。", False),
    (
        "hcc-icc-tnm-staging-workup",
        "肝脏MRI增强：肝左叶占位，考虑胆管细胞癌。腹部B超示肝内低回声。胸部CT未见异常。",
        True,
    ),
    (
        "hcc-icc-pathology-before-nonsurgical",
        "超声引导下肝穿刺活检病理：（肝）腺癌，结合免疫组化CK7(+)、CK19(+)，符合肝内胆管细胞癌。予吉西他滨+顺铂化疗。",
        True,
    ),
    ("hcc-icc-pathology-before-nonsurgical", "增强CT考虑肝内胆管癌，患者拒绝穿刺，予TACE治疗。", False),
]


@pytest.mark.parametrize(("measure_id", "text", "expected"), CASES)
async def test_case(measure_id: str, text: str, expected: bool) -> None:
    assert await _numerator(measure_id, text) is expected
