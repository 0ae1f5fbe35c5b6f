"""Hand-written cases for the ich spec (indicators without or with few dev rows): positive, negative, negated/planned."""

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
    ("ich-bp-control", "入院BP 196/110mmHg，予乌拉地尔静脉泵入控制血压，血压降至150/90mmHg。", True),
    (
        "ich-bp-control",
        "既往史：高血压病史，口服氨氯地平。查体：入院BP 190/100mmHg。予脱水降颅压治疗。",
        False,
    ),
    ("ich-surgical-indication", "头颅CT示左侧基底节区脑出血，出血量约45ml，中线结构右移。", True),
    ("ich-surgical-indication", "头颅CT示右侧丘脑出血，出血量约12ml，未破入脑室。", False),
    ("ich-surgical-indication", "头CT：脑桥出血。", True),
    ("ich-surgical-indication", "入院后意识障碍加重，GCS评分由12分降至7分，复查CT血肿扩大。", True),
    ("ich-surgical-indication", "头CT：小脑出血，第四脑室受压，幕上脑积水。", True),
    ("ich-discharge-improved", "入院时GCS 9分。出院情况：神志清楚，GCS 14分。", True),
    ("ich-discharge-improved", "入院NIHSS 8分。出院时NIHSS评分12分，病情加重。入院时GCS 15分。", False),
    ("ich-discharge-improved", "患者经治疗后好转出院。", False),
    ("ich-discharge-improved", "治疗后NIHSS评分由10分降至4分。", True),
    ("ich-swallow-screen", "入院后行洼田饮水试验2级，予经口进食。", True),
    ("ich-swallow-screen", "行容积-黏度测试（V-VST）提示安全。", True),
    ("ich-swallow-screen", "入院后给予留置胃管鼻饲。", False),
    ("ich-surgical-indication", "头颅CT示左侧颞叶脑出血（约35ml）。", True),
    ("ich-surgical-indication", "头CT示右侧侧脑室旁出血。行血肿清除术，术中出血约300ml。", False),
]


@_params(CASES)
async def test_ich_case(measure_id: str, text: str, expected: bool) -> None:
    assert await _numerator("ich", measure_id, text) is expected
