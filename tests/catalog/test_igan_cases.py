"""Hand-written cases for the igan spec (indicators without or with few dev rows): positive, negative, negated/planned."""

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
    spec = next(i for i in load_disease(Path(SPEC_DIR) / "igan.yaml").indicators if i.id == measure_id)
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
        "igan-biopsy-preop-tests",
        "肾活检术前完善：血常规、尿常规、肝肾功能、凝血功能、输血前四项、补体C3、免疫球蛋白IgA、血型、24小时尿蛋白定量1.2g，泌尿系B超示双肾大小形态正常，输尿管及膀胱未见异常。",
        True,
    ),
    (
        "igan-biopsy-preop-tests",
        "术前检查：血常规、尿常规、肝功能、肾功能、凝血四项、乙肝五项、丙肝抗体、梅毒抗体、HIV抗体均阴性，补体C3 0.9g/L，IgA 3.5g/L，血型A型，24h尿蛋白定量0.8g，双肾彩超未见异常。",
        True,
    ),
    (
        "igan-biopsy-preop-tests",
        "术前完善血常规、尿常规、肝肾功能、凝血功能、输血前四项、补体C3、IgA、血型、双肾B超。",
        False,
    ),
    (
        "igan-biopsy-preop-tests",
        "血常规、尿常规、肝肾功能、凝血功能、输血前四项、补体C3、IgA、血型、24小时尿蛋白定量；双肾B超未做。",
        False,
    ),
    ("igan-biopsy-preop-tests", "行肾穿刺活检，病理示IgA肾病。", False),
]


@_params(CASES)
async def test_igan_case(measure_id: str, text: str, expected: bool) -> None:
    assert await _numerator("igan", measure_id, text) is expected
