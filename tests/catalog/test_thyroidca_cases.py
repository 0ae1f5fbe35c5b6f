"""Hand-written cases for the thyroidca spec (甲状腺癌): the indicator without dev rows (central dissection) and negated/planned phrasings."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from agents.methods import policy_for
from agents.qc_evaluate import qc_evaluate
from fhir_ops.data_access.record import record_from_resources
from measures.catalog.loader import SPEC_DIR, load_disease

SLUG = "thyroidca"


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
    ("thyroidca-central-neck-dissection", "全麻下行甲状腺全切除+双侧中央区淋巴结清扫术，手术顺利。", True),
    ("thyroidca-central-neck-dissection", "术后病理：甲状腺乳头状癌，右侧VI区淋巴结(2/6)见癌转移。", True),
    ("thyroidca-central-neck-dissection", "行右侧甲状腺腺叶切除术，未行中央区淋巴结清扫。", False),
    ("thyroidca-central-neck-dissection", "行左侧甲状腺腺叶及峡部切除术，术后病理：乳头状微小癌。", False),
    (
        "thyroidca-lateral-neck-dissection",
        "行甲状腺全切+中央区淋巴结清扫术，术后病理：中央区淋巴结(1/5)见转移。",
        False,
    ),
    ("thyroidca-lateral-neck-dissection", "彩超：左颈侧区淋巴结肿大，建议行颈侧区淋巴结清扫。", False),
    ("thyroidca-lateral-neck-dissection", "行甲状腺全切+左侧改良根治性颈淋巴结清扫术（Ⅱ-Ⅳ区）。", True),
    ("thyroidca-preop-cytology", "超声引导下细针穿刺细胞学：Bethesda Ⅵ类，甲状腺乳头状癌。", True),
    ("thyroidca-preop-cytology", "建议行细针穿刺活检，患者拒绝，要求直接手术。术中冰冻：乳头状癌。", False),
    ("thyroidca-staging-workup", "甲状腺彩超：右叶低回声结节TI-RADS 4b类。胸部CT：双肺未见结节。", True),
    (
        "thyroidca-staging-workup",
        "甲状腺彩超：右叶低回声结节TI-RADS 4b类。颈部增强CT：右颈部淋巴结肿大。",
        False,
    ),
]


@pytest.mark.parametrize(("measure_id", "text", "expected"), CASES)
async def test_case(measure_id: str, text: str, expected: bool) -> None:
    assert await _numerator(measure_id, text) is expected
