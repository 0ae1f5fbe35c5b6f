"""Hand-written cases for the crc spec (结直肠癌): positive, negative, negated/planned phrasings.

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
    spec = next(i for i in load_disease(Path(SPEC_DIR) / "crc.yaml").indicators if i.id == measure_id)
    bundle = await qc_evaluate(
        _record(text), measures=[spec], denominator_asserted=True, policy=policy_for("lexical")
    )
    pops = bundle["entry"][0]["resource"]["group"][0]["population"]
    return {p["code"]["coding"][0]["code"]: p["count"] for p in pops}["numerator"] == 1


CASES = [
    ("crc-lymph-nodes-12", "术后病理：直肠腺癌，肠周淋巴结(1/18)见癌转移。", True),
    ("crc-lymph-nodes-12", "术后病理：乙状结肠腺癌，肠系膜淋巴结0/10。", False),
    ("crc-staging-workup", "胸部CT平扫+增强、全腹部及盆腔增强CT：乙状结肠壁增厚。", True),
    ("crc-staging-workup", "胸腹盆CT平扫：直肠壁增厚。", False),
    ("crc-pathology-before-nonsurgical", "肠镜活检病理：（直肠）中分化腺癌。行新辅助放化疗。", True),
    ("crc-pathology-before-nonsurgical", "肠镜示直肠肿物，考虑直肠癌，活检病理未回即行化疗。", False),
    ("crc-lymph-nodes-12", "术后病理：（肠系膜淋巴结）0/14，未见转移。", True),
    ("crc-lymph-nodes-12", "术后病理：LN 0/15。", True),
    ("crc-pathology-before-nonsurgical", "肠镜：直肠距肛缘5cm溃疡型肿物，活检：（直肠）黏液腺癌。", True),
]


@pytest.mark.parametrize(
    ("measure_id", "text", "expected"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
async def test_crc_case(measure_id: str, text: str, expected: bool) -> None:
    assert await _numerator(measure_id, text) is expected
