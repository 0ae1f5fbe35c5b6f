"""Hand-written cases for the breastca spec (乳腺癌): positive, negative, negated/planned phrasings.

Covers the indicators without dev rows and the rules' edge cases (thresholds, staging completeness, station lists).
"""

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


async def _numerator(measure_id: str, text: str) -> bool:
    spec = next(i for i in load_disease(Path(SPEC_DIR) / "breastca.yaml").indicators if i.id == measure_id)
    bundle = await qc_evaluate(
        _record(text), measures=[spec], denominator_asserted=True, policy=policy_for("lexical")
    )
    pops = bundle["entry"][0]["resource"]["group"][0]["population"]
    return {p["code"]["coding"][0]["code"]: p["count"] for p in pops}["numerator"] == 1


CASES = [
    ("breastca-clinical-tnm", "左乳肿物穿刺：浸润性导管癌。临床分期cT2N1M0，行新辅助化疗。", True),
    ("breastca-clinical-tnm", "左乳肿物穿刺：浸润性导管癌。行左乳癌改良根治术，术后病理分期pT2N1M0。", False),
    ("breastca-clinical-tnm", "入院诊断：左乳腺癌（T2N0M0 IIA期）。", True),
    ("breastca-axillary-nodes-10", "术后病理：腋窝淋巴结0/8，前哨淋巴结0/3。", False),
    ("breastca-axillary-nodes-10", "术后病理：左腋窝淋巴结见癌转移（3/21）。", True),
    ("breastca-axillary-nodes-10", "术后病理：前哨淋巴结（0/12）未见转移。", False),
    (
        "breastca-staging-workup",
        "乳腺彩超：左乳低回声结节BI-RADS 4c。胸部CT：未见转移。肝胆胰脾彩超未见异常。",
        True,
    ),
    ("breastca-staging-workup", "乳腺钼靶：左乳肿块。胸片未见异常，腹部B超未见异常。", False),
    ("breastca-pathology-before-nonsurgical", "左乳空芯针穿刺病理：浸润性小叶癌。予新辅助化疗。", True),
    ("breastca-pathology-before-nonsurgical", "乳腺彩超示左乳肿物，考虑乳腺癌可能，予化疗。", False),
    ("breastca-clinical-tnm", "临床分期：cT2N1M0 IIB期。", True),
    ("breastca-staging-workup", "乳腺彩超BI-RADS 5类。PET-CT：左乳高代谢灶，余未见异常。", True),
    ("breastca-staging-workup", "乳腺超声示左乳肿块，拟行胸部CT及腹部超声检查。", False),
]


@pytest.mark.parametrize(
    ("measure_id", "text", "expected"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
async def test_breastca_case(measure_id: str, text: str, expected: bool) -> None:
    assert await _numerator(measure_id, text) is expected
