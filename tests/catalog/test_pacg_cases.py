"""Hand-written cases for the pacg spec (indicators without or with few dev rows): positive, negative, negated/planned."""

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
    spec = next(i for i in load_disease(Path(SPEC_DIR) / "pacg.yaml").indicators if i.id == measure_id)
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
    ("pacg-preop-high-iop", "入院查体：左眼眼压52mmHg，右眼眼压16mmHg。", True),
    ("pacg-preop-high-iop", "入院眼压：右眼18mmHg，左眼30mmHg。", False),
    ("pacg-preop-high-iop", "入院时左眼眼压28mmHg。术后眼压35mmHg。", False),
    ("pacg-discharge-iop", "行左眼小梁切除术，出院时左眼眼压15mmHg。", True),
    ("pacg-discharge-iop", "行左眼小梁切除术，出院时左眼眼压25mmHg。", False),
    ("pacg-discharge-iop", "术后第1天眼压5mmHg，浅前房。", False),
    ("pacg-discharge-iop", "术后第1天眼压28mmHg。出院时眼压18mmHg。", True),
    ("pacg-discharge-iop", "行小梁切除术，术后恢复可。", False),
    ("pacg-acd-below-1-5", "UBM示左眼中央前房深度1.35mm，房角关闭。", True),
    ("pacg-acd-below-1-5", "UBM示前房深度1.5mm。", False),
    ("pacg-acd-below-1-5", "周边前房1/4CT，中央前房2CT。", False),
    (
        "pacg-preop-assessment",
        "视力：右眼0.5，左眼0.1；眼压右眼15mmHg，左眼48mmHg；A超眼轴右眼22.1mm，左眼22.0mm；UBM示前房深度1.6mm，房角关闭；视野检查示鼻侧缺损。BP 130/80mmHg，血常规、血糖、凝血功能、输血前四项、心电图、胸片未见异常。",
        True,
    ),
    (
        "pacg-preop-assessment",
        "视力：右眼0.5，左眼0.1；眼压右眼15mmHg，左眼48mmHg；UBM示前房深度1.6mm，房角关闭。BP 130/80mmHg，血常规、血糖、凝血功能、输血前四项、心电图、胸片未见异常。",
        False,
    ),
]


@_params(CASES)
async def test_pacg_case(measure_id: str, text: str, expected: bool) -> None:
    assert await _numerator("pacg", measure_id, text) is expected
