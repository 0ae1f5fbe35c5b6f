"""Hand-written cases for the asah spec (indicators without or with few dev rows): positive, negative, negated/planned."""

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
    spec = next(i for i in load_disease(Path(SPEC_DIR) / f"{slug}.yaml").indicators if i.id == measure_id)
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
    (
        "asah-complete-occlusion",
        "全麻下行动脉瘤弹簧圈栓塞术，术后即刻造影示动脉瘤致密栓塞，载瘤动脉通畅。",
        True,
    ),
    ("asah-complete-occlusion", "术后复查CTA示动脉瘤夹闭完全，未见动脉瘤显影。", True),
    ("asah-complete-occlusion", "术后造影示动脉瘤瘤颈少许残留（Raymond Ⅱ级）。", False),
    ("asah-complete-occlusion", "行动脉瘤夹闭术，术后予抗血管痉挛治疗。", False),
    (
        "asah2-preop-assessment",
        "查体：神清，颈抵抗(+)。辅助检查：头颅CT示蛛网膜下腔出血；头颅CTA示前交通动脉瘤；DSA示前交通动脉瘤。",
        True,
    ),
    (
        "asah2-preop-assessment",
        "查体：神清，颈抵抗(+)。辅助检查：头颅CT示蛛网膜下腔出血。建议行DSA检查，家属拒绝。",
        False,
    ),
    (
        "asah2-preop-assessment",
        "查体：神清，颈强(+)，克氏征阳性。辅助检查：头颅CT+CTA示蛛网膜下腔出血、右侧后交通动脉瘤。入院后行全脑血管造影证实。",
        True,
    ),
    ("asah2-preop-assessment", "查体：神清。辅助检查：头颅CTA示前交通动脉瘤。拟行DSA检查。", False),
]


@_params(CASES)
async def test_asah_case(measure_id: str, text: str, expected: bool) -> None:
    assert (
        await _numerator("asah2" if measure_id.startswith("asah2") else "asah", measure_id, text) is expected
    )
