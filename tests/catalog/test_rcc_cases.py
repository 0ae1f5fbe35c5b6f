"""Hand-written cases for the rcc spec (肾癌): staging strategy and pathology that must confirm renal cell carcinoma."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from agents.methods import policy_for
from agents.qc_evaluate import qc_evaluate
from fhir_ops.data_access.record import record_from_resources
from measures.catalog.loader import SPEC_DIR, load_disease

SLUG = "rcc"


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
        "rcc-staging-workup",
        "泌尿系彩超：右肾实性占位。腹部增强CT：右肾占位，考虑肾癌。胸片：心肺未见异常。",
        True,
    ),
    ("rcc-staging-workup", "泌尿系彩超：右肾实性占位。腹部增强CT：右肾占位，考虑肾癌。", False),
    (
        "rcc-pathology-before-nonsurgical",
        "CT引导下肾穿刺活检病理：透明细胞性肾细胞癌，予射频消融治疗。",
        True,
    ),
    ("rcc-pathology-before-nonsurgical", "增强CT：左肾占位，考虑透明细胞癌可能，予靶向治疗。", False),
    ("rcc-pathology-before-nonsurgical", "输尿管镜活检病理：肾盂高级别尿路上皮癌。", False),
]


@pytest.mark.parametrize(("measure_id", "text", "expected"), CASES)
async def test_case(measure_id: str, text: str, expected: bool) -> None:
    assert await _numerator(measure_id, text) is expected
