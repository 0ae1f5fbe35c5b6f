"""Hand-written cases for the lungca spec (肺癌): positive, negative, negated/planned phrasings.

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
    spec = next(i for i in load_disease(Path(SPEC_DIR) / "lungca.yaml").indicators if i.id == measure_id)
    bundle = await qc_evaluate(
        _record(text), measures=[spec], denominator_asserted=True, policy=policy_for("lexical")
    )
    pops = bundle["entry"][0]["resource"]["group"][0]["population"]
    return {p["code"]["coding"][0]["code"]: p["count"] for p in pops}["numerator"] == 1


CASES = [
    (
        "lungca-mediastinal-stations",
        "术后病理：第2R组(0/2)、第4R组(0/3)、第7组(0/2)、第9组(0/1)淋巴结未见转移。",
        True,
    ),
    ("lungca-mediastinal-stations", "术后病理：淋巴结第2、4、7、9、10、11组共13个均未见转移。", True),
    ("lungca-mediastinal-stations", "术后病理：第7组(0/2)、第10组(0/1)、第11组(0/3)淋巴结未见转移。", False),
    (
        "lungca-surgical-indication",
        "术后病理：腺癌，支气管切缘未见癌，第2组淋巴结(0/3)，第7组淋巴结(1/2)。",
        True,
    ),
    ("lungca-surgical-indication", "术后病理：鳞癌，支气管残端见癌累及，淋巴结未见转移。", False),
    ("lungca-lymph-node-dissection", "行胸腔镜右肺上叶楔形切除术，未行淋巴结清扫。", False),
    ("lungca-lymph-node-dissection", "行胸腔镜右肺上叶切除+系统性淋巴结清扫术。", True),
    ("lungca-staging-workup", "胸部增强CT、颈部彩超、全身骨扫描、上腹部CT、头颅MRI均未见转移。", True),
    ("lungca-staging-workup", "胸部CT示右上肺占位，建议行PET-CT检查。", False),
    ("lungca-pathology-before-nonsurgical", "胸部CT示右肺占位，考虑肺癌，予化疗。", False),
    (
        "lungca-pathology-before-nonsurgical",
        "CT引导下肺穿刺活检病理：（右肺）腺癌，EGFR 19外显子缺失，予奥希替尼靶向治疗。",
        True,
    ),
    ("lungca-preop-assessment", "术前肺功能：FEV1 2.1L。胸部CT示左下肺结节。", True),
    ("lungca-preop-assessment", "胸部CT示右上肺结节。患者拒绝行肺功能检查。", False),
    ("lungca-staging-workup", "入院后行PET/CT：右肺上叶代谢增高灶，未见远处转移。", True),
    ("lungca-staging-workup", "未行PET-CT检查。胸部CT示右肺占位。", False),
    ("lungca-mediastinal-stations", "清扫第2R、4R、7、9组淋巴结，术后病理均未见转移。", True),
    ("lungca-mediastinal-stations", "术后病理：4L组0/2，5组0/1，6组0/1，7组0/3，10L组0/2。", False),
    ("lungca-surgical-indication", "术后病理：支气管切缘阴性，pN0。", True),
    ("lungca-lymph-node-dissection", "术后病理：第7组淋巴结(0/3)，第10组淋巴结(0/2)。", True),
]


@pytest.mark.parametrize(
    ("measure_id", "text", "expected"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
async def test_lungca_case(measure_id: str, text: str, expected: bool) -> None:
    assert await _numerator(measure_id, text) is expected
